"""The alignment core: monotonic bead search over sentence and run embeddings.

No file I/O and no encoder in here: callers pass L2-normalised embeddings of every run of
up to ``max_run`` consecutive sentences on each side (``runs[k-1][i]`` embeds sentences
``i .. i+k-1``), and get back beads.

Search. A bead covers ``a`` English and ``b`` Arabic lines (one side a single line and
the other up to ``max_side``, or both 2+ with ``a + b <= max_many_lines``), or one line of
either side alone (a null bead). The best monotonic sequence of beads maximises the sum of
the aligned beads' values (null beads add zero):

    ((a + b) / 2) ** p * (margin / scale - threshold)
    - merge_penalty * (a + b - 2) ** merge_penalty_power - many_many_penalty * [a > 1 and b > 1]
    - length_weight * ((a + b) / 2) ** q * log(len_ar / (ratio * len_en)) ** 2
    - sum over the bead's lines of weak(line)        (lines whose best match is weak)
    + anchor_weight * min(anchors, anchor_cap)      (shared rare names and numbers)
    + sum over the bead's lines of null(line)         (what leaving it out would cost)
    - paragraph_penalty * [crosses a paragraph break on one side only]
    - paragraph_bead_penalty * [not inside one paragraph bead]    (raw text, see below)
    (-inf when the bead's centred cosine is below the evidence floor)

Raw text whose two sides both have paragraphs (``paragraphs_first``): the paragraphs are
aligned first, by the same search over runs of paragraphs (pooled like runs of
sentences), and a sentence bead that does not lie inside one paragraph bead pays
``paragraph_bead_penalty``: translators keep paragraphs far more often than not, and a
paragraph carries more evidence than any of its sentences. Not where one side's
paragraphs are sections of the other's (``paragraphs_first_max_ratio``).

The evidence-floor and paragraph-break terms are off by default (``paragraph_penalty``
and ``evidence_quantile`` 0): on the dev variants neither moved the goals' figures by
more than .01 either way (``benchmarks/tune_alignment.py``, README "Accuracy").

* Embeddings are first centred per document and side (``center_runs``): the shared topic
  direction makes every cosine high, so it is removed.
* ``margin`` is the bead's cosine minus the mean cosine of its two sides' ``k`` nearest
  neighbours among runs of the other side's length (a difference margin, Artetxe &
  Schwenk 2019): runs of several sentences resemble everything more than single
  sentences do, so each bead type is measured against its own kind.
* ``scale`` is the document's typical best-match margin, so the threshold and
  penalties are in units that do not depend on how spread out an encoder's similarities
  are: "a null cost must fit the encoder's similarity scale".
* The length term (when sentence lengths are given) compares the bead's character
  lengths with the document's own Arabic/English ratio, as Gale & Church did.
* ``weak(line)`` is ``weak_line_weight`` per scale unit by which the line's best margin
  anywhere falls short of ``weak_line_margin``: such a line is probably one of the
  report's own. Once the length term is on, it is charged in proportion to the share of
  its side that the alignment leaves out (in full from ``weak_line_full_at``), so that in
  a faithful translation a hard true pair is not taken for a line of its own.
* ``null(line)`` is the document's own null model: 0 unless the alignment with the length
  term on aligns nearly all of both sides (a faithful translation), where leaving a line
  out then costs more the more of the document is aligned (``null_weight``,
  ``null_pivot``), in proportion to the line's evidence. Both fits count the shares
  near each line (``null_window`` beads either side): a long document's faithful passage
  is not judged by its loose ones.
* ``anchors`` is what the bead's two sides share of the keys the caller gives each line
  (``aligner.text.anchors``: transliterated names, numbers), each line pair sharing a key
  counted ``1 / max(lines with it on either side)``: a name on one line of each side is
  strong evidence, one on every other line none.

A line stays unaligned when no pairing beats the threshold. The threshold is negative:
true pairs often score below their neighbours' average with a weak encoder, and a
permissive threshold keeps the path on track through them; the length term and the
merge penalties stop unrelated lines from being glued onto true pairs. All constants
were tuned on the dev variants together (``benchmarks/tune_alignment.py``).

Cost. Long documents (over ``max_full_cells`` cells) are aligned coarse-to-fine: sentence
embeddings are averaged into blocks, the blocks are aligned, and the fine search
runs in a band around the coarse path, its margins measured against neighbours within
``knn_window`` lines of the band and each line's best match looked for within
``best_match_window``. Time and memory grow linearly with document length (band and
window widths are constant). A document searched on the whole table keeps, between the
passes of its search, each bead type's products, block values and the search's
predecessor tables: at most about 15 bytes per cell per bead type (55 MB for 18 types at
``max_full_cells``), so that each pass costs a few array operations per row.
"""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from aligner.encoders.pooling import center_rows, centres_locally, segment_means

_NEG = -1e30


@dataclass(frozen=True)
class Bead:
    """One alignment unit: English line indices, Arabic line indices, similarity.

    ``score`` is the cosine similarity of the two sides' embeddings (``None`` for a
    null bead, which has one empty side)."""

    en: tuple[int, ...]
    ar: tuple[int, ...]
    score: float | None = None
    # Found by the moved-block search (see find_moved_blocks): the bead crosses the main,
    # monotonic path (a passage the report moved).
    moved: bool = False

    @property
    def kind(self) -> str:
        """Bead type as ``"<n_en>-<n_ar>"``, e.g. ``"1-1"``, ``"2-1"``, ``"0-1"``."""
        return f"{len(self.en)}-{len(self.ar)}"

    @property
    def is_null(self) -> bool:
        return not self.en or not self.ar


@dataclass(frozen=True)
class AlignmentConfig:
    """Settings of the bead search (all recorded with every output).

    Every constant has its reason beside it; the sweeps behind the tuned ones are
    reproduced by ``benchmarks/tune_alignment.py`` over all dev variants at once."""

    # Bead shapes: free translation splits one Arabic sentence into up to 8 English ones
    # (dev-split has 1-1 .. 8-1), literary translation into more (9-1 and beyond). 10
    # since session 29 (tune_alignment.py --joined-arabic: dev-split with each two Arabic
    # lines joined, beads up to 16-1): every dev figure the same at 8 / 10 / 12 (own lines,
    # long documents too); joined strict .633 -> .644 -> .646, lax .941 -> .945 -> .945;
    # dev-reorder as raw text .918 / .802 -> .919 / .804. Search time on a 20,000-line
    # pair (bench_alignment.py) 121 -> 154 -> 190 s. Two-or-more on both sides is rare:
    # 2-2, 2-3, 3-2 (a + b up to 5); allowing up to 8 changed no dev figure and cost 60%
    # more search time.
    max_side: int = 10             # most lines on either side of a bead (1-10 .. 10-1)
    max_many_lines: int = 5        # a + b when both sides have 2+ lines (0: none)
    # Threshold and penalties are in units of the document's evidence scale (see
    # scale_margins).
    # Margin a pairing must beat (see module doc). -1.45 with the default encoder (use+e5):
    # objective .837 at -1.6 -> .842, chosen in every leave-one-source-out fold; USE alone
    # .800 -> .801 (docs/accuracy.md, "The default encoder"). -1.3 since the anchors
    # (session 19): a weak true pair sharing a name no longer needs the permissive
    # threshold to be made, and pairs without evidence between true ones are fewer. Sweep
    # (use+e5, objective) .894 / .897 / .898 / .898 at -1.45 / -1.35 / -1.3 / -1.25 (at
    # -1.25 nasai's clean .994 -> .984); at -1.3 dev .942 -> .947, dev unaligned .835 ->
    # .855, dev-reorder .877 -> .882, dev-split .844 and lax .971 equal, dev-e2e .959 /
    # .831 -> .958 / .828, long documents .872 / .809 -> .867 / .807, raw .952 / .808 ->
    # .953 / .819, own lines .945 / .708 -> .944 / .707; every leave-one-source-out fold
    # chooses -1.3 (abudawud .900 -> .904, nasai .874 -> .876, quran_si .903 -> .908). USE
    # alone and e5 alone are flat (.853 / .853, .871 / .872) but their own-lines unaligned
    # F1 falls (.474 -> .439, .584 -> .568): the single encoders are not the default.
    threshold: float = -1.3
    knn: int = 16                  # neighbours in the margin's denominator
    # ... of which at least this many of the other side's runs (the least alike) stay out.
    # In a short document (a news report has about 11 lines) every run is a neighbour, and
    # a centred side's mean cosine with all of the other side's runs is about 0: the margin
    # would be the bare cosine, with no correction for how much each bead type resembles
    # everything. tune_alignment.py --short (dev, dev-split and dev-e2e cut between gold
    # beads into 801 pieces of 6-14 Arabic lines), 0 / 1 / 2: strict .925 / .931 / .929,
    # unaligned-line F1 .744 / .769 / .786, dev-split strict .803 / .806 / .803, raw text
    # link .941 / .945 / .948 and unaligned paragraphs .741 / .761 / .783; at 1 every
    # source gains or holds on every column (quran_si strict .914 -> .932); the dev
    # documents (23 lines or more) are unchanged, the joined set .644 -> .641. 2 costs
    # nasai's strict .928 -> .921 and a 2-1 bead of the examples (cup-final).
    knn_leave_out: int = 1
    # A bead's value grows as ((a + b) / 2) ** size_power, and its lines beyond 1-1 pay
    # merge_penalty (against gratuitous merges). Both concave, so they are tuned together
    # (session 28, tune_alignment.py --long --own-lines --raw-reorder --by-source): at
    # (0.5, 0.25) a reward that grows as a square root paid to share a free translation's
    # pieces evenly between neighbouring beads (49 of dev-split's 59 wrong cuts between
    # many-to-one beads moved a piece from the bigger gold bead to the smaller; 1 the other
    # way). (0.6, 0.4): objective .904 -> .908, dev .950 -> .952, clean .995 -> 1.000, dev
    # unaligned .854 -> .862, dev-split .858 -> .863, lax .974 -> .975, dev-e2e .961 / .841
    # -> .961 / .843, dev-reorder .893 -> .899, own lines .942 / .619 -> .947 / .662; long
    # .894 / .849 -> .893 / .846, raw .961 / .845 -> .959 / .838, dev-reorder as raw text
    # .918 / .806 -> .918 / .802; every source gains (abudawud .903 -> .908, nasai .894 ->
    # .897, quran_si .914 -> .916); USE alone .855 -> .858 (dev .924 -> .921, dev-split
    # .772 -> .780). (0.6, 0.5) and (0.55, 0.4) reach .909, but nasai falls to .890 and
    # cup-final's gold 2-1 bead (examples/) is split; the wrong cuts fall only 59 -> 58.
    size_power: float = 0.6
    merge_penalty: float = 0.4
    # ... counted as (a + b - 2) ** merge_penalty_power: grown as the size reward grows (a
    # square root), not linearly, so that a free translation's 4th-8th piece is not left
    # out for costing more than its bead earns. Sweep (use+e5; docs/accuracy.md):
    # objective .842 at 1 -> .846 / .849 / .849 at 0.75 / 0.5 / 0.25, dev-split .764 ->
    # .796 at 0.5; chosen in 2 of 3 leave-one-source-out folds; USE alone .801 -> .809.
    merge_penalty_power: float = 0.5
    many_many_penalty: float = 1.2  # extra for beads with 2+ lines on both sides
    length_weight: float = 1.5     # weight of the squared log length ratio (when lengths given)
    length_smoothing: float = 10.0  # characters added to both sides before the ratio
    # The length evidence counts once per line of the bead (as the embedding evidence grows
    # with its size): a line glued onto a bead whose lengths already agreed costs more, a
    # piece that completes a bead's length gains more. Sweep (docs/accuracy.md): objective
    # .797 at 0 -> .800 at 1.0; dev unaligned F1 .725 -> .735, dev-split .704 -> .716.
    length_size_power: float = 1.0
    # The document's length ratio is measured on its own alignment, so a first pass that
    # left a free translation's pieces out measures too little English per Arabic and then
    # charges the pieces for being too long. The ratio is measured again on each pass's
    # beads until they stop changing (within 4 passes on every dev document), at most this
    # many times. Sweep (use+e5; docs/accuracy.md): objective .849 with one pass -> .858 /
    # .859 / .862 / .862 with 2 / 3 / 4 / 6; dev unaligned F1 .786 -> .813, dev-split .796
    # -> .808, dev-e2e unaligned .793 -> .811; USE alone .809 -> .820; chosen in every
    # leave-one-source-out fold. Costs one 2-1 bead of the examples (cup-final, a marginal
    # piece: tests/test_known_answers.py, GOLD_DISAGREEMENTS).
    length_passes: int = 8
    # ... and stops early once the ratio moves by less than this share: a long document's
    # ratio settles while a few of its thousands of beads still change, each pass a whole
    # search. Dev figures equal to 0 (beads repeating) at 0.001-0.003, .002 lower at 0.01;
    # a 20,000-line synthetic pair (bench_alignment.py's) searches in 24.7 s with one pass,
    # 43.0 s at 0 (4 extra passes), 32.6 s at 0.003 (2).
    length_ratio_tolerance: float = 0.003
    weak_line_weight: float = 1.0  # cost per unit a paired line's best margin falls short of
                                   # weak_line_margin (in scale units)
    weak_line_margin: float = 0.5
    # The document's own null model: how much of a document is translated differs from a
    # faithful translation (every line) to a news report (a fraction). Measured on the
    # alignment with the length term on and the weak-line cost fitted (the first pass, on
    # embeddings alone, pairs so freely that a report with lines of its own looks
    # faithful), the share of the less aligned side; where it is above null_pivot, every
    # line left out costs null_weight * (logit(share) - logit(null_pivot)) (logit clipped
    # at 0.98: at most 0.85 scale units): a faithful translation keeps its faint pieces
    # and hard pairs, which a weak margin made look like lines of their own, while a
    # document with lines of its own on either side (news, omissions, a report that
    # translates part of its source) is searched as before. The less aligned side
    # decides, so that a report that translates all its source but adds lines of its own
    # is not charged for leaving them out. Sweep (use+e5, objective): .875 at 0 -> .881 at
    # 0.5 or 1 (pivot 0.85 to 0.92 within .002); at (0.5, 0.9) dev .928 -> .933, clean
    # .988 -> .997, dev unaligned .814 -> .821, dev-split .812 -> .832, lax .955 -> .964,
    # dev-e2e .952 -> .953 / .813 -> .818, dev-reorder .849 equal; every source gains
    # (abudawud .882 -> .888, nasai .835 -> .846, quran_si .902 -> .904), leave-one-source-out
    # chooses 0.5 or 1 in every fold; USE alone .826 -> .835, e5 alone .849 -> .857; long
    # documents .865 / .803 -> .866 / .804, raw .949 / .810 -> .949 / .806 (at 1: .800 and
    # .795, hence 0.5); faithful translations with 1 or 3 English lines of their own
    # (tune_alignment.py --own-lines) strict / unaligned-line F1 .924 / .558 -> .945 /
    # .704 (.943 / .598 at 1). A line earns the cost in proportion to its evidence (its
    # best margin, up to weak_line_margin), so one that matches nothing better than the
    # bulk stays out. The old form (each side's share on the first pass, a signed logit
    # that also made leaving lines out cheaper below the pivot): objective .825-.874, dev
    # unaligned F1 .814 -> .660-.806 (docs/accuracy.md, session 18). Session 22, on the
    # e5-query encodings: 0.5 -> 0.6, clean .993 -> .996 (near-duplicate hadiths in a row:
    # each one's margin is low, so what pairing it earns decides), own lines .628 -> .629,
    # long .890 / .842 -> .891 / .844, objective .906 either way; 0.65 clean 1.000 but own
    # lines .622 (docs/accuracy.md). Session 27, on an AVX2 CPU (the encoders round
    # differently): 0.6 -> 0.65 mends the same near-duplicate glue there (clean .992 ->
    # .995, dev .949 -> .950, dev-split .857 -> .858, own lines .941 / .615 -> .942 / .619,
    # objective .9041 -> .9045), every held-out source chooses it; USE alone clean .988 ->
    # .991; 0.7 gives the same figures within .002 (0.65: the smaller step from what was tuned).
    null_weight: float = 0.65
    null_pivot: float = 0.9
    # ... and the weak-line cost fits the document: measured on the alignment with the
    # length term on (and the cost in full), it is charged in proportion to the share of
    # a side left unaligned, in full from this share up (0: always in full). A faithful
    # translation (nearly every line aligned) then keeps its hard true pairs, which a weak
    # best margin made look like lines of their own, while a report with lines of its own
    # (news, omissions) is charged as before. Sweep 0 / 0.1 / 0.15 / 0.2 / 0.3 (use+e5,
    # objective): .873 / .875 / .873 / .874 / .875; at 0.1 dev .927 -> .928, clean .986
    # -> .988, dev unaligned .812 -> .814, dev-split .808 -> .812, lax .952 -> .955,
    # dev-e2e unaligned .811 -> .813, the rest equal; every source gains or holds
    # (abudawud .880 -> .882, nasai .834 -> .835, quran_si .900 -> .902); USE alone .824
    # -> .826, e5 alone .847 -> .849, no figure lower; leave-one-source-out chooses 0.1 to
    # 0.3 in every fold with each encoder. Measured on the first pass (embeddings alone,
    # which pairs more freely) clean rose to .992 but a small document whose first pass
    # compromised around a moved block looked faithful and paired lines of its own
    # (docs/accuracy.md, session 16).
    weak_line_full_at: float = 0.1
    # Both fits are local: each line's shares are counted over the beads within this many
    # beads of its own (0: the whole document). A long document is not one translation
    # throughout: a report translates one passage faithfully and summarises the next, and
    # whole-document shares let the loosely translated parts make a faithful part's faint
    # pieces cheap to leave out. Documents of up to 2 x null_window + 1 beads get the
    # whole-document shares. Sweep 0 / 15 / 30 / 50 / 100 (use+e5; tune_alignment.py
    # --long): long documents strict / unaligned-line F1 .867 / .807 -> .877 / .820, .879
    # / .825, .875 / .822, .875 / .817, their raw text .953 / .819 -> .955 / .826, .956 /
    # .829, .956 / .828, .955 / .822; the dev sets' figures equal from 50 up (at 30
    # dev-e2e unaligned .828 -> .825 and faithful translations with lines of their own,
    # --own-lines, .707 -> .677; .704 at 50; at 15 dev .947 -> .943); USE alone at 50:
    # long .804 / .716 -> .811 / .723, raw .929 / .736 -> .930 / .743, dev-split .767 ->
    # .769 (lax .930 -> .929), the rest equal.
    null_window: int = 50
    # Anchors (``align_runs(..., en_anchors=, ar_anchors=)``; ``aligner.text.anchors``): a
    # bead whose sides share rare transliterated names or numbers earns anchor_weight per
    # unit of shared rarity (a key on one line of each side is 1), counted up to
    # anchor_cap; keys on more than anchor_max_lines lines of either side are left out
    # (their pairs would grow with the square of the document, for at most 1/16 each).
    # A name on one line of each side is then worth one typical best-match margin. Sweep
    # (use+e5, objective; tune_alignment.py): .881 at 0 -> .894 / .895 / .896 at 1 / 2 / 3,
    # at 1 dev .933 -> .942, dev unaligned .821 -> .835, dev-split .832 -> .844, lax .964
    # -> .971, dev-e2e .953 / .818 -> .959 / .831, dev-reorder .849 -> .874; long
    # documents .866 / .804 -> .872 / .808, raw .949 / .806 -> .952 / .808; USE alone .835
    # -> .853, e5 alone .857 -> .871. 1 rather than 2 or 3: faithful translations with
    # lines of their own (--own-lines, which share the source's names) keep their
    # unaligned-line F1 at 1 (.704 -> .708; .699 at 2, .686 at 3; e5 alone .545 -> .584 at
    # 1, .565 at 2). anchor_cap 0.5 / 1 within .001; per source abudawud .888 -> .900,
    # nasai .846 -> .874, quran_si (few names) .904 -> .903; leave-one-source-out chooses
    # 2 in every fold (within .002 of 1; docs/accuracy.md, session 19).
    anchor_weight: float = 1.0
    anchor_cap: float = 1.0
    anchor_max_lines: int = 16
    # A bead whose centred cosine is below this quantile of the document's unrelated
    # pairs (all sentence pairs of the document, nearly all unrelated) has no evidence
    # and is never made, even between two anchors. 0 switches the rule off.
    evidence_quantile: float = 0.0
    # Raw text: a bead that crosses a paragraph break on one side but not the other
    # (unless it covers whole paragraphs on both) pays this.
    paragraph_penalty: float = 0.0
    # Raw text with paragraphs on both sides: align the paragraphs first (their embeddings
    # pooled like runs), then the sentences; a sentence bead that does not lie inside one
    # paragraph bead pays paragraph_bead_penalty (inf: never made). dev-e2e link /
    # unaligned-paragraph F1, USE: .911 / .681 without, .919 / .695 as a hard rule, .924 /
    # .706 at 1.0 (flat from 0.75 to 1.5, for use+e5 too; chosen in every
    # leave-one-source-out fold; README, Accuracy).
    paragraphs_first: bool = True
    paragraph_bead_penalty: float = 1.0
    # ... only where the two sides' paragraphs are of one grain: where one side has more
    # than this many times as many paragraphs as the other (the other's are sections), a
    # paragraph bead would have to hold more paragraphs than a bead can (max_side) and the
    # sentences pay for paragraph beads that cannot be right. dev-e2e with one side's
    # paragraphs merged into sections of 5-12: unaligned-paragraph F1 .729 / .767
    # (Arabic / English merged) with paragraphs first, .752 / .789 without, links equal;
    # merged in groups of 1-3 (ratios up to about 3): unchanged at 4, .757-.774 at 3;
    # dev-e2e itself unchanged at 3 and 4, .948 / .799 at 2 (docs/accuracy.md, session 15).
    paragraphs_first_max_ratio: float = 4.0
    # Moved passages (find_moved_blocks): after the monotonic search, the lines it left
    # free (unaligned, glued on, or paired without evidence) are searched again for blocks
    # that match free lines elsewhere, aligned where they are (beads that cross the main
    # path, ``Bead.moved``). dev-reorder strict .771 -> .848, moved lines with a
    # counterpart aligned exactly 10 -> 82 of 94; dev, dev-split, dev-e2e within .003; no
    # moved bead on the dev clean and merges documents (docs/accuracy.md).
    moved_blocks: bool = True
    # A moved block has no path around it to vouch for it: each of its beads must beat
    # its own neighbours' mean (margin 0, where threshold lets the path take -1.3), and
    # the block must earn more than 1.25 scale units (a scale unit is a line's typical
    # best-match margin: two typical lines make a block, one line needs a strong match).
    # Sweep (use+e5, objective / reorder): threshold -0.25 / 0 / 0.25 / 0.5 at cost 1:
    # .867 / .872 / .871 / .870, reorder .849 / .848 / .836 / .831; cost 0.5 / 0.75 / 1
    # / 1.25 / 1.5 / 2 at threshold 0: .849 / .865 / .872 / .872 / .871 / .871, reorder
    # .827 / .844 / .848 / .844 / .840 / .831 (lower costs pair the dev documents' own
    # lines: dev unaligned F1 .814 -> .757 at 0.5). 1.25 rather than 1: with USE alone
    # cost 1 breaks weak true beads of near-duplicate hadiths for moved ones (dev clean
    # .986 -> .974, dev-split .740 -> .726; at 1.25 .981 / .729; e5 alone dev-split .776
    # -> .763 / .771). Leave one source out chooses threshold 0 and cost 1 or 1.25.
    moved_threshold: float = 0.0
    moved_block_cost: float = 1.25
    # Lines either side of where the main path passes a free line that are searched for
    # its counterpart: bounds the search to linear time on long documents (dev-reorder
    # moves blocks by up to 130 lines).
    moved_window: int = 500
    # Once blocks are taken, the monotonic search runs again with their lines held out
    # (free to leave out, in no bead), so that the path re-forms around the gaps they
    # leave instead of keeping the compromise it made with them (use+e5, session 12:
    # dev-reorder strict .843 -> .851, unaligned-line F1 .778 -> .785; dev .928 -> .929,
    # dev unaligned .808 -> .810; dev-split, dev-e2e unchanged; chosen in every
    # leave-one-source-out fold; USE alone: reorder .800 -> .809, the rest within .003).
    moved_repath: bool = True
    center: bool = True            # subtract each side's mean embedding (see center_runs)
    # ... the mean near each run in a long document: over more than 3 x center_window runs,
    # a run's own segment of center_window runs and the one on either side (a window of
    # 300 lines). A long document's topic drifts (a report's sections, a collection's
    # chapters), and a whole-document mean leaves each section's topic in its sentences,
    # so that they all look alike. Sweep 0 / 33 / 50 / 67 / 100 (use+e5; tune_alignment.py
    # --long): long documents strict / unaligned-line F1 .875 / .822 -> .878 / .830, .878
    # / .831, .880 / .833, .880 / .832; their raw text .956 / .828 -> .957 / .834, .955 /
    # .830, .956 / .831, .957 / .838; dev figures equal at 67 and 100 (at 33 dev .947 ->
    # .942, at 50 dev-split .844 -> .840).
    center_window: int = 100
    scale_margins: bool = True     # margins in units of the document's typical best margin
    max_full_cells: int = 250_000  # above this, search coarse-to-fine in a band
    band_width: int = 12          # lines each side of the projected coarse path
    coarse_block: int = 8         # lines averaged into one coarse unit
    # In the band, a margin's k nearest neighbours are looked for among the runs within
    # this many lines beyond it (the band itself is band_width + coarse_block lines each
    # side of the path): about 140 lines, the size of a dev document (23-263 lines a
    # side), where the constants were tuned with the whole document as neighbourhood ...
    knn_window: int = 50
    # ... and a line's best match (its weak-line cost, the document's evidence scale)
    # within this many: "anywhere", bounded so that the cost stays linear. Before, both
    # came from the band alone (0): a margin compared 16 of about 40 lines, and a moved
    # line's counterpart was out of sight. Long documents (tune_alignment.py --long: each
    # source's dev, dev-split and dev-reorder documents concatenated, nine pairs of
    # 370-1,725 lines a side, and dev-e2e's, three raw-text pairs), strict / unaligned-line
    # F1, raw text link / unaligned-paragraph F1, at (knn_window, best_match_window):
    #   use+e5    (0, 0) .863 / .784, .947 / .785 -> (50, 500) .865 / .803, .949 / .810
    #   USE alone (0, 0) .789 / .669, .912 / .703 -> (50, 500) .799 / .704, .923 / .735
    #   e5 alone  (0, 0) .818 / .722, .938 / .769 -> (50, 500) .826 / .747, .945 / .794
    # every figure up with every encoder; (50, 50) is best with use+e5 (.862 / .803, .955 /
    # .825) but loses with USE alone (.772 / .670, .910 / .702), (25, 500) within .003 of
    # (50, 500). Whole-document neighbourhoods (the whole table searched, use+e5) .837 /
    # .772: near-duplicate passages far away crowd the nearest neighbours. The dev
    # documents are searched on the whole table (no figure moves); forced into the band
    # (max_full_cells=2000) their objective is .868 at (0, 0), .873 at (50, 500) and the
    # whole table's .875 at (100, 500). Search time on a 20,000-line pair 95.7 -> 98.4-110.5
    # s (benchmarks/bench_alignment.py, two runs), still linear (docs/accuracy.md, session 17).
    best_match_window: int = 500

    def __post_init__(self) -> None:
        if not 1 <= self.max_side <= 16:
            raise ValueError(f"max_side must be between 1 and 16, got {self.max_side}")
        if not 4 <= self.max_many_lines <= 12 and self.max_many_lines != 0:
            raise ValueError(f"max_many_lines must be 0 (none) or between 4 and 12, got {self.max_many_lines}")
        # The coarse search needs at least a 2 x 2 table, or block doubling never ends.
        if self.max_full_cells < 4:
            raise ValueError(f"max_full_cells must be at least 4, got {self.max_full_cells}")
        if self.length_passes < 1:
            raise ValueError(f"length_passes must be at least 1, got {self.length_passes}")
        if not self.length_ratio_tolerance >= 0:
            raise ValueError(f"length_ratio_tolerance must be >= 0, got {self.length_ratio_tolerance}")
        if self.knn_leave_out < 0:
            raise ValueError(f"knn_leave_out must be >= 0, got {self.knn_leave_out}")
        if self.knn < 1 or self.coarse_block < 1 or min(self.band_width, self.knn_window, self.best_match_window) < 0:
            raise ValueError("knn and coarse_block must be >= 1, band_width, knn_window and best_match_window >= 0")
        if not self.paragraphs_first_max_ratio >= 1:
            raise ValueError(f"paragraphs_first_max_ratio must be >= 1, got {self.paragraphs_first_max_ratio}")
        if not self.paragraph_bead_penalty >= 0:
            raise ValueError(f"paragraph_bead_penalty must be >= 0 (inf: a rule), got {self.paragraph_bead_penalty}")
        if self.moved_window < 1 or not self.moved_block_cost >= 0:
            raise ValueError(f"moved_window must be >= 1 and moved_block_cost >= 0, got {self.moved_window}, "
                             f"{self.moved_block_cost}")
        if not self.weak_line_full_at >= 0:
            raise ValueError(f"weak_line_full_at must be >= 0, got {self.weak_line_full_at}")
        if self.center_window < 0:
            raise ValueError(f"center_window must be >= 0 (0: the whole document), got {self.center_window}")
        if self.null_window < 0:
            raise ValueError(f"null_window must be >= 0 (0: the whole document), got {self.null_window}")
        if not (self.anchor_weight >= 0 and self.anchor_cap >= 0 and self.anchor_max_lines >= 1):
            raise ValueError(f"anchor_weight and anchor_cap must be >= 0 and anchor_max_lines >= 1, got "
                             f"{self.anchor_weight}, {self.anchor_cap}, {self.anchor_max_lines}")
        if not 0.0 <= self.evidence_quantile < 1.0:
            raise ValueError(f"evidence_quantile must be in [0, 1), got {self.evidence_quantile}")

    @property
    def max_run(self) -> int:
        """Longest run of consecutive sentences a bead can hold on one side."""
        return self.max_side

    def to_dict(self) -> dict:
        return asdict(self)


def bead_types(max_side: int, max_many_lines: int = 0) -> list[tuple[int, int]]:
    """All bead shapes (a, b): one side a single line and the other up to ``max_side``
    lines, or both sides 2+ lines with ``a + b <= max_many_lines`` (and each side at most
    ``max_side``); smaller beads first, 1-1 first."""
    top = max(max_side + 1, max_many_lines)
    return [(a, b) for total in range(2, top + 1) for a in range(1, total) for b in [total - a]
            if max(a, b) <= max_side and (min(a, b) == 1 or total <= max_many_lines)]


def run_embeddings_by_mean(sentences: np.ndarray, max_run: int) -> list[np.ndarray]:
    """Run embeddings as the normalised mean of the sentence embeddings (the generic
    fallback for encoders that cannot pool runs from their own states)."""
    sentences = np.asarray(sentences, dtype=np.float32)
    runs = [sentences]
    n = len(sentences)
    csum = np.concatenate([np.zeros((1, sentences.shape[1]), np.float32), np.cumsum(sentences, 0)])
    for k in range(2, max_run + 1):
        if n - k + 1 <= 0:
            runs.append(np.zeros((0, sentences.shape[1]), np.float32))
            continue
        m = csum[k:] - csum[:-k]
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        norms[norms == 0] = 1
        runs.append((m / norms).astype(np.float32))
    return runs


def center_runs(runs: Sequence[np.ndarray], window: int = 0) -> list[np.ndarray]:
    """Subtract each run length's mean embedding, then re-normalise.

    Sentences of one document share its topic, so all their cosines with the other side
    sit high and close together; removing the shared (mean) direction leaves what is
    specific to each sentence. On the dev set this raises the share of English sentences
    whose nearest Arabic sentence is the right one from 49% to 65%.

    ``window`` (0: the whole document): a long document's topic drifts, so where there
    are more than three segments of ``window`` runs, each run loses the mean of its own
    segment and the one on either side (see AlignmentConfig.center_window)."""
    out = []
    for r in runs:
        if len(r) == 0:
            out.append(r)
        elif hasattr(r, "centered"):  # computed on demand (aligner.encoders.pooling.LazyRuns): the same rows
            out.append(r.centered(window))
        elif centres_locally(len(r), window):
            means = segment_means(len(r), window, lambda a, b: r[a:b])  # noqa: B023 (used at once)
            out.append(center_rows(r, means[np.arange(len(r)) // window]))
        else:
            out.append(center_rows(r, r.mean(0, dtype=np.float64).astype(np.float32)))
    return out


@dataclass
class _Band:
    """Per DP row i (0..n): the column range [lo[i], hi[i]) of the table that is searched."""

    lo: np.ndarray
    hi: np.ndarray

    @property
    def width(self) -> int:
        return int((self.hi - self.lo).max())


def _full_band(n: int, m: int) -> _Band:
    return _Band(np.zeros(n + 1, np.int64), np.full(n + 1, m + 1, np.int64))


def _band_from_path(beads: Sequence[Bead], n: int, m: int, width: int) -> _Band:
    """Band of DP cells within ``width`` lines of a (projected) alignment path."""
    # Corner points of the path in DP coordinates (lines consumed so far on each side).
    i = j = 0
    points = [(0, 0)]
    for b in beads:
        i += len(b.en)
        j += len(b.ar)
        points.append((i, j))
    return _band_around(points, n, m, width)


def _band_around(points: Sequence[tuple[int, int]], n: int, m: int, width: int) -> _Band:
    """Band of DP cells within ``width`` lines of the path through ``points`` (DP cells,
    in order)."""
    lo = np.full(n + 1, m + 1, np.int64)
    hi = np.zeros(n + 1, np.int64)
    for (i0, j0), (i1, j1) in zip(points, points[1:]):
        for r in range(max(0, i0 - width), min(n, i1 + width) + 1):
            lo[r] = min(lo[r], max(0, j0 - width))
            hi[r] = max(hi[r], min(m, j1 + width) + 1)
    # Make the band monotone so every in-band cell can reach (n, m).
    lo = np.minimum.accumulate(lo[::-1])[::-1]
    hi = np.maximum.accumulate(hi)
    return _Band(lo, hi)


class _Anchors:
    """The line pairs that share anchor keys, each weighted by the keys' rarity: a key on
    ``d_en`` English and ``d_ar`` Arabic lines gives each of those line pairs
    ``1 / max(d_en, d_ar)``; keys on more than ``max_lines`` lines of either side are left
    out, so the pairs stay linear in number. Stored sparse (row-sorted), summed over any
    rectangle of runs through local prefix sums."""

    def __init__(self, en_ids: Sequence[Sequence[int]], ar_ids: Sequence[Sequence[int]], max_lines: int):
        lines: dict[int, tuple[list[int], list[int]]] = {}
        for side, ids in ((0, en_ids), (1, ar_ids)):
            for line, keys in enumerate(ids):
                for key in keys:
                    lines.setdefault(int(key), ([], []))[side].append(line)
        pairs: dict[tuple[int, int], float] = {}
        for key in sorted(lines):
            en, ar = lines[key]
            if not en or not ar or max(len(en), len(ar)) > max_lines:
                continue
            w = 1.0 / max(len(en), len(ar))
            for i in en:
                for j in ar:
                    pairs[(i, j)] = pairs.get((i, j), 0.0) + w
        cells = sorted(pairs)
        self.rows = np.array([i for i, _ in cells], np.int64)
        self.cols = np.array([j for _, j in cells], np.int64)
        self.vals = np.array([pairs[c] for c in cells], np.float64)

    def __bool__(self) -> bool:
        return len(self.vals) > 0

    def prefix(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """2-D prefix sums of the pair weights over lines [r0, r1) x [c0, c1): element
        [i, j] sums lines r0..r0+i-1 by c0..c0+j-1."""
        out = np.zeros((r1 - r0 + 1, c1 - c0 + 1))
        a, b = np.searchsorted(self.rows, [r0, r1])
        rows, cols, vals = self.rows[a:b], self.cols[a:b], self.vals[a:b]
        keep = (cols >= c0) & (cols < c1)
        np.add.at(out, (rows[keep] - r0 + 1, cols[keep] - c0 + 1), vals[keep])
        return out.cumsum(0).cumsum(1)


class _BeadValues:
    """Value of every bead type ending at each DP cell of a block of rows (the scoring
    half of the search, kept apart from the DP itself; the formula is in the module
    docstring). The neighbour statistics are computed once; ``measure_length_ratio``
    switches the length term on, ``fit_weak_lines`` fits the weak-line cost and
    ``fit_null_costs`` the cost of leaving a line out to the document."""

    def __init__(self, en_runs, ar_runs, band: _Band, config: AlignmentConfig,
                 paragraphs: tuple[np.ndarray, np.ndarray] | None = None,
                 groups: tuple[np.ndarray, np.ndarray] | None = None, anchors: _Anchors | None = None):
        self.en_runs, self.ar_runs, self.band, self.config = en_runs, ar_runs, band, config
        self.anchors = anchors if anchors and config.anchor_weight > 0 else None
        n, m = len(en_runs[0]), len(ar_runs[0])
        self.lengths: tuple[np.ndarray, np.ndarray] | None = None
        self.null_cost = 0.0  # the largest line's null cost (fit_null_costs); 0: none charged
        self.ratio: float | None = None
        self.types = [t for t in bead_types(config.max_side, config.max_many_lines)
                      if t[0] <= min(n, len(en_runs)) and t[1] <= min(m, len(ar_runs))]
        self._sizes = (np.array([a for a, _ in self.types]), np.array([b for _, b in self.types]))
        # The main search's blocks kept between passes: on a document searched on the whole
        # table (at most max_full_cells cells per bead type); a longer one's band computes
        # them again each pass, so that memory stays bounded on any document length.
        full = _is_full(band, m)
        self._kept: dict[tuple[int, int, int, int], np.ndarray] | None = {} if full else None
        # A short document's whole products, kept: its blocks read them again.
        self._sims: dict[tuple[int, int], np.ndarray] | None = None
        # The search's predecessor tables of each block of a short document (they depend
        # on the band only, the same in every pass).
        self.predecessors: dict[tuple, tuple[np.ndarray, ...]] | None = {} if full else None
        # All bead types' neighbour statistics advance through the document together, so
        # that run embeddings computed on demand (aligner.encoders.pooling) are read once, not once
        # per type (each value is the same as computed type by type).
        if full:  # a short document: whole products, no windows to walk
            self._sims = {(a, b): _full_sims(en_runs[a - 1], ar_runs[b - 1]) for a, b in self.types}
            self.knn = {t: _knn_means(sims, config.knn, config.knn_leave_out) for t, sims in self._sims.items()}
            # Each line's best-match margin (its top cosine over its own kNN mean).
            top_en, top_ar = _knn_means(self._sims[(1, 1)], 1)
        else:
            # Windows beyond the band (AlignmentConfig.knn_window, best_match_window), walked
            # a block of rows at a time even where they span the whole width: memory stays
            # bounded however long the other side is.
            knn_band, top_band = _widened(band, config.knn_window, m), _widened(band, config.best_match_window, m)
            jobs = {(a, b): _band_knn_steps(en_runs[a - 1], ar_runs[b - 1], knn_band, a, b, config.knn)
                    for a, b in self.types}
            top = _band_knn_steps(en_runs[0], ar_runs[0], top_band, 1, 1, 1)
            _in_step([step for _, steps in [*jobs.values(), top] for step in steps])
            self.knn = {t: outs for t, (outs, _) in jobs.items()}
            top_en, top_ar = top[0]
        # The kNN means of all types end to end, and each type's factors: _base_block
        # reads every type's at once.
        self._knn_flat = tuple(np.concatenate([self.knn[t][side] for t in self.types]) for side in (0, 1))
        self._knn_offsets = tuple(np.cumsum([0] + [len(self.knn[t][side]) for t in self.types[:-1]])
                                  for side in (0, 1))
        self._size_factor = np.array([((a + b) / 2.0) ** config.size_power for a, b in self.types], np.float32)
        self._merge_cost = np.array([config.merge_penalty * (a + b - 2) ** config.merge_penalty_power
                                     + (config.many_many_penalty if min(a, b) > 1 else 0.0) if a + b > 2 else 0.0
                                     for a, b in self.types], np.float32)
        ken, kar = self.knn[(1, 1)]
        best_en, best_ar = top_en - ken, top_ar - kar
        self.scale = 1.0
        if config.scale_margins:
            # The document's evidence scale: the typical margin of a line's best match.
            # Dividing by it puts threshold and penalties in units that do not depend on
            # how spread out a given encoder's similarities are. Per side, so that a side
            # with many lines of its own (whose best matches are weak) does not shrink it.
            self.scale = max(float(np.median(best_en)), float(np.median(best_ar)), 1e-3)
        # A line whose best match anywhere is weak is probably a line of its own: pairing
        # it costs extra (prefix sums, for any run of lines).
        weak = lambda best: config.weak_line_weight * np.maximum(0.0, config.weak_line_margin - best / self.scale)  # noqa: E731
        self._weak_lines = (weak(best_en), weak(best_ar))
        self._charge_weak_lines(1.0, 1.0)
        # What leaving a line out costs, in a faithful translation (fit_null_costs): in
        # proportion to the line's evidence, its best margin up to weak_line_margin, so a
        # line that matches nothing better than the bulk is not glued on for it.
        evidence = lambda best: np.clip(best / self.scale / config.weak_line_margin, 0.0, 1.0) \
            if config.weak_line_margin > 0 else np.ones_like(best)  # noqa: E731
        self._null_evidence = (evidence(best_en), evidence(best_ar))
        self._null_lines: tuple[np.ndarray, np.ndarray] | None = None  # prefix sums of the costs (fit_null_costs)
        self.floor = (evidence_floor(en_runs[0], ar_runs[0], config.evidence_quantile)
                      if config.evidence_quantile > 0 else None)
        # Paragraph beads (paragraphs_first): a bead must lie inside one of them.
        self.groups = groups
        self.paragraphs = None
        if paragraphs is not None:
            self.paragraphs = (_paragraph_breaks(paragraphs[0]), _paragraph_breaks(paragraphs[1]))

    def local_shares(self, beads: Sequence[Bead]) -> tuple[np.ndarray, np.ndarray]:
        """The share of each side (columns: English, Arabic) that ``beads`` align near each
        line: over the beads within ``null_window`` of the line's own bead (``beads`` in
        path order; all of them at 0). Arrays of shape (English lines, 2) and (Arabic
        lines, 2)."""
        sizes = np.array([(len(b.en), len(b.ar)) for b in beads], np.int64).reshape(-1, 2)
        aligned = sizes * np.array([not b.is_null for b in beads], np.int64)[:, None]
        whole = aligned.sum(0) / np.maximum(sizes.sum(0), 1)
        count, window = len(beads), self.config.null_window
        if not window or 2 * window + 1 >= count:
            shares = np.broadcast_to(whole, (count, 2))
        else:
            total, made = (np.vstack([np.zeros((1, 2), np.int64), np.cumsum(x, 0)]) for x in (sizes, aligned))
            lo, hi = np.clip(np.arange(count) - window, 0, None), np.clip(np.arange(count) + window + 1, None, count)
            # A window without lines of one side (a long run of the other's own) takes the
            # document's share of that side.
            lines = total[hi] - total[lo]
            shares = np.where(lines > 0, (made[hi] - made[lo]) / np.maximum(lines, 1), whole)
        out = []
        for side, n in ((0, len(self.en_runs[0])), (1, len(self.ar_runs[0]))):
            side_shares = np.ones((n, 2))
            lines_of = np.fromiter((k for b in beads for k in (b.ar if side else b.en)), np.int64)
            side_shares[lines_of] = np.repeat(shares, sizes[:, side], axis=0)
            out.append(side_shares)
        return out[0], out[1]

    def fit_null_costs(self, beads: Sequence[Bead]) -> bool:
        """The cost of leaving each line out, from the share of the less aligned side that
        ``beads`` align near it (see AlignmentConfig.null_weight, null_window), folded into
        the lines' evidence sums; whether any is now charged (the search must run again)."""
        cfg = self.config
        if not cfg.null_weight:
            return False
        pivot = _logit(cfg.null_pivot)
        costs = [cfg.null_weight * np.maximum(0.0, _logits(shares.min(1)) - pivot) for shares in self.local_shares(beads)]
        en, ar = (np.concatenate([[0.0], np.cumsum(evidence * cost)]) for evidence, cost in zip(self._null_evidence, costs))
        self._null_lines = (en, ar)
        self.null_cost = float(max(cost.max(initial=0.0) for cost in costs))
        return bool(self.null_cost)

    def fit_weak_lines(self, beads: Sequence[Bead]) -> bool:
        """Charge the weak-line cost in proportion to the share of each side that ``beads``
        leave unaligned near each line, in full from ``weak_line_full_at`` (see
        AlignmentConfig); whether it is now below full strength anywhere (the search must
        run again)."""
        cfg = self.config
        if not (cfg.weak_line_full_at and cfg.weak_line_weight):
            return False
        en, ar = self.local_shares(beads)
        strength = [np.minimum(1.0, (1.0 - shares[:, side]) / cfg.weak_line_full_at) for side, shares in ((0, en), (1, ar))]
        if min(s.min(initial=1.0) for s in strength) >= 1.0:
            return False
        self._charge_weak_lines(*strength)
        if self._kept is not None:
            self._kept.clear()  # the kept blocks hold the full weak-line costs
        return True

    def _charge_weak_lines(self, en_strength: float | np.ndarray, ar_strength: float | np.ndarray) -> None:
        """Prefix sums of the weak-line costs at these strengths (one per side, or one per
        line): any run's cost at once."""
        self.weak_en = np.concatenate([[0.0], np.cumsum(self._weak_lines[0] * en_strength)])
        self.weak_ar = np.concatenate([[0.0], np.cumsum(self._weak_lines[1] * ar_strength)])

    def measure_length_ratio(self, beads: Sequence[Bead], en_lengths, ar_lengths) -> bool:
        """The document's Arabic/English character ratio over the lines ``beads`` align
        (kept as it was when they align none); whether it moved by more than
        ``length_ratio_tolerance`` (relative)."""
        en_al = [i for b in beads if not b.is_null for i in b.en]
        ar_al = [j for b in beads if not b.is_null for j in b.ar]
        if not en_al or not ar_al:
            return False
        le, la = np.asarray(en_lengths, np.float64), np.asarray(ar_lengths, np.float64)
        ratio = max(la[ar_al].sum(), 1.0) / max(le[en_al].sum(), 1.0)
        moved = self.ratio is None or abs(ratio / self.ratio - 1.0) > self.config.length_ratio_tolerance
        self.ratio = ratio
        self.lengths = (np.concatenate([[0.0], np.cumsum(le)]) * ratio, np.concatenate([[0.0], np.cumsum(la)]))
        return moved

    def block(self, r0: int, r1: int, c0: int, c1: int, keep: bool = True, null: bool = True) -> np.ndarray:
        """Values, shape (n_types, r1-r0, c1-c0), for DP rows [r0, r1) x cols [c0, c1);
        -inf where the bead would start before the first line. A new array each call.

        Passes differ only in the length term (and the null costs, once): on a document
        searched on the whole table the rest of a block is kept between passes (``keep``:
        the main search's blocks; the moved-block searches' rectangles are not kept).
        ``null``: with what pairing the lines earns in a faithful translation (the null
        costs; not by the moved-block standard)."""
        key = (r0, r1, c0, c1)
        base = self._kept.get(key) if self._kept is not None else None
        if base is None:
            base = self._base_block(r0, r1, c0, c1)
            if keep and self._kept is not None:
                self._kept[key] = base
        out = base.copy() if self.lengths is None else \
            np.subtract(base, self._length_block(r0, r1, c0, c1), dtype=np.float32)
        if null and self.null_cost:
            out += self._null_block(r0, r1, c0, c1)
        return out

    def null_earning(self, bead: Bead) -> float:
        """What pairing ``bead``'s lines earns in the search (the null costs they would pay)."""
        if not self.null_cost or bead.is_null:
            return 0.0
        assert self._null_lines is not None  # fitted whenever null_cost is set
        (ne, na), (e, a) = self._null_lines, (bead.en, bead.ar)
        return float(ne[e[-1] + 1] - ne[e[0]] + na[a[-1] + 1] - na[a[0]])

    def _null_block(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """What pairing the lines of every bead type earns: the null cost its lines would
        pay left out."""
        assert self._null_lines is not None  # fitted whenever null_cost is set
        (ne, na), (a, b) = self._null_lines, self._sizes
        rows, cols = np.arange(r0, r1), np.arange(c0, c1)
        en, ar = _run_sums(ne, rows, a), _run_sums(na, cols, b)
        return (en[:, :, None] + ar[:, None, :]).astype(np.float32)

    def _length_block(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """The length term of every bead type: the squared log length ratio of its two
        sides against the document's ratio, weighted by bead size."""
        cfg = self.config
        ce, ca = self.lengths
        a, b = self._sizes
        rows, cols = np.arange(r0, r1), np.arange(c0, c1)
        len_en = _run_sums(ce, rows, a) + cfg.length_smoothing
        len_ar = _run_sums(ca, cols, b) + cfg.length_smoothing
        size = cfg.length_weight * ((a + b) / 2.0) ** cfg.length_size_power
        return size[:, None, None] * np.log(len_ar[:, None, :] / len_en[:, :, None]) ** 2

    def _base_block(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """Every bead type's value at once: one product per type, then each term over the
        (types, rows, cols) stack, element by element the same arithmetic as type by type
        (a short document's search is dominated by the number of array operations, not
        their size). Cells where a type's runs would start before the first line are
        computed on clipped indices and set to -inf at the end."""
        cfg = self.config
        a, b = self._sizes
        rows, cols = np.arange(r0, r1), np.arange(c0, c1)
        first_en, first_ar = rows[None, :] - a[:, None], cols[None, :] - b[:, None]  # (types, rows), (types, cols)
        inside = (first_en >= 0)[:, :, None] & (first_ar >= 0)[:, None, :]
        fe, fa = np.maximum(first_en, 0), np.maximum(first_ar, 0)
        cos = np.zeros((len(self.types), r1 - r0, c1 - c0), np.float32)
        for t, (ta, tb) in enumerate(self.types):
            i0, j0 = max(0, ta - r0), max(0, tb - c0)
            if i0 >= r1 - r0 or j0 >= c1 - c0:
                continue
            if self._sims is not None:
                cos[t, i0:, j0:] = self._sims[(ta, tb)][fe[t, i0]:fe[t, -1] + 1, fa[t, j0]:fa[t, -1] + 1]
            else:
                cos[t, i0:, j0:] = self.en_runs[ta - 1][fe[t, i0:]] @ self.ar_runs[tb - 1][fa[t, j0:]].T
        ken, kar = self._knn_flat
        norm = 0.5 * (ken[fe + self._knn_offsets[0][:, None]][:, :, None] + kar[fa + self._knn_offsets[1][:, None]][:, None, :])
        val = self._size_factor[:, None, None] * ((cos - norm) / self.scale - cfg.threshold)
        if cfg.weak_line_weight:
            val -= _run_sums(self.weak_en, rows, a)[:, :, None] + _run_sums(self.weak_ar, cols, b)[:, None, :]
        if self.anchors is not None:  # every type's runs lie within max_side lines before the block
            e0, a0 = max(0, r0 - cfg.max_side), max(0, c0 - cfg.max_side)
            shared = self.anchors.prefix(e0, max(r1 - 1, e0), a0, max(c1 - 1, a0))
            # Lines first..row-1 by first..col-1, from the prefix sums (offsets e0, a0).
            hi_r, lo_r = (rows - e0)[None, :, None], np.maximum(fe - e0, 0)[:, :, None]
            hi_c, lo_c = (cols - a0)[None, None, :], np.maximum(fa - a0, 0)[:, None, :]
            s = shared[hi_r, hi_c] - shared[lo_r, hi_c] - shared[hi_r, lo_c] + shared[lo_r, lo_c]
            val += cfg.anchor_weight * np.minimum(s, cfg.anchor_cap)
        val -= self._merge_cost[:, None, None]
        if self.paragraphs is not None and cfg.paragraph_penalty:
            cross_en, whole_en = _paragraph_span(self.paragraphs[0], fe, rows[None, :])
            cross_ar, whole_ar = _paragraph_span(self.paragraphs[1], fa, cols[None, :])
            mismatch = (cross_en[:, :, None] != cross_ar[:, None, :]) & ~(whole_en[:, :, None] & whole_ar[:, None, :])
            val -= cfg.paragraph_penalty * mismatch
        if self.floor is not None:
            val[cos < self.floor] = _NEG
        if self.groups is not None:
            ge, ga = _run_group(self.groups[0], fe, rows[None, :]), _run_group(self.groups[1], fa, cols[None, :])
            outside = (ge[:, :, None] != ga[:, None, :]) | (ge[:, :, None] < 0)
            if np.isfinite(cfg.paragraph_bead_penalty):
                val -= cfg.paragraph_bead_penalty * outside
            else:
                val[outside] = _NEG
        val[~inside] = _NEG
        return val

    def cosine(self, a: int, b: int, i: int, j: int) -> float:
        return float(self.en_runs[a - 1][i] @ self.ar_runs[b - 1][j])


def _run_sums(prefix: np.ndarray, ends: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Per bead type (``sizes``: its lines on this side) and run end (``ends``, exclusive):
    the sum over the run's lines from their prefix sums, shape (types, len(ends)). A run
    reaching before the first line sums from it (those cells are -inf in the values)."""
    return prefix[ends][None, :] - prefix[np.maximum(ends[None, :] - sizes[:, None], 0)]


def _run_group(groups: np.ndarray, first: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The paragraph bead of each run of lines ``first`` .. ``end - 1``, or -1 when its
    lines are not all in one (paragraph beads are contiguous and numbered in order)."""
    g0, g1 = groups[first], groups[end - 1]
    return np.where(g0 == g1, g0, -1)


def _logit(p: float) -> float:
    return float(_logits(np.asarray(p)))


def _logits(p: np.ndarray) -> np.ndarray:
    # Clipped so that a side aligned entirely (or not at all) gets a finite cost.
    p = np.clip(p, 0.02, 0.98)
    return np.log(p / (1 - p))


def evidence_floor(en: np.ndarray, ar: np.ndarray, quantile: float, sample: int = 1024) -> float:
    """The given quantile of the cosines of a document's unrelated sentence pairs: every
    pair but each line's best match (on either side), so that in a short document the
    true pairs do not raise it. A pairing below it has no evidence. Evenly spaced lines,
    at most ``sample`` per side, so the cost stays bounded on long documents."""
    ie = np.unique(np.linspace(0, len(en) - 1, min(len(en), sample)).astype(np.int64))
    ia = np.unique(np.linspace(0, len(ar) - 1, min(len(ar), sample)).astype(np.int64))
    sims = en[ie] @ ar[ia].T
    unrelated = np.ones(sims.shape, bool)
    unrelated[np.arange(len(ie)), sims.argmax(1)] = False
    unrelated[sims.argmax(0), np.arange(len(ia))] = False
    pool = sims[unrelated] if unrelated.any() else sims.ravel()
    return float(np.quantile(pool, quantile))


def _paragraph_breaks(paragraph: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``starts[k]``: line k begins a paragraph (k = n: the end counts as one);
    ``inner``: prefix sums of paragraph breaks before each line."""
    p = np.asarray(paragraph)
    starts = np.ones(len(p) + 1, bool)
    starts[1:len(p)] = p[1:] != p[:-1]
    return starts, np.concatenate([[0], np.cumsum(starts[:len(p)])])


def _paragraph_span(breaks, first: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For runs of lines ``first`` .. ``ends - 1``: whether they cross a paragraph break,
    and whether they cover whole paragraphs."""
    starts, csum = breaks
    crosses = (csum[ends] - csum[first + 1]) > 0
    return crosses, starts[first] & starts[ends]


def _band_knn(x: np.ndarray, y: np.ndarray, band: _Band, a: int, b: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """kNN means of English runs (length a) against Arabic runs (length b) and back,
    each restricted to the runs its band lets it pair with (whole document when the
    band is full), so the cost stays linear in document length."""
    outs, steps = _band_knn_steps(x, y, band, a, b, k)
    _in_step(steps)
    return outs


def _is_full(band: _Band, m: int) -> bool:
    return bool((band.lo == 0).all() and (band.hi > m).all())


def _widened(band: _Band, lines: int, m: int) -> _Band:
    """The band with ``lines`` more columns on each side of every row."""
    return _Band(np.maximum(band.lo - lines, 0), np.minimum(band.hi + lines, m + 1))


def _full_sims(x, y) -> np.ndarray:
    """Every cosine of x's rows with y's."""
    return np.asarray(x[0:len(x)]) @ np.asarray(y[0:len(y)]).T


def _knn_means(sims: np.ndarray, k: int, leave_out: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The mean of every row's k highest cosines, and every column's: what
    ``_band_knn`` gives when the band is the whole table. At least ``leave_out`` of the
    other side's runs (the least alike) stay out of the mean (AlignmentConfig.knn_leave_out)."""
    n, m = sims.shape
    if n == 0 or m == 0:
        return np.zeros(n, np.float32), np.zeros(m, np.float32)
    kx, ky = min(k, max(1, m - leave_out)), min(k, max(1, n - leave_out))
    return ((-np.partition(-sims, kx - 1, axis=1)[:, :kx]).sum(1) / kx,
            (-np.partition(-sims, ky - 1, axis=0)[:ky]).sum(0) / ky)


def _band_knn_steps(x, y, band: _Band, a: int, b: int, k: int):
    """``_band_knn``'s two results (filled as the steps run) and its two computations as
    generators of steps (see ``_in_step``)."""
    n, m = len(x), len(y)
    if n == 0 or m == 0:
        return (np.zeros(n, np.float32), np.zeros(m, np.float32)), []
    # Run s (English) ends at DP row s + a; Arabic run c ends at DP column c + b.
    lo = np.clip(band.lo[np.arange(n) + a] - b, 0, m)
    hi = np.clip(band.hi[np.arange(n) + a] - b, 0, m)
    hi = np.maximum(hi, lo + 1).clip(max=m)
    lo = np.minimum(lo, hi - 1)
    # Column windows: the rows whose window covers column c (windows are monotone).
    rlo = np.searchsorted(hi, np.arange(m), side="right")
    rhi = np.searchsorted(lo, np.arange(m), side="right")
    out_x, out_y = np.zeros(n, np.float32), np.zeros(m, np.float32)
    return (out_x, out_y), [_windowed_knn_steps(x, y, lo, hi, k, out_x), _windowed_knn_steps(y, x, rlo, rhi, k, out_y)]


def _in_step(steps) -> None:
    """Run generators that yield their progress (0..1) through a document, always
    advancing the one furthest behind, so they read the document front to back together."""
    heap = [(0.0, i, g) for i, g in enumerate(steps)]
    heapq.heapify(heap)
    while heap:
        _, i, g = heapq.heappop(heap)
        progress = next(g, None)
        if progress is not None:
            heapq.heappush(heap, (progress, i, g))


def _windowed_knn(x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray, k: int,
                  block: int = 32) -> np.ndarray:
    """For each row i of x: mean of its k highest cosines with rows lo[i]..hi[i]-1 of y
    (fewer when the window is smaller; 0 for an empty window)."""
    out = np.zeros(len(x), np.float32)
    for _ in _windowed_knn_steps(x, y, lo, hi, k, out, block):
        pass
    return out


def _windowed_knn_steps(x, y, lo: np.ndarray, hi: np.ndarray, k: int, out: np.ndarray, block: int = 32):
    """``_windowed_knn`` into ``out``, one block of rows per step (yields the share of x done)."""
    for s0 in range(0, len(x), block):
        s1 = min(len(x), s0 + block)
        c0, c1 = int(lo[s0:s1].min()), int(hi[s0:s1].max())
        if c1 <= c0:
            yield s1 / len(x)
            continue
        cidx = np.arange(c0, c1)
        inside = (cidx[None, :] >= lo[s0:s1, None]) & (cidx[None, :] < hi[s0:s1, None])
        sims = np.where(inside, x[s0:s1] @ y[c0:c1].T, -np.inf)
        kk = min(k, c1 - c0)
        top = -np.partition(-sims, kk - 1, axis=1)[:, :kk]
        valid = np.isfinite(top)
        out[s0:s1] = np.where(valid, top, 0).sum(1) / np.maximum(valid.sum(1), 1)
        yield s1 / len(x)


def _search(values: _BeadValues, n: int, m: int, band: _Band, chunk: int = 64) -> list[Bead]:
    """The best monotonic sequence of beads (see ``_search_scored``)."""
    return _search_scored(values, n, m, band, chunk)[0]


def _search_scored(values, n: int, m: int, band: _Band, chunk: int = 64) -> tuple[list[Bead], list[float]]:
    """Dynamic programme over the band, row by row, vectorised along the row; the beads
    and the value of each (0 for a null bead). One document's :func:`_search_many`."""
    return _search_many([(values, n, m, band)], chunk)[0]


def _search_many(searches: Sequence[tuple], chunk: int = 64) -> list[tuple[list[Bead], list[float]]]:
    """The searches of several documents (each ``(values, n, m, band)``, all with the same
    bead types) in one dynamic programme; each document's beads and gains, bit for bit
    those of its own search (each cell takes the same sums and maxima).

    Rows are stored ragged (row r holds columns lo[r]..hi[r]-1 only), so memory follows
    the band's area, not its widest row; row i of every document is stored together (the
    documents in turn), so that one row of all of them costs a few array operations: a
    short document's search is dominated by their number, not their size. For each block
    of rows, every cell's predecessor under each bead type is found at once (its index in
    the ragged table, or a sentinel cell holding -inf where the predecessor's row does not
    reach)."""
    types = searches[0][0].types
    T, D = len(types), len(searches)
    NULL_AR = T + 1  # back: 0 null English line; t+1 types[t]; T+1 null Arabic line
    # Step 0 is the null English line: from (i-1, j).
    step_en = np.array([1] + [a for a, _ in types], np.int64)[:, None]
    step_ar = np.array([0] + [b for _, b in types], np.int64)[:, None]
    bands = [(band.lo.astype(np.int64), band.hi.astype(np.int64)) for _, _, _, band in searches]
    rows = max(n for _, n, _, _ in searches) + 1
    widths = np.zeros((rows, D), np.int64)  # of each document's row; 0 past its last row
    for d, (lo, hi) in enumerate(bands):
        widths[:len(lo), d] = hi - lo
    row_start = np.concatenate([[0], np.cumsum(widths)])  # of (row i, document d): i * D + d
    total = int(row_start[-1])
    at = row_start[:-1].reshape(rows, D)
    score = np.full(total + 1, _NEG)  # score[total]: the sentinel
    back = np.full(total, -1, np.int8)
    # Each document's own ragged table and where its cells lie in the shared one.
    starts = [np.concatenate([[0], np.cumsum(widths[:len(lo), d])]) for d, (lo, _) in enumerate(bands)]
    shared = [] if D == 1 else [np.concatenate(
        [np.repeat(at[:len(lo), d] - starts[d][:-1], widths[:len(lo), d]) + np.arange(starts[d][-1]), [total]])
        for d, (lo, _) in enumerate(bands)]
    for r0 in range(0, rows, chunk):
        r1 = min(rows, r0 + chunk)
        base = int(row_start[r0 * D])
        parts = [(d, _block_tables(values, n, *bands[d], starts[d], r0, min(n + 1, r1), step_en, step_ar))
                 for d, (values, n, _, _) in enumerate(searches) if n >= r0]
        if D == 1:
            pred, gain = parts[0][1]
        else:
            size = int(row_start[r1 * D]) - base
            pred, gain = np.empty((T + 1, size), np.int32), np.empty((T + 1, size), np.float32)
            owner = np.empty(size, np.float64)  # the document of each cell, for the running maxima
            for d, (p, g) in parts:
                cells = shared[d][starts[d][r0]:starts[d][min(len(bands[d][0]), r1)]] - base
                pred[:, cells], gain[:, cells], owner[cells] = shared[d][p], g, d
            tagged = np.empty(size, np.complex128)
            tagged.real = owner
        for i in range(r0, r1):
            s0, s1 = int(row_start[i * D]), int(row_start[(i + 1) * D])
            k0, k1 = s0 - base, s1 - base
            if i == 0:
                best = np.full(s1 - s0, _NEG)
                best[at[0] - s0] = 0.0  # each document's cell (0, 0): the empty prefix (lo[0] is always 0)
                back[s0:s1] = -1
            else:
                c = score[pred[:, k0:k1]] + gain[:, k0:k1]
                back[s0:s1] = c.argmax(0)
                best = c.max(0)
            # Null Arabic line: from (i, j-1) at no cost, i.e. a running maximum along each
            # document's row. Several documents: complex numbers compare by the real part
            # (the document) first, so one running maximum restarts at each document.
            if D == 1:
                run = np.maximum.accumulate(best)
            else:
                row = tagged[k0:k1]
                row.imag = best
                run = np.maximum.accumulate(row).imag
            back[s0:s1][run > best] = NULL_AR
            score[s0:s1] = run
    out = []
    for d, ((_, n, m, _), (lo, hi)) in enumerate(zip(searches, bands)):
        out.append(_trace(back, score, (at[:n + 1, d] - lo).tolist(), lo.tolist(), hi.tolist(), n, m, types))
    return out


def _block_tables(values, n: int, lo: np.ndarray, hi: np.ndarray, start: np.ndarray, r0: int, r1: int,
                  step_en: np.ndarray, step_ar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A block of one document's rows (r0..r1-1): each cell's predecessor under each step
    (its index in the document's ragged table; ``start[-1]``, the sentinel, where the
    predecessor's row does not reach) and what each step gains (row 0, the null English
    line, nothing)."""
    total = int(start[-1])
    c0, c1 = int(lo[r0]), int(hi[r1 - 1])
    vals = values.block(r0, r1, c0, c1)
    kept = values.predecessors
    tables = kept.get((r0, r1)) if kept is not None else None
    if tables is None:
        # Every cell (i, j) of rows r0..r1-1, in the order of the ragged table.
        widths = hi[r0:r1] - lo[r0:r1]
        rows = np.repeat(np.arange(r0, r1), widths)
        cols = np.arange(start[r0], start[r1]) - start[rows] + lo[rows]
        pi, pj = rows[None, :] - step_en, cols[None, :] - step_ar
        pc = np.maximum(pi, 0)
        inside = (pi >= 0) & (pj >= lo[pc]) & (pj < hi[pc])
        tables = (np.where(inside, start[pc] + pj - lo[pc], total).astype(np.int32), rows - r0, cols - c0)
        if kept is not None:
            kept[(r0, r1)] = tables
    pred, block_rows, block_cols = tables
    gain = np.zeros((len(step_en), len(block_rows)), np.float32)
    gain[1:] = vals[:, block_rows, block_cols]
    return pred, gain


def _trace(back: np.ndarray, score: np.ndarray, row_base: list[int], lo: list[int], hi: list[int], n: int, m: int,
           types: Sequence[tuple[int, int]]) -> tuple[list[Bead], list[float]]:
    """The beads of one document's search, from its last cell back (cell (i, j) at
    ``row_base[i] + j`` of ``back`` and ``score``), and the value of each."""
    NULL_AR = len(types) + 1
    beads: list[Bead] = []
    gains: list[float] = []
    i, j = n, m
    while i > 0 or j > 0:
        t = int(back[row_base[i] + j]) if lo[i] <= j < hi[i] else -1
        if t == 0:
            beads.append(Bead((i - 1,), ()))
            i -= 1
        elif t == NULL_AR:
            beads.append(Bead((), (j - 1,)))
            j -= 1
        elif t < 0:
            raise RuntimeError(f"alignment search left the band at cell ({i}, {j})")
        else:
            a, b = types[t - 1]
            # The score is set once the search is over (_with_cosines): passes and blocks
            # would fetch the same rows again and again.
            beads.append(Bead(tuple(range(i - a, i)), tuple(range(j - b, j)), 0.0))
            gains.append(float(score[row_base[i] + j] - score[row_base[i - a] + j - b]))
            i, j = i - a, j - b
            continue
        gains.append(0.0)
    beads.reverse()
    gains.reverse()
    return beads, gains


class _Rectangle:
    """The bead values of a rectangle of the document (English lines from ``e0``, Arabic
    lines from ``a0``) as a search of its own: no bead starts before its first lines, and
    each bead must beat ``moved_threshold`` instead of ``threshold``, and earns no null
    cost: the null costs fit the monotonic path, and a block earning them pairs a faithful
    translation's lines across it (dev .933 -> .927, dev-split .832 -> .822 with them)."""

    null = False
    predecessors = None  # each rectangle is searched once

    def __init__(self, values: _BeadValues, e0: int, a0: int, costs: tuple[np.ndarray, np.ndarray] | None = None):
        self.values, self.e0, self.a0, self.types = values, e0, a0, values.types
        cfg = values.config
        self.shift: np.ndarray | None = np.array(
            [((a + b) / 2.0) ** cfg.size_power * (cfg.moved_threshold - cfg.threshold) for a, b in self.types],
            np.float32)
        self.costs = costs  # prefix sums of what taking each line from its bead costs

    def block(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        out = self.values.block(r0 + self.e0, r1 + self.e0, c0 + self.a0, c1 + self.a0, keep=False, null=self.null)
        a, b = self.values._sizes
        if self.shift is not None:
            out -= self.shift[:, None, None]
        if self.costs is not None:
            ce, ca = self.costs
            rows, cols = np.arange(r0, r1) + self.e0, np.arange(c0, c1) + self.a0
            out -= (_run_sums(ce, rows, a)[:, :, None] + _run_sums(ca, cols, b)[:, None, :]).astype(np.float32)
        # No bead starts before the rectangle's first lines.
        out[(np.arange(r0, r1)[None, :] < a[:, None])[:, :, None] | (np.arange(c0, c1)[None, :] < b[:, None])[:, None, :]] = _NEG
        return out

    def cosine(self, a: int, b: int, i: int, j: int) -> float:
        return self.values.cosine(a, b, i + self.e0, j + self.a0)


class _HeldOut(_Rectangle):
    """A window of the document as a search of its own (``_Rectangle``) by the path's own
    standard (``threshold``), with some lines held out of every bead (they can only be
    left out, which costs nothing): the monotonic search around lines a moved block took."""

    null = True

    def __init__(self, values: _BeadValues, held: tuple[np.ndarray, np.ndarray], e0: int, a0: int):
        super().__init__(values, e0, a0)
        self.shift = None  # the path's own standard
        self.held = tuple(np.concatenate([[0], np.cumsum(h)]) for h in held)

    def block(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        out = super().block(r0, r1, c0, c1)
        (he, ha), (a, b) = self.held, self.values._sizes
        rows, cols = np.arange(r0, r1) + self.e0, np.arange(c0, c1) + self.a0
        en_held, ar_held = _run_sums(he, rows, a) > 0, _run_sums(ha, cols, b) > 0
        out[en_held[:, :, None] | ar_held[:, None, :]] = _NEG
        return out


def _repath(values: _BeadValues, beads: list[Bead], n: int, m: int) -> list[Bead]:
    """The monotonic search again around the lines the moved beads took (held out of
    every bead), in windows of the path: from the path's cell one bead before the first
    bead within ``4 * max_side`` lines of a taken line to the cell one bead after the
    last, so the work grows with the blocks, not with the document (a reach of
    ``2 * max_side`` loses .003 of dev-reorder's strict F1 against searching the whole
    document again; 4 loses nothing). The moved beads go back at their English place."""
    cfg = values.config
    moved = [b for b in beads if b.moved]
    rest = [b for b in beads if not b.moved]
    held = np.zeros(n, bool), np.zeros(m, bool)
    for b in moved:
        held[0][list(b.en)] = True
        held[1][list(b.ar)] = True
    # The DP cell before each bead of the rest of the path, and after the last.
    cells, i, j = [], 0, 0
    for b in rest:
        i, j = (b.en[0] if b.en else i), (b.ar[0] if b.ar else j)
        cells.append((i, j))
        i, j = (b.en[-1] + 1 if b.en else i), (b.ar[-1] + 1 if b.ar else j)
    cells.append((n, m))
    reach = 4 * cfg.max_side
    near = [np.convolve(h, np.ones(2 * reach + 1), "same") > 0 for h in held]
    dirty = np.array([any(near[0][list(b.en)]) or any(near[1][list(b.ar)]) for b in rest] or [False], bool)
    dirty = np.convolve(dirty, np.ones(3), "same") > 0  # and one bead either side
    out: list[Bead] = []
    k = 0
    while k < len(rest):
        if not dirty[k]:
            out.append(rest[k])
            k += 1
            continue
        k1 = k
        while k1 < len(rest) and dirty[k1]:
            k1 += 1
        (e0, a0), (e1, a1) = cells[k], cells[k1]
        w, h = e1 - e0, a1 - a0
        points = [(x - e0, y - a0) for x, y in cells[k:k1 + 1]]
        band = _full_band(w, h) if (w + 1) * (h + 1) <= cfg.max_full_cells else _band_around(points, w, h, reach)
        for b in _search(_HeldOut(values, held, e0, a0), w, h, band):
            b = Bead(tuple(x + e0 for x in b.en), tuple(y + a0 for y in b.ar), b.score)
            if not (b.is_null and (held[0][b.en[0]] if b.en else held[1][b.ar[0]])):
                out.append(b)
        k = k1
    # Each moved bead before the first bead that starts after it on the English side.
    starts = [b.en[0] if b.en else -1 for b in out]
    for b in sorted(moved, key=lambda x: x.en[0], reverse=True):
        at = next((p for p, e in enumerate(starts) if e > b.en[0]), len(out))
        out.insert(at, b)
        starts.insert(at, b.en[0])
    return out


def find_moved_blocks(values: _BeadValues, beads: list[Bead], gains: Sequence[float]) -> list[Bead]:
    """Align passages the report moved where they lie: blocks of lines the monotonic path
    left free that match free lines elsewhere on the other side.

    Taking a line from the path costs what its bead is worth by the moved-block standard
    (its value with ``moved_threshold`` in place of ``threshold``, at least 0): nothing for
    a line left out or glued on (an edge line of a bead with no evidence of its own
    against the bead's other side), little for a bead the path made only to stay on
    track. Lines that cost less than ``moved_block_cost`` are free to take. Seeds are
    pairs of free lines that are each other's best free counterpart within
    ``moved_window`` lines of where the path passes them; around each seed the bead search
    runs again on the rectangle of the two free stretches (``max_side`` lines before the
    seed's cell of ``max_side`` lines to ``max_side`` after it), with the same bead values
    but ``moved_threshold`` in place of ``threshold``, less what its lines cost. A block
    is kept when its beads earn more than ``moved_block_cost`` and each crosses the path;
    blocks are taken best first, each line once. A bead that gave up lines keeps its best
    remaining piece. ``gains``: the value of each bead of ``beads`` in the search that
    made them."""
    cfg = values.config
    n, m = len(values.en_runs[0]), len(values.ar_runs[0])
    shift = dict(zip(values.types, _Rectangle(values, 0, 0).shift))
    # What taking a line from the path costs: nothing for a line left out or glued on,
    # else what its bead is worth by the moved-block standard (a line worth more than a
    # block must earn is not offered).
    cost_en, cost_ar = np.zeros(n), np.zeros(m)
    for b, gain in zip(beads, gains):
        if not b.is_null:
            worth = max(0.0, gain - shift[(len(b.en), len(b.ar))] - values.null_earning(b))
            cost_en[list(b.en)] = worth
            cost_ar[list(b.ar)] = worth
            cost_en[list(_glued_lines(values, b, 0))] = 0.0
            cost_ar[list(_glued_lines(values, b, 1))] = 0.0
    free_en = (cost_en == 0) | (cost_en < cfg.moved_block_cost)
    free_ar = (cost_ar == 0) | (cost_ar < cfg.moved_block_cost)
    if not free_en.any() or not free_ar.any():
        return beads
    costs = (np.concatenate([[0.0], np.cumsum(cost_en)]), np.concatenate([[0.0], np.cumsum(cost_ar)]))
    path = _PathIndex(beads)
    seeds = _moved_seeds(values, np.flatnonzero(free_en), np.flatnonzero(free_ar), path.at)
    reach = cfg.max_side
    stretch_en, stretch_ar = _stretches(np.flatnonzero(free_en), n), _stretches(np.flatnonzero(free_ar), m)
    blocks: dict[tuple[int, int, int, int], tuple[float, list[tuple[Bead, float]]]] = {}
    paired: set[tuple[int, int]] = set()  # (English, Arabic) lines some block already pairs
    for i, j in seeds:
        if path.owner_en[i] == path.owner_ar[j]:
            continue  # the path already pairs them: a search around them finds the path again
        e0, e1 = _clip(stretch_en, i, reach)
        a0, a1 = _clip(stretch_ar, j, reach)
        if (e0, e1, a0, a1) in blocks or (i, j) in paired:
            continue  # the same rectangle, or a seed another rectangle's block already covers
        found, found_gains = _search_scored(_Rectangle(values, e0, a0, costs), e1 - e0, a1 - a0, _full_band(e1 - e0, a1 - a0))
        moved = [(Bead(tuple(x + e0 for x in b.en), tuple(y + a0 for y in b.ar), b.score, True), g)
                 for b, g in zip(found, found_gains) if not b.is_null]
        blocks[(e0, e1, a0, a1)] = (sum(found_gains), moved)
        paired.update((x, y) for b, _ in moved for x in b.en for y in b.ar)
    taken = False
    for _, (total, moved) in sorted(blocks.items(), key=lambda kv: (-kv[1][0], kv[0])):
        if moved and total > cfg.moved_block_cost:
            taken = path.take(moved, values, cfg.moved_block_cost) or taken
    if not taken:
        return beads
    return _repath(values, path.beads(), n, m) if cfg.moved_repath else path.beads()


def _glued_lines(values: _BeadValues, bead: Bead, side: int) -> list[int]:
    """The lines at either end of a bead's side (of 2+ lines) with no evidence of their own
    against the bead's other side: a 1-1 margin (against runs of the other side's length)
    below ``moved_threshold``. At least one line stays."""
    lines = bead.en if side == 0 else bead.ar
    if len(lines) < 2:
        return []
    other = bead.ar if side == 0 else bead.en
    shape = (1, len(other)) if side == 0 else (len(other), 1)
    if shape not in values.knn:
        return []
    mine, theirs = (values.en_runs, values.ar_runs)[side], (values.ar_runs, values.en_runs)[side]
    k_mine, k_theirs = values.knn[shape][side], values.knn[shape][1 - side]
    run = theirs[len(other) - 1][other[0]]
    margin = [(float(mine[0][x] @ run) - 0.5 * (k_mine[x] + k_theirs[other[0]])) / values.scale for x in lines]
    weak = [g < values.config.moved_threshold for g in margin]
    out = []
    for order in (range(len(lines)), range(len(lines) - 1, -1, -1)):
        for k in order:
            if not weak[k] or len(out) == len(lines) - 1:
                break
            if lines[k] not in out:
                out.append(lines[k])
    return sorted(out)


class _PathIndex:
    """The monotonic path while moved blocks are taken from it: which bead holds each
    line, where the path is on the Arabic side at each English line, and whether a bead
    crosses the path."""

    def __init__(self, beads: list[Bead]):
        self.path: list[Bead | None] = list(beads)  # None: a bead that gave up lines
        n = sum(len(b.en) for b in beads)
        m = sum(len(b.ar) for b in beads)
        self.owner_en, self.owner_ar = np.zeros(n, np.int64), np.zeros(m, np.int64)
        self.at = np.zeros(n, np.int64)
        j = 0
        for k, b in enumerate(beads):
            self.owner_en[list(b.en)] = k
            self.owner_ar[list(b.ar)] = k
            self.at[list(b.en)] = b.ar[0] if b.ar else j
            if b.ar:
                j = b.ar[-1] + 1
        self.placed: dict[int, list[Bead]] = {}  # path index -> what takes its place
        self.taken: tuple[set[int], set[int]] = (set(), set())  # lines moved beads hold (English, Arabic)

    def take(self, block: list[tuple[Bead, float]], values: _BeadValues, cost: float) -> bool:
        """Take the beads of a block (each with its value) that cross the path as it
        stands once their lines are taken, when no moved bead holds any of their lines
        yet and together they earn more than ``cost``; whether they were taken. A line an
        earlier block freed (the rest of a bead that gave it up) can still be taken."""
        while True:
            lines_en = {i for b, _ in block for i in b.en}
            lines_ar = {j for b, _ in block for j in b.ar}
            hit = sorted({int(self.owner_en[i]) for i in lines_en} | {int(self.owner_ar[j]) for j in lines_ar})
            if not block or lines_en & self.taken[0] or lines_ar & self.taken[1]:
                return False
            current = {k: self.placed[k] if self.path[k] is None else [self.path[k]] for k in hit}
            rest = {k: [piece for x in current[k] for piece in
                        (_rest(x, lines_en, lines_ar, values) if not x.moved and (lines_en.intersection(x.en)
                                                                                or lines_ar.intersection(x.ar)) else [x])]
                    for k in hit}
            crossing = [(b, g) for b, g in block if self._crosses(b, rest)]
            if len(crossing) == len(block):
                break
            block = crossing  # what the rest of the search could have made in order stays
        if sum(g for _, g in block) <= cost:
            return False
        for k in hit:
            self.path[k] = None
            self.placed[k] = rest[k]
        for b, _ in block:
            self.placed.setdefault(int(self.owner_en[b.en[0]]), []).append(b)
            self.taken[0].update(b.en)
            self.taken[1].update(b.ar)
        return True

    def _crosses(self, b: Bead, rest: dict[int, list[Bead]]) -> bool:
        """Whether ``b``'s Arabic lines lie outside the gap the path leaves between the
        aligned beads before and after its English lines."""
        def aligned(k: int) -> Bead | None:
            beads = rest.get(k, self.placed.get(k, [self.path[k]]))
            found = [x for x in beads if x is not None and not x.is_null and not x.moved]
            return found[0] if found else None

        lo, hi = 0, len(self.owner_ar)
        k0, k1 = int(self.owner_en[b.en[0]]), int(self.owner_en[b.en[-1]])
        own = aligned(k0)
        if own is not None and own.en[0] < b.en[0]:
            lo = own.ar[-1] + 1
        else:
            for k in range(k0 - 1, -1, -1):
                prev = aligned(k)
                if prev is not None:
                    lo = prev.ar[-1] + 1
                    break
        own = aligned(k1)
        if own is not None and own.en[-1] > b.en[-1]:
            hi = own.ar[0]
        else:
            for k in range(k1 + 1, len(self.path)):
                nxt = aligned(k)
                if nxt is not None:
                    hi = nxt.ar[0]
                    break
        return not (lo <= b.ar[0] and b.ar[-1] < hi)

    def beads(self) -> list[Bead]:
        """The path's beads, each bead that gave up lines replaced by what remains of it
        and by the moved beads that start on its English lines (in English order)."""
        out: list[Bead] = []
        for k, b in enumerate(self.path):
            if b is not None:
                out.append(b)
                continue
            group = self.placed.get(k, [])
            kept = [x for x in group if not x.is_null and not x.moved]
            en_items = sorted((x for x in group if x.en and (x.moved or x.is_null)), key=lambda x: x.en[0])
            ar_nulls = sorted((x for x in group if not x.en), key=lambda x: x.ar[0])
            if not kept:
                out += en_items + ar_nulls
                continue
            e, a = kept[0].en[0], kept[0].ar[0]
            out += [x for x in en_items if x.en[0] < e] + [x for x in ar_nulls if x.ar[0] < a] + kept
            out += [x for x in en_items if x.en[0] > e] + [x for x in ar_nulls if x.ar[0] > a]
        return out


def _rest(bead: Bead, lines_en: set[int], lines_ar: set[int], values: _BeadValues) -> list[Bead]:
    """What remains of a bead that gives up some lines: the pair of consecutive pieces of
    its remaining lines (one per side) with the highest cosine stays a bead, the other
    lines are left out."""
    pieces = [_pieces([i for i in bead.en if i not in lines_en]), _pieces([j for j in bead.ar if j not in lines_ar])]
    best = max(((values.cosine(len(e), len(a), e[0], a[0]), e, a) for e in pieces[0] for a in pieces[1]
                if (len(e), len(a)) in values.knn), default=None, key=lambda c: c[0])
    keep_en, keep_ar = (best[1], best[2]) if best else ((), ())
    out = [Bead(keep_en, keep_ar, round(best[0], 6))] if best else []
    out += [Bead((i,), ()) for e in pieces[0] for i in e if e != keep_en]
    out += [Bead((), (j,)) for a in pieces[1] for j in a if a != keep_ar]
    return out


def _pieces(lines: list[int]) -> list[tuple[int, ...]]:
    """Consecutive stretches of sorted line numbers."""
    out: list[list[int]] = []
    for x in lines:
        if out and x == out[-1][-1] + 1:
            out[-1].append(x)
        else:
            out.append([x])
    return [tuple(p) for p in out]


def _stretches(lines: np.ndarray, size: int) -> np.ndarray:
    """For each line of a side, the first line of the stretch of consecutive ``lines`` it
    is in, and (second row) one past its last (-1 for lines not in ``lines``)."""
    out = np.full((2, size), -1, np.int64)
    breaks = np.flatnonzero(np.diff(lines) != 1) + 1
    for part in np.split(lines, breaks):
        out[0, part] = part[0]
        out[1, part] = part[-1] + 1
    return out


def _clip(stretches: np.ndarray, k: int, reach: int) -> tuple[int, int]:
    """The part of line k's stretch within ``reach`` lines of it, on a grid of ``reach``
    lines so that neighbouring seeds share one rectangle."""
    s0, s1 = int(stretches[0, k]), int(stretches[1, k])
    g = s0 + (k - s0) // reach * reach
    return max(s0, g - reach), min(s1, g + 2 * reach)


def _moved_seeds(values: _BeadValues, free_en: np.ndarray, free_ar: np.ndarray, at: np.ndarray,
                 chunk: int = 256) -> list[tuple[int, int]]:
    """Pairs of free lines that are each other's best free counterpart within
    ``moved_window`` lines of the path, by 1-1 margin, and beat ``moved_threshold``:
    (English line, Arabic line), in order. Mutual best matches: a moved block has them,
    and random left-out lines seldom do (one seed per block keeps the search short)."""
    cfg = values.config
    en, ar = values.en_runs[0], values.ar_runs[0]
    ken, kar = values.knn[(1, 1)]
    w = cfg.moved_window
    best_ar = np.full(len(free_ar), -np.inf)
    arg_ar = np.full(len(free_ar), -1, np.int64)
    row_best: list[tuple[int, int, float]] = []
    for s0 in range(0, len(free_en), chunk):
        rows = free_en[s0:s0 + chunk]
        c0 = int(np.searchsorted(free_ar, at[rows].min() - w))
        c1 = int(np.searchsorted(free_ar, at[rows].max() + w, side="right"))
        if c1 <= c0:
            continue
        cols = free_ar[c0:c1]
        margin = (en[rows] @ ar[cols].T - 0.5 * (ken[rows][:, None] + kar[cols][None, :])) / values.scale
        margin[np.abs(at[rows][:, None] - cols[None, :]) > w] = -np.inf
        top = margin.argmax(1)
        row_best += [(int(rows[r]), c0 + int(c), float(margin[r, c])) for r, c in enumerate(top)]
        col_best = margin.max(0)
        better = col_best > best_ar[c0:c1]
        best_ar[c0:c1][better] = col_best[better]
        arg_ar[c0:c1][better] = rows[margin.argmax(0)[better]]
    return [(i, int(free_ar[c])) for i, c, value in row_best if value > cfg.moved_threshold and arg_ar[c] == i]


_BLAS = None


def _one_blas_thread():
    """A context that runs BLAS single-threaded: the search multiplies many small
    matrices, where thread start-up and spinning cost more than they save (15x slower
    with two threads on a busy 2-core machine, measured on the dev set)."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()  # finding the BLAS libraries is slow: do it once
    return _BLAS.limit(limits=1, user_api="blas")


def align_runs(en_runs: Sequence[np.ndarray], ar_runs: Sequence[np.ndarray],
               config: AlignmentConfig | None = None, *, en_lengths: Sequence[float] | None = None,
               ar_lengths: Sequence[float] | None = None, en_paragraphs: Sequence[int] | None = None,
               ar_paragraphs: Sequence[int] | None = None, en_paragraph_runs: Sequence[np.ndarray] | None = None,
               ar_paragraph_runs: Sequence[np.ndarray] | None = None,
               en_anchors: Sequence[Sequence[int]] | None = None,
               ar_anchors: Sequence[Sequence[int]] | None = None,
               centered: tuple[Sequence[np.ndarray], Sequence[np.ndarray]] | None = None) -> list[Bead]:
    """Align two documents given run embeddings of each side.

    ``en_runs[k-1]`` is an (n-k+1, d) matrix of L2-normalised embeddings of the English
    runs of ``k`` consecutive sentences (``en_runs[0]`` the sentences themselves); the
    same for ``ar_runs``. ``en_lengths`` / ``ar_lengths`` (characters per sentence, as the
    encoder saw them) add length-ratio evidence when given; ``en_paragraphs`` /
    ``ar_paragraphs`` (the paragraph index of each sentence, raw text) add paragraph
    evidence. ``en_paragraph_runs`` / ``ar_paragraph_runs`` (the same kind of runs, of
    consecutive paragraphs) let the paragraphs be aligned first (``paragraphs_first``):
    each sentence bead then lies inside one paragraph bead. ``en_anchors`` /
    ``ar_anchors`` (each sentence's anchor keys as integers, the same integer for the same
    key on both sides: ``aligner.text.anchors.shared_anchor_ids``) add the evidence of
    shared names and numbers. ``centered``: both sides' runs already centred as ``config``
    centres them (:func:`center_runs`), from a caller that aligns one document with several
    others (content pairing's re-scoring) and so centres each once. Returns the beads in
    document order; every line of both sides appears in exactly one bead.
    """
    return align_runs_many([dict(en_runs=en_runs, ar_runs=ar_runs, config=config, en_lengths=en_lengths,
                                 ar_lengths=ar_lengths, en_paragraphs=en_paragraphs, ar_paragraphs=ar_paragraphs,
                                 en_paragraph_runs=en_paragraph_runs, ar_paragraph_runs=ar_paragraph_runs,
                                 en_anchors=en_anchors, ar_anchors=ar_anchors, centered=centered)])[0]


def align_runs_many(alignments: Iterable[dict], cells: int = 250_000) -> list[list[Bead]]:
    """Align several pairs of documents: each item holds :func:`align_runs`' arguments by
    name, and gets the beads ``align_runs`` gives it, bit for bit. Short documents are
    searched together, row by row (:func:`_search_many`), so that many small alignments
    (content pairing's re-scoring) pay each row's array operations once. At most ``cells``
    table cells are searched together (a document above it alone): the documents'
    tables and bead values are all held while they are searched."""
    out: list[list[Bead]] = []
    with _one_blas_thread():
        for group in groups_of_cells(alignments, lambda job: (len(job["en_runs"][0]), len(job["ar_runs"][0])), cells):
            out += _drive([_job_steps(**job) for job in group])
    return out


def groups_of_cells(items: Iterable, lines: Callable[[Any], tuple[int, int]], cells: int) -> Iterator[list]:
    """``items`` in consecutive groups of at most ``cells`` table cells in all (``lines``:
    an item's English and Arabic line counts, ``(n + 1) * (m + 1)`` cells); an item above
    it alone."""
    group: list = []
    size = 0
    for item in items:
        n, m = lines(item)
        if group and size + (n + 1) * (m + 1) > cells:
            yield group
            group, size = [], 0
        group.append(item)
        size += (n + 1) * (m + 1)
    if group:
        yield group


def _job_steps(en_runs, ar_runs, config=None, *, en_lengths=None, ar_lengths=None, en_paragraphs=None,
               ar_paragraphs=None, en_paragraph_runs=None, ar_paragraph_runs=None, en_anchors=None, ar_anchors=None,
               centered=None):
    """The :func:`_align_steps` of :func:`align_runs`' arguments (paragraphs aligned
    first where asked, anchors gathered)."""
    config = config or AlignmentConfig()
    have_anchors = en_anchors is not None and ar_anchors is not None
    paragraphs = groups = None
    if en_paragraphs is not None and ar_paragraphs is not None:
        paragraphs = (np.asarray(en_paragraphs), np.asarray(ar_paragraphs))
        if config.paragraphs_first and en_paragraph_runs is not None and ar_paragraph_runs is not None \
                and _same_grain(paragraphs, config.paragraphs_first_max_ratio):
            # A paragraph's anchors are its sentences'.
            paragraph_anchors = [_paragraph_keys(keys, p) for keys, p in zip((en_anchors, ar_anchors), paragraphs)] \
                if have_anchors else None
            groups = paragraph_groups(en_paragraph_runs, ar_paragraph_runs, paragraphs, config,
                                      en_lengths, ar_lengths, paragraph_anchors)
    anchors = _Anchors(en_anchors, ar_anchors, config.anchor_max_lines) if have_anchors else None
    return _align_steps(en_runs, ar_runs, config, en_lengths, ar_lengths, paragraphs, groups, anchors, centered)


def _paragraph_keys(keys: Sequence[Sequence[int]], paragraph: np.ndarray) -> list[list[int]]:
    """Each paragraph's anchor keys: the union of its sentences' (paragraphs contiguous)."""
    out: list[set[int]] = []
    for k, (sentence_keys, p) in enumerate(zip(keys, paragraph)):
        if k == 0 or p != paragraph[k - 1]:
            out.append(set())
        out[-1].update(int(x) for x in sentence_keys)
    return [sorted(x) for x in out]


def _same_grain(paragraphs: tuple[np.ndarray, np.ndarray], max_ratio: float) -> bool:
    """Are the two sides' paragraphs of one grain (neither side more than ``max_ratio``
    times as many as the other)? See ``AlignmentConfig.paragraphs_first_max_ratio``."""
    counts = sorted(len(paragraph_starts(p)) if len(p) else 0 for p in paragraphs)
    return counts[1] <= max_ratio * max(counts[0], 1)


def paragraph_starts(paragraph: np.ndarray) -> np.ndarray:
    """Index of the first sentence of each paragraph (``paragraph``: one index per
    sentence, paragraphs contiguous)."""
    return np.concatenate([[0], np.flatnonzero(np.diff(paragraph)) + 1]).astype(np.int64)


def paragraph_groups(en_paragraph_runs, ar_paragraph_runs, paragraphs: tuple[np.ndarray, np.ndarray],
                     config: AlignmentConfig, en_lengths=None, ar_lengths=None,
                     anchors: tuple[Sequence[Sequence[int]], Sequence[Sequence[int]]] | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Align the paragraphs (the same search, on paragraph runs) and give each sentence
    the number of its paragraph bead (``-1``: a paragraph left unaligned). ``anchors``:
    each paragraph's anchor keys (see ``align_runs``)."""
    starts = [paragraph_starts(p) for p in paragraphs]
    sizes = [np.diff(np.concatenate([st, [len(p)]])) for st, p in zip(starts, paragraphs)]
    lengths = [None if lens is None else np.add.reduceat(np.asarray(lens, np.float64), st)
               for lens, st in zip((en_lengths, ar_lengths), starts)]
    beads = _align_runs(en_paragraph_runs, ar_paragraph_runs, config, lengths[0], lengths[1],
                        anchors=_Anchors(*anchors, config.anchor_max_lines) if anchors is not None else None)
    groups = [np.repeat(np.full(len(sz), -1, np.int64), sz) for sz in sizes]
    for k, b in enumerate(beads):
        if b.is_null:
            continue
        for side, units in ((0, b.en), (1, b.ar)):
            first, last = starts[side][units[0]], starts[side][units[-1]] + sizes[side][units[-1]]
            groups[side][first:last] = k
    return groups[0], groups[1]


def _align_runs(en_runs, ar_runs, config: AlignmentConfig, en_lengths, ar_lengths, paragraphs=None,
                groups=None, anchors: _Anchors | None = None, centered=None) -> list[Bead]:
    return _drive([_align_steps(en_runs, ar_runs, config, en_lengths, ar_lengths, paragraphs, groups, anchors,
                                centered)])[0]


def _drive(alignments: Sequence) -> list[list[Bead]]:
    """Run alignments given as :func:`_align_steps` generators side by side: each round,
    the searches all of them ask for are made together (:func:`_search_many`, those with
    the same bead types at once) and each gets its own answer back. The beads of each."""
    out: list[list[Bead] | None] = [None] * len(alignments)
    asked: dict[int, tuple] = {}

    def advance(k: int, answer) -> None:
        try:
            asked[k] = alignments[k].send(answer)
        except StopIteration as done:
            out[k] = done.value

    for k in range(len(alignments)):
        advance(k, None)
    while asked:
        by_types: dict[tuple, list[int]] = {}
        for k, search in asked.items():
            by_types.setdefault(tuple(search[0].types), []).append(k)
        answers = {k: found for ks in by_types.values()
                   for k, found in zip(ks, _search_many([asked[k] for k in ks]))}
        asked.clear()
        for k, answer in answers.items():
            advance(k, answer)
    return out  # type: ignore[return-value]


def _align_steps(en_runs, ar_runs, config: AlignmentConfig, en_lengths, ar_lengths, paragraphs=None,
                 groups=None, anchors: _Anchors | None = None, centered=None):
    """One document's alignment as a generator: it yields each search of the main path
    it needs, ``(values, n, m, band)``, is sent that search's ``(beads, gains)`` and
    returns the beads (see :func:`_drive`)."""
    n, m = len(en_runs[0]), len(ar_runs[0])
    if n == 0 or m == 0:
        return [Bead((i,), ()) for i in range(n)] + [Bead((), (j,)) for j in range(m)]
    raw_en, raw_ar = en_runs, ar_runs
    if config.center:
        en_runs, ar_runs = centered or (center_runs(en_runs, config.center_window),
                                        center_runs(ar_runs, config.center_window))
    if (n + 1) * (m + 1) <= config.max_full_cells:
        band = _full_band(n, m)
    else:
        band = _coarse_band(en_runs[0], ar_runs[0], config)
    # First pass on embeddings alone; the second adds the length term, which needs the
    # document's length ratio measured on a first alignment.
    values = _BeadValues(en_runs, ar_runs, band, config, paragraphs, groups, anchors)
    beads, gains = yield values, n, m, band
    have_lengths = en_lengths is not None and ar_lengths is not None and config.length_weight > 0
    if have_lengths:
        values.measure_length_ratio(beads, en_lengths, ar_lengths)
        beads, gains = yield values, n, m, band
        # The weak-line cost fitted to how much of each side this alignment (the length
        # term on, the cost in full) leaves out (see AlignmentConfig.weak_line_full_at).
        if values.fit_weak_lines(beads):
            beads, gains = yield values, n, m, band
    # The document's null costs, from how much of it that alignment aligns (the first
    # pass's where no lengths are given; see AlignmentConfig.null_weight).
    if values.fit_null_costs(beads):
        beads, gains = yield values, n, m, band
    if have_lengths:
        # The length ratio measured again on the alignment it gave, until the beads stop
        # changing (see AlignmentConfig.length_passes). The null costs stay as fitted:
        # re-measured, a side's aligned share would feed on itself.
        for _ in range(config.length_passes - 1):
            if not values.measure_length_ratio(beads, en_lengths, ar_lengths):
                break  # the ratio has settled: the next pass would give (nearly) these beads
            previous = beads
            beads, gains = yield values, n, m, band
            if beads == previous:
                break
    if config.moved_blocks:
        beads = find_moved_blocks(values, beads, gains)
    # Report the plain cosine of the encoder's embeddings (centring is a search device).
    return _with_cosines(beads, raw_en, raw_ar)


def _with_cosines(beads: list[Bead], en_runs, ar_runs) -> list[Bead]:
    """The beads with each aligned one's cosine (rounded to 6 decimals), the rows of each
    bead shape fetched at once (runs computed on demand are read in blocks)."""
    by_shape: dict[tuple[int, int], list[int]] = {}
    for k, b in enumerate(beads):
        if not b.is_null:
            by_shape.setdefault((len(b.en), len(b.ar)), []).append(k)
    out = list(beads)
    for (a, b), ks in by_shape.items():
        x = en_runs[a - 1][np.array([beads[k].en[0] for k in ks])]
        y = ar_runs[b - 1][np.array([beads[k].ar[0] for k in ks])]
        for r, k in enumerate(ks):
            out[k] = replace(beads[k], score=round(float(x[r] @ y[r]), 6))
    return out


def _coarse_band(en: np.ndarray, ar: np.ndarray, config: AlignmentConfig) -> _Band:
    """Align block averages of both sides, then project that path to a fine band.

    The block size is fixed and the coarse alignment is itself coarse-to-fine when it is
    still too large (recursively), so the band keeps a constant width at every level and
    the whole search stays linear in document length."""
    f = max(2, config.coarse_block)
    en_c, ar_c = _blocks(en, f), _blocks(ar, f)
    # The band follows the monotonic path: a moved block there would widen it for nothing.
    coarse_cfg = replace(config, max_side=2, max_many_lines=0, evidence_quantile=0.0, moved_blocks=False)
    coarse = align_runs(run_embeddings_by_mean(en_c, 2), run_embeddings_by_mean(ar_c, 2), coarse_cfg)
    fine = [Bead(tuple(i for c in b.en for i in range(c * f, min(len(en), c * f + f))),
                 tuple(j for c in b.ar for j in range(c * f, min(len(ar), c * f + f)))) for b in coarse]
    return _band_from_path(fine, len(en), len(ar), config.band_width + f)


def _blocks(x: np.ndarray, f: int, rows: int = 8192) -> np.ndarray:
    """Normalised sums of consecutive blocks of ``f`` rows (the last one shorter), read
    ``rows`` rows at a time (``x`` may compute its rows on demand)."""
    parts = []
    step = max(f, rows - rows % f)
    for s in range(0, len(x), step):
        chunk = x[s:s + step]
        n = (len(chunk) + f - 1) // f
        pad = np.zeros((n * f - len(chunk), chunk.shape[1]), chunk.dtype)
        parts.append(np.concatenate([chunk, pad]).reshape(n, f, -1).sum(1))
    m = np.concatenate(parts) if parts else np.zeros((0, x.shape[1]), np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return (m / norms).astype(np.float32)


def align_embeddings(en: np.ndarray, ar: np.ndarray, config: AlignmentConfig | None = None, *,
                     en_lengths: Sequence[float] | None = None,
                     ar_lengths: Sequence[float] | None = None) -> list[Bead]:
    """Align from sentence embeddings only; runs are the normalised means of sentences."""
    config = config or AlignmentConfig()
    return align_runs(run_embeddings_by_mean(en, config.max_run), run_embeddings_by_mean(ar, config.max_run), config,
                      en_lengths=en_lengths, ar_lengths=ar_lengths)
