""":class:`Corpus`: an aligned corpus (its records, and what is known of how it was made),
loaded from a run folder or a corpus file, filtered, split, and written in the formats of
the registry (:data:`aligner.outputs.formats.FORMATS`) or pushed to the Hugging Face Hub."""

from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from aligner.version import __version__
from aligner.io.files import CORPUS_FILE, RUN_FILE, UNALIGNED_FILE, finish_pending, output_lock, read_json_object
from aligner.io.records import QUALITY_KEY, CorpusRecord, read_corpus
from aligner.outputs.card import DEFAULT_CONFIG, build_card, check_config_name, check_license, config_data_dir
from aligner.outputs.formats import FORMATS, WriteOptions, parse_formats
from aligner.outputs.formats.hf import HF_DIR, HF_SHARD_ROWS, write_hf_folder
from aligner.outputs.formats.tmx import check_source
from aligner.outputs.splits import as_shares, split_records


@dataclass
class ExportResult:
    """What :meth:`Corpus.write` wrote: every path, the rows per written split, and the
    splits left out because no document fell in them."""

    written: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    empty_splits: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Formats not written, with why (``hf`` of an empty corpus)."""


class Corpus:
    """An aligned corpus: its records, plus what is known about how it was made.

    ``run``: the ``run.json`` content (settings and report numbers), when known;
    ``unaligned``: ``{"en": n, "ar": n}`` unaligned sentences, when known; ``filters``:
    descriptions of the filters applied (they go into the dataset card).

    >>> corpus = Corpus.from_dir("out")                  # corpus.jsonl (+ run.json)
    >>> good = corpus.filter(min_quality=0.6)
    >>> good.write("out", ["tsv", "tmx", "hf"], split=(0.8, 0.1, 0.1))
    >>> good.push_to_hub("user/name", private=True)      # commit URL
    """

    def __init__(self, records: Iterable[CorpusRecord], *, run: dict[str, Any] | None = None,
                 unaligned: dict[str, int] | None = None, filters: Sequence[str] = (),
                 source: str | Path | None = None) -> None:
        self.records: list[CorpusRecord] = list(records)
        self.run = run
        self.unaligned = unaligned
        self.filters: tuple[str, ...] = tuple(filters)
        self.source = None if source is None else Path(source)

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: str | Path) -> "Corpus":
        """A run folder (:meth:`from_dir`) or a corpus file (:meth:`from_file`)."""
        path = Path(path)
        return cls.from_dir(path) if path.is_dir() else cls.from_file(path)

    @classmethod
    def from_dir(cls, path: str | Path) -> "Corpus":
        """A folder written by ``aligner align``: ``corpus.jsonl``, with provenance and
        report numbers from ``run.json`` (and ``unaligned.jsonl``) when present."""
        path = Path(path)
        corpus_path = path / CORPUS_FILE
        if not corpus_path.is_file():
            raise FileNotFoundError(f"{path}: no {CORPUS_FILE} in this folder")
        return cls.from_file(corpus_path)

    @classmethod
    def from_file(cls, path: str | Path) -> "Corpus":
        """A ``corpus.jsonl`` or TSV corpus (:func:`~aligner.io.records.read_corpus`). A file
        named ``corpus.jsonl`` takes ``run.json`` / ``unaligned.jsonl`` from its folder."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        if path.name == CORPUS_FILE:
            finish_pending(path.parent)  # a scoring of this folder killed half-way: complete it first
        records = read_corpus(path)
        run = unaligned = None
        if path.name == CORPUS_FILE:
            run = read_json_object(path.parent / RUN_FILE, strict=True)
            unaligned = _count_unaligned(path.parent / UNALIGNED_FILE, run)
        return cls(records, run=run, unaligned=unaligned, source=path)

    # ------------------------------------------------------------------ views

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[CorpusRecord]:
        return iter(self.records)

    @property
    def doc_ids(self) -> list[str]:
        """Documents with at least one record, in first-seen order."""
        return list(dict.fromkeys(r.doc_id for r in self.records))

    @property
    def quality_field(self) -> str:
        """What ``min_quality`` filters on: ``"quality"`` when every record has a
        quality value, else ``"score"`` (the similarity)."""
        if self.records and all(r.quality is not None for r in self.records):
            return QUALITY_KEY
        return "score"

    @property
    def has_quality(self) -> bool:
        return any(r.quality is not None for r in self.records)

    @property
    def is_scored(self) -> bool:
        """Whether any record is scored: TSV and Parquet then have the scored columns."""
        return any(r.is_scored() for r in self.records)

    def filter(self, *, min_score: float | None = None, min_quality: float | None = None) -> "Corpus":
        """A new corpus with the records whose ``score`` is at least ``min_score`` and
        whose quality (:attr:`quality_field`) is at least ``min_quality``."""
        records, filters = self.records, list(self.filters)
        if min_score is not None:
            records = [r for r in records if r.score >= min_score]
            filters.append(f"`score` >= {min_score:g}")
        if min_quality is not None:
            key = self.quality_field
            records = [r for r in records if getattr(r, key) >= min_quality]
            note = "" if key == QUALITY_KEY else " (`--min-quality` filters on `score`, the similarity, " \
                                                 "because the records carry no `quality` value)"
            filters.append(f"`{key}` >= {min_quality:g}{note}")
        return Corpus(records, run=self.run, unaligned=self.unaligned, filters=filters, source=self.source)

    def split(self, shares: Sequence[float] | str | None) -> dict[str, "Corpus"]:
        """The corpus by split (see :func:`aligner.outputs.splits.split_of`); every split name present."""
        return {name: Corpus(records, run=self.run, unaligned=self.unaligned, filters=self.filters,
                             source=self.source)
                for name, records in split_records(self.records, as_shares(shares)).items()}

    # ------------------------------------------------------------------ writing

    def write(self, out_dir: str | Path, formats: Iterable[str] | str = ("jsonl",), *,
              split: Sequence[float] | str | None = None, license: str | None = None,
              repo_id: str | None = None, license_name: str | None = None,
              tmx_source: str = "ar") -> ExportResult:
        """Write the corpus to ``out_dir`` (created if needed) in each of ``formats``
        (names in :data:`aligner.outputs.formats.FORMATS`, whose module docstring gives the
        file names). With ``split``, every format is written per non-empty split. ``license``:
        the dataset card's licence, a Hub licence id (default ``unknown``; ``other`` needs
        ``license_name``; see :func:`aligner.outputs.card.check_license`). ``tmx_source``: the
        TMX's source language, ``"ar"`` (default) or ``"en"``
        (:func:`aligner.outputs.formats.tmx.write_tmx`). Refuses (``ValueError``) to
        overwrite the corpus file it was read from, and a licence the Hub would not accept
        (:class:`aligner.outputs.card.CardError`) or an unknown TMX source language before writing
        anything."""
        names = parse_formats(formats)
        options = WriteOptions(run=self.run, unaligned=self.unaligned, filters=self.filters, source=self.source,
                               license=license, license_name=license_name, repo_id=repo_id, tmx_source=tmx_source)
        for name in names:  # the options each format cannot write with (hf: the licence), before anything
            FORMATS[name].check(options)
        options = replace(options, shares=as_shares(split))
        check_source(tmx_source)
        out_dir = Path(out_dir)
        with output_lock(out_dir):  # one writer at a time; what a killed export left is removed first
            return self._write(out_dir, names, options)

    def _write(self, out_dir: Path, names: tuple[str, ...], options: WriteOptions) -> ExportResult:
        by_split = split_records(self.records, options.shares)
        parts: dict[str | None, list[CorpusRecord]]  # split name (None: no split) -> its records
        if options.shares is None:
            parts = {None: self.records}
            result = ExportResult(rows={"train": len(self.records)})
        else:
            parts = {name: recs for name, recs in by_split.items() if recs}
            result = ExportResult(rows={name: len(recs) for name, recs in by_split.items() if recs},
                                  empty_splits=[name for name, recs in by_split.items() if not recs])
        for name in names:
            fmt = FORMATS[name]
            why = fmt.skip_reason(self.records)
            if why is not None:
                result.skipped.append(f"{name} ({why})")
                continue
            result.written.extend(fmt.write_splits(self.records, parts, out_dir, options))
        return result

    def write_hf(self, folder: str | Path, *, split: Sequence[float] | str | None = None,
                 license: str | None = None, repo_id: str | None = None,
                 shard_rows: int = HF_SHARD_ROWS, config_name: str = DEFAULT_CONFIG,
                 license_name: str | None = None, existing_card: str | None = None) -> Path:
        """A Hugging Face dataset folder: ``data/<split>-0000K-of-0000N-<content id>.parquet``
        (for a ``config_name`` other than ``default``: ``<config_name>/<split>-...``, the layout
        ``datasets`` uses; each name carries the first 16 hex digits of the file's SHA-256,
        :func:`aligner.outputs.formats.hf.content_id`, and the card's ``configs`` entry lists the
        names exactly) and a dataset card ``README.md`` (:func:`aligner.outputs.card.build_card`,
        merged into ``existing_card`` when given). Built in a temporary folder beside
        ``folder`` and renamed into place (a previous ``folder`` is replaced).
        ``datasets.load_dataset`` loads it (no loading script). Raises ``ValueError`` for a
        corpus of no records (``datasets`` cannot load a Parquet file without rows), and
        :class:`aligner.outputs.card.CardError` (a ``ValueError``) for a licence or configuration
        name the Hub would not accept, before anything is written."""
        return write_hf_folder(self.records, Path(folder), split=split, license=license, license_name=license_name,
                               repo_id=repo_id, run=self.run, unaligned=self.unaligned, filters=self.filters,
                               shard_rows=shard_rows, config_name=config_name, existing_card=existing_card)[0]

    def dataset_card(self, by_split: dict[str, list[CorpusRecord]], data_files: dict[str, Any], *,
                     shares: Sequence[float] | None = None, license: str | None = None,
                     repo_id: str | None = None, config_name: str = DEFAULT_CONFIG,
                     license_name: str | None = None, existing: str | None = None) -> str:
        """The ``README.md`` of the ``hf`` folder (:func:`aligner.outputs.card.build_card`): YAML
        metadata, then what the rows are, every column, how the corpus was made (from
        ``run.json``), its numbers, intended uses, limitations and how to cite the tool."""
        return build_card(self.records, by_split, data_files, run=self.run, unaligned=self.unaligned,
                          filters=self.filters, shares=shares, license=license, license_name=license_name,
                          repo_id=repo_id, config_name=config_name, existing=existing)

    # ------------------------------------------------------------------ publishing

    def push_to_hub(self, repo_id: str, *, private: bool = False, token: str | None = None,
                    split: Sequence[float] | str | None = None, license: str | None = None,
                    endpoint: str | None = None, commit_message: str | None = None,
                    config_name: str = DEFAULT_CONFIG, license_name: str | None = None,
                    revision: str | None = None, create_pr: bool = False) -> str:
        """Publish the corpus as configuration ``config_name`` of the Hugging Face dataset
        repository ``repo_id``, as ``datasets``' ``push_to_hub`` does: create the repository
        (``repo_type="dataset"``; ``private`` applies when it is created), then ONE commit
        that writes this configuration's Parquet files (``data/`` for ``default``, else
        ``<config_name>/``), deletes the files of an earlier push of the same configuration
        that this one does not write (other configurations' files are left alone), and
        merges the dataset card into the repository's ``README.md`` (the owner's metadata
        and sections are kept; see :mod:`aligner.outputs.card`). ``revision``: the branch to commit
        to (created if needed); ``create_pr``: open a pull request instead of committing to
        it; ``commit_message``: the commit's title. ``token``: default from ``HF_TOKEN`` or
        the login cache. Returns the commit URL (the pull request's URL with
        ``create_pr``). Raises :class:`aligner.outputs.hub.HubError` (never showing the token) when
        anything fails, nothing committed then, and :class:`aligner.outputs.card.CardError` for a
        licence or configuration name the Hub would not accept, before any request."""
        from aligner.outputs.hub import check_repo_id, push_folder

        check_repo_id(repo_id)
        check_license(license, license_name)
        data_dir = config_data_dir(check_config_name(config_name))
        with tempfile.TemporaryDirectory(prefix="aligner-hub-") as tmp:
            folder, card_args = write_hf_folder(
                self.records, Path(tmp) / HF_DIR, split=split, license=license, license_name=license_name,
                repo_id=repo_id, run=self.run, unaligned=self.unaligned, filters=self.filters,
                shard_rows=HF_SHARD_ROWS, config_name=config_name, existing_card=None)

            def merge_card(existing: str | None) -> str:  # the repository's card, with ours merged in
                return build_card(**card_args, existing=existing)

            message = commit_message or (f"Upload corpus ({len(self.records)} sentence pairs, config {config_name}) "
                                         f"with aligner {__version__}")
            return push_folder(folder, repo_id, private=private, token=token, endpoint=endpoint,
                               commit_message=message, data_dir=data_dir, revision=revision, create_pr=create_pr,
                               merge_card=merge_card)


def _count_unaligned(path: Path, run: dict | None) -> dict[str, int] | None:
    summary = (run or {}).get("summary") or {}
    numbers = [summary.get(k) if isinstance(summary, dict) else None for k in ("unaligned_en", "unaligned_ar")]
    if all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):  # a damaged run.json: count instead
        return {"en": numbers[0], "ar": numbers[1]}
    if not path.is_file():
        return None
    counts = {"en": 0, "ar": 0}
    with contextlib.suppress(OSError, ValueError, AttributeError):
        # Lines end at "\n" only: str.splitlines would also split at a U+2028 inside a string.
        for line in path.read_text(encoding="utf-8").split("\n"):
            if line.strip():
                side = json.loads(line).get("side")
                if side in counts:
                    counts[side] += 1
        return counts
    return None
