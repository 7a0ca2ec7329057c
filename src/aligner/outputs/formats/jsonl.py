"""``jsonl``: ``corpus.jsonl`` (``corpus.<split>.jsonl``), one JSON object per record, the
rich record (:meth:`~aligner.io.records.CorpusRecord.to_json_line`): every key a record
carries is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from aligner.io.files import atomic_open
from aligner.io.records import CorpusRecord
from aligner.outputs.formats.base import CorpusFormat, WriteOptions, same_file


def write_jsonl(records: Iterable[CorpusRecord], path: str | Path) -> Path:
    """``corpus.jsonl``: one JSON object per record (:meth:`CorpusRecord.to_json_line`)."""
    with atomic_open(path) as handle:
        handle.writelines(r.to_json_line() for r in records)
    return Path(path)


class JsonlFormat(CorpusFormat):
    name = "jsonl"
    suffixes = (".jsonl",)

    def write_files(self, records: Sequence[CorpusRecord], paths: list[Path], options: WriteOptions) -> list[Path]:
        """Refuses (``ValueError``) to overwrite the corpus file being exported (``options.source``)."""
        (target,) = paths
        if options.source is not None and target.exists() and same_file(target, options.source):
            raise ValueError(f"{target}: is the corpus being exported; write to another folder")
        return [write_jsonl(records, target)]
