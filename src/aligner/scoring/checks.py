"""Text checks of a pair, and the flags they raise (the record's ``flags`` list).

``copy``: both sides the same text once case, punctuation and spacing are ignored, or
nearly: 80% of character trigrams shared. ``untranslated``: a side written in the other
side's script: mostly Latin letters on the Arabic side, or mostly Arabic letters on the
English side. ``boilerplate``: one side's text, numbers ignored, recurs in at least 3
documents of the corpus.

Also the text helpers the scores share: digits as ASCII (:func:`normalize_digits`) and
the letters' scripts (:func:`script_shares`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Sequence

from aligner.text.normalization import normalize_for_encoding

if TYPE_CHECKING:
    from aligner.scoring.batch import ScoringDocument

FLAG_NAMES = ("copy", "untranslated", "boilerplate")

_DIGIT_MAP = str.maketrans({**{chr(0x0660 + d): str(d) for d in range(10)},
                            **{chr(0x06F0 + d): str(d) for d in range(10)},
                            "\u066b": ".", "\u066c": ","})


def normalize_digits(text: str) -> str:
    """Arabic-Indic and Eastern Arabic-Indic digits as ASCII, ``٫`` as ``.``, ``٬`` as ``,``."""
    return text.translate(_DIGIT_MAP)


def _is_arabic_letter(ch: str) -> bool:
    return "\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f" or "\u08a0" <= ch <= "\u08ff" \
        or "\ufb50" <= ch <= "\ufdff" or "\ufe70" <= ch <= "\ufeff"


def script_shares(text: str) -> tuple[int, float, float]:
    """Number of letters, and the shares of them in Latin and in Arabic script."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0, 0.0, 0.0
    latin = sum(1 for ch in letters if ch < "\u0250")
    arabic = sum(1 for ch in letters if _is_arabic_letter(ch))
    return len(letters), latin / len(letters), arabic / len(letters)


def _skeleton(text: str) -> str:
    """Letters and digits only, case-folded (for copy detection)."""
    text = normalize_digits(unicodedata.normalize("NFKC", text)).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def _trigrams(text: str) -> set[str]:
    return {text[i:i + 3] for i in range(max(len(text) - 2, 1))}


def is_copy(en: str, ar: str, overlap: float = 0.8) -> bool:
    """Both sides the same text (case, punctuation and spacing ignored), or sharing at
    least ``overlap`` of their character trigrams (Jaccard)."""
    a, b = _skeleton(en), _skeleton(ar)
    if not a or not b:
        return False
    if a == b:
        return True
    ta, tb = _trigrams(a), _trigrams(b)
    return len(ta & tb) / len(ta | tb) >= overlap


def is_untranslated(en: str, ar: str, share: float = 0.5) -> bool:
    """The Arabic side mostly (more than ``share`` of its letters) Latin script, or the
    English side mostly Arabic script."""
    n_ar, latin_ar, _ = script_shares(ar)
    n_en, _, arabic_en = script_shares(en)
    return (n_ar > 0 and latin_ar > share) or (n_en > 0 and arabic_en > share)


_BOILER_RE = re.compile(r"[\W\d_]+")


def boilerplate_key(text: str) -> str:
    """A side's text as compared for boilerplate: case-folded, digits and punctuation
    dropped, diacritics stripped (numbers and dates vary between copies)."""
    return _BOILER_RE.sub(" ", normalize_for_encoding(normalize_digits(text), "ar").casefold()).strip()


def recurring_texts(docs: Sequence[ScoringDocument], min_docs: int) -> dict[str, set[str]]:
    """Per side (``"en"``, ``"ar"``), the :func:`boilerplate_key` of every pair side
    that recurs in at least ``min_docs`` documents."""
    out = {}
    for s, side in enumerate(("en", "ar")):
        seen: dict[str, set[str]] = {}
        for d in docs:
            for text in {boilerplate_key(p[s]) for p in d.pairs}:
                if text:
                    seen.setdefault(text, set()).add(d.doc_id)
        out[side] = {t for t, ids in seen.items() if len(ids) >= min_docs}
    return out


def pair_flags(en: str, ar: str, boilerplate: dict[str, set[str]]) -> list[str]:
    """The flags of one pair, in :data:`FLAG_NAMES` order; ``boilerplate``: what
    :func:`recurring_texts` gave for the corpus."""
    flags = []
    if is_copy(en, ar):
        flags.append("copy")
    if is_untranslated(en, ar):
        flags.append("untranslated")
    if boilerplate_key(en) in boilerplate["en"] or boilerplate_key(ar) in boilerplate["ar"]:
        flags.append("boilerplate")
    return flags
