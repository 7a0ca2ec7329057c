"""What every corpus format is: :class:`CorpusFormat` (its name, the files it writes, how it
writes them) and :class:`WriteOptions` (what a format may need besides the records)."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

from aligner.io.records import CorpusRecord
from aligner.outputs.splits import SPLIT_NAMES

CORPUS_STEM = "corpus"
"""Every file of a format is ``corpus<suffix>`` (whole corpus) or ``corpus.<split><suffix>``."""


@dataclass(frozen=True)
class WriteOptions:
    """The same options go to every format; each uses the ones it needs."""

    run: Mapping[str, Any] | None = None
    """The ``run.json`` of the corpus, when known: the TMX header's provenance props and the
    dataset card's "How it was made"."""
    unaligned: Mapping[str, int] | None = None
    """``{"en": n, "ar": n}`` unaligned sentences, when known (the dataset card)."""
    filters: tuple[str, ...] = ()
    """Descriptions of the filters applied (the dataset card)."""
    source: Path | None = None
    """The corpus file the records were read from: ``jsonl`` refuses to overwrite it."""
    shares: tuple[float, ...] | None = None
    """The train, validation, test shares (``hf`` splits its folder by them), or ``None``."""
    license: str | None = None
    license_name: str | None = None
    repo_id: str | None = None
    """``hf``: the dataset card's licence (:func:`aligner.outputs.card.check_license`) and repository."""
    tmx_source: str = "ar"
    """``tmx``: the source language, ``ar`` or ``en`` (:func:`aligner.outputs.formats.tmx.write_tmx`)."""


class CorpusFormat(ABC):
    """A corpus format: :attr:`name` (as ``--format`` takes it), the files it writes in the
    output folder (:meth:`file_names`) and :meth:`write`. Stateless: the registry
    (:data:`aligner.outputs.formats.FORMATS`) holds one instance of each."""

    name: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]] = ()
    """The endings of its files after :data:`CORPUS_STEM` (and the split), e.g. ``(".en", ".ar")``."""

    def file_names(self, split: str | None = None) -> tuple[str, ...]:
        """The names it writes in the output folder for the records of ``split`` (``None``:
        the whole corpus, no split)."""
        stem = CORPUS_STEM if split is None else f"{CORPUS_STEM}.{split}"
        return tuple(stem + suffix for suffix in self.suffixes)

    def all_file_names(self) -> tuple[str, ...]:
        """Every name it can write in an output folder: the whole corpus's, then each split's."""
        return tuple(dict.fromkeys(n for split in (None, *SPLIT_NAMES) for n in self.file_names(split)))

    def check(self, options: WriteOptions) -> None:
        """Raise ``ValueError`` for options it cannot write with, before anything is written."""

    def skip_reason(self, records: Sequence[CorpusRecord]) -> str | None:
        """Why these records are not written in this format (nothing written, not an error), or ``None``."""
        return None

    def write(self, records: Sequence[CorpusRecord], folder: Path, *, split: str | None = None,
              options: WriteOptions = WriteOptions()) -> list[Path]:
        """Write ``records`` (those of ``split``, or the whole corpus) to :meth:`file_names`
        in ``folder``; returns the paths written."""
        return self.write_files(records, [folder / name for name in self.file_names(split)], options)

    @abstractmethod
    def write_files(self, records: Sequence[CorpusRecord], paths: list[Path], options: WriteOptions) -> list[Path]:
        """Write ``records`` to ``paths``, the :meth:`file_names` in the output folder; returns the paths."""

    def write_splits(self, records: Sequence[CorpusRecord], parts: Mapping[str | None, Sequence[CorpusRecord]],
                     folder: Path, options: WriteOptions) -> list[Path]:
        """Write the corpus ``records``, whose parts to write are ``parts`` (split name ->
        its records; ``{None: records}`` without a split): :meth:`write` once per part. A
        format that holds every split in one place overrides it."""
        return [path for split, part in parts.items() for path in self.write(part, folder, split=split,
                                                                               options=options)]


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are the same file (``False`` when either is not there)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
