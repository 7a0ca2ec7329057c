"""The tuning sweep's long documents (benchmarks/tune_alignment.py --long): each set's
documents of one source joined into one pair, the gold shifted to match."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import tune_alignment  # noqa: E402
from evalsets import EvalDoc  # noqa: E402

from aligner.text.segmentation import Sentence  # noqa: E402


def sentences(texts: list[str], paragraphs: list[int]) -> list[Sentence]:
    return [Sentence(t, p, k + 1) for k, (t, p) in enumerate(zip(texts, paragraphs))]


def test_sentence_documents_of_one_source_are_joined_with_their_gold_shifted():
    a = EvalDoc("dev", "dev_002", "clean", "nasai", sentences(["e0", "e1"], [0, 0]), sentences(["a0"], [0]),
                [((0, 1), (0,))])
    b = EvalDoc("dev", "dev_001", "clean", "nasai", sentences(["f0"], [0]), sentences(["b0", "b1"], [0, 0]),
                [((0,), (0,)), ((), (1,))])
    other = EvalDoc("dev", "dev_003", "hard", "quran_si", sentences(["g0"], [0]), sentences(["c0"], [0]),
                    [((0,), (0,))])
    joined = tune_alignment.long_documents([a, b, other])
    assert [(d.set_name, d.doc_id, d.variant, d.source) for d in joined] == [
        ("long", "dev-nasai", "dev", "nasai"), ("long", "dev-quran_si", "dev", "quran_si")]
    nasai = joined[0]
    # In id order: dev_001 first, then dev_002 from English line 1 and Arabic line 2.
    assert [s.text for s in nasai.en] == ["f0", "e0", "e1"] and [s.text for s in nasai.ar] == ["b0", "b1", "a0"]
    assert nasai.gold == [((0,), (0,)), ((), (1,)), ((1, 2), (2,))]
    assert not nasai.raw


def test_raw_documents_have_their_paragraphs_numbered_on():
    a = EvalDoc("dev-e2e", "e2e_001", "clean", "nasai", sentences(["e0", "e1", "e2"], [0, 1, 1]),
                sentences(["a0", "a1"], [0, 1]), [((0,), (0,)), ((1,), (1,))], raw=True, n_en_par=2, n_ar_par=2)
    b = EvalDoc("dev-e2e", "e2e_002", "clean", "nasai", sentences(["f0"], [0]), sentences(["b0"], [0]),
                [((0,), (0,))], raw=True, n_en_par=1, n_ar_par=1)
    (joined,) = tune_alignment.long_documents([a, b])
    assert (joined.set_name, joined.raw, joined.n_en_par, joined.n_ar_par) == ("long-e2e", True, 3, 3)
    assert [s.paragraph for s in joined.en] == [0, 1, 1, 2] and [s.paragraph for s in joined.ar] == [0, 1, 2]
    # Raw gold is in paragraphs: the second document's starts at paragraph 2 on each side.
    assert joined.gold == [((0,), (0,)), ((1,), (1,)), ((2,), (2,))]
