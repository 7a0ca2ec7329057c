"""Corpus outputs in the formats people use, all written from :class:`~aligner.io.records.CorpusRecord`:
a registry of formats (:data:`FORMATS`), one module each.

=========  ==========================================  ============================================
format     files (in the output folder)                content
=========  ==========================================  ============================================
``jsonl``  ``corpus.jsonl``                            the rich record (see :mod:`aligner.run.folders`)
``tsv``    ``corpus.tsv``                              header, then ``en_file ar_file en ar score
                                                       doc_id en_idx ar_idx bead_type moved`` [scores]
``moses``  ``corpus.en`` + ``corpus.ar``               one pair per line, same line count
``tmx``    ``corpus.tmx``                              TMX 1.4b, Arabic the source (``srclang="ar"``)
``hf``     ``hf/`` (``README.md``, ``data/*.parquet``)  a Hugging Face dataset folder
=========  ==========================================  ============================================

Each format is a :class:`~aligner.outputs.formats.base.CorpusFormat`: its name, the files it
writes (:meth:`~aligner.outputs.formats.base.CorpusFormat.file_names`, for a split or for the
whole corpus) and ``write(records, folder, ...)``. :func:`parse_formats` (``--format``) and
:meth:`aligner.outputs.corpus.Corpus.write` know the formats from :data:`FORMATS` only.

Every per-pair field of a ``corpus.jsonl`` record is a column (TSV, Parquet) or an ``x-``
prop (TMX): the texts, ``score``, the provenance (``doc_id``, the files, the sentence
indices, ``bead_type``), ``moved`` (in TMX a prop on a moved pair only), and for a scored
corpus the :data:`~aligner.io.records.SCORED_COLUMNS` in this order: ``quality``, ``similarity``, ``margin``, ``gap``, ``length_ratio``,
``numbers``, ``language``, ``e5_similarity``, ``e5_gap`` (``scores.margin`` is the ``margin``
column) and ``flags``. These columns are all there as soon as any record is scored, in
that order; a missing value is null in Parquet, an empty field in TSV, no prop in TMX.
Flags are a list of strings in Parquet, comma-joined in TSV and TMX. Other keys a record may
carry are kept by ``jsonl`` only.

With a split (:func:`aligner.outputs.splits.parse_split`, ``--split 0.8,0.1,0.1``) every
format is written once per non-empty split: ``corpus.train.tsv``, ``corpus.validation.en``,
..., and ``hf/data/train-*``. Documents go to splits by a stable hash of their ``doc_id``
(:func:`aligner.outputs.splits.split_of`), so a document never has rows in two splits.

Every file is written to a temporary file and moved into place (:func:`aligner.io.files.atomic_open`);
the ``hf`` folder is built in a temporary folder beside it and renamed into place. One
export writes a folder at a time (a lock on it), and removes first what a killed one left
(:func:`aligner.io.files.output_lock`). :func:`aligner.outputs.output_folder.prepare_output_folder`
refuses a folder holding another run's corpus, as ``aligner align`` does. The same
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

from types import MappingProxyType
from typing import Iterable, Mapping

from aligner.outputs.formats.base import CORPUS_STEM, CorpusFormat, WriteOptions
from aligner.outputs.formats.hf import HF_DIR, HfFormat, write_parquet
from aligner.outputs.formats.jsonl import JsonlFormat, write_jsonl
from aligner.outputs.formats.moses import MosesFormat, moses_line, write_moses
from aligner.outputs.formats.tmx import TMX_SOURCES, TmxFormat, write_tmx, xml_text
from aligner.outputs.formats.tsv import TsvFormat, write_tsv

__all__ = [
    "FORMATS", "parse_formats", "CorpusFormat", "WriteOptions", "CORPUS_STEM", "HF_DIR", "TMX_SOURCES",
    "write_jsonl", "write_tsv", "write_moses", "moses_line", "write_tmx", "xml_text", "write_parquet",
]

FORMATS: Mapping[str, CorpusFormat] = MappingProxyType({
    fmt.name: fmt for fmt in (JsonlFormat(), TsvFormat(), MosesFormat(), TmxFormat(), HfFormat())})
"""The formats by name, in the order :meth:`aligner.outputs.corpus.Corpus.write` writes them."""


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
