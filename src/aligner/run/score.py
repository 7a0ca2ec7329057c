"""Scoring a corpus on disk, filtering it, and the corpus report.

:func:`score_corpus` reads a corpus (a run folder, its ``corpus.jsonl``, a corpus TSV, or
a plain ``en<TAB>ar`` TSV made by another tool), computes every score of
:mod:`aligner.scoring` for every pair, and writes to an output folder:

``corpus.jsonl``   the kept pairs, each record with ``quality``, ``scores`` and ``flags``
                   after the usual keys (``doc_id, en_file, ar_file, en_idx, ar_idx, en,
                   ar, bead_type, score, moved, quality, scores, flags``, then any other keys);
``rejected.jsonl`` the pairs a filter rejected: the same record plus ``reasons`` (a list
                   such as ``["quality 0.31 < 0.5", "flag copy"]``) and ``position`` (its
                   0-based place among all the pairs), in corpus order. Scoring the
                   folder again puts them back first, so its scores do not change;
``report.md``      counts (documents, pairs, bead types, unaligned lines per side, kept and
                   rejected, reasons, flags) and score distributions, with
``report.png``     a histogram of every score, kept and rejected pairs stacked;
``run.json``       the run's record (when the corpus had one) with a ``scoring`` section:
                   aligner version, encoder, every score's signature, the filter, counts.

``aligner align`` scores its own output folder in place after aligning (so scores are the
same as ``aligner score`` gives for that folder). Without a filter nothing is rejected
and ``rejected.jsonl`` is empty. The files are written as a whole (temporaries, then a
journal, then the moves: see :func:`score_corpus`) and hold no time, so the same corpus
and settings give the same bytes (``report.png`` included). ``rejected.jsonl`` belongs to
the scoring ``run.json`` records: beside a ``run.json`` without a ``scoring`` section (a
corpus ``align`` wrote whole again) it is ignored.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from aligner.io.files import CORPUS_FILE, PENDING_FILE, RUN_FILE, UNALIGNED_FILE, OutputWriteError, atomic_open, finish_pending, output_lock, read_json_object
from aligner.io.files import StagedFiles
from aligner.io.progress import bar, quiet_unless_progress
from aligner.io.records import CorpusFormatError, CorpusRecord, json_line, read_corpus, tsv_unescape
from aligner.scoring import FLAGS_KEY, SCORES_KEY, PairFilter, Scorer, ScoredPairs, ScoringDocument

log = logging.getLogger(__name__)

REJECTED_FILE = "rejected.jsonl"
REPORT_MD = "report.md"
REPORT_PNG = "report.png"
BLOCK_LINES = 100
"""A plain TSV without documents is scored in blocks of this many consecutive lines."""


@dataclass
class ScoreResult:
    """What :func:`score_corpus` did."""

    out_dir: Path
    kept: list[CorpusRecord]
    rejected: list[tuple[CorpusRecord, list[str]]]
    scored: ScoredPairs
    settings: dict
    pair_filter: PairFilter
    counts: dict = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)
    table: str = ""
    positions: list[int] = field(default_factory=list)  # each rejected record's place among all the pairs
    kept_mask: list[bool] = field(default_factory=list)
    run: dict = field(default_factory=dict)  # the run's record with its ``scoring`` section


# ----------------------------------------------------------------------------- scoring as a stage of a run


@dataclass
class ScoreStage:
    """Scoring as a stage of an align run (:func:`aligner.run.folders.align_folders`
    with ``score=``): which pairs to keep (``pair_filter``), the second opinion (``e5``)
    and the report's plot (``plot``)."""

    pair_filter: PairFilter = field(default_factory=PairFilter)
    e5: bool = True
    plot: bool = True

    def build_scorer(self, aligner) -> "RunScorer":
        """A :class:`Scorer` on the run's own encoders: what the aligner encoded is taken
        from its cache (a sentence aligned one to one, a line left unaligned: the same
        bits as encoding it again), so scoring encodes only the joined text of
        many-sentence sides, and e5's texts once each. Raises ``ImportError`` when e5 is
        asked for and cannot be loaded."""
        return RunScorer(aligner, e5=self.e5)


class _Counted:
    """An encoder that counts the texts it is given to encode."""

    def __init__(self, encoder):
        self.encoder, self.texts_encoded = encoder, 0
        self.name = encoder.name
        self.engine = getattr(encoder, "engine", None)

    @property
    def settings(self) -> dict:
        return dict(getattr(self.encoder, "settings", {}) or {})

    def encode(self, texts, **kwargs):
        self.texts_encoded += len(texts)
        return self.encoder.encode(texts, **kwargs)


class RunScorer:
    """The :class:`Scorer` of a run and the texts it encoded (see :meth:`ScoreStage.build_scorer`)."""

    def __init__(self, aligner, *, e5: bool):
        encoder = aligner.encoder
        # Two encoders aligning together (use+e5): scoring's two are their parts, from the
        # aligner's cache too (a 1-1 pair's e5 embedding is the one the alignment made).
        combined = hasattr(encoder, "part_embeddings")
        first = aligner.shared_encoder(0 if combined else None)
        second = None
        if e5:
            if combined:
                second = aligner.shared_encoder(1)
            else:
                from aligner.encoders import DEFAULT_ENGINE, ENGINES, EncoderLoadError
                from aligner.encoders.e5 import E5Encoder

                engine = getattr(encoder, "engine", None)  # the main encoder's CPU engine for e5 too
                try:
                    second = _Counted(E5Encoder(engine=engine if engine in ENGINES else DEFAULT_ENGINE))
                except EncoderLoadError as exc:
                    raise ImportError(str(exc)) from exc
        self.second = second if isinstance(second, _Counted) else None
        self.aligner, self._before = aligner, aligner.encoded_by.copy()
        self.scorer = Scorer(_Pair(first, second), e5=e5)

    def start(self) -> None:
        """Count from now (the aligner's own count also holds what the alignment encoded)."""
        self._before = self.aligner.encoded_by.copy()

    def texts_encoded(self) -> dict[str, int]:
        """Texts encoded while scoring, per encoder name."""
        out = self.aligner.encoded_since(self._before)
        if self.second is not None:
            out[self.second.name] = out.get(self.second.name, 0) + self.second.texts_encoded
        return out


@dataclass
class _Pair:
    """The two encoders a :class:`Scorer` takes (as a combined encoder gives them)."""

    first: Any
    second: Any


# ----------------------------------------------------------------------------- reading


def load_records(path: str | Path) -> tuple[list[CorpusRecord], dict | None, dict[str, dict[str, list[str]]]]:
    """Records, ``run.json`` (or ``None``) and unaligned sentences by document and side.

    ``path``: a run folder, a ``corpus.jsonl``, a corpus TSV (:func:`read_corpus`), or a
    TSV of another tool: a header naming ``en`` and ``ar`` columns (``doc_id`` optional),
    or no header and the columns ``en<TAB>ar[<TAB>doc_id]``. Without ``doc_id``,
    consecutive blocks of :data:`BLOCK_LINES` lines are taken as documents."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    corpus_path = path / CORPUS_FILE if path.is_dir() else path
    if corpus_path.name == CORPUS_FILE:
        finish_pending(folder)  # a scoring of this folder killed half-way: complete it first
    try:
        records = read_corpus(corpus_path)
    except CorpusFormatError:
        if corpus_path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
            raise
        records = _read_plain_tsv(corpus_path)
    run = alone = None
    if corpus_path.name == CORPUS_FILE:
        run = read_json_object(folder / RUN_FILE, strict=True)
        alone = _read_unaligned(folder / UNALIGNED_FILE)
        records = _with_rejected(records, folder / REJECTED_FILE, run)
    return records, run, alone or {}


def _jsonl_lines(path: Path) -> list[str]:
    """The lines of a JSONL file: split on "\\n" only (str.splitlines would also split at
    U+2028, U+0085, ... inside a string), a "\\r" before it dropped."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusFormatError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    return [line.removesuffix("\r") for line in text.split("\n")]


def _with_rejected(kept: list[CorpusRecord], path: Path, run: dict | None = None) -> list[CorpusRecord]:
    """The pairs of a scored folder before filtering: ``rejected.jsonl``'s records back at
    their ``position``, the kept ones in the other places, in order.

    ``rejected.jsonl`` belongs to the scoring that ``run.json``'s ``scoring`` section
    records: with a ``run.json`` that has none (``align`` rewrote the corpus whole since)
    it is stale and ignored; counts that disagree with the section are an error."""
    if not path.is_file():
        return kept
    scoring = None if run is None else run.get("scoring")
    if run is not None and not isinstance(scoring, dict):
        return kept
    rejected: dict[int, CorpusRecord] = {}
    for number, line in enumerate(_jsonl_lines(path), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line, parse_constant=_no_constant)
            if not isinstance(data, dict):
                raise ValueError(f"expected a JSON object, got {type(data).__name__}")
            position = data.pop("position")
            data.pop("reasons", None)
            if isinstance(position, bool) or not isinstance(position, int):
                raise ValueError(f"'position' must be an integer, got {position!r}")
            if position in rejected:
                raise ValueError(f"position {position} is given twice")
            rejected[position] = CorpusRecord.from_dict(data)
        except json.JSONDecodeError as exc:
            raise CorpusFormatError(f"{path}:{number}: not valid JSON ({exc.msg}, column {exc.colno})") from None
        except KeyError as exc:
            raise CorpusFormatError(f"{path}:{number}: missing key {exc}") from None
        except (ValueError, TypeError) as exc:
            raise CorpusFormatError(f"{path}:{number}: {exc}") from None
    if scoring is not None and (scoring.get("kept"), scoring.get("rejected")) != (len(kept), len(rejected)):
        raise CorpusFormatError(
            f"{path}: {len(rejected)} rejected pair(s) beside {len(kept)} kept in {CORPUS_FILE}, but "
            f"{path.parent / RUN_FILE} records {scoring.get('kept')} kept and {scoring.get('rejected')} rejected: "
            f"the files are not of one scoring (one was replaced or edited since), so the corpus cannot be "
            f"put together again. Score the whole corpus (aligner align again writes it) instead")
    total = len(kept) + len(rejected)
    if any(not 0 <= k < total for k in rejected):
        raise CorpusFormatError(f"{path}: a position is outside the corpus ({total} pairs); "
                                f"it does not belong with this {CORPUS_FILE}")
    rest = iter(kept)
    return [rejected[k] if k in rejected else next(rest) for k in range(total)]


def _read_plain_tsv(path: Path) -> list[CorpusRecord]:
    lines = [line.rstrip("\r") for line in path.read_text(encoding="utf-8-sig").split("\n") if line.strip()]
    if not lines:
        return []
    header = lines[0].split("\t")
    if "en" in header and "ar" in header:
        cols, rows = header, lines[1:]
    else:
        cols, rows = ["en", "ar", "doc_id"][: max(2, min(3, len(header)))], lines
    out = []
    for number, line in enumerate(rows):
        fields = [tsv_unescape(f) for f in line.split("\t")]
        if len(fields) < 2:
            raise CorpusFormatError(f"{path}: line {number + 1 + (rows is not lines)}: expected en<TAB>ar")
        row = dict(zip(cols, fields))
        doc_id = row.get("doc_id") or f"block-{number // BLOCK_LINES + 1:05d}"
        out.append(CorpusRecord(doc_id=doc_id, en_file=row.get("en_file", ""), ar_file=row.get("ar_file", ""),
                                en_idx=(), ar_idx=(), en=row["en"], ar=row["ar"],
                                bead_type=row.get("bead_type", "1-1"), score=_float(row.get("score")),
                                moved=row.get("moved") == "true"))
    return out


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _float(value: str | None) -> float:
    try:
        number = float(value) if value not in (None, "") else 0.0
    except ValueError:
        return 0.0
    return number if math.isfinite(number) else 0.0


def _read_unaligned(path: Path) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    if not path.is_file():
        return out
    for line in _jsonl_lines(path):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("side") in ("en", "ar") and isinstance(item.get("text"), str):
            out.setdefault(str(item.get("doc_id")), {"en": [], "ar": []})[item["side"]].append(item["text"])
    return out


# ----------------------------------------------------------------------------- scoring


def scoring_documents(records: Sequence[CorpusRecord], alone: dict[str, dict[str, list[str]]]
                      ) -> tuple[list[ScoringDocument], list[int]]:
    """Records grouped by ``doc_id`` (first-seen order) as documents to score, and for
    each record its position in the documents' concatenated pairs."""
    by_doc: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        by_doc.setdefault(r.doc_id, []).append(i)
    docs, order = [], []
    for doc_id, idx in by_doc.items():
        side = alone.get(doc_id, {})
        docs.append(ScoringDocument(doc_id, [(records[i].en, records[i].ar) for i in idx],
                                    list(side.get("en", [])), list(side.get("ar", []))))
        order.extend(idx)
    position = [0] * len(records)
    for k, i in enumerate(order):
        position[i] = k
    return docs, position


def scored_record(record: CorpusRecord, scored: ScoredPairs, k: int) -> CorpusRecord:
    """``record`` with ``quality``, ``scores`` and ``flags`` set (other extra keys kept after them)."""
    extra = {SCORES_KEY: scored.record_scores(k), FLAGS_KEY: list(scored.flags[k])}
    extra.update({key: v for key, v in record.extra.items() if key not in (SCORES_KEY, FLAGS_KEY, "reasons")})
    return replace(record, quality=round(float(scored.quality[k]), 4), extra=extra)


def score_records(records: Sequence[CorpusRecord], run: dict | None, alone: dict[str, dict[str, list[str]]],
                  scorer: Scorer, pair_filter: PairFilter | None = None, *, progress: bool = False) -> ScoreResult:
    """Score ``records`` (with the run's record ``run`` and the unaligned lines ``alone``
    by document and side, as :func:`load_records` gives them) and apply ``pair_filter``:
    the kept and rejected records, the counts, the report table and ``run`` with its
    ``scoring`` section (``result.run``). Writes nothing."""
    pair_filter = pair_filter or PairFilter()
    docs, position = scoring_documents(records, alone)
    log.info("Scoring %d pair(s) of %d document(s)", len(records), len(docs))
    with bar(total=len(docs), desc="Scoring", unit="doc", enabled=progress) as shown:
        scored = scorer.score_documents(docs, progress=shown.update)
    # Back to record order.
    order = np.asarray(position, np.int64)
    scored = ScoredPairs({k: v[order] for k, v in scored.scores.items()}, [scored.flags[k] for k in position],
                         scored.quality[order], {k: v[order] for k, v in scored.doc_stats.items()})
    reasons = pair_filter.reasons(scored, scorer.metric_by_name)
    out = [scored_record(r, scored, i) for i, r in enumerate(records)]
    kept = [r for r, why in zip(out, reasons) if not why]
    rejected = [(r, why) for r, why in zip(out, reasons) if why]

    result = ScoreResult(Path(), kept, rejected, scored, scorer.settings(), pair_filter)
    result.positions = [k for k, why in enumerate(reasons) if why]
    result.kept_mask = [not why for why in reasons]
    result.counts = corpus_counts(out, run, _unaligned_counts(run, alone), kept=len(kept), rejected=rejected)
    result.run = {**(run or {}), "scoring": {**result.settings, "filter": pair_filter.describe(), "kept": len(kept),
                                             "rejected": len(rejected), "rejected_file": REJECTED_FILE}}
    result.table = summary_table(result.counts, scored, result.kept_mask)
    log.info("Scored %d pair(s): %d kept, %d rejected", len(out), len(kept), len(rejected))
    return result


def stage_scored(staged: StagedFiles, out_dir: Path, result: ScoreResult, *, plot: bool = True,
                 also: dict[Path, str] | None = None) -> list[str]:
    """Add the scored corpus's files to ``staged``: ``rejected.jsonl`` first (a reader
    without the journal then sees the old corpus whole), ``corpus.jsonl``, ``run.json``
    (``result.run``), the files of ``also`` (path: text), ``report.png`` unless ``plot``
    is off or there is no pair, ``report.md``. Returns the names to remove with the
    commit (an earlier plot)."""
    result.out_dir = out_dir
    with staged.open(out_dir / REJECTED_FILE) as handle:
        handle.writelines(json_line({**r.to_dict(), "reasons": why, "position": k})
                          for (r, why), k in zip(result.rejected, result.positions))
    with staged.open(out_dir / CORPUS_FILE) as handle:
        handle.writelines(r.to_json_line() for r in result.kept)
    staged.write_text(out_dir / RUN_FILE, json.dumps(result.run, ensure_ascii=False, indent=2) + "\n")
    for path, text in (also or {}).items():
        staged.write_text(path, text)
    png = out_dir / REPORT_PNG if plot and (result.kept or result.rejected) else None
    if png is not None:
        with staged.open(png, binary=True) as handle:
            _plot_png(handle, result.scored, result.kept_mask)
    staged.write_text(out_dir / REPORT_MD, report_markdown(result, png))
    return [REPORT_PNG] if png is None else []  # an earlier scoring's plot does not describe these scores


@quiet_unless_progress
def score_corpus(source: str | Path, out_dir: str | Path, scorer: Scorer, pair_filter: PairFilter | None = None,
                 *, plot: bool = True, progress: bool = False, loaded=None) -> ScoreResult:
    """Score the corpus at ``source`` and write the scored corpus, ``rejected.jsonl``, the
    report and ``run.json`` to ``out_dir`` (see the module docstring). ``source`` may be
    ``out_dir`` itself. ``progress``: show a progress bar over documents on a terminal
    (scoring with e5 can take minutes). ``loaded``: what :func:`load_records` gave for
    ``source``, when already read.

    The files are written as a whole: all to temporary files, then moved into place after
    a journal listing the moves (:data:`~aligner.io.files.PENDING_FILE`), so a kill at any
    moment leaves the old files or, completed by the next command that reads or writes the
    folder, the new ones, never some of each (no pair is lost scoring in place). Raises
    :class:`~aligner.io.files.OutputWriteError` when ``out_dir`` cannot be written (the
    files there are left as they were)."""
    records, run, alone = loaded if loaded is not None else load_records(source)
    result = score_records(records, run, alone, scorer, pair_filter, progress=progress)
    out_dir = Path(out_dir)
    src_folder = Path(source) if Path(source).is_dir() else Path(source).parent
    staged = StagedFiles()
    with output_lock(out_dir):
        try:
            also = {}
            if not _same_folder(src_folder, out_dir) and (src_folder / UNALIGNED_FILE).is_file() \
                    and not (out_dir / UNALIGNED_FILE).exists():
                also[out_dir / UNALIGNED_FILE] = (src_folder / UNALIGNED_FILE).read_text(encoding="utf-8")
            remove = stage_scored(staged, out_dir, result, plot=plot, also=also)
            result.written += [final for _, final in staged.pending]
            staged.commit(out_dir / PENDING_FILE, remove=remove)
        except OSError as exc:
            staged.discard()
            raise OutputWriteError(f"cannot write {staged.current or out_dir}: {exc.strerror or exc}. The files "
                                   f"already in {out_dir} were left as they were") from None
        except BaseException:
            staged.discard()
            raise
    return result


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and a.samefile(b))
    except OSError:
        return False


def _unaligned_counts(run: dict | None, alone: dict[str, dict[str, list[str]]]) -> dict[str, int] | None:
    summary = (run or {}).get("summary") or {}
    numbers = [summary.get(k) if isinstance(summary, dict) else None for k in ("unaligned_en", "unaligned_ar")]
    if all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):  # a damaged run.json: count instead
        return {"en": numbers[0], "ar": numbers[1]}
    if alone:
        return {s: sum(len(v.get(s, [])) for v in alone.values()) for s in ("en", "ar")}
    return None


# ----------------------------------------------------------------------------- the report


def corpus_counts(records: Sequence[CorpusRecord], run: dict | None, unaligned: dict[str, int] | None, *,
                  kept: int, rejected: Sequence[tuple[CorpusRecord, list[str]]]) -> dict[str, Any]:
    """Documents, pairs, bead types, unaligned lines, kept / rejected, reasons and flags."""
    reasons = Counter(why.split(" ")[0] if not why.startswith("flag ") else why for _, ws in rejected for why in ws)
    flags = Counter(f for r in records for f in r.extra.get(FLAGS_KEY, []))
    return {
        "documents": len(dict.fromkeys(r.doc_id for r in records)),
        "pairs": len(records),
        "bead_types": dict(sorted(Counter(r.bead_type for r in records).items())),
        "unaligned_en": None if unaligned is None else unaligned.get("en", 0),
        "unaligned_ar": None if unaligned is None else unaligned.get("ar", 0),
        "kept": kept,
        "rejected": len(rejected),
        "reasons": dict(sorted(reasons.items())),
        "flags": dict(sorted(flags.items())),
        "failed_documents": len((run or {}).get("failed") or []),
    }


def _distribution(values: np.ndarray) -> dict[str, float | int]:
    v = values[~np.isnan(values)]
    if not len(v):
        return {"n": 0}
    q = np.percentile(v, [0, 10, 50, 90, 100])
    return {"n": int(len(v)), "min": float(q[0]), "p10": float(q[1]), "median": float(q[2]),
            "p90": float(q[3]), "max": float(q[4]), "mean": float(v.mean())}


def _columns(scored: ScoredPairs) -> dict[str, np.ndarray]:
    return {"quality": scored.quality, **scored.scores}


def summary_table(counts: dict, scored: ScoredPairs, kept_mask: Sequence[bool]) -> str:
    """The table printed on the command line: counts, then one line per score."""
    un = "?" if counts["unaligned_en"] is None else f"{counts['unaligned_en']} en / {counts['unaligned_ar']} ar"
    lines = [f"documents {counts['documents']}  pairs {counts['pairs']}  kept {counts['kept']}  "
             f"rejected {counts['rejected']}  unaligned lines {un}",
             "bead types: " + (", ".join(f"{k} {v}" for k, v in counts["bead_types"].items()) or "none")]
    if counts["reasons"]:
        lines.append("rejected for: " + ", ".join(f"{k} {v}" for k, v in counts["reasons"].items()))
    if counts["flags"]:
        lines.append("flags: " + ", ".join(f"{k} {v}" for k, v in counts["flags"].items()))
    header = f"{'score':<14} {'n':>6} {'min':>8} {'p10':>8} {'median':>8} {'p90':>8} {'max':>8}"
    lines += ["", header, "-" * len(header)]
    for name, values in _columns(scored).items():
        d = _distribution(np.asarray(values, np.float64))
        if not d["n"]:
            lines.append(f"{name:<14} {0:>6} {'-':>8} {'-':>8} {'-':>8} {'-':>8} {'-':>8}")
            continue
        lines.append(f"{name:<14} {d['n']:>6} {d['min']:>8.3f} {d['p10']:>8.3f} {d['median']:>8.3f} "
                     f"{d['p90']:>8.3f} {d['max']:>8.3f}")
    return "\n".join(lines)


def report_markdown(result: ScoreResult, png: Path | None) -> str:
    c, s = result.counts, result.settings
    un = "not known" if c["unaligned_en"] is None else f"{c['unaligned_en']} English, {c['unaligned_ar']} Arabic"
    lines = ["# Corpus report", "",
             f"Scored with aligner {s['aligner_version']}, encoder `{s['encoder']}`. Filter: "
             + ("; ".join(f"`{d}`" for d in result.pair_filter.describe()) or "none (nothing rejected)") + ".", "",
             "| | count |", "|---|---|",
             f"| documents | {c['documents']} |", f"| sentence pairs | {c['pairs']} |",
             f"| kept (`corpus.jsonl`) | {c['kept']} |", f"| rejected (`{REJECTED_FILE}`) | {c['rejected']} |",
             f"| unaligned lines | {un} |"]
    lines += [f"| bead type {k} | {v} |" for k, v in c["bead_types"].items()]
    lines += [f"| rejected for {k} | {v} |" for k, v in c["reasons"].items()]
    lines += [f"| flag {k} | {v} |" for k, v in c["flags"].items()]
    lines += ["", "## Score distributions", "", "| score | n | min | p10 | median | p90 | max | mean |",
              "|---|---|---|---|---|---|---|---|"]
    for name, values in _columns(result.scored).items():
        d = _distribution(np.asarray(values, np.float64))
        if d["n"]:
            lines.append(f"| `{name}` | {d['n']} | {d['min']:.3f} | {d['p10']:.3f} | {d['median']:.3f} | "
                         f"{d['p90']:.3f} | {d['max']:.3f} | {d['mean']:.3f} |")
        else:
            lines.append(f"| `{name}` | 0 | | | | | | |")
    if png is not None:
        lines += ["", f"![Score histograms, kept and rejected pairs]({png.name})"]
    lines += ["", "## Signatures", ""] + [f"- `{sig}`" for sig in s["signatures"].values()]
    lines += ["", "What each score means: README, section *Quality scores*.", ""]
    return "\n".join(lines)


_UNIT_RANGE = ("quality", "numbers", "language")


def write_plot(path: Path, scored: ScoredPairs, kept_mask: Sequence[bool]) -> Path:
    """One histogram per score (kept and rejected pairs stacked), as a PNG.

    matplotlib (Agg backend, imported here only) with no time or version in the file's
    metadata, so the same scores give the same bytes."""
    with atomic_open(path, "wb") as handle:
        _plot_png(handle, scored, kept_mask)
    return path


def _plot_png(handle, scored: ScoredPairs, kept_mask: Sequence[bool]) -> None:
    """:func:`write_plot`'s PNG, written to the binary ``handle``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    columns = _columns(scored)
    kept = np.asarray(kept_mask, bool)
    n = len(columns)
    cols = 4
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(4 * cols, 2.8 * rows), dpi=80)
    for k, (name, values) in enumerate(columns.items()):
        ax = fig.add_subplot(rows, cols, k + 1)
        v = np.asarray(values, np.float64)
        ok = ~np.isnan(v)
        if ok.any():
            lo, hi = (0.0, 1.0) if name in _UNIT_RANGE else (float(np.min(v[ok])), float(np.max(v[ok])))
            bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 31)
            ax.hist([v[ok & kept], v[ok & ~kept]], bins=bins, stacked=True, color=["#3b7dd8", "#d8553b"],
                    label=["kept", "rejected"])
        ax.set_title(f"{name} (n={int(ok.sum())})", fontsize=10)
        ax.tick_params(labelsize=8)
        if k == 0:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(handle, format="png", metadata={"Software": None})
