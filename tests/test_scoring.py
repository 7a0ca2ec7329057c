"""Quality scores (aligner.scoring), the scored corpus and report (aligner.run.score), the
calibration helpers and the `aligner score` / `align --min-quality` commands.

Every registered metric is checked against exact answers worked out by hand (sacrebleu
style): its scores on small hand-built batches, its accept() thresholds and its signature."""

from __future__ import annotations

import importlib.metadata
import json
import math
import random
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from aligner.scoring import (
    E5_SCORE_NAMES,
    FLAG_NAMES,
    REGISTRY,
    SCORE_NAMES,
    LengthRatio,
    Margin,
    Metric,
    PairBatch,
    PairFilter,
    QualityModel,
    ScoredPairs,
    Scorer,
    ScoringDocument,
    Signature,
    get_metric,
    parse_flags,
    parse_thresholds,
    register,
)
from aligner.scoring.batch import E5_EXTRA
from aligner.scoring.calibration import EVAL_KINDS, build_candidates, parse_examples_gold
from aligner.scoring.checks import is_copy, is_untranslated, pair_flags, recurring_texts
from aligner.scoring.gap import rival_gap
from aligner.scoring.language import language_confidence
from aligner.scoring.length_ratio import LENGTH_SMOOTHING, log_length_ratio
from aligner.scoring.margin import knn_mean, ratio_margin
from aligner.scoring.numbers import extract_numbers, numbers_agreement

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NAN = float("nan")


# ----------------------------------------------------------------------------- the registry


def test_the_registry_holds_every_score_in_the_order_they_are_written():
    assert tuple(REGISTRY) == SCORE_NAMES + E5_SCORE_NAMES == (
        "similarity", "margin", "gap", "length_ratio", "numbers", "language", "e5_similarity", "e5_gap")
    for name, cls in REGISTRY.items():
        assert issubclass(cls, Metric) and cls.name == name
    assert isinstance(get_metric("margin", k=2), Margin) and get_metric("margin", k=2).k == 2
    with pytest.raises(ValueError, match="unknown score 'quality'; choose from similarity, margin"):
        get_metric("quality")
    with pytest.raises(TypeError):
        Metric()  # abstract: score() is missing

    class Another(Margin):
        name = "margin"

    with pytest.raises(ValueError, match="registered already"):
        register(Another)
    assert REGISTRY["margin"] is Margin


# ----------------------------------------------------------------------------- hand-built batches


def _batch(x, y, pool_en, pool_ar, x_in_pool, y_in_pool, en=None, ar=None, log_ratios=()) -> PairBatch:
    f32 = lambda rows: np.asarray(rows, np.float32)  # noqa: E731
    n = len(x)
    return PairBatch(en=en or [f"e{i}" for i in range(n)], ar=ar or [f"a{i}" for i in range(n)], x=f32(x), y=f32(y),
                     pool_en=f32(pool_en), pool_ar=f32(pool_ar), x_in_pool=np.asarray(x_in_pool, np.int64),
                     y_in_pool=np.asarray(y_in_pool, np.int64), log_ratios=np.asarray(log_ratios, np.float64))


def _text_batch(pairs, log_ratios=()) -> PairBatch:
    """Texts only (the text metrics read no embedding)."""
    n = len(pairs)
    zeros = np.zeros((n, 1))
    return _batch(zeros, zeros, zeros, zeros, [-1] * n, [-1] * n, [p[0] for p in pairs], [p[1] for p in pairs],
                  log_ratios)


# Pools whose mean is 0 (each vector and its opposite), so that centring leaves the
# embeddings as they are and every cosine can be read off: English e1, e2, -e1, -e2;
# Arabic a0 = 0.8 e1 + 0.6 e3, a1 = 0.6 e2 + 0.8 e4, -a0, -a1.
E1, E2, E3, E4 = np.eye(4)
A0, A1 = 0.8 * E1 + 0.6 * E3, 0.6 * E2 + 0.8 * E4
POOL_EN, POOL_AR = [E1, E2, -E1, -E2], [A0, A1, -A0, -A1]
# Candidates: the two true pairs (e1, a0) and (e2, a1), a wrong pair of pool units
# (e1, a1), and a pair of texts outside the pools (e3, e4).
CANDIDATES = dict(x=[E1, E2, E1, E3], y=[A0, A1, A1, E4], pool_en=POOL_EN, pool_ar=POOL_AR,
                  x_in_pool=[0, 1, 0, -1], y_in_pool=[0, 1, 1, -1])
# Worked by hand. cos(x, pool_ar) rows: e1 [.8, 0, -.8, 0], e2 [0, .6, 0, -.6], e3 [.6, 0, -.6, 0];
# cos(y, pool_en) rows: a0 [.8, 0, -.8, 0], a1 [0, .6, 0, -.6], e4 [0, 0, 0, 0]; a side
# outside the pool also meets its own partner (the extra column).
#   gap:    own minus the best rival, the partner left out: .8 - 0, .6 - 0, 0 - max(.8, .6), 0 - .6.
#   margin (k=2): (1 + own) / mean of the two k-NN means of 1 + cos:
#           1.8 / 1.4, 1.6 / 1.3, 1 / ((1.4 + 1.3) / 2), 1 / ((1.3 + 1) / 2).
HAND_SCORES = {
    "similarity": [0.8, 0.6, 0.0, 0.0],
    "gap": [0.8, 0.6, -0.8, -0.6],
    "margin": [9 / 7, 16 / 13, 20 / 27, 20 / 23],
}


@pytest.mark.parametrize("name, kwargs, expected", [
    ("similarity", {}, HAND_SCORES["similarity"]),
    ("margin", {"k": 2}, HAND_SCORES["margin"]),
    ("gap", {}, HAND_SCORES["gap"]),
    # The second opinion: the same metrics on the e5 batch (batch.extra["e5"]).
    ("e5_similarity", {"engine": "int8"}, HAND_SCORES["similarity"]),
    ("e5_gap", {"engine": "int8"}, HAND_SCORES["gap"]),
])
def test_embedding_metrics_on_a_hand_built_batch(name, kwargs, expected):
    batch = _batch(**CANDIDATES)
    if name.startswith("e5_"):  # the aligner's own embeddings, made useless: only e5's count
        zeros = np.zeros((4, 4))
        batch = _batch(zeros, zeros, zeros, zeros, [-1] * 4, [-1] * 4)
        batch.extra[E5_EXTRA] = _batch(**CANDIDATES)
    np.testing.assert_allclose(get_metric(name, **kwargs).score(batch), expected, rtol=0, atol=1e-6)


def test_centring_removes_the_pool_mean():
    """Pools shifted by a common vector give the same centred scores as the mean-zero ones."""
    shift = 0.5 * np.ones(4)
    shifted = {k: ([v + shift for v in CANDIDATES[k]] if k in ("x", "pool_en") else CANDIDATES[k])
               for k in CANDIDATES}
    batch = _batch(**shifted)
    np.testing.assert_allclose(get_metric("gap").score(batch), HAND_SCORES["gap"], atol=1e-6)
    np.testing.assert_allclose(get_metric("margin", k=2).score(batch), HAND_SCORES["margin"], atol=1e-6)
    x, _, pool_en, _ = batch.centred()
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(pool_en, np.asarray(POOL_EN, np.float32), atol=1e-6)


# A 3x3 similarity matrix S (English i, Arabic j), candidates on its diagonal, every side
# in the pool (so the own column is -inf).
S = np.array([[0.9, 0.3, 0.1],
              [0.2, 0.8, 0.4],
              [0.0, 0.5, 0.7]])
S_OWN = np.diag(S).copy()
S_ROW = np.concatenate([S, np.full((3, 1), -np.inf)], 1)
S_COL = np.concatenate([S.T, np.full((3, 1), -np.inf)], 1)


def test_margin_of_a_3x3_similarity_matrix():
    # Row 0: 1 + [.9, .3, .1], top 2 mean (1.9 + 1.3) / 2 = 1.6; column 0: 1 + [.9, .2, 0], 1.55;
    # margin = 1.9 / ((1.6 + 1.55) / 2) = 76 / 63. Rows 1 and 2 alike.
    assert ratio_margin(S_OWN, S_ROW, S_COL, 2) == pytest.approx([76 / 63, 72 / 65, 68 / 63], rel=1e-12)
    # k larger than the neighbours there are: the mean of all of them.
    assert ratio_margin(S_OWN, S_ROW, S_COL, 10) == pytest.approx(
        [1.9 / ((4.3 + 4.1) / 6), 1.8 / ((4.4 + 4.6) / 6), 1.7 / ((4.2 + 4.2) / 6)], rel=1e-12)


def test_knn_mean():
    sims = np.array([[3.0, 1.0, 2.0, -np.inf], [-np.inf, -np.inf, -np.inf, -np.inf], [1.0, 1.0, 5.0, 0.0]])
    assert knn_mean(sims, 2).tolist() == [2.5, 0.0, 3.0]
    assert knn_mean(sims, 9).tolist() == [2.0, 0.0, 1.75]


def test_gap_of_a_3x3_similarity_matrix():
    # Candidate 0: own .9, rivals: row 0 without column 0 (.3, .1), column 0 without row 0 (.2, 0).
    gap = rival_gap(S_OWN, S_ROW, S_COL, np.arange(3), np.arange(3))
    assert gap == pytest.approx([0.9 - 0.3, 0.8 - 0.5, 0.7 - 0.5], rel=1e-12)
    assert np.isinf(S_ROW[:, -1]).all()  # read-only: the inputs are left as they were
    # No rival at all (a one-pair document): no evidence either way.
    assert rival_gap(np.array([0.5]), np.array([[0.5, -np.inf]]), np.array([[0.5, -np.inf]]),
                     np.array([0]), np.array([0])).tolist() == [0.0]


# ----------------------------------------------------------------------------- text metrics


@pytest.mark.parametrize("en, ar, expected", [
    ("In 2019, 45 people", "في 2019 قتل 45", 1.0),
    ("20 killed", "٢٠ قتيلاً", 1.0),               # Arabic-Indic digits
    ("20 killed", "۲۰ قتيلاً", 1.0),               # Eastern Arabic-Indic digits
    ("20 killed", "٥٠ قتيلاً", 0.0),
    ("about 1,200 people", "١٬٢٠٠ شخص", 1.0),       # thousands separators
    ("4.8 metres", "٤٫٨ متر", 1.0),                 # decimal separators
    ("45,000 spectators", "45 ألف متفرج", 1.0),     # a scale word after the digits
    ("$1 million", "مليون دولار", 1.0),             # a number word matches a digit...
    ("twenty years", "٢٠ عاماً", 1.0),
    ("in 1998", "عام ١٩٩٨ و٢٠٠٠", 2 / 3),          # ...but a lone digit counts against
    ("3 of 4 bridges", "ثلاثة من ٤ جسور", 1.0),
    ("no digits", "لا أرقام", NAN),                 # no evidence: null
])
def test_numbers(en, ar, expected):
    value = get_metric("numbers").score(_text_batch([(en, ar)]))[0]
    assert value == expected or (math.isnan(expected) and math.isnan(value))
    assert numbers_agreement(en, ar) == (None if math.isnan(expected) else expected)


def test_extract_numbers():
    assert extract_numbers("١٬٢٠٠ شخص و٤٫٨ متر") == [1200.0, 4.8]
    assert extract_numbers("about 1,200 people, 4.8 metres") == [1200.0, 4.8]
    assert extract_numbers("on 14.05.2024") == [14.0, 5.0, 2024.0]


# log((len_ar + 10) / (len_en + 10)) against the prior N(0, log 2) (no document pairs):
# 40 Arabic / 90 English characters is log(1/2), z = -1; 70 / 30 is log 2, z = +1.
@pytest.mark.parametrize("en, ar, z", [("a" * 90, "ب" * 40, -1.0), ("a" * 30, "ب" * 70, 1.0),
                                       ("a" * 5, "ب" * 5, 0.0), ("a" * 90, "بَ" * 40, -1.0)])  # diacritics dropped
def test_length_ratio_of_known_lengths(en, ar, z):
    assert LENGTH_SMOOTHING == 10
    assert get_metric("length_ratio", prior_mean=0.0, prior_sd=math.log(2)).score(_text_batch([(en, ar)]))[0] == z


def test_length_ratio_against_the_document():
    metric = get_metric("length_ratio", prior_mean=0.0, prior_sd=0.1, prior_weight=5.0)
    assert metric.expected(np.array([])) == (0.0, 0.1)
    # Median 0.2, robust spread 1.4826 x median(|[-.1, 0, .4]|) = 0.14826; 3 pairs against a prior of 5.
    mean, sd = metric.expected(np.array([0.1, 0.2, 0.6]))
    assert mean == pytest.approx(3 * 0.2 / 8, rel=1e-12)
    assert sd == pytest.approx(math.sqrt((3 * 0.14826 ** 2 + 5 * 0.1 ** 2) / 8), rel=1e-12)
    z = metric.score(_text_batch([("a" * 30, "ب" * 70)], log_ratios=[0.1, 0.2, 0.6]))[0]
    assert z == pytest.approx((math.log(2) - mean) / sd, rel=1e-12)
    assert log_length_ratio("a" * 30, "ب" * 70) == math.log(2)


@pytest.mark.parametrize("en, ar, expected", [
    ("Hello", "مرحبا", 1.0),        # short sides (< 12 letters): judged by their script
    ("CNN", "CNN", 0.0),            # the Arabic side in Latin script
    ("مرحبا", "مرحبا", 0.0),        # the English side in Arabic script
    ("Hi there", "ab مرحب", 4 / 6),  # the lower of the two sides' shares
])
def test_language_of_short_texts(en, ar, expected):
    assert get_metric("language").score(_text_batch([(en, ar)]))[0] == expected


def test_language_confidence():
    en = language_confidence(["The river flooded large parts of the town on Tuesday.",
                              "Le fleuve a débordé mardi matin dans toute la ville.", "CNN"], "en")
    ar = language_confidence(["غمرت مياه النهر أجزاء واسعة من البلدة يوم الثلاثاء.",
                              "The river flooded large parts of the town on Tuesday."], "ar")
    assert en[0] > 0.9 and en[1] < 0.5 and en[2] == 1.0  # a short text is judged by its script
    assert ar[0] > 0.9 and ar[1] < 0.1


# ----------------------------------------------------------------------------- accept()


@pytest.mark.parametrize("name, kwargs, values, threshold, expected", [
    ("similarity", {}, [0.9, -0.5, NAN], None, [True, True, True]),  # no threshold of its own...
    ("similarity", {"threshold": 0.6}, [0.7, 0.6, 0.5, NAN], None, [True, True, False, True]),  # ...but the model's
    ("margin", {}, [1.2, 1.0, 0.99, NAN], None, [True, True, False, True]),
    ("margin", {}, [1.2, 1.0, 0.99, NAN], 1.1, [True, False, False, True]),
    ("gap", {}, [0.1, 0.0, -0.01, NAN], None, [True, True, False, True]),
    ("length_ratio", {"prior_mean": 0.0, "prior_sd": 1.0}, [0.5, -3.0, 2.6, -2.5, NAN], None,
     [True, False, False, True, True]),  # two-sided: |z| <= 2.5
    ("length_ratio", {"prior_mean": 0.0, "prior_sd": 1.0}, [0.5, -1.5, 1.0], 1.0, [True, False, True]),
    ("numbers", {}, [1.0, 0.5, 0.4, NAN], None, [True, True, False, True]),
    ("language", {}, [0.9, 0.5, 0.4], None, [True, True, False]),
    ("e5_similarity", {}, [0.9, 0.8], None, [True, True]),
    ("e5_similarity", {}, [0.9, 0.8], 0.85, [True, False]),
    ("e5_gap", {}, [0.1, 0.0, -0.1, NAN], None, [True, True, False, True]),
])
def test_accept(name, kwargs, values, threshold, expected):
    mask = get_metric(name, **kwargs).accept(np.array(values), threshold)
    assert mask.dtype == bool and mask.tolist() == expected


# ----------------------------------------------------------------------------- signatures

LINGUA = importlib.metadata.version("lingua-language-detector")
SIGNATURES = [
    ("similarity", {"encoder_name": "use-multilingual-v3"}, "similarity|encoder:use-multilingual-v3|v1"),
    ("margin", {}, "margin|k:4|centred:doc|s:1+cos|v1"),
    ("gap", {}, "gap|centred:doc|rival:max(row,col)|v1"),
    ("length_ratio", {"prior_mean": -0.20237, "prior_sd": 0.21891},
     "length_ratio|mu:-0.2024|sd:0.2189|n0:5.0|smooth:10|v1"),
    ("numbers", {}, "numbers|digits:ascii+arabic-indic+eastern|sep:\u066b\u066c|words:match-only|v1"),
    ("language", {}, f"language|lid:lingua-{LINGUA}-low|langs:9|min_letters:12|v1"),
    ("e5_similarity", {"engine": "int8"},
     "e5_similarity|encoder:multilingual-e5-small-q4|engine:torch-int8|prefix:query|v1"),
    ("e5_gap", {"engine": "int8"},
     "e5_gap|encoder:multilingual-e5-small-q4|engine:torch-int8|centred:doc|rival:max(row,col)|v1"),
]


def test_every_registered_metric_has_a_signature_here():
    assert [name for name, _, _ in SIGNATURES] == list(REGISTRY)


@pytest.mark.parametrize("name, kwargs, expected", SIGNATURES)
def test_signature(name, kwargs, expected):
    from aligner.version import __version__

    signature = get_metric(name, **kwargs).signature()
    assert isinstance(signature, Signature) and signature.name == name
    assert signature.format() == str(signature) == expected
    assert signature.aligner_version == __version__


def test_quality_signature():
    model = QualityModel(weights={"gap": 1.05343, "numbers": 0.8309}, bias=4.07412, length_prior=(0.0, 1.0),
                         similarity_threshold=0.0, meta={"prior": 0.65, "data": "examples (4 docs)"},
                         names=("gap", "length_sq", "numbers"))
    assert model.signature().format() == \
        "quality|logistic|gap=1.053,length_sq=0,numbers=0.8309|b=4.074|prior=0.65|fit:examples (4 docs)|v1"
    assert QualityModel(weights={}, bias=-1.0, length_prior=(0.0, 1.0), similarity_threshold=0.0, meta={},
                        names=("gap",)).signature().format() == "quality|logistic|gap=0|b=-1|fit:?|v1"
    assert Signature("x", (("k", 1), (None, "bare")), "2").format() == "x|k:1|bare|v2"


class _StubEncoder:
    """Fake sentence embeddings: each text's vector drawn from a generator seeded by the
    text (so the same text gets the same vector), L2-normalised."""

    def __init__(self, name: str, engine: str = "int8", dim: int = 16):
        self.name, self.engine, self.dim = name, engine, dim

    def encode(self, texts):
        rows = [np.random.default_rng(zlib.crc32(t.encode("utf-8"))).normal(size=self.dim) for t in texts]
        m = np.asarray(rows, np.float32).reshape(len(texts), self.dim)
        return m / np.linalg.norm(m, axis=1, keepdims=True)


class _StubPair:
    """Two encoders aligning together (as aligner.encoders.combined): the scorer takes the
    first for its scores and the second for the second opinion."""

    def __init__(self, first, second):
        self.first, self.second = first, second


@pytest.mark.parametrize("e5", [True, False])
def test_run_json_records_every_metrics_signature(tmp_path, e5):
    from aligner.run.score import score_corpus

    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("The river flooded the town.\tغمرت مياه النهر البلدة.\tdoc\n"
                   "Bread prices rose by 20 percent.\tارتفعت أسعار الخبز بنسبة ٢٠ في المئة.\tdoc\n"
                   "The museum reopened.\tأعاد المتحف فتح أبوابه.\tdoc\n", encoding="utf-8")
    scorer = Scorer(_StubPair(_StubEncoder("stub"), _StubEncoder("stub-e5")), e5=e5)
    score_corpus(tsv, tmp_path / "out", scorer, plot=False)
    recorded = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))["scoring"]["signatures"]
    assert list(recorded) == [*SCORE_NAMES, *(E5_SCORE_NAMES if e5 else ()), "quality"]
    model = QualityModel.load(e5=e5)
    for name, kwargs, _ in SIGNATURES:
        if name in recorded:
            kwargs = {"similarity": {"encoder_name": "stub"},
                      "length_ratio": dict(zip(("prior_mean", "prior_sd"), model.length_prior))}.get(name, kwargs)
            assert recorded[name] == get_metric(name, **kwargs).signature().format(), name
    assert recorded["quality"] == model.signature().format()
    assert recorded == {m.name: m.signature().format() for m in scorer.metrics} | {"quality": recorded["quality"]}


# ----------------------------------------------------------------------------- flags, filters


def test_flags():
    assert is_copy("The river flooded.", "the river  flooded")
    assert not is_copy("The river flooded.", "غمرت مياه النهر البلدة.")
    assert is_untranslated("The river flooded.", "The river flooded the town on Tuesday.")
    assert is_untranslated("غمرت مياه النهر البلدة", "غمرت مياه النهر البلدة")
    assert not is_untranslated("CNN reported the flood.", "أفادت CNN بالفيضان في البلدة القديمة.")
    assert parse_flags("copy, untranslated") == ("copy", "untranslated")
    with pytest.raises(ValueError, match="unknown flag"):
        parse_flags("typo")
    assert FLAG_NAMES == ("copy", "untranslated", "boilerplate")


def test_boilerplate_is_a_text_in_three_documents():
    footer = ("Follow us on 2024 social media.", "تابعونا على وسائل التواصل ٢٠٢٤.")
    stories = [("The river flooded.", "فاض النهر."), ("Bread prices rose.", "ارتفعت أسعار الخبز."),
               ("The museum reopened.", "أعيد فتح المتحف.")]
    # The footer's year differs between documents: numbers are ignored.
    docs = [ScoringDocument(f"d{i}", [story, (footer[0].replace("2024", str(2020 + i)), footer[1])])
            for i, story in enumerate(stories)]
    recurring = recurring_texts(docs, 3)
    assert recurring == {"en": {"follow us on social media"}, "ar": {"تابعونا على وسائل التواصل"}}
    assert recurring_texts(docs, 4) == {"en": set(), "ar": set()}
    assert pair_flags(*footer, recurring) == ["boilerplate"]
    assert pair_flags(*stories[0], recurring) == []
    assert pair_flags("Follow us!", "Follow us!", recurring) == ["copy", "untranslated"]


def test_parse_thresholds():
    assert parse_thresholds(["margin=1.05", "numbers", "gap=0,length_ratio=3"]) == {
        "margin": 1.05, "numbers": None, "gap": 0.0, "length_ratio": 3.0}
    with pytest.raises(ValueError, match="unknown score 'qualty'; choose from similarity, margin, gap, "
                                         "length_ratio, numbers, language, e5_similarity, e5_gap"):
        parse_thresholds(["qualty=0.5"])
    with pytest.raises(ValueError, match="NAME=NUMBER"):
        parse_thresholds(["margin=high"])


# ----------------------------------------------------------------------------- quality


def test_quality_features_and_prediction():
    scores = {"gap": np.array([0.2, 1.0, 0.2]), "length_ratio": np.array([3.0, -6.0, 0.0]),
              "numbers": np.array([NAN, 0.75, 1.0]), "language": np.array([0.8, 1.0, 0.5])}
    doc = {"scale": np.array([0.4, 0.4, 0.05]), "gap": np.array([0.1, 0.1, 0.1])}
    names = ("gap", "gap_vs_doc", "length", "length_sq", "numbers")
    # gap / max(scale, 0.1) clipped to [-4, 1.5]; the same for gap - the document's median;
    # length -max(0, |z| - 2); length_sq -min(|z|, 5)^2; numbers 2 x - 1, 0 when null.
    np.testing.assert_allclose(QualityModel.features(scores, doc, names), [
        [0.5, 0.25, -1.0, -9.0, 0.0],
        [1.5, 1.5, -4.0, -25.0, 0.5],
        [1.5, 1.0, 0.0, 0.0, 1.0]], rtol=1e-12)
    model = QualityModel(weights={"gap": 2.0}, bias=-1.0, length_prior=(0.0, 1.0), similarity_threshold=0.0,
                         meta={}, names=("gap",))
    # language x sigmoid(-1 + 2 x gap): sigmoid(0) = 0.5, sigmoid(2) for the clipped ones.
    assert model.predict(scores, doc).tolist() == pytest.approx(
        [0.4, 1 / (1 + math.exp(-2.0)), 0.5 / (1 + math.exp(-2.0))], rel=1e-12)


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
    assert list(kept[0]) == ["doc_id", "en_file", "ar_file", "en_idx", "ar_idx", "en", "ar", "bead_type", "score", "moved",
                             "quality", "scores", "flags"]
    assert list(kept[0]["scores"]) == [*SCORE_NAMES, "e5_similarity", "e5_gap"]
    assert all(r["reasons"] and all(w.startswith(("quality", "numbers")) for w in r["reasons"]) for r in rejected)
    assert all(r["quality"] >= 0.5 and (r["scores"]["numbers"] is None or r["scores"]["numbers"] >= 0.99)
               for r in kept)
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["scoring"]["encoder"] == "use-multilingual-v3" and run["scoring"]["rejected"] == len(rejected)
    assert run["scoring"]["e5"] is True
    # The signatures recorded are the registered metrics' (table above), with the shipped model's prior.
    mean, sd = QualityModel.load(e5=True).length_prior
    signatures = {name: get_metric(name, **({"prior_mean": mean, "prior_sd": sd} if name == "length_ratio" else kw))
                  .signature().format() for name, kw, _ in SIGNATURES}
    assert run["scoring"]["signatures"] == signatures | {"quality": QualityModel.load(e5=True).signature().format()}
    assert run["scoring"]["filter"] == ["quality >= 0.5", "numbers >= 0.99"]
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
    scored = ScoredPairs(scores={"margin": np.array([1.2, 0.9, np.nan]), "length_ratio": np.array([0.1, 3.0, 0.0])},
                         flags=[[], ["copy"], []], quality=np.array([0.9, 0.2, 0.6]))
    metrics = {"margin": Margin(), "length_ratio": LengthRatio(-0.1, 0.15)}
    f = PairFilter(min_quality=0.5, thresholds={"margin": None, "length_ratio": 2.5}, reject_flags=("copy",))
    assert f.reasons(scored, metrics) == [[], ["quality 0.2 < 0.5", "margin 0.9 < 1", "length_ratio |3| > 2.5",
                                               "flag copy"], []]
    assert f.describe() == ["quality >= 0.5", "margin (default threshold)", "length_ratio |z| <= 2.5", "no flag copy"]
    assert PairFilter(thresholds={"gap": 0.1, "unknown": 1.0}).describe() == ["gap >= 0.1", "unknown >= 1"]
    # A score without a threshold of its own (e5_similarity) rejects nothing.
    no_threshold = PairFilter(thresholds={"e5_similarity": None})
    assert no_threshold.reasons(ScoredPairs({"e5_similarity": np.array([-1.0])}, [[]], np.array([0.9])),
                                {"e5_similarity": get_metric("e5_similarity")}) == [[]]


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
