"""Tests for aligner.evaluation: hand-built cases with known answers, bead I/O, and a
cross-check against the eval set's reference scorer (../shared/eval/score.py) when present."""

from __future__ import annotations

import importlib.util
import random
from collections import namedtuple
from pathlib import Path

import pytest

from aligner.evaluation import (
    AlignmentCounts,
    AlignmentMetric,
    AlignmentScore,
    format_bead,
    format_beads,
    parse_beads,
    read_beads,
    unaligned_lines,
)

SCORE_PY = Path(__file__).resolve().parents[2] / "shared" / "eval" / "score.py"


def b(text: str):
    """Beads from a compact one-line spec, beads separated by ';': "[0]:[0]; [1, 2]:[3]"."""
    return parse_beads("\n".join(part.strip() for part in text.split(";")))


def score(gold, pred) -> AlignmentScore:
    metric = AlignmentMetric()
    return metric.aggregate([metric.compute(gold, pred)])


# ------------------------------------------------------------------ known answers


def test_exact_match_is_perfect():
    gold = b("[0]:[0]; [1, 2]:[1]; [3]:[2, 3]; [4]:[]; []:[4]")
    s = score(gold, gold)
    assert (s.strict_p, s.strict_r, s.strict_f1) == (1.0, 1.0, 1.0)
    assert (s.lax_p, s.lax_r, s.lax_f1) == (1.0, 1.0, 1.0)
    assert (s.null_p, s.null_r, s.null_f1) == (1.0, 1.0, 1.0)
    assert s.n_docs == 1


def test_no_null_lines_anywhere_gives_none():
    gold = b("[0]:[0]; [1]:[1]")
    s = score(gold, gold)
    assert (s.null_p, s.null_r, s.null_f1) == (None, None, None)


def test_merge_predicted_as_two_one_to_ones():
    gold = b("[0]:[0]; [1, 2]:[1, 2]; [3]:[3]")
    pred = b("[0]:[0]; [1]:[1]; [2]:[2]; [3]:[3]")
    c = AlignmentMetric().compute(gold, pred)
    assert c == AlignmentCounts(
        n_pred=4, pred_strict=2, pred_lax=4, n_gold=3, gold_strict=2, gold_lax=3,
        null_pred=0, null_gold=0, null_hit=0, n_docs=1,
    )
    s = score(gold, pred)
    assert s.strict_p == 0.5
    assert s.strict_r == pytest.approx(2 / 3)
    assert s.strict_f1 == pytest.approx(4 / 7)
    assert (s.lax_p, s.lax_r, s.lax_f1) == (1.0, 1.0, 1.0)


def test_null_beads_and_uncovered_lines():
    # gold: en 1 and ar 2 are unaligned
    gold = b("[0]:[0]; [1]:[]; [2]:[1]; []:[2]")
    # pred: aligns en 1 wrongly, leaves en 2 in a null bead, covers no bead for ar 2
    pred = b("[0]:[0]; [1]:[1]; [2]:[]")
    c = AlignmentMetric().compute(gold, pred)
    # precision: 3 predicted beads, only [0]:[0] right; [1]:[1] shares en 1 with the gold
    # null bead [1]:[] but no Arabic line, so it is not even a lax hit.
    assert (c.n_pred, c.pred_strict, c.pred_lax) == (3, 1, 1)
    # recall over the 2 non-null gold beads
    assert (c.n_gold, c.gold_strict, c.gold_lax) == (2, 1, 1)
    # unaligned lines: gold {en1, ar2}; pred {en2 (null bead), ar2 (uncovered)}
    assert (c.null_gold, c.null_pred, c.null_hit) == (2, 2, 1)
    s = score(gold, pred)
    assert (s.null_p, s.null_r, s.null_f1) == (0.5, 0.5, 0.5)
    assert s.strict_p == pytest.approx(1 / 3)
    assert s.strict_r == 0.5


def test_predicted_null_bead_scores_only_by_exact_match():
    gold = b("[0]:[0]; [1]:[]; [2]:[1]")
    pred = b("[0]:[0]; [1]:[]; [2]:[1]; [2]:[]")  # [2]:[] shares en 2 with a gold bead
    c = AlignmentMetric().compute(gold, pred)
    assert (c.n_pred, c.pred_strict, c.pred_lax) == (4, 3, 3)
    assert (c.n_gold, c.gold_strict, c.gold_lax) == (2, 2, 2)


def test_null_beads_do_not_count_towards_recall():
    gold = b("[0]:[0]; [1]:[]; []:[1]")
    pred = b("[0]:[0]")
    s = score(gold, pred)
    assert s.strict_r == 1.0 and s.strict_p == 1.0
    # but the unaligned-line score sees both missed null lines as uncovered, hence found
    assert (s.null_p, s.null_r) == (1.0, 1.0)


def test_uncovered_lines_use_gold_extent_only():
    # the prediction covers nothing beyond en 0 / ar 0; gold's extent is en 0..1, ar 0..1
    gold = b("[0]:[0]; [1]:[1]")
    pred = b("[0]:[0]")
    c = AlignmentMetric().compute(gold, pred)
    assert (c.null_pred, c.null_gold, c.null_hit) == (2, 0, 0)
    s = score(gold, pred)
    assert (s.null_p, s.null_r, s.null_f1) == (0.0, 0.0, 0.0)


def test_duplicate_beads_count_once():
    gold = b("[0]:[0]; [1]:[1]; [1]:[1]")
    pred = b("[0]:[0]; [0]:[0]; [1]:[2]; [1]:[2]")
    c = AlignmentMetric().compute(gold, pred)
    assert (c.n_pred, c.pred_strict, c.pred_lax) == (2, 1, 1)
    assert (c.n_gold, c.gold_strict, c.gold_lax) == (2, 1, 1)
    assert c == AlignmentMetric().compute(b("[0]:[0]; [1]:[1]"), b("[0]:[0]; [1]:[2]"))


def test_bead_empty_on_both_sides_is_ignored():
    gold = b("[0]:[0]; [1]:[]")
    pred = b("[0]:[0]; [1]:[]")
    with_empty = AlignmentMetric().compute(gold + [((), ())], pred + [((), ()), ((), ())])
    assert with_empty == AlignmentMetric().compute(gold, pred)
    assert with_empty.n_pred == 2


def test_lax_overlap_needs_both_sides():
    gold = b("[0, 1]:[0]; [2]:[1, 2]")
    pred = b("[0]:[0]; [1, 2]:[1]; []:[2]")
    c = AlignmentMetric().compute(gold, pred)
    assert (c.n_pred, c.pred_strict, c.pred_lax) == (3, 0, 2)
    assert (c.n_gold, c.gold_strict, c.gold_lax) == (2, 0, 2)
    s = score(gold, pred)
    assert s.strict_f1 == 0.0
    assert s.lax_p == pytest.approx(2 / 3) and s.lax_r == 1.0
    assert s.lax_f1 == pytest.approx(0.8)
    # ar 2 predicted unaligned, but the gold has no unaligned line
    assert (s.null_p, s.null_r, s.null_f1) == (0.0, 0.0, 0.0)

    # sharing only the English side, or each side with a different gold bead, is no lax hit
    c2 = AlignmentMetric().compute(b("[0]:[0]"), b("[0]:[1]"))
    assert (c2.pred_strict, c2.pred_lax, c2.gold_lax) == (0, 0, 0)
    c3 = AlignmentMetric().compute(b("[0]:[0]; [1]:[1]"), b("[0]:[1]; [1]:[0]"))
    assert (c3.n_pred, c3.pred_lax, c3.gold_lax) == (2, 0, 0)


def test_micro_average_and_counts_addition():
    metric = AlignmentMetric()
    small = metric.compute(b("[0]:[0]"), b("[0]:[1]"))  # 0/1 right
    big = metric.compute(
        b("[0]:[0]; [1]:[1]; [2]:[2]; [3]:[3]"), b("[0]:[0]; [1]:[1]; [2]:[2]; [3]:[3]")
    )  # 4/4 right
    s = metric.aggregate([small, big])
    assert s.strict_p == 4 / 5  # micro, not (0 + 1) / 2
    assert s.n_docs == 2
    assert metric.aggregate([small + big]) == s
    assert sum([small, big]) == small + big
    assert metric.aggregate([]) == AlignmentScore(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, None, None, None, 0)
    assert metric.corpus_score([b("[0]:[0]"), b("[0]:[0]; [1]:[1]")],
                               [b("[0]:[1]"), b("[0]:[0]; [1]:[1]")]).strict_p == 2 / 3
    with pytest.raises(ValueError):
        metric.corpus_score([b("[0]:[0]")], [])


def test_empty_prediction():
    s = score(b("[0]:[0]; [1]:[1]"), [])
    assert (s.strict_p, s.strict_r, s.strict_f1) == (0.0, 0.0, 0.0)
    assert (s.null_p, s.null_r, s.null_f1) == (0.0, 0.0, 0.0)  # 4 lines uncovered, none gold-null


def test_bead_objects_are_accepted():
    Bead = namedtuple("Bead", "en ar score")
    gold = b("[0]:[0]; [1]:[1, 2]")
    pred = [Bead((0,), (0,), 0.9), Bead((1,), (1, 2), None)]
    assert score(gold, pred).strict_f1 == 1.0
    assert format_beads(pred) == "[0]:[0]\n[1]:[1, 2]\n"


def test_unaligned_lines_helper():
    beads = b("[0]:[0]; [1]:[]; []:[1]")
    assert unaligned_lines(beads) == {("en", 1), ("ar", 1)}
    assert unaligned_lines(beads, n_en=3, n_ar=2) == {("en", 1), ("en", 2), ("ar", 1)}


def test_signature():
    sig = AlignmentMetric().signature()
    assert sig.startswith("vecalign-strict-lax|") and "micro" in sig and sig.endswith("|v1")


# ------------------------------------------------------------------ parse / format


def test_format_bead_exact():
    assert format_bead((1, 2), (3,)) == "[1, 2]:[3]"
    assert format_bead([4], []) == "[4]:[]"
    assert format_bead((), (5,)) == "[]:[5]"
    assert format_bead((0,), (0,)) == "[0]:[0]"


def test_format_parse_round_trip():
    beads = [((0,), (0,)), ((1, 2), (3,)), ((4,), ()), ((), (5,)), ((5,), (6, 7, 8))]
    text = format_beads(beads)
    assert text == "[0]:[0]\n[1, 2]:[3]\n[4]:[]\n[]:[5]\n[5]:[6, 7, 8]\n"
    assert parse_beads(text) == beads
    assert format_beads(parse_beads(text)) == text
    assert format_beads([]) == ""


def test_parse_tolerates_spacing_blank_lines_and_scores():
    text = "\n  [0,1] : [ 2 ]  \n\n[2]:[]:0.75\r\n[]:[3,]\n"
    assert parse_beads(text) == [((0, 1), (2,)), ((2,), ()), ((), (3,))]


def test_read_beads(tmp_path):
    path = tmp_path / "doc.align"
    path.write_text("[0]:[0]\n[1]:[]\n", encoding="utf-8")
    assert read_beads(path) == [((0,), (0,)), ((1,), ())]
    path.write_text("[0]:[0]\n[1]\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"doc\.align:2: "):
        read_beads(path)


@pytest.mark.parametrize(
    "text, line",
    [
        ("[0]:[0]\n[1, 2]\n", 2),  # no ':'
        ("[0]:[0]\n\n[a]:[1]\n", 3),  # blank line still counted
        ("[0]:[0]\n[1]:[2]:x\n", 2),  # third field not a score
        ("1:2\n", 1),  # no brackets
        ("[-1]:[0]\n", 1),  # negative index
        ("[1 2]:[0]\n", 1),  # missing comma
        ("[0]:[0]:0.5:1\n", 1),  # too many fields
        ("[,]:[0]\n", 1),
    ],
)
def test_parse_errors_name_source_and_line(text, line):
    with pytest.raises(ValueError, match=rf"^dev_007\.gold:{line}: "):
        parse_beads(text, source="dev_007.gold")


def test_parse_error_default_source():
    with pytest.raises(ValueError, match=r"^<string>:1: "):
        parse_beads("nonsense")


# ------------------------------------------------------------------ cross-check with score.py

# (English lines, Arabic lines) per bead type, weighted like a noisy document
_BEAD_TYPES = [((1, 1), 60), ((1, 0), 8), ((0, 1), 8), ((2, 1), 6), ((1, 2), 6), ((2, 2), 3),
               ((3, 1), 2), ((1, 3), 2)]


def _random_gold(rng: random.Random, n_beads: int):
    types, weights = zip(*_BEAD_TYPES)
    beads, i, j = [], 0, 0
    for _ in range(n_beads):
        de, da = rng.choices(types, weights)[0]
        beads.append((tuple(range(i, i + de)), tuple(range(j, j + da))))
        i, j = i + de, j + da
    return beads


def _random_pred(rng: random.Random, gold):
    """A monotone perturbation of gold: splits, merges, nulls, shifts, gaps, duplicates."""
    pred = []
    k = 0
    while k < len(gold):
        en, ar = gold[k]
        r = rng.random()
        if r < 0.45:
            pred.append((en, ar))
        elif r < 0.55 and k + 1 < len(gold):  # merge with the next bead
            en2, ar2 = gold[k + 1]
            pred.append((en + en2, ar + ar2))
            k += 1
        elif r < 0.65 and (len(en) > 1 or len(ar) > 1):  # split into two
            pred.append((en[:1], ar[:1]))
            pred.append((en[1:], ar[1:]))
        elif r < 0.75:  # everything unaligned
            pred.extend(((i,), ()) for i in en)
            pred.extend(((), (j,)) for j in ar)
        elif r < 0.82:  # left out (lines covered by no bead)
            pass
        elif r < 0.90 and en and ar:  # shifted by one Arabic line
            pred.append((en, tuple(j + 1 for j in ar)))
        elif r < 0.95:  # duplicate
            pred.extend([(en, ar), (en, ar)])
        else:  # empty bead, then the gold bead
            pred.extend([((), ()), (en, ar)])
        k += 1
    return pred


def _load_reference_scorer():
    if not SCORE_PY.is_file():
        pytest.skip(f"reference scorer not available: ../shared/eval/score.py not present ({SCORE_PY})")
    spec = importlib.util.spec_from_file_location("_reference_alignment_score", SCORE_PY)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _reference_view(counts: AlignmentCounts) -> dict:
    return dict(
        p=[counts.pred_strict, counts.n_pred - counts.pred_strict, counts.pred_lax, counts.n_pred - counts.pred_lax],
        r=[counts.gold_strict, counts.n_gold - counts.gold_strict, counts.gold_lax, counts.n_gold - counts.gold_lax],
        null_tp=counts.null_hit,
        null_pred=counts.null_pred,
        null_gold=counts.null_gold,
    )


def test_agrees_with_reference_scorer_on_random_documents():
    ref = _load_reference_scorer()
    rng = random.Random(20240611)
    metric = AlignmentMetric()
    golds, preds, mine = [], [], []
    for _ in range(20):
        gold = _random_gold(rng, rng.randint(1, 25))
        pred = _random_pred(rng, gold) if rng.random() < 0.85 else _random_gold(rng, rng.randint(0, 25))
        # the files go through both parsers
        gold_text, pred_text = format_beads(gold), format_beads(pred)
        assert parse_beads(gold_text) == ref.parse_alignments(gold_text)
        assert parse_beads(pred_text) == ref.parse_alignments(pred_text)
        counts = metric.compute(gold, pred)
        assert _reference_view(counts) == ref.doc_counts(gold, pred)
        assert metric.aggregate([counts]) == _as_score(ref.summarize([ref.doc_counts(gold, pred)]))
        golds.append(gold)
        preds.append(pred)
        mine.append(counts)

    total = metric.aggregate(mine)
    assert total == _as_score(ref.score_multiple(golds, preds))
    # the generator must have produced non-trivial cases
    assert 0 < total.strict_f1 < total.lax_f1 < 1
    assert total.null_f1 is not None and 0 < total.null_f1 < 1


def _as_score(res: dict) -> AlignmentScore:
    return AlignmentScore(
        strict_p=res["precision_strict"], strict_r=res["recall_strict"], strict_f1=res["f1_strict"],
        lax_p=res["precision_lax"], lax_r=res["recall_lax"], lax_f1=res["f1_lax"],
        null_p=res["null_precision"], null_r=res["null_recall"], null_f1=res["null_f1"],
        n_docs=res["n_docs"],
    )


# ---------------------------------------------------------------------------- raw text (paragraphs)

from aligner.evaluation import LinkMetric, paragraph_beads  # noqa: E402


@pytest.mark.parametrize("beads, en_par, ar_par, n_en, n_ar, expected", [
    # two sentences of English paragraph 0 with Arabic paragraph 0; sentence 2 (paragraph 1) unaligned
    ([((0,), (0,)), ((1,), (1,)), ((2,), ())], [0, 0, 1], [0, 0], 2, 1, [((0,), (0,)), ((1,), ())]),
    # a bead across Arabic paragraphs 0 and 1; Arabic paragraph 2 untouched
    ([((0,), (0, 1)), ((), (2,))], [0], [0, 1, 2], 1, 3, [((0,), (0, 1)), ((), (2,))]),
    ([((0, 1), (0,)), ((2,), (1,))], [0, 0, 0], [0, 1], None, None, [((0,), (0,)), ((0,), (1,))]),
])
def test_paragraph_beads(beads, en_par, ar_par, n_en, n_ar, expected):
    assert paragraph_beads(beads, en_par, ar_par, n_en, n_ar) == expected


@pytest.mark.parametrize("gold, pred, n_en, n_ar, counts", [
    ([((0,), (0,)), ((1,), (1,))], [((0,), (0,)), ((1,), (1,))], 2, 2, (2, 2, 2, 0, 0, 0)),
    # a glued bead: one wrong link, and Arabic paragraph 2 is no longer unaligned
    ([((0,), (0,)), ((1,), (1,)), ((), (2,))], [((0,), (0,)), ((1,), (1, 2))], 2, 3, (2, 3, 2, 0, 0, 1)),
    ([((0,), (0,)), ((1,), ())], [((0,), (0,))], 2, 1, (1, 1, 1, 1, 1, 1)),
])
def test_link_metric_counts(gold, pred, n_en, n_ar, counts):
    c = LinkMetric().compute(gold, pred, n_en, n_ar)
    assert (c.link_tp, c.link_pred, c.link_gold, c.un_tp, c.un_pred, c.un_gold) == counts


SCORE_E2E = Path(__file__).resolve().parents[2] / "shared" / "eval" / "score_e2e.py"


@pytest.mark.skipif(not SCORE_E2E.is_file(), reason="../shared/eval/score_e2e.py (the reference scorer) is not beside the checkout")
def test_link_metric_agrees_with_reference_scorer():
    import importlib.util
    import random

    spec = importlib.util.spec_from_file_location("score_e2e", SCORE_E2E)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    rng = random.Random(7)
    counts, ref_counts = [], []
    for _ in range(30):
        n_en, n_ar = rng.randint(1, 12), rng.randint(1, 12)
        def beads():
            out = []
            for _ in range(rng.randint(0, 8)):
                en = tuple(sorted(rng.sample(range(n_en), rng.randint(0, min(2, n_en)))))
                ar = tuple(sorted(rng.sample(range(n_ar), rng.randint(0, min(2, n_ar)))))
                if en or ar:
                    out.append((en, ar))
            return out
        gold, pred = beads(), beads()
        counts.append(LinkMetric().compute(gold, pred, n_en, n_ar))
        ref_counts.append(ref.doc_counts(gold, pred, n_en, n_ar))
    mine = LinkMetric().aggregate(counts)
    theirs = ref.summarize(ref_counts)
    assert mine.link_f1 == pytest.approx(theirs["link_f1"])
    assert mine.unaligned_f1 == pytest.approx(theirs["unaligned_f1"])
    assert mine.link_p == pytest.approx(theirs["link_precision"]) and mine.link_r == pytest.approx(theirs["link_recall"])
