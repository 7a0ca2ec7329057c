"""Corpus outputs in the formats people use, all written from :class:`~aligner.io.records.CorpusRecord`.

=========  ==========================================  ============================================
format     files (in the output folder)                content
=========  ==========================================  ============================================
``jsonl``  ``corpus.jsonl``                            the rich record (see :mod:`aligner.run.folders`)
``tsv``    ``corpus.tsv``                              header, then ``en_file ar_file en ar score
                                                       doc_id en_idx ar_idx bead_type`` [scores]
``moses``  ``corpus.en`` + ``corpus.ar``               one pair per line, same line count
``tmx``    ``corpus.tmx``                              TMX 1.4b, Arabic the source (``srclang="ar"``)
``hf``     ``hf/`` (``README.md``, ``data/*.parquet``)  a Hugging Face dataset folder
=========  ==========================================  ============================================

Every per-pair field of a ``corpus.jsonl`` record is a column (TSV, Parquet) or an ``x-``
prop (TMX): the texts, ``score``, the provenance (``doc_id``, the files, the sentence
indices, ``bead_type``), and for a scored corpus the :data:`~aligner.io.records.SCORED_COLUMNS`
in this order: ``quality``, ``similarity``, ``margin``, ``gap``, ``length_ratio``,
``numbers``, ``language``, ``e5_similarity``, ``e5_gap`` (``scores.margin`` is the ``margin``
column) and ``flags``. These columns are all there as soon as any record is scored, in
that order; a missing value is null in Parquet, an empty field in TSV, no prop in TMX.
Flags are a list of strings in Parquet, comma-joined in TSV and TMX. Other keys a record may
carry are kept by ``jsonl`` only.

With a split (:func:`parse_split`, ``--split 0.8,0.1,0.1``) every format is written once per
non-empty split: ``corpus.train.tsv``, ``corpus.validation.en``, ..., and ``hf/data/train-*``.
Documents go to splits by a stable hash of their ``doc_id`` (:func:`split_of`), so a
document never has rows in two splits.

Every file is written to a temporary file and moved into place (:func:`aligner.io.files.atomic_open`);
the ``hf`` folder is built in a temporary folder beside it and renamed into place. One
export writes a folder at a time (a lock on it), and removes first what a killed one left
(:func:`aligner.io.files.output_lock`). :func:`prepare_output_folder` refuses a folder
holding another run's corpus, as ``aligner align`` does. The same
records give the same bytes: no format holds a time (the TMX header has no ``creationdate``;
it is optional in TMX 1.4b) or an absolute path.

Text that a format cannot hold as it is:

* TSV: backslash, tab, line feed and carriage return are escaped as ``\\\\``, ``\\t``, ``\\n``,
  ``\\r`` (:func:`aligner.io.records.tsv_escape`); reading back restores them.
* Moses: every character that ends a line somewhere (``\\n``, ``\\r``, ``\\v``, ``\\f``,
  ``\\x1c``-``\\x1e``, ``\\x85``, U+2028, U+2029) becomes a space, so both files have exactly
  one line per pair for any line reader.
* TMX: characters XML 1.0 cannot hold (C0 controls other than tab, LF and CR, U+FFFE,
  U+FFFF, lone surrogates) become U+FFFD; everything else (``<``, ``&``, quotes, RTL
  marks, emoji, CR) is escaped by lxml and parses back unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from aligner.version import __version__
from aligner.outputs.card import DEFAULT_CONFIG, build_card, check_config_name, config_data_dir, size_category  # noqa: F401 (re-exported)
from aligner.io.files import (
    CORPUS_FILE, RUN_FILE, UNALIGNED_FILE, OutputExistsError, atomic_open, describe_differences, finish_pending, new_file_mode,
    output_lock, read_json_object,
)
from aligner.outputs.hf_schema import HF_COLUMN_DOCS, hf_columns, hf_features  # noqa: F401 (re-exported)
from aligner.io.records import (
    FLAGS_KEY,
    QUALITY_KEY,
    SCORED_COLUMNS,
    TSV_COLUMNS,
    CorpusRecord,
    format_indices,
    format_number,
    iter_corpus,
    read_corpus,
)

FORMATS = ("jsonl", "tsv", "moses", "tmx", "hf")
"""Formats :meth:`Corpus.write` knows, in the order they are written."""

SPLIT_NAMES = ("train", "validation", "test")
HF_DIR = "hf"
HF_DATA_DIR = "data"
HF_SHARD_ROWS = 500_000
"""Rows per Parquet file of the ``hf`` folder (a larger split gets several shards)."""
HF_ROW_GROUP_ROWS = 10_000
DEFAULT_LICENSE = "unknown"
"""The card's licence when none is given and the card has none (the Hub's id for a licence not known)."""
TMX_DOCTYPE = '<!DOCTYPE tmx SYSTEM "tmx14.dtd">'
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


# ----------------------------------------------------------------------------- options


def parse_formats(spec: str | Iterable[str]) -> tuple[str, ...]:
    """``"jsonl,tsv"`` (or a list of names) as a tuple of known formats in :data:`FORMATS`
    order, duplicates dropped. Raises ``ValueError`` naming an unknown format."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    names = [n.strip().lower() for n in names if n.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format(s) {', '.join(map(repr, unknown))}; choose from {','.join(FORMATS)}")
    if not names:
        raise ValueError(f"no format given; choose from {','.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in names)


def parse_split(spec: str | Sequence[float] | None) -> tuple[float, float, float] | None:
    """``"0.8,0.1,0.1"`` as the shares of train, validation and test (each >= 0, summing
    to 1; a share may be 0). ``None`` or ``""``: no split. Raises ``ValueError``."""
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return None
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    try:
        shares = tuple(float(p) for p in parts)
    except ValueError:
        raise ValueError(f"split {spec!r}: expected three numbers like 0.8,0.1,0.1 (train,validation,test)") from None
    if len(shares) != 3:
        raise ValueError(f"split {spec!r}: expected three numbers (train,validation,test), got {len(shares)}")
    if any(not (0.0 <= s <= 1.0) for s in shares) or abs(sum(shares) - 1.0) > 1e-6:
        raise ValueError(f"split {spec!r}: the shares must be between 0 and 1 and sum to 1")
    return shares  # type: ignore[return-value]


def doc_hash_fraction(doc_id: str) -> float:
    """A number in [0, 1) fixed by ``doc_id`` alone: the first 8 bytes of the SHA-256
    of its UTF-8 bytes, over 2**64."""
    return int.from_bytes(hashlib.sha256(doc_id.encode("utf-8")).digest()[:8], "big") / 2.0**64


def split_of(doc_id: str, shares: Sequence[float]) -> str:
    """The split a document belongs to: ``train`` when :func:`doc_hash_fraction` is below
    the train share, ``validation`` when below train + validation, else ``test``. It
    depends on the document's id and the shares only, not on the other documents."""
    u = doc_hash_fraction(doc_id)
    bound = 0.0
    for name, share in zip(SPLIT_NAMES, shares):
        bound += share
        if share > 0 and u < bound:
            return name
    return next(n for n, s in reversed(list(zip(SPLIT_NAMES, shares))) if s > 0)


def split_records(records: Iterable[CorpusRecord], shares: Sequence[float] | None) -> dict[str, list[CorpusRecord]]:
    """Records by split (:data:`SPLIT_NAMES` order, every split present, possibly empty),
    each in the original order. ``shares`` ``None``: everything in ``train``."""
    out: dict[str, list[CorpusRecord]] = {name: [] for name in SPLIT_NAMES}
    cache: dict[str, str] = {}
    for record in records:
        if shares is None:
            name = "train"
        elif record.doc_id in cache:
            name = cache[record.doc_id]
        else:
            name = cache[record.doc_id] = split_of(record.doc_id, shares)
        out[name].append(record)
    return out


# ----------------------------------------------------------------------------- plain writers


def write_jsonl(records: Iterable[CorpusRecord], path: str | Path) -> Path:
    """``corpus.jsonl``: one JSON object per record (:meth:`CorpusRecord.to_json_line`)."""
    with atomic_open(path) as handle:
        handle.writelines(r.to_json_line() for r in records)
    return Path(path)


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


_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with characters XML 1.0 cannot hold replaced by U+FFFD."""
    return _XML_INVALID.sub("\ufffd", text)


TMX_SOURCES = ("ar", "en")
"""Languages a TMX can name as its source (``srclang``, the first ``<tuv>``); ``ar`` by default:
the English reports were written from the Arabic texts."""


def write_tmx(records: Iterable[CorpusRecord], path: str | Path, *, provenance: dict[str, Any] | None = None,
              source_lang: str = "ar") -> Path:
    """TMX 1.4b: header ``srclang="ar"`` (``source_lang``: ``"ar"`` or ``"en"``),
    ``adminlang="en"``, ``segtype="sentence"``, ``creationtool="aligner"``,
    ``creationtoolversion``, ``o-tmf="aligner-jsonl"``, ``datatype="plaintext"`` and no
    ``creationdate`` (so the bytes are the same on every run); header props ``x-encoder``
    and ``x-aligner-version`` from ``provenance`` (the run's settings) when known. One
    ``<tu tuid="N">`` per record (N from 1), ``segtype="block"`` when a side has more than
    one sentence (else the header's ``sentence``), with props ``x-doc_id``, ``x-en_file``,
    ``x-ar_file``, ``x-en_idx``, ``x-ar_idx`` (``"1,2"``), ``x-bead_type``, ``x-score``, then
    ``x-quality``, ``x-similarity``, ... ``x-e5_gap`` and ``x-flags`` (comma-joined) where
    the record has them (:data:`~aligner.io.records.SCORED_COLUMNS`), then the source
    ``<tuv>`` and the target ``<tuv>`` (``xml:lang`` ``ar`` / ``en``)."""
    from lxml import etree

    if source_lang not in TMX_SOURCES:
        raise ValueError(f"TMX source language {source_lang!r}: choose from {', '.join(TMX_SOURCES)}")
    header_attrs = {"creationtool": "aligner", "creationtoolversion": __version__, "datatype": "plaintext",
                    "segtype": "sentence", "adminlang": "en", "srclang": source_lang, "o-tmf": "aligner-jsonl"}
    header = etree.Element("header", header_attrs)
    provenance = provenance or {}
    for key, value in (("x-aligner-version", provenance.get("aligner_version")),
                       ("x-encoder", provenance.get("encoder"))):
        if value:
            etree.SubElement(header, "prop", type=key).text = xml_text(str(value))
    if len(header):
        etree.indent(header, space="  ", level=1)

    with atomic_open(path, "wb") as handle:
        with etree.xmlfile(handle, encoding="UTF-8") as xf:
            xf.write_declaration()
            xf.write_doctype(TMX_DOCTYPE)
            with xf.element("tmx", version="1.4"):
                xf.write("\n  ")
                xf.write(header)
                xf.write("\n  ")
                with xf.element("body"):
                    for n, record in enumerate(records, start=1):
                        xf.write("\n    ")
                        xf.write(_tmx_unit(etree, n, record, source_lang))
                    xf.write("\n  ")
                xf.write("\n")
        handle.write(b"\n")
    return Path(path)


def _tmx_unit(etree: Any, n: int, record: CorpusRecord, source_lang: str = "ar") -> Any:
    attrs = {"tuid": str(n)}
    if len(record.en_idx) > 1 or len(record.ar_idx) > 1:
        attrs["segtype"] = "block"  # several sentences on a side: not a sentence unit
    tu = etree.Element("tu", attrs)
    props = [("x-doc_id", record.doc_id), ("x-en_file", record.en_file), ("x-ar_file", record.ar_file),
             ("x-en_idx", format_indices(record.en_idx)), ("x-ar_idx", format_indices(record.ar_idx)),
             ("x-bead_type", record.bead_type), ("x-score", format_number(record.score))]
    for name, value in record.scored_fields().items():
        if name == FLAGS_KEY:
            if value:
                props.append((f"x-{name}", ",".join(value)))
        elif value is not None:
            props.append((f"x-{name}", format_number(value)))
    for key, value in props:
        etree.SubElement(tu, "prop", type=key).text = xml_text(value)
    sides = [("ar", record.ar), ("en", record.en)]
    for lang, text in sides if source_lang == "ar" else sides[::-1]:
        tuv = etree.SubElement(tu, "tuv", {_XML_LANG: lang})
        etree.SubElement(tuv, "seg").text = xml_text(text)
    etree.indent(tu, space="  ", level=2)
    return tu


# ----------------------------------------------------------------------------- Hugging Face folder


def write_parquet(records: Sequence[CorpusRecord], path: str | Path, *, with_scores: bool = False) -> int:
    """One Parquet file with the :func:`hf_features` columns and the ``huggingface``
    schema metadata, so ``datasets`` restores the ``Translation`` feature. Returns the
    size of the rows in memory (Arrow bytes: the ``num_bytes`` of the card's ``dataset_info``)."""
    import datasets
    import pyarrow.parquet as pq

    features = hf_features(with_scores)
    table = datasets.Dataset.from_dict(hf_columns(records, with_scores), features=features).data.table
    with atomic_open(path, "wb") as handle:
        pq.write_table(table, handle, row_group_size=HF_ROW_GROUP_ROWS)
    return int(table.nbytes)


def shard_names(split: str, n_rows: int, shard_rows: int = HF_SHARD_ROWS, data_dir: str = HF_DATA_DIR) -> list[str]:
    """``data/<split>-00000-of-0000N.parquet`` names for a split of ``n_rows`` rows
    (``data_dir``: the configuration's folder, see :func:`aligner.outputs.card.config_data_dir`; the
    ``hf`` folder adds each file's :func:`content_id` before ``.parquet``)."""
    n = max(1, -(-n_rows // shard_rows))
    return [f"{data_dir}/{split}-{k:05d}-of-{n:05d}.parquet" for k in range(n)]


def content_id(path: str | Path) -> str:
    """The first 16 hex digits of the SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


# ----------------------------------------------------------------------------- the corpus


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
        """The corpus by split (see :func:`split_of`); every split name present."""
        shares = parse_split(shares) if isinstance(shares, str) else shares
        return {name: Corpus(records, run=self.run, unaligned=self.unaligned, filters=self.filters,
                             source=self.source)
                for name, records in split_records(self.records, shares).items()}

    # ------------------------------------------------------------------ writing

    def write(self, out_dir: str | Path, formats: Iterable[str] | str = ("jsonl",), *,
              split: Sequence[float] | str | None = None, license: str | None = None,
              repo_id: str | None = None, license_name: str | None = None,
              tmx_source: str = "ar") -> ExportResult:
        """Write the corpus to ``out_dir`` (created if needed) in each of ``formats``
        (see the module docstring for file names). With ``split``, every format is
        written per non-empty split. ``license``: the dataset card's licence, a Hub licence
        id (default ``unknown``; ``other`` needs ``license_name``; see
        :func:`aligner.outputs.card.check_license`). ``tmx_source``: the TMX's source language,
        ``"ar"`` (default) or ``"en"`` (:func:`write_tmx`). Refuses (``ValueError``) to
        overwrite the corpus file it was read from, and a licence the Hub would not accept
        (:class:`aligner.outputs.card.CardError`) or an unknown TMX source language before writing
        anything."""
        from aligner.outputs.card import check_license

        formats = parse_formats(formats)
        if "hf" in formats:
            check_license(license, license_name)
        shares = parse_split(split) if isinstance(split, str) else (tuple(split) if split is not None else None)
        if tmx_source not in TMX_SOURCES:
            raise ValueError(f"TMX source language {tmx_source!r}: choose from {', '.join(TMX_SOURCES)}")
        out_dir = Path(out_dir)
        with output_lock(out_dir):  # one writer at a time; what a killed export left is removed first
            return self._write(out_dir, formats, shares, license, repo_id, license_name, tmx_source)

    def _write(self, out_dir: Path, formats: tuple[str, ...], shares: Any, license: str | None,
               repo_id: str | None, license_name: str | None = None, tmx_source: str = "ar") -> ExportResult:
        by_split = split_records(self.records, shares)
        if shares is None:
            parts = {"": self.records}
            result = ExportResult(rows={"train": len(self.records)})
        else:
            parts = {name: recs for name, recs in by_split.items() if recs}
            result = ExportResult(rows={name: len(recs) for name, recs in parts.items()},
                                  empty_splits=[name for name, recs in by_split.items() if not recs])
        provenance = self.run or {}
        for fmt in formats:
            if fmt == "hf":
                if not self.records:  # datasets cannot load a Parquet file of no rows
                    result.skipped.append("hf (no sentence pair to write)")
                    continue
                result.written.append(self.write_hf(out_dir / HF_DIR, split=shares, license=license, repo_id=repo_id,
                                                   license_name=license_name))
                continue
            for name, records in parts.items():
                stem = "corpus" if not name else f"corpus.{name}"
                if fmt == "jsonl":
                    target = out_dir / f"{stem}.jsonl"
                    if self.source is not None and target.exists() and _same_file(target, self.source):
                        raise ValueError(f"{target}: is the corpus being exported; write to another folder")
                    result.written.append(write_jsonl(records, target))
                elif fmt == "tsv":
                    result.written.append(write_tsv(records, out_dir / f"{stem}.tsv"))
                elif fmt == "moses":
                    result.written.extend(write_moses(records, out_dir / f"{stem}.en", out_dir / f"{stem}.ar"))
                elif fmt == "tmx":
                    result.written.append(write_tmx(records, out_dir / f"{stem}.tmx", provenance=provenance,
                                                    source_lang=tmx_source))
        return result

    def write_hf(self, folder: str | Path, *, split: Sequence[float] | str | None = None,
                 license: str | None = None, repo_id: str | None = None,
                 shard_rows: int = HF_SHARD_ROWS, config_name: str = DEFAULT_CONFIG,
                 license_name: str | None = None, existing_card: str | None = None) -> Path:
        """A Hugging Face dataset folder: ``data/<split>-0000K-of-0000N-<content id>.parquet``
        (for a ``config_name`` other than ``default``: ``<config_name>/<split>-...``, the layout
        ``datasets`` uses; each name carries the first 16 hex digits of the file's SHA-256,
        :func:`content_id`, and the card's ``configs`` entry lists the names exactly) and a
        dataset card ``README.md`` (:func:`aligner.outputs.card.build_card`, merged into
        ``existing_card`` when given). Built in a temporary folder beside
        ``folder`` and renamed into place (a previous ``folder`` is replaced).
        ``datasets.load_dataset`` loads it (no loading script). Raises ``ValueError`` for a
        corpus of no records (``datasets`` cannot load a Parquet file without rows), and
        :class:`aligner.outputs.card.CardError` (a ``ValueError``) for a licence or configuration
        name the Hub would not accept, before anything is written."""
        return self._write_hf(Path(folder), split=split, license=license, repo_id=repo_id, shard_rows=shard_rows,
                              config_name=config_name, license_name=license_name, existing_card=existing_card)[0]

    def _write_hf(self, folder: Path, *, split, license: str | None, repo_id: str | None, shard_rows: int,
                  config_name: str, license_name: str | None, existing_card: str | None) -> tuple[Path, dict]:
        """:meth:`write_hf`, returning also the arguments of :func:`aligner.outputs.card.build_card`
        besides ``existing`` (to merge the card into another one later)."""
        from aligner.outputs.card import check_license

        if not self.records:
            raise ValueError("no sentence pair to write: a Hugging Face dataset folder needs at least one row")
        check_license(license, license_name)
        data_dir = config_data_dir(check_config_name(config_name))
        shares = parse_split(split) if isinstance(split, str) else (tuple(split) if split is not None else None)
        with_scores = self.is_scored
        by_split = split_records(self.records, shares)
        written = {name: recs for name, recs in by_split.items() if recs or (shares is None and name == "train")}
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
        try:
            (tmp / data_dir).mkdir()
            data_files: dict[str, str | list[str]] = {}
            split_sizes: dict[str, tuple[int, int]] = {}  # split: rows, Arrow bytes
            download_size = 0
            for name, records in written.items():
                num_bytes, paths = 0, []
                for k, rel in enumerate(shard_names(name, len(records), shard_rows, data_dir)):
                    num_bytes += write_parquet(records[k * shard_rows:(k + 1) * shard_rows], tmp / rel,
                                               with_scores=with_scores)
                    download_size += (tmp / rel).stat().st_size
                    # The file's content in its name, and the exact names in the card: see _dataset_info.
                    final = rel.removesuffix(".parquet") + f"-{content_id(tmp / rel)}.parquet"
                    os.replace(tmp / rel, tmp / final)
                    paths.append(final)
                split_sizes[name] = (len(records), num_bytes)
                data_files[name] = paths[0] if len(paths) == 1 else paths
            card_args = dict(by_split=by_split, data_files=data_files, shares=shares, license=license,
                             license_name=license_name, repo_id=repo_id, config_name=config_name,
                             dataset_info=_dataset_info(with_scores, split_sizes, download_size))
            card = build_card(self, **card_args, existing=existing_card)
            with atomic_open(tmp / "README.md") as handle:
                handle.write(card)
            for path in (tmp, tmp / data_dir):
                os.chmod(path, _new_dir_mode())  # mkdtemp gives 0700
            _replace_dir(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder, card_args

    def dataset_card(self, by_split: dict[str, list[CorpusRecord]], data_files: dict[str, Any], *,
                     shares: Sequence[float] | None = None, license: str | None = None,
                     repo_id: str | None = None, config_name: str = DEFAULT_CONFIG,
                     license_name: str | None = None, existing: str | None = None) -> str:
        """The ``README.md`` of the ``hf`` folder (:func:`aligner.outputs.card.build_card`): YAML
        metadata, then what the rows are, every column, how the corpus was made (from
        ``run.json``), its numbers, intended uses, limitations and how to cite the tool."""
        return build_card(self, by_split, data_files, shares=shares, license=license, license_name=license_name,
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
        from aligner.outputs.card import check_license
        from aligner.outputs.hub import check_repo_id, push_folder

        check_repo_id(repo_id)
        check_license(license, license_name)
        data_dir = config_data_dir(check_config_name(config_name))
        with tempfile.TemporaryDirectory(prefix="aligner-hub-") as tmp:
            folder, card_args = self._write_hf(Path(tmp) / HF_DIR, split=split, license=license, repo_id=repo_id,
                                               shard_rows=HF_SHARD_ROWS, config_name=config_name,
                                               license_name=license_name, existing_card=None)

            def merge_card(existing: str | None) -> str:  # the repository's card, with ours merged in
                return build_card(self, **card_args, existing=existing)

            message = commit_message or (f"Upload corpus ({len(self.records)} sentence pairs, config {config_name}) "
                                         f"with aligner {__version__}")
            return push_folder(folder, repo_id, private=private, token=token, endpoint=endpoint,
                               commit_message=message, data_dir=data_dir, revision=revision, create_pr=create_pr,
                               merge_card=merge_card)


def _dataset_info(with_scores: bool, split_sizes: dict[str, tuple[int, int]], download_size: int) -> Any:
    """The ``datasets.DatasetInfo`` of one configuration: features (:func:`hf_features`),
    and per split its rows (``num_examples``) and Arrow size (``num_bytes``);
    ``download_size``: the Parquet bytes. :func:`aligner.outputs.card.build_card` writes it as the
    card's ``dataset_info``.

    Why the card has it, and names each data file with its content (:func:`content_id`):
    for a folder whose card has a ``configs:`` block, ``datasets.load_dataset`` keys its
    cache by the folder's name, the config name and a hash of the card's ``configs`` (the
    data file patterns as written, not the files they match) and ``dataset_info``, never
    by the files' paths or bytes. With the same folder name (``hf``), the same patterns
    (``data/train-*``) and no ``dataset_info``, every export got the same cache entry, and
    the first one loaded in a cache was returned for every other. The sizes make the key
    differ when the rows differ in number or size; the file names listed in ``configs``
    make it differ whenever a byte of the data does."""
    import datasets

    splits = datasets.SplitDict()
    for name, (rows, num_bytes) in split_sizes.items():
        splits.add(datasets.SplitInfo(name=name, num_bytes=num_bytes, num_examples=rows))
    return datasets.DatasetInfo(features=hf_features(with_scores), splits=splits, download_size=download_size,
                                dataset_size=sum(b for _, b in split_sizes.values()))


# ----------------------------------------------------------------------------- output folders


RUN_IDENTITY = ("aligner_version", "encoder", "encoder_settings", "alignment", "inputs")
"""The ``run.json`` keys that make a run (align's settings and inputs, its fingerprint):
a folder scored or exported from a run keeps them."""


def prepare_output_folder(out_dir: str | Path, source: str | Path, *, run: dict | None, doc_ids: Iterable[str],
                          overwrite: bool = False) -> None:
    """Make sure writing the corpus read from ``source`` (with this ``run.json`` and these
    documents) into ``out_dir`` mixes no two runs, as ``align`` does for its folder.

    ``out_dir`` may be written when it holds no ``corpus.jsonl`` nor ``run.json``, when it is
    ``source``'s own folder, when its ``run.json`` records the same run (:data:`RUN_IDENTITY`:
    a folder scored from the same run), or, without a run recorded there, when its
    ``corpus.jsonl`` holds only documents of ``source`` (an earlier export of it). Otherwise
    it holds another run's corpus: :class:`~aligner.io.files.OutputExistsError` (nothing
    written) or, with ``overwrite``, every file of that run is removed first."""
    out_dir, source = Path(out_dir), Path(source)
    if not any((out_dir / name).exists() for name in (CORPUS_FILE, RUN_FILE)):
        return
    if _same_file(source if source.is_dir() else source.parent, out_dir):
        return
    why = _other_run(out_dir, source, run, set(doc_ids))
    if why is None:
        return
    if not overwrite:
        raise OutputExistsError(f"{out_dir} already holds the corpus of another run ({why}): not overwritten. Use "
                                f"--overwrite (overwrite=True in Python) to replace it, or choose another output folder")
    from aligner.io.files import DERIVED_FILES, RUN_FILES, remove_run_files

    remove_run_files(out_dir, RUN_FILES + DERIVED_FILES)  # nothing of the other run stays beside the new files


def _other_run(out_dir: Path, source: Path, run: dict | None, doc_ids: set[str]) -> str | None:
    """Why ``out_dir``'s corpus is not of ``source``'s run, or ``None`` when it is."""
    theirs_run = read_json_object(out_dir / RUN_FILE)
    if (out_dir / RUN_FILE).exists() and theirs_run is None:
        return f"its {RUN_FILE} cannot be read, so what made it is not known"
    theirs = {k: (theirs_run or {}).get(k) for k in RUN_IDENTITY}
    ours = {k: (run or {}).get(k) for k in RUN_IDENTITY}
    if any(v is not None for v in theirs.values()):
        if theirs == ours:
            return None
        shown = describe_differences(theirs, ours, 3)
        return f"made with other settings or inputs: {shown}; as recorded in {RUN_FILE}"
    if not (out_dir / CORPUS_FILE).exists():
        return None
    try:
        extra = list(dict.fromkeys(r.doc_id for r in iter_corpus(out_dir / CORPUS_FILE) if r.doc_id not in doc_ids))
    except (OSError, ValueError):
        return f"its {CORPUS_FILE} cannot be read"
    if extra:
        return f"its {CORPUS_FILE} has {len(extra)} document(s) that {source} does not have, e.g. {extra[0]!r}"
    return None


# ----------------------------------------------------------------------------- helpers


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


def _new_dir_mode() -> int:
    """The permissions a plain ``mkdir`` gives: a new file's, plus execute where read is given."""
    mode = new_file_mode()
    return mode | ((mode & 0o444) >> 2)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _replace_dir(new: Path, target: Path) -> None:
    """Move the finished folder ``new`` to ``target``; an old ``target`` is renamed
    aside first and removed after, so ``target`` is never a half-written folder."""
    old = None
    if target.exists() or target.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / target.name)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
