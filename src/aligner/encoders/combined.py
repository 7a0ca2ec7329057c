"""Two encoders' evidence in one embedding: the cosine of the combination is the weighted
mean of the two encoders' cosines.

Each part is L2-normalised and scaled by the square root of its weight, then the parts
are concatenated: for unit vectors ``cos([√w·u1, √(1-w)·e1], [√w·u2, √(1-w)·e2]) =
w·cos(u1, u2) + (1-w)·cos(e1, e2)``. Two encoders trained differently err on different
sentences, so their mean ranks the right counterpart first more often than either
(README, Accuracy: USE and e5 together against each alone, on every dev variant).

Runs stay pooled: the state of a text is both parts' states side by side, with each
part's token count carried as one extra column, so summing the states of consecutive
sentences sums both parts' states and counts, and ``embed_states`` hands each part its
own.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .base import l2_normalize


class CombinedEncoder:
    """``first`` and ``second`` with weights ``weight`` and ``1 - weight`` on their cosines.
    Both must pool runs (``encode_states`` / ``embed_states``)."""

    def __init__(self, first, second, weight: float, name: str | None = None):
        if not 0.0 < weight < 1.0:
            raise ValueError(f"weight must be between 0 and 1, got {weight}")
        self.first, self.second, self.weight = first, second, float(weight)
        self.name = name or f"{first.name}+{second.name}"
        self._dims: tuple[int, int] | None = None

    @property
    def settings(self) -> dict:
        return {"weight": {self.first.name: self.weight, self.second.name: round(1.0 - self.weight, 6)},
                self.first.name: dict(getattr(self.first, "settings", {})),
                self.second.name: dict(getattr(self.second, "settings", {}))}

    def encode_states(self, texts: Sequence[str], first: tuple[np.ndarray, np.ndarray] | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
        """[first's state | first's count | second's state | second's count], and
        first's counts (the aligner's token counts). ``first``: the first encoder's
        ``encode_states`` of the texts, already made (only the second encoder runs)."""
        s1, n1 = self.first.encode_states(texts) if first is None else first
        s2, n2 = self.second.encode_states(texts)
        self._dims = (s1.shape[1], s2.shape[1])
        states = np.concatenate([s1, n1[:, None], s2, n2[:, None]], axis=1).astype(np.float32)
        return states, np.asarray(n1)

    def first_part(self, states: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The first encoder's states and counts in combined states (``lens`` are its counts)."""
        if self._dims is None:
            self.encode_states([])
        return np.asarray(states, np.float32)[:, :self._dims[0]], np.asarray(lens, np.int64)

    def part_embeddings(self, states: np.ndarray, part: int) -> np.ndarray:
        """One part's own embeddings (``part`` 0: ``first``, 1: ``second``) from combined
        states: the same bits as that encoder's ``encode`` of the texts."""
        if self._dims is None:
            self.encode_states([])
        d1, d2 = self._dims
        states = np.asarray(states, np.float32)
        lo, width = (0, d1) if part == 0 else (d1 + 1, d2)
        encoder = self.first if part == 0 else self.second
        return encoder.embed_states(states[:, lo:lo + width], np.rint(states[:, lo + width]).astype(np.int64))

    def embed_states(self, states: np.ndarray, lens: np.ndarray) -> np.ndarray:
        if self._dims is None:  # nothing encoded yet: learn the widths from an empty call
            self.encode_states([])
        d1, d2 = self._dims
        states = np.asarray(states, np.float32)
        e1 = self.first.embed_states(states[:, :d1], np.rint(states[:, d1]).astype(np.int64))
        e2 = self.second.embed_states(states[:, d1 + 1:d1 + 1 + d2], np.rint(states[:, d1 + 1 + d2]).astype(np.int64))
        return self._join(e1, e2)

    def _join(self, e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
        out = np.concatenate([np.sqrt(self.weight) * e1, np.sqrt(1.0 - self.weight) * e2], axis=1)
        return l2_normalize(out)

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        states, lens = self.encode_states(texts)
        return self.embed_states(states, lens)
