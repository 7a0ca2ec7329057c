"""The one small interface every sentence encoder implements."""

from __future__ import annotations

import sys
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np


# How the embedded encoders compute on CPU (aligner.encoders.torch_tiles): float32, or
# int8 weights with per-token int8 activations (the default: README, Encoders).
ENGINES = ("fp32", "int8")
DEFAULT_ENGINE = "int8"


class EncoderLoadError(RuntimeError):
    """An encoder could not be loaded (missing files, no network, bad config)."""


@runtime_checkable
class SentenceEncoder(Protocol):
    """Texts in, an L2-normalised float32 matrix out (one row per text).

    ``name`` identifies the model (hub id, folder or built-in name) and is recorded in
    every output the library writes.
    """

    name: str

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        ...


class SentenceTransformerModel(Protocol):
    """What type checkers see of a ``sentence_transformers.SentenceTransformer`` (so that
    annotations need not import the library); ``is_sentence_transformer`` checks it at run time."""

    def get_embedding_dimension(self) -> int | None:
        ...


def is_sentence_transformer(obj: Any) -> bool:
    """Whether ``obj`` is a ``sentence_transformers.SentenceTransformer``, which
    ``load_encoder`` and ``Aligner`` wrap (checked without importing the library: an
    object of it exists only once it is imported)."""
    module = sys.modules.get("sentence_transformers")
    cls = getattr(module, "SentenceTransformer", None) if module is not None else None
    return cls is not None and isinstance(obj, cls)


def l2_normalize(matrix: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation to float32; all-zero rows stay zero."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)
