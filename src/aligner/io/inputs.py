"""Reading one input document: size limit, encoding, binary files, language check.

:func:`read_input` turns a file into text or raises :class:`DocumentError` with one clear
line that starts with the file's path. What it accepts and what it refuses (the README's
"Bad input" table lists every case with its test):

* **size**: a file over ``max_bytes`` (default :data:`DEFAULT_MAX_BYTES`, 5 MiB; ``None``
  or 0 for no limit) is refused from its size alone, before it is read; at most
  ``max_bytes + 1`` bytes are ever read, so a file that grows meanwhile is refused too.
* **encoding**: UTF-8 (a byte-order mark is dropped); UTF-16 or UTF-32 with a byte-order
  mark; UTF-16 without one when its NUL bytes say so (a warning). A file that is not
  UTF-8 is decoded as Windows-1256 or ISO-8859-6 (Arabic) or Windows-1252 (English)
  when charset-normalizer finds it coherent text in one of them, giving at least
  :data:`MIN_LEGACY_CHARS` non-ASCII characters and no control characters; that is a
  guess, so it comes with a warning. Otherwise the file is refused: ``not valid UTF-8 (byte N, line L)``, the
  first bad byte (0-based offset in the file) and its line (1-based). A file that is
  mostly valid UTF-8 with a few bad bytes is damaged UTF-8, never re-read as a legacy
  encoding.
* **binary files**: PDF, Word (DOC/DOCX), OpenDocument, ZIP, images, archives,
  executables and RTF are recognised by their first bytes (``binary file (PDF), not
  plain text``); any other file with NUL bytes is ``binary file (NUL byte at byte N)``.
* **empty**: ``empty file`` (no bytes, or a byte-order mark only) and ``no text (only
  whitespace)`` (spaces, line breaks and invisible marks only).

:func:`check_language` then compares the letters of each side with the script it should
be in (Latin for English, Arabic for Arabic): under :data:`WRONG_SCRIPT_SHARE` of the
expected script, the document is refused (swapped folders or a file in the wrong
folder: aligning it would only make garbage); under :data:`MIXED_SCRIPT_SHARE`, it is
aligned with a "mixed languages" warning. Within the script, lingua tells the languages
apart (Persian or Urdu from Arabic, French or Spanish from English) on a sample of the
text, with the same two shares: a side that reads as another language is refused (with
at least :data:`MIN_LETTERS_TO_REFUSE_LANGUAGE` letters; a warning below that), one that
reads partly so is aligned with a warning.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
"""Largest input file read by default (5 MiB). A news report is tens of kilobytes; 5 MiB
of text is about 50,000 sentences, which aligns in about a minute and a few GB of
memory. Larger files are refused with a message naming ``--max-bytes``."""

MIN_LEGACY_CHARS = 3
"""A non-UTF-8 file is decoded in a legacy encoding only when that gives at least this
many non-ASCII characters, all printable: one stray byte in ASCII text is damage, not an
encoding."""

WRONG_SCRIPT_SHARE = 0.25
"""A side whose letters are less than this share in its expected script is refused."""

MIXED_SCRIPT_SHARE = 0.80
"""A side whose letters are less than this share in its expected script gets a warning."""

MIN_LETTERS_FOR_LANGUAGE = 20
"""Fewer letters than this: too little text to judge its language."""

MIN_LETTERS_TO_NAME_LANGUAGE = 60
"""Fewer letters (in the side's script) than this: no verdict on the language within the
script. lingua names the language of 97% of single dev-set sentences of 60-80 letters
right, 91% of those of 20-40 (English full of transliterated Arabic names is the hard
case)."""

MIN_LETTERS_TO_REFUSE_LANGUAGE = 250
"""A side in another language of its script is refused only with at least this many
letters sampled (about three sentences); a shorter one gets a warning instead. Snippets of
1-3 consecutive dev-set English sentences (hadith, full of transliterated names) read as
another language: 1 in 1,090 of 150-199 letters, none of 5,069 of 200 or more."""


class DocumentError(ValueError):
    """One input document cannot be used; the message starts with its path (escaped
    with :func:`escape_name`: safe to print and to write as UTF-8)."""

    def __init__(self, message: str) -> None:
        super().__init__(escape_name(message))


# Format characters kept as they are: joiners and directional marks belong in Arabic and
# Persian names; the embeddings, overrides and isolates (U+202A-E, U+2066-9) are escaped.
_KEEP_FORMAT = frozenset("\u200c\u200d\u200e\u200f\u061c")


def escape_name(text: object) -> str:
    """``text`` (a file name, path or message) safe to print and to write as UTF-8:
    a byte that was not UTF-8 in a file name (a lone surrogate, Python's
    ``surrogateescape``) becomes ``\\xe9``; tabs and line breaks ``\\t``, ``\\n``, ``\\r``;
    other control characters, bidirectional overrides and invisible format characters
    ``\\x1b``, ``\\u202e``. Backslashes are kept as they are, so escaping twice changes
    nothing; printable text (Arabic included) is returned unchanged."""
    text = str(text)
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch.isprintable() or ch in _KEEP_FORMAT or unicodedata.category(ch) in ("Zs", "Co", "Cn"):
            out.append(ch)
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch in "\t\n\r":
            out.append(repr(ch)[1:-1])
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


@dataclass
class InputText:
    """A decoded input file: its text, the encoding it was read with, the SHA-256 and
    size of its bytes, and warnings worth showing (each starting with the path)."""

    text: str
    encoding: str
    sha256: str
    size: int
    warnings: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- bytes


def file_bytes(path: str | Path, max_bytes: int | None = DEFAULT_MAX_BYTES) -> bytes:
    """The file's bytes, or :class:`DocumentError` when it is over ``max_bytes`` (checked
    from its size first, so a huge file is never read) or cannot be read."""
    path = Path(path)
    limit = max_bytes or None
    try:
        size = os.stat(path).st_size
        if limit is not None and size > limit:
            raise DocumentError(_too_large(path, size, limit))
        data = _read_bytes(path, None if limit is None else limit + 1)
    except OSError as exc:
        raise DocumentError(f"{path}: cannot be read ({_os_reason(exc)})") from None
    if limit is not None and len(data) > limit:
        raise DocumentError(_too_large(path, None, limit))
    return data


def _read_bytes(path: Path, at_most: int | None) -> bytes:
    """Read the file (at most ``at_most`` bytes). Separate so tests can make it fail."""
    with open(path, "rb") as handle:
        return handle.read() if at_most is None else handle.read(at_most)


def _too_large(path: Path, size: int | None, limit: int) -> str:
    what = f"{size:,} bytes" if size is not None else "larger than that"
    return (f"{path}: file too large ({what}; the limit is {limit:,} bytes): not read. "
            f"Raise it with --max-bytes (0 for no limit) or split the file")


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.EISDIR:
        return "it is a folder"
    return exc.strerror or str(exc)


# ----------------------------------------------------------------------------- binary files

_MAGIC: list[tuple[bytes, str]] = [
    (b"%PDF-", "PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Microsoft Office document: DOC, XLS or PPT"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"BM", ""),  # checked further below: two letters can start a text
    (b"\x1f\x8b", "gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x7fELF", "executable (ELF)"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"\x00\x00\x01\x00", "icon image"),
    (b"wOFF", "web font"),
    (b"wOF2", "web font"),
    (b"OggS", "Ogg audio/video"),
    (b"fLaC", "FLAC audio"),
    (b"ID3", "MP3 audio"),
]
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_ZIP_KINDS = [(b"word/", "DOCX, a Word document"), (b"xl/", "XLSX, an Excel workbook"),
              (b"ppt/", "PPTX, a PowerPoint presentation"),
              (b"application/vnd.oasis.opendocument", "OpenDocument"),
              (b"application/epub+zip", "EPUB e-book")]


def binary_kind(data: bytes) -> str | None:
    """What kind of binary file ``data`` is (``"PDF"``, ``"PNG image"``, ...) from its
    first bytes, or ``None`` when nothing matches (NUL bytes are checked separately)."""
    head = data[:16]
    if head.startswith(_ZIP_MAGIC):
        for marker, kind in _ZIP_KINDS:
            if marker in data[:65536] or marker in data[-65536:]:
                return kind
        return "ZIP archive"
    if head.startswith(b"RIFF") and len(data) >= 12:
        return {b"WEBP": "WebP image", b"WAVE": "WAV audio", b"AVI ": "AVI video"}.get(data[8:12], "RIFF media file")
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "MP4/MOV media file"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            if magic == b"BM":  # a Windows bitmap: the header holds the file size
                if len(data) >= 14 and int.from_bytes(data[2:6], "little") == len(data):
                    return "BMP image"
                continue
            if magic == b"ID3" and b"\x00" not in data[:64]:
                continue
            return kind
    return None


# ----------------------------------------------------------------------------- decoding

_BOMS = [  # longest first: the UTF-32-LE mark starts with the UTF-16-LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
]
# Legacy encodings tried for a file that is not UTF-8 (charset-normalizer picks one).
_LEGACY = {"cp1256": "windows-1256", "iso8859_6": "iso-8859-6", "cp1252": "windows-1252"}
_FORMAT_CHARS = "\u200b\u200c\u200d\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069\ufeff"
_BLANK = re.compile(rf"[\s{_FORMAT_CHARS}]*")
_BIDI_AND_JOINERS = "\u200c\u200d\u200e\u200f"  # in Windows-1256: ZWNJ, ZWJ, LRM, RLM
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")


def decode_input(data: bytes, path: str | Path) -> tuple[str, str, list[str]]:
    """``(text, encoding, warnings)`` for a file's bytes, or :class:`DocumentError`
    (see the module docstring for the rules)."""
    path = Path(path)
    if not data:
        raise DocumentError(f"{path}: empty file")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_with_bom(data, bom, encoding, path)
    kind = binary_kind(data)
    if kind is not None:
        raise DocumentError(f"{path}: binary file ({kind}), not plain text: extract its text first")
    if data.startswith(b"{\\rtf"):
        raise DocumentError(f"{path}: RTF document, not plain text: save it as plain text (UTF-8) first")
    nul = data.find(b"\x00")
    if nul >= 0:
        text = _utf16_without_bom(data)
        if text is None:
            raise DocumentError(f"{path}: binary file (NUL byte at byte {nul}), not plain text")
        encoding = "utf-16-le" if data[1::2].count(0) > data[0::2].count(0) else "utf-16-be"
        return text, encoding, [f"{path}: read as {encoding.upper()} without a byte-order mark (NUL bytes); "
                                f"save it as UTF-8 to be sure"]
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as exc:
        bad = exc.start
    legacy = _legacy_decode(data)
    if legacy is None:
        raise DocumentError(f"{path}: not valid UTF-8 (byte {bad}, line {_line_of(data, bad)})")
    text, encoding = legacy
    return text, encoding, [f"{path}: not UTF-8; read as {encoding} (detected by charset-normalizer, "
                            f"check the text; save it as UTF-8 to be sure)"]


def _decode_with_bom(data: bytes, bom: bytes, encoding: str, path: Path) -> tuple[str, str, list[str]]:
    body = data[len(bom):]
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as exc:
        where = exc.start + len(bom)
        name = codec.upper().replace("-LE", "").replace("-BE", "")
        line = f", line {_line_of(data, where)}" if codec == "utf-8" else ""
        raise DocumentError(f"{path}: not valid {name} (byte {where}{line})") from None
    if not text:
        raise DocumentError(f"{path}: empty file")
    return text, encoding, []


def _line_of(data: bytes, offset: int) -> int:
    """1-based line of byte ``offset`` (line breaks: CRLF, CR or LF, as segmentation)."""
    head = data[:offset]
    return head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1


def _utf16_without_bom(data: bytes) -> str | None:
    """Text of a UTF-16 file without a byte-order mark, recognised by its NUL bytes all
    falling on one side of the code units (ASCII in UTF-16); ``None`` otherwise."""
    if len(data) % 2:
        return None
    even, odd = data[0::2].count(0), data[1::2].count(0)
    if (even and odd) or max(even, odd) < len(data) // 64:
        return None
    try:
        text = data.decode("utf-16-le" if odd else "utf-16-be")
    except UnicodeDecodeError:
        return None
    controls = sum(1 for c in text[:65536] if ord(c) < 32 and c not in "\t\n\r\f\v")
    return None if controls else text


def _legacy_decode(data: bytes) -> tuple[str, str] | None:
    """``(text, encoding)`` when ``data`` (not UTF-8) is coherent text in one of the
    legacy encodings, else ``None``."""
    if _mostly_utf8(data):
        return None
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    best = from_bytes(data, cp_isolation=list(_LEGACY)).best()
    if best is None or best.encoding not in _LEGACY:
        return None
    try:
        text = data.decode(best.encoding)
    except UnicodeDecodeError:
        return None
    non_ascii = re.sub("[\x00-\x7f]+", "", text)
    controls = {c for c in set(non_ascii) if unicodedata.category(c)[0] == "C"} - set(_BIDI_AND_JOINERS)
    if len(non_ascii) < MIN_LEGACY_CHARS or controls or _CONTROL.search(text):
        return None
    return text, _LEGACY[best.encoding]


def _mostly_utf8(data: bytes) -> bool:
    """Are most of the non-ASCII bytes parts of valid UTF-8 sequences? Then the file is
    UTF-8 with some damage, not a legacy encoding."""
    high = len(data) - len(data.translate(None, bytes(range(128, 256))))
    text = data.decode("utf-8", "replace")
    valid = len(re.sub("[\x00-\x7f\ufffd]+", "", text).encode("utf-8"))
    # An encoded surrogate (ED A0 80: CESU-8, a broken converter) is UTF-8 in shape,
    # not three Windows-1252 letters; Python's decoder rejects it byte by byte.
    valid += 3 * len(_ENCODED_SURROGATE.findall(data))
    return valid >= high / 2


_ENCODED_SURROGATE = re.compile(rb"\xed[\xa0-\xbf][\x80-\xbf]")


def read_input(path: str | Path, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> InputText:
    """Read and decode one input document (see the module docstring)."""
    path = Path(path)
    data = file_bytes(path, max_bytes)
    return decode_bytes(data, path)


def decode_bytes(data: bytes, path: str | Path) -> InputText:
    """Decode bytes already read from ``path``; refuses empty and blank texts."""
    path = Path(path)
    text, encoding, warnings = decode_input(data, path)
    if _BLANK.fullmatch(text):
        raise DocumentError(f"{path}: no text (only whitespace)")
    return InputText(text, encoding, hashlib.sha256(data).hexdigest(), len(data), warnings)


# ----------------------------------------------------------------------------- language

_ARABIC = re.compile("[\u0620-\u064a\u066e-\u06d3\u06d5\u06ee\u06ef\u06fa-\u06ff\u0750-\u077f\u08a0-\u08ff"
                     "\ufb50-\ufdff\ufe70-\ufefc]")
_LATIN = re.compile("[A-Za-z\u00aa\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff]")
_LETTER = re.compile(r"[^\W\d_]")
_EXPECTED = {"en": ("English", "Latin", _LATIN), "ar": ("Arabic", "Arabic", _ARABIC)}


@dataclass(frozen=True)
class ScriptShares:
    """Letters of a text: how many in all, and the shares in Arabic and Latin script."""

    letters: int
    arabic: float
    latin: float

    def share(self, side: str) -> float:
        return self.latin if side == "en" else self.arabic

    def dominant(self) -> str:
        other = 1.0 - self.arabic - self.latin
        return max((self.arabic, "Arabic"), (self.latin, "Latin"), (other, "another script"))[1]


def script_shares(text: str) -> ScriptShares:
    letters = _LETTER.subn("", text)[1]
    if not letters:
        return ScriptShares(0, 0.0, 0.0)
    return ScriptShares(letters, _ARABIC.subn("", text)[1] / letters, _LATIN.subn("", text)[1] / letters)


def check_language(en_path: str | Path, en_text: str, ar_path: str | Path, ar_text: str,
                   measured: dict[str, tuple[int, dict[str, float]]] | None = None,
                   scripts: dict[str, ScriptShares] | None = None) -> list[str]:
    """Warnings for a side in mixed languages; :class:`DocumentError` when a side is
    mostly in the other script (or both are: swapped folders), or reads as another
    language of its script (Persian or Urdu for Arabic, French for English).
    ``measured``: each side's :func:`language_shares` when already known (one lingua
    call for many documents: :func:`language_shares_many`); ``scripts``: each side's
    :func:`script_shares`, when already known."""
    shares = scripts or {"en": script_shares(en_text), "ar": script_shares(ar_text)}
    paths = {"en": Path(en_path), "ar": Path(ar_path)}
    wrong = {side for side, s in shares.items()
             if s.letters >= MIN_LETTERS_FOR_LANGUAGE and s.share(side) < WRONG_SCRIPT_SHARE}
    if wrong == {"en", "ar"} and shares["en"].dominant() == "Arabic" and shares["ar"].dominant() == "Latin":
        raise DocumentError(
            f"{paths['en']}: the English file is Arabic text ({shares['en'].arabic:.0%} of its letters) and "
            f"the Arabic file {paths['ar']} is in Latin script ({shares['ar'].latin:.0%}): the two sides look "
            f"swapped (EN_DIR and AR_DIR the wrong way round?); not aligned")
    for side in ("en", "ar"):
        language, script, _ = _EXPECTED[side]
        s = shares[side]
        if side in wrong:
            raise DocumentError(
                f"{paths[side]}: expected {language} ({script} script), but only {s.share(side):.0%} of its "
                f"{s.letters:,} letters are {script} (mostly {s.dominant()}): wrong file or folder? not aligned")
    warnings = []
    for side in ("en", "ar"):
        language, script, _ = _EXPECTED[side]
        s = shares[side]
        if s.letters >= MIN_LETTERS_FOR_LANGUAGE and s.share(side) < MIXED_SCRIPT_SHARE:
            warnings.append(f"{paths[side]}: mixed languages: only {s.share(side):.0%} of its letters are "
                            f"{script} (aligned anyway)")
    for side, text in (("en", en_text), ("ar", ar_text)):
        warnings += _check_language_within_script(paths[side], text, side, (measured or {}).get(side))
    return warnings


# Languages lingua chooses from, per side's script: the expected one and those whose
# files plausibly land in its folder. Fewer candidates, fewer false verdicts: with Latin,
# Tagalog, Malay and Swedish too, dev-set English (transliterated Arabic names) fell to
# 89% English in one document; with these, at least 95% in every document.
_LINGUA_CANDIDATES = {
    "en": ("ENGLISH", "FRENCH", "SPANISH", "PORTUGUESE", "ITALIAN", "GERMAN", "DUTCH", "TURKISH", "INDONESIAN",
           "SWAHILI", "SOMALI", "POLISH"),
    "ar": ("ARABIC", "PERSIAN", "URDU"),
}
LANGUAGE_SAMPLE_PIECES = 64
LANGUAGE_PIECE_CHARS = 300
"""lingua reads at most this many pieces of at most this many characters, spread evenly
over the text: a 5 MB document costs what a 20 KB one does (about 0.05 s)."""


@lru_cache(maxsize=2)
def _language_detector(side: str):
    """lingua over the side's candidate languages, low-accuracy mode (trigram models:
    about 0.3 s to build, 40 MB)."""
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, name) for name in _LINGUA_CANDIDATES[side]]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode() \
        .with_preloaded_language_models().build()


def _language_sample(text: str) -> list[str]:
    """Pieces of the text, line by line, of at most LANGUAGE_PIECE_CHARS characters;
    at most LANGUAGE_SAMPLE_PIECES of them, evenly spread. A long text is cut into as
    many windows first (their partial first and last words dropped)."""
    n, size = LANGUAGE_SAMPLE_PIECES, LANGUAGE_PIECE_CHARS
    if len(text) > 4 * n * size:
        step = len(text) // n
        text = "\n".join(" ".join(text[k * step:k * step + 2 * size].split(" ")[1:-1]) for k in range(n))
    pieces = []
    for line in text.splitlines():
        piece = ""
        for word in line.split():
            if piece and len(piece) + 1 + len(word) > size:
                pieces.append(piece)
                piece = ""
            piece = f"{piece} {word}" if piece else word[:size]
        if piece:
            pieces.append(piece)
    if len(pieces) > n:
        pieces = [pieces[round(k * (len(pieces) - 1) / (n - 1))] for k in range(n)]
    return pieces


def language_shares(text: str, side: str) -> tuple[int, dict[str, float]]:
    """``(letters, shares)``: how many letters in the side's script lingua judged, and the
    share of them in each language it found (``{"Arabic": 0.9, "Persian": 0.1}``, largest
    first), over a sample of the text (see :func:`_language_sample`). Pieces mostly in
    another script are skipped (the script check covers those), and so are combining
    marks and tatweel: fully vowelled Arabic would otherwise read as no language."""
    return language_shares_many([text], side)[0]


def language_shares_many(texts: Sequence[str], side: str) -> list[tuple[int, dict[str, float]]]:
    """:func:`language_shares` of each text, with one lingua call for all of them (a call
    costs about 2 ms whatever its size: for a hundred short documents, half the check)."""
    script = _EXPECTED[side][2]
    pieces, weights, owner = [], [], []
    for k, text in enumerate(texts):
        for piece in _language_sample(text):
            piece = _without_marks(piece)
            own = len(script.findall(piece))
            if own >= MIN_LETTERS_FOR_LANGUAGE and 2 * own >= len(_LETTER.findall(piece)):
                pieces.append(piece)
                weights.append(own)
                owner.append(k)
    found: list[dict[str, int]] = [{} for _ in texts]
    languages = _language_detector(side).detect_languages_in_parallel_of(pieces) if pieces else []
    for language, weight, k in zip(languages, weights, owner):
        if language is not None:  # lingua undecided
            name = language.name.title()
            found[k][name] = found[k].get(name, 0) + weight
    out = []
    for counts in found:
        total = sum(counts.values())
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        out.append((total, {name: count / total for name, count in ranked}))
    return out


@lru_cache(maxsize=1)
def _marks_table() -> dict[int, None]:
    """``str.translate`` table deleting the Basic Multilingual Plane's combining marks (Mn)
    and tatweel."""
    table: dict[int, None] = {cp: None for cp in range(0x10000) if unicodedata.category(chr(cp)) == "Mn"}
    table[0x0640] = None
    return table


def _without_marks(piece: str) -> str:
    """The piece without combining marks (Mn) and tatweel."""
    if piece.isascii():
        return piece
    if max(piece) > "\uffff":  # marks beyond the BMP (rare): character by character
        return "".join(c for c in piece if unicodedata.category(c) != "Mn" and c != "\u0640")
    return piece.translate(_marks_table())


def _check_language_within_script(path: Path, text: str, side: str,
                                  measured: tuple[int, dict[str, float]] | None = None) -> list[str]:
    """Refuse a side in another language of its script, warn about one partly so.
    ``measured``: the text's :func:`language_shares`, when already known."""
    expected = _EXPECTED[side][0]
    letters, shares = measured if measured is not None else language_shares(text, side)
    if letters < MIN_LETTERS_TO_NAME_LANGUAGE:
        return []
    share = shares.get(expected, 0.0)
    others = [(name, value) for name, value in shares.items() if name != expected]
    if share >= MIXED_SCRIPT_SHARE or not others:
        return []
    other, other_share = others[0]
    if share < WRONG_SCRIPT_SHARE and letters >= MIN_LETTERS_TO_REFUSE_LANGUAGE:
        raise DocumentError(
            f"{path}: expected {expected}, but it reads as {other} ({other_share:.0%} of {letters:,} letters "
            f"sampled; {expected} {share:.0%}): wrong file or folder? not aligned")
    if share < WRONG_SCRIPT_SHARE:
        return [f"{path}: it reads as {other}, not {expected} ({letters} letters sampled: too short to be "
                f"sure; aligned anyway)"]
    return [f"{path}: mixed languages: only {share:.0%} of its text reads as {expected} ({other} "
            f"{other_share:.0%}; aligned anyway)"]



def read_document(path: str | Path, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> str:
    """A document's text: UTF-8 (a leading byte-order mark dropped), UTF-16/32 with a
    byte-order mark, or a detected legacy encoding (see :mod:`aligner.io.inputs`); any
    line ends.

    Raises :class:`DocumentError`, its message starting with the path: ``not valid
    UTF-8 (byte N, line L)`` (``N`` the 0-based offset of the first bad byte in the
    file), ``empty file``, ``no text (only whitespace)``, ``binary file (PDF), ...``,
    ``file too large (...)`` or ``cannot be read (...)``."""
    return read_input(path, max_bytes=max_bytes).text
