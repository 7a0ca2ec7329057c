"""The output side of the bad-input catalogue (README "Bad input, interrupted runs and
reproducibility"): output folders of scoring and export, interrupted scoring, damaged
corpus input, line separators in sentences, the review page's address and publishing.
One test per row, named after it. Scoring runs with the cheap stand-in encoder of
``test_bad_inputs`` (``--no-e5``), so these tests need no model.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import aligner.encoders
from aligner.run import folders as corpus_mod
from aligner.cli import main
from aligner.io.files import PENDING_FILE, STATE_DIR
from aligner.run.folders import align_folders
from aligner.run.score import REJECTED_FILE, load_records
from test_bad_inputs import AR, EN, BagOfTrigrams, fake_aligner  # noqa: F401  (fixture)
from test_review import browser  # noqa: F401  (fixture: Chromium, skips without it)

DOCS = ("a", "b", "c")
FILTER = ["--no-e5", "--no-plot", "--no-progress", "--min-quality", "0.95"]
"""Rejects one pair of the three of each document with the stand-in encoder."""


@pytest.fixture(autouse=True)
def stand_in_encoder(monkeypatch):
    """`aligner score` loads the stand-in encoder instead of a model."""
    monkeypatch.setattr(aligner.encoders, "load_encoder", lambda name, engine=None: BagOfTrigrams())


def run_cli(*args: str):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback is never an answer
    return result


def make_run(tmp_path: Path, fake_aligner, name: str = "run", docs=DOCS, en: str = EN, ar: str = AR) -> Path:
    """An align output folder of ``docs`` (three pairs each), made like `aligner align`."""
    base = tmp_path / f"{name}-inputs"
    for side, text in (("en", en), ("ar", ar)):
        (base / side).mkdir(parents=True, exist_ok=True)
        for doc in docs:
            (base / side / f"{doc}.txt").write_text(text, encoding="utf-8")
    out = tmp_path / name
    align_folders(base / "en", base / "ar", out, aligner=fake_aligner, progress=False)
    return out


def realign(out: Path, fake_aligner) -> None:
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    align_folders(run["inputs"]["en_dir"], run["inputs"]["ar_dir"], out, aligner=fake_aligner, progress=False)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def key(record) -> tuple:
    r = record if isinstance(record, dict) else record.to_dict()
    return r["doc_id"], tuple(r["en_idx"]), tuple(r["ar_idx"])


def every_pair(out: Path) -> list[tuple]:
    """The pairs of a run or scored folder: kept and rejected, as scoring reads them back."""
    return [key(r) for r in load_records(out)[0]]


def nine_pairs() -> list[tuple]:
    return [(doc, (i,), (i,)) for doc in DOCS for i in range(3)]


# ----------------------------------------------------------------------------- scoring in place, then align again


def test_align_again_after_scoring_in_place(tmp_path, fake_aligner):
    """score OUT -o OUT, align again, score again: 9 pairs, not 9 + the 3 rejected of
    the first scoring (align removes the scores, reports and formats of the corpus it
    replaces)."""
    out = make_run(tmp_path, fake_aligner)
    assert run_cli("score", out, "-o", out, *FILTER).exit_code == 0
    assert len(lines(out / "corpus.jsonl")) == 6 and len(lines(out / REJECTED_FILE)) == 3
    assert run_cli("export", out, "-o", out, "--format", "tsv").exit_code == 0
    realign(out, fake_aligner)
    assert not [n for n in ("rejected.jsonl", "report.md", "corpus.tsv") if (out / n).exists()]
    assert len(lines(out / "corpus.jsonl")) == 9
    result = run_cli("score", out, "-o", out, *FILTER)
    assert result.exit_code == 0, result.output
    assert "Scored 9 pair(s): 6 kept" in result.output and ", 3 rejected" in result.output
    kept, rejected = lines(out / "corpus.jsonl"), lines(out / REJECTED_FILE)
    assert sorted(map(key, kept + rejected)) == nine_pairs()  # no duplicate, none lost


def test_align_with_scoring_writes_each_file_once_and_as_score_would(tmp_path, fake_aligner, monkeypatch):
    """align_folders(score=...) scores as a stage of the run: every file of OUT is moved
    into place exactly once (no corpus written unscored, then rewritten), and the folder
    holds the same bytes as align followed by `aligner score OUT -o OUT` (run.json: but
    its timings)."""
    from aligner.run.score import ScoreStage
    from aligner.scoring import PairFilter

    separate = make_run(tmp_path, fake_aligner, "separate")
    assert run_cli("score", separate, "-o", separate, *FILTER).exit_code == 0
    moved: list[Path] = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: moved.append(Path(dst)) or real_replace(src, dst))
    base = tmp_path / "separate-inputs"
    out = tmp_path / "staged"
    run = align_folders(base / "en", base / "ar", out, aligner=fake_aligner, progress=False,
                        score=ScoreStage(PairFilter(min_quality=0.95), e5=False, plot=False))
    in_out = sorted(p.name for p in moved if p.parent == out and not p.name.startswith("."))
    assert in_out == ["corpus.jsonl", "pairs.tsv", "pairs.unpaired.tsv", "rejected.jsonl", "report.md", "run.json",
                      "unaligned.jsonl"]
    assert len(run.score_result.kept) == 6 and len(run.score_result.rejected) == 3
    for name in ("corpus.jsonl", "rejected.jsonl", "report.md", "unaligned.jsonl"):
        assert (out / name).read_bytes() == (separate / name).read_bytes(), name
    ours, theirs = (json.loads((d / "run.json").read_text(encoding="utf-8")) for d in (out, separate))
    for record in (ours, theirs):
        record.pop("timings")
        record["inputs"].pop("en_dir"), record["inputs"].pop("ar_dir")
    assert ours == theirs


def test_stale_rejected_file_beside_a_realigned_corpus(tmp_path, fake_aligner):
    """A rejected.jsonl left by an earlier scoring beside a corpus that align rewrote whole
    (its run.json has no scoring section; folders made before this fix) is ignored."""
    out = make_run(tmp_path, fake_aligner)
    assert run_cli("score", out, "-o", out, *FILTER).exit_code == 0
    stale = (out / REJECTED_FILE).read_bytes()
    realign(out, fake_aligner)
    (out / REJECTED_FILE).write_bytes(stale)
    assert sorted(every_pair(out)) == nine_pairs()
    result = run_cli("score", out, "-o", out, *FILTER)
    assert result.exit_code == 0 and "Scored 9 pair(s)" in result.output


def test_rejected_file_of_another_scoring(tmp_path, fake_aligner):
    """Counts that disagree with run.json's scoring section: refused, naming both files."""
    out = make_run(tmp_path, fake_aligner)
    assert run_cli("score", out, "-o", out, *FILTER).exit_code == 0
    (out / REJECTED_FILE).write_text((out / REJECTED_FILE).read_text(encoding="utf-8").split("\n", 1)[1],
                                     encoding="utf-8")  # one rejected pair gone
    result = run_cli("score", out, "-o", out, *FILTER)
    assert result.exit_code == 2
    assert (f"{out / REJECTED_FILE}: 2 rejected pair(s) beside 6 kept in corpus.jsonl, but {out / 'run.json'} "
            f"records 6 kept and 3 rejected: the files are not of one scoring") in " ".join(result.output.split())
    assert len(lines(out / "corpus.jsonl")) == 6  # nothing written


# ----------------------------------------------------------------------------- scoring in place, killed


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs (no clean-up but what `finally` does)."""


def _score_killed(out: Path, monkeypatch, kill) -> list[str]:
    """``aligner score OUT -o OUT`` killed at the file move for which ``kill(moves so far)``
    holds (moves before it done); returns the names of the files moved or attempted."""
    real_replace, calls = os.replace, []

    def replace(src, dst):
        calls.append(Path(dst).name)
        if kill(calls):
            raise Killed
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(Killed):
        run_cli("score", out, "-o", out, *FILTER)
    monkeypatch.setattr(os, "replace", real_replace)
    return calls


@pytest.mark.parametrize("kill_at", range(1, 6))
def test_scoring_in_place_killed_at_any_moment(tmp_path, fake_aligner, monkeypatch, kill_at):
    """Scoring in place moves rejected.jsonl, corpus.jsonl, run.json and report.md into
    place after a journal listing them (move 1). Killed at any move, no pair is lost: the
    next command that reads the folder completes the moves (or the old files are whole)."""
    out = make_run(tmp_path, fake_aligner)
    calls = _score_killed(out, monkeypatch, lambda calls: len(calls) >= kill_at)
    assert calls[0] == PENDING_FILE and calls[kill_at - 1] == [PENDING_FILE, REJECTED_FILE, "corpus.jsonl",
                                                               "run.json", "report.md"][kill_at - 1]
    assert sorted(every_pair(out)) == nine_pairs()  # completed (or untouched) before reading
    assert not (out / PENDING_FILE).exists() and not list(out.glob(".*.tmp"))
    result = run_cli("score", out, "-o", out, *FILTER)
    assert result.exit_code == 0 and "Scored 9 pair(s): 6 kept" in result.output
    assert sorted(map(key, lines(out / "corpus.jsonl") + lines(out / REJECTED_FILE))) == nine_pairs()


def test_scoring_in_place_killed_then_viewed_or_exported(tmp_path, fake_aligner, monkeypatch):
    """The reader that comes first after the kill (view, export) completes the scoring."""
    out = make_run(tmp_path, fake_aligner)
    _score_killed(out, monkeypatch, lambda calls: calls[-1] == "corpus.jsonl")
    assert (out / PENDING_FILE).exists() and len(lines(out / "corpus.jsonl")) == 9  # old corpus, new rejected
    assert run_cli("view", out).exit_code == 0
    assert not (out / PENDING_FILE).exists()
    assert len(lines(out / "corpus.jsonl")) == 6 and len(lines(out / REJECTED_FILE)) == 3
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["scoring"]["kept"] == 6


# ----------------------------------------------------------------------------- another run's output folder


@pytest.mark.parametrize("command", ["export", "score"])
def test_output_folder_with_another_runs_corpus(tmp_path, fake_aligner, command):
    """export/score into a folder holding another run's corpus: refused like align
    (exit 2, nothing written); --overwrite replaces it and removes that run's files."""
    theirs = make_run(tmp_path, fake_aligner, "theirs", docs=("x", "y", "z", "w"))
    ours = make_run(tmp_path, fake_aligner, "ours")
    before = {p.name: p.read_bytes() for p in theirs.iterdir() if p.is_file()}
    extra = ["--no-e5", "--no-plot", "--no-progress"] if command == "score" else []
    result = run_cli(command, ours, "-o", theirs, *extra)
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert f"{theirs} already holds the corpus of another run (made with other settings or inputs: " in message
    assert "as recorded in run.json): not overwritten. Use --overwrite (overwrite=True in Python) to replace it, or choose another output " \
           "folder" in message
    assert {p.name: p.read_bytes() for p in theirs.iterdir() if p.is_file()} == before
    result = run_cli(command, ours, "-o", theirs, *extra, "--overwrite")
    assert result.exit_code == 0, result.output
    assert sorted({r["doc_id"] for r in lines(theirs / "corpus.jsonl")}) == list(DOCS)
    assert not (theirs / "beads").exists() and not (theirs / STATE_DIR).exists()
    assert not (theirs / "pairs.tsv").exists()


def test_output_folder_of_an_export_without_run_json(tmp_path, fake_aligner):
    """A folder holding only a corpus.jsonl (an export) is another corpus when it has
    documents the new one lacks; exporting the same run again (filtered or not) is fine."""
    ours = make_run(tmp_path, fake_aligner, "ours")
    theirs = make_run(tmp_path, fake_aligner, "theirs", docs=("x",))
    exported = tmp_path / "exported"
    assert run_cli("export", ours, "-o", exported).exit_code == 0
    assert run_cli("export", ours, "-o", exported, "--min-quality", "0.2", "--format", "jsonl,tsv").exit_code == 0
    assert run_cli("score", ours, "-o", tmp_path / "scored", *FILTER).exit_code == 0
    assert run_cli("score", ours, "-o", tmp_path / "scored", *FILTER).exit_code == 0  # the same run again
    assert run_cli("export", tmp_path / "scored", "-o", tmp_path / "scored", "--format", "tsv").exit_code == 0
    result = run_cli("export", theirs, "-o", exported)
    assert result.exit_code == 2
    assert (f"{exported} already holds the corpus of another run (its corpus.jsonl has 3 document(s) that {theirs} "
            f"does not have, e.g. 'a')") in " ".join(result.output.split())


@pytest.mark.parametrize("holder", ["align", "export"])
def test_score_or_export_while_another_command_writes_the_folder(tmp_path, fake_aligner, holder):
    """A folder that `aligner align` (its state lock) or another score/export (a lock on
    the folder) is writing: refused, exit 2, nothing touched (not even its temporaries)."""
    import fcntl

    out = make_run(tmp_path, fake_aligner)
    (out / ".corpus.jsonl.inflight.tmp").write_text("being written")
    path = out / STATE_DIR / "lock" if holder == "align" else out
    fd = os.open(path, os.O_RDWR if holder == "align" else os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for args in (["export", out, "-o", out, "--format", "tsv"], ["score", out, "-o", out, *FILTER]):
            result = run_cli(*args)
            assert result.exit_code == 2
            assert f"{out} is being written by another aligner command: wait for it to finish" in \
                " ".join(result.output.split())
        assert (out / ".corpus.jsonl.inflight.tmp").exists() and not (out / "corpus.tsv").exists()
    finally:
        os.close(fd)
    assert run_cli("export", out, "-o", out, "--format", "tsv").exit_code == 0
    assert not (out / ".corpus.jsonl.inflight.tmp").exists()


# ----------------------------------------------------------------------------- U+2028 and kin in a sentence


def test_line_separator_inside_a_sentence(tmp_path, fake_aligner):
    """U+2028, U+2029 and U+0085 inside sentences, written raw by an older writer: view
    and scoring read JSONL lines split at "\\n" only; the writers now escape them."""
    out = make_run(tmp_path, fake_aligner)
    records = lines(out / "corpus.jsonl")
    records[1]["en"] = "First half\u2028second half."
    records[2]["ar"] = "نصف\u2029نصف\x85آخر"
    (out / "corpus.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                      encoding="utf-8")
    assert len((out / "corpus.jsonl").read_text(encoding="utf-8").splitlines()) > 9  # what broke the readers
    result = run_cli("view", out)
    assert result.exit_code == 0, result.output
    assert "First half\\u2028second half." in (out / "review.html").read_text(encoding="utf-8")
    result = run_cli("score", out, "-o", out, "--no-e5", "--no-plot", "--no-progress")
    assert result.exit_code == 0 and "Scored 9 pair(s): 9 kept" in result.output
    text = (out / "corpus.jsonl").read_text(encoding="utf-8")
    assert len(text.splitlines()) == 9 and "\\u2028" in text and "\\u2029" in text and "\\u0085" in text
    assert [r["en"] for r in lines(out / "corpus.jsonl")][1] == "First half\u2028second half."
    assert run_cli("score", out, "-o", out, *FILTER).exit_code == 0
    rejected = (out / REJECTED_FILE).read_text(encoding="utf-8")
    assert len(rejected.splitlines()) == len(lines(out / REJECTED_FILE)) > 0
    assert sorted(every_pair(out)) == nine_pairs()  # and re-scoring reads them all back
    assert run_cli("view", out).exit_code == 0


# ----------------------------------------------------------------------------- damaged input, unwritable output


DAMAGE = {
    # A write that stopped part-way: the last line cut three characters into its Arabic text.
    "truncated": (lambda text: text[:text.rindex('"ar": "') + len('"ar": "') + 3],
                  r"corpus\.jsonl:9: not valid JSON \(Unterminated string starting at, column \d+\)"),
    "garbled": (lambda text: text.replace("The last", "The \udcff last"), r"corpus\.jsonl:3: not valid UTF-8"),
    "wrong_types": (lambda text: text.replace('"en_idx": [1]', '"en_idx": "1"', 1),
                    r"corpus\.jsonl:2: 'en_idx' must be a list of integers, got '1'"),
    "not_an_object": (lambda text: text + "[1, 2]\n", r"corpus\.jsonl:10: expected a JSON object, got list"),
}


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("command", ["export", "score", "view"])
def test_damaged_corpus_input(tmp_path, fake_aligner, damage, command):
    """Truncated, garbled (not UTF-8) or mistyped corpus.jsonl: a usage error naming the
    file and line (exit 2), never a traceback; view shows what it can of wrong types."""
    out = make_run(tmp_path, fake_aligner)
    change, message = DAMAGE[damage]
    text = change((out / "corpus.jsonl").read_text(encoding="utf-8"))
    (out / "corpus.jsonl").write_bytes(text.encode("utf-8", "surrogateescape"))
    args = {"export": ["-o", tmp_path / "x"], "score": ["-o", tmp_path / "x", "--no-e5", "--no-progress"],
            "view": []}[command]
    result = run_cli(command, out, *args)
    if command == "view":  # its own reader: lenient with types, strict with JSON
        if damage == "wrong_types":
            assert result.exit_code == 0
            return
        message = {"truncated": r"corpus\.jsonl, line 9: not JSON", "garbled": r"corpus\.jsonl: cannot be read",
                   "not_an_object": r"corpus\.jsonl, line 10: not a JSON object"}[damage]
    assert result.exit_code == 2, result.output
    assert re.search(message, " ".join(result.output.split())), result.output


def test_damaged_rejected_file(tmp_path, fake_aligner):
    out = make_run(tmp_path, fake_aligner)
    assert run_cli("score", out, "-o", out, *FILTER).exit_code == 0
    (out / REJECTED_FILE).write_text("[1]\n", encoding="utf-8")
    result = run_cli("score", out, "-o", out, *FILTER)
    assert result.exit_code == 2 and f"{out / REJECTED_FILE}:1: expected a JSON object, got list" in result.output


def test_nan_in_run_json(tmp_path, fake_aligner):
    """NaN is not JSON: export and score name run.json and its line (exit 2); the review
    page, for which run.json is decoration, is written without it."""
    out = make_run(tmp_path, fake_aligner)
    text = (out / "run.json").read_text(encoding="utf-8")
    (out / "run.json").write_text(re.sub(r'"unaligned_en": \d+', '"unaligned_en": NaN', text), encoding="utf-8")
    line = next(n for n, s in enumerate(text.split("\n"), 1) if '"unaligned_en"' in s)
    for args in (["export", out, "-o", tmp_path / "x"], ["score", out, "-o", tmp_path / "y", "--no-e5"]):
        result = run_cli(*args)
        assert result.exit_code == 2
        assert f"{out / 'run.json'}:{line}: not valid JSON (NaN is not a JSON number" in \
            " ".join(result.output.split())
    assert run_cli("view", out).exit_code == 0


@pytest.mark.parametrize("command", ["export", "score", "view"])
def test_read_only_output_folder(tmp_path, fake_aligner, monkeypatch, command):
    """No file can be created in the output folder (as root, chmod does not stop us: the
    refusal is simulated): `error: cannot write ...: Permission denied`, exit 1, nothing
    changed."""
    out = make_run(tmp_path, fake_aligner)
    target = tmp_path / "ro"
    target.mkdir()
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if Path(dir or ".").resolve() == target.resolve():
            raise PermissionError(13, "Permission denied", str(target / ".x.tmp"))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    args = {"export": ["-o", target], "score": ["-o", target, "--no-e5", "--no-progress"],
            "view": ["-o", target / "review.html"]}[command]
    result = run_cli(command, out, *args)
    assert result.exit_code == 1
    assert re.search(r"^error: (formats not written: )?cannot write .*: Permission denied", result.stderr, re.M), \
        result.output
    assert list(target.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes read-only folders")
@pytest.mark.parametrize("command", ["export", "score", "view"])
def test_read_only_output_folder_for_real(tmp_path, fake_aligner, command):
    out = make_run(tmp_path, fake_aligner)
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o555)
    try:
        args = {"export": ["-o", target], "score": ["-o", target, "--no-e5", "--no-progress"],
                "view": ["-o", target / "review.html"]}[command]
        result = run_cli(command, out, *args)
        assert result.exit_code == 1 and "Permission denied" in result.stderr
        assert result.stderr.startswith("error: ") and list(target.iterdir()) == []
    finally:
        target.chmod(0o755)


def test_disk_full_with_nothing_kept(tmp_path, fake_aligner, monkeypatch):
    """The state cannot be written before any document is finished: the message does not
    advise a resume (there is nothing to resume from)."""
    from aligner.io.files import OutputWriteError

    out = make_run(tmp_path, fake_aligner)
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    for part in (out / STATE_DIR / "docs").glob("*.json"):
        part.unlink()

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(corpus_mod, "atomic_write_text", no_space)
    with pytest.raises(OutputWriteError) as info:
        align_folders(run["inputs"]["en_dir"], run["inputs"]["ar_dir"], out, aligner=fake_aligner, progress=False)
    assert "No space left on device" in str(info.value) and "no document was finished, so nothing was kept: free " \
        "some space and run the command again" in str(info.value)
    assert "resume" not in str(info.value)


def test_export_killed_leaves_temporary_files(tmp_path, fake_aligner):
    """What a killed export (or score) left in its folder is removed by the next export
    there; other files are not touched."""
    out = make_run(tmp_path, fake_aligner)
    exported = tmp_path / "exported"
    assert run_cli("export", out, "-o", exported, "--format", "tsv").exit_code == 0
    leftovers = [exported / ".corpus.tsv.k2j3.tmp", exported / ".corpus.train.en.a.tmp",
                 exported / ".report.md.b.tmp", exported / "..aligner-pending.json.c.tmp"]
    for path in leftovers:
        path.write_text("half")
    (exported / ".hf.x8e1.tmp" / "data").mkdir(parents=True)
    (exported / ".hf.old.q0f3" / "hf").mkdir(parents=True)
    (exported / "notes.tmp").write_text("not ours")
    (exported / ".corpus.tsv.keep").write_text("not ours")
    assert run_cli("export", out, "-o", exported, "--format", "moses").exit_code == 0
    assert sorted(p.name for p in exported.iterdir()) == [".corpus.tsv.keep", "corpus.ar", "corpus.en",
                                                          "corpus.tsv", "notes.tmp"]


# ----------------------------------------------------------------------------- review page address, publish


def review_page(tmp_path: Path, fake_aligner) -> Path:
    out = make_run(tmp_path, fake_aligner)
    assert run_cli("view", out).exit_code == 0
    return out / "review.html"


def test_malformed_doc_fragment(tmp_path, fake_aligner, browser):
    """review.html#doc=%E0%A4 (not UTF-8 when decoded) blanked the page: decodeURIComponent
    threw. The fragment is now ignored and the first document shown."""
    page_file = review_page(tmp_path, fake_aligner)
    for fragment, shown in (("#doc=%E0%A4", "a"), ("#doc=%", "a"), ("#doc=b", "b")):
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.resolve().as_uri() + fragment)
        page.wait_for_function("() => window.__firstRender !== undefined")
        assert page.text_content("#doc-title") == shown and errors == []
        assert page.evaluate("document.querySelectorAll('#tbody tr').length") == 3
        page.close()


def test_malformed_doc_fragment_script_guard(tmp_path, fake_aligner):
    """The same without a browser: the page's script guards the decoding."""
    html = review_page(tmp_path, fake_aligner).read_text(encoding="utf-8")
    assert re.search(r"try \{ wanted = decodeURIComponent\(m\[1\]\); \} catch", html)


def test_publish_checks_the_repo_id_first(tmp_path, fake_aligner, monkeypatch):
    out = make_run(tmp_path, fake_aligner)
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    for repo_id in ("../x", "user/..", "user/a--b", "noslash"):
        result = run_cli("publish", out, "--repo-id", repo_id)
        assert result.exit_code == 1
        assert result.stderr == f"error: repository id {repo_id!r}: expected 'user/name' (or 'organisation/name')\n"
        assert "Publishing" not in result.output
