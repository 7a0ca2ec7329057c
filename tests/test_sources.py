"""The run's reader (aligner.run.sources): reading ahead in a forked child gives exactly
what reading gives, leaves every failure to the reader, and never outlives the run."""

from __future__ import annotations

import os
import select
import sys
from pathlib import Path

import pytest

from aligner.io.inputs import DocumentError, language_shares, script_shares
from aligner.run import folders
from aligner.run.sources import SourceReader

EN = ["The river flooded the town on Tuesday. About 1,200 people were evacuated.\n\nThe mayor spoke.",
      "Prices of bread rose by a fifth in May, the statistics office said.",
      "The museum reopens after five years.\nIts roof was rebuilt."]
AR = ["غمرت مياه النهر البلدة يوم الثلاثاء. وأعلنت السلطات إجلاء نحو 1200 شخص.",
      "ارتفعت أسعار الخبز بمقدار الخمس في مايو، بحسب مكتب الإحصاء.",
      "يُعاد افتتاح المتحف بعد خمس سنوات."]

needs_fork = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reading ahead forks: Linux only")


def _folders(tmp_path: Path) -> tuple[Path, Path, list[tuple[Path, str]]]:
    en, ar = tmp_path / "en", tmp_path / "ar"
    en.mkdir()
    ar.mkdir()
    files = []
    for k, (e, a) in enumerate(zip(EN, AR)):
        (en / f"d{k}.txt").write_text(e, encoding="utf-8")
        (ar / f"d{k}.txt").write_bytes(a.encode("cp1256") if k == 1 else a.encode("utf-8"))  # one legacy encoding
        files += [(en / f"d{k}.txt", "en"), (ar / f"d{k}.txt", "ar")]
    return en, ar, files


def _reader(en: Path, ar: Path, **options) -> SourceReader:
    return SourceReader({"en": en, "ar": ar}, presplit=False, max_bytes=options.pop("max_bytes", None),
                        follow_links=False, **options)


def _read_all(reader: SourceReader, files):
    out = []
    for path, lang in files:
        try:
            out.append(reader.read(path, lang))
        except DocumentError as exc:
            out.append(str(exc))
    return out


def _child_done(reader: SourceReader) -> None:
    """Wait until the reading child has sent its results (it read every file it was given):
    the first read would otherwise stop it at once (a run's encoder takes seconds to load)."""
    assert select.select([reader._ahead[1]], [], [], 60)[0]


def _same(a, b) -> None:
    assert type(a) is type(b)
    if isinstance(a, str):
        assert a == b
        return
    assert (a.path, a.sha256, a.text, a.encoding, a.sentences, a.warnings) == \
        (b.path, b.sha256, b.text, b.encoding, b.sentences, b.warnings)


@needs_fork
def test_read_ahead_gives_what_reading_gives(tmp_path):
    en, ar, files = _folders(tmp_path)
    plain = _read_all(_reader(en, ar), files)
    lingua_loaded = "lingua" in sys.modules
    reader = _reader(en, ar)
    assert reader.read_ahead(files + files[:1]) is True  # a file of two pairs is read once
    _child_done(reader)
    ahead = _read_all(reader, files)
    for a, b in zip(plain, ahead):
        _same(a, b)
    assert reader.files_read == len(files) and reader.read_again == 0
    for (path, lang), doc in zip(files, ahead):
        assert doc.scripts == script_shares(doc.text)
        # Languages are measured ahead only where lingua was never loaded in this process.
        assert doc.languages == (None if lingua_loaded else language_shares(doc.text, lang))
    assert plain[3].encoding != "utf-8"  # the cp1256 file was decoded the same way in the child


_LANGUAGES_AHEAD = """
import sys
from pathlib import Path
from aligner.io.inputs import language_shares
from aligner.run.sources import SourceReader
SourceReader.AHEAD_BATCH = int(sys.argv[1])
root = Path(sys.argv[2])
files = [(path, lang) for lang in ("en", "ar") for path in sorted((root / lang).glob("*.txt"))]
reader = SourceReader({"en": root / "en", "ar": root / "ar"}, presplit=False, max_bytes=None, follow_links=False)
assert "lingua" not in sys.modules and reader.read_ahead(files)
import select
assert select.select([reader._ahead[1]], [], [], 60)[0]
docs = [reader.read(path, lang) for path, lang in files]
assert all(d.languages is not None for d in docs)
assert [d.languages for d in docs] == [language_shares(d.text, lang) for d, (_, lang) in zip(docs, files)]
print("ok", len(docs))
"""


@needs_fork
@pytest.mark.parametrize("batch", [1, 2, 32])  # languages measured every document, every two, at the end
def test_languages_measured_ahead_are_those_measured_here(tmp_path, batch):
    import subprocess

    en, ar, files = _folders(tmp_path)
    # A fresh process: languages are measured ahead only where lingua was never loaded.
    done = subprocess.run([sys.executable, "-c", _LANGUAGES_AHEAD, str(batch), str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", str(len(files))]


@needs_fork
def test_read_ahead_leaves_failures_to_the_reader(tmp_path):
    en, ar, files = _folders(tmp_path)
    (en / "big.txt").write_text("A long line of English text. " * 40, encoding="utf-8")
    (ar / "binary.txt").write_bytes(b"\x00\x01\x02\xff" * 64)
    (en / "outside.txt").symlink_to(tmp_path / "elsewhere.txt")
    (tmp_path / "elsewhere.txt").write_text("Outside the folder.", encoding="utf-8")
    files = [(en / "big.txt", "en"), (ar / "binary.txt", "ar"), (en / "outside.txt", "en")] + files
    plain = _read_all(_reader(en, ar, max_bytes=500), files)
    assert sum(isinstance(x, str) for x in plain) == 3  # too large, not text, outside the folder
    reader = _reader(en, ar, max_bytes=500)
    reader.read_ahead(files)
    _child_done(reader)
    ahead = _read_all(reader, files)
    for a, b in zip(plain, ahead):
        _same(a, b)


@needs_fork
def test_read_ahead_stops_at_half_the_budget(tmp_path):
    en, ar, files = _folders(tmp_path)
    reader = _reader(en, ar, budget_bytes=200)  # the first document already fills half of it
    reader.read_ahead(files)
    _child_done(reader)
    reader.read(*files[0])
    assert len(reader._held) == 1  # the child stopped after one; nothing else was read yet
    for a, b in zip(_read_all(_reader(en, ar), files), _read_all(reader, files)):
        _same(a, b)


@needs_fork
def test_close_stops_and_reaps_the_child(tmp_path):
    en, ar, files = _folders(tmp_path)
    reader = _reader(en, ar)
    assert reader.read_ahead(files)
    pid = reader._ahead[0]
    reader.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left behind
    assert reader._ahead is None and reader.files_read == 0
    _same(reader.read(*files[0]), _reader(en, ar).read(*files[0]))  # reading still works


def test_no_read_ahead_without_fork(tmp_path, monkeypatch):
    en, ar, files = _folders(tmp_path)
    monkeypatch.setattr(sys, "platform", "darwin")  # fork is unsafe there: everything is read in order
    reader = _reader(en, ar)
    assert reader.read_ahead(files) is False
    assert reader.read(*files[0]).text == EN[0]


def test_languages_measured_ahead_are_not_measured_again(tmp_path, monkeypatch):
    en, ar, files = _folders(tmp_path)
    docs = [_reader(en, ar).read(path, lang) for path, lang in files if lang == "ar"]
    docs[1].languages = (7, {"Arabic": 1.0})
    measured = []

    def fake(texts, side):
        measured.append((list(texts), side))
        return [(len(t), {"Arabic": 0.5}) for t in texts]

    monkeypatch.setattr(folders, "language_shares_many", fake)
    shares = folders._languages(docs, "ar")
    assert measured == [([docs[0].text, docs[2].text], "ar")]  # one call, without the one measured ahead
    assert shares == [(len(docs[0].text), {"Arabic": 0.5}), (7, {"Arabic": 1.0}), (len(docs[2].text), {"Arabic": 0.5})]


def _no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@pytest.fixture
def built(monkeypatch):
    """``align_folders(aligner=NAME)`` builds the stand-in aligner (and so reads ahead)."""
    from test_bad_inputs import BagOfTrigrams

    from aligner import Aligner

    made = []

    def build(encoder, engine=None, alignment=None):
        made.append(Aligner(encoder=BagOfTrigrams()))
        return made[-1]

    monkeypatch.setattr(folders, "_build_aligner", build)
    return made


@needs_fork
def test_a_run_that_reads_ahead_writes_the_same_and_leaves_no_child(tmp_path, built):
    from test_bad_inputs import BagOfTrigrams

    from aligner import Aligner

    en, ar, _ = _folders(tmp_path)
    folders.align_folders(en, ar, tmp_path / "plain", aligner=Aligner(encoder=BagOfTrigrams()), progress=False)
    run = folders.align_folders(en, ar, tmp_path / "ahead", aligner="stand-in", progress=False)
    assert built and _no_children_left()
    assert run.timings["files_read"] == 6 and run.timings["files_read_again"] == 0
    for name in ("corpus.jsonl", "unaligned.jsonl", "pairs.tsv"):
        assert (tmp_path / "ahead" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()


@needs_fork
def test_a_run_that_fails_leaves_no_child(tmp_path, built, monkeypatch):
    en, ar, _ = _folders(tmp_path)

    def fail(*args, **kwargs):
        raise RuntimeError("stopped before any document was read")

    monkeypatch.setattr(folders, "align_pairs", fail)
    with pytest.raises(RuntimeError, match="stopped before"):
        folders.align_folders(en, ar, tmp_path / "out", aligner="stand-in", progress=False)
    assert built and _no_children_left()


@needs_fork
def test_read_ahead_where_the_program_ignores_sigchld(tmp_path):
    import signal

    en, ar, files = _folders(tmp_path)
    old = signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reaped by the system: waitpid finds none
    try:
        for take in (True, False):
            reader = _reader(en, ar)
            assert reader.read_ahead(files)
            if take:
                _child_done(reader)
                _same(reader.read(*files[0]), _reader(en, ar).read(*files[0]))
            else:
                reader.close()
    finally:
        signal.signal(signal.SIGCHLD, old)


@needs_fork
def test_a_child_that_does_not_answer_is_stopped_and_everything_read_here(tmp_path, monkeypatch):
    import time

    en, ar, files = _folders(tmp_path)
    monkeypatch.setattr(SourceReader, "_read_ahead", lambda self, files, stop, languages: time.sleep(60) or [])
    monkeypatch.setattr(SourceReader, "AHEAD_WAIT", 0.2)
    reader = _reader(en, ar)
    assert reader.read_ahead(files)
    pid = reader._ahead[0]
    t0 = time.monotonic()
    for a, b in zip(_read_all(_reader(en, ar), files), _read_all(reader, files)):
        _same(a, b)
    assert time.monotonic() - t0 < 30 and reader.files_read == len(files)  # not the child's minute
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # killed and reaped
