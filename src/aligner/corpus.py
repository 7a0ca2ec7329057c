"""Aligning whole folders into a parallel corpus, and writing files atomically.

:func:`align_folders` pairs ``EN_DIR/<stem>.txt`` with ``AR_DIR/<stem>.txt`` (see
:mod:`aligner.pairing`), aligns every pair and writes to ``OUT``:

``corpus.jsonl``
    One JSON object per aligned (non-null) bead, documents in ``doc_id`` order and beads
    in document order, keys in this order: ``doc_id, en_file, ar_file, en_idx, ar_idx,
    en, ar, bead_type, score``. ``en_idx`` / ``ar_idx`` are 0-based sentence indices,
    ``en`` / ``ar`` the sentences joined by a space, ``score`` the cosine similarity
    rounded to 4 decimals. UTF-8, not ASCII-escaped.
``beads/<doc_id>.align``
    Every bead of the document, null beads included, in the Vecalign format:
    ``[0]:[0]``, ``[1, 2]:[3]``, ``[4]:[]``.
``unaligned.jsonl``
    One object per sentence left unaligned: ``doc_id, side ("en"|"ar"), idx, text``.
``run.json``
    How the run was made and what it did: aligner version, encoder and its settings,
    alignment settings, inputs, each document's counts, unpaired and ignored files,
    pairing problems, failed documents with their error, and wall-clock ``timings``.

``corpus.jsonl``, ``unaligned.jsonl`` and the beads files hold no time or absolute
path: the same inputs, settings and encoder give byte-identical files. ``run.json``
differs between runs only under its ``"timings"`` key.

Every file is written to a temporary file in its own folder and moved into place with
``os.replace``, so a reader never sees half a file and an interrupted run leaves the
previous file intact. A document that cannot be read or aligned (not UTF-8, empty, ...)
is recorded in ``run.json`` and in :attr:`FolderRun.failed`; the other documents are
still aligned and written.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Iterator

from .api import Aligner, DocumentAlignment
from .pairing import DocumentPair, PairingResult, pair_by_name
from .records import RECORD_KEYS, CorpusRecord  # noqa: F401  (RECORD_KEYS re-exported)

CORPUS_FILE = "corpus.jsonl"
UNALIGNED_FILE = "unaligned.jsonl"
RUN_FILE = "run.json"
BEADS_DIR = "beads"
BEADS_SUFFIX = ".align"

_UTF8_BOM = b"\xef\xbb\xbf"


class DocumentError(ValueError):
    """One input document cannot be used; the message starts with its path."""


# ----------------------------------------------------------------------------- atomic files


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", *, encoding: str | None = "utf-8",
                newline: str | None = "\n") -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; on a clean exit it replaces
    ``path`` (``os.replace``, atomic on one file system), on an exception it is removed
    and ``path`` is left as it was. Text is written with ``\\n`` line ends."""
    path = Path(path)
    if "b" in mode:
        encoding = newline = None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, "w", encoding=encoding) as handle:
        handle.write(text)


@functools.cache
def _new_file_mode() -> int:
    """The permissions a plain ``open()`` gives a new file (``mkstemp`` uses 0600).
    Read once: reading the umask means setting it for a moment."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


# ----------------------------------------------------------------------------- reading


def read_document(path: str | Path) -> str:
    """A document's text: UTF-8, a leading byte-order mark dropped, any line ends.

    Raises :class:`DocumentError` ``"<path>: not valid UTF-8 (byte N)"`` (``N`` the
    0-based offset of the first bad byte in the file) or ``"<path>: empty file"`` (no
    visible text)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    skip = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    try:
        text = data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not valid UTF-8 (byte {exc.start + skip})") from None
    if not text.strip():
        raise DocumentError(f"{path}: empty file")
    return text


# ----------------------------------------------------------------------------- records


def corpus_records(doc_id: str, en_file: str, ar_file: str, alignment: DocumentAlignment) -> list[CorpusRecord]:
    """The ``corpus.jsonl`` records of one document (written with keys in
    :data:`RECORD_KEYS` order by :meth:`CorpusRecord.to_json_line`)."""
    return [CorpusRecord.from_pair(doc_id, en_file, ar_file, p) for p in alignment.pairs]


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
    return json.dumps(record, ensure_ascii=False) + "\n"


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


@dataclass
class DocumentFailure:
    """A paired document that could not be aligned, and why."""

    doc_id: str
    en_file: str
    ar_file: str
    error: str


@dataclass
class FolderRun:
    """What :func:`align_folders` did: the pairing, one report per aligned document,
    the failures, the settings used and the output folder."""

    out_dir: Path
    pairing: PairingResult
    documents: list[DocumentReport] = field(default_factory=list)
    failed: list[DocumentFailure] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    @property
    def corpus_path(self) -> Path:
        return self.out_dir / CORPUS_FILE

    @property
    def unaligned_path(self) -> Path:
        return self.out_dir / UNALIGNED_FILE

    @property
    def run_path(self) -> Path:
        return self.out_dir / RUN_FILE

    @property
    def beads_dir(self) -> Path:
        return self.out_dir / BEADS_DIR

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
        """A short human-readable report (what the command line prints)."""
        lines = [f"Aligned {self.n_aligned} of {self.n_documents} document pair(s): {self.n_pairs} sentence "
                 f"pair(s); unaligned sentences: {self.n_unaligned_en} English, "
                 f"{self.n_unaligned_ar} Arabic (listed in {self.unaligned_path})."]
        if not self.pairing.pairs:
            lines.append(f"No document pairs found: documents are paired by name, {self.inputs.get('en_dir', 'EN_DIR')}"
                         f"/<name>.txt with {self.inputs.get('ar_dir', 'AR_DIR')}/<name>.txt (or by --manifest).")
        unpaired = ([f"  English: {p}" for p in self.pairing.unpaired_en]
                    + [f"  Arabic:  {p}" for p in self.pairing.unpaired_ar])
        if unpaired:
            lines.append(f"Unpaired files, not aligned ({len(unpaired)}):")
            lines += unpaired
        if self.pairing.problems:
            lines.append(f"Pairing problems ({len(self.pairing.problems)}):")
            lines += [f"  {msg}" for msg in self.pairing.problems]
        if self.failed:
            lines.append(f"Failed documents ({len(self.failed)}):")
            lines += [f"  {f.doc_id}: {f.error}" for f in self.failed]
        lines.append(f"Corpus written to {self.corpus_path}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """The content of ``run.json``."""
        p = self.pairing
        return {
            **self.settings,
            "inputs": self.inputs,
            "summary": {"documents": self.n_documents, "aligned": self.n_aligned, "failed": self.n_failed,
                        "pairs": self.n_pairs, "unaligned_en": self.n_unaligned_en,
                        "unaligned_ar": self.n_unaligned_ar,
                        "unpaired_en": len(p.unpaired_en), "unpaired_ar": len(p.unpaired_ar)},
            "documents": [asdict(d) for d in self.documents],
            "failed": [asdict(f) for f in self.failed],
            "unpaired": {"en": [str(x) for x in p.unpaired_en], "ar": [str(x) for x in p.unpaired_ar]},
            "ignored": {"en": [str(x) for x in p.ignored_en], "ar": [str(x) for x in p.ignored_ar]},
            "problems": list(p.problems),
            "timings": self.timings,
        }


def align_folders(en_dir: str | Path, ar_dir: str | Path, out_dir: str | Path, *,
                  aligner: Aligner | str | None = None, manifest: str | Path | None = None,
                  presplit: bool = False, progress: bool = True) -> FolderRun:
    """Pair the two folders' documents by name (or as ``manifest`` says), align each
    pair and write the corpus to ``out_dir`` (created if needed; see the module
    docstring for the files).

    ``aligner``: an :class:`~aligner.Aligner`, an encoder name to build one with, or
    ``None`` for the default encoder (built only after pairing succeeded).
    ``presplit``: the files already hold one sentence per line.
    ``progress``: show a progress bar over documents on stderr (when it is a terminal).

    Raises :class:`~aligner.pairing.PairingError` (a missing folder, a broken manifest)
    before anything is written; a document that fails is recorded, not raised."""
    t_start = time.perf_counter()
    en_dir, ar_dir, out_dir = Path(en_dir), Path(ar_dir), Path(out_dir)
    pairing = pair_by_name(en_dir, ar_dir, manifest=manifest)
    if not isinstance(aligner, Aligner):
        aligner = _build_aligner(aligner)
    t_loaded = time.perf_counter()

    beads_dir = out_dir / BEADS_DIR
    beads_dir.mkdir(parents=True, exist_ok=True)
    run = FolderRun(out_dir=out_dir, pairing=pairing, settings=aligner.settings,
                    inputs={"en_dir": str(en_dir.resolve()), "ar_dir": str(ar_dir.resolve()),
                            "manifest": None if manifest is None else str(Path(manifest).resolve()),
                            "presplit": presplit, "pairing": "manifest" if manifest is not None else "name"})
    doc_times: dict[str, float] = {}
    encode_s = align_s = 0.0

    with atomic_open(out_dir / CORPUS_FILE) as corpus, atomic_open(out_dir / UNALIGNED_FILE) as unaligned:
        for pair in _progress(pairing.pairs, progress):
            en_file = _relative(pair.en_path, en_dir)
            ar_file = _relative(pair.ar_path, ar_dir)
            beads_path = beads_dir / f"{pair.doc_id}{BEADS_SUFFIX}"
            t0 = time.perf_counter()
            try:
                alignment = _align_pair(aligner, pair, presplit)
            except Exception as exc:  # one bad document must not stop the others
                message = str(exc) if isinstance(exc, DocumentError) else f"{type(exc).__name__}: {exc}"
                run.failed.append(DocumentFailure(pair.doc_id, en_file, ar_file, message))
                with contextlib.suppress(FileNotFoundError):
                    beads_path.unlink()  # do not leave a previous run's beads beside this run's corpus
                continue
            doc_times[pair.doc_id] = round(time.perf_counter() - t0, 4)
            encode_s += alignment.timings.get("encode", 0.0)
            align_s += alignment.timings.get("align", 0.0)

            records = corpus_records(pair.doc_id, en_file, ar_file, alignment)
            corpus.writelines(r.to_json_line() for r in records)
            unaligned.writelines(_json_line(r) for r in unaligned_records(pair.doc_id, alignment))
            beads_path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(beads_path, alignment.to_vecalign())
            run.documents.append(_report(pair, en_file, ar_file, alignment, records))

    run.timings = {"total_s": round(time.perf_counter() - t_start, 4),
                   "load_encoder_s": round(t_loaded - t_start, 4),
                   "encode_s": round(encode_s, 4), "align_s": round(align_s, 4),
                   "per_document_s": doc_times}
    atomic_write_text(out_dir / RUN_FILE, json.dumps(run.to_dict(), ensure_ascii=False, indent=2) + "\n")
    return run


def _build_aligner(encoder: str | None) -> Aligner:
    return Aligner() if encoder is None else Aligner(encoder)


def _align_pair(aligner: Aligner, pair: DocumentPair, presplit: bool) -> DocumentAlignment:
    english = read_document(pair.en_path)
    arabic = read_document(pair.ar_path)
    alignment = aligner.align(english, arabic, presplit=presplit)
    for path, sentences in ((pair.en_path, alignment.en_sentences), (pair.ar_path, alignment.ar_sentences)):
        if not sentences:
            raise DocumentError(f"{path}: no sentences found")
    return alignment


def _report(pair: DocumentPair, en_file: str, ar_file: str, alignment: DocumentAlignment,
            records: list[CorpusRecord]) -> DocumentReport:
    scores = [r.score for r in records]
    kinds = Counter(b.kind for b in alignment.beads)
    return DocumentReport(
        doc_id=pair.doc_id, en_file=en_file, ar_file=ar_file, pairing=pair.method,
        en_sentences=len(alignment.en_sentences), ar_sentences=len(alignment.ar_sentences),
        pairs=len(records), bead_types=dict(sorted(kinds.items())),
        unaligned_en=len(alignment.unaligned_en), unaligned_ar=len(alignment.unaligned_ar),
        mean_score=round(sum(scores) / len(scores), 4) if scores else None)


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return path.name


def _progress(pairs: list[DocumentPair], enabled: bool):
    if not enabled:
        return pairs
    from tqdm import tqdm

    return tqdm(pairs, desc="Aligning", unit="doc", disable=None)
