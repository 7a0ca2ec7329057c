"""``language``: how sure a language identifier is that the English side is English and
the Arabic side Arabic (the smaller of the two). lingua (``lingua-language-detector``) in
its low-accuracy mode over a few languages likely to turn up instead (French, Spanish,
German, Turkish, Persian, Urdu, Indonesian); a side with fewer than 12 letters is judged
by its script instead (lingua is unreliable there). Range [0, 1]."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from aligner.scoring.base import Metric, register
from aligner.scoring.batch import PairBatch
from aligner.scoring.checks import script_shares
from aligner.text.normalization import normalize_for_encoding

LINGUA_LANGUAGES = ("ENGLISH", "ARABIC", "FRENCH", "SPANISH", "GERMAN", "TURKISH", "PERSIAN", "URDU",
                    "INDONESIAN")
MIN_LETTERS_FOR_LINGUA = 12


@lru_cache(maxsize=1)
def _lingua_detector():
    """lingua over :data:`LINGUA_LANGUAGES`, low-accuracy mode (trigram models only):
    about 0.1 s to load and 30 MB, against 1.2 s and 300 MB for the high-accuracy mode,
    with the same verdicts on the dev set's sentences (see README)."""
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, name) for name in LINGUA_LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode() \
        .with_preloaded_language_models().build()


def language_confidence(texts: Sequence[str], lang: str) -> np.ndarray:
    """For each text, how sure we are that it is in ``lang`` (``"en"`` or ``"ar"``):
    lingua's confidence, or for a text with fewer than 12 letters the share of its
    letters in the language's script (Latin / Arabic)."""
    from lingua import Language

    target = Language.ENGLISH if lang == "en" else Language.ARABIC
    out = np.zeros(len(texts), np.float64)
    long_idx, long_texts = [], []
    for i, text in enumerate(texts):
        n, latin, arabic = script_shares(text)
        if n < MIN_LETTERS_FOR_LINGUA:
            out[i] = latin if lang == "en" else arabic
        else:
            long_idx.append(i)
            long_texts.append(text)
    if long_texts:
        values = _lingua_detector().compute_language_confidence_in_parallel(long_texts, target)
        # lingua's sums differ in the last bit from call to call (hash-map order): rounded,
        # so that scores are reproducible.
        out[long_idx] = np.round(np.asarray(values, np.float64), 6)
    return out


@register
class LanguageMatch(Metric):
    """Accepts (at 0.5) a pair whose weaker side is more likely than not in its claimed
    language; a side of under 12 letters is judged by its script instead."""

    name = "language"
    description = "language identifier's confidence that each side is the language it claims (the lower)"
    value_range = "[0, 1]"
    default_threshold = 0.5

    def settings(self) -> dict[str, Any]:
        import importlib.metadata

        try:
            version = importlib.metadata.version("lingua-language-detector")
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover
            version = "?"
        return {"lid": f"lingua-{version}-low", "langs": len(LINGUA_LANGUAGES), "min_letters": MIN_LETTERS_FOR_LINGUA}

    def score(self, batch: PairBatch) -> np.ndarray:
        en = language_confidence([normalize_for_encoding(t, "en") for t in batch.en], "en")
        ar = language_confidence([normalize_for_encoding(t, "ar") for t in batch.ar], "ar")
        return np.minimum(en, ar)
