"""``tsv``: ``corpus.tsv`` (``corpus.<split>.tsv``), a header line, then one line per record.

Backslash, tab, line feed and carriage return are escaped as ``\\\\``, ``\\t``, ``\\n``, ``\\r``
(:func:`aligner.io.records.tsv_escape`); reading back (:func:`aligner.io.records.read_corpus`)
restores them."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from aligner.io.files import atomic_open
from aligner.io.records import SCORED_COLUMNS, TSV_COLUMNS, CorpusRecord
from aligner.outputs.formats.base import CorpusFormat, WriteOptions


def write_tsv(records: Iterable[CorpusRecord], path: str | Path) -> Path:
    """A header line and one line per record, columns :data:`~aligner.io.records.TSV_COLUMNS`
    (then the :data:`~aligner.io.records.SCORED_COLUMNS` when any record is scored: a missing
    value empty, flags comma-joined), fields escaped with :func:`~aligner.io.records.tsv_escape`,
    no quoting."""
    records = list(records)
    with_scores = any(r.is_scored() for r in records)
    header = list(TSV_COLUMNS) + (list(SCORED_COLUMNS) if with_scores else [])
    with atomic_open(path) as handle:
        handle.write("\t".join(header) + "\n")
        handle.writelines("\t".join(r.to_tsv_fields(with_scores)) + "\n" for r in records)
    return Path(path)


class TsvFormat(CorpusFormat):
    name = "tsv"
    suffixes = (".tsv",)

    def write_files(self, records: Sequence[CorpusRecord], paths: list[Path], options: WriteOptions) -> list[Path]:
        return [write_tsv(records, *paths)]
