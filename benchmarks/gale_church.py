"""Gale & Church (1993) length-based sentence aligner: the floor for benchmarks.

Benchmark-only code (not shipped in the package). Each bead's cost is

    -log P(bead type) - log P(|delta| >= |z|),   z = (l_ar / c - l_en) / sqrt(s2 * mean)

with ``mean = (l_en + l_ar / c) / 2``, the paper's variance ``s2 = 6.8`` per character
(mean ratio 1 once the Arabic lengths are rescaled by ``c``), and the two-tailed normal
tail probability. ``c`` is not tuned: it is the document's own ratio of total Arabic to
total English characters. A plain O(n * m) dynamic programme finds the cheapest path
through the bead types 1-1, 1-0, 0-1, 2-1, 1-2, 2-2.

Lengths count characters that are neither whitespace nor combining marks (Arabic
diacritics, Qur'anic marks) nor format characters (U+200F and friends), so the Arabic
side's vocalisation does not swamp the length signal.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Sequence

Bead = tuple[tuple[int, ...], tuple[int, ...]]

# (English lines, Arabic lines) -> prior probability (Gale & Church 1993, table 5)
BEAD_PRIORS: dict[tuple[int, int], float] = {
    (1, 1): 0.89,
    (1, 0): 0.0099,
    (0, 1): 0.0099,
    (2, 1): 0.089,
    (1, 2): 0.089,
    (2, 2): 0.011,
}
VARIANCE = 6.8

_SKIPPED_CATEGORIES = frozenset({"Mn", "Me", "Cf"})


def char_length(text: str) -> int:
    """Characters that carry length: no whitespace, combining marks or format marks."""
    return sum(1 for ch in text if not ch.isspace() and unicodedata.category(ch) not in _SKIPPED_CATEGORIES)


def _log_tail(z: float) -> float:
    """log P(|Z| >= |z|) for a standard normal Z, accurate far into the tail."""
    x = abs(z) / math.sqrt(2.0)
    tail = math.erfc(x)
    if tail > 1e-250:
        return math.log(tail)
    # erfc(x) ~ exp(-x^2) / (x sqrt(pi)) * (1 - 1/(2x^2) + 3/(4x^4))
    return -x * x - math.log(x * math.sqrt(math.pi)) + math.log1p(-1.0 / (2 * x * x) + 3.0 / (4 * x**4))


def bead_cost(len_en: int, len_ar: int, ratio: float, prior: float) -> float:
    """Negative log probability of a bead with these character lengths."""
    ar_in_en_units = len_ar / ratio
    mean = (len_en + ar_in_en_units) / 2.0
    if mean <= 0:
        return -math.log(prior)
    z = (ar_in_en_units - len_en) / math.sqrt(VARIANCE * mean)
    return -math.log(prior) - _log_tail(z)


def gale_church_align(en_lines: Sequence[str], ar_lines: Sequence[str]) -> list[Bead]:
    """Align two lists of units; returns beads ``((en indices), (ar indices))`` in order,
    covering every line once (null beads for lines left out)."""
    en_len = [char_length(s) for s in en_lines]
    ar_len = [char_length(s) for s in ar_lines]
    n, m = len(en_len), len(ar_len)
    total_en, total_ar = sum(en_len), sum(ar_len)
    ratio = total_ar / total_en if total_en and total_ar else 1.0

    en_prefix = [0]
    for x in en_len:
        en_prefix.append(en_prefix[-1] + x)
    ar_prefix = [0]
    for x in ar_len:
        ar_prefix.append(ar_prefix[-1] + x)

    moves = [(de, da, prior) for (de, da), prior in BEAD_PRIORS.items()]
    inf = math.inf
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int] | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        row = cost[i]
        for j in range(m + 1):
            if i == 0 and j == 0:
                continue
            best, best_move = inf, None
            for de, da, prior in moves:
                pi, pj = i - de, j - da
                if pi < 0 or pj < 0:
                    continue
                prev = cost[pi][pj]
                if prev == inf:
                    continue
                c = prev + bead_cost(
                    en_prefix[i] - en_prefix[pi], ar_prefix[j] - ar_prefix[pj], ratio, prior
                )
                if c < best:
                    best, best_move = c, (de, da)
            row[j] = best
            back[i][j] = best_move

    beads: list[Bead] = []
    i, j = n, m
    while i > 0 or j > 0:
        move = back[i][j]
        assert move is not None
        de, da = move
        beads.append((tuple(range(i - de, i)), tuple(range(j - da, j))))
        i, j = i - de, j - da
    beads.reverse()
    return beads


if __name__ == "__main__":  # pragma: no cover - manual check
    import sys

    en_path, ar_path = sys.argv[1:3]
    with open(en_path, encoding="utf-8") as f:
        en = f.read().removesuffix("\n").split("\n")
    with open(ar_path, encoding="utf-8") as f:
        ar = f.read().removesuffix("\n").split("\n")
    for e, a in gale_church_align(en, ar):
        print("[" + ", ".join(map(str, e)) + "]:[" + ", ".join(map(str, a)) + "]")
