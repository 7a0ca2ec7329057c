"""Which pairs to keep: :class:`PairFilter` combines thresholds on ``quality`` and on the
scores, and flags, into reasons for rejecting a pair; :func:`parse_thresholds` and
:func:`parse_flags` read the command line's ``--min-score`` and ``--reject-flags``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

import numpy as np

from aligner.scoring.base import E5_SCORE_NAMES, SCORE_NAMES, Metric, metric_class
from aligner.scoring.checks import FLAG_NAMES

if TYPE_CHECKING:
    from aligner.scoring.scorer import ScoredPairs


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
            op = metric_class(name).threshold_op
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
            if threshold is None:  # a score without a threshold of its own: every value passes
                continue
            ok = metric.accept(values, threshold)
            for i in np.nonzero(~ok)[0]:
                out[i].append(metric.reject_reason(values[i], threshold))
        for flag in self.reject_flags:
            for i in range(n):
                if flag in scored.flags[i]:
                    out[i].append(f"flag {flag}")
        return out


def parse_thresholds(specs: Iterable[str], known: Iterable[str] = SCORE_NAMES + E5_SCORE_NAMES
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
