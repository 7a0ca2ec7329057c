"""Interrupted runs: ``aligner align`` killed (SIGKILL) at random points and started
again with the same command ends with the same bytes as an uninterrupted run; and a
crash at every single file move of the final writing step does the same."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from aligner import Aligner
from aligner.run import folders as corpus_mod
from aligner.cli import main
from aligner.io.files import STATE_DIR
from aligner.run.folders import align_folders
from test_corpus_cli import BagOfTrigrams as TrigramEncoder  # the suite's stand-in encoder

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
EXAMPLE_IDS = sorted(p.stem for p in (EXAMPLES / "en").glob("*.txt"))


def make_folders(root: Path, copies: int = 1) -> int:
    """16 document pairs (``copies`` times, under other names): each example as it is,
    with an English line dropped, with an English line added, and with an Arabic line
    added (so sentences recur across documents, as datelines and credits do). Returns the
    number of pairs."""
    en_dir, ar_dir = root / "en", root / "ar"
    en_dir.mkdir(parents=True)
    ar_dir.mkdir(parents=True)
    for stem in EXAMPLE_IDS:
        en = (EXAMPLES / "en" / f"{stem}.txt").read_text(encoding="utf-8")
        ar = (EXAMPLES / "ar" / f"{stem}.txt").read_text(encoding="utf-8")
        lines = en.rstrip("\n").split("\n")
        variants = {
            "a": (en, ar),
            "b": ("\n".join(lines[:-1]) + "\n", ar),
            "c": ("Staff report, edited by the news desk.\n\n" + en, ar),
            "d": (en, ar + "\nوساهم في إعداد هذا التقرير مراسلونا في المنطقة.\n"),
        }
        for copy in range(copies):
            for tag, (en_text, ar_text) in variants.items():
                name = f"{stem}-{tag}.txt" if copy == 0 else f"{stem}-{tag}{copy}.txt"
                (en_dir / name).write_text(en_text, encoding="utf-8")
                (ar_dir / name).write_text(ar_text, encoding="utf-8")
    return 4 * len(EXAMPLE_IDS) * copies


def outputs(out: Path) -> dict[str, object]:
    """Every file of a run folder but the resume state: bytes, run.json without timings."""
    files: dict[str, object] = {}
    for path in sorted(out.rglob("*")):
        if path.is_file() and STATE_DIR not in path.relative_to(out).parts:
            files[path.relative_to(out).as_posix()] = path.read_bytes()
    report = json.loads(files.pop("run.json"))
    report.pop("timings")
    files["run.json"] = report
    return files


def parts(out: Path) -> int:
    folder = out / STATE_DIR / "docs"
    return len(list(folder.glob("*.json"))) if folder.is_dir() else 0


def console() -> list[str]:
    script = Path(sys.executable).with_name("aligner")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "aligner.cli"]


@pytest.mark.slow
def test_killed_runs_resume_to_the_same_bytes(tmp_path, monkeypatch, use_aligner):
    # Three windows of documents (64 + 64 + 16): a window's documents are aligned together
    # and then saved one by one, so kills land between windows or among a window's saves.
    n_docs = make_folders(tmp_path, copies=9)
    assert n_docs > 2 * corpus_mod.WINDOW_DOCUMENTS
    en, ar = tmp_path / "en", tmp_path / "ar"
    # align scores nothing unasked; USE, as resuming does not depend on the encoder (each
    # restart loads and encodes afresh: e5 would triple the time)
    args = ["align", str(en), str(ar), "--no-progress", "--pair-by", "name", "--encoder", "use"]

    # The uninterrupted run (in this process, with the session's aligner: its sentence
    # cache is warm from other tests, which must not change a byte).
    monkeypatch.setattr(corpus_mod, "_build_aligner", lambda encoder, engine=None, alignment=None: use_aligner)
    reference = tmp_path / "reference"
    result = CliRunner().invoke(main, args + ["-o", str(reference)])
    assert result.exit_code == 0, result.output

    out = tmp_path / "out"
    command = console() + args + ["-o", str(out)]
    rng = random.Random(6)
    landed = []  # parts finished when each kill landed
    for attempt in range(4):
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
        if attempt == 0:  # while starting up (imports, loading the encoder)
            time.sleep(rng.uniform(0.2, 1.5))
        else:  # after two to five more documents, plus a random moment
            target = min(parts(out) + rng.randint(2, 5), n_docs)
            deadline = time.monotonic() + 120
            while proc.poll() is None and parts(out) < target and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.05))
        if proc.poll() is not None:
            assert proc.returncode == 0, proc.stderr.read().decode()
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stderr.close()
        landed.append(parts(out))
        if parts(out) == n_docs:
            break
    assert sum(1 for k in landed if 0 < k < n_docs) >= 2, landed

    before_final = parts(out)
    final = subprocess.run(command, capture_output=True, text=True, encoding="utf-8", timeout=300, cwd=tmp_path)
    assert final.returncode == 0, final.stderr
    report = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert report["timings"]["resumed_documents"] == before_final
    assert f"Resumed: {report['timings']['resumed_documents']} document(s)" in final.stdout
    assert outputs(out) == outputs(reference)
    assert parts(out) == n_docs and not list(out.rglob("*.tmp"))


class Killed(BaseException):
    """Stands for SIGKILL: not an Exception, so no handler of the library catches it."""


@pytest.mark.slow
def test_crash_at_every_file_move_then_resume(tmp_path, monkeypatch):
    """Stop the run at each ``os.replace`` in turn (leaving the temporary file behind,
    as ``kill -9`` does), start it again: always the bytes of an uninterrupted run."""
    make_folders(tmp_path)
    en, ar = tmp_path / "en", tmp_path / "ar"
    aligner = Aligner(encoder=TrigramEncoder())
    reference = tmp_path / "reference"
    real_replace = os.replace
    calls = []
    monkeypatch.setattr(os, "replace", lambda src, dst: calls.append(dst) or real_replace(src, dst))
    align_folders(en, ar, reference, aligner=aligner, progress=False)
    n_moves = len(calls)
    assert n_moves > 16  # settings, 16 parts, the beads, corpus, unaligned, run.json

    # Every third move while documents are saved, and each move of the final writing.
    for stop_at in sorted(set(range(0, n_moves, 3)) | set(range(n_moves - 8, n_moves))):
        out = tmp_path / f"out-{stop_at}"
        count = 0

        def replace(src, dst):
            nonlocal count
            if count == stop_at:
                os.link(src, Path(src).with_name(Path(src).name.replace(".tmp", ".x.tmp")))  # survives the kill
                raise Killed
            count += 1
            real_replace(src, dst)

        monkeypatch.setattr(os, "replace", replace)
        with pytest.raises(Killed):
            align_folders(en, ar, out, aligner=aligner, progress=False)
        monkeypatch.setattr(os, "replace", real_replace)
        run = align_folders(en, ar, out, aligner=aligner, progress=False)
        assert run.ok
        assert outputs(out) == outputs(reference), f"stopped at move {stop_at}: {calls[stop_at]}"
        assert not list(out.rglob("*.tmp"))
        shutil.rmtree(out)
