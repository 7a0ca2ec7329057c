"""Helpers shared by the torch encoders: batch-independent CPU matmuls (float32 and
int8), file digests."""

from __future__ import annotations

import functools
import hashlib
import os
import time

import numpy as np
import torch
from torch import nn

from .base import DEFAULT_ENGINE, ENGINES, EncoderLoadError  # noqa: F401  (DEFAULT_ENGINE re-exported)


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


def quantize_columns(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Float weights (in, out) -> int8 weights and one float32 scale per output column
    (symmetric: the column's largest magnitude maps to 127)."""
    scale = w.abs().amax(0).clamp_min(1e-30) / 127.0
    return torch.round(w / scale).to(torch.int8).contiguous(), scale.float()


class Workspace:
    """Scratch tensors reused by every layer of one forward pass.

    A fresh multi-MB tensor per op is fresh pages from the allocator (page faults on
    first touch) and cold caches: on CPU that costs about as much as the int8 products.
    ``take`` hands out a view of one buffer per name, grown when a larger one is asked
    for (the same view object for the same request: no per-call slicing); the buffers
    go when the workspace does."""

    def __init__(self) -> None:
        self._buffers: dict[str, torch.Tensor] = {}
        self._views: dict[tuple, torch.Tensor] = {}

    def take(self, name: str, rows: int, cols: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """A (rows, cols) CPU tensor of ``dtype``, contents undefined."""
        key = (name, rows, cols, dtype)
        view = self._views.get(key)
        if view is None:
            n = rows * cols
            buf = self._buffers.get(name)
            if buf is None or buf.numel() < n or buf.dtype != dtype:
                buf = self._buffers[name] = torch.empty(n, dtype=dtype)
                self._views = {k: v for k, v in self._views.items() if k[0] != name}
            view = self._views[key] = buf[:n].view(rows, cols)
        return view


# Products of int8 values summed in float32 are exact integers while every partial sum
# stays below 2**24: at most this many terms of 127 * 127 each.
_EXACT_TERMS = (1 << 24) // (127 * 127)


@functools.cache
def int_mm_is_fast() -> bool:
    """Whether ``torch._int_mm`` beats a float32 product on this CPU.

    With VNNI or AMX it is several times faster; without them (AVX2-only CPUs: many
    cloud machines, laptops before about 2020) it falls back to a plain loop about 40x
    slower than float32, which made the int8 engine unusable there. Both ways give the
    same bits (``exact_int_product``), so which one runs is only a question of speed:
    measured once per process on one layer-sized product."""
    x = torch.ones((128, 384), dtype=torch.int8)
    w = torch.ones((384, 384), dtype=torch.int8)
    xf, wf = x.float(), w.float()

    def seconds(fn) -> float:
        fn()
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        return best

    return seconds(lambda: torch._int_mm(x, w)) < seconds(lambda: xf @ wf)


def exact_int_product(xf: torch.Tensor, wf: torch.Tensor, out: torch.Tensor,
                      work: Workspace | None = None) -> torch.Tensor:
    """``xf @ wf`` for float32 matrices holding int8 values, rounded to float32 exactly
    as ``torch._int_mm``'s int32 result converted to float32 would be, whatever the BLAS.

    Each product of at most ``_EXACT_TERMS`` terms is an exact integer in any summation
    order; two such halves added once are the exact sum rounded once (IEEE addition),
    as the int32 -> float32 conversion rounds it; longer sums add their parts in
    float64 (exact) and round once."""
    n, k = xf.shape
    if k <= _EXACT_TERMS:
        return torch.mm(xf, wf, out=out)
    parts = -(-k // _EXACT_TERMS)
    step = -(-k // parts)
    work = Workspace() if work is None else work
    if parts == 2:
        torch.mm(xf[:, :step], wf[:step], out=out)
        return out.add_(torch.mm(xf[:, step:], wf[step:], out=work.take("int8_part", n, wf.shape[1])))
    total = torch.zeros((n, wf.shape[1]), dtype=torch.float64)
    for s in range(0, k, step):
        total += torch.mm(xf[:, s:s + step], wf[s:s + step]).double()
    return out.copy_(total)


def int8_linear(x: torch.Tensor, wq: torch.Tensor, w_scale: torch.Tensor, bias: torch.Tensor, *,
                out: torch.Tensor | None = None, work: Workspace | None = None,
                wf: torch.Tensor | None = None) -> torch.Tensor:
    """``x @ w + bias`` with ``x`` quantised to int8 per row (its own largest magnitude
    maps to 127) and ``w`` per column (``quantize_columns``), multiplied in exact integer
    arithmetic: ``torch._int_mm`` where the CPU has fast int8 products (VNNI/AMX, several
    times a float32 product), else the same integers in float32 (``exact_int_product``,
    needs ``wf`` = ``wq`` as float32): the same bits either way.

    Per-row scales keep every row independent of the others, and integer sums do not
    depend on how a BLAS blocks the product: a text's embedding is the same bits in any
    batch, with no row tiling needed. ``out`` (rows, out features) receives the result;
    ``work`` lends the scratch tensors (see ``Workspace``)."""
    n, k = x.shape
    work = Workspace() if work is None else work
    x_scale = torch.maximum(x.amax(1, keepdim=True), x.amin(1, keepdim=True).neg_()).clamp_min_(1e-30).div_(127.0)
    xf = torch.div(x, x_scale, out=work.take("int8_x", n, k)).round_()
    y = x.new_empty((n, wq.shape[1])) if out is None else out
    if wf is None and int_mm_is_fast():
        xq = work.take("int8_xq", n, k, torch.int8).copy_(xf)
        acc = torch._int_mm(xq, wq, out=work.take("int8_acc", n, wq.shape[1], torch.int32))
        y.copy_(acc)
    else:
        exact_int_product(xf, wq.float() if wf is None else wf, y, work)
    # Three in-place passes (not y * x_scale on int32, which is several times slower on CPU).
    return torch.addcmul(bias, y.mul_(x_scale), w_scale, out=y)


class TiledLinear(nn.Module):
    """``x @ w + b`` in float (``w`` stored (in, out)); row-tiled on CPU (see
    ``row_tiled_matmul``), a plain product on a GPU."""

    def __init__(self, w: torch.Tensor, b: torch.Tensor, rows: int):
        super().__init__()
        self.register_buffer("w", w.float().contiguous())
        self.register_buffer("b", b.float().contiguous())
        self.rows = rows

    def forward(self, x: torch.Tensor, out: torch.Tensor | None = None, work: Workspace | None = None) -> torch.Tensor:
        y = row_tiled_matmul(x, self.w, self.rows)
        return y + self.b if out is None else torch.add(y, self.b, out=out)


class Int8Linear(nn.Module):
    """``x @ w + b`` as ``int8_linear`` (CPU only): int8 weights, a quarter of the memory
    (where the CPU lacks fast int8 products, a float32 copy of the int8 weights is kept
    for ``exact_int_product``)."""

    def __init__(self, w: torch.Tensor, b: torch.Tensor):
        super().__init__()
        wq, scale = quantize_columns(w.float())
        self.register_buffer("wq", wq)
        self.register_buffer("scale", scale)
        self.register_buffer("b", b.float().contiguous())
        self._wf: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, out: torch.Tensor | None = None, work: Workspace | None = None) -> torch.Tensor:
        if self._wf is None and not int_mm_is_fast():
            self._wf = self.wq.float()
        return int8_linear(x, self.wq, self.scale, self.b, out=out, work=work, wf=self._wf)

def check_engine(engine: str, device: torch.device) -> str:
    """The CPU engines are float32 and int8; a GPU runs bfloat16 autocast (``"bf16"``)."""
    if device.type != "cpu":
        if engine == "int8":
            raise EncoderLoadError("the int8 engine runs on CPU only; on a GPU the encoders run in bfloat16")
        return "bf16"
    if engine not in ENGINES:
        raise EncoderLoadError(f"unknown encoder engine {engine!r}: choose one of {', '.join(ENGINES)}")
    return engine


def make_linear(w: torch.Tensor, b: torch.Tensor, engine: str, rows: int) -> nn.Module:
    return Int8Linear(w, b) if engine == "int8" else TiledLinear(w, b, rows)


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
