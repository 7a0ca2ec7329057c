"""Output files: their names, atomic writes, and the lock and clean-up of an output folder.

Every file is written to a temporary file in its own folder and moved into place with
``os.replace``, so a reader never sees half a file and an interrupted write leaves the
previous file intact (:func:`atomic_open`). A write of several files at once lists its
temporaries in a journal first (:data:`PENDING_FILE`), so a killed one is completed by
the next command (:func:`finish_pending`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterable, Iterator

from aligner.io.records import CorpusFormatError

CORPUS_FILE = "corpus.jsonl"
UNALIGNED_FILE = "unaligned.jsonl"
RUN_FILE = "run.json"
PAIRS_FILE = "pairs.tsv"  # and pairs.unpaired.tsv beside it (aligner.pairing.names.write_pairs)
BEADS_DIR = "beads"
BEADS_SUFFIX = ".align"

MAX_NAME_BYTES = 200
"""Longest file name written per document: 255 bytes (ext4, XFS, APFS; NTFS counts 255
UTF-16 units) less room for the temporary ``.NAME.XXXXXXXX.tmp`` written first."""


def beads_name(doc_id: str) -> str:
    """``<doc_id>.align``, relative to ``beads/`` (a ``/`` in ``doc_id`` makes a
    sub-folder). A part longer than :data:`MAX_NAME_BYTES` is cut (at a character) and
    ends with ``~`` and a hash of the whole ``doc_id``: every name fits the file system,
    stays distinct, and is the same on every run."""
    parts = doc_id.split("/")
    parts[-1] += BEADS_SUFFIX
    for k, part in enumerate(parts):
        raw = part.encode("utf-8")
        if len(raw) > MAX_NAME_BYTES:
            tail = f"~{hashlib.sha256(doc_id.encode('utf-8')).hexdigest()[:16]}"
            tail += BEADS_SUFFIX if k == len(parts) - 1 else ""
            parts[k] = raw[:MAX_NAME_BYTES - len(tail)].decode("utf-8", "ignore") + tail
    return "/".join(parts)

STATE_DIR = ".aligner-state"
"""Resume state inside ``OUT``: ``settings.json``, ``lock`` and ``docs/<key>.json``."""
class OutputError(RuntimeError):
    """The output folder cannot be used or written; the message says what to do."""


class OutputExistsError(OutputError):
    """``OUT`` already holds a corpus made with other settings or inputs (or another run
    is writing it). Nothing was written."""


class OutputWriteError(OutputError):
    """Writing to ``OUT`` failed (a full disk, no permission): the files already there
    were left as they were; documents finished so far are kept for a resume."""


# ----------------------------------------------------------------------------- atomic files


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", *, encoding: str | None = "utf-8",
                newline: str | None = "\n", durable: bool = True) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; on a clean exit it replaces
    ``path`` (``os.replace``, atomic on one file system), on an exception it is removed
    and ``path`` is left as it was. Text is written with ``\\n`` line ends. ``durable``:
    on disk before it replaces ``path`` (``fsync``), so that a power cut leaves the old
    file or the new one; ``False`` for files that are checked when read (a document's
    part of an unfinished run), where a few milliseconds per file buy nothing."""
    path = Path(path)
    if "b" in mode:
        encoding = newline = None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8", durable: bool = True) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, "w", encoding=encoding, durable=durable) as handle:
        handle.write(text)


def read_json_object(path: Path, *, strict: bool = False) -> dict | None:
    """The JSON object in ``path`` (e.g. a run's ``run.json``), or ``None`` when the file
    is missing, unreadable, not JSON (``NaN`` and ``Infinity`` are not JSON) or not an
    object: callers treat it as optional. ``strict``: a file that is there but unusable
    raises :class:`~aligner.io.records.CorpusFormatError` naming it (and the line)."""
    text = None
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text, parse_constant=_no_constant)
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as exc:
        if strict:
            line, column = exc.lineno, exc.colno
            where = re.search(r"[:\[,]\s*(NaN|-?Infinity)\b", text or "") if exc.doc in _CONSTANTS else None
            if where:  # parse_constant is not told where the constant is: find it
                line = text.count("\n", 0, where.start(1)) + 1
                column = where.start(1) - text.rfind("\n", 0, where.start(1))
            raise CorpusFormatError(f"{path}:{line}: not valid JSON ({exc.msg}, column {column})") from None
        return None
    except (OSError, ValueError) as exc:
        if strict:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise CorpusFormatError(f"{path}: cannot be read ({reason})") from None
        return None
    if not isinstance(data, dict):
        if strict:
            raise CorpusFormatError(f"{path}: expected a JSON object, got {type(data).__name__}")
        return None
    return data


_CONSTANTS = ("NaN", "Infinity", "-Infinity")


def _no_constant(name: str):
    # Python's json reads NaN/Infinity, which then break int() and strict writers later.
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


# ----------------------------------------------------------------------------- output folders

PENDING_FILE = ".aligner-pending.json"
"""A multi-file write (scoring a folder) in progress: the temporaries to move into place.
Written only once every temporary is complete, so completing it is always right."""

DERIVED_FILES = ("rejected.jsonl", "report.md", "report.png", "review.html") + tuple(
    f"corpus{split}.{ext}" for split in ("", ".train", ".validation", ".test") for ext in ("tsv", "en", "ar", "tmx")
) + tuple(f"corpus.{split}.jsonl" for split in ("train", "validation", "test")) + ("hf",)
"""What scoring (aligner.run.score), formats (aligner.outputs.formats) and the review page add to a
run folder: files of ONE corpus, so a new align run removes those it does not rewrite."""

RUN_FILES = (CORPUS_FILE, UNALIGNED_FILE, RUN_FILE, PAIRS_FILE, "pairs.unpaired.tsv", BEADS_DIR, STATE_DIR,
             PENDING_FILE)
"""What ``align`` itself writes to a run folder."""

_TEMPORARY_PREFIXES = tuple(f".{name}." for name in DERIVED_FILES + RUN_FILES if name not in (BEADS_DIR, STATE_DIR))


def finish_pending(folder: str | Path) -> bool:
    """Complete a multi-file write (:meth:`StagedFiles.commit` with a journal) that was killed
    while moving its files into place: every temporary it lists is complete, so moving the
    rest into place gives exactly what the write meant. True when there was one. Raises
    :class:`OutputWriteError` when the folder cannot be written (read-only)."""
    folder = Path(folder)
    journal = folder / PENDING_FILE
    if not journal.is_file():
        return False
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
        moves = [(str(a), str(b)) for a, b in data["moves"]]
        remove = [str(n) for n in data.get("remove", [])]
    except (OSError, ValueError, KeyError, TypeError):
        moves, remove = [], []  # not ours or damaged (it is written atomically): nothing to complete
    try:
        for tmp, final in moves:
            if _plain_name(tmp) and _plain_name(final) and (folder / tmp).is_file():
                os.replace(folder / tmp, folder / final)
        for name in remove:
            if _plain_name(name) and (folder / name).is_file():
                os.unlink(folder / name)
        journal.unlink()
    except OSError as exc:
        raise OutputWriteError(f"cannot complete the write that was interrupted in {folder} (listed in {journal}): "
                               f"{exc.strerror or exc}. Run the command again where {folder} can be written"
                               ) from None
    return True


def _plain_name(name: str) -> bool:
    """A file name in the folder itself (a journal never moves files elsewhere)."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name and "\0" not in name


def remove_temporaries(folder: str | Path) -> None:
    """Temporary files and folders that a killed align, score or export left in ``folder``
    (``.corpus.jsonl.k2j3.tmp``, ``.hf.x8e1.tmp/``, ``.hf.old.q0f3/``). Call with the
    folder locked (:func:`output_lock`) and after :func:`finish_pending`."""
    folder = Path(folder)
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            name = path.name
            if not name.startswith(_TEMPORARY_PREFIXES):
                continue
            if name.endswith(".tmp") or name.startswith(".hf.old."):
                with contextlib.suppress(OSError):
                    if path.is_dir() and not path.is_symlink():
                        shutil.rmtree(path)
                    else:
                        path.unlink()


def remove_run_files(folder: str | Path, names: Iterable[str]) -> None:
    """Remove these files and folders of ``folder`` (those that exist)."""
    folder = Path(folder)
    for name in names:
        path = folder / name
        with contextlib.suppress(FileNotFoundError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


@contextlib.contextmanager
def output_lock(folder: str | Path):
    """Hold ``folder`` (created if needed) against a second score or export writing it at
    the same time; then complete an interrupted write there and remove what a killed one
    left (:func:`finish_pending`, :func:`remove_temporaries`). Raises
    :class:`OutputExistsError` when another command holds it, :class:`OutputWriteError`
    when it cannot be created or written."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY)
    except OSError as exc:
        raise OutputWriteError(f"cannot write {folder}: {exc.strerror or exc}") from None
    state_lock = folder / STATE_DIR / "lock"
    held = [fd]
    try:
        if state_lock.is_file():  # an align run's folder: its lock too, so neither clears the other's files
            with contextlib.suppress(OSError):
                held.append(os.open(state_lock, os.O_RDWR))
        try:
            import fcntl

            for handle in held:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - Windows: no lock
            pass
        except BlockingIOError:
            raise OutputExistsError(f"{folder} is being written by another aligner command: wait for it to finish, "
                                    f"or choose another output folder") from None
        except OSError:  # pragma: no cover - a file system without locks: go on unlocked
            pass
        finish_pending(folder)
        remove_temporaries(folder)
        yield folder
    finally:
        for handle in held:
            os.close(handle)  # closing releases the lock (so does dying)


@functools.cache
def new_file_mode() -> int:
    """The permissions a plain ``open()`` gives a new file (``mkstemp`` uses 0600).
    Read once: reading the umask means setting it for a moment."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


class StagedFiles:
    """Files written to temporary files beside their targets, moved into place together
    by :meth:`commit` (or removed by :meth:`discard`)."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, Path]] = []
        self.current: Path | None = None  # the file being written, for error messages

    @contextlib.contextmanager
    def open(self, path: Path, binary: bool = False) -> Iterator[IO]:
        self.current = path
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        self.pending.append((tmp, path))
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="\n")) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())

    def write_text(self, path: Path, text: str) -> None:
        with self.open(path) as handle:
            handle.write(text)

    def commit(self, journal: Path | None = None, remove: Iterable[str] = ()) -> None:
        """Move every file into place. ``journal``: first list the moves (and the files of
        that folder to ``remove``) there, so a kill between two moves is completed by
        :func:`finish_pending` instead of leaving files of two writes side by side."""
        mode = new_file_mode()
        for tmp, _ in self.pending:
            os.chmod(tmp, mode)
        pending = self.pending
        if journal is not None:
            atomic_write_text(journal, json.dumps(
                {"moves": [[Path(tmp).name, final.name] for tmp, final in pending], "remove": list(remove)},
                ensure_ascii=False) + "\n")
            self.pending = []  # committed: from now on a failure must not discard the temporaries
        try:
            for tmp, final in pending:
                self.current = final
                os.replace(tmp, final)
        except BaseException:
            if journal is not None:
                with contextlib.suppress(Exception):
                    finish_pending(journal.parent)  # roll forward now; else the next command will
            raise
        self.pending = []
        if journal is not None:
            finish_pending(journal.parent)  # the removals, then the journal itself

    def discard(self) -> None:
        for tmp, _ in self.pending:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.pending = []


# ----------------------------------------------------------------------------- settings of a run

_MISSING = object()


def restricted(recorded, known):
    """``recorded`` cut down to the keys of ``known``, at every level of dicts."""
    if isinstance(recorded, dict) and isinstance(known, dict):
        return {k: restricted(recorded.get(k, _MISSING), v) for k, v in known.items()}
    return recorded


def same_settings(recorded: dict, settings: dict, partial: bool) -> bool:
    """``recorded`` (from a folder) equals ``settings``; ``partial``: on ``settings``' keys only."""
    return (restricted(recorded, settings) if partial else recorded) == settings


def differences(old, new, prefix: str = "") -> list[tuple[str, object, object]]:
    """``(dotted key, old value, new value)`` for every leaf that differs."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            out += differences(old.get(key, _MISSING), new.get(key, _MISSING), f"{prefix}{key}.")
        return out
    return [] if old == new else [(prefix.rstrip("."), old, new)]


def describe_differences(old, new, limit: int) -> str:
    """``"key: old -> new; ..."`` for the first ``limit`` differences, then how many more."""
    diffs = differences(old, new)
    shown = "; ".join(f"{key}: {_short(a)} -> {_short(b)}" for key, a, b in diffs[:limit])
    if len(diffs) > limit:
        shown += f"; and {len(diffs) - limit} more"
    return shown


def _short(value) -> str:
    if value is _MISSING:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
