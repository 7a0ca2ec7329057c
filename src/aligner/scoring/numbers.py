"""``numbers``: the share of the numerals written in digits (either side) that the other
side also has, after mapping Arabic-Indic (٠-٩) and Eastern Arabic-Indic (۰-۹) digits and
the Arabic decimal / thousands separators (٫ ٬) to ASCII; ``45 ألف`` and ``2.4 million``
also stand for 45000 and 2400000; number words (``twenty``, ``عشرين``, ``مليون``) can match
a digit but never count against a pair. Range [0, 1]; ``null`` when neither side has a
digit (no evidence)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from aligner.scoring.base import Metric, register
from aligner.scoring.batch import PairBatch
from aligner.scoring.checks import normalize_digits
from aligner.text.normalization import normalize_for_encoding

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

_SCALE_WORDS = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "ألف": 1e3, "آلاف": 1e3, "الف": 1e3,
                "مليون": 1e6, "ملايين": 1e6, "مليار": 1e9, "مليارات": 1e9}
_NUMBER_SCALE_RE = re.compile(r"(\d+(?:[.,]\d+)*)(?:\s+([^\W\d_]+))?")


def extract_numbers(text: str) -> list[float]:
    """The numerals written in digits, as numbers: ``1,200`` and ``١٬٢٠٠`` are 1200,
    ``4.8`` and ``٤٫٨`` are 4.8 (a comma before exactly three digits is a thousands
    separator, any other comma or point a decimal one)."""
    return [values[0] for values in _numbers_with_scale(text)]


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


@register
class Numbers(Metric):
    """Accepts (at 0.5) a pair whose digits the other side has at least half of; a pair
    without digits passes (no evidence either way)."""

    name = "numbers"
    description = "share of the numerals in digits (either side) that the other side also has"
    value_range = "[0, 1]; null when neither side has a digit"
    default_threshold = 0.5

    def settings(self) -> dict[str, Any]:
        return {"digits": "ascii+arabic-indic+eastern", "sep": "\u066b\u066c", "words": "match-only"}

    def score(self, batch: PairBatch) -> np.ndarray:
        out = [numbers_agreement(e, a) for e, a in zip(batch.en, batch.ar)]
        return np.array([np.nan if v is None else v for v in out], np.float64)
