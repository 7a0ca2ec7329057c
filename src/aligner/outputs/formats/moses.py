"""``moses``: ``corpus.en`` and ``corpus.ar`` (``corpus.<split>.en`` ...), one pair per line,
the same line count.

Every character that ends a line somewhere (``\\n``, ``\\r``, ``\\v``, ``\\f``,
``\\x1c``-``\\x1e``, ``\\x85``, U+2028, U+2029) becomes a space, so both files have exactly
one line per pair for any line reader."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Sequence

from aligner.io.files import atomic_open
from aligner.io.records import CorpusRecord
from aligner.outputs.formats.base import CorpusFormat, WriteOptions

_LINE_BREAKS = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def moses_line(text: str) -> str:
    """``text`` on one line: every line-ending character (as ``str.splitlines`` knows
    them; ``\\r\\n`` counts as one) replaced by a space."""
    return _LINE_BREAKS.sub(" ", text)


def write_moses(records: Iterable[CorpusRecord], en_path: str | Path, ar_path: str | Path) -> tuple[Path, Path]:
    """``corpus.en`` and ``corpus.ar``: line *n* of each is pair *n* (:func:`moses_line`)."""
    records = list(records)
    with atomic_open(en_path) as en, atomic_open(ar_path) as ar:
        en.writelines(moses_line(r.en) + "\n" for r in records)
        ar.writelines(moses_line(r.ar) + "\n" for r in records)
    return Path(en_path), Path(ar_path)


class MosesFormat(CorpusFormat):
    name = "moses"
    suffixes = (".en", ".ar")

    def write_files(self, records: Sequence[CorpusRecord], paths: list[Path], options: WriteOptions) -> list[Path]:
        return list(write_moses(records, *paths))
