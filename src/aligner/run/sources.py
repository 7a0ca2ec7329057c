"""The input documents of a run, each read, decoded and segmented once.

Content pairing reads every document to find the pairs; aligning then needs the same
documents again. :class:`SourceReader` keeps what a read gave (the bytes' SHA-256 for
resuming, the decoded text and its warnings, the sentences) until the document is
aligned, so no file is read or segmented twice. What it holds is bounded
(``budget_bytes`` of text, least recently read out): on a collection larger than that,
the documents that fell out are read again when aligned, and ``run.json`` says how many
(``timings.files_read_again``).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from aligner.io.inputs import DocumentError, decode_bytes, file_bytes
from aligner.pairing.names import FOLLOW_LINKS_HINT
from aligner.text.normalization import normalize_for_encoding
from aligner.text.segmentation import Sentence, segment, split_lines

BUDGET_BYTES = 256 << 20
"""Text held between pairing and aligning (about 1 GB of process memory with the
sentence objects): 50,000 documents of 5 KB."""


@dataclass
class SourceDocument:
    """One input file as read: the SHA-256 of its bytes, its text, the encoding it was
    decoded from, warnings (each starting with the path) and its sentences."""

    path: Path
    sha256: str
    text: str
    encoding: str
    sentences: list[Sentence]
    warnings: list[str] = field(default_factory=list)


class SourceReader:
    """Reads the documents of one run (see the module docstring). ``roots``: per language,
    the folder its files must stay inside (links out of it are refused unless
    ``follow_links``); ``max_bytes``: larger files are refused unread."""

    def __init__(self, roots: dict[str, Path], *, presplit: bool, max_bytes: int | None, follow_links: bool,
                 budget_bytes: int = BUDGET_BYTES):
        self.roots, self.presplit, self.max_bytes = roots, presplit, max_bytes
        self.follow_links, self.budget_bytes = follow_links, budget_bytes
        self._held: OrderedDict[tuple[str, Path], SourceDocument | DocumentError] = OrderedDict()
        self._held_bytes = 0
        self._seen: set[tuple[str, Path]] = set()
        self.files_read = 0
        self.read_again = 0

    def read(self, path: Path, lang: str) -> SourceDocument:
        """The document at ``path`` in language ``lang`` (read once; :class:`DocumentError`
        when it cannot be read, decoded or segmented)."""
        key = (lang, Path(path))
        held = self._held.get(key)
        if held is None:
            held = self._read(key[1], lang)
            self.files_read += 1
            self.read_again += key in self._seen
            self._seen.add(key)
            self._hold(key, held)
        else:
            self._held.move_to_end(key)
        if isinstance(held, DocumentError):
            raise held
        return held

    def pairing_sentences(self, path: Path, lang: str) -> list[str]:
        """The document's sentences as the encoder sees them (content pairing's reader)."""
        return [normalize_for_encoding(s.text, lang) for s in self.read(path, lang).sentences]

    def release(self, path: Path, lang: str) -> None:
        """Forget a document (aligned: not needed again)."""
        held = self._held.pop((lang, Path(path)), None)
        if held is not None:
            self._held_bytes -= _size(held)

    def _read(self, path: Path, lang: str) -> SourceDocument | DocumentError:
        try:
            if not self.follow_links:  # checked as read: the file may have become a link since it was listed
                _refuse_outside(path, self.roots[lang], "English" if lang == "en" else "Arabic")
            data = file_bytes(path, self.max_bytes)
            decoded = decode_bytes(data, path)
            sentences = split_lines(decoded.text) if self.presplit else segment(decoded.text, lang)
            return SourceDocument(path, hashlib.sha256(data).hexdigest(), decoded.text, decoded.encoding,
                                  sentences, list(decoded.warnings))
        except DocumentError as exc:
            return exc

    def _hold(self, key: tuple[str, Path], doc: SourceDocument | DocumentError) -> None:
        self._held[key] = doc
        self._held_bytes += _size(doc)
        while self._held_bytes > self.budget_bytes and len(self._held) > 1:
            _, old = self._held.popitem(last=False)
            self._held_bytes -= _size(old)


def _size(doc: SourceDocument | DocumentError) -> int:
    return 2 * len(doc.text) if isinstance(doc, SourceDocument) else 0  # the text, and its sentences


def _refuse_outside(path: Path, folder: Path, side: str) -> None:
    """:class:`DocumentError` when the file that ``path`` leads to (links resolved) is
    outside ``folder``."""
    real = path.resolve()
    if not real.is_relative_to(folder.resolve()):
        raise DocumentError(f"{path}: leads to {real}, outside the {side} folder {folder}: not read "
                            f"({FOLLOW_LINKS_HINT})")
