"""A self-contained HTML page for reviewing an aligned corpus.

:func:`render_review` reads a run folder written by :func:`aligner.run.folders.align_folders`
(``corpus.jsonl``, and beside it ``unaligned.jsonl``, ``beads/<doc_id>.align`` and
``run.json`` when present) and writes one HTML file that needs no network: CSS and
JavaScript are inline, the data is embedded once as JSON in a
``<script type="application/json">`` element, and the rows of one document are rendered
by the page's script a page (:data:`ROWS_PER_PAGE` rows) at a time, so a corpus of
50,000 pairs never becomes a 50,000-row document.

Every document's beads are shown in document order, null beads included: the order comes
from the document's beads file when it agrees with ``corpus.jsonl`` and
``unaligned.jsonl``, and otherwise from merging the unaligned sentences into the aligned
beads by sentence index. Rows are coloured by ``quality`` when the records carry one,
else by ``score``.

Text is never interpreted as HTML: Jinja2 autoescapes the template, the JSON is escaped so
that ``</script>`` (and ``<``, ``>``, ``&``, U+2028, U+2029) inside a sentence cannot end
the data element, and the page's script writes sentences with ``textContent`` only.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from importlib import resources
from pathlib import Path

from aligner.encoders import COMBINED_ENCODER, E5_ENCODER
from aligner.io.files import (
    BEADS_DIR, CORPUS_FILE, RUN_FILE, UNALIGNED_FILE, OutputWriteError, atomic_write_text, beads_name, finish_pending,
    read_json_object,
)

REVIEW_FILE = "review.html"
"""Default file name of the review page, written beside ``corpus.jsonl``."""

ROWS_PER_PAGE = 200
"""Rows of one document the page shows at a time."""

SCORE_BANDS = (0.8, 0.7, 0.6, 0.5)
"""Lower bounds of the colour bands, best first: "very good", "good", "fair", "weak";
below the last, "poor": for ``quality`` (a probability), and for the cosine ``score`` of
USE alone (good 1-1 translations mostly 0.6-0.9)."""

ENCODER_SCORE_BANDS = {COMBINED_ENCODER: (0.9, 0.86, 0.83, 0.8), E5_ENCODER: (0.93, 0.9, 0.88, 0.86)}
"""The bands of an unscored corpus made with another embedded encoder, whose cosines sit
higher: each band keeps the share of pairs USE's band holds on the dev documents' run
(783 pairs; USE's 0.8 / 0.7 / 0.6 / 0.5 keep 0.5% / 6.5% / 31.5% / 65.6% of them)."""

TEMPLATE = "review.html.j2"
SCRIPT = "review.js"

_BEAD_LINE = re.compile(r"^\[([\d, ]*)\]:\[([\d, ]*)\]$")
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JSON_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


class ReviewError(ValueError):
    """The corpus cannot be read for a review page; the message names the file."""


# ----------------------------------------------------------------------------- public API


def render_review(corpus: str | Path, out_path: str | Path | None = None) -> Path:
    """Write the review page of ``corpus`` (a run folder, or its ``corpus.jsonl``) to
    ``out_path`` (default: ``review.html`` beside ``corpus.jsonl``) and return its path.

    The file is written to a temporary file beside it and moved into place
    (``os.replace``). Raises :class:`ReviewError` when ``corpus.jsonl`` is missing or a
    line of it is not a JSON object."""
    run_dir, corpus_path = resolve_corpus(corpus)
    data = load_review_data(corpus_path)
    out = Path(out_path) if out_path is not None else run_dir / REVIEW_FILE
    html = render_review_html(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, html)
    return out


def resolve_corpus(corpus: str | Path) -> tuple[Path, Path]:
    """``(run folder, corpus.jsonl path)`` for a run folder or a ``.jsonl`` file."""
    path = Path(corpus)
    if path.is_dir():
        path = path / CORPUS_FILE
    if not path.is_file():
        raise ReviewError(f"{path}: no such corpus file (give a run folder holding {CORPUS_FILE}, or the file)")
    return path.parent, path


def load_review_data(corpus: str | Path) -> dict:
    """Everything the page shows, as the JSON-ready dict embedded in it.

    ``{"title", "metric" ("quality"|"score"), "pageSize", "run" (version, encoder or
    None), "failed": [{doc_id, error}], "totals": {...}, "docs": [...]}``; each document
    ``{"id", "enFile", "arFile", "pairs", "unEn", "unAr", "merged", "mean", "rows",
    "moved"}`` with one row per bead in document order, ``[en_idx, ar_idx, en, ar, value]``
    (``value`` the quality or score, ``None`` for a null bead) plus the raw ``score`` as a
    sixth element when the metric is quality; ``moved``: ``[row, after]`` for each pair
    the report moved (``moved: true``), ``after`` the English sentence after which its
    Arabic stands in the source's order (-1: before the first)."""
    run_dir, corpus_path = resolve_corpus(corpus)
    if corpus_path.name == CORPUS_FILE:
        try:
            finish_pending(run_dir)  # a scoring of this folder killed half-way: complete it first
        except OutputWriteError as exc:
            raise ReviewError(str(exc)) from None
    records = _read_jsonl(corpus_path)
    unaligned = _read_jsonl(run_dir / UNALIGNED_FILE) if (run_dir / UNALIGNED_FILE).is_file() else []
    run = read_json_object(run_dir / RUN_FILE)  # optional decoration (None when unusable): the corpus is reviewed
    metric = "quality" if any("quality" in r for r in records) else "score"

    by_doc: dict[str, list[dict]] = {}
    files: dict[str, tuple[str, str]] = {}
    for r in records:
        doc_id = str(r.get("doc_id", ""))
        by_doc.setdefault(doc_id, []).append(r)
        files.setdefault(doc_id, (str(r.get("en_file", "")), str(r.get("ar_file", ""))))
    nulls: dict[str, list[dict]] = {}
    for u in unaligned:
        nulls.setdefault(str(u.get("doc_id", "")), []).append(u)
    for d in _list((run or {}).get("documents")):
        if isinstance(d, dict) and "doc_id" in d:
            files.setdefault(str(d["doc_id"]), (str(d.get("en_file", "")), str(d.get("ar_file", ""))))

    doc_ids = list(by_doc)  # corpus order first, then documents with no aligned bead
    doc_ids += sorted(set(nulls) - set(by_doc))

    docs = []
    for doc_id in doc_ids:
        doc_records = by_doc.get(doc_id, [])
        safe = doc_id not in ("", ".", "..") and "/" not in doc_id and "\\" not in doc_id
        beads = _read_beads(run_dir / BEADS_DIR / beads_name(doc_id)) if safe else None
        rows = _document_rows(doc_records, nulls.get(doc_id, []), beads, metric)
        moved = _moved_rows(rows, doc_records)
        values = [row[4] for row in rows if row[4] is not None]
        en_file, ar_file = files.get(doc_id, ("", ""))
        docs.append({
            "id": doc_id, "enFile": en_file, "arFile": ar_file,
            "pairs": sum(1 for row in rows if row[0] and row[1]),
            "unEn": sum(1 for row in rows if not row[1]),
            "unAr": sum(1 for row in rows if not row[0]),
            "merged": sum(1 for row in rows if len(row[0]) > 1 or len(row[1]) > 1),
            "mean": round(sum(values) / len(values), 4) if values else None,
            "rows": rows,
            "moved": moved,
        })

    all_values = [row[4] for d in docs for row in d["rows"] if row[4] is not None]
    return {
        "title": run_dir.resolve().name or str(run_dir),
        "source": corpus_path.name,
        "metric": metric,
        "pageSize": ROWS_PER_PAGE,
        "bands": list(_bands(metric, (run or {}).get("encoder"))),
        "run": None if run is None else {"version": _text(run.get("aligner_version")),
                                         "encoder": _text(run.get("encoder"))},
        "failed": [{"doc_id": str(f.get("doc_id", "")), "error": str(f.get("error", ""))}
                   for f in _list((run or {}).get("failed")) if isinstance(f, dict)],
        "totals": {"docs": len(docs), "pairs": sum(d["pairs"] for d in docs),
                   "unEn": sum(d["unEn"] for d in docs), "unAr": sum(d["unAr"] for d in docs),
                   "merged": sum(d["merged"] for d in docs), "moved": sum(len(d["moved"]) for d in docs),
                   "mean": round(sum(all_values) / len(all_values), 4) if all_values else None},
        "docs": docs,
    }


def _bands(metric: str, encoder: object) -> tuple[float, ...]:
    """The colour bands of the page (its "score under" filter starts at the third)."""
    if metric == "quality":
        return SCORE_BANDS
    return ENCODER_SCORE_BANDS.get(encoder, SCORE_BANDS) if isinstance(encoder, str) else SCORE_BANDS


def render_review_html(data: dict) -> str:
    """The page for :func:`load_review_data`'s ``data`` (Jinja2, autoescaped)."""
    from markupsafe import Markup

    from aligner.version import __version__

    script = _script()
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return _environment().get_template(TEMPLATE).render(
        title=data["title"], version=__version__, default_threshold=data.get("bands", SCORE_BANDS)[2],
        data_json=Markup(script_json(data)), script=Markup(script), script_hash=f"sha256-{digest}")


def script_json(data: object) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element: ``<``, ``>``, ``&``,
    U+2028 and U+2029 are written as ``\\uXXXX`` escapes (all of them can only occur
    inside JSON strings, where the escape means the same character)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _JSON_ESCAPE_RE.sub(lambda m: _JSON_ESCAPES[m.group()], text)


# ----------------------------------------------------------------------------- internals


@functools.cache
def _script() -> str:
    """The page's script, inlined (and allowed by the page's Content-Security-Policy by
    its SHA-256 hash, so no other script can run even if text escaping failed)."""
    script = (resources.files("aligner") / "templates" / SCRIPT).read_text(encoding="utf-8")
    if "</script" in script.lower() or "<!--" in script:
        raise RuntimeError(f"{SCRIPT} must not contain '</script' or '<!--'")
    return script


@functools.cache
def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(loader=PackageLoader("aligner", "templates"), autoescape=True,
                       undefined=StrictUndefined, keep_trailing_newline=True)


def _read_jsonl(path: Path) -> list[dict]:
    out = []
    try:
        # Lines end at "\n" only: str.splitlines would also split at a U+2028 inside a string.
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReviewError(f"{path}: cannot be read ({exc})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, parse_constant=_not_json)
        except json.JSONDecodeError as exc:
            raise ReviewError(f"{path}, line {number}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise ReviewError(f"{path}, line {number}: not a JSON object")
        out.append(record)
    return out


def _not_json(name: str):
    # NaN / Infinity: Python reads them, but they are not JSON and the page's data must be.
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


def _text(value) -> str | None:
    return None if value is None else str(value)


def _list(value) -> list:
    return value if isinstance(value, list) else []  # a damaged run.json shows less, never fails


def _read_beads(path: Path) -> list[tuple[tuple[int, ...], tuple[int, ...]]] | None:
    """The beads of a Vecalign file, or None when it is missing or malformed."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    beads = []
    for line in lines:
        if not line.strip():
            continue
        match = _BEAD_LINE.match(line.strip())
        if not match:
            return None
        try:
            en, ar = (tuple(int(x) for x in part.split(",") if x.strip()) for part in match.groups())
        except ValueError:
            return None
        beads.append((en, ar))
    return beads


def _indices(value) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,)
    try:
        return tuple(int(x) for x in value)
    except (TypeError, ValueError):
        return ()


def _moved_rows(rows: list[list], records: list[dict]) -> list[list[int]]:
    """``[row, after]`` for each row of a moved pair: ``after`` is the last English
    sentence of the in-order pair whose Arabic comes before the moved pair's in the
    source (-1: none), i.e. where the passage stood before the report moved it."""
    moved = {(_indices(r.get("en_idx")), _indices(r.get("ar_idx"))) for r in records if r.get("moved") is True}
    if not moved:
        return []
    keys = [(tuple(row[0]), tuple(row[1])) for row in rows]
    in_order = [(max(ar), max(en)) for en, ar in keys if en and ar and (en, ar) not in moved]
    out = []
    for k, (en, ar) in enumerate(keys):
        if (en, ar) in moved:
            before = [e for a, e in in_order if a < min(ar)]
            out.append([k, max(before) if before else -1])
    return out


def _row(record: dict, metric: str) -> list:
    score = record.get("score")
    value = record.get("quality", score) if metric == "quality" else score
    row = [list(_indices(record.get("en_idx"))), list(_indices(record.get("ar_idx"))),
           str(record.get("en", "")), str(record.get("ar", "")), _number(value)]
    if metric == "quality":
        row.append(_number(score))
    return row


def _null_row(side: str, idx: int, text: str, metric: str) -> list:
    row = [[idx], [], text, "", None] if side == "en" else [[], [idx], "", text, None]
    if metric == "quality":
        row.append(None)
    return row


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


def _document_rows(records: list[dict], unaligned: list[dict], beads, metric: str) -> list[list]:
    """One row per bead in document order: from the beads file when it accounts for
    exactly these records and unaligned sentences, else merged by sentence index."""
    null_text = {}
    for u in unaligned:
        side = u.get("side")
        if side in ("en", "ar") and isinstance(u.get("idx"), int):
            null_text[(side, u["idx"])] = str(u.get("text", ""))

    if beads is not None:
        by_key: dict[tuple, list[dict]] = {}
        for r in records:
            by_key.setdefault((_indices(r.get("en_idx")), _indices(r.get("ar_idx"))), []).append(r)
        rows, used_nulls, ok = [], 0, True
        for en, ar in beads:
            if en and ar:
                matches = by_key.get((en, ar))
                if not matches:
                    ok = False
                    break
                rows.append(_row(matches.pop(0), metric))
            elif len(en) + len(ar) == 1:
                side, idx = ("en", en[0]) if en else ("ar", ar[0])
                if (side, idx) not in null_text:
                    ok = False
                    break
                rows.append(_null_row(side, idx, null_text[(side, idx)], metric))
                used_nulls += 1
            else:  # an empty bead, or a null bead of several sentences: not ours
                ok = False
                break
        if ok and used_nulls == len(null_text) and not any(by_key.values()):
            return rows

    # Merge: the alignment is monotonic (but for moved pairs, which stand at their
    # English place), so an unaligned sentence goes before the first aligned bead that
    # starts after it on its side.
    null_en = sorted(i for side, i in null_text if side == "en")
    null_ar = sorted(i for side, i in null_text if side == "ar")
    rows, e, a = [], 0, 0
    for r in records:
        en, ar = _indices(r.get("en_idx")), _indices(r.get("ar_idx"))
        en_start = min(en) if en else None
        ar_start = min(ar) if ar and r.get("moved") is not True else None
        while e < len(null_en) and en_start is not None and null_en[e] < en_start:
            rows.append(_null_row("en", null_en[e], null_text[("en", null_en[e])], metric))
            e += 1
        while a < len(null_ar) and ar_start is not None and null_ar[a] < ar_start:
            rows.append(_null_row("ar", null_ar[a], null_text[("ar", null_ar[a])], metric))
            a += 1
        rows.append(_row(r, metric))
    rows += [_null_row("en", i, null_text[("en", i)], metric) for i in null_en[e:]]
    rows += [_null_row("ar", i, null_text[("ar", i)], metric) for i in null_ar[a:]]
    return rows
