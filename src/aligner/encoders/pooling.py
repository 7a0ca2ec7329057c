"""Run embeddings pooled from sentence states, in bounded memory on any document length.

The aligner needs the embedding of every run of 1..``max_run`` consecutive sentences on
each side (``alignment.align_runs``). With an encoder that pools runs from its token
states (``encode_states`` / ``embed_states``), a run's state is a difference of two
cumulative sums of the sentences' states, through the encoder's head. All of them at
once take ``max_run`` x 512 floats per sentence (16 KB, twice over once centred): 6 GB
for a 200,000-line file. So:

* :func:`pooled_runs` computes them in blocks of ``BLOCK`` rows, never the whole
  document's sums or head activations at once, and returns plain arrays when they fit
  ``held_bytes``;
* above that, :class:`RunTable` keeps only the sentence states and a float64 checkpoint
  of the cumulative sum every ``BLOCK`` sentences, and :class:`LazyRuns` computes the
  rows a caller asks for (a slice, an index array, one row) on demand, with a small cache
  of recent blocks (the alignment reads the document front to back, several times);
* the sentence states of a long document (over ``SPILL_BYTES``: 2 KB a sentence, 0.8 GB
  for both sides of a 200,000-line file) are written once to an unnamed temporary file
  and read back a block at a time (``os.pread``: the operating system's file cache, not
  the process's memory, and nothing left on disk when the process ends), so that
  memory does not grow with both sides' states while the search runs.

Every row is the same bits as the one-call computation: the float64 cumulative sum is
sequential either way (a block starts from its checkpoint), and the encoders' heads
compute each row independently of the other rows of their batch (CPU; see
``encoders.torch_tiles``). Centring (``alignment.center_runs``) is :meth:`LazyRuns.centered`:
the same mean (summed row by row in float64, as numpy's reduction along axis 0 does) and
the same per-row arithmetic.
"""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict
from typing import Callable, Sequence

import numpy as np

BLOCK = 512            # rows per head call and per cached block
CACHE_BLOCKS = 40      # blocks cached per side (all run lengths together): 40 MB at 512 dims
SPILL_BYTES = 64 << 20  # sentence states above this go to a temporary file (32,768 sentences at 512 dims)


class RunTable:
    """One side's sentence states and token counts, from which the embeddings of runs of
    ``k`` sentences are computed a block at a time (``embed``: the encoder's
    ``embed_states``)."""

    def __init__(self, states: np.ndarray, lens: np.ndarray, embed: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 max_run: int, *, block: int | None = None, cache_blocks: int | None = None,
                 spill_bytes: int | None = None):
        block = BLOCK if block is None else block
        cache_blocks = CACHE_BLOCKS if cache_blocks is None else cache_blocks
        spill_bytes = SPILL_BYTES if spill_bytes is None else spill_bytes
        if block < max_run:
            raise ValueError(f"block ({block}) must be at least max_run ({max_run})")
        self.states: np.ndarray | None = np.ascontiguousarray(states, dtype=np.float32)
        self.lens = np.asarray(lens, np.int64)
        self.embed, self.max_run, self.block, self.cache_blocks = embed, max_run, block, cache_blocks
        n = len(self.states)
        self.n = n
        self.width = self.states.shape[1]
        self._spill = None
        self.cl = np.concatenate([[0], np.cumsum(self.lens)])
        # cs[c * block] for every block start c (float64 cumulative sums of the states, as
        # np.cumsum(states, 0, dtype=float64) gives them: sequential, so resumable).
        self.checkpoints = np.zeros((n // block + 1, self.width), np.float64)
        acc = np.zeros(self.width, np.float64)
        for c in range(1, len(self.checkpoints)):
            acc = self._cumsum_from(acc, (c - 1) * block, c * block)[-1]
            self.checkpoints[c] = acc
        # A long document's states go to an unnamed temporary file (removed when closed or
        # when the process ends), read back a block at a time: the same bits.
        if self.states.nbytes > spill_bytes:
            spill = tempfile.TemporaryFile(prefix="aligner-states-")
            rows = max(1, (16 << 20) // max(1, self.states.strides[0]))
            for r in range(0, n, rows):
                spill.write(memoryview(self.states[r:r + rows]).cast("B"))
            spill.flush()
            self._spill = spill
            self.states = None  # the caller's array is freed once it lets go of it
        # The cache is one preallocated array of ``cache_blocks`` slots (long-lived blocks
        # scattered among short-lived temporaries would fragment the heap: measured, a
        # fifth more peak memory); ``_cache`` maps (k, block) to its slot, least recently
        # used first.
        self._cache: OrderedDict[tuple[int, int], int] = OrderedDict()
        self._slots: np.ndarray | None = None
        self.dim: int | None = None

    @property
    def spilled(self) -> bool:
        """Are the states in a temporary file (read back a block at a time)?"""
        return self._spill is not None

    def state_rows(self, r0: int, r1: int) -> np.ndarray:
        """The sentence states of rows r0..r1-1 (float32)."""
        if self._spill is None:
            return self.states[r0:r1]
        out = np.empty((max(0, r1 - r0), self.width), np.float32)
        view, offset = memoryview(out).cast("B"), r0 * self.width * 4
        done = 0
        while done < len(view):
            got = os.preadv(self._spill.fileno(), [view[done:]], offset + done)
            if got <= 0:
                raise OSError(f"short read of the temporary file of sentence states ({done} of {len(view)} bytes)")
            done += got
        return out

    def _cumsum_from(self, start_value: np.ndarray, r0: int, r1: int) -> np.ndarray:
        """cs[r0 .. r1] (inclusive, r1 - r0 + 1 rows) given cs[r0] = ``start_value``."""
        rows = np.empty((r1 - r0 + 1, self.width), np.float64)
        rows[0] = start_value
        rows[1:] = self.state_rows(r0, r1)
        return np.cumsum(rows, 0, out=rows)

    def size(self, k: int) -> int:
        """Number of runs of ``k`` sentences."""
        return max(self.n - k + 1, 0)

    def compute_block(self, k: int, b: int) -> np.ndarray:
        """Embeddings of the runs of ``k`` sentences starting at rows ``b*block ..``
        (uncached)."""
        r0 = b * self.block
        r1 = min(r0 + self.block, self.size(k))
        cs = self._cumsum_from(self.checkpoints[b], r0, min(r1 - 1 + k, self.n))
        sums = (cs[k:k + r1 - r0] - cs[:r1 - r0]).astype(np.float32)
        counts = self.cl[r0 + k:r1 + k] - self.cl[r0:r1]
        out = np.asarray(self.embed(sums, counts), np.float32)
        self.dim = out.shape[1]
        return out

    def get_block(self, k: int, b: int) -> np.ndarray:
        """The block's rows, cached: a view of a cache slot, valid until ``cache_blocks``
        other blocks have been fetched (callers copy or use it at once)."""
        key = (k, b)
        slot = self._cache.get(key)
        rows = min(self.block, self.size(k) - b * self.block)
        if slot is not None:
            self._cache.move_to_end(key)
            return self._slots[slot, :rows]
        out = self.compute_block(k, b)
        if self.cache_blocks <= 0:
            return out
        if self._slots is None:
            self._slots = np.empty((self.cache_blocks, self.block, out.shape[1]), np.float32)
        if len(self._cache) < self.cache_blocks:
            slot = len(self._cache)
        else:
            _, slot = self._cache.popitem(last=False)
        self._slots[slot, :rows] = out
        self._cache[key] = slot
        return self._slots[slot, :rows]

    def embedding_dim(self) -> int:
        if self.dim is None:
            k = next((k for k in range(1, self.max_run + 1) if self.size(k)), None)
            if k is None:  # no sentence: ask the head for the width of an empty batch
                return int(np.asarray(self.embed(np.zeros((0, self.width), np.float32),
                                                 np.zeros(0, np.int64))).shape[1])
            self.get_block(k, 0)
        return self.dim

    def materialize(self, k: int) -> np.ndarray:
        """All runs of ``k`` sentences as one float32 array, filled block by block."""
        size = self.size(k)
        out = np.empty((size, self.embedding_dim()), np.float32)
        for b in range(-(-size // self.block)):
            out[b * self.block:(b + 1) * self.block] = self.get_block(k, b)
        return out

    def lazy(self) -> list[LazyRuns]:
        return [LazyRuns(self, k) for k in range(1, self.max_run + 1)]


class LazyRuns:
    """The embeddings of the runs of ``k`` sentences of one side, as a read-only
    array-like: ``len``, ``shape``, ``x[i]``, ``x[a:b]``, ``x[index_array]`` and
    ``np.asarray(x)`` (the whole matrix: only for small documents)."""

    ndim = 2
    dtype = np.dtype(np.float32)

    def __init__(self, table: RunTable, k: int):
        self.table, self.k = table, k

    def __len__(self) -> int:
        return self.table.size(self.k)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self), self.table.embedding_dim())

    def rows(self, r0: int, r1: int) -> np.ndarray:
        """Rows r0..r1-1 (0 <= r0 <= r1 <= len)."""
        if r1 <= r0:
            return np.zeros((0, self.table.embedding_dim()), np.float32)
        bs = self.table.block
        b0, b1 = r0 // bs, (r1 - 1) // bs
        if b0 == b1:
            return self.table.get_block(self.k, b0)[r0 - b0 * bs:r1 - b0 * bs]
        # Every part must stay in the cache until joined: a long range is computed afresh.
        fetch = self.table.get_block if b1 - b0 < self.table.cache_blocks // 2 else self.table.compute_block
        parts = [fetch(self.k, b) for b in range(b0, b1 + 1)]
        return np.concatenate(parts)[r0 - b0 * bs:r1 - b0 * bs]

    def __getitem__(self, key):
        n = len(self)
        if isinstance(key, (int, np.integer)):
            i = int(key) + (n if key < 0 else 0)
            if not 0 <= i < n:
                raise IndexError(f"run {key} out of range for {n} runs")
            return self.rows(i, i + 1)[0].copy()
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step != 1:
                return self[np.arange(start, stop, step)]
            return self.rows(start, max(start, stop)).copy()
        index = np.asarray(key)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        index = index.astype(np.int64, copy=False)
        if index.ndim != 1:
            raise IndexError("runs take a 1-D index")
        index = np.where(index < 0, index + n, index)
        if len(index) and (index.min() < 0 or index.max() >= n):
            raise IndexError(f"run index out of range for {n} runs")
        if len(index) == 0:
            return np.zeros((0, self.table.embedding_dim()), np.float32)
        lo, hi = int(index.min()), int(index.max()) + 1
        if hi - lo == len(index) and np.array_equal(index, np.arange(lo, hi)):
            return self.rows(lo, hi).copy()
        bs = self.table.block
        out = np.empty((len(index), self.table.embedding_dim()), np.float32)
        blocks = index // bs
        for b in np.unique(blocks):
            sel = blocks == b
            out[sel] = self.table.get_block(self.k, int(b))[index[sel] - b * bs]
        return out

    def __array__(self, dtype=None, copy=None):
        out = self.table.materialize(self.k)
        return out if dtype is None else out.astype(dtype)

    def mean_f64(self) -> np.ndarray:
        """The mean row in float64, as ``np.asarray(self).mean(0, dtype=np.float64)``
        computes it (rows added one after another), a block at a time."""
        acc = np.zeros((1, self.table.embedding_dim()), np.float64)
        for r0 in range(0, len(self), self.table.block):
            rows = self.rows(r0, min(len(self), r0 + self.table.block))
            acc = np.add.reduce(np.concatenate([acc, rows.astype(np.float64)]), 0, keepdims=True)
        return acc[0] / len(self)

    def centered(self, window: int = 0) -> CenteredRuns:
        """``alignment.center_runs`` of this matrix, on demand: less the mean row, or with
        ``window`` (over three segments of that many rows) less each segment's local
        mean (:func:`segment_means`)."""
        n = len(self)
        if centres_locally(n, window):
            return CenteredRuns(self, segment_means(n, window, self.rows), window)
        return CenteredRuns(self, self.mean_f64().astype(np.float32)[None, :], max(n, 1))


class CenteredRuns(LazyRuns):
    """Rows of a :class:`LazyRuns` less their mean (row ``i``: ``means[i // segment]``),
    re-normalised (as ``alignment.center_runs`` computes them, row by row)."""

    def __init__(self, raw: LazyRuns, means: np.ndarray, segment: int):
        super().__init__(raw.table, raw.k)
        self.raw, self.means, self.segment = raw, means, segment

    def rows(self, r0: int, r1: int) -> np.ndarray:
        return center_rows(self.raw.rows(r0, r1), self.means[np.arange(r0, max(r0, r1)) // self.segment])

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)) or isinstance(key, slice):
            return super().__getitem__(key)
        index = np.asarray(key)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        index = index.astype(np.int64, copy=False)
        if len(index) == 0:
            return np.zeros((0, self.table.embedding_dim()), np.float32)
        index = np.where(index < 0, index + len(self), index)
        return center_rows(self.raw[index], self.means[index // self.segment])

    def __array__(self, dtype=None, copy=None):
        out = np.concatenate([self.rows(r0, min(len(self), r0 + self.table.block))
                              for r0 in range(0, len(self), self.table.block)] or
                             [np.zeros((0, self.table.embedding_dim()), np.float32)])
        return out if dtype is None else out.astype(dtype)

    def centered(self, window: int = 0) -> CenteredRuns:
        raise TypeError("already centred")


def centres_locally(n: int, window: int) -> bool:
    """Whether ``n`` rows are centred on local means (:func:`segment_means`): more than
    three segments of ``window``; otherwise on their whole mean."""
    return bool(window) and n > 3 * window


def segment_means(n: int, window: int, rows_of: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """The local means (float32) of ``n`` rows cut into segments of ``window``: each
    segment's is the mean of its own rows and those of the segment on either side.
    ``rows_of(a, b)``: rows ``a`` to ``b - 1`` (read once, a segment at a time, so rows
    computed on demand give the same bits as held ones)."""
    starts = range(0, n, window)
    sums = np.stack([rows_of(a, min(n, a + window)).sum(0, dtype=np.float64) for a in starts])
    counts = np.array([min(window, n - a) for a in starts])
    zeros = np.zeros((1, sums.shape[1]))
    padded, sizes = np.vstack([zeros, sums, zeros]), np.concatenate([[0], counts, [0]])
    local = padded[:-2] + padded[1:-1] + padded[2:]
    return (local / (sizes[:-2] + sizes[1:-1] + sizes[2:])[:, None]).astype(np.float32)


def center_rows(rows: np.ndarray, means: np.ndarray) -> np.ndarray:
    """``rows`` less ``means`` (one row, or one per row), each re-normalised (float32)."""
    c = rows - means
    norms = np.linalg.norm(c, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return (c / norms).astype(np.float32)


def pooled_runs(states: np.ndarray, lens: np.ndarray, embed: Callable[[np.ndarray, np.ndarray], np.ndarray],
                max_run: int, *, held_bytes: int) -> list:
    """Embeddings of every run of 1..``max_run`` sentences (``runs[k-1][i]``: sentences
    i..i+k-1): plain float32 arrays when all of them take at most ``held_bytes`` (the
    state width standing for the embedding's), else :class:`LazyRuns` computing them on
    demand."""
    states = np.ascontiguousarray(states, dtype=np.float32)
    rows = run_count(len(states), max_run)
    if rows <= BLOCK * max_run:
        # A short document: one head call for every run length (a call has a fixed cost
        # that dominates on short documents), as many rows as max_run blocks.
        return runs_in_one_call([(states, lens)], embed, max_run)[0]
    table = RunTable(states, lens, embed, max_run)
    if rows * table.embedding_dim() * 4 <= held_bytes:
        return [table.materialize(k) for k in range(1, max_run + 1)]
    return table.lazy()


def runs_in_one_call(sides: Sequence[tuple[np.ndarray, np.ndarray]],
                     embed: Callable[[np.ndarray, np.ndarray], np.ndarray], max_run: int) -> list[list[np.ndarray]]:
    """The runs of several short sides (``(states, token_counts)`` each) through the head
    together (a call has a fixed cost that dominates on short documents): per side, one
    array per run length, the same bits as one side at a time (the head's rows do not
    depend on the batch)."""
    if not sides:
        return []
    sums, counts = zip(*(run_sums(np.ascontiguousarray(states, np.float32), lens, max_run) for states, lens in sides))
    embedded = embed_in_blocks(np.concatenate(sums), np.concatenate(counts), embed)
    out, start = [], 0
    for (states, _), part in zip(sides, sums):
        out.append(split_runs(embedded[start:start + len(part)], len(states), max_run))
        start += len(part)
    return out


def embed_in_blocks(sums: np.ndarray, counts: np.ndarray, embed: Callable[[np.ndarray, np.ndarray], np.ndarray],
                    rows: int | None = None) -> np.ndarray:
    """``embed(sums, counts)`` at most ``rows`` rows a call (default: 8 blocks), so the
    head's activations stay bounded; the rows do not depend on how they are split."""
    rows = rows or 8 * BLOCK
    if len(sums) <= rows:
        return np.asarray(embed(sums, counts), np.float32)
    return np.concatenate([np.asarray(embed(sums[r:r + rows], counts[r:r + rows]), np.float32)
                           for r in range(0, len(sums), rows)])


def run_count(n: int, max_run: int) -> int:
    """How many runs of 1..``max_run`` consecutive sentences ``n`` sentences have."""
    return sum(max(n - k + 1, 0) for k in range(1, max_run + 1))


def run_sums(states: np.ndarray, lens: np.ndarray, max_run: int) -> tuple[np.ndarray, np.ndarray]:
    """The summed states and token counts of every run of 1..``max_run`` sentences, run
    length by run length (the rows :class:`RunTable` gives, the same bits: the same
    float64 cumulative sum from zero)."""
    n, dim = states.shape
    cs = np.zeros((n + 1, dim), np.float64)
    cs[1:] = states
    np.cumsum(cs, 0, out=cs)
    cl = np.concatenate([[0], np.cumsum(np.asarray(lens, np.int64))])
    ks = [k for k in range(1, max_run + 1) if n - k + 1 > 0]
    if not ks:
        return np.zeros((0, dim), np.float32), np.zeros(0, np.int64)
    return (np.concatenate([(cs[k:] - cs[:-k]).astype(np.float32) for k in ks]),
            np.concatenate([cl[k:] - cl[:-k] for k in ks]))


def split_runs(embedded: np.ndarray, n: int, max_run: int) -> list[np.ndarray]:
    """``run_sums``' rows, embedded, as one array per run length (empty ones included)."""
    runs, start = [], 0
    for k in range(1, max_run + 1):
        size = max(n - k + 1, 0)
        runs.append(embedded[start:start + size])
        start += size
    return runs
