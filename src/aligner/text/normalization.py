"""Text normalisation applied to what the encoder sees, never to what the output keeps.

Arabic as published carries harakat (short-vowel diacritics), tatweel (kashida), Qur'anic
annotation marks and bidi control characters. Subword encoders trained mostly on
undiacritised text split such words into rare pieces; on real data cross-lingual
retrieval with the default encoder drops several-fold without this step.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Harakat, tanwin, shadda, sukun, and the extended marks up to U+065F; dagger alef U+0670.
_DIACRITICS = "\u064b-\u065f\u0670"
# Qur'anic annotation signs (small high letters, stop marks, rub el hizb, sajdah...).
_QURANIC = "\u0610-\u061a\u06d6-\u06ed"
_TATWEEL = "\u0640"
# Bidi and zero-width format characters: they carry no meaning for the encoder.
_FORMAT = "\u200b-\u200f\u061c\u202a-\u202e\u2066-\u2069\ufeff"
_STRIP_RE = re.compile(f"[{_DIACRITICS}{_QURANIC}{_TATWEEL}{_FORMAT}]")
_SPACES_RE = re.compile(r"\s+")
# Alef wasla (U+0671) is Qur'anic orthography for a plain alef. Arabic-Indic and Eastern
# Arabic-Indic digits and the Arabic decimal/thousands/percent signs become ASCII: the
# encoder's vocabulary has no pieces for them, so "٣٫٥" would encode as unknown tokens.
_LETTER_MAP = str.maketrans({
    "\u0671": "\u0627", "\u066b": ".", "\u066c": ",", "\u066a": "%",
    **{chr(0x0660 + d): str(d) for d in range(10)},
    **{chr(0x06F0 + d): str(d) for d in range(10)},
})


def normalize_arabic_for_encoding(text: str) -> str:
    """Arabic text as the encoder should see it: NFKC (folds presentation forms),
    diacritics, tatweel, Qur'anic marks and bidi/zero-width marks removed, alef wasla
    mapped to alef, Arabic digits and separators mapped to ASCII, runs of whitespace
    collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = _STRIP_RE.sub("", text).translate(_LETTER_MAP)
    return _SPACES_RE.sub(" ", text).strip()


def normalize_english_for_encoding(text: str) -> str:
    """English text as the encoder sees it: bidi/zero-width marks removed, NFKC,
    whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    return _SPACES_RE.sub(" ", _STRIP_RE.sub("", text)).strip()


@functools.lru_cache(maxsize=1 << 14)
def normalize_for_encoding(text: str, lang: str) -> str:
    """Dispatch on language code ("ar" or anything else). Remembered for the last 16,384
    texts: a run normalises each sentence for content pairing, then for encoding its
    window and its document (a third of the reading work, repeated twice)."""
    return normalize_arabic_for_encoding(text) if lang == "ar" else normalize_english_for_encoding(text)
