"""Aligning whole folders into a parallel corpus, and writing files atomically.

:func:`align_folders` pairs ``EN_DIR/<stem>.txt`` with ``AR_DIR/<stem>.txt`` (see
:mod:`aligner.pairing.names`), aligns every pair and writes to ``OUT``:

``corpus.jsonl``
    One JSON object per aligned (non-null) bead, documents in ``doc_id`` order and beads
    in document order, keys in this order: ``doc_id, en_file, ar_file, en_idx, ar_idx,
    en, ar, bead_type, score, moved``. ``en_idx`` / ``ar_idx`` are 0-based sentence indices,
    ``en`` / ``ar`` the sentences joined by a space, ``score`` the cosine similarity
    rounded to 4 decimals, ``moved`` whether the bead crosses the main alignment path (a
    passage the report moved). UTF-8, not ASCII-escaped.
``beads/<doc_id>.align``
    Every bead of the document, null beads included, in the Vecalign format:
    ``[0]:[0]``, ``[1, 2]:[3]``, ``[4]:[]``. A name too long for the file system is
    cut and ends with a hash of the ``doc_id`` (:func:`beads_name`).
``unaligned.jsonl``
    One object per sentence left unaligned: ``doc_id, side ("en"|"ar"), idx, text``.
``run.json``
    How the run was made and what it did: aligner version, encoder and its settings,
    alignment settings, inputs, each document's counts, unpaired and ignored files,
    pairing problems, failed documents with their error, and wall-clock ``timings``.
``pairs.tsv``, ``pairs.unpaired.tsv``
    The document pairs (``en_file, ar_file, method, score``) and the documents left
    unpaired with their best candidate (:func:`aligner.pairing.names.write_pairs`).

``corpus.jsonl``, ``unaligned.jsonl`` and the beads files hold no time or absolute
path: the same inputs, settings and encoder give byte-identical files. ``run.json``
differs between runs only under its ``"timings"`` key.

Every file is written to a temporary file in its own folder and moved into place with
``os.replace``, so a reader never sees half a file and an interrupted run leaves the
previous file intact. A document that cannot be read or aligned (not UTF-8, empty,
binary, too large, in the wrong language: see :mod:`aligner.io.inputs`) is recorded in
``run.json`` and in :attr:`FolderRun.failed`; the other documents are still aligned and
written.

Resuming. ``OUT/.aligner-state/`` holds ``settings.json`` (the run's settings and inputs:
its fingerprint) and one file per finished document (``docs/<hash of doc_id>.json``: its
corpus lines, unaligned lines, beads and report, with the SHA-256 of both input files),
each written atomically as soon as the document is aligned. The final files are then
assembled from those parts in ``doc_id`` order. A run killed at any point (even
``kill -9``) and started again with the same command skips the documents already done
(and redoes any whose input file changed) and writes the same bytes as an uninterrupted
run. Failed documents are not recorded there: they are tried again on every run.

An output folder that already holds a corpus (``corpus.jsonl``, ``run.json`` or a state)
made with other settings or inputs is refused (:class:`OutputExistsError`, naming what
differs) unless ``overwrite=True``; with the same settings and inputs the run is a
resume. Two runs never write one folder at once (a lock on the state folder). A write
that fails (a full disk) raises :class:`OutputWriteError`: the files already in ``OUT``
are left as they were and the finished documents stay in the state for a resume.

An output folder holds the files of one run: a run that writes a new ``corpus.jsonl``
removes what scoring, formats and the review page made of the old one
(:data:`DERIVED_FILES`: ``rejected.jsonl``, ``report.md``, ``corpus.tsv``, ``hf/``, ...);
the command line writes them again when asked.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import inspect
import json
import logging
import platform
import shutil
import statistics
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from aligner.alignment import AlignmentConfig
from aligner.documents import Aligner, DocumentAlignment, has_content
from aligner.text.segmentation import Sentence
from aligner.encoders import COMBINED_ENCODER, DEFAULT_ENCODER, E5_ENCODER, USE_ENCODER
from aligner.io.inputs import DEFAULT_MAX_BYTES, DocumentError, check_language, decode_bytes, file_bytes, read_input  # noqa: F401
from aligner.io.inputs import escape_name, language_shares_many
from aligner.pairing.names import DocumentPair, PairingResult, pair_by_name, pair_documents, write_pairs
from aligner.io.files import (
    BEADS_DIR, BEADS_SUFFIX, CORPUS_FILE, DERIVED_FILES, PAIRS_FILE, PENDING_FILE, RUN_FILE, STATE_DIR, UNALIGNED_FILE, OutputError,
    OutputExistsError, OutputWriteError, StagedFiles, describe_differences, restricted, same_settings, atomic_write_text, beads_name, finish_pending, remove_run_files, remove_temporaries,
)
from aligner.run.sources import SourceDocument, SourceReader
from aligner.run.score import ScoreResult, ScoreStage, score_records, stage_scored
from aligner.io.records import RECORD_KEYS, CorpusFormatError, CorpusRecord, json_line  # noqa: F401  (RECORD_KEYS re-exported)
from aligner.io.progress import bar as progress_bar, quiet_unless_progress

log = logging.getLogger(__name__)

_STATE_FORMAT = 1

# ----------------------------------------------------------------------------- records


def corpus_records(doc_id: str, en_file: str, ar_file: str, alignment: DocumentAlignment) -> list[CorpusRecord]:
    """The ``corpus.jsonl`` records of one document (written with keys in
    :data:`RECORD_KEYS` order by :meth:`CorpusRecord.to_json_line`)."""
    return [CorpusRecord(doc_id=doc_id, en_file=en_file, ar_file=ar_file, en_idx=tuple(p.en_indices),
                         ar_idx=tuple(p.ar_indices), en=p.en_text, ar=p.ar_text, bead_type=p.bead_type,
                         score=round(float(p.score), 4), moved=p.moved)
            for p in alignment.pairs]


def unaligned_records(doc_id: str, alignment: DocumentAlignment) -> list[dict]:
    """One record per unaligned sentence, in bead (document) order."""
    out = []
    for bead in alignment.beads:
        if not bead.is_null:
            continue
        side, idx = ("en", bead.en[0]) if bead.en else ("ar", bead.ar[0])
        sentences = alignment.en_sentences if side == "en" else alignment.ar_sentences
        out.append({"doc_id": doc_id, "side": side, "idx": idx, "text": sentences[idx].text})
    return out


def _json_line(record: dict) -> str:
    return json_line(record)  # U+2028 and kin escaped: one line per record for any reader


# ----------------------------------------------------------------------------- the run


@dataclass
class DocumentReport:
    """Counts for one aligned document, as written to ``run.json``."""

    doc_id: str
    en_file: str
    ar_file: str
    pairing: str
    en_sentences: int
    ar_sentences: int
    pairs: int
    bead_types: dict[str, int]
    unaligned_en: int
    unaligned_ar: int
    mean_score: float | None
    # How each file was decoded ("utf-8", "utf-8-sig", "utf-16-le", "windows-1256", ...).
    encoding: dict[str, str] = field(default_factory=dict)
    # Problems that did not stop the alignment (a guessed encoding, mixed languages).
    warnings: list[str] = field(default_factory=list)
    # Pairs that cross the main alignment path: passages the report moved
    # (AlignmentConfig.moved_blocks).
    moved: int = 0


@dataclass
class DocumentFailure:
    """A paired document that could not be aligned, and why."""

    doc_id: str
    en_file: str
    ar_file: str
    error: str


class _InOutDir:
    """A read-only path attribute of a run: ``name`` in its ``out_dir``."""

    def __init__(self, name: str):
        self.name = name
        self.__doc__ = f"``out_dir / {name!r}``"

    def __get__(self, run: Any, owner: Any = None) -> Path:
        if run is None:  # looked up on the class (documentation tools)
            return self  # type: ignore[return-value]
        return Path(run.out_dir) / self.name


@dataclass
class FolderRun:
    """What :func:`align_folders` did: the pairing, one report per aligned document,
    the failures, the settings used and the output folder."""

    out_dir: Path
    pairing: PairingResult
    documents: list[DocumentReport] = field(default_factory=list)
    failed: list[DocumentFailure] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    aligner: Aligner | None = field(default=None, repr=False, compare=False)
    """The aligner that made the run (its encoder can score the corpus without a reload)."""
    score_result: ScoreResult | None = field(default=None, repr=False, compare=False)
    """What scoring did, when the run scored its pairs (``align_folders(score=...)``)."""

    corpus_path = _InOutDir(CORPUS_FILE)
    unaligned_path = _InOutDir(UNALIGNED_FILE)
    run_path = _InOutDir(RUN_FILE)
    beads_dir = _InOutDir(BEADS_DIR)

    @property
    def n_documents(self) -> int:
        """Paired documents (aligned or failed)."""
        return len(self.pairing.pairs)

    @property
    def n_aligned(self) -> int:
        return len(self.documents)

    @property
    def n_failed(self) -> int:
        return len(self.failed)

    @property
    def n_pairs(self) -> int:
        """Aligned beads (records in ``corpus.jsonl``)."""
        return sum(d.pairs for d in self.documents)

    @property
    def n_unaligned_en(self) -> int:
        return sum(d.unaligned_en for d in self.documents)

    @property
    def n_unaligned_ar(self) -> int:
        return sum(d.unaligned_ar for d in self.documents)

    @property
    def ok(self) -> bool:
        """True when every paired document was aligned."""
        return not self.failed

    def summary(self) -> str:
        """A short human-readable report (what the command line prints: the blocks of
        :meth:`summary_blocks` in order)."""
        return "\n".join(text for _, text in self.summary_blocks())

    def summary_blocks(self) -> list[tuple[str, str]]:
        """:meth:`summary` in blocks, each ``(kind, text)``: ``"result"`` (what was aligned
        and written), ``"warning"`` (no pairs found, unpaired files, pairing problems, files
        not read, documents' warnings) or ``"error"`` (failed documents). The command line
        prints results on stdout, the others on stderr."""
        blocks: list[tuple[str, list[str]]] = [
            ("result", [f"Aligned {self.n_aligned} of {self.n_documents} document pair(s): {self.n_pairs} sentence "
                        f"pair(s); unaligned sentences: {self.n_unaligned_en} English, "
                        f"{self.n_unaligned_ar} Arabic (listed in {self.unaligned_path})."])]
        if not self.pairing.pairs:
            blocks.append(("warning", [
                f"No document pairs found: documents are paired by name, {self.inputs.get('en_dir', 'EN_DIR')}"
                f"/<name>.txt with {self.inputs.get('ar_dir', 'AR_DIR')}/<name>.txt (or by --manifest)."]))
        unpaired = ([f"  English: {p}" for p in self.pairing.unpaired_en]
                    + [f"  Arabic:  {p}" for p in self.pairing.unpaired_ar])
        if unpaired:
            blocks.append(("warning", [f"Unpaired files, not aligned ({len(unpaired)}):", *unpaired]))
        if self.pairing.problems:
            blocks.append(("warning", [f"Pairing problems ({len(self.pairing.problems)}):",
                                       *(f"  {msg}" for msg in self.pairing.problems)]))
        if self.pairing.skipped:
            blocks.append(("warning", [f"Skipped, not read ({len(self.pairing.skipped)}):",
                                       *(f"  {path}: {reason}" for path, reason in self.pairing.skipped)]))
        if self.failed:
            blocks.append(("error", [f"Failed documents ({len(self.failed)}):",
                                     *(f"  {f.doc_id}: {f.error}" for f in self.failed)]))
        warnings = [w for d in self.documents for w in d.warnings]
        if warnings:
            blocks.append(("warning", [f"Warnings ({len(warnings)}):", *(f"  {w}" for w in warnings)]))
        last = []
        resumed = self.timings.get("resumed_documents", 0)
        if resumed:
            last.append(f"Resumed: {resumed} document(s) were already aligned by an earlier run with the same "
                        f"settings (kept in {self.out_dir / STATE_DIR}).")
        last.append(f"Corpus written to {self.corpus_path}")
        blocks.append(("result", last))
        # File names may hold undecodable bytes, control characters or bidi overrides.
        return [(kind, "\n".join(escape_name(line) for line in lines)) for kind, lines in blocks]

    def to_dict(self) -> dict[str, Any]:
        """The content of ``run.json``."""
        p = self.pairing
        return {
            **self.settings,
            "inputs": self.inputs,
            "environment": _environment(),
            "summary": {"documents": self.n_documents, "aligned": self.n_aligned, "failed": self.n_failed,
                        "pairs": self.n_pairs, "unaligned_en": self.n_unaligned_en,
                        "unaligned_ar": self.n_unaligned_ar,
                        "unpaired_en": len(p.unpaired_en), "unpaired_ar": len(p.unpaired_ar),
                        "warnings": sum(len(d.warnings) for d in self.documents)},
            "documents": [asdict(d) for d in self.documents],
            "failed": [asdict(f) for f in self.failed],
            "unpaired": {"en": [escape_name(x) for x in p.unpaired_en], "ar": [escape_name(x) for x in p.unpaired_ar]},
            "ignored": {"en": [escape_name(x) for x in p.ignored_en], "ar": [escape_name(x) for x in p.ignored_ar]},
            "skipped": [{"file": escape_name(x), "reason": escape_name(reason)} for x, reason in p.skipped],
            "problems": [escape_name(m) for m in p.problems],
            "timings": self.timings,
        }


@quiet_unless_progress
def align_folders(en_dir: str | Path, ar_dir: str | Path, out_dir: str | Path, *,
                  aligner: Aligner | str | None = None, manifest: str | Path | None = None,
                  presplit: bool = False, progress: bool = True, pair_by: str = "name",
                  max_sources: int = 1, max_bytes: int | None = DEFAULT_MAX_BYTES,
                  overwrite: bool = False, engine: str | None = None, follow_links: bool = False,
                  score: ScoreStage | bool = False, alignment: dict | None = None) -> FolderRun:
    """Pair the two folders' documents by name (or as ``manifest`` says), align each
    pair and write the corpus to ``out_dir`` (created if needed; see the module
    docstring for the files).

    ``aligner``: an :class:`~aligner.Aligner`, an encoder name to build one with, or
    ``None`` for the default encoder (built only after pairing succeeded).
    ``presplit``: the files already hold one sentence per line.
    ``progress``: show a progress bar over documents on stderr (when it is a terminal);
    ``False``: no bar at all, the Hugging Face libraries' included
    (:func:`aligner.io.progress.quiet_progress_bars`).
    ``pair_by``, ``max_sources``: ``"name"`` (the default here), ``"content"`` or
    ``"auto"`` (the command line's default), see :func:`aligner.pairing.names.pair_documents`;
    the pairs are also written to ``pairs.tsv`` and ``pairs.unpaired.tsv``.

    ``max_bytes``: input files larger than this are refused unread (``None`` or 0: no
    limit). ``overwrite``: replace a corpus in ``out_dir`` made with other settings or
    inputs (by default that is refused; the same settings and inputs resume).
    ``follow_links``: read files that links lead to outside the input folders (by
    default such links are skipped with a note, and a manifest naming one is refused).
    ``alignment``: :class:`~aligner.alignment.AlignmentConfig` settings that differ from
    the defaults (``{"moved_blocks": False}``: ``--no-moved``), for an aligner built here
    (an :class:`~aligner.Aligner` passed in keeps its own).

    Raises :class:`~aligner.pairing.names.PairingError` (a missing folder, a broken manifest)
    or :class:`OutputExistsError` before anything is written, and
    :class:`OutputWriteError` when writing fails; a document that fails is recorded,
    not raised."""
    prepared = prepare_run(en_dir, ar_dir, out_dir, aligner=aligner, manifest=manifest, presplit=presplit,
                           progress=progress, pair_by=pair_by, max_sources=max_sources, max_bytes=max_bytes,
                           overwrite=overwrite, engine=engine, follow_links=follow_links, score=score,
                           alignment=alignment)
    run, state = prepared.run, prepared.state
    # closing: a child still reading ahead when no document was read (or the folder was locked).
    with contextlib.closing(prepared.reader), state.opened(prepared.mode), \
            _progress(len(run.pairing.pairs), progress) as bar:
        work = align_pairs(run.pairing.pairs, prepared.aligner, state, prepared.reader, run, prepared.en_dir,
                           prepared.ar_dir, bar=bar)
        run.timings = {"total_s": round(time.perf_counter() - prepared.t_start, 4),
                       "load_encoder_s": round(prepared.t_loaded - prepared.t_start, 4),
                       "pairing_s": round(prepared.t_paired - prepared.t_loaded, 4),
                       **work.timings(),
                       # The work done, not only its time: texts sent to each encoder (each
                       # distinct sentence once: pairing and alignment share the aligner's
                       # cache) and input files read (once each unless the reader's budget
                       # made it drop some between pairing and aligning).
                       "encoded_texts": prepared.aligner.encoded_since(prepared.encoded_before),
                       "files_read": prepared.reader.files_read, "files_read_again": prepared.reader.read_again,
                       "per_document_s": work.doc_times}
        scoring = None
        if prepared.stage is not None:
            scoring = run_scoring(run, prepared.stage, prepared.scorer, prepared.t_start, progress)
        state.assemble(run, extra=lambda: write_pairs(run.pairing, run.out_dir / PAIRS_FILE, prepared.en_dir,
                                                      prepared.ar_dir),
                       scoring=scoring, plot=prepared.stage is None or prepared.stage.plot)
    log.info("Aligned %d of %d document pair(s) in %.1f s: %d sentence pair(s); corpus written to %s",
             run.n_aligned, run.n_documents, time.perf_counter() - prepared.t_start, run.n_pairs,
             escape_name(run.corpus_path))
    return run


@dataclass
class PreparedRun:
    """A run of :func:`align_folders` up to its first document: the documents paired, the
    aligner (and scorer) built, the output folder checked (``mode``: ``"fresh"``,
    ``"resume"`` or ``"overwrite"``, see :meth:`_RunState.check`). The distributed
    pipeline's pairing stage (:mod:`aligner.run.distributed`) stops here."""

    run: FolderRun
    state: "_RunState"
    mode: str
    aligner: Aligner
    reader: SourceReader
    en_dir: Path
    ar_dir: Path
    stage: ScoreStage | None
    scorer: Any
    t_start: float
    t_loaded: float
    t_paired: float
    encoded_before: Counter  # the aligner's encoded_by when the run began


def prepare_run(en_dir: str | Path, ar_dir: str | Path, out_dir: str | Path, **options: Any) -> PreparedRun:
    """Everything :func:`align_folders` does before aligning the first document (its
    keyword arguments, with its defaults; the same errors); writes nothing."""
    t_start = time.perf_counter()
    opts = _folder_options(options)
    aligner, manifest, presplit, progress = opts["aligner"], opts["manifest"], opts["presplit"], opts["progress"]
    pair_by, max_sources, max_bytes = opts["pair_by"], opts["max_sources"], opts["max_bytes"]
    overwrite, engine, follow_links = opts["overwrite"], opts["engine"], opts["follow_links"]
    score, alignment = opts["score"], opts["alignment"]
    en_dir, ar_dir, out_dir = Path(en_dir), Path(ar_dir), Path(out_dir)
    # a broken manifest fails before any loading
    pairing = pair_by_name(en_dir, ar_dir, manifest=manifest, follow_links=follow_links)
    inputs = run_inputs(en_dir, ar_dir, manifest=manifest, presplit=presplit, pair_by=pair_by,
                        max_sources=max_sources, max_bytes=max_bytes, follow_links=follow_links)
    finish_pending(out_dir)  # a scoring of this folder killed half-way: complete it before judging the folder
    if not overwrite:  # what is known without the encoder: refuse a foreign corpus before loading it
        _RunState(out_dir, {"inputs": inputs}).check(False, partial=True)
    if isinstance(aligner, Aligner) and alignment:
        raise ValueError("alignment settings go to an aligner built from an encoder name; "
                         "give the Aligner its own config instead")
    reader = SourceReader({"en": en_dir, "ar": ar_dir}, presplit=presplit, max_bytes=max_bytes,
                          follow_links=follow_links)
    by_content = pair_by != "name" or max_sources != 1
    try:
        if not isinstance(aligner, Aligner):
            # The documents are read on another core while the encoder loads (see
            # aligner.run.sources): those of the pairs, then the rest for content pairing.
            paired = [(f, lang) for p in pairing.pairs for f, lang in ((p.en_path, "en"), (p.ar_path, "ar"))]
            rest = [(f, "en") for f in pairing.unpaired_en] + [(f, "ar") for f in pairing.unpaired_ar]
            reader.read_ahead(paired + rest if by_content else paired)
            aligner = _build_aligner(aligner, engine, alignment)
        stage = ScoreStage() if score is True else (score or None)
        scorer = stage.build_scorer(aligner) if stage is not None else None  # fails (e5 missing) before any work
        t_loaded = time.perf_counter()
        encoded_before = aligner.encoded_by.copy()
        if by_content:
            pairing = pair_documents(en_dir, ar_dir, aligner=aligner, method=pair_by, max_sources=max_sources,
                                     manifest=manifest, presplit=presplit, progress=progress,
                                     follow_links=follow_links, reader=reader.pairing_sentences)
        t_paired = time.perf_counter()
        by_method = Counter(p.method for p in pairing.pairs)
        log.info("Paired %d document(s) (%s); unpaired: %d English, %d Arabic", len(pairing.pairs),
                 ", ".join(f"{n} by {m}" for m, n in sorted(by_method.items())) or "none",
                 len(pairing.unpaired_en), len(pairing.unpaired_ar))

        run = FolderRun(out_dir=out_dir, pairing=pairing, settings=aligner.settings,
                        inputs={**inputs, "pairing_settings": pairing.settings}, aligner=aligner)
        state = _RunState(out_dir, {**run.settings, "inputs": run.inputs})
        mode = state.check(overwrite)  # refuses a foreign corpus before anything is written
        if mode != "fresh":
            log.info("%s the corpus in %s", "Resuming" if mode == "resume" else "Replacing", escape_name(out_dir))
        prepared = PreparedRun(run, state, mode, aligner, reader, en_dir, ar_dir, stage, scorer, t_start,
                               t_loaded, t_paired, encoded_before)
    except BaseException:
        reader.close()  # a child still reading ahead
        raise
    return prepared


def _folder_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` over :func:`align_folders`' keyword defaults (one signature for both)."""
    defaults = {name: p.default for name, p in inspect.signature(align_folders).parameters.items()
                if p.kind is p.KEYWORD_ONLY}
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise TypeError(f"prepare_run() got unexpected keyword argument(s): {', '.join(unknown)}")
    return {**defaults, **options}


def run_inputs(en_dir: Path, ar_dir: Path, *, manifest: str | Path | None, presplit: bool, pair_by: str,
               max_sources: int, max_bytes: int | None, follow_links: bool) -> dict[str, Any]:
    """``run.json``'s ``inputs`` as known before pairing (the part of a run's fingerprint
    that is checked before the encoder is loaded)."""
    return {"en_dir": escape_name(en_dir.resolve()), "ar_dir": escape_name(ar_dir.resolve()),
            "manifest": None if manifest is None else escape_name(Path(manifest).resolve()),
            "presplit": presplit, "pairing": "manifest" if manifest is not None else "name",
            "pair_by": pair_by, "max_sources": max_sources, "max_bytes": max_bytes or None,
            "follow_links": follow_links}


@dataclass
class AlignWork:
    """What :func:`align_pairs` did: seconds encoding and aligning, documents taken from
    the state (``resumed``), seconds per document."""

    encode_s: float = 0.0
    align_s: float = 0.0
    resumed: int = 0
    doc_times: dict[str, float] = field(default_factory=dict)

    def timings(self) -> dict[str, Any]:
        return {"encode_s": round(self.encode_s, 4), "align_s": round(self.align_s, 4),
                "resumed_documents": self.resumed}


def align_pairs(pairs: list[DocumentPair], aligner: Aligner, state: "_RunState", reader: SourceReader,
                run: FolderRun, en_dir: Path, ar_dir: Path, *, bar=None, on_failure=None) -> AlignWork:
    """Align ``pairs`` into ``state`` (a part per finished document, :meth:`_RunState.save`)
    a window at a time, documents an earlier run finished taken from it: their reports
    go to ``run.documents`` and their failures to ``run.failed``. ``on_failure(failure,
    phase)``, when given, also hears of each failure (``phase``: ``"read"`` when reading or
    checking the document failed, ``"align"`` when aligning it did)."""
    work = AlignWork()
    for window in _windows(pairs):
        # Read, decode and segment the window's documents, encode all their sentences
        # in one call, then align them one by one (from the aligner's cache).
        read = []
        for pair in window:
            en_file = _relative(pair.en_path, en_dir)
            ar_file = _relative(pair.ar_path, ar_dir)
            t0 = time.perf_counter()
            try:
                en_doc, ar_doc = reader.read(pair.en_path, "en"), reader.read(pair.ar_path, "ar")
                key = {"doc_id": pair.doc_id, "en_file": en_file, "ar_file": ar_file,
                       "en_sha256": en_doc.sha256, "ar_sha256": ar_doc.sha256}
                done = state.finished(key)
            except Exception as exc:  # one bad document must not stop the others
                _failed(run, pair, en_file, ar_file, exc, on_failure, "read")
                _advance(bar)
                continue
            finally:
                reader.release(pair.en_path, "en")
                reader.release(pair.ar_path, "ar")
            if done is not None:  # aligned by an earlier, interrupted run
                run.documents.append(done[0])
                work.doc_times[pair.doc_id] = done[1]
                work.resumed += 1
                log.debug("%s: aligned by an earlier run", escape_name(pair.doc_id))
                _advance(bar)
                continue
            read.append((pair, en_file, ar_file, key, en_doc, ar_doc, time.perf_counter() - t0))
        # The window's languages measured in one call per side (each call has a fixed cost).
        t0 = time.perf_counter()
        en_languages = _languages([en_doc for *_, en_doc, _, _ in read], "en")
        ar_languages = _languages([ar_doc for *_, ar_doc, _ in read], "ar")
        measure_s = (time.perf_counter() - t0) / max(len(read), 1)
        ready = []
        for (pair, en_file, ar_file, key, en_doc, ar_doc, read_s), en_lang, ar_lang in zip(read, en_languages,
                                                                                          ar_languages):
            t0 = time.perf_counter()
            try:
                segments = _checked_pair(en_doc, ar_doc, {"en": en_lang, "ar": ar_lang})
            except Exception as exc:  # one bad document must not stop the others
                _failed(run, pair, en_file, ar_file, exc, on_failure, "read")
                _advance(bar)
                continue
            ready.append((pair, en_file, ar_file, key, segments, read_s + measure_s + time.perf_counter() - t0))
        t0 = time.perf_counter()
        if ready:
            aligner.encode_ahead([side for *_, (en, ar, _, _), _ in ready for side in ((en, "en"), (ar, "ar"))])
        work.encode_s += time.perf_counter() - t0
        # Aligned together (short documents' searches made at once), each its own result:
        # one bad document must not stop the others.
        alignments = aligner.align_segments_many([(en, ar) for *_, (en, ar, _, _), _ in ready])
        for (pair, en_file, ar_file, key, (en, ar, encodings, warnings), read_s), alignment in zip(ready, alignments):
            if isinstance(alignment, Exception):
                _failed(run, pair, en_file, ar_file, alignment, on_failure, "align")
                _advance(bar)
                continue
            t0 = time.perf_counter()
            warnings = warnings + unrelated_warnings(pair.en_path, pair.ar_path, alignment, aligner.encoder_name)
            seconds = round(read_s + sum(alignment.timings.values()) + time.perf_counter() - t0, 4)
            work.doc_times[pair.doc_id] = seconds
            work.encode_s += alignment.timings.get("encode", 0.0)
            work.align_s += alignment.timings.get("align", 0.0)

            records = corpus_records(pair.doc_id, en_file, ar_file, alignment)
            report = _report(pair, en_file, ar_file, alignment, records)
            report.encoding, report.warnings = encodings, [escape_name(w) for w in warnings]
            state.save(key, report, seconds,
                       corpus="".join(r.to_json_line() for r in records),
                       unaligned="".join(_json_line(r) for r in unaligned_records(pair.doc_id, alignment)),
                       beads=alignment.to_vecalign())
            run.documents.append(report)
            log.debug("%s: %d sentence pair(s) in %.2f s", escape_name(pair.doc_id), report.pairs, seconds)
            for warning in report.warnings:
                log.info("%s: %s", escape_name(pair.doc_id), warning)
            _advance(bar)
    return work


def _languages(docs: list[SourceDocument], side: str) -> list[tuple[int, dict[str, float]]]:
    """Each document's language shares: as measured when it was read ahead, the others
    with one lingua call."""
    todo = [d for d in docs if d.languages is None]
    measured = dict(zip(map(id, todo), language_shares_many([d.text for d in todo], side)))
    return [d.languages if d.languages is not None else measured[id(d)] for d in docs]


def _advance(bar) -> None:
    if bar is not None:
        bar.update()


def run_scoring(run: FolderRun, stage: ScoreStage, scorer, t_start: float, progress: bool):
    """The ``scoring`` callback of :meth:`_RunState.assemble`: score the run's records with
    ``scorer`` (``stage.build_scorer``), filter them as ``stage`` says, and complete the
    run's timings (``t_start``: when the run started, :func:`time.perf_counter`)."""
    def scoring(records: list[CorpusRecord], alone: dict) -> ScoreResult:
        t0 = time.perf_counter()
        scorer.start()
        result = score_records(records, run.to_dict(), alone, scorer.scorer, stage.pair_filter, progress=progress)
        timings = result.run["timings"]
        timings["score_s"] = round(time.perf_counter() - t0, 4)
        timings["total_s"] = round(time.perf_counter() - t_start, 4)
        timings["encoded_texts"] = _merged_counts(timings["encoded_texts"], scorer.texts_encoded())
        run.score_result = result
        return result
    return scoring


def _build_aligner(encoder: str | None, engine: str | None = None, alignment: dict | None = None) -> Aligner:
    return Aligner(DEFAULT_ENCODER if encoder is None else encoder, engine=engine,
                   config=AlignmentConfig(**alignment) if alignment else None)


WINDOW_DOCUMENTS = 64
WINDOW_SENTENCE_BYTES = 1 << 20
"""Documents are read and encoded in windows of at most this many documents and about
this many bytes of text: one encoder call costs nearly as much for one short sentence as
for hundreds, so 5,000 one-line documents encoded one by one took 20 minutes. A window
holds at most one large document (memory stays that of one document)."""


def _windows(pairs: list[DocumentPair]) -> Iterator[list[DocumentPair]]:
    """Consecutive pairs, a window at a time (sizes from the files' sizes, so the
    windows, and so the output, do not depend on anything but the inputs)."""
    window: list[DocumentPair] = []
    size = 0
    for pair in pairs:
        try:
            bytes_ = pair.en_path.stat().st_size + pair.ar_path.stat().st_size
        except OSError:
            bytes_ = 0  # reading it will say what is wrong
        if window and (len(window) >= WINDOW_DOCUMENTS or size + bytes_ > WINDOW_SENTENCE_BYTES):
            yield window
            window, size = [], 0
        window.append(pair)
        size += bytes_
    if window:
        yield window


def _failed(run: FolderRun, pair: DocumentPair, en_file: str, ar_file: str, exc: Exception, on_failure=None,
            phase: str = "read") -> None:
    message = str(exc) if isinstance(exc, DocumentError) else escape_name(f"{type(exc).__name__}: {exc}")
    failure = DocumentFailure(pair.doc_id, en_file, ar_file, message)
    run.failed.append(failure)
    if on_failure is not None:
        on_failure(failure, phase)
    # INFO, not WARNING: a failed document is part of the result (FolderRun.failed,
    # run.json), which the caller reports; the log narrates it as it happens.
    log.info("%s: not aligned: %s", escape_name(pair.doc_id), message)


def _merged_counts(*counts: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in counts:
        for name, n in c.items():
            out[name] = out.get(name, 0) + n
    return out


def _checked_pair(english: SourceDocument, arabic: SourceDocument,
                  languages: dict[str, tuple[int, dict[str, float]]] | None = None
                  ) -> tuple[list[Sentence], list[Sentence], dict[str, str], list[str]]:
    """Check both documents' languages and that each has sentences: the sentences of each
    side, the encoding of each side and the warnings. ``languages``: each side's
    ``language_shares``, when measured already."""
    warnings = english.warnings + arabic.warnings
    scripts = {"en": english.scripts, "ar": arabic.scripts} \
        if english.scripts is not None and arabic.scripts is not None else None
    warnings += check_language(english.path, english.text, arabic.path, arabic.text, languages, scripts)
    for doc in (english, arabic):
        if not doc.sentences:
            raise DocumentError(f"{doc.path}: no sentences found")
        if not any(has_content(s.text) for s in doc.sentences):
            raise DocumentError(f"{doc.path}: no sentences found (no line has a letter or a digit)")
    return english.sentences, arabic.sentences, {"en": english.encoding, "ar": arabic.encoding}, warnings


UNRELATED_MEDIAN_SCORE = {USE_ENCODER: 0.30, E5_ENCODER: 0.84, COMBINED_ENCODER: 0.78}
"""Per encoder: a document whose aligned pairs' median similarity is below this gets the
warning "the two documents look unrelated". Measured (int8 engine) on true pairs and on
shuffled ones (each English document with another one's Arabic), median pair similarity:

=========  ===========================  =================================
encoder    true: examples / dev (min)   unrelated: examples (max) / dev
=========  ===========================  =================================
USE        0.674 / 0.403                0.216 / median 0.318, max 0.502
e5-small   0.883 / 0.854                0.832 / median 0.882, max 0.929
use+e5     0.876 / 0.817                0.760 / median 0.826, max 0.868
=========  ===========================  =================================

(4 examples, news, 12 shuffled pairs; 100 dev documents, hadith and Qur'an, 100 shuffled
pairs of one genre; the issue's garbage pairs scored -0.06 to 0.29 with USE. e5 rows since
session 21: e5 reads texts with its "query: " prefix and weighs 0.9 in use+e5; before,
0.81 and 0.70.) Each limit sits below the midpoint between the highest unrelated news
pair and the lowest true pair, nearer the unrelated side: no true pair warned, every
unrelated news pair caught, and 43 (USE), 2 (e5), 10 (use+e5) of the 100 same-genre ones.
An encoder not listed (its own similarity scale) gets no such check."""


def unrelated_warnings(en_path: Path, ar_path: Path, alignment: DocumentAlignment, encoder: str) -> list[str]:
    """``["EN_PATH: the two documents look unrelated (...)"]`` when the alignment found no
    more evidence than two unrelated documents give (see :data:`UNRELATED_MEDIAN_SCORE`)."""
    limit = UNRELATED_MEDIAN_SCORE.get(encoder)
    scores = [p.score for p in alignment.pairs]
    if limit is None or not scores:
        return []
    median = statistics.median(scores)
    if median >= limit:
        return []
    return [escape_name(f"{en_path}: the two documents look unrelated (median similarity of their {len(scores)} "
                        f"sentence pair(s) {median:.2f}, below {limit:.2f}; translations score higher): is "
                        f"{ar_path} its source? aligned anyway")]


def _report(pair: DocumentPair, en_file: str, ar_file: str, alignment: DocumentAlignment,
            records: list[CorpusRecord]) -> DocumentReport:
    scores = [r.score for r in records]
    kinds = Counter(b.kind for b in alignment.beads)
    return DocumentReport(
        doc_id=pair.doc_id, en_file=en_file, ar_file=ar_file, pairing=pair.method,
        en_sentences=len(alignment.en_sentences), ar_sentences=len(alignment.ar_sentences),
        pairs=len(records), bead_types=dict(sorted(kinds.items())), moved=sum(r.moved for r in records),
        unaligned_en=len(alignment.unaligned_en), unaligned_ar=len(alignment.unaligned_ar),
        mean_score=round(sum(scores) / len(scores), 4) if scores else None)


def _relative(path: Path, folder: Path) -> str:
    """``en_file`` / ``ar_file``: the path in its folder, escaped (see :func:`escape_name`)."""
    try:
        return escape_name(path.relative_to(folder).as_posix())
    except ValueError:
        return escape_name(path.name)


def _progress(total: int, enabled: bool):
    """A progress bar (``bar.update()`` per document), or one that shows nothing."""
    return progress_bar(total=total, desc="Aligning", unit="doc", enabled=enabled)


def _environment() -> dict:
    """Versions that can change the numbers (recorded in run.json, not compared on resume)."""
    from importlib.metadata import PackageNotFoundError, version

    env: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("numpy", "torch", "sentencepiece", "transformers", "sentence-transformers"):
        try:
            env[name] = version(name)
        except PackageNotFoundError:
            env[name] = None
    return env


# ----------------------------------------------------------------------------- resume state


class _RunState:
    """The resume state of a run in ``OUT/.aligner-state`` (see the module docstring):
    the settings fingerprint, a lock, and one part file per finished document."""

    def __init__(self, out_dir: Path, settings: dict):
        self.out_dir = out_dir
        self.dir = out_dir / STATE_DIR
        self.docs = self.dir / "docs"
        # Through JSON once, so it compares equal to what is read back from disk.
        self.settings = json.loads(json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str))
        self.digest = hashlib.sha256(json.dumps(self.settings, sort_keys=True).encode("utf-8")).hexdigest()
        self._lock_handle = None

    # -- may OUT be written?

    def check(self, overwrite: bool, *, partial: bool = False) -> str:
        """``"fresh"``, ``"resume"`` or ``"overwrite"``; :class:`OutputExistsError` when
        ``OUT`` holds a corpus made otherwise. Reads only. ``partial``: the settings are
        a part of the fingerprint (known before the encoder is loaded): only those
        parts are compared."""
        if overwrite:
            return "overwrite"
        saved = self._saved_settings()
        if saved is not None:
            if same_settings(saved, self.settings, partial):
                return "resume"
            raise OutputExistsError(self._differs(saved, f"{STATE_DIR}/settings.json", partial))
        present = [name for name in (CORPUS_FILE, RUN_FILE) if (self.out_dir / name).exists()]
        if not present:
            return "fresh"
        recorded = self._settings_from_run_json()
        if recorded is not None and same_settings(recorded, self.settings, partial):
            return "resume"  # finished earlier (state removed): align again, same bytes
        if recorded is None:
            raise OutputExistsError(
                f"{self.out_dir} already holds {' and '.join(present)} with no readable {RUN_FILE} saying how it was "
                f"made: not overwritten. Use --overwrite (overwrite=True in Python) to replace it, or choose another output folder")
        raise OutputExistsError(self._differs(recorded, RUN_FILE, partial))

    def _saved_settings(self) -> dict | None:
        try:
            saved = json.loads((self.dir / "settings.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(saved, dict) or saved.get("format") != _STATE_FORMAT:
            return None
        return saved.get("settings")

    def _settings_from_run_json(self) -> dict | None:
        try:
            report = json.loads((self.out_dir / RUN_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(report, dict):
            return None
        return {key: report.get(key) for key in self.settings}

    def _differs(self, old: dict, where: str, partial: bool = False) -> str:
        shown = describe_differences(restricted(old, self.settings) if partial else old, self.settings, 4)
        return (f"{self.out_dir} already holds a corpus made with other settings or inputs ({shown}; as recorded "
                f"in {where}): not overwritten. Use --overwrite (overwrite=True in Python) to replace it, or choose another output folder")

    # -- holding OUT

    @contextlib.contextmanager
    def opened(self, mode: str):
        """Create the state folder, lock it against a second run, remove what a killed
        run left half-written, and (re)start the state as ``mode`` says."""
        try:
            self.docs.mkdir(parents=True, exist_ok=True)
            self._lock()
            self.check(mode == "overwrite")  # again, now that no other run can change it
            self._remove_temporaries()
            if mode == "overwrite":
                shutil.rmtree(self.docs)
                self.docs.mkdir()
            if self._saved_settings() != self.settings:
                atomic_write_text(self.dir / "settings.json", json.dumps(
                    {"format": _STATE_FORMAT, "fingerprint": self.digest, "settings": self.settings},
                    ensure_ascii=False, indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            self._unlock()
            raise self._write_error(exc, self.dir) from None
        except BaseException:
            self._unlock()
            raise
        try:
            yield self
        finally:
            self._unlock()

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock
            return
        handle = open(self.dir / "lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise OutputExistsError(
                f"{self.out_dir} is being written by another aligner run (it holds {self.dir / 'lock'}): wait for "
                f"it to finish, or choose another output folder") from None
        except OSError:  # pragma: no cover - a file system without locks: go on unlocked
            handle.close()
            return
        self._lock_handle = handle

    def _unlock(self) -> None:
        if self._lock_handle is not None:
            self._lock_handle.close()  # closing releases the lock (so does dying, even by kill -9)
            self._lock_handle = None

    def _remove_temporaries(self) -> None:
        """Temporary files of a run that was killed before it could remove them."""
        ours = (f".{CORPUS_FILE}.", f".{UNALIGNED_FILE}.", f".{RUN_FILE}.", ".pairs.")
        candidates = [p for p in self.out_dir.glob(".*.tmp") if p.name.startswith(ours)]
        beads = self.out_dir / BEADS_DIR
        if beads.is_dir():
            candidates += [p for p in beads.rglob(".*.tmp") if f"{BEADS_SUFFIX}." in p.name]
        candidates += list(self.dir.rglob(".*.tmp"))
        for path in candidates:
            with contextlib.suppress(OSError):
                if path.is_file():
                    path.unlink()
        remove_temporaries(self.out_dir)  # and those of a killed scoring or export into this folder

    def _write_error(self, exc: OSError, path: Path) -> OutputWriteError:
        reason = exc.strerror or str(exc)
        hint = "free some space and " if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
        try:
            kept = any(self.docs.glob("*.json"))
        except OSError:
            kept = False
        if not kept:  # nothing to resume from: do not promise a resume
            return OutputWriteError(
                f"cannot write {path}: {reason}. The files already in {self.out_dir} were left as they were; no "
                f"document was finished, so nothing was kept: {hint}run the command again")
        return OutputWriteError(
            f"cannot write {path}: {reason}. The files already in {self.out_dir} were left as they were; the "
            f"documents aligned so far are kept in {self.dir}: {hint}run the same command again to resume")

    # -- finished documents

    def _part_path(self, doc_id: str) -> Path:
        return self.docs / f"{hashlib.sha256(doc_id.encode('utf-8')).hexdigest()[:32]}.json"

    def _read_part(self, doc_id: str) -> dict | None:
        try:
            part = json.loads(self._part_path(doc_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (not isinstance(part, dict) or part.get("format") != _STATE_FORMAT
                or part.get("fingerprint") != self.digest
                or not all(isinstance(part.get(k), str) for k in ("corpus", "unaligned", "beads"))):
            return None
        return part

    def finished(self, key: dict) -> tuple[DocumentReport, float] | None:
        """The report and time of a document an earlier run finished with these
        settings and these exact input files (``key``), or ``None``."""
        part = self._read_part(key["doc_id"])
        if part is None or part.get("key") != key:
            return None
        try:
            return DocumentReport(**part["report"]), float(part.get("seconds", 0.0))
        except (TypeError, KeyError, ValueError):
            return None  # written by another version of this code: align again

    def save(self, key: dict, report: DocumentReport, seconds: float, *, corpus: str, unaligned: str,
             beads: str) -> None:
        """Record a finished document (atomically: a kill leaves it whole or absent)."""
        path = self._part_path(key["doc_id"])
        part = {"format": _STATE_FORMAT, "fingerprint": self.digest, "key": key, "report": asdict(report),
                "seconds": seconds, "corpus": corpus, "unaligned": unaligned, "beads": beads}
        try:
            # Not fsynced: a part a power cut left broken fails _read_part's checks and the
            # document is aligned again.
            atomic_write_text(path, json.dumps(part, ensure_ascii=False) + "\n", durable=False)
        except OSError as exc:
            raise self._write_error(exc, path) from None

    # -- the final files

    def assemble(self, run: FolderRun, extra=None, scoring=None, plot: bool = True) -> None:
        """Write corpus.jsonl, unaligned.jsonl, beads/ and run.json from the parts of
        ``run.documents`` (in that order): all to temporary files first, then moved into
        place one after the other; beads of documents no longer in the run are removed.
        ``scoring``: ``(records, unaligned lines by document and side) -> ScoreResult``;
        the scored corpus, ``rejected.jsonl`` and the report are then written with the
        rest (after a journal: :data:`PENDING_FILE`), and ``run.json`` is the result's."""
        staged = StagedFiles()
        beads = StagedFiles()  # in beads/: moved first, outside the journal (which lists files of OUT itself)
        beads_dir = self.out_dir / BEADS_DIR
        expected: set[Path] = set()
        written: list[str] = []
        try:
            beads_dir.mkdir(exist_ok=True)
            records: list[CorpusRecord] = []
            alone: dict[str, dict[str, list[str]]] = {}
            with contextlib.ExitStack() as stack:
                corpus = None if scoring else stack.enter_context(staged.open(self.out_dir / CORPUS_FILE))
                unaligned = stack.enter_context(staged.open(self.out_dir / UNALIGNED_FILE))
                for report in run.documents:
                    part = self._read_part(report.doc_id)
                    if part is None:
                        raise OutputError(f"{self._part_path(report.doc_id)}: the finished part of document "
                                          f"{report.doc_id!r} disappeared; run the same command again")
                    if corpus is None:
                        records += [CorpusRecord.from_dict(json.loads(line)) for line in part["corpus"].splitlines()]
                        for line in part["unaligned"].splitlines():
                            item = json.loads(line)
                            alone.setdefault(item["doc_id"], {}).setdefault(item["side"], []).append(item["text"])
                    else:
                        staged.current = self.out_dir / CORPUS_FILE
                        corpus.write(part["corpus"])
                    staged.current = self.out_dir / UNALIGNED_FILE
                    unaligned.write(part["unaligned"])
                    path = beads_dir / beads_name(report.doc_id)
                    expected.add(path)
                    if _text_or_none(path) != part["beads"]:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        beads.write_text(path, part["beads"])
            if extra is not None:
                extra()
            remove: list[str] = []
            if scoring:
                remove = stage_scored(staged, self.out_dir, scoring(records, alone), plot=plot)
            else:
                staged.write_text(self.out_dir / RUN_FILE,
                                  json.dumps(run.to_dict(), ensure_ascii=False, indent=2) + "\n")
            written = [final.name for _, final in staged.pending]
            beads.commit()
            staged.commit(self.out_dir / PENDING_FILE if scoring else None, remove=remove)
        except OSError as exc:
            beads.discard()
            staged.discard()
            raise self._write_error(exc, beads.current or staged.current or self.out_dir) from None
        except BaseException:
            beads.discard()
            staged.discard()
            raise
        # Scores, reports and formats of the corpus just replaced: stale now (a rejected.jsonl
        # would be merged back into this whole corpus by the next scoring). The command
        # line writes them again when asked.
        with contextlib.suppress(OSError):
            remove_run_files(self.out_dir, [name for name in DERIVED_FILES if name not in written])
        for path in beads_dir.rglob(f"*{BEADS_SUFFIX}"):
            if path not in expected and path.is_file():
                with contextlib.suppress(OSError):
                    path.unlink()  # a document of an earlier run that is not in this one
        keep = {self._part_path(d.doc_id).name for d in run.documents}
        for path in self.docs.glob("*.json"):
            if path.name not in keep:
                with contextlib.suppress(OSError):
                    path.unlink()


def _text_or_none(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
