"""Any Hugging Face sentence encoder (hub id or local folder) through ``transformers``.

The model is loaded with ``AutoTokenizer`` + ``AutoModel``; the sentence-transformers
layout around it (``modules.json`` with Pooling / Dense / Normalize modules and
``sentence_bert_config.json``) is read and applied by hand, so the
``sentence-transformers`` package is not needed and results match what it computes.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from huggingface_hub import constants as hf_constants
from huggingface_hub import HfApi, hf_hub_download, try_to_load_from_cache
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HFValidationError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import validate_repo_id

from .base import EncoderLoadError, l2_normalize

__all__ = ["POOLING_MODES", "TransformersEncoder"]

# Pooling modes in the order sentence-transformers concatenates them when a config
# switches on several, with the config key that switches each one on.
_POOLING_KEYS: dict[str, str] = {
    "cls": "pooling_mode_cls_token",
    "max": "pooling_mode_max_tokens",
    "mean": "pooling_mode_mean_tokens",
    "mean_sqrt_len": "pooling_mode_mean_sqrt_len_tokens",
    "weightedmean": "pooling_mode_weightedmean_tokens",
    "last": "pooling_mode_lasttoken",
}
POOLING_MODES: tuple[str, ...] = tuple(_POOLING_KEYS)
# Spellings sentence-transformers accepts for its string ``pooling_mode``.
_POOLING_ALIASES = {"lasttoken": "last", "last_token": "last", "cls_token": "cls"}

_ST_PREFIX = "sentence_transformers.models."

# Exception class names (from httpx / httpcore / requests / urllib3, whichever the
# installed huggingface_hub uses) that mean "the network or the server was not there".
_NETWORK_ERROR_NAMES = frozenset(
    {
        "ConnectError",
        "ConnectTimeout",
        "ConnectionError",
        "NetworkError",
        "NewConnectionError",
        "MaxRetryError",
        "PoolTimeout",
        "ProxyError",
        "ReadTimeout",
        "SSLError",
        "Timeout",
        "TimeoutException",
    }
)


@dataclass(frozen=True)
class _Dense:
    """One sentence-transformers Dense module: ``activation(x @ W.T + b)``."""

    linear: torch.nn.Linear
    activation: torch.nn.Module
    activation_name: str

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.linear(x))


class TransformersEncoder:
    """Sentence embeddings from a Hugging Face model, L2-normalised float32 rows.

    ``model`` is a hub id (``sentence-transformers/LaBSE``) or a local folder. Pooling,
    Dense and Normalize come from the sentence-transformers config when the model has
    one (mean pooling otherwise); ``pooling`` overrides it (``"cls"``, ``"mean"``,
    ``"max"``, ``"last"``, ``"mean_sqrt_len"``, ``"weightedmean"``, or several joined
    with ``+``). The output is always L2-normalised because the ``SentenceEncoder``
    interface requires it; ``normalize`` exists only to say so explicitly and
    ``normalize=False`` is rejected. ``device`` defaults to CUDA when available (with
    bf16/fp16 autocast), else CPU in float32.
    """

    def __init__(
        self,
        model: str,
        *,
        device: str | None = None,
        batch_size: int = 64,
        max_length: int = 256,
        pooling: str | None = None,
        normalize: bool | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_length < 2:
            raise ValueError(f"max_length must be >= 2, got {max_length}")
        if normalize is False:
            raise ValueError(
                "normalize=False is not supported: every SentenceEncoder returns L2-normalised rows"
            )
        override = _parse_pooling(pooling) if pooling is not None else None

        self.name: str = str(model)
        self.batch_size = batch_size

        source = _ModelSource(self.name)
        spec = source.read_sentence_transformers_config()

        # Pooling: explicit argument > sentence-transformers config > mean (the
        # sentence-transformers default for plain transformers checkpoints).
        if override is not None:
            pooling_modes, pooling_source = override, "argument"
        elif spec.pooling is not None:
            pooling_modes, pooling_source = spec.pooling, "sentence-transformers config"
        else:
            pooling_modes, pooling_source = ("mean",), "default"

        self.device = torch.device(device) if device is not None else _default_device()
        # Autocast on CUDA only: on CPU fp32 is both faster for small batches and exact.
        self._amp_dtype: torch.dtype | None = None
        if self.device.type == "cuda":
            self._amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16

        self.tokenizer, self.model = source.load_transformer(spec.transformer_path)
        self.model.to(device=self.device, dtype=torch.float32)
        self.model.eval()
        if self.tokenizer.pad_token is None:
            # Decoder-style encoders (last-token pooling) often ship without a pad token;
            # any id works because padded positions are masked out of attention and pooling.
            fallback = self.tokenizer.eos_token or self.tokenizer.unk_token
            if fallback is None:
                raise EncoderLoadError(f"The tokenizer of '{self.name}' has no pad, eos or unk token to pad with")
            self.tokenizer.pad_token = fallback
        self._forward_args = set(inspect.signature(self.model.forward).parameters)

        # Never run past the positions the model was built for (e.g. 512 for BERT).
        limit = _position_limit(self.tokenizer, self.model)
        self.max_length = min(max_length, limit) if limit is not None else max_length
        self._lowercase = spec.lowercase

        self._steps: list[tuple[str, Any]] = []
        if override is not None or spec.pipeline is None:
            self._steps.append(("pool", pooling_modes))
            self._steps.extend(("dense", d) for d in spec.dense)
        else:
            self._steps = list(spec.pipeline)
        self._dense = [step[1] for step in self._steps if step[0] == "dense"]
        for layer in self._dense:
            layer.linear.to(self.device)
            layer.activation.to(self.device)
        self._dim = self._output_dim(pooling_modes)

        self._settings: dict[str, Any] = {
            "model": self.name,
            "pooling": "+".join(pooling_modes),
            "pooling_source": pooling_source,
            "dense": bool(self._dense),
            "dense_layers": [
                {"in": d.linear.in_features, "out": d.linear.out_features, "activation": d.activation_name}
                for d in self._dense
            ],
            "normalize": True,
            "model_normalize": spec.normalize,
            "lowercase": self._lowercase,
            "max_length": self.max_length,
            "dim": self._dim,
            "device": str(self.device),
            "precision": f"{str(self._amp_dtype).removeprefix('torch.')}-autocast" if self._amp_dtype else "float32",
            "sentence_transformers_config": spec.found,
        }

    # -- public API ---------------------------------------------------------------

    @property
    def settings(self) -> dict[str, Any]:
        """How embeddings are made (pooling, dense, max_length, ...), for provenance."""
        return json.loads(json.dumps(self._settings))  # deep copy: callers may mutate theirs

    @property
    def dim(self) -> int:
        """Embedding dimension (columns of ``encode``'s output)."""
        return self._dim

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed ``texts``; returns an ``(len(texts), dim)`` float32 array of unit rows,
        in input order."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not a single string")
        texts = list(texts)
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        batch_size = self.batch_size if batch_size is None else batch_size
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if self._lowercase:
            texts = [text.lower() for text in texts]

        # Tokenise once, unpadded, to learn lengths; batches of similar length waste
        # little compute on padding. Longest first so an out-of-memory error shows up on
        # the first batch rather than after minutes of work.
        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_length, padding=False)
        lengths = [len(ids) for ids in encoded["input_ids"]]
        order = sorted(range(len(texts)), key=lambda i: (-lengths[i], i))

        result = np.empty((len(texts), self._dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                features = {key: [encoded[key][i] for i in rows] for key in encoded.keys()}
                batch = self.tokenizer.pad(features, padding=True, return_tensors="pt")
                result[rows] = self._embed_batch(batch).cpu().numpy()
        return l2_normalize(result)

    def __repr__(self) -> str:
        return f"TransformersEncoder({self.name!r}, pooling={self._settings['pooling']!r}, device={str(self.device)!r})"

    # -- internals ----------------------------------------------------------------

    def _embed_batch(self, batch: Any) -> torch.Tensor:
        inputs = {k: v.to(self.device) for k, v in batch.items() if k in self._forward_args}
        mask = batch["attention_mask"].to(self.device)
        autocast = (
            torch.autocast(device_type=self.device.type, dtype=self._amp_dtype)
            if self._amp_dtype is not None
            else contextlib.nullcontext()
        )
        with autocast:
            output = self.model(**inputs)
        hidden = output.last_hidden_state if hasattr(output, "last_hidden_state") else output[0]
        # Pool and project in float32: the half-precision part is only the transformer.
        x = hidden.float()
        for kind, arg in self._steps:
            if kind == "pool":
                x = _pool(x, mask, arg)
            elif kind == "dense":
                x = arg(x)
            else:  # "normalize": a Normalize module in the middle of the pipeline
                x = torch.nn.functional.normalize(x, p=2.0, dim=-1)
        return x

    def _output_dim(self, pooling_modes: tuple[str, ...]) -> int:
        config = self.model.config
        hidden = getattr(config, "hidden_size", None) or getattr(config, "d_model", None)
        if not isinstance(hidden, int):
            # Unusual config: learn the width from one real forward pass.
            with torch.inference_mode():
                batch = self.tokenizer(["a"], return_tensors="pt")
                return int(self._embed_batch(batch).shape[1])
        width = hidden * len(pooling_modes)
        for layer in self._dense:
            # Checked here so a wrong config (or pooling override) fails at load, not mid-run.
            if layer.linear.in_features != width:
                raise EncoderLoadError(
                    f"Dense layer of '{self.name}' expects {layer.linear.in_features} inputs but "
                    f"receives {width} (pooling {'+'.join(pooling_modes)} over hidden size {hidden})"
                )
            width = layer.linear.out_features
        return width


# -- pooling --------------------------------------------------------------------------


def _parse_pooling(value: str) -> tuple[str, ...]:
    modes = []
    for part in value.lower().replace(",", "+").split("+"):
        part = _POOLING_ALIASES.get(part.strip(), part.strip())
        if part not in _POOLING_KEYS:
            raise ValueError(f"Unknown pooling {value!r}; choose from {', '.join(POOLING_MODES)} (or join with '+')")
        modes.append(part)
    return tuple(modes)


def _pool(hidden: torch.Tensor, mask: torch.Tensor, modes: tuple[str, ...]) -> torch.Tensor:
    """Sentence-transformers ``Pooling`` over ``hidden`` (B, T, H) with ``mask`` (B, T)."""
    mask_f = mask.unsqueeze(-1).to(hidden.dtype)
    counts = mask_f.sum(dim=1).clamp(min=1e-9)
    pooled = []
    for mode in modes:
        if mode == "cls":
            pooled.append(hidden[:, 0])
        elif mode == "max":
            masked = hidden.masked_fill(mask_f == 0, torch.finfo(hidden.dtype).min)
            pooled.append(masked.max(dim=1).values)
        elif mode == "mean":
            pooled.append((hidden * mask_f).sum(dim=1) / counts)
        elif mode == "mean_sqrt_len":
            pooled.append((hidden * mask_f).sum(dim=1) / counts.sqrt())
        elif mode == "weightedmean":
            positions = torch.arange(1, hidden.shape[1] + 1, device=hidden.device, dtype=hidden.dtype)
            weights = mask_f * positions.view(1, -1, 1)
            pooled.append((hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9))
        elif mode == "last":
            # Last non-padding position, whichever side the tokenizer pads on.
            last = mask.shape[1] - 1 - mask.flip(dims=[1]).long().argmax(dim=1)
            pooled.append(hidden[torch.arange(hidden.shape[0], device=hidden.device), last])
        else:  # _parse_pooling / the config reader only let known modes through
            raise AssertionError(mode)
    return pooled[0] if len(pooled) == 1 else torch.cat(pooled, dim=-1)


def _position_limit(tokenizer: Any, model: torch.nn.Module) -> int | None:
    """Longest input the model accepts: the tokenizer's ``model_max_length`` when set,
    else the config's ``max_position_embeddings`` (less RoBERTa's padding offset)."""
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 1_000_000:  # unset means ~1e30
        return limit
    positions = getattr(model.config, "max_position_embeddings", None)
    if not isinstance(positions, int) or positions <= 0:
        return None
    # RoBERTa-style embeddings number positions from padding_idx + 1 (514 -> 512 usable).
    padding_idx = getattr(getattr(model, "embeddings", None), "padding_idx", None)
    if isinstance(padding_idx, int):
        positions -= padding_idx + 1
    return positions


def _default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# -- loading --------------------------------------------------------------------------


@dataclass
class _STSpec:
    """What a sentence-transformers ``modules.json`` (and friends) asked for."""

    found: bool = False
    transformer_path: str = ""
    pooling: tuple[str, ...] | None = None
    dense: tuple[_Dense, ...] = ()
    normalize: bool = False
    lowercase: bool = False
    # The post-transformer modules in config order: ("pool", modes) | ("dense", _Dense) | ("normalize", None).
    pipeline: tuple[tuple[str, Any], ...] | None = None


class _ModelSource:
    """Reads files of a model from a local folder or the Hugging Face Hub, turning
    network and not-found failures into ``EncoderLoadError`` with actionable text."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.folder: Path | None = None
        path = Path(model).expanduser()
        if path.is_dir():
            self.folder = path
        elif _looks_like_local_path(model):
            what = "is a file, not a model folder" if path.exists() else "does not exist"
            raise EncoderLoadError(
                f"Local model folder '{model}' {what}. Pass a folder holding a saved model "
                "(config.json, weights, tokenizer files), or a Hugging Face Hub model id."
            )
        # After the first failed contact with the Hub, only the cache is used: each
        # further attempt would sit through huggingface_hub's retries for nothing.
        self.local_only = False
        self.hub_error: BaseException | None = None
        if self.folder is None:
            self._probe_hub()

    def _probe_hub(self) -> None:
        """One quick, retry-free request to the Hub. If it cannot be reached, load from
        the cache only; otherwise every file download (including ones served from the
        cache) would first spend ~25 s in huggingface_hub's connection retries."""
        try:
            HfApi().model_info(self.model, timeout=10)
        except GatedRepoError:
            pass  # exists; downloads will say whether this user may read it
        except RepositoryNotFoundError as exc:
            raise EncoderLoadError(
                f"'{self.model}' is neither an existing local folder nor a model id on the Hugging Face "
                "Hub (if it is private, log in with `hf auth login`)."
            ) from exc
        except Exception as exc:  # the HTTP client's own errors are not OSErrors
            if not _is_connection_problem(exc):
                if isinstance(exc, HfHubHTTPError):
                    # Other HTTP answers (rate limit, auth, ...) are left to the file
                    # downloads, which report them with the file concerned.
                    return
                raise
            self.local_only = True
            self.hub_error = exc

    # Files ---------------------------------------------------------------------------

    def fetch(self, filename: str) -> Path | None:
        """Local path of ``filename`` (relative to the model root), or None when the
        model has no such file or it cannot be had (see ``hub_error``)."""
        if self.folder is not None:
            candidate = self.folder / filename
            return candidate if candidate.is_file() else None
        try:
            return Path(hf_hub_download(self.model, filename, local_files_only=self.local_only))
        except LocalEntryNotFoundError as exc:  # subclass of EntryNotFoundError: test first
            cached = try_to_load_from_cache(self.model, filename)
            if cached is not None and not isinstance(cached, str):
                return None  # the cache knows the repo has no such file
            self.local_only = True
            self.hub_error = self.hub_error or exc
            return None
        except EntryNotFoundError:
            return None  # the repo exists but lacks this (optional) file
        except GatedRepoError as exc:
            raise EncoderLoadError(
                f"'{self.model}' is a gated model on the Hugging Face Hub: accept its terms on "
                f"https://huggingface.co/{self.model} and log in (`hf auth login`), or use a local folder."
            ) from exc
        except RepositoryNotFoundError as exc:
            raise EncoderLoadError(
                f"'{self.model}' is neither an existing local folder nor a model id on the Hugging Face "
                "Hub (if it is private, log in with `hf auth login`)."
            ) from exc
        except RevisionNotFoundError as exc:
            raise EncoderLoadError(f"Revision not found for '{self.model}' on the Hugging Face Hub: {exc}") from exc
        except (HfHubHTTPError, OSError) as exc:
            if _is_connection_problem(exc):
                raise _hub_unreachable(self.model, exc) from exc
            raise EncoderLoadError(f"Could not download '{filename}' of '{self.model}': {exc}") from exc

    def require(self, filename: str, why: str) -> Path:
        """Like ``fetch`` but the file must exist."""
        path = self.fetch(filename)
        if path is not None:
            return path
        if self.hub_error is not None:
            raise _hub_unreachable(self.model, self.hub_error) from self.hub_error
        raise EncoderLoadError(f"'{self.model}' has no file '{filename}' ({why})")

    def read_json(self, filename: str, why: str) -> Any:
        path = self.require(filename, why)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EncoderLoadError(f"Could not read '{filename}' of '{self.model}': {exc}") from exc

    # Sentence-transformers layout ----------------------------------------------------

    def read_sentence_transformers_config(self) -> _STSpec:
        path = self.fetch("modules.json")
        if path is None:
            if self.hub_error is not None:
                self._fall_back_to_cached_model()
            return _STSpec()
        try:
            modules = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EncoderLoadError(f"Could not read modules.json of '{self.model}': {exc}") from exc
        if not isinstance(modules, list):
            raise EncoderLoadError(f"modules.json of '{self.model}' is not a list of modules")

        spec = _STSpec(found=True)
        pipeline: list[tuple[str, Any]] = []
        dense: list[_Dense] = []
        seen_transformer = False
        for module in sorted(modules, key=lambda m: int(m.get("idx", 0))):
            kind = str(module.get("type", ""))
            folder = str(module.get("path", "")).strip("/")
            short = kind.removeprefix(_ST_PREFIX)
            if short == "Transformer" and not seen_transformer:
                seen_transformer = True
                spec.transformer_path = folder
                spec.lowercase = self._read_lowercase(folder)
            elif short == "Pooling":
                modes = _pooling_from_config(self.read_json(_join(folder, "config.json"), "Pooling module config"))
                if not modes:
                    raise EncoderLoadError(f"The Pooling module of '{self.model}' enables no pooling mode")
                spec.pooling = spec.pooling or modes
                pipeline.append(("pool", modes))
            elif short == "Dense":
                layer = self._read_dense(folder)
                dense.append(layer)
                pipeline.append(("dense", layer))
            elif short == "Normalize":
                spec.normalize = True
                pipeline.append(("normalize", None))
            else:
                # Refuse rather than silently skip a step the model was trained with.
                raise EncoderLoadError(
                    f"'{self.model}' uses sentence-transformers module '{kind}', which this encoder "
                    "does not support (supported: Transformer, Pooling, Dense, Normalize)."
                )
        if not seen_transformer:
            raise EncoderLoadError(f"modules.json of '{self.model}' lists no Transformer module")
        if pipeline and pipeline[0][0] != "pool":
            raise EncoderLoadError(f"modules.json of '{self.model}' does not pool right after the Transformer")
        if not pipeline:
            pipeline.append(("pool", ("mean",)))
        spec.dense = tuple(dense)
        spec.pipeline = tuple(pipeline)
        return spec

    def _fall_back_to_cached_model(self) -> None:
        """The Hub is unreachable and modules.json is not cached: go on from the cache
        (with a warning, since pooling then defaults to mean) when the model itself is
        there, else fail with the offline options."""
        assert self.hub_error is not None
        if isinstance(try_to_load_from_cache(self.model, "config.json"), str):
            warnings.warn(
                f"The Hugging Face Hub could not be reached and no sentence-transformers config "
                f"(modules.json) of '{self.model}' is cached; using the cached transformers model "
                "with mean pooling, which may differ from the model's intended pooling.",
                RuntimeWarning,
                stacklevel=4,
            )
            return
        raise _hub_unreachable(self.model, self.hub_error) from self.hub_error

    def _read_lowercase(self, folder: str) -> bool:
        path = self.fetch(_join(folder, "sentence_bert_config.json"))
        if path is None:
            return False
        try:
            return bool(json.loads(path.read_text(encoding="utf-8")).get("do_lower_case", False))
        except (OSError, ValueError) as exc:
            raise EncoderLoadError(f"Could not read sentence_bert_config.json of '{self.model}': {exc}") from exc

    def _read_dense(self, folder: str) -> _Dense:
        config = self.read_json(_join(folder, "config.json"), "Dense module config")
        try:
            in_features, out_features = int(config["in_features"]), int(config["out_features"])
        except (KeyError, TypeError, ValueError) as exc:
            raise EncoderLoadError(f"Dense config of '{self.model}' lacks in_features/out_features") from exc
        has_bias = bool(config.get("bias", True))
        activation_name = str(config.get("activation_function") or "torch.nn.modules.linear.Identity")

        weights_path = self.fetch(_join(folder, "model.safetensors")) or self.fetch(_join(folder, "pytorch_model.bin"))
        if weights_path is None:
            if self.hub_error is not None:
                raise _hub_unreachable(self.model, self.hub_error) from self.hub_error
            raise EncoderLoadError(f"Dense module '{folder}' of '{self.model}' has no model.safetensors or pytorch_model.bin")
        try:
            if weights_path.suffix == ".safetensors":
                from safetensors.torch import load_file

                state = load_file(str(weights_path))
            else:
                state = torch.load(weights_path, map_location="cpu", weights_only=True)
        except Exception as exc:  # corrupt / truncated file: report which one
            raise EncoderLoadError(f"Could not load Dense weights '{weights_path}': {exc}") from exc
        state = {k.removeprefix("linear."): v for k, v in state.items()}

        linear = torch.nn.Linear(in_features, out_features, bias=has_bias)
        try:
            linear.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise EncoderLoadError(f"Dense weights of '{self.model}' do not match its config: {exc}") from exc
        linear.eval()
        return _Dense(linear=linear, activation=_activation(activation_name, self.model), activation_name=activation_name)

    # Transformer ----------------------------------------------------------------------

    def load_transformer(self, subfolder: str) -> tuple[Any, torch.nn.Module]:
        """Tokenizer and model of the Transformer module (root or ``subfolder``)."""
        import transformers

        if self.folder is not None:
            root = self.folder / subfolder if subfolder else self.folder
            if not (root / "config.json").is_file():
                raise EncoderLoadError(
                    f"'{root}' is not a Hugging Face model folder (no config.json); save one with "
                    "`model.save_pretrained(folder)` and `tokenizer.save_pretrained(folder)`."
                )
            target, kwargs = str(root), {}
        else:
            target = self.model
            kwargs = {"local_files_only": self.local_only}
            if subfolder:
                kwargs["subfolder"] = subfolder
        try:
            config = transformers.AutoConfig.from_pretrained(target, **kwargs)
            tokenizer = transformers.AutoTokenizer.from_pretrained(target, **kwargs)
            # T5-family checkpoints are encoder-decoders; embeddings come from the encoder
            # alone (as in sentence-transformers), which AutoModel would not give.
            model_cls = {
                "t5": "T5EncoderModel",
                "mt5": "MT5EncoderModel",
                "umt5": "UMT5EncoderModel",
            }.get(getattr(config, "model_type", ""), "AutoModel")
            model = getattr(transformers, model_cls).from_pretrained(target, config=config, **kwargs)
        except (OSError, ValueError, HfHubHTTPError) as exc:
            if self.folder is None and _is_connection_problem(exc):
                raise _hub_unreachable(self.model, exc) from exc
            raise EncoderLoadError(f"Could not load the transformers model '{target}': {exc}") from exc
        return tokenizer, model


def _pooling_from_config(config: Any) -> tuple[str, ...]:
    if not isinstance(config, dict):
        return ()
    if isinstance(config.get("pooling_mode"), str):
        try:
            return _parse_pooling(config["pooling_mode"])
        except ValueError as exc:
            raise EncoderLoadError(str(exc)) from exc
    return tuple(mode for mode, key in _POOLING_KEYS.items() if config.get(key))


def _activation(name: str, model: str) -> torch.nn.Module:
    """Instantiate a ``torch.nn`` activation named by its dotted class path. Only
    ``torch.nn`` classes, so a config file cannot make us import arbitrary code."""
    module_name, _, class_name = name.rpartition(".")
    if not name.startswith("torch.nn.") or not class_name:
        raise EncoderLoadError(f"Unsupported Dense activation '{name}' in '{model}' (only torch.nn modules)")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise EncoderLoadError(f"Unknown Dense activation '{name}' in '{model}'") from exc
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise EncoderLoadError(f"Dense activation '{name}' in '{model}' is not a torch.nn.Module")
    return cls()


def _join(folder: str, filename: str) -> str:
    # Hub paths always use '/', whatever the OS.
    return f"{folder}/{filename}" if folder else filename


def _looks_like_local_path(model: str) -> bool:
    """True when ``model`` cannot be a hub id (``name`` or ``owner/name``), so a missing
    folder should be reported as such rather than looked up on the Hub."""
    if os.path.isabs(model) or model.startswith(("./", "../", "~", ".\\", "..\\")) or model in (".", ".."):
        return True
    if "\\" in model or model.count("/") > 1 or Path(model).exists():
        return True
    try:
        validate_repo_id(model)
    except HFValidationError:
        return True
    return False


def _is_connection_problem(exc: BaseException) -> bool:
    """Whether ``exc`` (or anything in its cause chain) means the Hub was unreachable
    or offline mode forbade contacting it, as opposed to a real error in the model."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (LocalEntryNotFoundError, OfflineModeIsEnabled, ConnectionError, TimeoutError, socket.gaierror)):
            return True
        if isinstance(current, HfHubHTTPError) and getattr(current, "response", None) is not None:
            status = getattr(current.response, "status_code", 0) or 0
            if status >= 500:  # the Hub is down / overloaded
                return True
        module = type(current).__module__.split(".")[0]
        if type(current).__name__ in _NETWORK_ERROR_NAMES and module.rstrip("0123456789") in {
            "httpx",
            "httpcore",
            "requests",
            "urllib3",
        }:
            return True
        current = current.__cause__ or current.__context__
    return False


def _hub_unreachable(model: str, cause: BaseException) -> EncoderLoadError:
    env_offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    offline = bool(hf_constants.HF_HUB_OFFLINE) or env_offline
    why = " (HF_HUB_OFFLINE is set)" if offline else ""
    detail = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return EncoderLoadError(
        f"The Hugging Face Hub could not be reached for '{model}'{why}; the model is not in the local "
        "Hugging Face cache and there is no local folder of that name. Offline options:\n"
        "  (1) the embedded default encoder use-multilingual-v3 (`--encoder use-multilingual-v3`), "
        "which works with no network;\n"
        "  (2) a local folder holding a saved model (`--encoder /path/to/model`), e.g. one written by "
        "`save_pretrained` or sentence-transformers `save` on a machine with network access;\n"
        "  (3) a model already in the local Hugging Face cache, with HF_HUB_OFFLINE=1 set.\n"
        f"Cause: {type(cause).__name__}: {detail}"
    )
