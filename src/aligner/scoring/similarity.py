"""``similarity``: the cosine of the pair's embeddings by the aligner's encoder (the
record's ``score``). Range [-1, 1]; its scale depends on the encoder and the texts' domain."""

from __future__ import annotations

from typing import Any

import numpy as np

from aligner.scoring.base import Metric, register
from aligner.scoring.batch import PairBatch


def pair_cosines(batch: PairBatch) -> np.ndarray:
    """Each candidate's cosine (its embeddings are L2-normalised), as float64."""
    return np.einsum("nd,nd->n", batch.x, batch.y).astype(np.float64)


@register
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
        return pair_cosines(batch)
