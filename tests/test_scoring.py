"""Quality scores (aligner.scoring.metrics), the scored corpus and report (aligner.run.score), the
calibration helpers and the `aligner score` / `align --min-quality` commands."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from aligner.scoring.calibration import EVAL_KINDS, build_candidates, parse_examples_gold
from aligner.scoring.metrics import (
    FLAG_NAMES,
    SCORE_NAMES,
    Gap,
    LengthRatio,
    Margin,
    PairBatch,
    PairFilter,
    QualityModel,
    Scorer,
    ScoringDocument,
    extract_numbers,
    is_copy,
    is_untranslated,
    language_confidence,
    numbers_agreement,
    parse_flags,
    parse_thresholds,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


# ----------------------------------------------------------------------------- numbers


def test_numbers_disagreeing_digits_score_lower_in_either_script():
    wrong = numbers_agreement("20 killed", "٥٠ قتيلاً")
    for agreeing in ("٢٠ قتيلاً", "20 قتيلاً", "۲۰ قتيلاً"):  # Arabic-Indic, ASCII, Eastern Arabic-Indic
        assert numbers_agreement("20 killed", agreeing) == 1.0
        assert wrong < numbers_agreement("20 killed", agreeing)
    assert wrong == 0.0


def test_numbers_separators_scales_and_words():
    assert extract_numbers("١٬٢٠٠ شخص و٤٫٨ متر") == [1200.0, 4.8]
    assert extract_numbers("about 1,200 people, 4.8 metres") == [1200.0, 4.8]
    assert numbers_agreement("45,000 spectators", "45 ألف متفرج") == 1.0
    assert numbers_agreement("$1 million", "مليون دولار") == 1.0
    assert numbers_agreement("twenty years", "٢٠ عاماً") == 1.0
    assert numbers_agreement("no digits", "لا أرقام") is None
    # A number word never counts against a pair; a lone digit does.
    assert numbers_agreement("in 1998", "عام ١٩٩٨ و٢٠٠٠") == pytest.approx(2 / 3)


# ----------------------------------------------------------------------------- flags, language


def test_flags():
    assert is_copy("The river flooded.", "the river  flooded")
    assert not is_copy("The river flooded.", "غمرت مياه النهر البلدة.")
    assert is_untranslated("The river flooded.", "The river flooded the town on Tuesday.")
    assert is_untranslated("غمرت مياه النهر البلدة", "غمرت مياه النهر البلدة")
    assert not is_untranslated("CNN reported the flood.", "أفادت CNN بالفيضان في البلدة القديمة.")
    assert parse_flags("copy, untranslated") == ("copy", "untranslated")
    with pytest.raises(ValueError, match="unknown flag"):
        parse_flags("typo")
    assert set(FLAG_NAMES) == {"copy", "untranslated", "boilerplate"}


def test_language_confidence():
    en = language_confidence(["The river flooded large parts of the town on Tuesday.",
                              "Le fleuve a débordé mardi matin dans toute la ville.", "CNN"], "en")
    ar = language_confidence(["غمرت مياه النهر أجزاء واسعة من البلدة يوم الثلاثاء.",
                              "The river flooded large parts of the town on Tuesday."], "ar")
    assert en[0] > 0.9 and en[1] < 0.5 and en[2] == 1.0  # a short text is judged by its script
    assert ar[0] > 0.9 and ar[1] < 0.1


def test_parse_thresholds():
    assert parse_thresholds(["margin=1.05", "numbers", "gap=0,length_ratio=3"]) == {
        "margin": 1.05, "numbers": None, "gap": 0.0, "length_ratio": 3.0}
    with pytest.raises(ValueError, match="unknown score"):
        parse_thresholds(["qualty=0.5"])
    with pytest.raises(ValueError, match="NAME=NUMBER"):
        parse_thresholds(["margin=high"])


# ----------------------------------------------------------------------------- embedding metrics


def _batch(pairs_sim: np.ndarray) -> PairBatch:
    """A batch whose English and Arabic pools are orthonormal-ish vectors; candidate i is
    (en unit i, ar unit i)."""
    n = len(pairs_sim)
    rng = np.random.default_rng(0)
    x = np.linalg.qr(rng.normal(size=(32, 32)))[0][:n]
    y = pairs_sim @ x + 0.05 * rng.normal(size=(n, 32))
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    en = [f"e{i}" for i in range(n)]
    ar = [f"a{i}" for i in range(n)]
    return PairBatch(en=en, ar=ar, x=x.astype(np.float32), y=y.astype(np.float32), pool_en=x.astype(np.float32),
                     pool_ar=y.astype(np.float32), x_in_pool=np.arange(n), y_in_pool=np.arange(n),
                     log_ratios=np.zeros(n))


def test_margin_and_gap_prefer_true_pairs():
    n = 8
    batch = _batch(np.eye(n))  # Arabic i translates English i
    gap = Gap().score(batch)
    margin = Margin(k=4).score(batch)
    assert (gap > 0).all() and (margin > 1).all()
    # The same pool, candidates shifted by one: every candidate has a better rival.
    shifted = PairBatch(en=batch.en, ar=batch.ar[1:] + batch.ar[:1], x=batch.x, y=np.roll(batch.y, -1, 0),
                        pool_en=batch.pool_en, pool_ar=batch.pool_ar, x_in_pool=np.arange(n),
                        y_in_pool=np.roll(np.arange(n), -1), log_ratios=np.zeros(n))
    assert (Gap().score(shifted) < 0).all()
    assert (Margin(k=4).score(shifted) < margin).all()


def test_length_ratio_is_a_z_score_against_the_document():
    metric = LengthRatio(prior_mean=-0.1, prior_sd=0.15)
    assert metric.expected(np.array([])) == (-0.1, 0.15)
    mean, sd = metric.expected(np.full(95, 0.3))
    assert mean == pytest.approx((95 * 0.3 + 5 * -0.1) / 100) and sd < 0.15
    z = metric.accept(np.array([0.5, -3.0, 2.6, np.nan]))
    assert z.tolist() == [True, False, False, True]


@pytest.mark.parametrize("e5", [True, False])
def test_quality_model_is_monotone_and_in_unit_range(e5):
    model = QualityModel.load(e5=e5)
    assert all(w >= 0 for w in model.weights.values())
    assert set(model.weights) == set(QualityModel.E5_FEATURES if e5 else QualityModel.FEATURES)
    base = {"similarity": np.array([0.5]), "margin": np.array([1.1]), "gap": np.array([0.0]),
            "length_ratio": np.array([0.0]), "numbers": np.array([np.nan]), "language": np.array([1.0]),
            "e5_gap": np.array([0.0])}
    doc = {"scale": np.array([0.4]), "gap": np.array([0.0]), "e5_scale": np.array([0.3]), "e5_gap": np.array([0.0])}
    q0 = model.predict(base, doc)[0]
    assert 0.0 <= q0 <= 1.0
    for name, worse_value, better in (("gap", -0.3, 0.2), ("numbers", 0.0, 1.0), ("language", 0.2, 1.0),
                                      ("e5_gap", -0.3, 0.2), ("length_ratio", 3.0, 1.0)):
        worse = {**base, name: np.array([worse_value])}
        improved = {**base, name: np.array([better])}
        assert model.predict(worse, doc)[0] <= model.predict(improved, doc)[0] + 1e-12, name
        if name != "length_ratio":
            assert model.predict(worse, doc)[0] <= q0 <= model.predict(improved, doc)[0] + 1e-12, name
    assert model.predict({**base, "length_ratio": np.array([4.0])}, doc)[0] < q0


# ----------------------------------------------------------------------------- calibration helpers


def test_examples_gold_and_candidates():
    gold = parse_examples_gold(EXAMPLES / "README.md")
    assert sorted(gold) == sorted(p.stem for p in (EXAMPLES / "en").glob("*.txt"))
    assert sum(1 for _, _, beads in gold.values() for e, a in beads if e and a) == 33
    n_en, n_ar, beads = gold["2024-06-bread-prices"]
    assert ((2, 3), (4,)) in beads and ((0,), (0, 1)) in beads and ((), (2,)) in beads
    assert sorted(i for e, _ in beads for i in e) == list(range(n_en))
    assert sorted(j for _, a in beads for j in a) == list(range(n_ar))
    en = [f"English {i} has 1{i} words here." for i in range(n_en)]
    ar = [f"العربية {j} فيها كلمات {j}." for j in range(n_ar)]
    one = build_candidates("d", en, ar, beads, random.Random(0))
    two = build_candidates("d", en, ar, beads, random.Random(0))
    assert one.kinds == two.kinds and one.document.candidates == two.document.candidates
    assert set(one.kinds) == {"true", *EVAL_KINDS}
    assert one.kinds.count("true") == len(one.document.pairs) == 8


# ----------------------------------------------------------------------------- whole pipeline (encoder)


@pytest.mark.slow
def test_scorer_separates_true_pairs_from_neighbours_on_examples(default_aligner):
    gold = parse_examples_gold(EXAMPLES / "README.md")
    from aligner import segment

    labelled = []
    for doc_id, (_, _, beads) in sorted(gold.items()):
        en = [s.text for s in segment((EXAMPLES / "en" / f"{doc_id}.txt").read_text(encoding="utf-8"), "en")]
        ar = [s.text for s in segment((EXAMPLES / "ar" / f"{doc_id}.txt").read_text(encoding="utf-8"), "ar")]
        labelled.append(build_candidates(doc_id, en, ar, beads, random.Random(0)))
    scorer = Scorer(default_aligner.encoder)
    scored = scorer.score_documents([ld.document for ld in labelled])
    kinds = np.array([k for ld in labelled for k in ld.kinds])
    assert list(scored.scores) == [*SCORE_NAMES, "e5_similarity", "e5_gap"]  # the second opinion is on by default
    q = scored.quality
    assert (q[kinds == "true"] >= 0.5).mean() >= 0.9
    for kind in EVAL_KINDS:
        assert (q[kinds == kind] < 0.5).mean() >= 0.9, kind
    # Deterministic: the same input gives the same numbers.
    again = scorer.score_documents([ld.document for ld in labelled])
    assert np.array_equal(again.quality, q)
    settings = scorer.settings()
    assert settings["encoder"] == "use-multilingual-v3" and settings["aligner_version"]
    assert settings["signatures"]["margin"] == "margin|k:4|centred:doc|s:1+cos|v1"


@pytest.mark.slow
def test_align_with_min_quality_and_score_command(tmp_path, default_aligner):
    from aligner.cli import main

    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["align", str(EXAMPLES / "en"), str(EXAMPLES / "ar"), "-o", str(out),
                                       "--no-progress", "--min-quality", "0.5", "--min-score", "numbers=0.99"])
    assert result.exit_code == 0, result.output
    assert "quality" in result.output and "rejected" in result.output
    kept = [json.loads(line) for line in (out / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    assert kept and rejected and len(kept) + len(rejected) == 33
    assert list(kept[0]) == ["doc_id", "en_file", "ar_file", "en_idx", "ar_idx", "en", "ar", "bead_type", "score",
                             "quality", "scores", "flags"]
    assert list(kept[0]["scores"]) == [*SCORE_NAMES, "e5_similarity", "e5_gap"]
    assert all(r["reasons"] and all(w.startswith(("quality", "numbers")) for w in r["reasons"]) for r in rejected)
    assert all(r["quality"] >= 0.5 and (r["scores"]["numbers"] is None or r["scores"]["numbers"] >= 0.99)
               for r in kept)
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["scoring"]["encoder"] == "use-multilingual-v3" and run["scoring"]["rejected"] == len(rejected)
    assert run["scoring"]["e5"] is True
    assert (out / "report.md").read_text(encoding="utf-8").startswith("# Corpus report")
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Re-scoring a TSV of another tool (en<TAB>ar, no header): nothing filtered, same scores.
    tsv = tmp_path / "other.tsv"
    tsv.write_text("".join(f"{r['en']}\t{r['ar']}\n" for r in kept), encoding="utf-8")
    again = tmp_path / "again"
    result = CliRunner().invoke(main, ["score", str(tsv), "-o", str(again), "--no-plot", "--no-e5"])
    assert result.exit_code == 0, result.output
    rescored = [json.loads(line) for line in (again / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["en"] for r in rescored] == [r["en"] for r in kept]
    assert list(rescored[0]["scores"]) == list(SCORE_NAMES)  # --no-e5: the fast path
    assert (again / "rejected.jsonl").read_text(encoding="utf-8") == ""
    assert not (again / "report.png").exists()

    # Scoring the run folder again gives the same records (deterministic, in place is fine).
    same = tmp_path / "same"
    result = CliRunner().invoke(main, ["score", str(out), "-o", str(same), "--min-quality", "0.5",
                                       "--min-score", "numbers=0.99"])
    assert result.exit_code == 0, result.output
    assert (same / "corpus.jsonl").read_bytes() == (out / "corpus.jsonl").read_bytes()
    assert (same / "report.png").read_bytes() == (out / "report.png").read_bytes()


def test_score_command_usage_errors(tmp_path):
    from aligner.cli import main

    corpus = tmp_path / "c.jsonl"
    corpus.write_text("", encoding="utf-8")
    result = CliRunner().invoke(main, ["score", str(corpus), "-o", str(tmp_path / "o"), "--min-score", "nope=1"])
    assert result.exit_code == 2 and "unknown score" in result.output
    result = CliRunner().invoke(main, ["score", str(corpus), "-o", str(tmp_path / "o"), "--reject-flags", "x"])
    assert result.exit_code == 2 and "unknown flag" in result.output


def test_pair_filter_reasons():
    from aligner.scoring.metrics import ScoredPairs

    scored = ScoredPairs(scores={"margin": np.array([1.2, 0.9, np.nan]), "length_ratio": np.array([0.1, 3.0, 0.0])},
                         flags=[[], ["copy"], []], quality=np.array([0.9, 0.2, 0.6]))
    metrics = {"margin": Margin(), "length_ratio": LengthRatio(-0.1, 0.15)}
    f = PairFilter(min_quality=0.5, thresholds={"margin": None, "length_ratio": 2.5}, reject_flags=("copy",))
    assert f.reasons(scored, metrics) == [[], ["quality 0.2 < 0.5", "margin 0.9 < 1", "length_ratio |3| > 2.5",
                                               "flag copy"], []]
    assert f.describe() == ["quality >= 0.5", "margin (default threshold)", "length_ratio |z| <= 2.5", "no flag copy"]


@pytest.mark.slow
@pytest.mark.parametrize("e5", [True, False])
def test_e5_second_opinion_and_fast_path(default_aligner, e5):
    scorer = Scorer(default_aligner.encoder, e5=e5)
    doc = ScoringDocument("d", [("The river flooded the town on Tuesday.", "غمرت مياه النهر البلدة يوم الثلاثاء."),
                                ("Bread prices rose sharply.", "ارتفعت أسعار الخبز بشكل حاد."),
                                ("The museum reopened after four years.", "أعاد المتحف فتح أبوابه بعد أربع سنوات.")],
                          candidates=[("The river flooded the town on Tuesday.", "غمرت مياه النهر البلدة يوم الثلاثاء."),
                                      ("Bread prices rose sharply.", "أعاد المتحف فتح أبوابه بعد أربع سنوات."),
                                      ("The museum reopened after four years.", "أعاد المتحف فتح أبوابه بعد أربع سنوات.")])
    scored = scorer.score_documents([doc])
    if e5:
        assert list(scored.scores)[-2:] == ["e5_similarity", "e5_gap"]
        assert scorer.model.names == QualityModel.E5_FEATURES
        assert scored.scores["e5_gap"][[0, 2]].min() > 0 > scored.scores["e5_gap"][1]
    else:  # the fast path: no e5 scores, the model fitted without them
        assert list(scored.scores) == list(SCORE_NAMES)
        assert scorer.model.names == QualityModel.FEATURES
    assert scorer.settings()["e5"] is e5
    assert scored.quality[[0, 2]].min() > 0.5 > scored.quality[1]
