"""Many small documents: read and encoded a window at a time (one encoder call per
window, run embeddings through the head in one call), with the same output as aligning
them one by one."""

from __future__ import annotations

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
