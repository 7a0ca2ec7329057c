"""Alignment quality metrics: Vecalign strict/lax P/R/F1 and an unaligned-line score.

Beads are pairs ``(en_indices, ar_indices)`` of tuples of 0-based line indices, English
on the left, as in Vecalign's alignment files (``[0]:[0]``, ``[1, 2]:[3]``, ``[4]:[]``,
``[]:[5]``).

Strict / lax measures (the ARCADE / Véronis & Langlais scheme as implemented by
Vecalign's ``score.py``):

* beads empty on both sides are ignored, and duplicate beads count once;
* **precision** is over *all* distinct predicted beads, null beads included. A predicted
  bead is a strict hit when the gold holds it verbatim, a lax hit when some gold bead
  shares at least one English *and* at least one Arabic index with it (so a predicted
  null bead only scores by matching a gold null bead exactly);
* **recall** is over the distinct *non-null* gold beads, matched against the non-null
  predicted beads only (strict: predicted verbatim; lax: overlapped on both sides by
  some non-null predicted bead);
* counts are summed over documents (micro average); F1 = 2PR / (P + R), and every
  ratio with a zero denominator is 0.

Unaligned-line score (not part of Vecalign; it measures omission detection): the gold
set is the ``(side, index)`` lines of the gold null beads; the predicted set is the lines
of the predicted null beads plus every line that no predicted bead covers, where a
document's line counts are taken from the gold (largest index on each side + 1). P/R/F1
over those pairs, micro-averaged; when neither the gold nor the prediction has any
unaligned line the three figures are ``None`` (nothing to measure).

Usage, in the style of sacrebleu::

    metric = AlignmentMetric()
    counts = [metric.compute(gold, pred) for gold, pred in docs]
    score = metric.aggregate(counts)          # AlignmentScore
    print(score.strict_f1, metric.signature())
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterable, Sequence

__all__ = [
    "Bead",
    "AlignmentCounts",
    "AlignmentMetric",
    "AlignmentScore",
    "LinkCounts",
    "LinkMetric",
    "LinkScore",
    "format_bead",
    "format_beads",
    "paragraph_beads",
    "parse_beads",
    "read_beads",
    "unaligned_lines",
    "write_beads",
]

Bead = tuple[tuple[int, ...], tuple[int, ...]]

METRIC_VERSION = "v1"

# ---------------------------------------------------------------------------- I/O

_SIDE = re.compile(r"^\[\s*(?:(\d+(?:\s*,\s*\d+)*)\s*,?)?\s*\]$")


def _parse_side(text: str, source: str, lineno: int, line: str) -> tuple[int, ...]:
    m = _SIDE.match(text.strip())
    if m is None:
        raise ValueError(
            f"{source}:{lineno}: expected a bracketed list of line indices such as [1, 2], "
            f"got {text.strip()!r} in {line!r}"
        )
    body = m.group(1)
    if not body:
        return ()
    return tuple(int(x) for x in body.split(","))


def parse_beads(text: str, source: str = "<string>") -> list[Bead]:
    """Beads from alignment-file text, one ``[en, ...]:[ar, ...]`` per line.

    Blank lines are skipped. A third ``:``-separated field (Vecalign writes a bead
    score there) is accepted and ignored. A malformed line raises
    ``ValueError("<source>:<line number>: ...")``.
    """
    beads: list[Bead] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(":")
        if len(parts) < 2:
            raise ValueError(f"{source}:{lineno}: expected '[en indices]:[ar indices]', got {line!r}")
        if len(parts) > 3:
            raise ValueError(f"{source}:{lineno}: too many ':'-separated fields in {line!r}")
        if len(parts) == 3:
            try:
                float(parts[2])
            except ValueError:
                raise ValueError(
                    f"{source}:{lineno}: third field must be a bead score (a number), got {parts[2].strip()!r}"
                ) from None
        en = _parse_side(parts[0], source, lineno, line)
        ar = _parse_side(parts[1], source, lineno, line)
        beads.append((en, ar))
    return beads


def read_beads(path: str | Path) -> list[Bead]:
    """Beads from an alignment file (UTF-8); errors name the file and line."""
    path = Path(path)
    return parse_beads(path.read_text(encoding="utf-8"), str(path))


def format_bead(en: Iterable[int], ar: Iterable[int]) -> str:
    """One bead in Vecalign's format: ``[1, 2]:[3]``, ``[4]:[]``, ``[]:[5]``."""
    return "[" + ", ".join(str(int(i)) for i in en) + "]:[" + ", ".join(str(int(j)) for j in ar) + "]"


def format_beads(beads: Iterable[Sequence[Iterable[int]]]) -> str:
    """Beads one per line, with a trailing newline (empty string for no beads).

    Accepts ``(en, ar)`` pairs or objects with ``.en`` / ``.ar`` attributes.
    """
    lines = []
    for bead in beads:
        if hasattr(bead, "en") and hasattr(bead, "ar"):
            en, ar = bead.en, bead.ar  # type: ignore[union-attr]
        else:
            en, ar = bead[0], bead[1]
        lines.append(format_bead(en, ar) + "\n")
    return "".join(lines)


def write_beads(path: str | Path, beads: Iterable[Sequence[Iterable[int]]]) -> None:
    Path(path).write_text(format_beads(beads), encoding="utf-8")


# ---------------------------------------------------------------------------- counts


def _normalise(beads: Iterable[Sequence[Iterable[int]]]) -> set[Bead]:
    """Distinct beads as tuples, dropping beads empty on both sides."""
    out: set[Bead] = set()
    for bead in beads:
        if hasattr(bead, "en") and hasattr(bead, "ar"):
            en, ar = tuple(bead.en), tuple(bead.ar)  # type: ignore[union-attr]
        else:
            en, ar = tuple(bead[0]), tuple(bead[1])
        if en or ar:
            out.add((tuple(int(i) for i in en), tuple(int(j) for j in ar)))
    return out


def _hits(candidates: set[Bead], reference: set[Bead]) -> tuple[int, int]:
    """(strict, lax) number of ``candidates`` found in / overlapping ``reference``."""
    # For each English index, the Arabic indices it is linked to in some reference bead:
    # a candidate overlaps a reference bead on both sides iff one of its (en, ar) index
    # pairs is linked.
    linked: dict[int, set[int]] = {}
    for en, ar in reference:
        for i in en:
            linked.setdefault(i, set()).update(ar)
    strict = lax = 0
    for bead in candidates:
        if bead in reference:
            strict += 1
            lax += 1
            continue
        en, ar = bead
        ar_set = set(ar)
        if any(linked.get(i, set()) & ar_set for i in en):
            lax += 1
    return strict, lax


def unaligned_lines(
    beads: Iterable[Sequence[Iterable[int]]], n_en: int | None = None, n_ar: int | None = None
) -> set[tuple[str, int]]:
    """``("en", i)`` / ``("ar", j)`` lines left unaligned: lines in a null bead, and (when
    the side's line count is given) lines covered by no bead at all."""
    out: set[tuple[str, int]] = set()
    covered_en: set[int] = set()
    covered_ar: set[int] = set()
    for en, ar in _normalise(beads):
        covered_en.update(en)
        covered_ar.update(ar)
        if not ar:
            out.update(("en", i) for i in en)
        elif not en:
            out.update(("ar", j) for j in ar)
    if n_en is not None:
        out.update(("en", i) for i in range(n_en) if i not in covered_en)
    if n_ar is not None:
        out.update(("ar", j) for j in range(n_ar) if j not in covered_ar)
    return out


def _extent(beads: Iterable[Bead], side: int) -> int:
    return max((max(b[side]) + 1 for b in beads if b[side]), default=0)


@dataclass(frozen=True)
class AlignmentCounts:
    """Integer counts for one document (or a sum of documents; supports ``+``)."""

    n_pred: int = 0  # distinct predicted beads, null beads included
    pred_strict: int = 0  # of those, found verbatim in the gold
    pred_lax: int = 0  # of those, overlapping some gold bead on both sides (or verbatim)
    n_gold: int = 0  # distinct non-null gold beads
    gold_strict: int = 0  # of those, predicted verbatim
    gold_lax: int = 0  # of those, overlapped on both sides by a non-null predicted bead
    null_pred: int = 0  # (side, line) pairs the prediction leaves unaligned
    null_gold: int = 0  # (side, line) pairs unaligned in the gold
    null_hit: int = 0  # in both
    n_docs: int = 0

    def __add__(self, other: "AlignmentCounts") -> "AlignmentCounts":
        return _add_fields(self, other)

    def __radd__(self, other: object) -> "AlignmentCounts":
        if other == 0:  # lets the built-in sum() start from 0
            return self
        return NotImplemented  # type: ignore[return-value]


def _add_fields(a, b):
    """Field-wise sum of two count records of the same class."""
    if type(a) is not type(b):
        return NotImplemented
    return type(a)(**{f.name: getattr(a, f.name) + getattr(b, f.name) for f in fields(a)})


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def _optional_prf(hits: int, predicted: int, gold: int) -> tuple[float | None, float | None, float | None]:
    """P, R and F1 of a figure that may have nothing to score (no gold and no prediction:
    ``None`` each, not a perfect score)."""
    if not (predicted or gold):
        return None, None, None
    p, r = _ratio(hits, predicted), _ratio(hits, gold)
    return p, r, _f1(p, r)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


class _ScoreRecord:
    """A frozen record of figures; ``as_dict()`` for JSON."""

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)  # type: ignore[call-overload]  (subclasses are dataclasses)


@dataclass(frozen=True)
class AlignmentScore(_ScoreRecord):
    strict_p: float
    strict_r: float
    strict_f1: float
    lax_p: float
    lax_r: float
    lax_f1: float
    null_p: float | None
    null_r: float | None
    null_f1: float | None
    n_docs: int

    def __str__(self) -> str:
        def f(x: float | None) -> str:
            return "-" if x is None else f"{x:.3f}"

        return (
            f"strict P/R/F1 {f(self.strict_p)}/{f(self.strict_r)}/{f(self.strict_f1)}  "
            f"lax P/R/F1 {f(self.lax_p)}/{f(self.lax_r)}/{f(self.lax_f1)}  "
            f"unaligned P/R/F1 {f(self.null_p)}/{f(self.null_r)}/{f(self.null_f1)}  ({self.n_docs} docs)"
        )


class AlignmentMetric:
    """Vecalign strict/lax P/R/F1 plus the unaligned-line score, micro-averaged."""

    name = "vecalign-strict-lax"

    def compute(
        self, gold: Iterable[Sequence[Iterable[int]]], pred: Iterable[Sequence[Iterable[int]]]
    ) -> AlignmentCounts:
        """Counts for one document. ``gold`` / ``pred``: ``(en, ar)`` pairs or Bead objects."""
        gold_set = _normalise(gold)
        pred_set = _normalise(pred)
        pred_strict, pred_lax = _hits(pred_set, gold_set)
        gold_full = {b for b in gold_set if b[0] and b[1]}
        pred_full = {b for b in pred_set if b[0] and b[1]}
        gold_strict, gold_lax = _hits(gold_full, pred_full)
        gold_null = unaligned_lines(gold_set)
        pred_null = unaligned_lines(pred_set, n_en=_extent(gold_set, 0), n_ar=_extent(gold_set, 1))
        return AlignmentCounts(
            n_pred=len(pred_set),
            pred_strict=pred_strict,
            pred_lax=pred_lax,
            n_gold=len(gold_full),
            gold_strict=gold_strict,
            gold_lax=gold_lax,
            null_pred=len(pred_null),
            null_gold=len(gold_null),
            null_hit=len(gold_null & pred_null),
            n_docs=1,
        )

    def aggregate(self, counts: Iterable[AlignmentCounts]) -> AlignmentScore:
        """Micro-averaged scores over documents' counts (sums of counts are fine too)."""
        total = sum(counts, AlignmentCounts())
        sp, sr = _ratio(total.pred_strict, total.n_pred), _ratio(total.gold_strict, total.n_gold)
        lp, lr = _ratio(total.pred_lax, total.n_pred), _ratio(total.gold_lax, total.n_gold)
        np_, nr, nf = _optional_prf(total.null_hit, total.null_pred, total.null_gold)
        return AlignmentScore(
            strict_p=sp,
            strict_r=sr,
            strict_f1=_f1(sp, sr),
            lax_p=lp,
            lax_r=lr,
            lax_f1=_f1(lp, lr),
            null_p=np_,
            null_r=nr,
            null_f1=nf,
            n_docs=total.n_docs,
        )

    def corpus_score(
        self,
        golds: Iterable[Iterable[Sequence[Iterable[int]]]],
        preds: Iterable[Iterable[Sequence[Iterable[int]]]],
    ) -> AlignmentScore:
        """Score parallel lists of documents' gold and predicted beads."""
        golds, preds = list(golds), list(preds)
        if len(golds) != len(preds):
            raise ValueError(f"{len(golds)} gold documents but {len(preds)} predicted")
        return self.aggregate(self.compute(g, p) for g, p in zip(golds, preds))

    def signature(self) -> str:
        return f"{self.name}|null-lines:gold-extent|micro|{METRIC_VERSION}"


# ---------------------------------------------------------------------------- paragraphs


def paragraph_beads(
    beads: Iterable[Sequence[Iterable[int]]], en_par: Sequence[int], ar_par: Sequence[int],
    n_en_par: int | None = None, n_ar_par: int | None = None,
) -> list[Bead]:
    """Sentence beads mapped to paragraph beads (raw-text evaluation).

    Each non-null bead becomes (sorted English paragraphs it touches, sorted Arabic
    paragraphs it touches), duplicates dropped, first-seen order kept; then, when the
    paragraph counts are given, every paragraph no non-null bead touches is added as a
    null bead. ``en_par[i]`` / ``ar_par[j]``: the paragraph of sentence i / j."""
    out: list[Bead] = []
    seen: set[Bead] = set()
    cov_en: set[int] = set()
    cov_ar: set[int] = set()
    for bead in beads:
        en, ar = (bead.en, bead.ar) if hasattr(bead, "en") else (bead[0], bead[1])  # type: ignore[union-attr]
        if not en or not ar:
            continue
        b = (tuple(sorted({int(en_par[i]) for i in en})), tuple(sorted({int(ar_par[j]) for j in ar})))
        cov_en.update(b[0])
        cov_ar.update(b[1])
        if b not in seen:
            seen.add(b)
            out.append(b)
    if n_en_par is not None:
        out.extend(((p,), ()) for p in range(n_en_par) if p not in cov_en)
    if n_ar_par is not None:
        out.extend(((), (p,)) for p in range(n_ar_par) if p not in cov_ar)
    return out


@dataclass(frozen=True)
class LinkCounts:
    """Link and unaligned-paragraph counts for one document (or a sum; supports ``+``)."""

    link_tp: int = 0
    link_pred: int = 0
    link_gold: int = 0
    un_tp: int = 0
    un_pred: int = 0
    un_gold: int = 0
    n_docs: int = 0

    def __add__(self, other: "LinkCounts") -> "LinkCounts":
        return _add_fields(self, other)


@dataclass(frozen=True)
class LinkScore(_ScoreRecord):
    link_p: float
    link_r: float
    link_f1: float
    unaligned_p: float | None
    unaligned_r: float | None
    unaligned_f1: float | None
    n_docs: int


class LinkMetric:
    """Paragraph-level scores of raw-text alignment, as ``score_e2e.py`` defines them:
    links are all (en, ar) pairs inside non-null beads; a unit is unaligned when no
    non-null bead touches it (unit counts given per document). Micro-averaged."""

    name = "links-unaligned-units"

    @staticmethod
    def _links(beads: Iterable[Sequence[Iterable[int]]]) -> set[tuple[int, int]]:
        return {(i, j) for en, ar in _normalise(beads) if en and ar for i in en for j in ar}

    @staticmethod
    def _unaligned(beads: Iterable[Sequence[Iterable[int]]], n_en: int, n_ar: int) -> set[tuple[str, int]]:
        cov_en: set[int] = set()
        cov_ar: set[int] = set()
        for en, ar in _normalise(beads):
            if en and ar:
                cov_en.update(en)
                cov_ar.update(ar)
        return ({("en", i) for i in range(n_en) if i not in cov_en}
                | {("ar", j) for j in range(n_ar) if j not in cov_ar})

    def compute(self, gold, pred, n_en: int, n_ar: int) -> LinkCounts:
        gl, pl = self._links(gold), self._links(pred)
        gu, pu = self._unaligned(gold, n_en, n_ar), self._unaligned(pred, n_en, n_ar)
        return LinkCounts(len(gl & pl), len(pl), len(gl), len(gu & pu), len(pu), len(gu), 1)

    def aggregate(self, counts: Iterable[LinkCounts]) -> LinkScore:
        t = sum(counts, LinkCounts())
        lp, lr = _ratio(t.link_tp, t.link_pred), _ratio(t.link_tp, t.link_gold)
        up, ur, uf = _optional_prf(t.un_tp, t.un_pred, t.un_gold)
        return LinkScore(lp, lr, _f1(lp, lr), up, ur, uf, t.n_docs)

    def signature(self) -> str:
        return f"{self.name}|micro|{METRIC_VERSION}"
