"""``similarity``: the cosine of the pair's embeddings by the aligner's encoder. Range
[-1, 1]; its scale depends on the encoder and the texts' domain.

With both embedded encoders aligning (``use+e5``, the default), ``similarity`` is USE's
cosine (the quality model was fitted on it; e5's is ``e5_similarity``) and the record's
``score`` the combination's, ``0.1 x similarity + 0.9 x e5_similarity`` on a 1-1 pair.

How it differs from the record's ``score`` with one encoder: both are cosines by the same
encoder, and for a 1-1 pair they are the same number (the embedding of one sentence; a run scores
from the alignment's cache). For a merged side (a 2-1 bead, ...) ``score`` is the
alignment's view, the run embedding pooled from the sentences' states, while
``similarity`` embeds the joined text as one (what a reader of the corpus would compute
from ``en`` and ``ar``); on the dev documents they differ by up to 0.10 (1-2) to 0.23 (3-1), and by at most
0.0001 (rounding) on 1-1 pairs.
``aligner score`` on a corpus of another tool only has the joined text, so the quality
model is fitted on ``similarity``."""

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
