"""What the metrics read: a document to score (:class:`ScoringDocument`) and one
document's candidate pairs with their embeddings and context (:class:`PairBatch`),
including the candidates' similarities with the document's units on centred embeddings
(:meth:`PairBatch.candidate_sims`), which ``margin``, ``gap`` and the document
statistics share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aligner.encoders.base import l2_normalize

E5_EXTRA = "e5"
"""Key of :attr:`PairBatch.extra` holding the same pairs embedded by e5 (a :class:`PairBatch`)."""


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
            self._centred = (l2_normalize(self.x - mx), l2_normalize(self.y - my), l2_normalize(self.pool_en - mx),
                             l2_normalize(self.pool_ar - my))
        return self._centred

    def candidate_sims(self):
        """Per candidate: its own similarity, its English side's similarities with the
        Arabic pool (the candidate's own Arabic side included once) and the Arabic side's
        with the English pool, as (own (n,), row (n, q+1), col (n, p+1)) with -inf padding
        where the own side is already in the pool; on centred embeddings. Computed once
        per batch (margin, gap and the document statistics all read it): treat as
        read-only."""
        if self._sims is None:
            self._sims = self._compute_candidate_sims()
        return self._sims

    def _compute_candidate_sims(self):
        x, y, pe, pa = self.centred()
        own = np.einsum("nd,nd->n", x, y)
        row = np.concatenate([x @ pa.T, own[:, None]], 1)
        col = np.concatenate([y @ pe.T, own[:, None]], 1)
        # A side whose text is in the pool is there already: do not count it twice.
        row[self.y_in_pool >= 0, -1] = -np.inf
        col[self.x_in_pool >= 0, -1] = -np.inf
        return own, row, col
