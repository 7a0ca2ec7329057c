"""Anchors: what a translation carries over by sound or by digits, as keys that match
across English and Arabic.

A proper name is transliterated, not translated (Qamishli / القامشلي, Abu Hurayrah /
أبو هريرة), and a number keeps its value whatever digits write it (2012 / ٢٠١٢). Sentence
encoders see names as rare subword pieces and often miss them, so a shared rare name is
evidence the embeddings lack (the alignment adds it: ``AlignmentConfig.anchor_weight``).

A name's key is its consonant skeleton in a small alphabet both scripts map onto
(``kh`` and خ are ``k``, ``sh`` and ش are ``s``, vowels, ``w``/``y`` and their Arabic
letters dropped): English names are the capitalised words (less those whose skeleton is
also a lowercase word of the same side: "The", "Narrated"), Arabic words are keyed with
and without each proclitic (و, ف, ب, ل, ك, ال), since any word may be a name, and so are
the capitalised Latin words an Arabic text quotes as they are (Reuters, UNICEF). Skeletons
shorter than three consonants are too common to be evidence and are not keys. A number's
key is ``#`` and its digits (thousands separators removed). Pure functions of the text.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Sequence

from .normalization import normalize_arabic_for_encoding

MIN_SKELETON = 3  # consonants: two-consonant skeletons (Ali, Umar, Gaza) match too many words

_EN_DIGRAPHS = (("kh", "k"), ("gh", "g"), ("sh", "s"), ("ch", "s"), ("th", "t"), ("dh", "d"), ("ph", "f"),
                ("q", "k"), ("c", "k"), ("x", "ks"), ("v", "f"), ("p", "b"), ("j", "g"))
_EN_DROP_RE = re.compile(r"[^bdfghklmnrstz]")
_EN_DOUBLE_RE = re.compile(r"(.)\1+")
_EN_WORD_RE = re.compile(r"[^\W\d_]+(?:['’ʿʾ‘][^\W\d_]+)*")
_APOSTROPHES_RE = re.compile(r"['’ʿʾ‘]")
_AR_LETTERS = {
    "ب": "b", "ت": "t", "ث": "t", "ج": "g", "ح": "h", "خ": "k", "د": "d", "ذ": "d", "ر": "r", "ز": "z",
    "س": "s", "ش": "s", "ص": "s", "ض": "d", "ط": "t", "ظ": "z", "غ": "g", "ف": "f", "ق": "k", "ك": "k",
    "ل": "l", "م": "m", "ن": "n", "ه": "h",
    # Letters Arabic writes foreign names with (v, g, p).
    "ڤ": "f", "ڨ": "g", "گ": "g", "پ": "b", "چ": "g",
}
_AR_WORD_RE = re.compile(r"[\u0621-\u064a\u067e\u0686\u06a4\u06a8\u06af]+")
# Proclitics a name may carry (and, so, with, for, like; the article), longest first.
_AR_PROCLITICS = ("وال", "فال", "بال", "كال", "لل", "ال", "و", "ف", "ب", "ل", "ك")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS_RE = re.compile(r",(?=\d{3}(?!\d))")


# Skeletons are cached per word: a side repeats its words (a 100-line document has some
# 3,000 words and 1,000 distinct ones), and both are pure functions of the word.
@lru_cache(maxsize=1 << 16)
def english_skeleton(word: str) -> str:
    """The consonant skeleton of an English (Latin-script) word: ``Qamishli`` -> ``kmsl``."""
    w = "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))
    w = _EN_DOUBLE_RE.sub(r"\1", _APOSTROPHES_RE.sub("", w))
    for digraph, letter in _EN_DIGRAPHS:
        w = w.replace(digraph, letter)
    s = _EN_DROP_RE.sub("", w)
    # A final -ah / -eh transliterates ta marbuta, which the Arabic skeleton drops.
    return s[:-1] if s.endswith("h") and len(s) > MIN_SKELETON else s


@lru_cache(maxsize=1 << 16)
def arabic_skeletons(word: str) -> frozenset[str]:
    """The skeletons an Arabic word (normalised: no diacritics) may stand for: as written
    and with each proclitic it may carry removed (``والقامشلي`` -> ``wlkmsl``... ``kmsl``)."""
    forms = {word} | {word[len(p):] for p in _AR_PROCLITICS if word.startswith(p) and len(word) - len(p) >= 2}
    return frozenset("".join(_AR_LETTERS.get(c, "") for c in form) for form in forms)


def _numbers(text: str) -> set[str]:
    return {"#" + _THOUSANDS_RE.sub("", m.group()) for m in _NUMBER_RE.finditer(text)}


def english_anchors(texts: Sequence[str]) -> list[frozenset[str]]:
    """Each English sentence's anchor keys: the skeletons of its capitalised words (less
    those of the side's lowercase words) and its numbers."""
    words = [_EN_WORD_RE.findall(t) for t in texts]
    common = {english_skeleton(w) for ws in words for w in ws if w[0].islower()}
    out = []
    for text, ws in zip(texts, words):
        names = {s for w in ws if w[0].isupper() for s in [english_skeleton(w)] if len(s) >= MIN_SKELETON and s not in common}
        out.append(frozenset(names | _numbers(text)))
    return out


def arabic_anchors(texts: Sequence[str]) -> list[frozenset[str]]:
    """Each Arabic sentence's anchor keys: every word's skeletons, the skeletons of the
    capitalised Latin words it quotes as they are (Reuters, UNICEF), and its numbers (in any
    digits)."""
    out = []
    for text in texts:
        text = normalize_arabic_for_encoding(text)
        names = {s for w in _AR_WORD_RE.findall(text) for s in arabic_skeletons(w) if len(s) >= MIN_SKELETON}
        latin = {s for w in _EN_WORD_RE.findall(_AR_WORD_RE.sub(" ", text)) if w[0].isupper()
                 for s in [english_skeleton(w)] if len(s) >= MIN_SKELETON}
        out.append(frozenset(names | latin | _numbers(text)))
    return out


def side_anchors(texts: Sequence[str], lang: str) -> list[frozenset[str]]:
    """Anchor keys of each sentence of one side (``lang``: ``"ar"`` or English)."""
    return arabic_anchors(texts) if lang == "ar" else english_anchors(texts)


def shared_anchor_ids(en: Sequence[frozenset[str]], ar: Sequence[frozenset[str]]) -> tuple[list[list[int]], list[list[int]]]:
    """The keys both sides have, numbered (in sorted order: the same ids on every run),
    as each sentence's list of ids; keys on one side only are dropped."""
    shared = sorted(set().union(*en) & set().union(*ar)) if en and ar else []
    ids = {k: i for i, k in enumerate(shared)}
    return ([sorted(ids[k] for k in keys if k in ids) for keys in en],
            [sorted(ids[k] for k in keys if k in ids) for keys in ar])
