"""``quality``: one number in [0, 1], the probability that the pair is a true translation
pair: ``language`` times a logistic model over ``gap`` (in units of the document's
typical centred cosine, as is and against the document's median), the same two for
``e5_gap`` (default model), ``length_ratio`` (as a capped squared z) and ``numbers``,
whose coefficients are constrained to be non-negative (so quality never falls when any
evidence improves). It is fitted by ``scripts/fit_quality.py`` on true pairs and
negatives the project draws from gold alignments (neighbouring sentences, partial
translations, random pairs, copies, altered numbers): the project's own texts
(``examples/``, ``scripts/calibration/``) and the dev set's gold (read in place, never
copied). True pairs carry a prior weight (0.65 against 0.35 for the negatives, 0.6 for
``--no-e5``: an aligned corpus is mostly true pairs), chosen by cross-validation over
whole documents as the one with which 0.5 best meets the goals of keeping 95% of true
pairs and rejecting 90% of the negatives. The
coefficients ship in ``aligner/data/quality_model_e5.json`` (``quality_model.json`` for
``--no-e5``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Sequence

import numpy as np

from aligner.scoring.base import SCORING_VERSION, Signature

_MODEL_RESOURCE = "quality_model.json"
_MODEL_E5_RESOURCE = "quality_model_e5.json"


@dataclass(frozen=True)
class QualityModel:
    """``quality = language * sigmoid(bias + sum_i weight_i * feature_i)``, the features
    being transforms of the scores (:meth:`features`) that grow with the evidence of a
    true pair, every weight >= 0 (so quality is monotone in every score)."""

    weights: dict[str, float]
    bias: float
    length_prior: tuple[float, float]
    similarity_threshold: float
    meta: dict[str, Any]
    names: tuple[str, ...] = ("gap", "gap_vs_doc", "e5_gap", "e5_gap_vs_doc", "length_sq", "numbers")

    FEATURES = ("gap", "gap_vs_doc", "length_sq", "numbers")
    """The fast (``--no-e5``) model's features; the default model adds ``e5_gap``, ``e5_gap_vs_doc``."""
    E5_FEATURES = ("gap", "gap_vs_doc", "e5_gap", "e5_gap_vs_doc", "length_sq", "numbers")
    SCALE_FLOOR = 0.1
    LENGTH_HINGE = 2.0
    LENGTH_CLIP = 5.0  # |z| beyond 5 is as bad as 5: no pair is rejected on its length alone
    GAP_CLIP = (-4.0, 1.5)  # a copy's gap is huge; no pair is surer than this

    @classmethod
    def load(cls, path=None, *, e5: bool = True) -> "QualityModel":
        """The shipped model (``aligner/data/quality_model_e5.json``; with ``e5=False`` the
        fast model ``quality_model.json``) or the one at ``path``."""
        if path is None:
            name = _MODEL_E5_RESOURCE if e5 else _MODEL_RESOURCE
            text = resources.files("aligner").joinpath("data", name).read_text(encoding="utf-8")
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        data = json.loads(text)
        return cls(weights=dict(data["weights"]), bias=float(data["bias"]),
                   length_prior=(float(data["length_prior"]["mean"]), float(data["length_prior"]["sd"])),
                   similarity_threshold=float(data["similarity_threshold"]), meta=dict(data.get("meta", {})),
                   names=tuple(data.get("features", cls.FEATURES)))

    @classmethod
    def features(cls, scores: dict[str, np.ndarray], doc: dict[str, np.ndarray],
                 names: Sequence[str] | None = None) -> np.ndarray:
        """(n, len(FEATURES)) feature matrix from the score arrays and, per pair, its
        document's statistics ``doc["scale"]`` (median centred cosine of the document's
        pairs) and ``doc["gap"]`` (their median gap):

        * ``gap``: the gap in units of the document's scale (documents whose sentences
          are alike have small gaps for true pairs and false ones alike), clipped to
          [-4, 1.5] (a copy's gap is huge, and no amount of it outweighs the language);
        * ``gap_vs_doc``: the gap minus the document's median, in the same units and
          clipped alike (how the pair compares with the document's typical pair);
        * ``length_sq``: ``-min(|length_ratio|, 5) ** 2``, the log-likelihood of the
          length ratio under the document's normal model (up to a constant), capped;
        * ``length`` (for model files that name it): ``-max(0, |length_ratio| - 2)``;
        * ``numbers``: ``2 * numbers - 1``, 0 when there is no digit;
        * ``e5_gap``, ``e5_gap_vs_doc`` (not in the ``--no-e5`` model): the gap features of ``e5_gap``.

        ``language`` is not a feature: it multiplies the probability (:meth:`predict`)."""
        names = cls.FEATURES if names is None else names
        numbers = scores["numbers"]
        cols = {
            "length": lambda: -np.maximum(0.0, np.abs(scores["length_ratio"]) - cls.LENGTH_HINGE),
            "length_sq": lambda: -np.minimum(np.abs(scores["length_ratio"]), cls.LENGTH_CLIP) ** 2,
            "numbers": lambda: np.where(np.isnan(numbers), 0.0, 2.0 * numbers - 1.0),
        }
        for prefix in ("", "e5_"):
            if prefix + "gap" in scores:
                scale = np.maximum(doc[prefix + "scale"], cls.SCALE_FLOOR)
                gap, median = scores[prefix + "gap"], doc[prefix + "gap"]
                cols[prefix + "gap"] = lambda g=gap, s=scale: np.clip(g / s, *cls.GAP_CLIP)
                cols[prefix + "gap_vs_doc"] = lambda g=gap, m=median, s=scale: np.clip((g - m) / s, *cls.GAP_CLIP)
        return np.stack([np.asarray(cols[f](), np.float64) for f in names], 1)

    def linear(self, scores: dict[str, np.ndarray], doc: dict[str, np.ndarray]) -> np.ndarray:
        """The logistic part: ``sigmoid(bias + weights . features)``."""
        f = self.features(scores, doc, self.names)
        w = np.array([self.weights.get(name, 0.0) for name in self.names])
        return 1.0 / (1.0 + np.exp(-(f @ w + self.bias)))

    def predict(self, scores: dict[str, np.ndarray], doc: dict[str, np.ndarray]) -> np.ndarray:
        """``quality = language * sigmoid(bias + weights . features)``: a pair whose sides
        are not the languages they claim (a copy, an untranslated line) is no translation
        pair however alike its sides are, so the language evidence gates the rest."""
        return np.asarray(scores["language"], np.float64) * self.linear(scores, doc)

    def signature(self) -> Signature:
        """``quality|logistic|<weights>|b=<bias>[|prior=<prior>]|fit:<data>|v1``
        (:meth:`Signature.format`)."""
        w = ",".join(f"{k}={self.weights.get(k, 0.0):.4g}" for k in self.names)
        parts: list[tuple[str | None, object]] = [(None, "logistic"), (None, w), (None, f"b={self.bias:.4g}")]
        if "prior" in self.meta:
            parts.append((None, f"prior={self.meta['prior']:g}"))
        parts.append(("fit", self.meta.get("data", "?")))
        return Signature("quality", tuple(parts), SCORING_VERSION)
