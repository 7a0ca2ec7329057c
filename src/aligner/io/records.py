"""The one record type of an aligned corpus, and reading corpora back.

A :class:`CorpusRecord` is one aligned (non-null) bead: the English and Arabic texts, the
sentence indices they cover, the bead type, the similarity score, and where it came from.
``corpus.jsonl`` (written by :func:`aligner.run.folders.align_folders`) holds one record per
line; every other format (:mod:`aligner.outputs.formats`) is written from these records.

:func:`read_corpus` reads a corpus back from JSONL (``corpus.jsonl``) or from the TSV that
:func:`aligner.outputs.formats.write_tsv` writes.

TSV escaping: fields are separated by a tab, records by ``\\n``, and nothing is quoted. A
backslash, tab, line feed or carriage return inside a field is written as ``\\\\``,
``\\t``, ``\\n`` or ``\\r`` (:func:`tsv_escape`), so every record is exactly one line and
:func:`tsv_unescape` restores the text exactly.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

RECORD_KEYS = ("doc_id", "en_file", "ar_file", "en_idx", "ar_idx", "en", "ar", "bead_type", "score", "moved")
"""Keys of every ``corpus.jsonl`` record, in the order they are written (``moved`` may be
missing in a corpus written before it existed: read as false)."""
_OPTIONAL_KEYS = ("moved",)

TSV_COLUMNS = ("en_file", "ar_file", "en", "ar", "score", "doc_id", "en_idx", "ar_idx", "bead_type", "moved")
"""Columns of the TSV format, in order (bitextor/ParaCrawl order first: files, texts, score);
the :data:`SCORED_COLUMNS` follow when any record is scored (:meth:`CorpusRecord.is_scored`)."""

QUALITY_KEY = "quality"
SCORES_KEY = "scores"
"""Key of the per-pair scores object in a ``corpus.jsonl`` record (see :mod:`aligner.scoring`)."""
FLAGS_KEY = "flags"
"""Key of the list of flags in a ``corpus.jsonl`` record."""
SCORE_COLUMNS = ("similarity", "margin", "gap", "length_ratio", "numbers", "language", "e5_similarity", "e5_gap")
"""Every score of ``scores`` (:data:`aligner.scoring.SCORE_NAMES`, then the e5 scores), in the
order the flat formats write them: ``scores.margin`` is the ``margin`` column."""
SCORED_COLUMNS = (QUALITY_KEY,) + SCORE_COLUMNS + (FLAGS_KEY,)
"""The columns TSV and Parquet add after their usual ones when any record is scored, and the
``x-`` props a TMX unit carries (when set): ``quality``, the :data:`SCORE_COLUMNS`, ``flags``."""


class CorpusFormatError(ValueError):
    """A corpus file cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class CorpusRecord:
    """One aligned sentence pair (bead) of a corpus.

    ``en_idx`` / ``ar_idx``: 0-based sentence indices in the English / Arabic document;
    ``en`` / ``ar``: those sentences joined by a space; ``bead_type``: ``"1-1"``,
    ``"2-1"``, ...; ``score``: the cosine similarity of the two sides (rounded to 4
    decimals by the aligner); ``moved``: the bead crosses the main alignment path (a
    passage the report moved, see :func:`aligner.alignment.find_moved_blocks`). ``quality``: an optional quality estimate (written only
    when set). ``extra``: any other keys found in a JSONL record, kept in their order
    and written back after the others (only the JSONL format carries them)."""

    doc_id: str
    en_file: str
    ar_file: str
    en_idx: tuple[int, ...]
    ar_idx: tuple[int, ...]
    en: str
    ar: str
    bead_type: str
    score: float
    quality: float | None = None
    moved: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=True, hash=False)

    # ------------------------------------------------------------------ building

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CorpusRecord":
        """A record from a ``corpus.jsonl`` object. Raises ``ValueError`` naming a
        missing key or a value of the wrong type."""
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        missing = [k for k in RECORD_KEYS if k not in data and k not in _OPTIONAL_KEYS]
        if missing:
            raise ValueError(f"missing key(s): {', '.join(missing)}")
        for key in ("doc_id", "en_file", "ar_file", "en", "ar", "bead_type"):
            if not isinstance(data[key], str):
                raise ValueError(f"{key!r} must be a string, got {data[key]!r}")
        idx = {}
        for key in ("en_idx", "ar_idx"):
            value = data[key]
            if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
                raise ValueError(f"{key!r} must be a list of integers, got {value!r}")
            idx[key] = tuple(value)
        score = _number(data["score"], "score")
        quality = data.get(QUALITY_KEY)
        quality = None if quality is None else _number(quality, QUALITY_KEY)
        moved = data.get("moved", False)
        if not isinstance(moved, bool):
            raise ValueError(f"'moved' must be true or false, got {moved!r}")
        extra = {k: v for k, v in data.items() if k not in RECORD_KEYS and k != QUALITY_KEY}
        return cls(doc_id=data["doc_id"], en_file=data["en_file"], ar_file=data["ar_file"],
                   en_idx=idx["en_idx"], ar_idx=idx["ar_idx"], en=data["en"], ar=data["ar"],
                   bead_type=data["bead_type"], score=score, quality=quality, moved=moved, extra=extra)

    # ------------------------------------------------------------------ scores

    def is_scored(self) -> bool:
        """Whether the record has a ``quality``, ``scores`` or ``flags`` (it was scored)."""
        return self.quality is not None or SCORES_KEY in self.extra or FLAGS_KEY in self.extra

    def score_value(self, name: str) -> float | None:
        """The score ``name`` of :attr:`extra` ``["scores"]`` (``None`` when missing or not a number)."""
        scores = self.extra.get(SCORES_KEY)
        value = scores.get(name) if isinstance(scores, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        return float(value)

    def flag_list(self) -> list[str] | None:
        """The record's ``flags`` (``None`` when it has none recorded: not scored)."""
        flags = self.extra.get(FLAGS_KEY)
        if not isinstance(flags, list):
            return None
        return [str(f) for f in flags]

    def scored_fields(self) -> dict[str, Any]:
        """The :data:`SCORED_COLUMNS` of this record, flat: ``quality``, each score
        (``None`` when missing) and ``flags`` (a list, ``None`` when not recorded)."""
        out: dict[str, Any] = {QUALITY_KEY: self.quality}
        out.update((name, self.score_value(name)) for name in SCORE_COLUMNS)
        out[FLAGS_KEY] = self.flag_list()
        return out

    # ------------------------------------------------------------------ writing

    def to_dict(self) -> dict[str, Any]:
        """The ``corpus.jsonl`` object: :data:`RECORD_KEYS` in order, then ``quality``
        (when set), then :attr:`extra`."""
        out: dict[str, Any] = {"doc_id": self.doc_id, "en_file": self.en_file, "ar_file": self.ar_file,
                               "en_idx": list(self.en_idx), "ar_idx": list(self.ar_idx),
                               "en": self.en, "ar": self.ar, "bead_type": self.bead_type, "score": self.score,
                               "moved": self.moved}
        if self.quality is not None:
            out[QUALITY_KEY] = self.quality
        out.update(self.extra)
        return out

    def to_json_line(self) -> str:
        """One ``corpus.jsonl`` line (UTF-8 text, not ASCII-escaped, ending in ``\\n``;
        see :func:`json_line`)."""
        return json_line(self.to_dict())

    def to_tsv_fields(self, with_scores: bool = False) -> list[str]:
        """The TSV fields in :data:`TSV_COLUMNS` order (plus the :data:`SCORED_COLUMNS`:
        a missing value empty, flags joined by commas), escaped."""
        fields = [self.en_file, self.ar_file, self.en, self.ar, format_number(self.score), self.doc_id,
                  format_indices(self.en_idx), format_indices(self.ar_idx), self.bead_type,
                  "true" if self.moved else "false"]
        if with_scores:
            for name, value in self.scored_fields().items():
                if name == FLAGS_KEY:
                    fields.append(",".join(value or ()))
                else:
                    fields.append("" if value is None else format_number(value))
        return [tsv_escape(f) for f in fields]


_LINE_SEPARATORS = re.compile("[\x85\u2028\u2029]")


def json_line(data: Any) -> str:
    """``data`` as one JSONL line: UTF-8 text, not ASCII-escaped, except U+0085, U+2028
    and U+2029, written ``\\u0085``, ``\\u2028``, ``\\u2029`` (the same strings to a JSON
    reader) so that every line reader, ``str.splitlines`` too, sees one line per record."""
    text = json.dumps(data, ensure_ascii=False)
    return _LINE_SEPARATORS.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{key!r} must be a finite number, got {value!r}")
    return float(value)


def format_number(value: float) -> str:
    """A score as text: the shortest repr that reads back to the same float (as JSON)."""
    return json.dumps(float(value))


def format_indices(indices: Iterable[int]) -> str:
    """Sentence indices as text: ``"1,2"`` (comma-separated, no spaces)."""
    return ",".join(str(i) for i in indices)


def parse_indices(text: str) -> tuple[int, ...]:
    """The inverse of :func:`format_indices` (``""`` is no index)."""
    text = text.strip()
    return tuple(int(part) for part in text.split(",")) if text else ()


# ----------------------------------------------------------------------------- TSV escaping

_TSV_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_TSV_ESCAPE_RE = re.compile(r"[\\\t\n\r]")
_TSV_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
_TSV_UNESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)


def tsv_escape(text: str) -> str:
    """Backslash, tab, line feed and carriage return as ``\\\\``, ``\\t``, ``\\n``, ``\\r``."""
    return _TSV_ESCAPE_RE.sub(lambda m: _TSV_ESCAPES[m.group()], text)


def tsv_unescape(text: str) -> str:
    """The inverse of :func:`tsv_escape`; an unknown escape (``\\x``) is kept as it is."""
    return _TSV_UNESCAPE_RE.sub(lambda m: _TSV_UNESCAPES.get(m.group(1), m.group()), text)


# ----------------------------------------------------------------------------- reading


def read_corpus(path: str | Path) -> list[CorpusRecord]:
    """Read a corpus: a ``corpus.jsonl`` (one JSON record per line), a TSV written by
    :func:`aligner.outputs.formats.write_tsv` (header line first), or a folder holding a
    ``corpus.jsonl``. The format is chosen by the extension (``.jsonl``/``.json``,
    ``.tsv``) or else by the first line. Blank lines are skipped.

    Raises :class:`CorpusFormatError` ``"<path>:<line>: <problem>"`` for a malformed
    line, ``FileNotFoundError`` for a missing file."""
    path = Path(path)
    if path.is_dir():
        path = path / "corpus.jsonl"
    return list(iter_corpus(path))


def iter_corpus(path: str | Path) -> Iterator[CorpusRecord]:
    """The records of a corpus file one by one (see :func:`read_corpus`)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            suffix = path.suffix.lower()
            if suffix in (".jsonl", ".json", ".ndjson"):
                kind = "jsonl"
            elif suffix in (".tsv", ".tab"):
                kind = "tsv"
            else:
                first = handle.read(1)
                handle.seek(0)
                kind = "jsonl" if first in ("{", "") else "tsv"
            yield from (_iter_jsonl(handle, path) if kind == "jsonl" else _iter_tsv(handle, path))
    except UnicodeDecodeError:
        raise CorpusFormatError(_utf8_problem(path)) from None


def _utf8_problem(path: Path) -> str:
    """Where a file stops being UTF-8 (the text reader decodes in blocks: find the line)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return f"{path}:{line}: not valid UTF-8 (byte {exc.start})"
    return f"{path}: not valid UTF-8"


def _iter_jsonl(handle, path: Path) -> Iterator[CorpusRecord]:
    for number, line in enumerate(_lines(handle), start=1):
        if not line.strip():
            continue
        try:
            yield CorpusRecord.from_dict(json.loads(line))
        except json.JSONDecodeError as exc:
            raise CorpusFormatError(f"{path}:{number}: not valid JSON ({exc.msg}, column {exc.colno})") from None
        except ValueError as exc:
            raise CorpusFormatError(f"{path}:{number}: {exc}") from None


def _iter_tsv(handle, path: Path) -> Iterator[CorpusRecord]:
    lines = enumerate(_lines(handle), start=1)
    header: list[str] | None = None
    for number, line in lines:
        if line.strip():
            header = line.split("\t")
            break
    if header is None:
        return
    missing = [c for c in TSV_COLUMNS if c not in header and c not in _OPTIONAL_KEYS]
    if missing:
        raise CorpusFormatError(f"{path}:{number}: TSV header lacks column(s) {', '.join(missing)} "
                                f"(expected {' '.join(TSV_COLUMNS)})")
    for number, line in lines:
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise CorpusFormatError(f"{path}:{number}: {len(fields)} field(s), the header has {len(header)}")
        row = dict(zip(header, (tsv_unescape(f) for f in fields)))
        try:
            quality = row.get(QUALITY_KEY) or None
            moved = row.get("moved", "false")
            if moved not in ("true", "false"):
                raise ValueError(f"'moved' must be true or false, got {moved!r}")
            yield CorpusRecord(
                doc_id=row["doc_id"], en_file=row["en_file"], ar_file=row["ar_file"],
                en_idx=parse_indices(row["en_idx"]), ar_idx=parse_indices(row["ar_idx"]),
                en=row["en"], ar=row["ar"], bead_type=row["bead_type"],
                score=_number(float(row["score"]), "score"),
                quality=None if quality is None else _number(float(quality), QUALITY_KEY),
                moved=moved == "true", extra=_tsv_scores(row))
        except ValueError as exc:
            raise CorpusFormatError(f"{path}:{number}: {exc}") from None


def _tsv_scores(row: dict[str, str]) -> dict[str, Any]:
    """``scores`` and ``flags`` of a TSV row, as the scorer writes them in ``corpus.jsonl``:
    for a row with a ``similarity`` (a scored pair), every score of
    :data:`~aligner.scoring.SCORE_NAMES` (``None`` where empty), the e5 scores where set, and
    the flags; nothing for a row without one."""
    if not row.get("similarity"):
        return {}
    always = SCORE_COLUMNS[:6]
    scores = {name: (_number(float(row[name]), name) if row.get(name) else None)
              for name in SCORE_COLUMNS if name in always or row.get(name)}
    flags = row.get(FLAGS_KEY, "")
    return {SCORES_KEY: scores, FLAGS_KEY: [f for f in flags.split(",") if f]}


def _lines(handle) -> Iterator[str]:
    """Lines without their ``\\n`` / ``\\r\\n`` end. Only ``\\n`` ends a line: the file
    is opened with ``newline=""``, and a lone ``\\r`` can only be inside a JSON string,
    where it is escaped, or a TSV field, where it is escaped too."""
    buffer = ""
    for chunk in handle:
        buffer += chunk
        if not buffer.endswith("\n"):
            continue  # a lone "\r" split the line: keep reading
        yield buffer[:-2] if buffer.endswith("\r\n") else buffer[:-1]
        buffer = ""
    if buffer:
        yield buffer
