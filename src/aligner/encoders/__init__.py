"""Sentence encoders: the embedded default and any Hugging Face model."""

from __future__ import annotations

from .base import EncoderLoadError, SentenceEncoder, l2_normalize

DEFAULT_ENCODER = "use-multilingual-v3"

__all__ = ["DEFAULT_ENCODER", "EncoderLoadError", "SentenceEncoder", "l2_normalize", "load_encoder"]


def load_encoder(name: str = DEFAULT_ENCODER, *, device: str | None = None) -> SentenceEncoder:
    """The embedded default for ``"use-multilingual-v3"``, else a Hugging Face model
    (hub id or local folder) through transformers."""
    if name in (DEFAULT_ENCODER, "use", "usem3"):
        from .use import USEEncoder

        return USEEncoder(device=device)
    from .transformers_encoder import TransformersEncoder

    return TransformersEncoder(name, device=device)
