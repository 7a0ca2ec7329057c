"""The Python API: an ``Aligner`` holding an encoder and settings, and ``align()``."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from . import __version__
from .alignment import AlignmentConfig, Bead, align_runs, run_embeddings_by_mean
from .encoders import DEFAULT_ENCODER, SentenceEncoder, load_encoder
from .normalization import normalize_for_encoding
from .segmentation import Sentence, segment, split_lines


@dataclass(frozen=True)
class SentencePair:
    """One aligned (non-null) bead with its texts. Indices are 0-based sentence indices;
    a many-line side's text is its sentences joined by a space."""

    en_indices: tuple[int, ...]
    ar_indices: tuple[int, ...]
    en_text: str
    ar_text: str
    bead_type: str
    score: float


@dataclass
class EncodedSide:
    """One side of a document as the alignment sees it: its sentences, the embeddings of
    every run of up to ``config.max_run`` sentences, characters per sentence (as
    encoded) and each sentence's paragraph."""

    sentences: list[Sentence]
    runs: list[np.ndarray]
    lengths: np.ndarray
    paragraphs: np.ndarray


@dataclass
class DocumentAlignment:
    """The alignment of one English document with one Arabic document."""

    en_sentences: list[Sentence]
    ar_sentences: list[Sentence]
    beads: list[Bead]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def pairs(self) -> list[SentencePair]:
        """Aligned beads with their texts, in document order."""
        return [SentencePair(b.en, b.ar, " ".join(self.en_sentences[i].text for i in b.en),
                             " ".join(self.ar_sentences[j].text for j in b.ar), b.kind, float(b.score))
                for b in self.beads if not b.is_null]

    @property
    def unaligned_en(self) -> list[int]:
        return [b.en[0] for b in self.beads if not b.ar]

    @property
    def unaligned_ar(self) -> list[int]:
        return [b.ar[0] for b in self.beads if not b.en]

    def to_vecalign(self) -> str:
        """Beads in the Vecalign format, one per line: ``[0]:[0]``, ``[1, 2]:[3]``, ``[4]:[]``."""
        return "".join(f"[{', '.join(map(str, b.en))}]:[{', '.join(map(str, b.ar))}]\n" for b in self.beads)


class Aligner:
    """Sentence aligner for English reports and their Arabic sources.

    ``encoder``: ``"use-multilingual-v3"`` (embedded default, no network), a Hugging Face
    model id or local folder, or any object with the ``SentenceEncoder`` interface.
    ``engine``: how an embedded encoder computes on CPU, ``"int8"`` (default) or
    ``"fp32"`` (see :func:`aligner.encoders.load_encoder`).
    """

    def __init__(self, encoder: str | SentenceEncoder = DEFAULT_ENCODER, *,
                 config: AlignmentConfig | None = None, device: str | None = None,
                 engine: str | None = None, cache_size: int = 20_000):
        self.encoder = (load_encoder(encoder, device=device, engine=engine) if isinstance(encoder, str)
                        else encoder)
        self.config = config or AlignmentConfig()
        # Sentence encodings by text, across the documents of a run: datelines, credits and
        # boilerplate recur, and re-aligning a document should not re-encode it. Bounded
        # (least recently used out); 20,000 entries hold about 40 MB with the default encoder.
        self._cache: OrderedDict[str, tuple[np.ndarray, int]] = OrderedDict()
        self.cache_size = cache_size

    def clear_cache(self) -> None:
        """Forget cached sentence encodings (e.g. between timed benchmark runs)."""
        self._cache.clear()

    @property
    def encoder_name(self) -> str:
        return self.encoder.name

    @property
    def settings(self) -> dict:
        """Everything an output needs to record how it was made."""
        return {"aligner_version": __version__, "encoder": self.encoder_name,
                "encoder_settings": dict(getattr(self.encoder, "settings", {})),
                "alignment": self.config.to_dict()}

    def run_embeddings(self, sentences: Sequence[str], lang: str) -> list[np.ndarray]:
        """Embeddings of every run of up to ``config.max_run`` consecutive sentences.

        Each distinct sentence is encoded once. With the embedded encoder, runs are pooled
        from the sentences' token states (no text is encoded twice); other encoders get
        the normalised mean of the sentence embeddings."""
        return self._runs_of_normalized([normalize_for_encoding(s, lang) for s in sentences])

    def _encode_cached(self, texts: list[str], pooled: bool) -> tuple[np.ndarray, np.ndarray]:
        """Per text: the encoder's pooled state and token count (``pooled``), or its
        embedding and 1. Each distinct text is encoded at most once while cached."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            if pooled:
                states, lens = self.encoder.encode_states(missing)
            else:
                states, lens = self.encoder.encode(missing), np.ones(len(missing), np.int64)
            for t, st, ln in zip(missing, states, lens):
                self._cache[t] = (st, int(ln))
        out = [self._cache[t] for t in texts]
        for t in texts:
            self._cache.move_to_end(t)
        while len(self._cache) > max(self.cache_size, len(texts)):
            self._cache.popitem(last=False)
        if not out:
            dim = 0 if not self._cache else len(next(iter(self._cache.values()))[0])
            return np.zeros((0, dim), np.float32), np.zeros(0, np.int64)
        return np.stack([o[0] for o in out]), np.fromiter((o[1] for o in out), np.int64, len(out))

    def _runs_of_normalized(self, texts: list[str]) -> list[np.ndarray]:
        max_run = self.config.max_run
        pooled = hasattr(self.encoder, "encode_states") and hasattr(self.encoder, "embed_states")
        if not texts:
            return run_embeddings_by_mean(self.encoder.encode([]), max_run)
        states, lens = self._encode_cached(texts, pooled)
        if not pooled:
            return run_embeddings_by_mean(states, max_run)
        # Runs pooled from the sentences' summed token states, all run lengths through the
        # encoder's head in one call.
        cs = np.concatenate([np.zeros((1, states.shape[1]), np.float64), np.cumsum(states, 0, dtype=np.float64)])
        cl = np.concatenate([[0], np.cumsum(lens)])
        ks = [k for k in range(1, max_run + 1) if len(texts) - k + 1 > 0]
        sums = np.concatenate([(cs[k:] - cs[:-k]).astype(np.float32) for k in ks])
        counts = np.concatenate([cl[k:] - cl[:-k] for k in ks])
        embedded = self.encoder.embed_states(sums, counts)
        runs, start = [], 0
        for k in range(1, max_run + 1):
            size = max(len(texts) - k + 1, 0)
            runs.append(embedded[start:start + size] if size else np.zeros((0, embedded.shape[1]), np.float32))
            start += size
        return runs

    def align_sentences(self, en: Sequence[str], ar: Sequence[str]) -> DocumentAlignment:
        """Align text already split into sentences (one unit per list item, as given)."""
        return self._align([Sentence(t, 0, k + 1) for k, t in enumerate(en)],
                           [Sentence(t, 0, k + 1) for k, t in enumerate(ar)])

    def align(self, english: str, arabic: str, *, presplit: bool = False) -> DocumentAlignment:
        """Segment both documents (or take one sentence per line with ``presplit``) and
        align them."""
        en = split_lines(english) if presplit else segment(english, "en")
        ar = split_lines(arabic) if presplit else segment(arabic, "ar")
        return self._align(en, ar)

    def encode(self, sentences: Sequence[Sentence], lang: str) -> EncodedSide:
        """One side of a document, encoded once: run embeddings, lengths, paragraphs."""
        texts = [normalize_for_encoding(s.text, lang) for s in sentences]
        return EncodedSide(list(sentences), self._runs_of_normalized(texts),
                           # Lengths in characters as the encoder saw them (no diacritics or marks).
                           np.array([len(t) for t in texts], np.float64),
                           np.array([s.paragraph for s in sentences], np.int64))

    def align_encoded(self, en: EncodedSide, ar: EncodedSide, config: AlignmentConfig | None = None) -> DocumentAlignment:
        """Align two encoded sides (``config`` overrides the aligner's own settings; it
        may not need longer runs than the aligner encoded)."""
        config = config or self.config
        t0 = time.perf_counter()
        beads = align_runs(en.runs, ar.runs, config, en_lengths=en.lengths, ar_lengths=ar.lengths,
                           en_paragraphs=en.paragraphs, ar_paragraphs=ar.paragraphs)
        return DocumentAlignment(en.sentences, ar.sentences, beads, {"align": time.perf_counter() - t0})

    def _align(self, en: list[Sentence], ar: list[Sentence]) -> DocumentAlignment:
        t0 = time.perf_counter()
        en_side, ar_side = self.encode(en, "en"), self.encode(ar, "ar")
        t1 = time.perf_counter()
        doc = self.align_encoded(en_side, ar_side)
        doc.timings = {"encode": t1 - t0, "align": doc.timings["align"]}
        return doc


_DEFAULT_ALIGNERS: dict[str, Aligner] = {}


def align(english: str, arabic: str, *, encoder: str = DEFAULT_ENCODER, presplit: bool = False) -> DocumentAlignment:
    """Align an English text with its Arabic source using a shared ``Aligner``."""
    if encoder not in _DEFAULT_ALIGNERS:
        _DEFAULT_ALIGNERS[encoder] = Aligner(encoder)
    return _DEFAULT_ALIGNERS[encoder].align(english, arabic, presplit=presplit)
