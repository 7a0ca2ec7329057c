"""``length_ratio``: the z-score of the pair's log character-length ratio (Arabic /
English, diacritics stripped) against the ratio expected for the document: a prior for
English and Arabic news (Arabic shorter) pulled towards the document's own median ratio.
0 is typical; |z| > 2.5 is unusual (a partial translation, a wrong pair). Signed:
positive means the Arabic side is longer than expected."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from aligner.scoring.base import Metric, register
from aligner.scoring.batch import PairBatch
from aligner.text.normalization import normalize_for_encoding

LENGTH_SMOOTHING = 10
"""Characters added to both sides' lengths before their ratio (short sentences vary most)."""


def log_length_ratio(en: str, ar: str, smoothing: float = float(LENGTH_SMOOTHING)) -> float:
    """log((len(ar) + s) / (len(en) + s)), lengths in characters of the texts as the
    encoder sees them (Arabic diacritics, tatweel and marks stripped)."""
    return math.log((len(normalize_for_encoding(ar, "ar")) + smoothing)
                    / (len(normalize_for_encoding(en, "en")) + smoothing))


@register
class LengthRatio(Metric):
    name = "length_ratio"
    description = (f"z-score of log((len_ar + {LENGTH_SMOOTHING}) / (len_en + {LENGTH_SMOOTHING})) against the "
                   "document's expected ratio and spread (the fitted prior pulled towards the document's median and "
                   "robust spread)")
    value_range = "z-score; 0 typical, |z| > 2.5 unusual"
    higher_is_better = False
    threshold_op = "|z| <="

    def __init__(self, prior_mean: float, prior_sd: float, prior_weight: float = 5.0, max_abs_z: float = 2.5):
        self.prior_mean, self.prior_sd, self.prior_weight = prior_mean, prior_sd, prior_weight
        self.default_threshold = max_abs_z

    def settings(self) -> dict[str, Any]:
        return {"mu": round(self.prior_mean, 4), "sd": round(self.prior_sd, 4), "n0": self.prior_weight,
                "smooth": LENGTH_SMOOTHING}

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
        """Two-sided: ``|z| <= threshold``."""
        threshold = self.default_threshold if threshold is None else threshold
        values = np.asarray(values, np.float64)
        return (np.abs(values) <= threshold) | np.isnan(values)

    def reject_reason(self, value: float, threshold: float) -> str:
        return f"{self.name} |{value:.4g}| > {threshold:g}"

    def evidence(self, values: np.ndarray) -> np.ndarray:
        return -np.abs(np.asarray(values, np.float64))  # both directions are evidence against
