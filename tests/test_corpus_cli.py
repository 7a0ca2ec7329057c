"""Tests for aligner.run.folders (atomic writes, reading, align_folders) and the ``aligner``
command line: CliRunner on the example folders, one real subprocess run, and the script.

Structural invariants are checked here (coverage, monotonicity, formats, determinism),
and that the command line writes the examples' exact beads (the known answers of
tests/test_known_answers.py)."""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from test_known_answers import EXAMPLE_BEADS

import aligner
from aligner import Aligner
from aligner.run import folders as corpus_mod
from aligner.cli import main
from aligner.run.folders import RECORD_KEYS, DocumentError, align_folders
from aligner.io.files import atomic_open, atomic_write_text
from aligner.io.inputs import read_document

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
EXAMPLE_IDS = sorted(p.stem for p in (EXAMPLES / "en").glob("*.txt"))
BEAD_LINE = re.compile(r"^\[(\d+(?:, \d+)*)?\]:\[(\d+(?:, \d+)*)?\]$")


# ------------------------------------------------------------------ atomic writes


def test_atomic_write_text_writes_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "out.txt"
    atomic_write_text(path, "first\nسطر\n")
    atomic_write_text(path, "second\n")
    assert path.read_bytes() == b"second\n"
    assert os.listdir(tmp_path) == ["out.txt"]
    reference = tmp_path / "reference"
    reference.write_text("")
    assert path.stat().st_mode & 0o777 == reference.stat().st_mode & 0o777  # like open(), not mkstemp's 0600


def test_atomic_write_keeps_old_file_when_interrupted(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_open(path) as handle:
            handle.write("new, half written")
            raise RuntimeError("boom")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert os.listdir(tmp_path) == ["corpus.jsonl"]


def test_atomic_write_text_failure_before_replace_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "run.json"
    path.write_text("{}\n", encoding="utf-8")

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, '{"new": 1}\n')
    assert path.read_text(encoding="utf-8") == "{}\n"
    assert os.listdir(tmp_path) == ["run.json"]



@pytest.mark.parametrize("durable, syncs", [(True, 1), (False, 0)])
def test_atomic_write_text_is_on_disk_before_it_replaces_unless_told(tmp_path, monkeypatch, durable, syncs):
    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    atomic_write_text(tmp_path / "part.json", "{}\n", durable=durable)
    assert len(synced) == syncs and (tmp_path / "part.json").read_text() == "{}\n"


# ------------------------------------------------------------------ reading documents


def test_read_document_handles_bom_and_crlf(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbfFirst line.\r\nSecond line.\r\n")
    assert read_document(path) == "First line.\r\nSecond line.\r\n"


@pytest.mark.parametrize("data, offset", [(b"ab\xffcd", 2), (b"\xef\xbb\xbfab\xffcd", 5),
                                          ("مرحبا".encode() + b"\xd8", 10)])
def test_read_document_names_file_and_bad_byte(tmp_path, data, offset):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(DocumentError) as info:
        read_document(path)
    assert str(info.value) == f"{path}: not valid UTF-8 (byte {offset}, line 1)"


@pytest.mark.parametrize("data, message", [(b"", "empty file"), (b"\xef\xbb\xbf", "empty file"),
                                           (b" \r\n\n\t", "no text \\(only whitespace\\)")])
def test_read_document_empty(tmp_path, data, message):
    path = tmp_path / "empty.txt"
    path.write_bytes(data)
    with pytest.raises(DocumentError, match=f"^{re.escape(str(path))}: {message}$"):
        read_document(path)


# ------------------------------------------------------------------ align_folders, fast


class BagOfTrigrams:
    """A deterministic stand-in encoder: hashed character trigrams (no model)."""

    name = "test-trigrams"
    settings = {"dim": 64}

    def encode(self, texts, *, batch_size=None):
        out = np.zeros((len(texts), 64), np.float32)
        for row, text in enumerate(texts):
            for k in range(max(1, len(text) - 2)):
                out[row, sum(map(ord, text[k:k + 3])) % 64] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.fixture
def fake_aligner() -> Aligner:
    return Aligner(encoder=BagOfTrigrams())


def write_docs(folder: Path, docs: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in docs.items():
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return folder


def test_align_folders_records_failures_and_goes_on(tmp_path, fake_aligner):
    en = write_docs(tmp_path / "en", {"a.txt": "One. Two. Three.", "b.txt": b"Bad \xff byte.",
                                      "c.txt": "", "d.txt": "Alone."})
    ar = write_docs(tmp_path / "ar", {"a.txt": "واحد. اثنان.", "b.txt": "نص.", "c.txt": "نص.", "e.txt": "نص."})
    out = tmp_path / "out"
    (out / "beads").mkdir(parents=True)
    (out / "beads" / "b.align").write_text("[0]:[0]\n")  # from an earlier run: must not survive
    run = align_folders(en, ar, out, aligner=fake_aligner, progress=False)

    assert run.n_documents == 3 and run.n_aligned == 1 and run.n_failed == 2 and not run.ok
    assert [(f.doc_id, f.error) for f in run.failed] == [
        ("b", f"{en / 'b.txt'}: not valid UTF-8 (byte 4, line 1)"), ("c", f"{en / 'c.txt'}: empty file")]
    assert sorted(os.listdir(out / "beads")) == ["a.align"]
    assert {r["doc_id"] for r in read_jsonl(out / "corpus.jsonl")} <= {"a"}
    report = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert report["encoder"] == "test-trigrams" and report["encoder_settings"] == {"dim": 64}
    assert report["summary"]["failed"] == 2
    assert [f["error"] for f in report["failed"]] == [f.error for f in run.failed]
    assert report["unpaired"] == {"en": [str(en / "d.txt")], "ar": [str(ar / "e.txt")]}
    assert [d["doc_id"] for d in report["documents"]] == ["a"]
    assert not [name for name in os.listdir(out) if name.endswith(".tmp")]
    summary = run.summary()
    assert "b.txt: not valid UTF-8 (byte 4, line 1)" in summary and "d.txt" in summary and "e.txt" in summary
    assert summary.endswith(f"Corpus written to {out / 'corpus.jsonl'}")


def test_align_folders_with_manifest_and_presplit(tmp_path, fake_aligner):
    en = write_docs(tmp_path / "en", {"r1.txt": "Line one. Still line one.\nLine two.\n"})
    ar = write_docs(tmp_path / "ar", {"s1.txt": "سطر واحد.\nسطر اثنان.\n"})
    mf = tmp_path / "m.tsv"
    mf.write_text("en_file\tar_file\nr1.txt\ts1.txt\n", encoding="utf-8")
    run = align_folders(en, ar, tmp_path / "out", aligner=fake_aligner, manifest=mf, presplit=True,
                        progress=False)
    assert run.ok and run.documents[0].en_sentences == 2 and run.documents[0].ar_sentences == 2
    assert run.documents[0].pairing == "manifest"
    for record in read_jsonl(run.corpus_path):
        assert (record["en_file"], record["ar_file"]) == ("r1.txt", "s1.txt")
    check_beads_cover(run.beads_dir / "r1.align", 2, 2)


# ------------------------------------------------------------------ helpers for real runs


def read_jsonl(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def parse_beads(path: Path) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    beads = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = BEAD_LINE.match(line)
        assert m, f"{path}: bad bead line {line!r}"
        beads.append(tuple(tuple(int(x) for x in g.split(", ")) if g else () for g in m.groups()))
    return beads


def check_beads_cover(path: Path, n_en: int, n_ar: int, moved=()):
    """Every sentence index of each side is in exactly one bead; the English in order, the
    Arabic in order too but for the ``moved`` beads (``(en_idx, ar_idx)`` of the records
    with ``moved`` true): each stands at its English place and crosses the main path (its
    Arabic is outside the gap the other aligned beads leave around its English)."""
    beads = parse_beads(path)
    moved = {(tuple(en), tuple(ar)) for en, ar in moved}
    assert all(en or ar for en, ar in beads)
    assert moved <= set(beads)
    assert [i for en, _ in beads for i in en] == list(range(n_en))
    assert sorted(j for _, ar in beads for j in ar) == list(range(n_ar))
    moved_ar = {j for _, ar in moved for j in ar}
    assert [j for bead in beads if bead not in moved for j in bead[1]] == [j for j in range(n_ar) if j not in moved_ar]
    path_beads = [(en, ar) for en, ar in beads if en and ar and (en, ar) not in moved]
    for en, ar in moved:
        lo = max((a[-1] + 1 for e, a in path_beads if e[-1] < en[0]), default=0)
        hi = min((a[0] for e, a in path_beads if e[0] > en[-1]), default=n_ar)
        assert not lo <= ar[0] <= ar[-1] < hi, f"{path}: moved bead {en}:{ar} does not cross the path"
    return beads


def moved_beads(records: list[dict], doc_id: str) -> list[tuple[list[int], list[int]]]:
    """The (en_idx, ar_idx) of the records of ``doc_id`` marked moved."""
    return [(r["en_idx"], r["ar_idx"]) for r in records if r["doc_id"] == doc_id and r["moved"]]


def gold_one_to_one() -> dict[str, set[tuple[int, int]]]:
    """The 1-1 correspondences (0-based) in the tables of examples/README.md."""
    gold: dict[str, set[tuple[int, int]]] = {}
    doc = None
    for line in (EXAMPLES / "README.md").read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^## (\S+) \(A:", line):
            doc = m.group(1)
            gold[doc] = set()
        elif doc and (m := re.match(r"^\| (\d+) \|.*\| (\d+) \|$", line)):
            gold[doc].add((int(m.group(1)) - 1, int(m.group(2)) - 1))
    return gold


def check_output(out: Path, doc_ids: list[str]) -> dict:
    """Check every output file of a run over ``doc_ids``; returns run.json."""
    report = json.loads((out / "run.json").read_text(encoding="utf-8"))
    records = read_jsonl(out / "corpus.jsonl")
    unaligned = read_jsonl(out / "unaligned.jsonl")
    assert report["aligner_version"] == aligner.__version__
    assert report["encoder"] == "use-multilingual-v3+multilingual-e5-small"
    assert {"alignment", "encoder_settings", "inputs", "documents", "failed", "unpaired", "problems",
            "timings"} <= report.keys()
    assert [d["doc_id"] for d in report["documents"]] == doc_ids
    assert [r["doc_id"] for r in records] == sorted(r["doc_id"] for r in records)  # document order
    for r in records:
        assert tuple(r) == RECORD_KEYS
        assert r["bead_type"] == f"{len(r['en_idx'])}-{len(r['ar_idx'])}"
        assert r["en_idx"] and r["ar_idx"] and r["en"] and r["ar"]
        assert isinstance(r["score"], float) and round(r["score"], 4) == r["score"]
    for doc in report["documents"]:
        beads = check_beads_cover(out / "beads" / f"{doc['doc_id']}.align", doc["en_sentences"], doc["ar_sentences"],
                                  moved_beads(records, doc["doc_id"]))
        assert doc["moved"] == len(moved_beads(records, doc["doc_id"]))
        aligned = [(tuple(r["en_idx"]), tuple(r["ar_idx"])) for r in records if r["doc_id"] == doc["doc_id"]]
        assert aligned == [(en, ar) for en, ar in beads if en and ar]
        dropped = [(u["side"], u["idx"]) for u in unaligned if u["doc_id"] == doc["doc_id"]]
        assert dropped == [("en", en[0]) if en else ("ar", ar[0]) for en, ar in beads if not (en and ar)]
        assert doc["pairs"] == len(aligned)
        assert doc["unaligned_en"] + doc["unaligned_ar"] == len(dropped)
        assert sum(doc["bead_types"].values()) == len(beads)
        assert doc["en_file"] == doc["ar_file"] == f"{doc['doc_id']}.txt"
    assert all(u["text"] for u in unaligned)
    return report


def without_timings(path: Path) -> dict:
    report = json.loads(path.read_text(encoding="utf-8"))
    report.pop("timings")
    return report


def same_bytes(a: Path, b: Path) -> None:
    for name in ["corpus.jsonl", "unaligned.jsonl"] + [f"beads/{d}.align" for d in EXAMPLE_IDS]:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture
def shared_aligner_for_cli(monkeypatch, default_aligner):
    """Make the command line use the session's aligner instead of loading its own."""
    monkeypatch.setattr(corpus_mod, "_build_aligner", lambda encoder, engine=None, alignment=None: default_aligner)
    return default_aligner


@pytest.fixture(scope="module")
def example_run(tmp_path_factory, default_aligner) -> tuple[Path, object]:
    """``aligner align examples/en examples/ar -o OUT`` through CliRunner, once."""
    out = tmp_path_factory.mktemp("cli") / "out"
    mp = pytest.MonkeyPatch()
    mp.setattr(corpus_mod, "_build_aligner", lambda encoder, engine=None, alignment=None: default_aligner)
    try:
        result = CliRunner().invoke(main, ["align", str(EXAMPLES / "en"), str(EXAMPLES / "ar"), "-o", str(out)])
    finally:
        mp.undo()
    return out, result


# ------------------------------------------------------------------ the CLI, real encoder


@pytest.mark.slow
def test_cli_aligns_the_examples(example_run):
    out, result = example_run
    assert result.exit_code == 0, result.output
    assert f"Corpus written to {out / 'corpus.jsonl'}" in result.output
    assert "Aligned 4 of 4 document pair(s)" in result.output
    report = check_output(out, EXAMPLE_IDS)
    assert report["failed"] == [] and report["unpaired"] == {"en": [], "ar": []} and report["problems"] == []
    assert report["summary"]["pairs"] == len(read_jsonl(out / "corpus.jsonl"))


@pytest.mark.slow
def test_cli_finds_the_exact_beads_of_the_examples(example_run):
    """The command line writes the beads the API gives (the known answers of
    tests/test_known_answers.py), and so finds 25 of the README's 26 one-to-one pairs: the
    26th, cup-final's 8th English line, holds the untranslated Arabic line before its own
    (test_known_answers.GOLD_DISAGREEMENTS)."""
    out, _ = example_run
    for doc_id in EXAMPLE_IDS:
        assert parse_beads(out / "beads" / f"{doc_id}.align") == EXAMPLE_BEADS[doc_id], doc_id
    gold = gold_one_to_one()
    assert sorted(gold) == EXAMPLE_IDS and sum(map(len, gold.values())) == 26
    missed = {doc_id: pairs - {(en[0], ar[0]) for en, ar in parse_beads(out / "beads" / f"{doc_id}.align")
                               if len(en) == 1 and len(ar) == 1}
              for doc_id, pairs in gold.items()}
    assert {doc_id: pairs for doc_id, pairs in missed.items() if pairs} == {"2024-07-cup-final": {(7, 7)}}


@pytest.mark.slow
def test_cli_second_run_is_byte_identical(example_run, tmp_path, shared_aligner_for_cli):
    out, _ = example_run
    again = tmp_path / "again"
    result = CliRunner().invoke(main, ["align", str(EXAMPLES / "en"), str(EXAMPLES / "ar"), "-o", str(again),
                                       "--no-progress"])
    assert result.exit_code == 0, result.output
    same_bytes(out, again)
    assert without_timings(out / "run.json") == without_timings(again / "run.json")
    # Into the same folder once more: same bytes, no temporary files left.
    result = CliRunner().invoke(main, ["align", str(EXAMPLES / "en"), str(EXAMPLES / "ar"), "-o", str(again)])
    assert result.exit_code == 0
    same_bytes(out, again)
    # (.aligner-state holds the finished documents, for a resume: see tests/test_resume.py)
    names = set(os.listdir(again))
    assert {".aligner-state", "beads", "corpus.jsonl", "run.json", "unaligned.jsonl"} <= names
    assert not [name for name in names if name.endswith(".tmp")]


@pytest.mark.slow
def test_cli_reports_a_broken_document_and_writes_the_others(tmp_path, shared_aligner_for_cli):
    shutil.copytree(EXAMPLES / "en", tmp_path / "en")
    shutil.copytree(EXAMPLES / "ar", tmp_path / "ar")
    broken = tmp_path / "ar" / f"{EXAMPLE_IDS[1]}.txt"
    data = broken.read_bytes()
    cut = data.index(b"\n") + 1  # a character boundary
    broken.write_bytes(data[:cut] + b"\xff\xfe" + data[cut:])
    (tmp_path / "en" / "lonely.txt").write_text("No Arabic source.\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["align", str(tmp_path / "en"), str(tmp_path / "ar"), "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert f"{broken}: not valid UTF-8 (byte {cut}, line 2)" in result.output
    assert "lonely.txt" in result.output
    assert "Aligned 3 of 4 document pair(s)" in result.output
    assert f"Corpus written to {out / 'corpus.jsonl'}" in result.output
    ok_ids = [d for d in EXAMPLE_IDS if d != EXAMPLE_IDS[1]]
    report = check_output(out, ok_ids)
    assert report["failed"] == [{"doc_id": EXAMPLE_IDS[1], "en_file": broken.name, "ar_file": broken.name,
                                 "error": f"{broken}: not valid UTF-8 (byte {cut}, line 2)"}]
    assert report["unpaired"]["en"] == [str(tmp_path / "en" / "lonely.txt")]
    assert {r["doc_id"] for r in read_jsonl(out / "corpus.jsonl")} == set(ok_ids)
    assert not (out / "beads" / f"{EXAMPLE_IDS[1]}.align").exists()


@pytest.mark.slow
def test_real_aligner_command_in_a_subprocess(example_run, tmp_path):
    out, _ = example_run
    console = Path(sys.executable).with_name("aligner")
    command = [str(console)] if console.is_file() else [sys.executable, "-m", "aligner.cli"]
    sub_out = tmp_path / "sub"
    proc = subprocess.run(command + ["align", str(EXAMPLES / "en"), str(EXAMPLES / "ar"), "-o", str(sub_out),
                                     "--no-progress"],
                          capture_output=True, text=True, encoding="utf-8", timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(f"Corpus written to {sub_out / 'corpus.jsonl'}")
    check_output(sub_out, EXAMPLE_IDS)
    same_bytes(out, sub_out)


@pytest.mark.slow
def test_script_is_the_same_as_the_command(example_run, tmp_path, shared_aligner_for_cli, capsys):
    out, _ = example_run
    script = runpy.run_path(str(ROOT / "scripts" / "align_folders.py"))
    code = script["main"]([str(EXAMPLES / "en"), str(EXAMPLES / "ar"), "-o", str(tmp_path / "s"), "--no-progress"])
    assert code == 0
    assert f"Corpus written to {tmp_path / 's' / 'corpus.jsonl'}" in capsys.readouterr().out
    same_bytes(out, tmp_path / "s")


@pytest.mark.slow
def test_cli_with_a_local_transformers_encoder(tmp_path, tiny_bert_dir):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["align", str(EXAMPLES / "en"), str(EXAMPLES / "ar"), "-o", str(out),
                                       "--encoder", str(tiny_bert_dir), "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert "tiny-bert-cls" in report["encoder"]
    records = read_jsonl(out / "corpus.jsonl")
    assert all(tuple(r) == RECORD_KEYS and isinstance(r["moved"], bool) for r in records)
    for doc in report["documents"]:
        moved = moved_beads(records, doc["doc_id"])
        assert doc["moved"] == len(moved)
        check_beads_cover(out / "beads" / f"{doc['doc_id']}.align", doc["en_sentences"], doc["ar_sentences"], moved)


def test_cli_engine_is_refused_for_a_transformers_encoder(tmp_path):
    """Refused from the name, before anything is loaded: the model folder is not even read."""
    out = tmp_path / "out"
    model = tmp_path / "tiny-bert"
    model.mkdir()
    result = CliRunner().invoke(main, ["align", str(EXAMPLES / "en"), str(EXAMPLES / "ar"), "-o", str(out),
                                       "--encoder", str(model), "--engine", "fp32", "--no-progress"])
    assert result.exit_code == 2, result.output
    assert "engines apply to the embedded encoders" in result.output
    assert not (out / "corpus.jsonl").exists()


def test_empty_folders_give_an_empty_corpus_and_a_hint(tmp_path, fake_aligner):
    (tmp_path / "en").mkdir()
    (tmp_path / "ar").mkdir()
    run = align_folders(tmp_path / "en", tmp_path / "ar", tmp_path / "out", aligner=fake_aligner, progress=False)
    assert run.ok and run.n_documents == 0
    assert (tmp_path / "out" / "corpus.jsonl").read_bytes() == b""
    assert "No document pairs found" in run.summary()


# ------------------------------------------------------------------ the CLI, no encoder needed


def test_cli_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output == f"aligner, version {aligner.__version__}\n"


def test_cli_missing_folder_is_a_usage_error_naming_it(tmp_path):
    result = CliRunner().invoke(main, ["align", str(tmp_path / "no-such-en"), str(EXAMPLES / "ar"),
                                       "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "no-such-en" in result.output and "does not exist" in result.output
    assert not (tmp_path / "out").exists()


def test_cli_requires_out(tmp_path):
    result = CliRunner().invoke(main, ["align", str(EXAMPLES / "en"), str(EXAMPLES / "ar")])
    assert result.exit_code == 2 and "'-o' / '--out'" in result.output


def test_cli_bad_manifest_is_a_usage_error_naming_the_line(tmp_path, monkeypatch):
    def no_encoder(encoder, engine=None, alignment=None):
        raise AssertionError("the encoder must not be loaded before the manifest is checked")

    monkeypatch.setattr(corpus_mod, "_build_aligner", no_encoder)
    mf = tmp_path / "pairs.tsv"
    mf.write_text(f"en_file\tar_file\n{EXAMPLE_IDS[0]}.txt\tmissing.txt\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["align", str(EXAMPLES / "en"), str(EXAMPLES / "ar"),
                                       "-o", str(tmp_path / "out"), "--manifest", str(mf)])
    assert result.exit_code == 2
    assert f"{mf}:2: Arabic file not found" in result.output
    assert not (tmp_path / "out").exists()


def test_cli_help_lists_the_options():
    result = CliRunner().invoke(main, ["align", "--help"])
    assert result.exit_code == 0
    for option in ("--out", "--encoder", "--manifest", "--presplit", "--no-progress"):
        assert option in result.output
