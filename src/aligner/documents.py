"""The Python API: an ``Aligner`` holding an encoder and settings, and ``align()``."""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from aligner.version import __version__
from aligner.alignment import (AlignmentConfig, Bead, align_runs, align_runs_many, groups_of_cells, paragraph_starts,
                               run_embeddings_by_mean)
from aligner.encoders import DEFAULT_ENCODER, SentenceEncoder, SentenceTransformerModel, is_sentence_transformer, load_encoder
from aligner.text.anchors import shared_anchor_ids, side_anchors
from aligner.text.normalization import normalize_for_encoding
from aligner.encoders.pooling import pooled_runs, runs_in_one_call
from aligner.io.processes import cpu_budget, forked_map
from aligner.text.segmentation import Sentence, segment, split_lines


@dataclass(frozen=True)
class SentencePair:
    """One aligned (non-null) bead with its texts. Indices are 0-based sentence indices;
    a many-line side's text is its sentences joined by a space."""

    en_indices: tuple[int, ...]
    ar_indices: tuple[int, ...]
    en_text: str
    ar_text: str
    score: float
    moved: bool = False  # a passage the report moved: the bead crosses the main path (Bead.moved)

    @property
    def bead_type(self) -> str:
        """``"<English lines>-<Arabic lines>"``, e.g. ``"2-1"`` (as :attr:`Bead.kind`)."""
        return f"{len(self.en_indices)}-{len(self.ar_indices)}"


@dataclass
class EncodedSide:
    """One side of a document as the alignment sees it: its sentences, the embeddings of
    every run of up to ``config.max_run`` sentences, characters per sentence (as
    encoded) and each sentence's paragraph.

    ``kept``: when some sentences have no letter or digit (see :func:`has_content`), the
    indices of those that do; runs, lengths and paragraphs are then of these only, and
    the others are left unaligned. ``None``: every sentence was encoded."""

    sentences: list[Sentence]
    runs: list[np.ndarray]
    lengths: np.ndarray
    paragraphs: np.ndarray
    kept: np.ndarray | None = None
    # Embeddings of every run of up to ``config.max_run`` consecutive paragraphs (raw text
    # with paragraphs: pooled from the same sentence states), for aligning paragraphs
    # first; ``None`` when the side has one paragraph or one sentence per paragraph.
    paragraph_runs: list[np.ndarray] | None = None
    # Each encoded sentence's anchor keys (``aligner.text.anchors``: names, numbers);
    # ``None``: taken from the sentences when the side is aligned.
    anchors: list[frozenset[str]] | None = None


def side_keys(side: EncodedSide, lang: str) -> list[frozenset[str]]:
    """The anchor keys of each encoded sentence of ``side``."""
    keys = getattr(side, "anchors", None)  # sides pickled before anchors existed have none
    if keys is None:
        used = side.sentences if side.kept is None else [side.sentences[k] for k in side.kept]
        keys = side_anchors([normalize_for_encoding(s.text, lang) for s in used], lang)
    return keys


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
                             " ".join(self.ar_sentences[j].text for j in b.ar), float(b.score), b.moved)
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
    model id or local folder, a ``sentence_transformers.SentenceTransformer`` object, or any
    object with the ``SentenceEncoder`` interface.
    ``engine``: how an embedded encoder computes on CPU, ``"int8"`` (default) or
    ``"fp32"`` (see :func:`aligner.encoders.load_encoder`).
    """

    def __init__(self, encoder: str | SentenceEncoder | SentenceTransformerModel = DEFAULT_ENCODER, *,
                 config: AlignmentConfig | None = None, device: str | None = None,
                 engine: str | None = None, cache_size: int = 20_000):
        self.encoder = (load_encoder(encoder, device=device, engine=engine)
                        if isinstance(encoder, str) or is_sentence_transformer(encoder) else encoder)
        self.config = config or AlignmentConfig()
        # Sentence encodings by text, across the documents of a run: datelines, credits and
        # boilerplate recur, and re-aligning a document should not re-encode it. Bounded
        # (least recently used out); 20,000 entries hold about 72 MB with the default encoder
        # (use+e5: 898 float32 per text; 40 MB with USE alone).
        self._cache: OrderedDict[str, tuple[np.ndarray, int]] = OrderedDict()
        self.cache_size = cache_size
        # Run embeddings computed ahead for the next documents (encode_ahead), by text.
        self._runs_ahead: dict[tuple, list[np.ndarray] | None] = {}
        self._paragraph_runs_ahead: dict[tuple, list[np.ndarray] | None] = {}
        # Run embeddings content pairing computed from these same encodings (its re-scoring
        # alignments), by runs_key, handed over for the pairs it chose (hold_runs) and
        # taken when those documents are aligned: each run goes through the head once.
        self._runs_held: dict[bytes, list] = {}  # key -> [runs, times still to be taken]
        self._runs_held_bytes = 0
        # Two encoders together (use+e5): the first one's states of texts that so far only
        # content pairing needed (it reads that part alone), completed by the second encoder
        # when a document is aligned; a document left unpaired never goes through the second.
        self._first_cache: OrderedDict[str, tuple[np.ndarray, int]] = OrderedDict()
        # Texts sent to the encoder (not taken from the cache), each distinct sentence once
        # unless evicted: ``texts_encoded`` all of the aligner's encoder, ``encoded_by`` per
        # model (the two parts of a combined encoder apart: ``encoded_texts`` in run.json).
        self.texts_encoded = 0
        self.encoded_by: Counter[str] = Counter()

    def clear_cache(self) -> None:
        """Forget cached sentence encodings (e.g. between timed benchmark runs)."""
        self._cache.clear()
        self._first_cache.clear()
        self._runs_ahead.clear()
        self._paragraph_runs_ahead.clear()
        self.drop_held_runs()

    def drop_held_runs(self) -> None:
        """Forget the run embeddings content pairing handed over (:meth:`hold_runs`), e.g.
        when another process aligns the pairs."""
        self._runs_held.clear()
        self._runs_held_bytes = 0

    def encoded_since(self, before: Counter[str]) -> dict[str, int]:
        """Texts each model encoded since ``before`` (a copy of :attr:`encoded_by`)."""
        enc = self.encoder
        names = [enc.first.name, enc.second.name] if hasattr(enc, "part_embeddings") else [self.encoder_name]
        return {name: self.encoded_by[name] - before.get(name, 0) for name in sorted({*names, *self.encoded_by})}

    @property
    def encoder_name(self) -> str:
        return self.encoder.name

    @property
    def settings(self) -> dict[str, Any]:
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
        embedding and 1. Each distinct text is encoded at most once while cached.

        The texts missing from the cache are encoded ``encode_chunk`` at a time straight
        into the result (no second copy of a long document's states), and the cache keeps
        copies of at most ``cache_size`` rows, so it never holds a whole long document's
        states between calls."""
        return self._through_cache(texts, self._cache, lambda part: self._encode_new(part, pooled))

    def _encode_new(self, texts: list[str], pooled: bool) -> tuple[np.ndarray, np.ndarray]:
        self.texts_encoded += len(texts)
        if not pooled:
            self.encoded_by[self.encoder_name] += len(texts)
            return np.asarray(self.encoder.encode(texts)), np.ones(len(texts), np.int64)
        if not hasattr(self.encoder, "part_embeddings"):
            self.encoded_by[self.encoder_name] += len(texts)
            return self.encoder.encode_states(texts)
        # Two encoders: the first one's states that content pairing already made are kept.
        known = [k for k, t in enumerate(texts) if t in self._first_cache]
        fresh = [k for k, t in enumerate(texts) if t not in self._first_cache]
        self.encoded_by[self.encoder.first.name] += len(fresh)
        self.encoded_by[self.encoder.second.name] += len(texts)
        if not known:
            return self.encoder.encode_states(texts)
        first = _stacked([self._first_cache.pop(texts[k]) for k in known])
        parts = [(known, self.encoder.encode_states([texts[k] for k in known], first=first))]
        if fresh:
            parts.append((fresh, self.encoder.encode_states([texts[k] for k in fresh])))
        return _rows_in_order(len(texts), parts)

    def first_part_states(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """With two encoders together (use+e5): per normalised text, the first encoder's
        pooled state and token count, what content pairing reads. Only that encoder runs
        (a text the aligner has encoded whole is taken from it); the second encodes a text
        when its document is aligned (:meth:`encoded_states`), so a document left unpaired
        is never encoded by it."""
        enc = self.encoder

        def encode(new: list[str]) -> tuple[np.ndarray, np.ndarray]:
            whole = [k for k, t in enumerate(new) if t in self._cache]  # encoded whole before
            fresh = [k for k, t in enumerate(new) if t not in self._cache]
            self.encoded_by[enc.first.name] += len(fresh)
            if not whole:
                return enc.first.encode_states(new)
            parts = [(whole, enc.first_part(*_stacked([self._cache[new[k]] for k in whole])))]
            if fresh:
                parts.append((fresh, enc.first.encode_states([new[k] for k in fresh])))
            return _rows_in_order(len(new), parts)

        return self._through_cache(texts, self._first_cache, encode)

    def _through_cache(self, texts: list[str], cache: OrderedDict, encode) -> tuple[np.ndarray, np.ndarray]:
        """``encode(new_texts) -> (rows, counts)`` for the texts ``cache`` lacks, the rest
        from it (see :meth:`_encode_cached`)."""
        first_row: dict[str, int] = {}
        for row, t in enumerate(texts):
            first_row.setdefault(t, row)
        missing = [t for t in first_row if t not in cache]
        out = out_lens = None
        for c0 in range(0, len(missing), self.encode_chunk):
            part = missing[c0:c0 + self.encode_chunk]
            states, lens = encode(part)
            states = np.asarray(states)
            if out is None:
                out = np.empty((len(texts), states.shape[1]), states.dtype)
                out_lens = np.empty(len(texts), np.int64)
            for t, st, ln in zip(part, states, lens):
                out[first_row[t]], out_lens[first_row[t]] = st, ln
            del states
        if not texts:
            dim = 0 if not cache else len(next(iter(cache.values()))[0])
            return np.zeros((0, dim), np.float32), np.zeros(0, np.int64)
        fresh = set(missing)
        for t, row in first_row.items():
            if t not in fresh:
                st, ln = cache[t]
                if out is None:
                    out = np.empty((len(texts), len(st)), st.dtype)
                    out_lens = np.empty(len(texts), np.int64)
                out[row], out_lens[row] = st, ln
        if len(first_row) < len(texts):  # repeated texts: copy their first row
            for row, t in enumerate(texts):
                if first_row[t] != row:
                    out[row], out_lens[row] = out[first_row[t]], out_lens[first_row[t]]
        if self.cache_size > 0:
            # Least recently used out; only the texts that stay need a copy.
            keep = list(dict.fromkeys(reversed(texts)))[:self.cache_size]
            for t in reversed(keep):
                if t in fresh:
                    cache[t] = (out[first_row[t]].copy(), int(out_lens[first_row[t]]))
                else:
                    cache.move_to_end(t)
            while len(cache) > self.cache_size:
                cache.popitem(last=False)
        return out, out_lens

    @property
    def pools_runs(self) -> bool:
        """Does the encoder pool runs from token states (``encode_states`` / ``embed_states``)?"""
        return hasattr(self.encoder, "encode_states") and hasattr(self.encoder, "embed_states")

    def encoded_states(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per normalised text: the encoder's pooled state and token count (an encoder that
        pools runs), or its embedding and 1 (any other); from the aligner's cache, so a
        text encoded for pairing is not encoded again to align it."""
        return self._encode_cached(texts, self.pools_runs)

    def sentence_embeddings(self, texts: list[str]) -> np.ndarray:
        """L2-normalised embeddings of normalised texts, through the cache: the same bits
        as ``encoder.encode(texts)`` (the heads compute each row alone)."""
        states, lens = self.encoded_states(texts)
        if not self.pools_runs:
            return np.asarray(states, np.float32)
        return self.encoder.embed_states(np.ascontiguousarray(states, np.float32), lens)

    def shared_encoder(self, part: int | None = None) -> "CachedEncoder":
        """The aligner's encoder as scoring sees it: texts this aligner encoded (sentences
        aligned one to one, lines left unaligned) are taken from its cache, only the others
        (the joined text of a many-sentence side) are encoded. ``part``: with two encoders
        together (``use+e5``), one of them (0: the first, 1: the second), still through
        the one cache (a new text is encoded by both at once)."""
        return CachedEncoder(self, part)

    # encode_ahead computes the run embeddings of sides up to this many sentences (small
    # documents, where a head call per side is most of the cost); longer ones as they
    # are aligned.
    ahead_max_sentences = 256

    # Texts encoded per encoder call when a document has many new ones (bounds the
    # encoder's own output arrays; results do not depend on it on CPU).
    encode_chunk = 8192

    # Run embeddings of one side are held as plain arrays up to this many bytes (all run
    # lengths together: 128 MB is about 3,700 sentences with the default encoder, 6,500 with
    # USE alone); a longer document's are computed on demand in blocks
    # (aligner.encoders.pooling), so that memory stays bounded on any document length.
    held_run_bytes = 128 << 20

    # Run embeddings held for documents still to be aligned (hold_runs), at most this many
    # bytes in all; beyond it a document's runs are computed again when it is aligned.
    held_runs_budget = 256 << 20

    def runs_key(self, texts: Sequence[str]) -> bytes:
        """A digest naming the run embeddings of one side: ``config.max_run`` and the
        side's normalised texts (the encoded ones, in order)."""
        h = hashlib.blake2b(digest_size=16)
        h.update(str(self.config.max_run).encode())
        for t in texts:
            b = t.encode("utf-8", "surrogatepass")
            h.update(len(b).to_bytes(8, "little"))
            h.update(b)
        return h.digest()

    def hold_runs(self, key: bytes, runs: Sequence[np.ndarray]) -> bool:
        """Keep run embeddings computed elsewhere from this aligner's own encodings (with
        the same pooling and head: the same bits) until the side named ``key``
        (:meth:`runs_key`) is encoded. False (not kept) beyond ``held_runs_budget``."""
        if key in self._runs_held:  # the same texts again (both sides, or two pairs): taken as often
            self._runs_held[key][1] += 1
            return True
        size = sum(r.nbytes for r in runs)
        if self._runs_held_bytes + size > self.held_runs_budget:
            return False
        self._runs_held[key] = [list(runs), 1]
        self._runs_held_bytes += size
        return True

    def _take_held_runs(self, texts: Sequence[str]) -> list[np.ndarray] | None:
        if not self._runs_held:
            return None
        key = self.runs_key(texts)
        entry = self._runs_held.get(key)
        if entry is None:
            return None
        entry[1] -= 1
        if entry[1] == 0:
            del self._runs_held[key]
            self._runs_held_bytes -= sum(r.nbytes for r in entry[0])
        return entry[0]

    def _runs_of_normalized(self, texts: list[str]) -> list[np.ndarray]:
        return self._side_runs(texts)[0]

    def _side_runs(self, texts: list[str], paragraphs: np.ndarray | None = None):
        """The runs of ``texts`` and, when ``paragraphs`` (one index per text) groups them
        into paragraphs worth aligning first, the runs of paragraphs, from the same
        encodings (each text encoded once)."""
        max_run = self.config.max_run
        pooled = self.pools_runs
        if not texts:
            return run_embeddings_by_mean(self.encoder.encode([]), max_run), None
        starts = None
        if paragraphs is not None and len(paragraphs) == len(texts):
            starts = _paragraph_starts_to_align(paragraphs)
        ahead = self._runs_ahead.pop((max_run, *texts), None)
        paragraphs_ahead = None if starts is None else \
            self._paragraph_runs_ahead.pop((max_run, tuple(starts.tolist()), *texts), None)
        if ahead is None and pooled:
            ahead = self._take_held_runs(texts)
        if ahead is not None and (starts is None or paragraphs_ahead is not None):
            return ahead, (None if starts is None else paragraphs_ahead)
        states, lens = self._encode_cached(texts, pooled)  # from the cache when encoded ahead
        if ahead is not None:
            runs = ahead
        elif not pooled:
            runs = run_embeddings_by_mean(states, max_run)
        else:
            # Runs pooled from the sentences' summed token states (float64 cumulative sums),
            # through the encoder's head a block at a time (aligner.encoders.pooling).
            runs = pooled_runs(states, lens, self.encoder.embed_states, max_run, held_bytes=self.held_run_bytes)
        if starts is None:
            return runs, None
        par_states, par_lens = _paragraph_sums(states, lens, starts)
        if not pooled:
            norms = np.linalg.norm(par_states, axis=1, keepdims=True)
            norms[norms == 0] = 1
            return runs, run_embeddings_by_mean(par_states / norms, max_run)
        return runs, pooled_runs(par_states, par_lens, self.encoder.embed_states, max_run,
                                 held_bytes=self.held_run_bytes)

    def align_sentences(self, en: Sequence[str], ar: Sequence[str]) -> DocumentAlignment:
        """Align text already split into sentences (one unit per list item, as given)."""
        en, ar = _sentence_list("en", en), _sentence_list("ar", ar)
        return self._align([Sentence(t, 0, k + 1) for k, t in enumerate(en)],
                           [Sentence(t, 0, k + 1) for k, t in enumerate(ar)])

    def align(self, english: str, arabic: str, *, presplit: bool = False) -> DocumentAlignment:
        """Segment both documents (or take one sentence per line with ``presplit``) and
        align them."""
        en = split_lines(english) if presplit else segment(english, "en")
        ar = split_lines(arabic) if presplit else segment(arabic, "ar")
        return self._align(en, ar)

    def align_segments(self, en: Sequence[Sentence], ar: Sequence[Sentence]) -> DocumentAlignment:
        """Align two documents already segmented (:func:`aligner.segment`)."""
        return self._align(list(en), list(ar))

    def encode_ahead(self, sides: Sequence[tuple[Sequence[Sentence], str]]) -> None:
        """Encode the sentences of several documents (``(sentences, lang)`` per side) in
        one encoder call, into the sentence cache, so that aligning them next encodes
        nothing. An encoder call has a fixed cost (about as much for one short sentence
        as for a hundred): many small documents are much faster encoded together. Texts
        the per-document encode would refuse (a lone surrogate) are left to it."""
        pooled = self.pools_runs
        self._runs_ahead.clear()  # those of documents that then failed
        self._paragraph_runs_ahead.clear()
        kept_sides = [[s for s in sentences if has_content(s.text)] for sentences, lang in sides]
        side_texts = [([normalize_for_encoding(s.text, lang) for s in kept], [s.paragraph for s in kept])
                      for kept, (sentences, lang) in zip(kept_sides, sides)
                      if not any(_SURROGATE.search(s.text) for s in sentences)]
        texts = [t for side, _ in side_texts for t in side]
        if not texts or len(set(texts)) > self.cache_size:
            return
        self._encode_cached(texts, pooled)
        if not pooled:
            return
        # The run embeddings of every side (and of its paragraphs, when they are aligned
        # first) through the encoder's head in one call too (its rows do not depend on the
        # batch), taken by encode() as it aligns them.
        max_run = self.config.max_run
        todo: list[tuple[dict, tuple, tuple[np.ndarray, np.ndarray]]] = []  # (store, key, (states, lens))
        for side, paragraphs in side_texts:
            if not 0 < len(side) <= self.ahead_max_sentences:
                continue
            states, lens = self._encode_cached(side, pooled)
            key = (max_run, *side)
            if key not in self._runs_ahead and (not self._runs_held or self.runs_key(side) not in self._runs_held):
                todo.append((self._runs_ahead, key, (states, lens)))
                self._runs_ahead[key] = None
            starts = _paragraph_starts_to_align(np.array(paragraphs, np.int64)) if self.config.paragraphs_first \
                else None
            paragraph_key = None if starts is None else (max_run, tuple(starts.tolist()), *side)
            if paragraph_key is not None and paragraph_key not in self._paragraph_runs_ahead:
                todo.append((self._paragraph_runs_ahead, paragraph_key, _paragraph_sums(states, lens, starts)))
                self._paragraph_runs_ahead[paragraph_key] = None
        for (store, key, _), runs in zip(todo, runs_in_one_call([t[2] for t in todo], self.encoder.embed_states,
                                                                 max_run)):
            store[key] = runs

    def encode(self, sentences: Sequence[Sentence], lang: str) -> EncodedSide:
        """One side of a document, encoded once: run embeddings, lengths, paragraphs.
        Sentences without a letter or a digit are not encoded (``kept``, see
        :class:`EncodedSide`); a lone surrogate in a text is a :class:`ValueError`."""
        sentences = list(sentences)
        _check_unicode(sentences, lang)
        keep = [k for k, s in enumerate(sentences) if has_content(s.text)]
        kept = None if len(keep) == len(sentences) else np.array(keep, np.int64)
        used = sentences if kept is None else [sentences[k] for k in keep]
        texts = [normalize_for_encoding(s.text, lang) for s in used]
        paragraphs = np.array([s.paragraph for s in used], np.int64)
        runs, paragraph_runs = self._side_runs(texts, paragraphs if self.config.paragraphs_first else None)
        return EncodedSide(sentences, runs,
                           # Lengths in characters as the encoder saw them (no diacritics or marks).
                           np.array([len(t) for t in texts], np.float64), paragraphs, kept, paragraph_runs,
                           side_anchors(texts, lang))

    def align_encoded(self, en: EncodedSide, ar: EncodedSide, config: AlignmentConfig | None = None) -> DocumentAlignment:
        """Align two encoded sides (``config`` overrides the aligner's own settings; it
        may not need longer runs than the aligner encoded)."""
        t0 = time.perf_counter()
        beads = align_runs(**_search_arguments(en, ar, config or self.config))
        return _alignment(en, ar, beads, time.perf_counter() - t0)

    def align_segments_many(self, documents: Sequence[tuple[Sequence[Sentence], Sequence[Sentence]]]
                            ) -> list[DocumentAlignment | Exception]:
        """Align several documents already segmented, each to what :meth:`align_segments`
        gives it, short ones searched together (:func:`aligner.alignment.align_runs_many`:
        they pay each row's array operations once) and shared with forked processes
        (:meth:`align_encoded_many`). A document that cannot be encoded or
        aligned gets its exception in its place; the others are aligned all the same.
        Each document's ``timings["align"]`` is its share (by table cells) of its group's."""
        out: list[DocumentAlignment | Exception] = []
        for group in groups_of_cells(documents, lambda doc: (len(doc[0]), len(doc[1])), ALIGN_TOGETHER_CELLS):
            out += self._align_group(group)
        return out

    def _align_group(self, documents: Sequence[tuple[Sequence[Sentence], Sequence[Sentence]]]
                     ) -> list[DocumentAlignment | Exception]:
        encoded: list[tuple[EncodedSide, EncodedSide, float] | Exception] = []
        for en, ar in documents:
            t0 = time.perf_counter()
            try:
                encoded.append((self.encode(list(en), "en"), self.encode(list(ar), "ar"), time.perf_counter() - t0))
            except Exception as exc:  # noqa: BLE001 - this document fails, not the others
                encoded.append(exc)
        ready = iter(self.align_encoded_many([(en, ar) for en, ar, _ in
                                              (e for e in encoded if not isinstance(e, Exception))]))
        out: list[DocumentAlignment | Exception] = []
        for e in encoded:
            if isinstance(e, Exception):
                out.append(e)
                continue
            doc = next(ready)
            if isinstance(doc, DocumentAlignment):
                doc.timings = {"encode": e[2], "align": doc.timings["align"]}
            out.append(doc)
        return out

    def align_encoded_many(self, documents: Sequence[tuple[EncodedSide, EncodedSide]],
                           config: AlignmentConfig | None = None, processes: int | None = None
                           ) -> list[DocumentAlignment | Exception]:
        """:meth:`align_encoded` of several documents, searched together
        (:func:`aligner.alignment.align_runs_many`) and shared with forked processes
        (:func:`align_runs_shared`, ``processes`` at most; default one per CPU core this
        process may keep busy); a document whose search fails gets its exception in its place
        (the others are then searched alone). Each document's ``timings["align"]`` is its
        share (by table cells) of the whole."""
        config = config or self.config
        t0 = time.perf_counter()
        try:
            found: list[list[Bead] | Exception] = list(align_runs_shared(
                [_search_arguments(en, ar, config) for en, ar in documents], processes))
        except Exception:  # noqa: BLE001 - one document's error: each searched alone, only it fails
            found = []
            for en, ar in documents:
                try:
                    found.append(align_runs(**_search_arguments(en, ar, config)))
                except Exception as exc:  # noqa: BLE001
                    found.append(exc)
        seconds = time.perf_counter() - t0
        sizes = [(len(en.sentences) + 1) * (len(ar.sentences) + 1) for en, ar in documents]  # table cells
        return [beads if isinstance(beads, Exception) else _alignment(en, ar, beads, seconds * size / sum(sizes))
                for (en, ar), beads, size in zip(documents, found, sizes)]

    def _align(self, en: list[Sentence], ar: list[Sentence]) -> DocumentAlignment:
        t0 = time.perf_counter()
        en_side, ar_side = self.encode(en, "en"), self.encode(ar, "ar")
        t1 = time.perf_counter()
        doc = self.align_encoded(en_side, ar_side)
        doc.timings = {"encode": t1 - t0, "align": doc.timings["align"]}
        return doc


ALIGN_JOBS_PER_PROCESS = 16
ALIGN_CELLS_PER_PROCESS = 20_000
"""Alignments, and table cells, that a forked process takes at least
(:func:`align_runs_shared`): a fork and the pages it then copies cost 20-50 ms in a process
holding an encoder, about what 16 short searches or 20,000 cells take (64 one-line
documents stay in one process)."""

_RUN_ARGUMENTS = ("en_runs", "ar_runs", "en_paragraph_runs", "ar_paragraph_runs")


def align_runs_shared(jobs: Sequence[dict], processes: int | None = None) -> list[list[Bead]]:
    """``align_runs_many(jobs)`` shared between this process and forked ones
    (:func:`aligner.io.processes.forked_map`; ``processes``: at most, default
    :func:`~aligner.io.processes.cpu_budget`), each taking every p-th job so that long and short
    documents are spread; the same beads however many processes. Only jobs whose runs
    are all computed go to a child: runs computed on demand would run the encoder's head
    (torch) there."""
    processes = cpu_budget() if processes is None else processes
    ready = [k for k, job in enumerate(jobs)
             if all(isinstance(r, np.ndarray) for key in _RUN_ARGUMENTS for r in (job.get(key) or ()))]
    cells = sum((len(jobs[k]["en_runs"][0]) + 1) * (len(jobs[k]["ar_runs"][0]) + 1) for k in ready)
    p = max(1, min(processes, len(ready) // ALIGN_JOBS_PER_PROCESS, cells // ALIGN_CELLS_PER_PROCESS))
    out: list = [None] * len(jobs)
    if p > 1:
        shares = [[jobs[k] for k in ready[s::p]] for s in range(p)]
        for s, beads in enumerate(forked_map(align_runs_many, shares, p)):
            for k, b in zip(ready[s::p], beads):
                out[k] = b
    rest = [k for k, b in enumerate(out) if b is None]
    for k, b in zip(rest, align_runs_many(jobs[k] for k in rest)):
        out[k] = b
    return out


ALIGN_TOGETHER_CELLS = 250_000
"""Table cells (sentence pairs) of the documents :meth:`Aligner.align_segments_many`
searches together at most: their tables and bead values are all held meanwhile (as much
as one document at ``AlignmentConfig.max_full_cells``)."""


def _search_arguments(en: EncodedSide, ar: EncodedSide, config: AlignmentConfig) -> dict:
    """:func:`aligner.alignment.align_runs`' arguments for two encoded sides."""
    en_anchors, ar_anchors = shared_anchor_ids(side_keys(en, "en"), side_keys(ar, "ar"))
    return dict(en_runs=en.runs, ar_runs=ar.runs, config=config, en_lengths=en.lengths, ar_lengths=ar.lengths,
                en_paragraphs=en.paragraphs, ar_paragraphs=ar.paragraphs, en_paragraph_runs=en.paragraph_runs,
                ar_paragraph_runs=ar.paragraph_runs, en_anchors=en_anchors, ar_anchors=ar_anchors)


def _alignment(en: EncodedSide, ar: EncodedSide, beads: list[Bead], seconds: float) -> DocumentAlignment:
    """The document's alignment from its search's beads (sentences never encoded put back)."""
    if en.kept is not None or ar.kept is not None:
        beads = _with_unencoded_sentences(beads, en, ar)
    return DocumentAlignment(en.sentences, ar.sentences, beads, {"align": seconds})


class CachedEncoder:
    """A sentence encoder that answers from an :class:`Aligner`'s cache (see
    :meth:`Aligner.shared_encoder`); ``name`` and ``settings`` are the encoder's."""

    def __init__(self, aligner: Aligner, part: int | None = None):
        self.aligner, self.part = aligner, part
        self.encoder = aligner.encoder if part is None else (aligner.encoder.first, aligner.encoder.second)[part]
        self.name = self.encoder.name
        self.engine = getattr(self.encoder, "engine", None)

    @property
    def settings(self) -> dict:
        return dict(getattr(self.encoder, "settings", {}) or {})

    def encode(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        if self.part is None:
            return self.aligner.sentence_embeddings(list(texts))
        states, _lens = self.aligner.encoded_states(list(texts))
        return self.aligner.encoder.part_embeddings(states, self.part)


def _stacked(entries: Sequence[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Cache entries ``(state, count)`` as one array of states and one of counts."""
    return np.stack([s for s, _ in entries]), np.array([n for _, n in entries], np.int64)


def _rows_in_order(n: int, parts) -> tuple[np.ndarray, np.ndarray]:
    """States and counts of ``n`` texts from ``(row indices, (states, counts))`` parts."""
    states = np.empty((n, np.asarray(parts[0][1][0]).shape[1]), np.float32)
    lens = np.empty(n, np.int64)
    for rows, (s, c) in parts:
        states[rows], lens[rows] = s, c
    return states, lens


def _paragraph_starts_to_align(paragraphs: np.ndarray) -> np.ndarray | None:
    """The first sentence of each paragraph, when the side's paragraphs are worth aligning
    first: 2 or more, not one sentence each."""
    starts = paragraph_starts(paragraphs)
    return starts if 1 < len(starts) < len(paragraphs) else None


def _paragraph_sums(states: np.ndarray, lens: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A paragraph's state is the sum of its sentences' states, as a run's is (float32:
    no second document-sized copy in float64); its token count theirs."""
    return (np.add.reduceat(np.asarray(states, np.float32), starts, axis=0),
            np.add.reduceat(np.asarray(lens, np.int64), starts))


def has_content(text: str) -> bool:
    """Does the text hold a letter or a digit? Lines of punctuation, symbols or emoji only
    (``---``, ``***``, ``===``, ``...``, ``😀``) and empty strings carry nothing to align,
    and two of them would match each other at similarity 1.0: they are left unaligned."""
    return any(ch.isalnum() for ch in text)


def _sentence_list(name: str, sentences) -> list[str]:
    """``align_sentences`` takes lists of sentences: a plain string would be aligned
    character by character."""
    if isinstance(sentences, (str, bytes)):
        raise TypeError(f"align_sentences(): {name} must be a list of sentences (str), got a "
                        f"{type(sentences).__name__}; use align() for running text, or [text] for one sentence")
    sentences = list(sentences)  # any iterable, read once
    for k, text in enumerate(sentences):
        if not isinstance(text, str):
            raise TypeError(f"align_sentences(): {name}[{k}] must be a str, got {type(text).__name__}")
    return sentences


_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_unicode(sentences: Sequence[Sentence], lang: str) -> None:
    """A lone surrogate (half of a UTF-16 pair, left by a bad decode) is not text: the
    encoder's tokenizer would fail on it with a message that does not say so."""
    for k, s in enumerate(sentences):
        bad = _SURROGATE.search(s.text)
        if bad:
            side = "English" if lang == "en" else "Arabic"
            raise ValueError(f"{side} sentence {k + 1} (line {s.line}) holds a lone surrogate "
                             f"U+{ord(bad.group()):04X} at character {bad.start() + 1}: not valid Unicode text "
                             f"(half of a UTF-16 pair, from a bad decode?); fix the text, or decode it with "
                             f"errors='replace'")


def _with_unencoded_sentences(beads: list[Bead], en: EncodedSide, ar: EncodedSide) -> list[Bead]:
    """Beads over the encoded sentences (``kept``) mapped back to all the sentences, each
    sentence that was not encoded a null bead in its place. A bead spanning such a sentence
    is cut there (a bead holds consecutive sentences): on each side its longest piece (the
    first on a tie) keeps the pairing, rescored, and the rest is left unaligned."""
    maps = [np.arange(len(s.sentences)) if s.kept is None else s.kept for s in (en, ar)]
    out: list[Bead] = []
    nxt = [0, 0]  # per side, the first sentence not yet in a bead
    # A moved bead stands at its English place, off the Arabic order the walk follows.
    moved_ar = {int(maps[1][j]) for b in beads if b.moved for j in _longest_piece(maps[1], b.ar)}

    def unaligned_until(side: int, stop: int) -> None:
        for k in range(nxt[side], stop):
            if side == 0:
                out.append(Bead((k,), ()))
            elif k not in moved_ar:
                out.append(Bead((), (k,)))
        nxt[side] = max(nxt[side], stop)

    for b in beads:
        pieces = [_longest_piece(maps[0], b.en), _longest_piece(maps[1], b.ar)]
        for side, piece in enumerate(pieces):
            if piece and (side == 0 or not b.moved):
                unaligned_until(side, int(maps[side][piece[0]]))
        if b.is_null:
            side = 0 if b.en else 1
            unaligned_until(side, int(maps[side][pieces[side][0]]) + 1)
            continue
        se, sa = pieces
        score = b.score
        if (len(se), len(sa)) != (len(b.en), len(b.ar)):
            score = round(float(en.runs[len(se) - 1][se[0]] @ ar.runs[len(sa) - 1][sa[0]]), 6)
        out.append(Bead(tuple(int(maps[0][i]) for i in se), tuple(int(maps[1][j]) for j in sa), score, b.moved))
        nxt[0] = int(maps[0][se[-1]]) + 1
        if not b.moved:
            nxt[1] = int(maps[1][sa[-1]]) + 1
    unaligned_until(0, len(en.sentences))
    unaligned_until(1, len(ar.sentences))
    return out


def _longest_piece(index: np.ndarray, run: tuple[int, ...]) -> list[int]:
    """The longest stretch of ``run`` (encoded-sentence numbers) that is consecutive among
    all the sentences (``index`` maps one to the other); the first on a tie."""
    pieces: list[list[int]] = []
    for i in run:
        if pieces and index[i] == index[pieces[-1][-1]] + 1:
            pieces[-1].append(i)
        else:
            pieces.append([i])
    return max(pieces, key=len) if pieces else []


_DEFAULT_ALIGNERS: dict[str, Aligner] = {}


def align(english: str, arabic: str, *, encoder: str = DEFAULT_ENCODER, presplit: bool = False) -> DocumentAlignment:
    """Align an English text with its Arabic source using a shared ``Aligner``."""
    if encoder not in _DEFAULT_ALIGNERS:
        _DEFAULT_ALIGNERS[encoder] = Aligner(encoder)
    return _DEFAULT_ALIGNERS[encoder].align(english, arabic, presplit=presplit)
