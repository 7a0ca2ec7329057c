"""``margin``: the ratio margin (Artetxe & Schwenk 2019) of the pair against its ``k``
nearest neighbours in the document, on embeddings centred per document:
``s(x, y) / (mean_kNN(x) s / 2 + mean_kNN(y) s / 2)`` with ``s = 1 + cos``. About 1: the
pair is no more alike than each side is to its typical close neighbour; above 1: it
stands out. Range (0, ~3)."""

from __future__ import annotations

from typing import Any

import numpy as np

from aligner.scoring.base import Metric, register
from aligner.scoring.batch import PairBatch


def knn_mean(sims: np.ndarray, k: int) -> np.ndarray:
    """Mean of each row's ``k`` largest finite values (all of them when fewer; 0 when none)."""
    finite = np.isfinite(sims)
    counts = finite.sum(1)
    kk = np.minimum(k, counts)
    s = np.where(finite, sims, -np.inf)
    top = -np.sort(-s, axis=1)[:, :k]
    top = np.where(np.arange(top.shape[1])[None, :] < kk[:, None], top, 0.0)
    return top.sum(1) / np.maximum(kk, 1)


def ratio_margin(own: np.ndarray, row: np.ndarray, col: np.ndarray, k: int) -> np.ndarray:
    """``(1 + own) / (knn_mean(1 + row) / 2 + knn_mean(1 + col) / 2)`` per candidate, from
    the similarities of :meth:`PairBatch.candidate_sims` (``-inf``: no neighbour)."""
    denom = 0.5 * (knn_mean(1.0 + row, k) + knn_mean(1.0 + col, k))
    return (1.0 + own) / np.maximum(denom, 1e-6)


@register
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
        own, row, col = batch.candidate_sims()
        return ratio_margin(own, row, col, self.k)
