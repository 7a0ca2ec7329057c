"""The input documents of a run, each read, decoded and segmented once.

Content pairing reads every document to find the pairs; aligning then needs the same
documents again. :class:`SourceReader` keeps what a read gave (the bytes' SHA-256 for
resuming, the decoded text and its warnings, the sentences) until the document is
aligned, so no file is read or segmented twice. What it holds is bounded
(``budget_bytes`` of text, least recently read out): on a collection larger than that,
the documents that fell out are read again when aligned, and ``run.json`` says how many
(``timings.files_read_again``).

Reading ahead (:meth:`SourceReader.read_ahead`): while the encoder loads (importing torch
and its weights takes seconds, on one core), a forked child reads, segments and measures
the languages of the run's first documents on another; the first read takes what it
finished. Only its results cross over (pickled): a document it could not read is read
here, so an error is the same as without it, and so is every output.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import select
import signal
import sys
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from aligner.io.inputs import (DocumentError, ScriptShares, decode_bytes, file_bytes, language_shares_many,
                               script_shares)
from aligner.io.processes import child_results, reap_child, stop_child
from aligner.pairing.names import FOLLOW_LINKS_HINT
from aligner.text.normalization import normalize_for_encoding
from aligner.text.segmentation import Sentence, segment, split_lines

BUDGET_BYTES = 256 << 20
"""Text held between pairing and aligning (about 1 GB of process memory with the
sentence objects): 50,000 documents of 5 KB."""


@dataclass
class SourceDocument:
    """One input file as read: the SHA-256 of its bytes, its text, the encoding it was
    decoded from, warnings (each starting with the path) and its sentences."""

    path: Path
    sha256: str
    text: str
    encoding: str
    sentences: list[Sentence]
    warnings: list[str] = field(default_factory=list)
    # The language check's measurements of ``text`` (:func:`aligner.io.inputs.script_shares`
    # and, for its side, ``language_shares``), when made ahead (:meth:`SourceReader.read_ahead`).
    scripts: ScriptShares | None = None
    languages: tuple[int, dict[str, float]] | None = None


class SourceReader:
    """Reads the documents of one run (see the module docstring). ``roots``: per language,
    the folder its files must stay inside (links out of it are refused unless
    ``follow_links``); ``max_bytes``: larger files are refused unread."""

    def __init__(self, roots: dict[str, Path], *, presplit: bool, max_bytes: int | None, follow_links: bool,
                 budget_bytes: int = BUDGET_BYTES):
        self.roots, self.presplit, self.max_bytes = roots, presplit, max_bytes
        self.follow_links, self.budget_bytes = follow_links, budget_bytes
        self._held: OrderedDict[tuple[str, Path], SourceDocument | DocumentError] = OrderedDict()
        self._held_bytes = 0
        self._seen: set[tuple[str, Path]] = set()
        self.files_read = 0
        self.read_again = 0
        self._ahead: tuple[int, int, int] | None = None  # the reading child: pid, results, stop

    def read(self, path: Path, lang: str) -> SourceDocument:
        """The document at ``path`` in language ``lang`` (read once; :class:`DocumentError`
        when it cannot be read, decoded or segmented)."""
        if self._ahead is not None:
            self._take_ahead()
        key = (lang, Path(path))
        held = self._held.get(key)
        if held is None:
            held = self._read(key[1], lang)
            self.files_read += 1
            self.read_again += key in self._seen
            self._seen.add(key)
            self._hold(key, held)
        else:
            self._held.move_to_end(key)
        if isinstance(held, DocumentError):
            raise held
        return held

    def pairing_sentences(self, path: Path, lang: str) -> list[str]:
        """The document's sentences as the encoder sees them (content pairing's reader)."""
        return [normalize_for_encoding(s.text, lang) for s in self.read(path, lang).sentences]

    def release(self, path: Path, lang: str) -> None:
        """Forget a document (aligned: not needed again)."""
        held = self._held.pop((lang, Path(path)), None)
        if held is not None:
            self._held_bytes -= _size(held)

    AHEAD_SECONDS = 10.0
    """The longest a child reads ahead: past that, the first read would wait for it."""
    AHEAD_WAIT = 300.0
    """The longest the first read waits for the reading child's results."""

    def read_ahead(self, files: list[tuple[Path, str]]) -> bool:
        """Start reading ``files`` (``(path, lang)``, in the order the run needs them) in a
        forked child, until the first :meth:`read` (or :meth:`close`) takes what it has
        done, at most half the reader's budget of text; whether a child started (not where
        ``fork`` is missing or unsafe: Windows, macOS). Only text work runs in the child:
        reading, decoding, segmenting, and measuring scripts and languages."""
        files = list(dict.fromkeys((Path(path), lang) for path, lang in files))  # a file in several pairs: once
        if self._ahead is not None or len(files) < 2 or not (hasattr(os, "fork") and sys.platform.startswith("linux")):
            return False
        # lingua runs on a Rust thread pool: one that this process started is not in a
        # forked child (only the forking thread is), and using it there would hang. The
        # child measures languages only where lingua was never loaded here.
        languages = "lingua" not in sys.modules
        results_r, results_w = os.pipe()
        stop_r, stop_w = os.pipe()
        with warnings.catch_warnings():  # Python 3.12+ warns about forking a process with threads
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child (its coverage is not collected)
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
                os.close(results_r)
                os.close(stop_w)
                done = self._read_ahead(files, stop_r, languages)
                with os.fdopen(results_w, "wb") as out:
                    pickle.dump(done, out, protocol=pickle.HIGHEST_PROTOCOL)
                code = 0
            finally:
                os._exit(code)  # no atexit handlers, no flushing of the parent's buffers
        os.close(results_w)
        os.close(stop_r)
        self._ahead = (pid, results_r, stop_w)
        return True

    AHEAD_BATCH = 32
    """Documents per side whose languages the child measures in one call (a call has a fixed
    cost): the work left when the parent asks for the results is at most one such call."""

    def _read_ahead(self, files: list[tuple[Path, str]], stop: int,
                    languages: bool) -> list[tuple[str, SourceDocument]]:
        """The child's work: ``(lang, document)`` of those it read (those that failed are
        left to the parent, and so are the languages of the last documents read when it
        was asked for the results)."""
        done: list[tuple[str, SourceDocument]] = []
        pending: dict[str, list[SourceDocument]] = {"en": [], "ar": []}

        def measure(lang: str) -> None:
            mine = pending[lang]
            for doc, shares in zip(mine, language_shares_many([d.text for d in mine], lang)):
                doc.languages = shares
            mine.clear()

        size, t0 = 0, time.monotonic()
        for path, lang in files:
            if size > self.budget_bytes // 2 or time.monotonic() - t0 > self.AHEAD_SECONDS \
                    or select.select([stop], [], [], 0)[0]:  # the parent wants the results (or is gone)
                return done
            try:
                doc = self._read(path, lang)
            except Exception:  # noqa: BLE001 - read again by the parent, which reports it
                continue
            if isinstance(doc, SourceDocument):
                doc.scripts = script_shares(doc.text)
                done.append((lang, doc))
                size += _size(doc)
                if languages:
                    pending[lang].append(doc)
                    if len(pending[lang]) >= self.AHEAD_BATCH:
                        measure(lang)
        for lang in pending:  # every file read: the last ones' languages too
            measure(lang)
        return done

    def _take_ahead(self) -> None:
        """Wait for the reading child and hold what it read (as if read here)."""
        assert self._ahead is not None
        pid, results, stop = self._ahead
        self._ahead = None
        os.close(stop)  # tells the child to finish the document it is reading and send
        # Whatever the child does, the run goes on: nothing from it within AHEAD_WAIT
        # seconds, it is stopped and every document is read here.
        done = child_results(pid, results, time.monotonic() + self.AHEAD_WAIT)
        for lang, doc in done:
            key = (lang, doc.path)
            self.files_read += 1
            self._seen.add(key)
            self._hold(key, doc)

    def close(self) -> None:
        """Stop a reading child that no read took from (nothing it read is kept)."""
        if self._ahead is not None:
            pid, results, stop = self._ahead
            self._ahead = None
            for fd in (stop, results):
                os.close(fd)
            stop_child(pid)
            reap_child(pid)

    def _read(self, path: Path, lang: str) -> SourceDocument | DocumentError:
        try:
            if not self.follow_links:  # checked as read: the file may have become a link since it was listed
                _refuse_outside(path, self.roots[lang], "English" if lang == "en" else "Arabic")
            data = file_bytes(path, self.max_bytes)
            decoded = decode_bytes(data, path)
            sentences = split_lines(decoded.text) if self.presplit else segment(decoded.text, lang)
            return SourceDocument(path, hashlib.sha256(data).hexdigest(), decoded.text, decoded.encoding,
                                  sentences, list(decoded.warnings))
        except DocumentError as exc:
            return exc

    def _hold(self, key: tuple[str, Path], doc: SourceDocument | DocumentError) -> None:
        self._held[key] = doc
        self._held_bytes += _size(doc)
        while self._held_bytes > self.budget_bytes and len(self._held) > 1:
            _, old = self._held.popitem(last=False)
            self._held_bytes -= _size(old)


def _size(doc: SourceDocument | DocumentError) -> int:
    return 2 * len(doc.text) if isinstance(doc, SourceDocument) else 0  # the text, and its sentences


def _refuse_outside(path: Path, folder: Path, side: str) -> None:
    """:class:`DocumentError` when the file that ``path`` leads to (links resolved) is
    outside ``folder``."""
    real = path.resolve()
    if not real.is_relative_to(folder.resolve()):
        raise DocumentError(f"{path}: leads to {real}, outside the {side} folder {folder}: not read "
                            f"({FOLLOW_LINKS_HINT})")
