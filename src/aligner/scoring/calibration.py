"""True pairs and hard negatives built from gold alignments, for fitting and measuring
the quality scores (:mod:`aligner.scoring`).

From a document's gold beads, :func:`build_candidates` makes:

``true``       every non-null gold bead (a many-sentence side joined by a space);
``neighbour``  a bead's English side with the Arabic side of the previous / next bead;
``partial``    part of a bead paired with the whole other side: one sentence of a merged
               side, or the first or last half (by words) of a one-sentence side;
``random``     a bead's English side with the Arabic side of a bead at least 2 away;
``copy``       one side's text on both sides (English or Arabic);
``numbers``    (only when asked) a true pair whose digits on one side were changed.

The context each candidate is scored against is the document as a corpus would hold it:
the gold pairs, plus the sentences the gold leaves unaligned. Everything is drawn with a
seeded ``random.Random``, so the same gold gives the same candidates.

:func:`parse_examples_gold` reads the gold beads of the project's own example texts from
the tables in ``examples/README.md``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from aligner.scoring.batch import ScoringDocument
from aligner.scoring.checks import normalize_digits
from aligner.scoring.numbers import extract_numbers

EVAL_KINDS = ("neighbour", "partial", "random", "copy")
FIT_KINDS = EVAL_KINDS + ("numbers",)

Bead = tuple[tuple[int, ...], tuple[int, ...]]


@dataclass
class LabelledDocument:
    """A :class:`ScoringDocument` whose candidates carry a kind (``"true"`` or a negative kind)."""

    document: ScoringDocument
    kinds: list[str]


def build_candidates(doc_id: str, en: Sequence[str], ar: Sequence[str], beads: Sequence[Bead],
                     rng: random.Random, kinds: Sequence[str] = EVAL_KINDS) -> LabelledDocument:
    """The true pairs of ``beads`` and the negatives of ``kinds`` (see the module doc)."""
    true = [(tuple(e), tuple(a)) for e, a in beads if e and a]
    text_en = lambda idx: " ".join(en[i] for i in idx)  # noqa: E731
    text_ar = lambda idx: " ".join(ar[j] for j in idx)  # noqa: E731
    pairs = [(text_en(e), text_ar(a)) for e, a in true]
    en_alone = [en[e[0]] for e, a in beads if e and not a]
    ar_alone = [ar[a[0]] for e, a in beads if a and not e]
    cands: list[tuple[str, str]] = []
    labels: list[str] = []

    def add(kind: str, pair: tuple[str, str]) -> None:
        cands.append(pair)
        labels.append(kind)

    for k, (e, a) in enumerate(true):
        add("true", pairs[k])
        if "neighbour" in kinds:
            for d in (-1, 1):
                if 0 <= k + d < len(true):
                    add("neighbour", (pairs[k][0], pairs[k + d][1]))
        if "partial" in kinds:
            partial = _partial(en, ar, e, a, pairs[k], rng)
            if partial:
                add("partial", partial)
        if "random" in kinds:
            far = [m for m in range(len(true)) if abs(m - k) >= 2]
            if far:
                add("random", (pairs[k][0], pairs[rng.choice(far)][1]))
        if "copy" in kinds:
            add("copy", (pairs[k][0], pairs[k][0]) if rng.random() < 0.5 else (pairs[k][1], pairs[k][1]))
        if "numbers" in kinds:
            changed = _change_numbers(pairs[k], rng)
            if changed:
                add("numbers", changed)
    return LabelledDocument(ScoringDocument(doc_id, pairs, en_alone, ar_alone, candidates=cands), labels)


def _partial(en, ar, e, a, pair, rng: random.Random) -> tuple[str, str] | None:
    if len(a) > 1:
        return pair[0], ar[a[rng.randrange(len(a))]]
    if len(e) > 1:
        return en[e[rng.randrange(len(e))]], pair[1]
    side = rng.randrange(2)
    words = pair[side].split()
    if len(words) < 4:
        return None
    half = words[: len(words) // 2] if rng.randrange(2) else words[len(words) // 2:]
    return (" ".join(half), pair[1]) if side == 0 else (pair[0], " ".join(half))


_DIGIT_RUN = re.compile(r"\d+")


def _change_numbers(pair: tuple[str, str], rng: random.Random) -> tuple[str, str] | None:
    """The pair with every digit run of one side (one that has digits) replaced by a
    different number of the same length."""
    sides = [s for s in (0, 1) if extract_numbers(pair[s])]
    if not sides:
        return None
    side = rng.choice(sides)

    def other(m: re.Match) -> str:
        old = m.group()
        for _ in range(20):
            new = str(rng.randrange(10 ** (len(old) - 1) if len(old) > 1 else 0, 10 ** len(old)))
            if new != old:
                return new
        return old + "1"

    changed = _DIGIT_RUN.sub(other, normalize_digits(pair[side]))
    return (changed, pair[1]) if side == 0 else (pair[0], changed)


# ----------------------------------------------------------------------------- example gold

_DOC_RE = re.compile(r"^## (\S+) \(A: (\d+) sentences, E: (\d+)\)")
_ROW_RE = re.compile(r"^\| (\d+) \|.*\| ([^|]+) \|$")


def parse_examples_gold(readme: str | Path) -> dict[str, tuple[int, int, list[Bead]]]:
    """Gold beads of the example texts from the tables of ``examples/README.md``:
    ``{doc_id: (n_en, n_ar, beads)}``, 0-based, in document order. A row's last cell is
    an Arabic sentence number, ``a + b (merge)``, ``a (first/second half of a split)``
    (the two English rows form one 2-1 bead) or ``own line`` (an English line alone);
    Arabic sentences no row names are alone."""
    out: dict[str, tuple[int, int, list[Bead]]] = {}
    doc = None
    rows: list[tuple[int, list[int]]] = []
    n_en = n_ar = 0

    def finish() -> None:
        if doc is None:
            return
        links: dict[tuple[int, ...], list[int]] = {}
        for e, a in rows:
            key = tuple(a)
            links.setdefault(key, []).append(e) if a else None
        beads: list[Bead] = []
        used_ar = {j for _, a in rows for j in a}
        seen: set[tuple[int, ...]] = set()
        for e, a in rows:
            if not a:
                beads.append(((e,), ()))
                continue
            key = tuple(a)
            if key in seen:
                continue
            seen.add(key)
            beads.append((tuple(links[key]), key))
        # Insert the Arabic lines no row names, before the first bead that comes after them.
        for j in sorted(set(range(n_ar)) - used_ar):
            pos = next((p for p, b in enumerate(beads) if b[1] and b[1][0] > j), len(beads))
            beads.insert(pos, ((), (j,)))
        out[doc] = (n_en, n_ar, beads)

    for line in Path(readme).read_text(encoding="utf-8").splitlines():
        if m := _DOC_RE.match(line):
            finish()
            doc, n_ar, n_en, rows = m.group(1), int(m.group(2)), int(m.group(3)), []
        elif doc and (m := _ROW_RE.match(line)):
            cell = m.group(2)
            rows.append((int(m.group(1)) - 1, [int(x) - 1 for x in re.findall(r"\d+", cell.split("(")[0])]))
        elif line.startswith("## ") and doc:
            finish()
            doc = None
    finish()
    return out
