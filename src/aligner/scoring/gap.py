"""``gap``: the pair's centred cosine minus that of its strongest rival, the best other
sentence of the document for either side. Above 0: the two sides are each other's best
match in the document (mutual nearest neighbours); below 0: some other sentence fits one
of them better. Range [-2, 2]. ``e5_gap`` (:mod:`aligner.scoring.e5`) is the same on
multilingual-e5-small embeddings."""

from __future__ import annotations

from typing import Any

import numpy as np

from aligner.scoring.base import Metric, register
from aligner.scoring.batch import PairBatch


def rival_gap(own: np.ndarray, row: np.ndarray, col: np.ndarray, x_in_pool: np.ndarray,
              y_in_pool: np.ndarray) -> np.ndarray:
    """``own`` minus the largest of ``row`` and ``col`` (:meth:`PairBatch.candidate_sims`)
    once the pair's own partner is left out of both (its own cell, wherever it sits); 0
    where no rival is left."""
    row = row.copy()
    col = col.copy()
    row[:, -1] = -np.inf
    col[:, -1] = -np.inf
    yi, xi = y_in_pool, x_in_pool
    row[yi >= 0, yi[yi >= 0]] = -np.inf
    col[xi >= 0, xi[xi >= 0]] = -np.inf
    rival = np.maximum(row.max(1, initial=-np.inf), col.max(1, initial=-np.inf))
    return np.where(np.isfinite(rival), own - rival, 0.0)  # no rival at all: no evidence either way


@register
class Gap(Metric):
    """Accepts (at its default threshold 0) a pair whose sides are each other's best match in
    the document."""

    name = "gap"
    description = "centred cosine minus that of the strongest rival of either side in the document"
    value_range = "[-2, 2]; > 0 = mutual best match"
    default_threshold = 0.0

    def settings(self) -> dict[str, Any]:
        return {"centred": "doc", "rival": "max(row,col)"}

    def score(self, batch: PairBatch) -> np.ndarray:
        own, row, col = batch.candidate_sims()
        return rival_gap(own, row, col, batch.x_in_pool, batch.y_in_pool)

