"""Helpers shared by the torch encoders: batch-independent CPU matmuls, file digests."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import torch


def row_tiled_matmul(x: torch.Tensor, w: torch.Tensor, rows: int) -> torch.Tensor:
    """``x @ w`` whose rows do not depend on the other rows of ``x`` (on CPU).

    A CPU BLAS picks its kernel from the matrix shape: the same sentence multiplied as
    row 3 of a 7-row batch or row 900 of a 2,000-row batch comes out different in the
    last bits, so embeddings (and a score rounded to 4 decimals, now and then) would
    depend on which sentences were batched together: the token budget, the sentence
    cache, a resumed run. Every product here has the same shape instead: ``rows`` rows
    (fixed per call site; the last tile zero-padded), so each row is computed the same
    way wherever it sits. Costs little on long documents and about a fifth more
    encoder time on very short ones (padding); on a GPU the plain product is used."""
    n = x.shape[0]
    if x.device.type != "cpu" or n == 0:
        return x @ w
    tiles = -(-n // rows)
    if tiles * rows > n:
        x = torch.cat([x, x.new_zeros((tiles * rows - n, x.shape[1]))])
    # One batched call over same-shape tiles: the same bits as a loop of tile @ w, without
    # a thread start-up per tile (which costs a lot on a busy machine).
    out = torch.bmm(x.reshape(tiles, rows, x.shape[1]), w.expand(tiles, *w.shape))
    return out.reshape(tiles * rows, w.shape[1])[:n]


def length_sorted_batches(lens: np.ndarray, token_budget: int):
    """Index arrays of batches of texts sorted by token count (a stable sort, so the
    batches are deterministic), each within ``token_budget`` tokens; a text longer than
    the budget gets a batch of its own."""
    order = np.argsort(lens, kind="stable")
    start = 0
    while start < len(order):
        stop, total = start, 0
        while stop < len(order) and (stop == start or total + lens[order[stop]] <= token_budget):
            total += lens[order[stop]]
            stop += 1
        yield order[start:stop]
        start = stop


def file_sha256(path: os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
