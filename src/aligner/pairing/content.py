"""Pairing documents by content: which Arabic document(s) is an English report made from?

:func:`pair_by_content` takes English and Arabic documents (paths) and finds the pairs in
four steps, none of which aligns all N x M document pairs:

1. **Embed every document once.** Each document is read, segmented and encoded once; what
   the sentence aligner needs later (token-pooled states of the embedded encoder, or the
   sentence embeddings of any other encoder) is kept, with the sentences' lengths, so
   re-scoring a candidate never encodes text again: in float32 for a collection's first
   ``Aligner.cache_size`` sentences (20,000), in float16 beyond (half the memory on a large
   archive). The run embeddings re-scoring computes from float32 encodings are the
   aligner's own, bit for bit: those of the pairs chosen are handed to it
   (``Aligner.hold_runs``), so aligning them computes no run again.
2. **Document vectors with sentence order** (after Thompson & Koehn 2020, "Exploiting
   sentence order in document alignment"; this is our own variant). A document vector is
   the concatenation of ``1 + windows`` weighted sums of its sentence embeddings: one over
   the whole document and one per positional window. Window ``j`` of ``J`` weights a
   sentence at relative position ``p`` (0..1) with a Hann bump ``cos²((p - c_j)·J·π/2)``
   centred on ``c_j = (j + ½)/J`` and zero beyond ``±1/J``, so neighbouring windows
   overlap and every sentence counts in one or two of them. Two documents that say the
   same things in the same order then agree window by window, while documents that only
   share a topic agree on the global part alone. Sentences are weighted by their length
   and down-weighted when they recur in many documents of the same side (boilerplate:
   ``log((N+1)/df) / log(N+1)``). Every part is L2-normalised, the side's mean is
   subtracted (shrunk by ``n/(n + center_shrink)`` so that a handful of documents is not
   centred away) and the parts are weighted ``½`` global, ``½`` shared by the windows.
3. **Candidates by nearest neighbours in blocks.** ``X @ Yᵀ`` is computed ``block`` rows at
   a time, keeping each English document's ``retrieve_k`` most similar Arabic documents
   and each Arabic document's ``retrieve_k`` most similar English ones (a running top-k
   per column). Those cosines are re-ranked by CSLS (``2·cos − r_en − r_ar``, ``r`` the
   mean of a document's ``csls_k`` best cosines), which removes hubs, and the ``top_k``
   best of each document in each direction become candidate pairs (their union).
4. **Re-scoring by sentence alignment.** Each candidate pair is aligned with the sentence
   aligner (:func:`aligner.alignment.align_runs`, the aligner's own settings). Its
   *alignment score* ``R`` is the share of each document's lines that lie in aligned
   beads, averaged over both sides, each line weighted by its bead's cosine on a ramp
   (``0`` at ``bead_low``, ``1`` at ``bead_high``): unrelated text that the aligner pairs
   anyway gets low cosines and adds little. The pair's score is ``R + s`` (``s`` its CSLS
   document similarity), less ``runner_up_weight`` times the mean of the best competing
   score of each of its two documents (clamped at 0): a pair must beat the alternatives
   of both of its documents, as a margin (Artetxe & Schwenk 2019) does for sentences.

**Assignment.** Greedy one-to-one over the candidate pairs, best score first, keeping a
pair when both documents are still free, its score is at least the threshold and its
``R`` at least ``min_alignment``. The threshold is calibrated on the collection being
paired (``calibrate_threshold``, issue 14): :func:`otsu_threshold` splits the re-scored
candidates' scores into the two groups they form (true partners above, the bulk of wrong
candidates below) and takes the middle of the gap, never below ``threshold_floor`` (0: a
pair must at least beat ``runner_up_weight`` times its competitors); with fewer than
``calibrate_min_candidates`` candidates the fixed ``threshold`` (0.22, chosen on dev)
applies. Leave-one-source-out on dev (``eval_pairing.py --loo-sources``): the fixed
threshold chosen on two sources left 84.6% of the third's distractors unpaired; the
calibrated one held F1 1.000 and 100% on every held-out source. The threshold applied is
recorded with the settings (``threshold_used``, ``threshold_from``). Greedy (competitive linking) rather than the Hungarian
method: the graph is sparse (a few candidates per document), the scores of true pairs
stand well above their competitors once the margin is taken, and greedy is
deterministic, linear after the sort, needs no scipy, and cannot trade a confident pair
for two doubtful ones. Documents left over stay unpaired, each reported with its best
candidate and that candidate's score.

**Several sources** (``max_sources > 1``). An English document may then take further
Arabic documents among its candidates that are still free, best gain first, when the new
source aligns English lines that its earlier sources left unaligned: the gain (the ramp
weights of those lines beyond what earlier sources gave them, as a share of the English
lines) must reach ``extra_min_gain``, the new source must itself be covered (``R``'s
Arabic half) at least ``extra_min_coverage``, and it must fit this report better than
any other: its ``R + s`` less ``runner_up_weight`` times the best ``R + s`` of another
English candidate of the same Arabic document must reach ``extra_min_margin`` (the
English side's competitors are left out: there the report's other sources compete, by
design). To find the source of one part of
a report, each English document's two halves are searched as queries too (their
candidates join the re-scored ones). Then a *residual round* (``residual_sources``,
:func:`_residual_sources`) pairs what each report's sources leave unexplained as a
document of its own, which finds a second source that is a weak candidate of the whole
report (``--merge-check 20`` on dev: 11 -> 15 of 20 reports with both sources, none
wrong). Each source is then aligned with the whole report on its own (one ``doc_id`` per
source).

The remaining constants were chosen on the dev set (``benchmarks/eval_pairing.py``);
``bead_low`` and ``bead_high`` are on the cosine scale of the default encoder (USE
multilingual v3) on that set (the leave-one-source-out choice of the ramp on dev moved it
by at most 0.05). The collection's own scale is measured (:func:`cosine_scale`: the median
and spread of unrelated sentence pairs' cosines, a few sentences of every document), and
where its median is far from that reference (``ramp_tolerance``: an encoder whose
similarities sit elsewhere, such as e5's at 0.85 +- 0.03) the ramp is moved onto it
(:func:`calibrated_ramp`); the ramp applied is recorded with the settings.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import Counter, OrderedDict, defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from aligner.encoders.base import l2_normalize
from aligner.io.progress import bar
from aligner.encoders.pooling import pooled_runs, runs_in_one_call
from aligner.alignment import AlignmentConfig, Bead, align_runs, center_runs, run_embeddings_by_mean
from aligner.documents import align_runs_shared
from aligner.text.normalization import normalize_for_encoding
from aligner.text.segmentation import segment, split_lines


# cosine_scale of the dev document task with USE (benchmarks/eval_pairing.py), where
# bead_low and bead_high were chosen: (median, spread) of unrelated sentence pairs.
RAMP_REFERENCE = (0.186, 0.161)


@dataclass(frozen=True)
class ContentPairingConfig:
    """Settings of content pairing (recorded with every result). Defaults chosen on the
    dev set, see the module docstring and ``benchmarks/eval_pairing.py``."""

    windows: int = 3               # positional windows J in a document vector (0: plain mean)
    window_share: float = 0.5      # share of the windows (together) in the vector similarity
    center_shrink: float = 8.0     # mean subtracted with weight n / (n + center_shrink)
    boilerplate: bool = True       # down-weight sentences found in many documents of a side
    retrieve_k: int = 12           # cosine neighbours kept per document in the blocked search
    csls_k: int = 4                # neighbours in the CSLS hubness correction
    top_k: int = 3                 # candidates re-scored per document, in each direction
    block: int = 1024              # rows per block of the similarity product
    bead_low: float = 0.3          # bead cosine that counts for nothing ...
    bead_high: float = 0.6         # ... and for a whole line (linear in between)
    # The ramp above is on the scale of the collection it was chosen on (USE on the dev
    # document task): there, unrelated sentence pairs' cosines have median
    # ramp_reference_median and spread ramp_reference_spread (cosine_scale). With
    # calibrate_ramp the collection's own scale is measured the same way, and where its
    # median is more than ramp_tolerance reference spreads away the ramp is moved onto it:
    # an encoder whose similarities sit elsewhere (e5's unrelated pairs: 0.85 +- 0.03, 4
    # spreads away) then gets a ramp where its related and unrelated pairs are. Nearer, the
    # ramp stays as chosen: how alike a collection's documents are moves the scale too (the
    # dev sources alone sit 0.1-0.3 spreads above the reference, news reports on unrelated
    # events 0.9 below with half the spread), and following that cost nasai held out F1
    # 1.000 -> .955 and paired two unrelated news reports (docs/pairing.md).
    calibrate_ramp: bool = True
    ramp_reference_median: float = RAMP_REFERENCE[0]
    ramp_reference_spread: float = RAMP_REFERENCE[1]
    ramp_tolerance: float = 2.0
    runner_up_weight: float = 0.5  # weight of the competitors' mean best score
    threshold: float = 0.22        # a pair needs at least this score (fixed; or see calibrate_threshold) ...
    calibrate_threshold: bool = True   # threshold from the collection's own candidate scores (otsu_threshold)
    threshold_floor: float = 0.0   # calibrated threshold never below: a pair must beat w x its competitors
    calibrate_min_candidates: int = 8  # fewer scored candidates: no distribution to fit, the fixed threshold
    min_alignment: float = 0.25    # ... and at least this alignment score R
    extra_min_gain: float = 0.2    # further sources: new English lines aligned (share)
    extra_min_coverage: float = 0.4  # further sources: their own lines aligned (share)
    extra_min_margin: float = 0.1  # further sources: fit this report better than any other one
    runs_cache: int = 512          # documents whose run embeddings are kept between pairs
    residual_sources: bool = True  # further sources also paired with what earlier ones leave unexplained
    # The re-scoring alignment's AlignmentConfig.length_size_power, threshold and
    # merge_penalty_power (its other settings are the aligner's): the bead ramp, margins
    # and threshold above were calibrated on alignments made with these. With the
    # aligner's length_size_power 1.0 the dev task loses two true pairs (F1 .985 -> .974,
    # merge-check 11 -> 10 of 20); with its threshold -1.45 and merge_penalty_power 0.5
    # too, F1 .985 -> .969 (session 9).
    rescore_length_size_power: float = 0.0
    rescore_threshold: float = -1.6
    rescore_merge_penalty_power: float = 1.0

    def __post_init__(self) -> None:
        if self.windows < 0 or self.top_k < 1 or self.csls_k < 1 or self.block < 1:
            raise ValueError("windows must be >= 0, top_k, csls_k and block >= 1")
        if self.retrieve_k < max(self.top_k, self.csls_k):
            raise ValueError("retrieve_k must be at least top_k and csls_k")
        if not self.bead_high > self.bead_low:
            raise ValueError("bead_high must be above bead_low")
        if not self.ramp_reference_spread > 0 or not self.ramp_tolerance > 1:
            raise ValueError("ramp_reference_spread must be above 0 and ramp_tolerance above 1")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ContentPair:
    """One pair found by content: ``score`` is the decision score (see the module
    docstring), ``alignment`` the alignment score ``R``, ``similarity`` the CSLS
    document-vector similarity, ``rank`` 0 for an English document's first source, 1, 2,
    ... for further sources."""

    en_path: Path
    ar_path: Path
    score: float
    alignment: float
    similarity: float
    rank: int = 0


@dataclass
class ContentPairing:
    """Pairs found by content, the documents left unpaired with their best candidate
    (``(path, score)``, or ``None`` without any candidate), and messages about documents
    that could not be used (unreadable, no sentences)."""

    pairs: list[ContentPair] = field(default_factory=list)
    unpaired_en: list[Path] = field(default_factory=list)
    unpaired_ar: list[Path] = field(default_factory=list)
    best_candidates: dict[Path, tuple[Path, float] | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    candidates: list[ContentPair] = field(default_factory=list)
    """Every candidate pair that was re-scored, best score first (unrounded)."""


# ----------------------------------------------------------------------------- embedding


class DocumentEmbedder:
    """Encodes documents once and gives back what the pairing needs.

    With an encoder that pools runs from token states (the embedded default), the
    sentences' pooled states are kept, so that run embeddings for re-scoring are exactly
    those :class:`~aligner.Aligner` uses; with any other encoder the sentence embeddings
    are kept and runs are their normalised means. Stored as float32 for the first
    ``exact_rows`` sentences (the aligner's cache size), float16 beyond."""

    def __init__(self, aligner):
        self.aligner = aligner
        enc = aligner.encoder
        self.stateful = hasattr(enc, "encode_states") and hasattr(enc, "embed_states")
        self.max_run = aligner.config.max_run
        self.embed_states = enc.embed_states if self.stateful else None
        self.encode_states = aligner.encoded_states
        # Runs pooled from float32 states are exactly those the aligner pools for the same
        # texts (hands_runs): they can be handed over for the pairs chosen.
        self.hands_runs = self.stateful
        self.exact_rows = aligner.cache_size
        self._stored_rows = 0
        if hasattr(enc, "part_embeddings"):
            # Two encoders aligning together (use+e5): pairing reads the first one's states
            # alone, and only the documents it pairs are encoded by the second (when they
            # are aligned). Its constants (bead ramp, coverage floors) are on that
            # encoder's scale; on the combination's the dev task fell from F1 .985 with
            # 40/40 distractors unpaired to .965 with 37/40 (benchmarks/eval_pairing.py).
            self.encode_states = aligner.first_part_states
            self.embed_states = enc.first.embed_states
            self.hands_runs = False

    def encode_many(self, docs: Sequence[list[str]]) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """``(stored, token_counts)`` per document (lists of normalised sentences), through
        the aligner's cache: each distinct sentence encoded once, for pairing and then for
        aligning the pairs found."""
        texts = [t for doc in docs for t in doc]
        states, lens = self.encode_states(texts)
        states, tok = np.asarray(states, np.float32), (np.asarray(lens) if self.stateful else None)
        out, start = [], 0
        for doc in docs:
            stop = start + len(doc)
            self._stored_rows += len(doc)
            stored = states[start:stop]
            if self._stored_rows > self.exact_rows:
                stored = stored.astype(np.float16)
            out.append((stored, None if tok is None else tok[start:stop]))
            start = stop
        return out

    def sentences(self, stored: np.ndarray, tok: np.ndarray | None) -> np.ndarray:
        """L2-normalised float32 sentence embeddings."""
        if self.stateful:
            return self.embed_states(stored.astype(np.float32), tok)
        return l2_normalize(stored.astype(np.float32))

    def runs_many(self, docs: Sequence["_Doc"]) -> list[list[np.ndarray]]:
        """:meth:`runs` of several documents; those of up to ``batch_sentences`` sentences
        through the encoder's head in one call (the same bits)."""
        short = [d for d in docs if self.stateful and 0 < len(d.stored) <= self.batch_sentences]
        together = runs_in_one_call([(d.stored, d.tok) for d in short], self.embed_states, self.max_run)
        out = {id(d): runs for d, runs in zip(short, together)}
        return [out[id(d)] if id(d) in out else self.runs(d.stored, d.tok) for d in docs]

    # runs_many: documents up to this many sentences share head calls (as
    # Aligner.encode_ahead's); a longer one is pooled alone.
    batch_sentences = 256

    def runs(self, stored: np.ndarray, tok: np.ndarray | None) -> list[np.ndarray]:
        """Embeddings of every run of up to ``config.max_run`` sentences (index 0 =
        sentences), pooled as :class:`aligner.Aligner` pools them (from the stored states)."""
        if not self.stateful:
            return run_embeddings_by_mean(self.sentences(stored, tok), self.max_run)
        return pooled_runs(stored.astype(np.float32), tok, self.embed_states, self.max_run,
                           held_bytes=self.aligner.held_run_bytes)


@dataclass
class _Doc:
    path: Path
    lengths: np.ndarray          # characters per sentence, as the encoder saw them
    stored: np.ndarray           # states or sentence embeddings, float32 (or float16 beyond exact_rows)
    tok: np.ndarray | None       # token counts per sentence (stateful encoders)
    weights: np.ndarray | None = None  # per sentence: length x boilerplate weight (document vectors)
    runs_key: bytes | None = None      # Aligner.runs_key of its sentences when its runs are the aligner's


class PairingCache:
    """What content pairing computes per document and per candidate pair, kept between
    runs on (subsets of) the same documents with the same aligner: each document's
    normalised sentences, stored encodings and sentence embeddings, and each aligned
    pair's beads. With it, a further run encodes and aligns only what it has not seen;
    the settings of :class:`ContentPairingConfig` (vectors, candidates, bead ramp,
    margins, thresholds) are all applied afresh. ``key`` names the aligner (encoder and
    alignment settings) the entries belong to; a cache is only valid for that aligner.
    Picklable (``benchmarks/eval_pairing.py --cache``)."""

    def __init__(self, key: str = ""):
        self.key = key
        self.docs: dict[tuple[str, str, bool], tuple[list[str], np.ndarray, np.ndarray | None, np.ndarray]] = {}
        self.beads: dict[tuple[str, str, bool, AlignmentConfig], list[Bead]] = {}

    @staticmethod
    def aligner_key(aligner) -> str:
        import json

        # "states": what a document's stored encodings are; with two encoders together
        # only the first one's (since session 14), so a cache of both parts is not taken.
        states = "first part" if hasattr(aligner.encoder, "part_embeddings") else "whole"
        return json.dumps({"encoder": aligner.encoder_name, "alignment": aligner.config.to_dict(), "states": states},
                          sort_keys=True, default=str)


def _read_sentences(path: Path, lang: str, presplit: bool) -> list[str]:
    from aligner.io.inputs import read_document  # corpus imports pairing: import here

    text = read_document(path)
    sentences = split_lines(text) if presplit else segment(text, lang)
    return [normalize_for_encoding(s.text, lang) for s in sentences]


def _hann(positions: np.ndarray, j: int, windows: int) -> np.ndarray:
    centre = (j + 0.5) / windows
    x = np.clip((positions - centre) * windows * (np.pi / 2), -np.pi / 2, np.pi / 2)
    return np.cos(x) ** 2


def document_vector(sentences: np.ndarray, weights: np.ndarray, windows: int) -> np.ndarray:
    """``(1 + windows, d)``: the weighted sum of the sentence embeddings over the whole
    document, then one per positional Hann window, each L2-normalised (a window that no
    sentence falls in, in a very short document, repeats the whole-document part)."""
    n = len(sentences)
    pos = (np.arange(n) + 0.5) / max(n, 1)
    parts = [weights]
    parts += [weights * _hann(pos, j, windows) for j in range(windows)]
    out = np.stack([w @ sentences for w in parts]).astype(np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    out = out / np.maximum(norms, 1e-12)
    out[1:][norms[1:, 0] < 1e-9 * max(float(norms[0, 0]), 1e-12)] = out[0]
    return out


class _Side:
    """The documents of one language: stored encodings and document vectors."""

    def __init__(self, lang: str):
        self.lang = lang
        self.docs: list[_Doc] = []
        self.vectors: np.ndarray | None = None
        self.half_vectors: np.ndarray | None = None
        self.half_owner: list[int] = []
        self.center: np.ndarray | None = None   # the side's (shrunk) mean parts, (1 + J, d)
        self.sample: list[np.ndarray] = []      # a few sentence embeddings per document (cosine_scale)


def _embed_side(paths: Sequence[Path], lang: str, embedder: DocumentEmbedder, config: ContentPairingConfig,
                presplit: bool, problems: list[str], progress: Callable[[Iterable, str, int], Iterable],
                batch_sentences: int = 4096, halves: bool = False, cache: PairingCache | None = None,
                read: Callable[[Path, str], list[str]] | None = None) -> _Side:
    """Read, segment and encode the documents of one side; with ``halves``, also give
    each document of 4 sentences or more two half-document vectors (first and second
    half), to find a further source that only one part of a report comes from."""
    read = read or (lambda path, lang: _read_sentences(path, lang, presplit))
    side = _Side(lang)
    # Pass 1: sentence document frequencies (boilerplate weights). Reading twice keeps
    # memory flat: no text is held between the passes.
    df: Counter[int] = Counter()
    readable: list[Path] = []
    for path in paths:
        cached = cache.docs.get((lang, str(path), presplit)) if cache is not None else None
        try:
            sentences = cached[0] if cached is not None else read(path, lang)
        except Exception as exc:  # noqa: BLE001 - any unreadable document is reported, not fatal
            problems.append(f"{exc}; not paired by content" if str(exc).startswith(str(path))
                            else f"{path}: {type(exc).__name__}: {exc}; not paired by content")
            continue
        if not sentences:
            problems.append(f"{path}: no sentences found; not paired by content")
            continue
        readable.append(path)
        if config.boilerplate:
            df.update({hash(s) for s in sentences})
    n_docs = len(readable)
    log_n = math.log(n_docs + 1)

    vectors: np.ndarray | None = None  # (documents, 1 + J, d), filled as they are encoded
    # Sentences kept for measuring the side's cosine scale: evenly spaced in each document,
    # about SCALE_SAMPLE in all (every stride-th document beyond that many documents).
    per_doc = max(1, min(32, SCALE_SAMPLE // max(n_docs, 1)))
    stride = max(1, -(-n_docs // SCALE_SAMPLE))
    half_vectors: list[np.ndarray] = []
    batch: list[tuple[Path, list[str]]] = []

    def flush():
        nonlocal vectors
        keys = [(lang, str(path), presplit) for path, _ in batch]
        todo = [k for k, key in enumerate(keys) if cache is None or key not in cache.docs]
        fresh = dict(zip(todo, embedder.encode_many([batch[k][1] for k in todo])))
        for k, (path, sentences) in enumerate(batch):
            if k in fresh:
                stored, tok = fresh[k]
                sent = embedder.sentences(stored, tok)
                if cache is not None:
                    cache.docs[keys[k]] = (sentences, stored, tok, sent)
            else:
                _, stored, tok, sent = cache.docs[keys[k]]
            lengths = np.array([len(s) for s in sentences], np.float32)
            weights = lengths.astype(np.float64)
            if config.boilerplate and n_docs > 1:
                idf = np.array([math.log((n_docs + 1) / df[hash(s)]) / log_n for s in sentences])
                weights = weights * np.maximum(idf, 1e-3)
            if vectors is None:
                vectors = np.empty((len(readable), 1 + config.windows, sent.shape[1]), np.float32)
            if len(side.docs) % stride == 0:
                side.sample.append(sent[np.unique(np.linspace(0, len(sent) - 1, min(per_doc, len(sent))).round().astype(int))])
            vectors[len(side.docs)] = document_vector(sent, weights, config.windows)
            if halves and len(sent) >= 4:
                mid = len(sent) // 2
                for a, b in ((0, mid), (mid, len(sent))):
                    half_vectors.append(document_vector(sent[a:b], weights[a:b], config.windows))
                    side.half_owner.append(len(side.docs))
            runs_key = embedder.aligner.runs_key(sentences) \
                if embedder.hands_runs and stored.dtype == np.float32 else None
            side.docs.append(_Doc(path, lengths, stored, tok, weights, runs_key))
        batch.clear()

    pending = 0
    for path in progress(readable, f"Embedding {lang}", len(readable)):
        cached = cache.docs.get((lang, str(path), presplit)) if cache is not None else None
        sentences = cached[0] if cached is not None else read(path, lang)
        batch.append((path, sentences))
        pending += len(sentences)
        if pending >= batch_sentences:
            flush()
            pending = 0
    flush()
    if side.docs and vectors is not None:
        kept = vectors[:len(side.docs)]
        side.center = _side_center(kept, config)
        side.vectors = _center_and_weight(kept, config, side.center)
    if half_vectors:
        side.half_vectors = _center_and_weight(np.stack(half_vectors), config)
    return side


SCALE_SAMPLE = 1024  # sentences per side kept for cosine_scale


def cosine_scale(en: np.ndarray, ar: np.ndarray, min_pairs: int = 64) -> tuple[float, float] | None:
    """The median and spread of unrelated sentence pairs' cosines: every pair of the two
    samples (L2-normalised rows) but each sentence's best match on either side, so that
    translations among them do not count; the spread is (q90 - q10) / 2.563 (a normal
    distribution's standard deviation). None with fewer than ``min_pairs`` pairs."""
    if len(en) == 0 or len(ar) == 0:
        return None
    sims = en @ ar.T
    unrelated = np.ones(sims.shape, bool)
    unrelated[np.arange(len(en)), sims.argmax(1)] = False
    unrelated[sims.argmax(0), np.arange(len(ar))] = False
    pool = sims[unrelated]
    if len(pool) < min_pairs:
        return None
    q10, median, q90 = np.quantile(pool.astype(np.float64), [0.1, 0.5, 0.9])
    spread = (q90 - q10) / 2.563
    return (float(median), float(spread)) if spread > 1e-6 else None


def off_reference_scale(config: ContentPairingConfig, median: float, spread: float) -> bool:
    """Whether a collection's cosine scale is outside the range the ramp holds in (see
    ``ramp_tolerance``)."""
    return abs(median - config.ramp_reference_median) > config.ramp_tolerance * config.ramp_reference_spread


def calibrated_ramp(config: ContentPairingConfig, median: float, spread: float) -> tuple[float, float]:
    """``bead_low`` and ``bead_high`` moved from the reference scale onto (median, spread)."""
    k = spread / config.ramp_reference_spread
    return (median + (config.bead_low - config.ramp_reference_median) * k,
            median + (config.bead_high - config.ramp_reference_median) * k)


def _side_center(parts: np.ndarray, config: ContentPairingConfig) -> np.ndarray:
    """The mean of (n, 1 + J, d) parts, shrunk by ``n / (n + center_shrink)``."""
    n = len(parts)
    return (np.asarray(parts, dtype=np.float32).mean(0) * np.float32(n / (n + config.center_shrink))).astype(np.float32)


def _center_and_weight(parts: np.ndarray, config: ContentPairingConfig, center: np.ndarray | None = None
                       ) -> np.ndarray:
    """(n, 1 + J, d) normalised parts -> (n, (1 + J) * d) vectors whose dot products are
    the weighted sums of the parts' cosines after (shrunk) centring (on ``center``, by
    default the parts' own :func:`_side_center`)."""
    n = len(parts)
    parts = np.asarray(parts, dtype=np.float32)  # modified in place (no copies of an n x (1+J) x d array)
    parts -= _side_center(parts, config) if center is None else center[None]
    parts /= np.maximum(np.linalg.norm(parts, axis=2, keepdims=True), 1e-12)
    J = parts.shape[1] - 1
    w = np.array([1.0 - config.window_share] + [config.window_share / J] * J if J else [1.0])
    parts *= np.sqrt(w).astype(np.float32)[None, :, None]
    return parts.reshape(n, -1)


# ----------------------------------------------------------------------------- retrieval


def top_neighbours(x: np.ndarray, y: np.ndarray, k: int, block: int = 1024
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row of ``x``'s ``k`` most similar rows of ``y`` (dot product) and each row of
    ``y``'s ``k`` most similar rows of ``x``, from one pass of ``block``-row products:
    ``(row_index, row_value, col_index, col_value)``, shapes ``(len(x), k')`` and
    ``(len(y), k'')``, best first. Memory is ``O(block * len(y))``."""
    n, m = len(x), len(y)
    kr, kc = min(k, m), min(k, n)
    row_i = np.zeros((n, kr), np.int64)
    row_v = np.zeros((n, kr), np.float32)
    col_i = np.zeros((kc, m), np.int64)
    col_v = np.full((kc, m), -np.inf, np.float32)
    block = max(16, min(block, 4_000_000 // max(m, 1)))  # a block's products: at most 16 MB
    for s in range(0, n, block):
        sims = x[s:s + block] @ y.T
        b = len(sims)
        idx = np.argpartition(sims, m - kr, axis=1)[:, m - kr:] if kr < m else np.broadcast_to(np.arange(m), (b, m))
        row_i[s:s + b] = idx
        row_v[s:s + b] = np.take_along_axis(sims, idx, 1)
        kb = min(kc, b)
        cidx = np.argpartition(sims, b - kb, axis=0)[b - kb:] if kb < b else np.broadcast_to(np.arange(b)[:, None], (b, m))
        allv = np.concatenate([col_v, np.take_along_axis(sims, cidx, 0)])
        alli = np.concatenate([col_i, cidx + s])
        sel = np.argpartition(-allv, kc - 1, axis=0)[:kc]
        col_v, col_i = np.take_along_axis(allv, sel, 0), np.take_along_axis(alli, sel, 0)
    col_i, col_v = col_i.T, col_v.T
    # Best first; ties by index, so the result does not depend on partition order.
    for ind, val in ((row_i, row_v), (col_i, col_v)):
        order = np.lexsort((ind, -val), axis=1)
        ind[:] = np.take_along_axis(ind, order, 1)
        val[:] = np.take_along_axis(val, order, 1)
    return row_i, row_v, col_i, col_v


def candidate_pairs(x: np.ndarray, y: np.ndarray, config: ContentPairingConfig) -> dict[tuple[int, int], float]:
    """Candidate pairs ``(i, j) -> CSLS similarity``: each document's ``top_k`` best by
    CSLS among its ``retrieve_k`` nearest by cosine, in both directions."""
    row_i, row_v, col_i, col_v = top_neighbours(x, y, config.retrieve_k, config.block)
    r_x = row_v[:, :config.csls_k].mean(1)
    r_y = col_v[:, :config.csls_k].mean(1)
    out: dict[tuple[int, int], float] = {}
    for a, (ind, val) in enumerate(zip(row_i, row_v)):
        csls = 2 * val - r_x[a] - r_y[ind]
        for t in np.lexsort((ind, -csls))[:config.top_k]:
            out[(a, int(ind[t]))] = float(csls[t])
    for b, (ind, val) in enumerate(zip(col_i, col_v)):
        csls = 2 * val - r_x[ind] - r_y[b]
        for t in np.lexsort((ind, -csls))[:config.top_k]:
            out[(int(ind[t]), b)] = float(csls[t])
    return out


# ----------------------------------------------------------------------------- re-scoring


def _runs_bytes(runs: Sequence) -> int:
    """Bytes held by one document's runs (those computed on demand hold only its states)."""
    return sum(r.nbytes for r in runs if isinstance(r, np.ndarray))


class _RunsCache:
    """Documents' run embeddings, least recently used out beyond ``size`` documents or
    ``max_bytes`` (long documents: 512 documents of 1,000 sentences would be 8 GB)."""

    max_bytes = 512 << 20

    def __init__(self, embedder: DocumentEmbedder, size: int):
        self.embedder, self.size = embedder, size
        self.items: OrderedDict[tuple[str, int], list[np.ndarray]] = OrderedDict()
        # Each held document's runs centred as the re-scoring alignment centres them: a
        # document is a candidate of several others (about 4 on the dev task), and centring
        # was a sixth of each alignment's time.
        self._centered: dict[tuple[str, int], tuple[int, list[np.ndarray]]] = {}
        self.bytes = 0

    def centered(self, side: _Side, k: int, runs: list[np.ndarray], window: int) -> list[np.ndarray]:
        """The document's runs (``runs``, from :meth:`get`) centred (``center_runs`` with
        ``window``), kept while its runs are."""
        key = (side.lang, k)
        held = self._centered.get(key)
        if held is not None and held[0] == window:
            return held[1]
        out = center_runs(runs, window)
        if key in self.items:
            if held is not None:
                self.bytes -= _runs_bytes(held[1])
            self._centered[key] = (window, out)
            self.bytes += _runs_bytes(out)
        return out

    def get(self, side: _Side, k: int) -> list[np.ndarray]:
        key = (side.lang, k)
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        doc = side.docs[k]
        return self._put(key, self.embedder.runs(doc.stored, doc.tok))

    def _put(self, key: tuple[str, int], runs: list[np.ndarray]) -> list[np.ndarray]:
        self.items[key] = runs
        self.bytes += _runs_bytes(runs)
        while len(self.items) > 1 and (len(self.items) > self.size or self.bytes > self.max_bytes):
            old, old_runs = self.items.popitem(last=False)
            self.bytes -= _runs_bytes(old_runs) + _runs_bytes(self._centered.pop(old, (0, ()))[1])
        return runs

    def peek(self, side: _Side, k: int) -> list[np.ndarray] | None:
        """The document's runs if they are still held (nothing computed)."""
        return self.items.get((side.lang, k))

    def prefetch(self, wanted: Sequence[tuple[_Side, int]]) -> None:
        """Compute the runs of the short documents among ``wanted`` not held yet with one
        head call for all of them (a call has a fixed cost; the rows are the same bits as
        one document at a time); at most as many as the cache holds."""
        todo, seen = [], set()
        for side, k in wanted:
            key = (side.lang, k)
            if key in self.items or key in seen or len(todo) >= self.size:
                continue
            seen.add(key)
            todo.append((side, k))
        if len(todo) < 2:
            return
        for (side, k), runs in zip(todo, self.embedder.runs_many([side.docs[k] for side, k in todo])):
            self._put((side.lang, k), runs)


@dataclass
class _Edge:
    i: int
    j: int
    similarity: float
    alignment: float = 0.0
    en_weights: np.ndarray | None = None   # per English line: ramp weight of its bead
    ar_share: float = 0.0                  # Arabic half of the alignment score
    score: float = 0.0
    ar_margin: float = 0.0                 # R + s against the Arabic document's other candidates only
    beads: list[Bead] | None = None        # the pair's sentence alignment


def line_weights(beads: Sequence[Bead], n_en: int, n_ar: int, low: float, high: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per line of each side: the ramp weight (0 at ``low``, 1 at ``high``) of the cosine
    of the aligned bead holding it, 0 for a line left unaligned."""
    w_en, w_ar = np.zeros(n_en), np.zeros(n_ar)
    for b in beads:
        if b.is_null:
            continue
        w = min(1.0, max(0.0, (float(b.score) - low) / (high - low)))
        w_en[list(b.en)] = w
        w_ar[list(b.ar)] = w
    return w_en, w_ar


def rescoring_config(aligner_config: AlignmentConfig, config: ContentPairingConfig) -> AlignmentConfig:
    """The alignment settings candidates are re-scored with: the aligner's, but for the
    terms :class:`ContentPairingConfig` sets itself, and in order only (no moved blocks:
    the acceptance points were calibrated on in-order coverage, and a moved block found
    between a distractor and a report would add coverage no measurement has checked).
    The kNN mean counts every run, as when the pairing was calibrated: with the least
    alike left out (the aligner's default since session 30), a true pair of dev's pairing
    task (7 and 4 sentences) fell from .474 to .174 and was lost (F1 .990 -> .985)."""
    return replace(aligner_config, length_size_power=config.rescore_length_size_power,
                   threshold=config.rescore_threshold, merge_penalty_power=config.rescore_merge_penalty_power,
                   moved_blocks=False, knn_leave_out=0)


def _rescore(edges: list[_Edge], en: _Side, ar: _Side, embedder: DocumentEmbedder, config: ContentPairingConfig,
             progress, store: PairingCache | None = None, presplit: bool = False,
             cache: _RunsCache | None = None) -> None:
    cache = cache or _RunsCache(embedder, config.runs_cache)
    al_config = rescoring_config(embedder.aligner.config, config)

    def beads_key(e: _Edge) -> tuple:  # a pair's beads in the PairingCache
        return str(en.docs[e.i].path), str(ar.docs[e.j].path), presplit, al_config

    def job(e: _Edge) -> dict:  # align_runs' arguments for the pair
        en_runs, ar_runs = cache.get(en, e.i), cache.get(ar, e.j)
        window = al_config.center_window
        centered = ((cache.centered(en, e.i, en_runs, window), cache.centered(ar, e.j, ar_runs, window))
                    if al_config.center else None)
        return dict(en_runs=en_runs, ar_runs=ar_runs, config=al_config, en_lengths=en.docs[e.i].lengths,
                    ar_lengths=ar.docs[e.j].lengths, centered=centered)

    found: dict[int, list[Bead]] = {}
    end = 0
    for n, e in enumerate(progress(edges, "Re-scoring", len(edges))):
        if n == end:
            # The next edges whose documents' runs the cache holds together (half of it:
            # none is evicted before its edges are aligned), their runs computed with one
            # head call for many short documents, and their alignments searched together
            # (align_runs_many) on this process and forked ones (align_runs_shared).
            end = _chunk_end(edges, n, en, ar, max(2, config.runs_cache // 2))
            todo = [k for k in range(n, end) if store is None or beads_key(edges[k]) not in store.beads]
            cache.prefetch([(side, d) for k in todo for side, d in ((en, edges[k].i), (ar, edges[k].j))])
            jobs, held = [], 0
            for k in todo:
                jobs.append(job(edges[k]))
                held += sum(_runs_bytes(runs) for runs in (jobs[-1]["en_runs"], jobs[-1]["ar_runs"]))
                if held > cache.max_bytes // 2 and k + 1 < end:  # long documents: fewer at a time
                    end = k + 1
                    todo = todo[:len(jobs)]
                    break
            found = dict(zip(todo, align_runs_shared(jobs)))
        de, da = en.docs[e.i], ar.docs[e.j]
        beads = found.pop(n, None)
        if beads is None:
            beads = store.beads[beads_key(e)]
        elif store is not None:
            store.beads[beads_key(e)] = beads
        e.beads = beads
        w_en, w_ar = line_weights(beads, len(de.lengths), len(da.lengths), config.bead_low, config.bead_high)
        e.en_weights = w_en.astype(np.float32)
        e.ar_share = float(w_ar.mean())
        e.alignment = 0.5 * (float(w_en.mean()) + e.ar_share)


def _chunk_end(edges: list[_Edge], start: int, en: _Side, ar: _Side, documents: int) -> int:
    """The end of the run of edges from ``start`` that involves at most ``documents``
    documents (at least one edge)."""
    seen: set[tuple[str, int]] = set()
    end = start
    while end < len(edges):
        more = {(en.lang, edges[end].i), (ar.lang, edges[end].j)} - seen
        if end > start and len(seen) + len(more) > documents:
            break
        seen |= more
        end += 1
    return end


def _margin_scores(edges: list[_Edge], config: ContentPairingConfig, report: Sequence[int] | None = None,
                   rivals: Sequence[_Edge] = ()) -> None:
    """score = R + s - w * mean(best competing R + s of each of the two documents, >= 0).

    On the English side a candidate competes with the other candidates of its document;
    on the Arabic side with every candidate of another report: ``report[e.i]`` names the
    report an English document belongs to (default: itself; the residual round gives each
    residual its report's index), and ``rivals`` adds candidates that compete on the
    Arabic side only (the whole reports, against their residuals)."""
    report = range(max((e.i for e in edges), default=-1) + 1) if report is None else report
    by_en: dict[int, list[float]] = defaultdict(list)
    by_ar: dict[int, list[tuple[int, float]]] = defaultdict(list)   # Arabic document -> (report, R + s)
    for e in rivals:
        by_ar[e.j].append((e.i, e.alignment + e.similarity))
    raw = [e.alignment + e.similarity for e in edges]
    for e, v in zip(edges, raw):
        by_en[e.i].append(v)
        by_ar[e.j].append((report[e.i], v))

    for e, v in zip(edges, raw):
        rest = sorted(by_en[e.i], reverse=True)
        rest.remove(v)  # drop this pair's own value once
        best_en = max(0.0, rest[0]) if rest else 0.0
        best_ar = max([0.0] + [u for r, u in by_ar[e.j] if r != report[e.i]])
        e.score = v - config.runner_up_weight * 0.5 * (best_en + best_ar)
        # A report's further source competes with the report's other sources on the English
        # side by design; what must hold is that no other report fits the source as well.
        e.ar_margin = v - config.runner_up_weight * best_ar


def otsu_threshold(scores: Sequence[float], *, floor: float = 0.0, min_count: int = 8) -> float | None:
    """The acceptance threshold that a collection's own candidate scores call for.

    The scores of re-scored candidates form two groups: each document's true partner,
    well above, and the bulk of wrong candidates (near or below 0 once the competitors
    are subtracted). The two-class split with the least within-class variance (Otsu
    1979; a two-component fit with equal weights on the spread, in closed form, no
    iterations and no initialisation) is taken over the sorted scores, and the threshold
    is the midpoint of the gap at that split, so it follows the collection's scale
    (encoder, kind of text) instead of a constant read off the dev set. Pure and
    deterministic (ties: the first best split). ``None`` when there are fewer than
    ``min_count`` scores or they are all equal (no distribution to fit); never below
    ``floor``."""
    x = np.sort(np.asarray([float(v) for v in scores], dtype=np.float64))
    n = len(x)
    if n < max(2, min_count) or x[-1] - x[0] <= 1e-12:
        return None
    cs, cs2 = np.cumsum(x), np.cumsum(x * x)
    k = np.arange(1, n)                       # left class: x[:k]
    left_sse = cs2[:-1] - cs[:-1] ** 2 / k
    right_n = n - k
    right_sum, right_sum2 = cs[-1] - cs[:-1], cs2[-1] - cs2[:-1]
    right_sse = right_sum2 - right_sum ** 2 / right_n
    total = left_sse + right_sse
    total = np.where(x[1:] > x[:-1], total, np.inf)  # split only between distinct values
    best = int(np.argmin(total))
    return max(float(floor), float(0.5 * (x[best] + x[best + 1])))


# ----------------------------------------------------------------------------- the pairing


def _no_progress(items, desc, total):
    return items


def _tqdm_progress(items, desc, total):
    return bar(items, desc=desc, total=total, unit="doc" if desc.startswith("Embed") else "pair", leave=False)


def pair_by_content(en_paths: Sequence[Path], ar_paths: Sequence[Path], aligner, *,
                    max_sources: int = 1, presplit: bool = False, config: ContentPairingConfig | None = None,
                    progress: bool = False, sources_for: dict[Path, list[Path]] | None = None,
                    cache: PairingCache | None = None,
                    reader: Callable[[Path, str], list[str]] | None = None) -> ContentPairing:
    """Pair English with Arabic documents by content (see the module docstring).

    ``aligner``: an :class:`~aligner.Aligner` (its encoder and alignment settings are
    used). ``max_sources``: how many Arabic documents one English document may pair with.
    ``sources_for``: English documents already paired (by name or manifest) with their
    Arabic sources; with ``max_sources > 1`` they may take further sources from
    ``ar_paths`` (their paths must be in ``en_paths``), and they never take a first one.
    ``cache``: a :class:`PairingCache` for this aligner, read and filled (encodings and
    alignments are then computed once over several runs).
    ``reader``: ``(path, lang) -> normalised sentences`` of a document (default: read and
    segment the file); a run passes its own, so each file is read and segmented once.
    """
    if max_sources < 1:
        raise ValueError(f"max_sources must be at least 1, got {max_sources}")
    config = config or ContentPairingConfig()
    sources_for = {Path(k): list(v) for k, v in (sources_for or {}).items()}
    show = _tqdm_progress if progress else _no_progress
    result = ContentPairing()
    en_paths, ar_paths = [Path(p) for p in en_paths], [Path(p) for p in ar_paths]
    if not en_paths or not ar_paths:
        result.unpaired_en = [p for p in en_paths if p not in sources_for]
        result.unpaired_ar = list(ar_paths)
        result.best_candidates = {p: None for p in result.unpaired_en + result.unpaired_ar}
        return result

    t0 = time.perf_counter()
    embedder = DocumentEmbedder(aligner)
    if cache is not None:
        key = PairingCache.aligner_key(aligner)
        if cache.key and cache.key != key:
            raise ValueError("this PairingCache was filled with another aligner (encoder or alignment settings)")
        cache.key = key
    read = reader or (lambda path, lang: _read_sentences(path, lang, presplit))
    en = _embed_side(en_paths, "en", embedder, config, presplit, result.problems, show, halves=max_sources > 1,
                     cache=cache, read=read)
    ar = _embed_side(ar_paths, "ar", embedder, config, presplit, result.problems, show, cache=cache, read=read)
    t1 = time.perf_counter()
    ramp_from, scale = "fixed", None
    if config.calibrate_ramp:
        scale = cosine_scale(*(np.concatenate(side.sample) if side.sample else np.zeros((0, 1), np.float32)
                               for side in (en, ar)))
        if scale is None:
            ramp_from = "fixed (too few sentences to calibrate)"
        elif not off_reference_scale(config, *scale):
            ramp_from = "fixed (cosine scale within the reference range)"
        else:
            low, high = calibrated_ramp(config, *scale)
            config = replace(config, bead_low=low, bead_high=high)
            ramp_from = "calibrated"
    edges: list[_Edge] = []
    runs = _RunsCache(embedder, config.runs_cache)
    t2 = t1
    if en.docs and ar.docs:
        cands = candidate_pairs(en.vectors, ar.vectors, config)
        if en.half_vectors is not None:
            # Several sources: a source of one half of a report is a neighbour of that half.
            for (h, j), s in candidate_pairs(en.half_vectors, ar.vectors, config).items():
                cands.setdefault((en.half_owner[h], j), s)
        edges = [_Edge(i, j, s) for (i, j), s in sorted(cands.items())]
        t2 = time.perf_counter()
        _rescore(edges, en, ar, embedder, config, show, cache, presplit, runs)
        _margin_scores(edges, config)
    t3 = time.perf_counter()

    # Greedy one-to-one: best score first, ties by file names (deterministic).
    order = sorted(edges, key=lambda e: (-e.score, str(en.docs[e.i].path), str(ar.docs[e.j].path)))
    result.candidates = [ContentPair(en.docs[e.i].path, ar.docs[e.j].path, e.score, e.alignment, e.similarity)
                         for e in order]
    threshold, threshold_from = config.threshold, "fixed"
    if config.calibrate_threshold:
        fitted = otsu_threshold([e.score for e in edges], floor=config.threshold_floor,
                                min_count=config.calibrate_min_candidates)
        if fitted is not None:
            threshold, threshold_from = fitted, "calibrated"
        else:
            threshold_from = "fixed (too few candidates to calibrate)"
    already = {k for k, d in enumerate(en.docs) if d.path in sources_for}
    taken_en: dict[int, list[_Edge]] = defaultdict(list)
    taken_ar: set[int] = set()
    for k in greedy_one_to_one(result.candidates, threshold, config.min_alignment,
                               exclude_en={d.path for d in en.docs if d.path in sources_for}):
        taken_en[order[k].i].append(order[k])
        taken_ar.add(order[k].j)

    if max_sources > 1:
        _further_sources(order, en, embedder, taken_en, taken_ar, already, sources_for, max_sources, config, read,
                         ar=ar, threshold=threshold)
    result.stats = {"en_documents": len(en.docs), "ar_documents": len(ar.docs), "candidate_pairs": len(edges),
                    "threshold": round(threshold, 4), "threshold_from": threshold_from,
                    "bead_ramp": [round(config.bead_low, 4), round(config.bead_high, 4)], "bead_ramp_from": ramp_from,
                    "cosine_scale": None if scale is None else [round(scale[0], 4), round(scale[1], 4)],
                    "timings": {"embed_s": round(t1 - t0, 3), "retrieve_s": round(t2 - t1, 3),
                                "rescore_s": round(t3 - t2, 3), "assign_s": round(time.perf_counter() - t3, 3)}}

    for i, chosen in sorted(taken_en.items()):
        first = len(sources_for.get(en.docs[i].path, []))
        for rank, e in enumerate(chosen, start=first):
            result.pairs.append(ContentPair(en.docs[i].path, ar.docs[e.j].path, round(e.score, 4),
                                            round(e.alignment, 4), round(e.similarity, 4), rank))
    result.pairs.sort(key=lambda p: (str(p.en_path), p.rank, str(p.ar_path)))
    _hand_runs_over(taken_en, en, ar, runs, embedder, sources_for)

    paired_en = {p.en_path for p in result.pairs} | set(sources_for)
    paired_ar = {p.ar_path for p in result.pairs}
    result.unpaired_en = [p for p in en_paths if p not in paired_en]
    result.unpaired_ar = [p for p in ar_paths if p not in paired_ar]
    best: dict[Path, tuple[Path, float]] = {}
    for e in order:  # best first: the first edge seen for a document is its best
        pe, pa = en.docs[e.i].path, ar.docs[e.j].path
        best.setdefault(pe, (pa, round(e.score, 4)))
        best.setdefault(pa, (pe, round(e.score, 4)))
    result.best_candidates = {p: best.get(p) for p in result.unpaired_en + result.unpaired_ar}
    return result


def _hand_runs_over(taken_en: dict[int, list[_Edge]], en: _Side, ar: _Side, runs: _RunsCache,
                    embedder: DocumentEmbedder, sources_for: dict[Path, list[Path]]) -> None:
    """Give the aligner the run embeddings re-scoring computed for the documents of the
    pairs chosen, where they are its own (float32 encodings of the aligner's encoder) and
    still held: aligning those pairs then pools no run again. A report with several
    sources is aligned against their joined text, whose runs are new: only its own go."""
    for i, chosen in sorted(taken_en.items()):
        single = len(chosen) == 1 and en.docs[i].path not in sources_for
        for side, k in [(en, i)] + ([(ar, chosen[0].j)] if single else []):
            held = runs.peek(side, k)
            if side.docs[k].runs_key is not None and isinstance(held, list):
                embedder.aligner.hold_runs(side.docs[k].runs_key, held)


def greedy_one_to_one(candidates: Sequence[ContentPair], threshold: float, min_alignment: float, *,
                      exclude_en: set[Path] = frozenset()) -> list[int]:
    """Indices of the candidates kept by the greedy one-to-one assignment: in the given
    order (best score first), a pair is kept when its score reaches ``threshold``, its
    alignment score ``min_alignment``, and neither document is taken (nor the English one
    in ``exclude_en``)."""
    taken_en, taken_ar, kept = set(exclude_en), set(), []
    for k, c in enumerate(candidates):
        if c.score < threshold:
            break
        if c.en_path in taken_en or c.ar_path in taken_ar or c.alignment < min_alignment:
            continue
        taken_en.add(c.en_path)
        taken_ar.add(c.ar_path)
        kept.append(k)
    return kept


def _further_sources(order: list[_Edge], en: _Side, embedder: DocumentEmbedder,
                     taken_en: dict[int, list[_Edge]], taken_ar: set[int], already: set[int],
                     sources_for: dict[Path, list[Path]], max_sources: int,
                     config: ContentPairingConfig, read: Callable[[Path, str], list[str]], *,
                     ar: _Side, threshold: float) -> None:
    """Add sources beyond the first to ``taken_en`` (see the module docstring), largest
    gain first. Gains only shrink as an English document gains sources, so a lazy greedy
    (re-check the best candidate's gain when it comes out of the heap) is exact. Then the
    residual round (:func:`_residual_sources`) at the collection's ``threshold``."""
    covered: dict[int, np.ndarray] = {i: np.max([e.en_weights for e in chosen], axis=0)
                                      for i, chosen in taken_en.items()}
    n_sources = {i: len(chosen) for i, chosen in taken_en.items()}
    cache = _RunsCache(embedder, 8)
    for i in sorted(already):
        # English documents paired by name or manifest: what their sources cover.
        doc = en.docs[i]
        w = np.zeros(len(doc.lengths))
        for src in sources_for.get(doc.path, []):
            try:
                sentences = read(src, "ar")
            except Exception:  # noqa: BLE001 - an unreadable source covers nothing
                continue
            if not sentences:
                continue
            (stored, tok), = embedder.encode_many([sentences])
            beads = align_runs(cache.get(en, i), embedder.runs(stored, tok),
                               rescoring_config(embedder.aligner.config, config),
                               en_lengths=doc.lengths, ar_lengths=[len(s) for s in sentences])
            w = np.maximum(w, line_weights(beads, len(doc.lengths), len(sentences),
                                           config.bead_low, config.bead_high)[0])
        covered[i] = w
        n_sources[i] = len(sources_for.get(doc.path, []))

    def gain(e: _Edge) -> float:
        return float(np.maximum(e.en_weights - covered[e.i], 0).mean())

    heap = [(-gain(e), k, e) for k, e in enumerate(order)
            if e.i in covered and e.j not in taken_ar and e.ar_share >= config.extra_min_coverage
            and e.ar_margin >= config.extra_min_margin]
    heapq.heapify(heap)
    while heap:
        neg, k, e = heapq.heappop(heap)
        if -neg < config.extra_min_gain:
            break
        if e.j in taken_ar or n_sources[e.i] >= max_sources:
            continue
        g = gain(e)
        if g < -neg:  # stale: its document gained a source since; re-queue with the new gain
            heapq.heappush(heap, (-g, k, e))
            continue
        taken_en[e.i].append(e)
        taken_ar.add(e.j)
        n_sources[e.i] += 1
        covered[e.i] = np.maximum(covered[e.i], e.en_weights)
    if config.residual_sources:
        _residual_sources(en, ar, embedder, taken_en, taken_ar, covered, n_sources, max_sources, config, threshold,
                          order)


# The residual round's length-ratio rule: the first pairs' 5th to 95th percentiles (the
# collection's own spread; a band of 2.5-97.5 or 10-90 gives the same dev figures).
_RATIO_BAND = (5.0, 95.0)


def _aligned_log_ratio(beads: Sequence[Bead], en_lengths: np.ndarray, ar_lengths: np.ndarray) -> float:
    """log(English characters / Arabic characters) of the lines a pair's aligned beads hold."""
    en = sum(float(en_lengths[k]) for b in beads if not b.is_null for k in b.en)
    ar = sum(float(ar_lengths[k]) for b in beads if not b.is_null for k in b.ar)
    return math.log((en + 1.0) / (ar + 1.0))


def _residual_sources(en: _Side, ar: _Side, embedder: DocumentEmbedder, taken_en: dict[int, list[_Edge]],
                      taken_ar: set[int], covered: dict[int, np.ndarray], n_sources: dict[int, int],
                      max_sources: int, config: ContentPairingConfig, threshold: float,
                      whole: Sequence[_Edge]) -> None:
    """Further sources as first sources of what a report's sources leave unexplained.

    A second source is a weak candidate of the whole report (it explains only part of
    it, and the first source competes with it on the English side) but a strong one of
    the part that was translated from it. So each English document that may take another
    source is cut down to its *residual*, the lines no source of it aligns yet (ramp
    weight 0; at least ``extra_min_gain`` of its lines), and the residuals are paired
    as whole documents are: document vectors centred on the English side's mean, CSLS
    candidates, re-scoring by alignment, and a margin against the residual's other
    candidates and against every other report the Arabic document fits, whole or
    residual; kept at the collection's threshold and ``min_alignment``, with the
    source's own lines covered ``extra_min_coverage``. Two more rules, both measured on
    the collection rather than chosen: the pair's aligned text must have the length
    ratio of the collection's pairs (within the 5th-95th percentile of the first pairs'
    ratios: a short residual otherwise finds a long, formulaic Arabic document whose
    lines it can each match a few of), and an Arabic document held by a report as its
    only source moves to the residual when the residual's score beats the holder's (a
    merged report's part is a weaker whole-document candidate of its true source than
    an unrelated report can be). Needs ``calibrate_min_candidates`` first pairs."""
    ref = [_aligned_log_ratio(e.beads, en.docs[i].lengths, ar.docs[e.j].lengths)
           for i, es in sorted(taken_en.items()) for e in es if e.beads is not None]
    if len(ref) < config.calibrate_min_candidates:
        return
    low, high = np.percentile(ref, _RATIO_BAND)
    res, owner, masks, parts = _Side("en-residual"), [], [], []
    for i in sorted(covered):
        doc = en.docs[i]
        mask = covered[i] <= 0
        if n_sources[i] >= max_sources or mask.mean() < config.extra_min_gain or doc.weights is None:
            continue
        tok = None if doc.tok is None else doc.tok[mask]
        stored = doc.stored[mask]
        parts.append(document_vector(embedder.sentences(stored, tok), doc.weights[mask], config.windows))
        res.docs.append(_Doc(doc.path, doc.lengths[mask], stored, tok, doc.weights[mask]))
        owner.append(i)
        masks.append(mask)
    if not parts or ar.vectors is None:
        return
    res.vectors = _center_and_weight(np.stack(parts), config, en.center)
    edges = [_Edge(r, j, s) for (r, j), s in sorted(candidate_pairs(res.vectors, ar.vectors, config).items())]
    _rescore(edges, res, ar, embedder, config, _no_progress)
    # Against every other report the Arabic document fits, whole or residual: a free
    # source that partly fits many reports fits none of them in particular.
    _margin_scores(edges, config, report=owner, rivals=whole)
    holder = {e.j: (i, e) for i, es in taken_en.items() for e in es}
    for e in sorted(edges, key=lambda e: (-e.score, str(res.docs[e.i].path), str(ar.docs[e.j].path))):
        if e.score < threshold:
            break
        i = owner[e.i]
        if (e.alignment < config.min_alignment or e.ar_share < config.extra_min_coverage or n_sources[i] >= max_sources
                or not low <= _aligned_log_ratio(e.beads or [], res.docs[e.i].lengths, ar.docs[e.j].lengths) <= high):
            continue
        if e.j in taken_ar:
            held = holder.get(e.j)
            if held is None or held[0] == i or len(taken_en[held[0]]) > 1 or held[1].score >= e.score:
                continue
            del taken_en[held[0]], holder[e.j]
            n_sources[held[0]] -= 1
        w = np.zeros(len(covered[i]), np.float32)
        w[masks[e.i]] = e.en_weights
        e.i, e.en_weights = i, w
        taken_en[i].append(e)
        taken_ar.add(e.j)
        n_sources[i] += 1
        covered[i] = np.maximum(covered[i], w)
