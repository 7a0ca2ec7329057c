"""The tuning sweep's derived documents (benchmarks/tune_alignment.py): long documents
(--long: each set's documents of one source joined into one pair, the gold shifted to
match), faithful translations with lines of their own (--own-lines), dev-reorder as raw
text (--raw-reorder), and the encoding cache they are read from."""

from __future__ import annotations

import sys
from types import SimpleNamespace
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


def test_short_documents_are_cut_between_gold_beads_with_indices_from_zero():
    en = sentences([f"e{i}" for i in range(12)], [0] * 12)
    ar = sentences([f"a{j}" for j in range(10)], [0] * 10)
    gold = [((0,), (0,)), ((1, 2), (1,)), ((), (2,)), ((3,), (3,)), ((4,), ()), ((5,), (4,)), ((6,), (5,)),
            ((7, 8), (6,)), ((9,), (7,)), ((10,), (8,)), ((11,), (9,))]
    d = EvalDoc("dev-split", "dev_001", "clean", "nasai", en, ar, gold)
    pieces = tune_alignment.short_documents([d], sizes=(4, 4))
    # 4 Arabic lines a piece; the last 2 (under 3) join the one before.
    assert [(p.set_name, p.doc_id, p.variant, p.source) for p in pieces] == [
        ("short-split", "dev_001#0", "clean", "nasai"), ("short-split", "dev_001#1", "clean", "nasai")]
    first, second = pieces
    assert [s.text for s in first.en] == ["e0", "e1", "e2", "e3"] and [s.text for s in first.ar] == ["a0", "a1", "a2", "a3"]
    assert first.gold == [((0,), (0,)), ((0 + 1, 2), (1,)), ((), (2,)), ((3,), (3,))]
    assert [s.text for s in second.en] == [f"e{i}" for i in range(4, 12)]
    assert [s.text for s in second.ar] == [f"a{j}" for j in range(4, 10)]
    assert second.gold == [((0,), ()), ((1,), (0,)), ((2,), (1,)), ((3, 4), (2,)), ((5,), (3,)), ((6,), (4,)),
                           ((7,), (5,))]


def test_short_raw_documents_keep_whole_paragraphs_numbered_from_zero():
    en = sentences(["e0", "e1", "e2", "e3"], [0, 1, 1, 2])
    ar = sentences(["a0", "a1", "a2", "a3", "a4"], [0, 0, 1, 2, 2])
    d = EvalDoc("dev-e2e", "e2e_001", "hard", "quran_si", en, ar, [((0,), (0,)), ((1,), (1,)), ((2,), (2,))],
                raw=True, n_en_par=3, n_ar_par=3)
    other = EvalDoc("dev-reorder", "r_001", "hard", "quran_si", en, ar, [((0,), (0,))])
    first, second = tune_alignment.short_documents([d, other], sizes=(1, 1))
    assert (first.set_name, first.raw, first.n_en_par, first.n_ar_par) == ("short-e2e", True, 1, 1)
    assert [s.text for s in first.ar] == ["a0", "a1"] and first.gold == [((0,), (0,))]
    # Pieces of 1 paragraph, but a last piece under 3 joins the one before.
    assert [s.text for s in second.en] == ["e1", "e2", "e3"] and [s.paragraph for s in second.en] == [0, 0, 1]
    assert [s.text for s in second.ar] == ["a2", "a3", "a4"] and [s.paragraph for s in second.ar] == [0, 1, 1]
    assert second.gold == [((0,), (0,)), ((1,), (1,))] and (second.n_en_par, second.n_ar_par) == (2, 2)


def test_own_line_documents_insert_lines_of_another_document_of_the_source_as_gold_nulls():
    a = EvalDoc("dev", "dev_001", "clean", "nasai", sentences(["e0", "e1", "e2", "e3"], [0, 0, 0, 0]),
                sentences(["a0", "a1", "a2"], [0, 0, 0]), [((0, 1), (0,)), ((2,), (1,)), ((3,), (2,))])
    donor = EvalDoc("dev", "dev_002", "hard", "nasai", sentences(["d0", "d1", "d2"], [0, 0, 0]),
                    sentences(["b0"], [0]), [((0,), (0,))])
    other_source = EvalDoc("dev", "dev_003", "clean", "quran_si", sentences(["q0"], [0]), sentences(["c0"], [0]),
                           [((0,), (0,))])
    made = tune_alignment.own_line_documents([a, donor, other_source], seeds=(0,), counts=(1, 2))
    # Only the clean document with a donor of its source; one pair per count.
    assert [(d.set_name, d.doc_id, d.variant, d.source) for d in made] == [
        ("own-lines", "dev/dev_001+1@0", "dev", "nasai"), ("own-lines", "dev/dev_001+2@0", "dev", "nasai")]
    for d, k in zip(made, (1, 2)):
        assert len(d.en) == 4 + k and d.ar == a.ar
        own = [i for i, s in enumerate(d.en) if s.text.startswith("d")]
        # Before gold beads other than the first: never inside the 2-1 bead of e0 and e1.
        followers = [d.en[i + 1].text for i in own]
        assert len(own) == k and len(set(followers)) == k and set(followers) <= {"e2", "e3"}
        # The document's own lines keep their order and their gold, shifted past the insertions.
        assert [s.text for s in d.en if s.text.startswith("e")] == ["e0", "e1", "e2", "e3"]
        index = {s.text: i for i, s in enumerate(d.en)}
        assert d.gold == [((index["e0"], index["e1"]), (0,)), ((index["e2"],), (1,)), ((index["e3"],), (2,))] + [
            ((i,), ()) for i in own]
    # The same seed gives the same documents.
    again = tune_alignment.own_line_documents([a, donor, other_source], seeds=(0,), counts=(1, 2))
    assert [[s.text for s in d.en] for d in again] == [[s.text for s in d.en] for d in made]


def test_raw_reorder_documents_write_each_line_as_a_paragraph_and_keep_the_gold():
    d = EvalDoc("dev-reorder", "reo_dev_002", "hard", "nasai",
                sentences(["He left. Then he came back.", "It rained."], [0, 0]),
                sentences(["غادر ثم عاد.", "أمطرت.", "وقال: نعم."], [0, 0, 0]),
                [((1,), (0,)), ((0,), (1,)), ((), (2,))])
    other = EvalDoc("dev", "dev_002", "hard", "nasai", sentences(["e0"], [0]), sentences(["a0"], [0]), [((0,), (0,))])
    (raw,) = tune_alignment.raw_reorder_documents([d, other])
    assert (raw.set_name, raw.doc_id, raw.variant, raw.source, raw.raw) == ("reorder-e2e", "reo_dev_002", "hard", "nasai",
                                                                           True)
    assert (raw.n_en_par, raw.n_ar_par) == (2, 3) and raw.gold == d.gold
    # Segmented as raw text: the first line's two sentences share paragraph 0.
    assert [(s.text, s.paragraph) for s in raw.en] == [("He left.", 0), ("Then he came back.", 0), ("It rained.", 1)]
    assert [s.paragraph for s in raw.ar] == [0, 1, 2]


def test_joined_arabic_documents_join_neighbouring_arabic_lines_and_merge_their_beads():
    # Gold: e0-a0, e1-a1, e2 alone, e3-a2, a3 alone, e4+e5-a4, e6-a5, a6 alone.
    d = EvalDoc("dev-split", "dev_003", "omissions", "abudawud", sentences([f"e{i}" for i in range(7)], [0] * 7),
                sentences([f"a{j}" for j in range(7)], [0, 0, 0, 1, 1, 1, 1]),
                [((0,), (0,)), ((1,), (1,)), ((2,), ()), ((3,), (2,)), ((), (3,)), ((4, 5), (4,)), ((6,), (5,)),
                 ((), (6,))])
    other = EvalDoc("dev", "dev_003", "omissions", "abudawud", sentences(["e0"], [0]), sentences(["a0"], [0]),
                    [((0,), (0,))])
    (joined,) = tune_alignment.joined_arabic_documents([d, other])
    assert (joined.set_name, joined.doc_id, joined.variant, joined.source) == ("joined-arabic", "dev_003", "omissions",
                                                                             "abudawud")
    assert [(s.text, s.paragraph) for s in joined.ar] == [("a0 a1", 0), ("a2 a3", 0), ("a4 a5", 1), ("a6", 1)]
    assert joined.en == d.en
    # a0+a1 and a4+a5 gather their English lines; a2+a3 keeps e3 (a3 had none); the
    # untranslated a6 stays alone, and so does e2 (between beads, not inside one).
    assert joined.gold == [((0, 1), (0,)), ((2,), ()), ((3,), (1,)), ((4, 5, 6), (2,)), ((), (3,))]


def test_joined_arabic_documents_take_a_line_with_no_counterpart_inside_a_joined_bead():
    # e1 has no counterpart but lies between e0 and e2, whose Arabic lines are joined.
    d = EvalDoc("dev-split", "dev_004", "omissions", "nasai", sentences(["e0", "e1", "e2"], [0, 0, 0]),
                sentences(["a0", "a1"], [0, 0]), [((0,), (0,)), ((1,), ()), ((2,), (1,))])
    (joined,) = tune_alignment.joined_arabic_documents([d])
    assert joined.gold == [((0, 1, 2), (0,))]


def test_cached_encodings_are_reused_only_for_the_same_documents_and_encoder(tmp_path, monkeypatch):
    calls = []

    def encode_all(al, docs):
        calls.append(al.encoder_name)
        return [(al.encoder_name, len(d.en)) for d in docs]

    monkeypatch.setattr(tune_alignment, "encode_all", encode_all)
    use, e5 = (SimpleNamespace(encoder_name=name, config=SimpleNamespace(max_run=8)) for name in ("use", "e5"))
    docs = [EvalDoc("dev", "dev_001", "clean", "nasai", sentences(["e0", "e1"], [0, 0]), sentences(["a0"], [0]),
                    [((0, 1), (0,))])]
    cache = tmp_path / "enc.pkl"
    assert tune_alignment.cached_encodings(use, docs, cache) == [("use", 2)]
    assert tune_alignment.cached_encodings(use, docs, cache) == [("use", 2)]
    assert calls == ["use"]  # the second call read the cache
    # Another encoder, or a sentence changed (same number of documents): encoded again.
    assert tune_alignment.cached_encodings(e5, docs, cache) == [("e5", 2)]
    docs[0].en[1] = Sentence("e1 changed", 0, 2)
    tune_alignment.cached_encodings(e5, docs, cache)
    assert calls == ["use", "e5", "e5"]
