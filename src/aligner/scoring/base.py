"""What every per-pair score is: the abstract :class:`Metric`, its :class:`Signature`,
and the registry of metrics by name (:func:`register`, :func:`get_metric`).

Computing numbers is kept apart from accepting pairs (the OpusFilter ``score()`` /
``accept()`` split): :meth:`Metric.score` turns a batch of pairs into one number each,
:meth:`Metric.accept` says which of those numbers pass a threshold. Each metric signs its
settings sacrebleu-style (:meth:`Metric.signature`), recorded with every scored corpus.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from aligner.version import __version__

if TYPE_CHECKING:
    from aligner.scoring.batch import PairBatch

SCORES_KEY = "scores"
"""Key of the per-pair scores object in a ``corpus.jsonl`` record (after ``quality``)."""
FLAGS_KEY = "flags"
"""Key of the list of flags in a ``corpus.jsonl`` record (after ``scores``)."""
SCORE_NAMES = ("similarity", "margin", "gap", "length_ratio", "numbers", "language")
"""Scores always computed, in the order they are written."""
E5_SCORE = "e5_similarity"
E5_GAP = "e5_gap"
E5_SCORE_NAMES = (E5_SCORE, E5_GAP)
"""The second opinion's scores (with e5, the default), written after :data:`SCORE_NAMES`."""
SCORING_VERSION = "1"


@dataclass(frozen=True)
class Signature:
    """How a score was computed, sacrebleu-style: its ``name``, its ``settings`` (in
    order; a ``None`` key is a bare part) and its ``version``, and the aligner version
    that computed it (recorded beside the signatures in ``run.json``, not in
    :meth:`format`).

    ``format()`` is the string a scored corpus records, e.g.
    ``margin|k:4|centred:doc|s:1+cos|v1``."""

    name: str
    settings: tuple[tuple[str | None, Any], ...] = ()
    version: str = "1"
    aligner_version: str = field(default=__version__, compare=False)

    def format(self) -> str:
        """``name|key:value|...|v<version>``."""
        parts = [self.name] + [str(v) if k is None else f"{k}:{v}" for k, v in self.settings] + [f"v{self.version}"]
        return "|".join(parts)

    def __str__(self) -> str:
        return self.format()


class Metric(ABC):
    """One per-pair score. ``score(batch)`` gives one float per pair (``nan``: no
    evidence, written as ``null``); ``accept(values, threshold)`` says which pass
    (``nan`` always passes: a missing score is no evidence against a pair)."""

    name = ""
    description = ""
    value_range = ""
    default_threshold: float | None = None
    higher_is_better = True
    threshold_op = ">="
    """How a filter on this score reads (``margin >= 1.05``)."""
    version = "1"

    def settings(self) -> dict[str, Any]:
        return {}

    def signature(self) -> Signature:
        """``name|setting:value|...|v1`` (:meth:`Signature.format`), as sacrebleu signs its metrics."""
        return Signature(self.name, tuple(self.settings().items()), self.version)

    @abstractmethod
    def score(self, batch: PairBatch) -> np.ndarray:
        """One float64 per candidate pair of ``batch``."""

    def accept(self, values: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """Which ``values`` pass ``threshold`` (default: :attr:`default_threshold`; none:
        all pass), as a bool mask."""
        threshold = self.default_threshold if threshold is None else threshold
        values = np.asarray(values, np.float64)
        if threshold is None:
            return np.ones(len(values), bool)
        ok = values >= threshold if self.higher_is_better else values <= threshold
        return ok | np.isnan(values)

    def reject_reason(self, value: float, threshold: float) -> str:
        """Why a pair whose score is ``value`` fails ``threshold``: ``margin 0.93 < 1``."""
        return f"{self.name} {value:.4g} < {threshold:g}"

    def evidence(self, values: np.ndarray) -> np.ndarray:
        """``values`` turned so that higher is better evidence of a true pair (for ranking)."""
        values = np.asarray(values, np.float64)
        return values if self.higher_is_better else -values


REGISTRY: dict[str, type[Metric]] = {}
"""Every metric class by its score name, filled as the metric modules load: ``aligner.scoring``
imports them all, in the order the scores are written (:data:`SCORE_NAMES`, then
:data:`E5_SCORE_NAMES`)."""

M = TypeVar("M", bound=type[Metric])


def register(cls: M) -> M:
    """Class decorator: add a :class:`Metric` subclass to :data:`REGISTRY` under its ``name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if REGISTRY.get(cls.name, cls) is not cls:
        raise ValueError(f"a metric named {cls.name!r} is registered already ({REGISTRY[cls.name].__name__})")
    REGISTRY[cls.name] = cls
    return cls


def get_metric(name: str, **kwargs: Any) -> Metric:
    """The metric registered as ``name``, made with ``kwargs``. Raises ``ValueError``
    naming an unknown score."""
    try:
        cls = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown score {name!r}; choose from {', '.join(REGISTRY)}") from None
    return cls(**kwargs)


def metric_class(name: str) -> type[Metric]:
    """The class registered as ``name``, or the base :class:`Metric` for an unknown name."""
    return REGISTRY.get(name, Metric)

