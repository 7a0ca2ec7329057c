"""Any Hugging Face sentence encoder (hub id, local folder or a ``SentenceTransformer``
object), loaded and run by the ``sentence-transformers`` library.

sentence-transformers reads the model's own layout (``modules.json``: Pooling, Dense,
Normalize and the rest; ``sentence_bert_config.json``; the prompts in
``config_sentence_transformers.json``) and gives a plain transformers checkpoint mean
pooling (last-token pooling for a causal LM). This module adds what the aligner needs
around it: one prompt for both languages, L2-normalised float32 rows, the model's
revision in ``settings``, and load errors that say what to do offline.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import (
    GatedRepoError,
    HFValidationError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import validate_repo_id

from .base import EncoderLoadError, SentenceTransformerModel, is_sentence_transformer
from .torch_tiles import file_sha256
from aligner.io.progress import sync as sync_progress_switches

log = logging.getLogger(__name__)

__all__ = ["TransformersEncoder"]

# Prompt used when none is asked for and the model sets no default_prompt_name.
SYMMETRIC_PROMPT = "query"

# Older spellings of sentence-transformers' pooling modes (this encoder's own names before
# sentence-transformers ran it).
_POOLING_ALIASES = {"last": "lasttoken", "last_token": "lasttoken", "cls_token": "cls",
                    "mean_sqrt_len": "mean_sqrt_len_tokens"}

_COMMIT = re.compile(r"[0-9a-f]{40}")

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


class TransformersEncoder:
    """Sentence embeddings from a Hugging Face model, L2-normalised float32 rows.

    ``model``: a hub id (``sentence-transformers/LaBSE``), a local folder (sentence-transformers
    layout or a plain transformers checkpoint), or an already built ``SentenceTransformer``
    (used as it is: its dtype and modules are not changed, its device only when ``device``
    is given; named after its model card's ``base_model`` when it has one, else
    ``SentenceTransformer-<sha256 of its weights, 12 digits>``). Loading by name goes
    through ``SentenceTransformer(model, revision=..., device=...)``; a hub id's revision
    (``revision``, default the main branch) is resolved to a commit first, so every file
    comes from that commit, and it works offline from the Hugging Face cache.

    Prompt: bitext retrieval is symmetric (each side is the query for its translation), so
    both languages get the same prompt: ``prompt_name`` (a key of the model's prompts; ``""``
    for none), else the model's ``default_prompt_name`` (what ``SentenceTransformer.encode``
    applies by default), else its ``"query"`` prompt when that is not empty (e5-style models:
    "query: " is their prompt for symmetric tasks such as bitext mining), else none.

    ``max_seq_length`` (tokens): default the model's own; a larger value is capped at the
    positions the model was built for. ``pooling`` replaces the model's Pooling module
    (``"cls"``, ``"mean"``, ``"max"``, ``"lasttoken"``, ``"mean_sqrt_len_tokens"``,
    ``"weightedmean"``, or several joined with ``+``). The output is always L2-normalised
    (the ``SentenceEncoder`` interface); ``normalize=False`` is rejected. ``device``
    defaults to CUDA when available (weights in bfloat16, else float16), else CPU in
    float32. Batches are sentence-transformers' own (texts sorted by length).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | SentenceTransformerModel,
        *,
        device: str | None = None,
        batch_size: int = 64,
        max_seq_length: int | None = None,
        prompt_name: str | None = None,
        pooling: str | None = None,
        revision: str | None = None,
        normalize: bool | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_seq_length is not None and max_seq_length < 2:
            raise ValueError(f"max_seq_length must be >= 2, got {max_seq_length}")
        if normalize is False:
            raise ValueError(
                "normalize=False is not supported: every SentenceEncoder returns L2-normalised rows"
            )
        self.batch_size = batch_size
        extra: dict[str, Any] = {}
        if isinstance(model, (str, os.PathLike)):
            self.name: str = str(model)
            self.model, source, model_revision = _load(self.name, device, revision)
            if pooling is not None:
                _replace_pooling(self.model, pooling, self.name)
        elif is_sentence_transformer(model):
            if pooling is not None or revision is not None:
                raise ValueError("pooling and revision apply to a model loaded by name, not to a SentenceTransformer object")
            self.model, source = model, "object"
            if device is not None:
                self.model.to(device)
            weights = _weights_sha256(model)
            card = getattr(model, "model_card_data", None)
            base_model = getattr(card, "base_model", None)
            # The hub id it was loaded from when there is one, else the class and its weights.
            self.name = str(base_model) if base_model else f"{type(model).__name__}-{weights[:12]}"
            model_revision = getattr(card, "base_model_revision", None) if base_model else None
            extra["weights_sha256"] = weights
        else:
            raise TypeError(
                f"model must be a hub id, a local folder or a sentence_transformers.SentenceTransformer, "
                f"not {type(model).__name__}"
            )
        if max_seq_length is not None:
            limit = _position_limit(self.model)
            self.model.max_seq_length = min(max_seq_length, limit) if limit else max_seq_length
        self.prompt_name, self.prompt = _choose_prompt(self.model, prompt_name, self.name)

        dim = self.model.get_embedding_dimension()
        self.dim: int = int(dim) if dim else int(self._encode(["a"]).shape[1])
        modules = list(self.model)
        pooling_modes = [m.pooling_mode for m in modules if type(m).__name__ == "Pooling"]
        import sentence_transformers

        self._settings: dict[str, Any] = {
            "model": self.name,
            "source": source,
            "revision": model_revision,
            "prompt_name": self.prompt_name,
            "prompt": self.prompt,
            "max_seq_length": self.model.max_seq_length,
            "modules": [type(m).__name__ for m in modules],
            "pooling": _pooling_str(pooling_modes[0]) if pooling_modes else None,
            "normalize": True,
            "model_normalize": any(type(m).__name__ == "Normalize" for m in modules),
            "dim": self.dim,
            "device_type": self.model.device.type,
            "dtype": str(self.model.dtype).removeprefix("torch."),
            "sentence_transformers": sentence_transformers.__version__,
            **extra,
        }

    # -- public API ---------------------------------------------------------------

    @property
    def settings(self) -> dict[str, Any]:
        """How embeddings are made (model, revision, prompt, max_seq_length, ...), for provenance."""
        return json.loads(json.dumps(self._settings))  # deep copy: callers may mutate theirs

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed ``texts``; returns an ``(len(texts), dim)`` float32 array of unit rows,
        in input order."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not a single string")
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(texts, self.batch_size if batch_size is None else batch_size)

    def __repr__(self) -> str:
        return f"TransformersEncoder({self.name!r}, prompt={self.prompt!r}, device={str(self.model.device)!r})"

    def _encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        out = self.model.encode(texts, prompt=self.prompt, batch_size=batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(out, dtype=np.float32)


# -- loading by name ------------------------------------------------------------------


def _load(model: str, device: str | None, revision: str | None) -> tuple[Any, str, str | None]:
    """The ``SentenceTransformer`` of a hub id or local folder, where it came from
    (``"hub"`` / ``"folder"``) and its revision (commit, or a content hash of a folder)."""
    path = Path(model).expanduser()
    if path.is_dir():
        if revision is not None:
            raise ValueError(f"revision applies to hub ids, not to the local folder '{model}'")
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise EncoderLoadError(
                f"'{model}' is not a Hugging Face model folder (no config.json or modules.json); save one "
                "with sentence-transformers `model.save(folder)`, or `save_pretrained(folder)` of a model and its tokenizer."
            )
        target, source, pinned, recorded = str(path), "folder", None, _folder_revision(path)
    elif _looks_like_local_path(model):
        what = "is a file, not a model folder" if path.exists() else "does not exist"
        raise EncoderLoadError(
            f"Local model folder '{model}' {what}. Pass a folder holding a saved model "
            "(config.json, weights, tokenizer files), or a Hugging Face Hub model id."
        )
    else:
        pinned = _resolve_revision(model, revision)
        target, source, recorded = model, "hub", pinned.resolved

    from sentence_transformers import SentenceTransformer

    sync_progress_switches()  # inside quiet_progress_bars(): transformers' loading bar too
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if torch.device(device).type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        dtype = torch.float32  # also for checkpoints saved in half precision: exact and fast on CPU
    try:
        loaded = SentenceTransformer(target, device=device, revision=pinned, model_kwargs={"dtype": dtype})
    except Exception as exc:  # whatever the model's files make transformers raise
        raise _load_error(model, exc, hub=source == "hub") from exc

    if source == "hub":
        from huggingface_hub import try_to_load_from_cache

        # Neither cached nor known to be absent: the Hub could not be asked, so the model
        # got sentence-transformers' default pooling whatever its own config says.
        if try_to_load_from_cache(model, "modules.json", revision=recorded) is None:
            # Logged, not warnings.warn: the network, not the calling code, is what to change.
            log.warning(
                "The Hugging Face Hub could not be reached and no sentence-transformers config (modules.json) "
                "of '%s' is cached; using the cached transformers model with sentence-transformers' pooling for a "
                "plain checkpoint (mean pooling; last-token for a causal LM), which may differ from the model's "
                "intended pooling.", model)
    return loaded, source, recorded


def _resolve_revision(model: str, revision: str | None) -> Any:
    """``revision`` of hub id ``model`` pinned to a commit (the Hub, else the cache's refs)."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RevisionResolutionError

    try:
        return HfApi().resolve_revision(model, revision=revision)
    except RevisionResolutionError as exc:  # the Hub unreachable and nothing cached
        raise _hub_unreachable(model, exc.__cause__ or exc) from exc
    except GatedRepoError as exc:
        raise _gated(model) from exc
    except RevisionNotFoundError as exc:
        raise EncoderLoadError(f"Revision not found for '{model}' on the Hugging Face Hub: {exc}") from exc
    except RepositoryNotFoundError as exc:
        try:  # private or gated without a valid token: still usable when cached
            return HfApi().resolve_revision(model, revision=revision, local_files_only=True)
        except Exception:
            raise _not_found(model) from exc
    except Exception as exc:  # the HTTP client's own errors are not OSErrors
        if _is_connection_problem(exc):
            raise _hub_unreachable(model, exc) from exc
        raise EncoderLoadError(f"Could not look '{model}' up on the Hugging Face Hub: {exc}") from exc


def _load_error(model: str, exc: BaseException, *, hub: bool) -> EncoderLoadError:
    chain = _cause_chain(exc)
    if any(isinstance(e, GatedRepoError) for e in chain):
        return _gated(model)
    if hub and any(isinstance(e, RepositoryNotFoundError) for e in chain):
        return _not_found(model)
    if hub and _is_connection_problem(exc):
        return _hub_unreachable(model, exc)
    return EncoderLoadError(f"Could not load '{model}' with sentence-transformers: {type(exc).__name__}: {exc}")


def _folder_revision(folder: Path) -> str:
    """A hub cache snapshot's commit, else ``sha256:`` of the files sentence-transformers
    reads (the folder's own and its modules' folders; not README.md nor hidden files)."""
    if folder.parent.name == "snapshots" and _COMMIT.fullmatch(folder.name):
        return folder.name
    folders = {""}
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        folders.update(str(m.get("path", "")).strip("/") for m in modules if isinstance(m, dict))
    except (OSError, ValueError, TypeError, AttributeError):
        pass  # no (readable) modules.json: sentence-transformers will say what is wrong
    digest = hashlib.sha256()
    for sub in sorted(folders):
        files = sorted((folder / sub).iterdir()) if (folder / sub).is_dir() else []
        for file in files:
            if file.is_file() and not file.name.startswith(".") and file.name != "README.md":
                digest.update(f"{file.relative_to(folder).as_posix()}\0{file_sha256(file)}\n".encode())
    return "sha256:" + digest.hexdigest()


def _weights_sha256(model: torch.nn.Module) -> str:
    """sha256 of a module's state (names, dtypes, shapes and bytes), in name order."""
    digest = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{key}\0{tensor.dtype}\0{tuple(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


# -- prompt, pooling, length ------------------------------------------------------------


def _choose_prompt(model: Any, prompt_name: str | None, name: str) -> tuple[str | None, str]:
    """(name, text) of the prompt both languages get (see ``TransformersEncoder``)."""
    prompts: dict[str, str] = {k: v or "" for k, v in (getattr(model, "prompts", None) or {}).items()}
    if prompt_name == "":
        return None, ""
    if prompt_name is not None:
        if prompt_name not in prompts:
            raise ValueError(f"'{name}' has no prompt named {prompt_name!r} (its prompts: {sorted(prompts)})")
        return prompt_name, prompts[prompt_name]
    default = getattr(model, "default_prompt_name", None)
    if default:
        return default, prompts.get(default, "")
    if prompts.get(SYMMETRIC_PROMPT):
        return SYMMETRIC_PROMPT, prompts[SYMMETRIC_PROMPT]
    return None, ""


def _replace_pooling(model: Any, pooling: str, name: str) -> None:
    """Put a sentence-transformers Pooling of modes ``pooling`` in place of the model's."""
    modes = tuple(_POOLING_ALIASES.get(p.strip(), p.strip()) for p in pooling.lower().replace(",", "+").split("+"))
    index = next((i for i, m in enumerate(model) if type(m).__name__ == "Pooling"), None)
    if index is None:
        raise EncoderLoadError(f"'{name}' has no Pooling module for pooling={pooling!r} to replace")
    old = model[index]
    try:
        model[index] = type(old)(old.embedding_dimension, pooling_mode=modes, include_prompt=old.include_prompt)
    except ValueError as exc:
        raise ValueError(f"Unknown pooling {pooling!r}: {exc}") from None


def _pooling_str(mode: str | Sequence[str]) -> str:
    return mode if isinstance(mode, str) else "+".join(mode)


def _position_limit(model: Any) -> int | None:
    """Tokens the model was built for (its tokenizer's limit or its position embeddings)."""
    limits = []
    config = getattr(getattr(model, "transformers_model", None), "config", None)
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        limits.append(positions)
    tokenizer_limit = getattr(getattr(model, "tokenizer", None), "model_max_length", None)
    if isinstance(tokenizer_limit, int) and 0 < tokenizer_limit < 1_000_000:
        limits.append(tokenizer_limit)
    return min(limits) if limits else None


# -- errors -------------------------------------------------------------------------------


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


def _cause_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _is_connection_problem(exc: BaseException) -> bool:
    """Whether ``exc`` (or anything in its cause chain) means the Hub was unreachable
    or offline mode forbade contacting it, as opposed to a real error in the model."""
    for current in _cause_chain(exc):
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
    return False


def _gated(model: str) -> EncoderLoadError:
    return EncoderLoadError(
        f"'{model}' is a gated model on the Hugging Face Hub: accept its terms on "
        f"https://huggingface.co/{model} and log in (`hf auth login`), or use a local folder."
    )


def _not_found(model: str) -> EncoderLoadError:
    return EncoderLoadError(
        f"'{model}' is neither an existing local folder nor a model id on the Hugging Face "
        "Hub (if it is private, log in with `hf auth login`)."
    )


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
