"""Many small documents: read and encoded a window at a time (one encoder call per
window, run embeddings through the head in one call), with the same output as aligning
them one by one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aligner import Aligner
from aligner.run import folders as corpus_mod
from aligner.run.folders import align_folders
from aligner.text.segmentation import segment

from test_bad_inputs import BagOfTrigrams

EN = ["The river flooded the town on Tuesday.", "About 1,200 people were evacuated from their homes.",
      "The mayor said no injuries had been recorded."]
AR = ["غمرت مياه النهر البلدة يوم الثلاثاء.", "أجلي نحو 1200 شخص من منازلهم.",
      "قال رئيس البلدية إنه لم تسجل إصابات."]


def _documents(tmp_path: Path, n: int) -> tuple[Path, Path]:
    for side, lines in (("en", EN), ("ar", AR)):
        (tmp_path / side).mkdir()
        for i in range(n):
            number = f" Report {i}." if side == "en" else f" التقرير {i}."
            (tmp_path / side / f"d{i:04d}.txt").write_text(lines[i % 3] + number + "\n", encoding="utf-8")
    return tmp_path / "en", tmp_path / "ar"


def _outputs(out: Path) -> dict[str, bytes]:
    files = [out / "corpus.jsonl", out / "unaligned.jsonl", *sorted((out / "beads").iterdir())]
    return {p.name: p.read_bytes() for p in files}


@pytest.mark.parametrize("n, calls", [(1, 1), (64, 1), (65, 2), (130, 3)])
def test_many_small_documents_take_one_encoder_call_per_window(tmp_path, n, calls):
    """Windows of 64 documents: one encoder call each, none when aligning the window's
    documents."""
    encoder = BagOfTrigrams()
    en, ar = _documents(tmp_path, n)
    run = align_folders(en, ar, tmp_path / "out", aligner=Aligner(encoder=encoder), progress=False)
    assert run.ok and len(run.documents) == n
    assert encoder.calls == calls


def test_windows_give_the_same_bytes_as_one_document_at_a_time(tmp_path, monkeypatch):
    en, ar = _documents(tmp_path, 70)
    align_folders(en, ar, tmp_path / "windowed", aligner=Aligner(encoder=BagOfTrigrams()), progress=False)
    monkeypatch.setattr(corpus_mod, "WINDOW_DOCUMENTS", 1)
    align_folders(en, ar, tmp_path / "single", aligner=Aligner(encoder=BagOfTrigrams()), progress=False)
    assert _outputs(tmp_path / "windowed") == _outputs(tmp_path / "single")


def test_a_bad_document_in_a_window_fails_alone(tmp_path):
    en, ar = _documents(tmp_path, 5)
    (en / "d0002.txt").write_bytes(b"")
    run = align_folders(en, ar, tmp_path / "out", aligner=Aligner(encoder=BagOfTrigrams()), progress=False)
    assert [f.doc_id for f in run.failed] == ["d0002"]
    assert [d.doc_id for d in run.documents] == ["d0000", "d0001", "d0003", "d0004"]


@pytest.mark.slow
def test_runs_computed_ahead_are_the_same_bits(default_aligner):
    """The embedded encoder: run embeddings computed for several documents in one head
    call equal those computed document by document."""
    sides = [(segment(" ".join(EN[:k]), "en"), "en") for k in (1, 2, 3)] + \
            [(segment(" ".join(AR[:k]), "ar"), "ar") for k in (1, 2, 3)]
    one_by_one = [default_aligner.encode(sentences, lang).runs for sentences, lang in sides]
    default_aligner.encode_ahead(sides)
    assert len(default_aligner._runs_ahead) == 6
    ahead = [default_aligner.encode(sentences, lang).runs for sentences, lang in sides]
    assert not default_aligner._runs_ahead  # each taken once
    for a, b in zip(one_by_one, ahead):
        assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.slow
def test_paragraph_runs_computed_ahead_are_the_same_bits(use_aligner):
    """Raw text with paragraphs: the paragraphs' runs (aligned first) are computed ahead
    in the same head call as the sentences', the same bits as side by side; a side of one
    paragraph gets none."""
    sides = [(segment(f"{EN[0]} {EN[1]}\n\n{EN[2]}", "en"), "en"), (segment(f"{AR[0]}\n\n{AR[1]} {AR[2]}", "ar"), "ar"),
             (segment(" ".join(EN[1:]), "en"), "en")]
    use_aligner.clear_cache()
    one_by_one = [use_aligner.encode(sentences, lang) for sentences, lang in sides]
    use_aligner.encode_ahead(sides)
    assert len(use_aligner._runs_ahead) == 3 and len(use_aligner._paragraph_runs_ahead) == 2
    ahead = [use_aligner.encode(sentences, lang) for sentences, lang in sides]
    assert not use_aligner._runs_ahead and not use_aligner._paragraph_runs_ahead  # each taken once
    assert one_by_one[2].paragraph_runs is None and ahead[2].paragraph_runs is None
    for a, b in zip(one_by_one, ahead):
        assert all(np.array_equal(x, y) for x, y in zip(a.runs, b.runs))
        if a.paragraph_runs is not None:
            assert len(a.paragraph_runs) == len(b.paragraph_runs) == use_aligner.config.max_run
            assert all(np.array_equal(x, y) for x, y in zip(a.paragraph_runs, b.paragraph_runs))


def _numbered_pair(k: int, lines: int) -> tuple[list, list]:
    """A document of ``lines`` numbered sentences each side (the numbers are what the
    stand-in encoder sees on both), a line of the report's own after every fifth English
    one, every seventh Arabic one split in two."""
    en = " ".join(f"Item {k * 100 + i} was counted on day {i}." + (" The report adds a line." if i % 5 == 4 else "")
                  for i in range(lines))
    ar = " ".join(f"تم عد البند {k * 100 + i}. في اليوم {i}." if i % 7 == 6 else f"تم عد البند {k * 100 + i} في اليوم {i}."
                  for i in range(lines))
    return segment(en, "en"), segment(ar, "ar")


@pytest.mark.parametrize("cells", [1, 400, 250_000])
def test_documents_aligned_together_are_each_aligned_alone(monkeypatch, cells):
    # cells=1: one document per search group; 400: a few together; the default: all.
    import aligner.documents as documents_mod

    monkeypatch.setattr(documents_mod, "ALIGN_TOGETHER_CELLS", cells)
    aligner = Aligner(encoder=BagOfTrigrams())
    docs = [_numbered_pair(k, lines) for k, lines in enumerate((3, 12, 1, 25, 8, 40, 12))]
    alone = [aligner.align_segments(en, ar) for en, ar in docs]
    together = aligner.align_segments_many(docs)
    assert [d.beads for d in together] == [d.beads for d in alone]
    assert [(d.en_sentences, d.ar_sentences) for d in together] == [(d.en_sentences, d.ar_sentences) for d in alone]
    assert all(set(d.timings) == {"encode", "align"} for d in together)
    assert any(len(b.ar) > 1 for d in alone for b in d.beads) and any(b.is_null for d in alone for b in d.beads)


def test_a_document_that_cannot_be_aligned_fails_alone_among_those_aligned_together(monkeypatch):
    import aligner.documents as documents_mod

    aligner = Aligner(encoder=BagOfTrigrams())
    docs = [_numbered_pair(k, lines) for k, lines in enumerate((4, 9, 6, 11))]
    expected = [aligner.align_segments(en, ar) for en, ar in docs]
    # Document 1 cannot be encoded (a lone surrogate); document 3's search fails, which
    # fails the search made together: each is then searched alone.
    docs[1] = (segment("A broken \ud800 line.", "en"), docs[1][1])
    real = documents_mod.align_runs

    def failing_together(jobs, *args, **kwargs):
        raise MemoryError("together")

    def fails_on_thirteen_lines(**arguments):  # document 3: 11 numbered lines, 2 of its own
        if len(arguments["en_runs"][0]) == 13:
            raise MemoryError("document 3")
        return real(**arguments)

    monkeypatch.setattr(documents_mod, "align_runs_many", failing_together)
    monkeypatch.setattr(documents_mod, "align_runs", fails_on_thirteen_lines)
    got = aligner.align_segments_many(docs)
    assert isinstance(got[1], ValueError) and "surrogate" in str(got[1])
    assert isinstance(got[3], MemoryError) and str(got[3]) == "document 3"
    assert got[0].beads == expected[0].beads and got[2].beads == expected[2].beads


def test_a_document_whose_search_fails_is_reported_and_the_others_written(tmp_path, monkeypatch):
    import aligner.documents as documents_mod

    en, ar = _documents(tmp_path, 4)
    (en / "d0002.txt").write_text(" ".join(EN) + "\n", encoding="utf-8")  # three lines: its search fails
    (ar / "d0002.txt").write_text(" ".join(AR) + "\n", encoding="utf-8")
    real = documents_mod.align_runs

    def fails_on_three_lines(*args, **arguments):
        if len(arguments["en_runs"][0]) == 3:
            raise RuntimeError("no memory left for this one")
        return real(*args, **arguments)

    monkeypatch.setattr(documents_mod, "align_runs", fails_on_three_lines)
    monkeypatch.setattr(documents_mod, "align_runs_many",
                        lambda jobs, *a, **k: [fails_on_three_lines(**job) for job in jobs])
    run = align_folders(en, ar, tmp_path / "out", aligner=Aligner(encoder=BagOfTrigrams()), progress=False)
    assert [f.doc_id for f in run.failed] == ["d0002"] and "no memory left" in run.failed[0].error
    assert [d.doc_id for d in run.documents] == ["d0000", "d0001", "d0003"]
    corpus = (tmp_path / "out" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted({json.loads(line)["doc_id"] for line in corpus}) == ["d0000", "d0001", "d0003"]
