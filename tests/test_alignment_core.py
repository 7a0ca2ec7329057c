"""The alignment core on hand-built embeddings with known answers (no encoder).

Each "sentence" is a random unit vector (seeded numpy; random vectors in 128 dimensions
are nearly orthogonal). A translated pair shares a base vector plus a little noise; an
untranslated line gets a base vector of its own; a merged side is the normalised sum of
the other side's base vectors. So the correct beads are known exactly.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aligner.alignment as alignment_mod
from aligner.alignment import (
    AlignmentConfig,
    Bead,
    align_embeddings,
    align_runs,
    center_runs,
    _logit,
    _paragraph_breaks,
    _paragraph_span,
    bead_types,
    evidence_floor,
    _same_grain,
    paragraph_groups,
    run_embeddings_by_mean,
)

DIM = 128

# A spec is the true alignment as a list of bead shapes (n_en, n_ar): (1, 1) a translated
# pair, (1, 0) an English line of its own, (0, 1) an untranslated Arabic line, (1, 2) one
# English sentence translating two Arabic ones, (2, 1)/(3, 1) the reverse.


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def build(spec, *, seed: int = 0, dim: int = DIM, noise: float = 0.05):
    """English and Arabic sentence embeddings (float32, L2-normalised) realising ``spec``."""
    rng = np.random.default_rng(seed)

    def base():
        return _unit(rng.standard_normal(dim))

    def noisy(v):
        return _unit(v + noise * rng.standard_normal(dim) / np.sqrt(dim))

    en, ar = [], []
    for a, b in spec:
        if a == 0 or b == 0:
            en.extend(base() for _ in range(a))
            ar.extend(base() for _ in range(b))
        elif a == 1:
            bases = [base() for _ in range(b)]
            ar.extend(noisy(v) for v in bases)
            en.append(noisy(sum(bases)))
        else:
            assert b == 1
            bases = [base() for _ in range(a)]
            en.extend(noisy(v) for v in bases)
            ar.append(noisy(sum(bases)))
    as_matrix = lambda rows: np.asarray(rows, np.float32).reshape(len(rows), dim)  # noqa: E731
    return as_matrix(en), as_matrix(ar)


def expected(spec) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The beads (en indices, ar indices) of ``spec``; null beads have one line each."""
    i = j = 0
    out = []
    for a, b in spec:
        if a == 0 or b == 0:
            for _ in range(a):
                out.append(((i,), ()))
                i += 1
            for _ in range(b):
                out.append(((), (j,)))
                j += 1
        else:
            out.append((tuple(range(i, i + a)), tuple(range(j, j + b))))
            i, j = i + a, j + b
    return out


def shape(beads):
    return [(b.en, b.ar) for b in beads]


def check_invariants(beads, n: int, m: int, config: AlignmentConfig | None = None) -> None:
    config = config or AlignmentConfig()
    # Every line of each side in exactly one bead, English in order; Arabic in order too
    # but for moved beads, which cross the main path (so the other beads are monotone and
    # contiguous).
    assert [i for b in beads for i in b.en] == list(range(n))
    assert sorted(j for b in beads for j in b.ar) == list(range(m))
    in_path = [j for b in beads if not b.moved for j in b.ar]
    assert in_path == sorted(in_path)
    assert all(not b.is_null and list(b.ar) == list(range(b.ar[0], b.ar[-1] + 1)) for b in beads if b.moved)
    assert config.moved_blocks or not any(b.moved for b in beads)
    for b in beads:
        assert isinstance(b, Bead)
        assert b.en or b.ar, "empty bead"
        if b.is_null:
            assert len(b.en) + len(b.ar) == 1, b
            assert b.score is None, b
        else:
            assert (len(b.en), len(b.ar)) in bead_types(config.max_side, config.max_many_lines), b
            assert type(b.score) is float, b
            assert -1.0001 <= b.score <= 1.0001
        assert b.kind == f"{len(b.en)}-{len(b.ar)}"


def lengths(spec, *, seed: int = 0, ratio: float = 0.8):
    """Character lengths realising ``spec``, as the pipeline passes them: every base unit
    has its own length; Arabic is ``ratio`` times shorter; a merged side sums its units."""
    rng = np.random.default_rng(seed + 1000)
    en, ar = [], []
    for a, b in spec:
        if a == 0 or b == 0:
            en.extend(float(rng.integers(40, 160)) for _ in range(a))
            ar.extend(float(rng.integers(40, 160)) * ratio for _ in range(b))
        else:
            units = [float(rng.integers(40, 160)) for _ in range(max(a, b))]
            if a == 1:
                en.append(sum(units))
                ar.extend(u * ratio for u in units)
            else:
                en.extend(units)
                ar.append(sum(units) * ratio)
    return en, ar


def run(spec, *, seed: int = 0, config: AlignmentConfig | None = None):
    en, ar = build(spec, seed=seed)
    en_len, ar_len = lengths(spec, seed=seed)
    beads = align_embeddings(en, ar, config, en_lengths=en_len, ar_lengths=ar_len)
    check_invariants(beads, len(en), len(ar), config)
    return beads


# --------------------------------------------------------------------------- #
# Known answers
# --------------------------------------------------------------------------- #

CASES = {
    "diagonal": [(1, 1)] * 10,
    "english-own-line-in-middle": [(1, 1)] * 5 + [(1, 0)] + [(1, 1)] * 5,
    "three-untranslated-arabic": [(1, 1)] * 5 + [(0, 1)] * 3 + [(1, 1)] * 5,
    "merge-1-2": [(1, 1)] * 4 + [(1, 2)] + [(1, 1)] * 4,
    "merge-2-1": [(1, 1)] * 4 + [(2, 1)] + [(1, 1)] * 4,
    "merge-3-1": [(1, 1)] * 4 + [(3, 1)] + [(1, 1)] * 4,
    "twenty-arabic-without-english": [(1, 1)] * 5 + [(0, 1)] * 20 + [(1, 1)] * 5,
    "arabic-null-first-english-null-last": [(0, 1)] + [(1, 1)] * 6 + [(1, 0)],
    "mixed": [(1, 1), (1, 2), (1, 0), (1, 1), (2, 1), (0, 1), (0, 1), (1, 1), (3, 1),
              (1, 1), (1, 3), (1, 1)],
}


# Known weakness, kept visible: the dev-tuned permissive threshold prefers pairing an
# English line with an unrelated Arabic line that faces it over a true 2-1 merge next to
# the unrelated line (seed 2 found since the threshold went from -1.6 to -1.45).
# strict=True: if a change fixes it, this marker must go.
_KNOWN_MISSES = {("mixed", 0)}


@pytest.mark.parametrize("name,seed", [
    pytest.param(name, seed, marks=pytest.mark.xfail(strict=True, reason="merge beside an unrelated line "
                                                     "is split into 1-1 + substitution (see _KNOWN_MISSES)"))
    if (name, seed) in _KNOWN_MISSES else (name, seed)
    for name in CASES for seed in (0, 1, 2)])
def test_known_alignment(name, seed):
    spec = CASES[name]
    assert shape(run(spec, seed=seed)) == expected(spec)


def test_diagonal_scores_are_cosines():
    en, ar = build([(1, 1)] * 6)
    beads = align_embeddings(en, ar)
    assert shape(beads) == [((i,), (i,)) for i in range(6)]
    for b in beads:
        assert b.score == pytest.approx(float(en[b.en[0]] @ ar[b.ar[0]]), abs=1e-6)
        assert b.score > 0.95


def test_null_beads_in_the_middle_are_single_lines():
    beads = run(CASES["three-untranslated-arabic"])
    nulls = [b for b in beads if b.is_null]
    assert [(b.en, b.ar, b.kind, b.score) for b in nulls] == [
        ((), (5,), "0-1", None), ((), (6,), "0-1", None), ((), (7,), "0-1", None)]
    beads = run(CASES["english-own-line-in-middle"])
    assert [(b.en, b.ar, b.kind) for b in beads if b.is_null] == [((5,), (), "1-0")]


def test_merge_score_is_cosine_of_normalised_run():
    beads = run(CASES["merge-1-2"])
    (merge,) = [b for b in beads if b.kind == "1-2"]
    assert merge.en == (4,) and merge.ar == (4, 5)
    en, ar = build(CASES["merge-1-2"])
    run_vec = _unit(ar[4] + ar[5])
    assert merge.score == pytest.approx(float(en[4] @ run_vec), abs=1e-5)
    assert merge.score > 0.95


def test_strict_threshold_leaves_unrelated_opposite_lines_unaligned():
    # An unrelated English line and an unrelated Arabic line facing each other: with a
    # threshold above their margin they stay unaligned, true pairs are kept.
    spec = [(0, 1), (1, 0)] + [(1, 1)] * 6 + [(1, 0), (0, 1)]
    for seed in range(3):
        beads = run(spec, seed=seed, config=AlignmentConfig(threshold=0.3))
        aligned = [(b.en, b.ar) for b in beads if not b.is_null]
        assert aligned == [((i,), (i,)) for i in range(1, 7)]
        assert sorted(b.en for b in beads if not b.ar) == [(0,), (7,)]
        assert sorted(b.ar for b in beads if not b.en) == [(0,), (7,)]


def test_max_side_limits_merges():
    # With max_side=2 a true 3-1 cannot be one bead; no side may exceed 2 lines.
    config = AlignmentConfig(max_side=2)
    beads = run(CASES["merge-3-1"], config=config)
    assert max(max(len(b.en), len(b.ar)) for b in beads) == 2
    # Only 1-1 allowed: every bead is 1-1 or null.
    config = AlignmentConfig(max_side=1, max_many_lines=0)
    beads = run(CASES["mixed"], config=config)
    assert {b.kind for b in beads} <= {"1-1", "1-0", "0-1"}


# 7 and 8 since the merge penalty grows as a square root; 9 and 10 since max_side is 10.
@pytest.mark.parametrize("k", [5, 6, 7, 8, 9, 10])
def test_one_arabic_line_split_into_up_to_ten_english_lines(k):
    # Free translation: one Arabic sentence rendered as k English sentences is one k-1 bead.
    spec = [(1, 1)] * 3 + [(k, 1)] + [(1, 1)] * 3
    beads = run(spec)
    assert shape(beads) == expected(spec)


@pytest.mark.parametrize("n, m", [(0, 0), (0, 4), (3, 0), (1, 0), (0, 1)])
def test_empty_sides(n, m):
    en = np.zeros((0, DIM), np.float32) if n == 0 else build([(1, 0)] * n)[0]
    ar = np.zeros((0, DIM), np.float32) if m == 0 else build([(0, 1)] * m)[1]
    beads = align_embeddings(en, ar)
    check_invariants(beads, n, m)
    assert shape(beads) == [((i,), ()) for i in range(n)] + [((), (j,)) for j in range(m)]


def test_single_line_each_side():
    en, ar = build([(1, 1)])
    beads = align_embeddings(en, ar)
    check_invariants(beads, 1, 1)
    assert shape(beads) == [((0,), (0,))]


def test_align_runs_takes_explicit_runs():
    # align_runs with runs built by run_embeddings_by_mean == align_embeddings.
    spec = CASES["mixed"]
    en, ar = build(spec)
    cfg = AlignmentConfig()
    runs_en = run_embeddings_by_mean(en, cfg.max_run)
    runs_ar = run_embeddings_by_mean(ar, cfg.max_run)
    assert align_runs(runs_en, runs_ar, cfg) == align_embeddings(en, ar, cfg)
    # Default config is used when none is given.
    assert align_runs(runs_en, runs_ar) == align_embeddings(en, ar)


def test_deterministic():
    en, ar = build(CASES["mixed"], seed=5)
    assert align_embeddings(en, ar) == align_embeddings(en.copy(), ar.copy())


# --------------------------------------------------------------------------- #
# Building blocks
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("max_side, max_many_lines, types", [
    (1, 0, [(1, 1)]),
    (2, 0, [(1, 1), (1, 2), (2, 1)]),
    (2, 4, [(1, 1), (1, 2), (2, 1), (2, 2)]),
    (3, 5, [(1, 1), (1, 2), (2, 1), (1, 3), (2, 2), (3, 1), (2, 3), (3, 2)]),
    (4, 5, [(1, 1), (1, 2), (2, 1), (1, 3), (2, 2), (3, 1), (1, 4), (2, 3), (3, 2), (4, 1)]),
])
def test_bead_types(max_side, max_many_lines, types):
    assert bead_types(max_side, max_many_lines) == types


def test_default_bead_types_reach_ten_to_one():
    types = bead_types(AlignmentConfig().max_side, AlignmentConfig().max_many_lines)
    assert types[0] == (1, 1)
    assert {(1, k) for k in range(1, 11)} | {(k, 1) for k in range(1, 11)} | {(2, 2), (2, 3), (3, 2)} == set(types)
    assert len(types) == 22


def test_bead_properties():
    assert Bead((1, 2), (3,), 0.5).kind == "2-1"
    assert not Bead((1,), (3,), 0.5).is_null
    assert Bead((), (3,)).is_null and Bead((1,), ()).is_null
    assert Bead((4,), ()).kind == "1-0"


def test_config_to_dict_round_trips():
    cfg = AlignmentConfig(threshold=-0.1, knn=4)
    d = cfg.to_dict()
    assert d["threshold"] == -0.1 and d["knn"] == 4 and d["max_side"] == 10 and d["max_many_lines"] == 5
    assert AlignmentConfig(**d) == cfg


def test_run_embeddings_by_mean():
    rng = np.random.default_rng(3)
    x = _unit(rng.standard_normal((5, 8))).astype(np.float32)
    runs = run_embeddings_by_mean(x, 3)
    assert len(runs) == 3
    assert [r.shape for r in runs] == [(5, 8), (4, 8), (3, 8)]
    assert all(r.dtype == np.float32 for r in runs)
    np.testing.assert_allclose(runs[0], x, atol=1e-7)
    np.testing.assert_allclose(runs[1][2], _unit(x[2] + x[3]), atol=1e-6)
    np.testing.assert_allclose(runs[2][1], _unit(x[1] + x[2] + x[3]), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(runs[2], axis=1), 1, atol=1e-6)
    # Runs longer than the document are empty (0, d).
    short = run_embeddings_by_mean(x[:2], 4)
    assert [r.shape for r in short] == [(2, 8), (1, 8), (0, 8), (0, 8)]
    # A run summing to zero stays zero (no division by zero).
    z = run_embeddings_by_mean(np.array([[1, 0], [-1, 0]], np.float32), 2)
    assert np.all(np.isfinite(z[1])) and np.allclose(z[1], 0)


# --------------------------------------------------------------------------- #
# Coarse-to-fine search for long inputs
# --------------------------------------------------------------------------- #

LONG_EVENTS = [(20, (1, 0)), (50, (0, 1)), (51, (0, 1)), (120, (1, 2)), (200, (2, 1)), (250, (0, 1))]


def long_spec(n_pairs: int = 300, events=LONG_EVENTS):
    spec = [(1, 1)] * n_pairs
    for pos, item in events:
        spec.insert(pos, item)
    return spec


@pytest.fixture
def coarse_spy(monkeypatch):
    """Records the bands _coarse_band builds (so a test knows the banded path ran)."""
    calls = []
    real = alignment_mod._coarse_band

    def spy(en, ar, config):
        band = real(en, ar, config)
        calls.append((len(en), len(ar), band))
        return band

    monkeypatch.setattr(alignment_mod, "_coarse_band", spy)
    return calls


@pytest.mark.parametrize("seed", [0, 1])
def test_coarse_to_fine_equals_full_search(seed, coarse_spy):
    spec = long_spec()
    en, ar = build(spec, seed=seed)
    n, m = len(en), len(ar)
    assert (n, m) == (304, 306)
    full = align_embeddings(en, ar)
    assert coarse_spy == []  # 305 * 307 cells < 250_000: full table
    # The band, its margins' neighbours looked for in the whole document as the full
    # search does (a window past both ends): the same beads and scores.
    cfg = AlignmentConfig(max_full_cells=2000, knn_window=1000, best_match_window=1000)
    banded = align_embeddings(en, ar, cfg)
    assert len(coarse_spy) == 1, "the banded search did not run"
    band = coarse_spy[0][2]
    assert band.width < m + 1  # a real band, not the whole table
    check_invariants(banded, n, m, cfg)
    check_invariants(full, n, m)
    assert shape(full) == expected(spec)
    assert shape(banded) == expected(spec)
    assert banded == full  # including scores
    # The band with its statistics from the default windows (knn_window, best_match_window):
    # the same beads.
    windowed = align_embeddings(en, ar, AlignmentConfig(max_full_cells=2000))
    assert len(coarse_spy) == 2
    assert shape(windowed) == expected(spec)


@pytest.mark.parametrize("gap_side", [(0, 1), (1, 0)])
def test_coarse_to_fine_long_one_sided_gap(gap_side, coarse_spy):
    # 60 consecutive lines of one side with no counterpart, wider than the band.
    spec = [(1, 1)] * 120 + [gap_side] * 60 + [(1, 1)] * 120
    en, ar = build(spec, seed=3)
    cfg = AlignmentConfig(max_full_cells=2000)
    beads = align_embeddings(en, ar, cfg)
    assert len(coarse_spy) == 1
    check_invariants(beads, len(en), len(ar), cfg)
    assert shape(beads) == expected(spec)


def test_coarse_search_recurses_until_the_table_fits(coarse_spy):
    # 400 x 400 with max_full_cells=100: 8-line blocks give 51 * 51 coarse cells, still
    # too many, so the coarse alignment is itself coarse-to-fine (blocks of 8 again:
    # 7 x 7 cells fit). A fixed block size keeps the band width constant at every level.
    spec = [(1, 1)] * 400
    en, ar = build(spec, seed=4)
    cfg = AlignmentConfig(max_full_cells=100)
    beads = align_embeddings(en, ar, cfg)
    assert len(coarse_spy) == 2
    check_invariants(beads, 400, 400, cfg)
    assert shape(beads) == expected(spec)


# --------------------------------------------------------------------------- #
# Property test
# --------------------------------------------------------------------------- #


@st.composite
def alignment_inputs(draw):
    n = draw(st.integers(0, 30))
    m = draw(st.integers(0, 30))
    dim = draw(st.integers(2, 24))
    seed = draw(st.integers(0, 2**31 - 1))
    shared = draw(st.floats(0.0, 1.0))  # how much of Arabic copies English (structure)
    cfg = AlignmentConfig(
        max_side=draw(st.integers(1, 8)),
        max_many_lines=draw(st.sampled_from([0, 4, 5, 8])),
        null_weight=draw(st.sampled_from([0.0, 0.5])),
        evidence_quantile=draw(st.sampled_from([0.0, 0.5])),
        threshold=draw(st.floats(-1.0, 1.0)),
        knn=draw(st.integers(1, 10)),
        max_full_cells=draw(st.sampled_from([4, 20, 60, 250, 250_000])),
        band_width=draw(st.integers(0, 6)),
        coarse_block=draw(st.integers(1, 8)),
    )
    rng = np.random.default_rng(seed)
    en = _unit(rng.standard_normal((n, dim))) if n else np.zeros((0, dim))
    ar = _unit(rng.standard_normal((m, dim))) if m else np.zeros((0, dim))
    k = min(n, m)
    if k:
        ar[:k] = _unit(shared * en[:k] + (1 - shared) * ar[:k] + 1e-3)
    return en.astype(np.float32), ar.astype(np.float32), cfg


@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(alignment_inputs())
def test_invariants_property(inputs):
    en, ar, cfg = inputs
    beads = align_embeddings(en, ar, cfg)
    check_invariants(beads, len(en), len(ar), cfg)
    # A bead's score is the cosine of its sides' normalised mean embeddings.
    for b in beads:
        if not b.is_null:
            x, y = en[list(b.en)].sum(0), ar[list(b.ar)].sum(0)
            nx, ny = np.linalg.norm(x), np.linalg.norm(y)
            cos = float(x @ y / (nx * ny)) if nx > 0 and ny > 0 else 0.0
            assert b.score == pytest.approx(cos, abs=1e-4)


def test_config_rejects_out_of_range_settings():
    # Runs are pooled up to max_side lines; a max_full_cells under 4 would make the coarse
    # search double its block size forever.
    with pytest.raises(ValueError, match="max_side must be between 1 and 16, got 17"):
        AlignmentConfig(max_side=17)
    with pytest.raises(ValueError, match="max_many_lines must be 0 .none. or between 4 and 12, got 3"):
        AlignmentConfig(max_many_lines=3)
    with pytest.raises(ValueError, match="evidence_quantile must be in"):
        AlignmentConfig(evidence_quantile=1.0)
    with pytest.raises(ValueError, match="max_full_cells must be at least 4, got 3"):
        AlignmentConfig(max_full_cells=3)
    with pytest.raises(ValueError, match="knn_leave_out must be >= 0, got -1"):
        AlignmentConfig(knn_leave_out=-1)


# sims (2 English x 3 Arabic runs), k, leave_out -> the rows' and the columns' kNN means.
KNN_MEANS = [
    (16, 0, [0.8 / 3, 0.8 / 3], [0.6, 0.3, -0.1]),   # every run counted: 3 a row, 2 a column
    (16, 1, [0.5, 0.4], [0.9, 0.5, 0.0]),            # the least alike left out: 2 a row, 1 a column
    (16, 2, [0.9, 0.5], [0.9, 0.5, 0.0]),            # never fewer than 1
    (1, 0, [0.9, 0.5], [0.9, 0.5, 0.0]),             # k below the runs: leave_out changes nothing
    (2, 1, [0.5, 0.4], [0.9, 0.5, 0.0]),
]


@pytest.mark.parametrize("k, leave_out, rows, cols", KNN_MEANS)
def test_knn_means_leave_the_least_alike_runs_out(k, leave_out, rows, cols):
    # In a short document every run is a neighbour, and the mean of all of a centred side's
    # cosines is about 0: the margin would be the bare cosine (AlignmentConfig.knn_leave_out).
    sims = np.array([[0.9, 0.1, -0.2], [0.3, 0.5, 0.0]], np.float32)
    got_rows, got_cols = alignment_mod._knn_means(sims, k, leave_out)
    assert got_rows == pytest.approx(rows, abs=1e-6) and got_cols == pytest.approx(cols, abs=1e-6)


def test_largest_allowed_bead_size():
    en, ar = build([(1, 1)] * 6)
    cfg = AlignmentConfig(max_side=16, max_many_lines=12)
    beads = align_embeddings(en, ar, cfg)
    check_invariants(beads, 6, 6, cfg)
    assert shape(beads) == [((i,), (i,)) for i in range(6)]


# --------------------------------------------------------------------------- #
# Evidence floor, document null costs, paragraphs (AlignmentConfig terms)
# --------------------------------------------------------------------------- #


def test_evidence_floor_keeps_unrelated_lines_between_anchors_unaligned():
    # An English line and an Arabic line of their own face each other between true pairs,
    # with no evidence at all (a negative cosine). The permissive threshold alone paired
    # them with the kNN mean over every run of this 10-line document (seed 2; seed 0 too
    # at -1.45, before the anchors); with the least alike run left out (knn_leave_out 1,
    # the default) or under the evidence floor they are never paired.
    spec = [(1, 1)] * 4 + [(1, 0), (0, 1)] + [(1, 1)] * 4
    paired = {0: [], 1: []}
    for seed in range(3):
        en, ar = build(spec, seed=seed)
        ar[4] = _unit(-en[4] + 0.3 * ar[4])
        en_len, ar_len = lengths(spec, seed=seed)
        for leave_out in paired:
            plain = align_embeddings(en, ar, AlignmentConfig(knn_leave_out=leave_out), en_lengths=en_len,
                                     ar_lengths=ar_len)
            paired[leave_out].append(((4,), (4,)) in shape(plain))
        floor = align_embeddings(en, ar, AlignmentConfig(evidence_quantile=0.5, knn_leave_out=0), en_lengths=en_len,
                                 ar_lengths=ar_len)
        # (two adjacent null beads may come in either order)
        assert sorted(shape(floor)) == sorted(expected(spec)), seed
    assert paired == {0: [False, False, True], 1: [False, False, False]}


def test_evidence_floor_is_the_quantile_of_the_documents_unrelated_pairs():
    en = np.eye(4, dtype=np.float32)
    ar = np.eye(4, dtype=np.float32)
    ar[0, 1] = 0.5  # one unrelated pair resembles a little
    # 16 cosines; the four best matches (1.0) are left out: eleven 0s and one 0.5.
    assert evidence_floor(en, ar, 0.5) == 0.0
    assert evidence_floor(en, ar, 0.99) == pytest.approx(0.445)


@pytest.mark.parametrize("paragraphs, k, crosses, whole", [
    # lines 0-1 in paragraph 0, 2-4 in paragraph 1, 5 in paragraph 2; runs of k lines ending before each index
    ([0, 0, 1, 1, 1, 2], 1, [False] * 6, [False, False, False, False, False, True]),
    ([0, 0, 1, 1, 1, 2], 2, [False, True, False, False, True], [True, False, False, False, False]),
    ([0, 0, 1, 1, 1, 2], 3, [True, True, False, True], [False, False, True, False]),
    ([0, 0, 1, 1, 1, 2], 6, [True], [True]),
])
def test_paragraph_span(paragraphs, k, crosses, whole):
    breaks = _paragraph_breaks(np.array(paragraphs))
    ends = np.arange(k, len(paragraphs) + 1)
    c, w = _paragraph_span(breaks, ends - k, ends)
    assert c.tolist() == crosses and w.tolist() == whole


def _values_type_by_type(values, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """The bead values of a block computed one bead type at a time, term by term as the
    module docstring writes them: the reference for the all-types-at-once computation."""
    cfg = values.config
    out = np.full((len(values.types), r1 - r0, c1 - c0), alignment_mod._NEG, np.float32)
    rows, cols = np.arange(r0, r1), np.arange(c0, c1)
    if values.anchors is not None:
        e0, a0 = max(0, r0 - cfg.max_side), max(0, c0 - cfg.max_side)
        shared = values.anchors.prefix(e0, max(r1 - 1, e0), a0, max(c1 - 1, a0))
    for t, (a, b) in enumerate(values.types):
        ri, cj = rows[rows >= a], cols[cols >= b]
        if len(ri) == 0 or len(cj) == 0:
            continue
        cos = values.en_runs[a - 1][ri - a] @ values.ar_runs[b - 1][cj - b].T
        ken, kar = values.knn[(a, b)]
        norm = 0.5 * (ken[ri - a][:, None] + kar[cj - b][None, :])
        val = ((a + b) / 2.0) ** cfg.size_power * ((cos - norm) / values.scale - cfg.threshold)
        val -= (values.weak_en[ri] - values.weak_en[ri - a])[:, None] + (values.weak_ar[cj] - values.weak_ar[cj - b])[None, :]
        if values.anchors is not None:
            hi_r, lo_r, hi_c, lo_c = ri - e0, ri - a - e0, cj - a0, cj - b - a0
            s = shared[hi_r][:, hi_c] - shared[lo_r][:, hi_c] - shared[hi_r][:, lo_c] + shared[lo_r][:, lo_c]
            val += cfg.anchor_weight * np.minimum(s, cfg.anchor_cap)
        if a + b > 2:
            val -= cfg.merge_penalty * (a + b - 2) ** cfg.merge_penalty_power + (cfg.many_many_penalty if min(a, b) > 1 else 0.0)
        if values.paragraphs is not None and cfg.paragraph_penalty:
            cross_en, whole_en = _paragraph_span(values.paragraphs[0], ri - a, ri)
            cross_ar, whole_ar = _paragraph_span(values.paragraphs[1], cj - b, cj)
            val -= cfg.paragraph_penalty * ((cross_en[:, None] != cross_ar[None, :]) & ~(whole_en[:, None] & whole_ar[None, :]))
        if values.floor is not None:
            val[cos < values.floor] = alignment_mod._NEG
        if values.groups is not None:
            ge, ga = (np.where(g[f] == g[e - 1], g[f], -1) for g, f, e in ((values.groups[0], ri - a, ri), (values.groups[1], cj - b, cj)))
            outside = (ge[:, None] != ga[None, :]) | (ge[:, None] < 0)
            if np.isfinite(cfg.paragraph_bead_penalty):
                val -= cfg.paragraph_bead_penalty * outside
            else:
                val[outside] = alignment_mod._NEG
        out[t, ri[0] - r0:, cj[0] - c0:] = val
    return out


@pytest.mark.parametrize("n, m, setting", [
    (23, 19, {}),
    (40, 44, {"paragraph_penalty": 0.7, "evidence_quantile": 0.9}),
    (31, 30, {"paragraph_bead_penalty": float("inf")}),
    (150, 140, {"max_full_cells": 400}),  # a band: several blocks, windows for the kNN
    (5, 30, {}),  # fewer English lines than the longest run: some types left out
])
def test_every_bead_type_at_once_is_each_type_alone_bit_for_bit(n, m, setting):
    rng = np.random.default_rng(n * 1000 + m)
    cfg = AlignmentConfig(**setting)
    en, ar = (center_runs(run_embeddings_by_mean(rng.standard_normal((k, 32)).astype(np.float32), 8), 100)
              for k in (n, m))
    band = alignment_mod._full_band(n, m) if (n + 1) * (m + 1) <= cfg.max_full_cells else \
        alignment_mod._coarse_band(en[0], ar[0], cfg)
    paragraphs = (np.sort(rng.integers(0, n // 3 + 1, n)), np.sort(rng.integers(0, m // 3 + 1, m)))
    anchors = alignment_mod._Anchors([list(rng.integers(0, 30, rng.integers(0, 3))) for _ in range(n)],
                                     [list(rng.integers(0, 30, rng.integers(0, 3))) for _ in range(m)], 16)
    values = alignment_mod._BeadValues(en, ar, band, cfg, paragraphs, paragraphs, anchors)
    assert values.anchors is not None and values.groups is not None
    for r0 in range(0, n + 1, 64):
        r1 = min(n + 1, r0 + 64)
        c0, c1 = int(band.lo[r0]), int(band.hi[r1 - 1])
        expected = _values_type_by_type(values, r0, r1, c0, c1)
        got = values._base_block(r0, r1, c0, c1)
        assert got.dtype == np.float32 and got.tobytes() == expected.tobytes()


def test_paragraph_penalty_changes_nothing_without_paragraph_breaks():
    spec = CASES["mixed"]
    en, ar = build(spec)
    cfg = AlignmentConfig(paragraph_penalty=5.0)
    runs_en, runs_ar = run_embeddings_by_mean(en, cfg.max_run), run_embeddings_by_mean(ar, cfg.max_run)
    flat = align_runs(runs_en, runs_ar, cfg, en_paragraphs=[0] * len(en), ar_paragraphs=[0] * len(ar))
    assert flat == align_runs(runs_en, runs_ar, cfg)


def test_logit_is_clipped_so_that_a_fully_aligned_side_costs_a_finite_amount():
    assert _logit(1.0) == pytest.approx(np.log(0.98 / 0.02))
    assert _logit(0.9) == pytest.approx(np.log(9.0))
    assert _logit(0.0) == pytest.approx(-np.log(0.98 / 0.02))


@pytest.mark.parametrize("aligned_ar, cost", [
    (19, 0.65 * (np.log(0.95 / 0.05) - np.log(9.0))),  # the less aligned side (Arabic, 19 of 20) decides
    (20, 0.65 * (np.log(0.98 / 0.02) - np.log(9.0))),  # all aligned: the clipped logit
    (18, 0.0),  # at the pivot (0.9): nothing
    (10, 0.0),  # below it: nothing (a report with lines of its own is searched as before)
])
def test_null_cost_follows_the_less_aligned_sides_share(aligned_ar, cost):
    u = np.eye(20, dtype=np.float32)
    runs = run_embeddings_by_mean(u, 8)
    values = alignment_mod._BeadValues(runs, runs, alignment_mod._full_band(20, 20), AlignmentConfig())
    # Every English line aligned: the first aligned_ar - 1 one to one, the rest with the
    # last aligned Arabic line; the other Arabic lines left out.
    last = aligned_ar - 1
    beads = [Bead((k,), (k,)) for k in range(last)] + [Bead(tuple(range(last, 20)), (last,))]
    beads += [Bead((), (k,)) for k in range(aligned_ar, 20)]
    assert values.fit_null_costs(beads) == (cost > 0)
    assert values.null_cost == pytest.approx(cost)


def _faithful_with_line_10(line: str) -> tuple[np.ndarray, np.ndarray]:
    """20 lines translated one to one, and an English line 10 (a sum of the named
    directions: ``"j"`` is the Arabic line 9's, ``"p"`` a direction of its own) between."""
    basis = np.eye(21, dtype=np.float32)
    extra = np.zeros(21, np.float32)
    for term in line.split("+"):
        weight, name = (term[:-1] or "1"), term[-1]
        extra += float(weight) * basis[9 if name == "j" else 20]
    en = np.vstack([basis[:10, :], extra / np.linalg.norm(extra), basis[10:20, :]])
    return en, basis[:20, :]


@pytest.mark.parametrize("line, beads_9_10", [
    # A faint piece of Arabic 9 joins its bead.
    ("0.3j+p", [((9, 10), (9,))]),
    # A line that matches nothing better than the bulk earns nothing and stays out, even at
    # a null weight of 4 ...
    ("p", [((9,), (9,)), ((10,), ())]),
])
def test_null_cost_is_earned_in_proportion_to_a_lines_evidence(line, beads_9_10):
    en, ar = _faithful_with_line_10(line)
    cfg = AlignmentConfig(null_weight=4.0, weak_line_weight=0.0)
    beads = align_embeddings(en, ar, cfg)
    assert [(b.en, b.ar) for b in beads if 9 in b.en or 10 in b.en] == beads_9_10
    # ... where earned in full by every line (weak_line_margin 0), it is glued on.
    beads = align_embeddings(en, ar, dataclasses.replace(cfg, weak_line_margin=0.0))
    assert all(not b.is_null for b in beads if 10 in b.en)


@pytest.mark.parametrize("window, means_over", [
    # 7 rows: the whole document's mean for every row ...
    (0, [range(7)] * 7),
    (3, [range(7)] * 7),  # ... also where there are no more than 3 segments (7 <= 3 x 3)
    # Segments of 2 rows (0-1, 2-3, 4-5, 6): each row's mean is over its own segment and
    # the one on either side.
    (2, [range(4), range(4), range(6), range(6), range(2, 7), range(2, 7), range(4, 7)]),
])
def test_center_runs_subtracts_the_mean_near_each_row(window, means_over):
    rows = np.eye(7, 8, dtype=np.float32) + np.float32(0.5) * np.eye(7, 8, k=1, dtype=np.float32)
    expected = [rows[i] - rows[list(over)].mean(0) for i, over in enumerate(means_over)]
    expected = np.array([e / np.linalg.norm(e) for e in expected])
    np.testing.assert_allclose(center_runs([rows], window)[0], expected, rtol=0, atol=1e-6)


B = Bead  # the tables below: (English lines, Arabic lines)


@pytest.mark.parametrize("window, beads, en_shares, ar_shares", [
    # Window 1: each bead's shares over itself and its neighbours. Bead 1 (English 1 left
    # out) sees 2 of 3 English lines aligned, bead 3 both of its window's.
    (1, [B((0,), (0,)), B((1,), ()), B((2,), (1,)), B((3,), (2,))],
     [(1 / 2, 1), (2 / 3, 1), (2 / 3, 1), (1, 1)], [(1 / 2, 1), (2 / 3, 1), (1, 1)]),
    # Window 0: the whole document's shares for every line.
    (0, [B((0,), (0,)), B((1,), ()), B((2,), (1,)), B((3,), (2,))],
     [(3 / 4, 1)] * 4, [(3 / 4, 1)] * 3),
    # A window of 1 over 3 beads (2 x 1 + 1) is the whole document.
    (1, [B((0,), (0,)), B((1,), ()), B((2,), (1,))], [(2 / 3, 1)] * 3, [(2 / 3, 1)] * 2),
    # Bead 0's window has no Arabic line: it takes the document's Arabic share (1 of 2).
    (1, [B((0,), ()), B((1,), ()), B((2,), (0,)), B((), (1,)), B((3,), ())],
     [(0, 1 / 2), (1 / 3, 1), (1 / 2, 1 / 2), (0, 0)], [(1 / 2, 1 / 2), (1 / 2, 1 / 2)]),
])
def test_local_shares_count_the_beads_near_each_line(window, beads, en_shares, ar_shares):
    n, m = 1 + max(i for b in beads for i in b.en), 1 + max(j for b in beads for j in b.ar)
    runs = [run_embeddings_by_mean(_orthonormal(k), 2) for k in (n, m)]
    values = alignment_mod._BeadValues(*runs, alignment_mod._full_band(n, m), AlignmentConfig(null_window=window))
    en, ar = values.local_shares(beads)
    np.testing.assert_allclose(en, en_shares, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ar, ar_shares, rtol=0, atol=1e-12)


@pytest.mark.parametrize("field", ["null_window", "center_window"])
def test_local_fit_windows_must_not_be_negative(field):
    with pytest.raises(ValueError, match=f"{field} must be >= 0"):
        AlignmentConfig(**{field: -1})
    assert getattr(AlignmentConfig(**{field: 0}), field) == 0  # 0: the whole document


# ----------------------------------------------------------------------------- paragraphs first


def _orthonormal(rows: int, seed: int = 0) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(32, 32)))
    return q[:rows].astype(np.float32)


def test_paragraph_groups_number_each_sentence_by_its_paragraph_bead():
    # Four paragraphs a side, matched one to one, of 2, 1, 3, 1 English and 1, 2, 1, 2
    # Arabic sentences.
    u = _orthonormal(4)
    runs = run_embeddings_by_mean(u, 8)
    en_par = np.array([0, 0, 1, 2, 2, 2, 3])
    ar_par = np.array([0, 1, 1, 2, 3, 3])
    groups = paragraph_groups(runs, runs, (en_par, ar_par), AlignmentConfig())
    assert groups[0].tolist() == [0, 0, 1, 2, 2, 2, 3]
    assert groups[1].tolist() == [0, 1, 1, 2, 3, 3]


@pytest.mark.parametrize("penalty, beads", [
    # Sentence 5 ends the first English paragraph but opens the second Arabic one.
    (np.inf, [*[((k,), (k,)) for k in range(5)], ((), (5,)), ((5,), ()), *[((k,), (k,)) for k in range(6, 12)]]),
    # A soft penalty: a pair this strong is kept across the paragraph beads.
    (1.0, [((k,), (k,)) for k in range(12)]),
])
def test_paragraphs_first_keeps_sentence_beads_inside_paragraph_beads(penalty, beads):
    s, p = _orthonormal(12), _orthonormal(22)[20:22]
    got = align_runs(run_embeddings_by_mean(s, 8), run_embeddings_by_mean(s, 8),
                     AlignmentConfig(paragraph_bead_penalty=penalty),
                     en_paragraphs=[0] * 6 + [1] * 6, ar_paragraphs=[0] * 5 + [1] * 7,
                     en_paragraph_runs=run_embeddings_by_mean(p, 8), ar_paragraph_runs=run_embeddings_by_mean(p, 8))
    assert [(b.en, b.ar) for b in got] == beads


def test_paragraphs_first_off_or_without_paragraph_runs_is_the_sentence_search():
    s, p = _orthonormal(12), _orthonormal(22)[20:22]
    kwargs = dict(en_paragraphs=[0] * 6 + [1] * 6, ar_paragraphs=[0] * 5 + [1] * 7)
    runs = run_embeddings_by_mean(s, 8)
    plain = align_runs(runs, runs, AlignmentConfig(), **kwargs)
    off = align_runs(runs, runs, AlignmentConfig(paragraphs_first=False, paragraph_bead_penalty=np.inf), **kwargs,
                     en_paragraph_runs=run_embeddings_by_mean(p, 8), ar_paragraph_runs=run_embeddings_by_mean(p, 8))
    assert [(b.en, b.ar) for b in plain] == [(b.en, b.ar) for b in off] == [((k,), (k,)) for k in range(12)]


def test_paragraph_bead_penalty_must_not_be_negative():
    with pytest.raises(ValueError, match="paragraph_bead_penalty must be >= 0"):
        AlignmentConfig(paragraph_bead_penalty=-1.0)


@pytest.mark.parametrize("en_paragraphs, ar_paragraphs, ratio, same", [
    ([0, 0, 1, 1], [0, 1, 2, 3], 2.0, True),      # 2 against 4: twice as many
    ([0, 0, 0, 0], [0, 1, 2, 3], 3.0, False),     # 1 against 4
    ([0, 1, 2, 3, 4], [0, 0, 0, 1, 1], 2.0, False),  # 5 against 2
    ([0, 1, 2, 3, 4], [0, 0, 0, 1, 1], 2.5, True),
    ([], [0, 1], 4.0, True),                       # an empty side: nothing to compare
])
def test_paragraphs_of_one_grain(en_paragraphs, ar_paragraphs, ratio, same):
    assert _same_grain((np.array(en_paragraphs), np.array(ar_paragraphs)), ratio) is same


def test_paragraphs_first_max_ratio_must_be_at_least_one():
    with pytest.raises(ValueError, match="paragraphs_first_max_ratio must be >= 1"):
        AlignmentConfig(paragraphs_first_max_ratio=0.5)


@pytest.mark.parametrize("field", ["knn_window", "best_match_window", "band_width"])
def test_windows_must_not_be_negative(field):
    with pytest.raises(ValueError, match=f"{field}.* >= 0"):
        AlignmentConfig(**{field: -1})
    assert getattr(AlignmentConfig(**{field: 0}), field) == 0  # 0: the band alone


def test_weak_line_full_at_must_not_be_negative():
    with pytest.raises(ValueError, match="weak_line_full_at must be >= 0"):
        AlignmentConfig(weak_line_full_at=-0.1)
    assert AlignmentConfig(weak_line_full_at=0.0).weak_line_full_at == 0.0  # 0: the cost always in full


def test_a_moved_block_can_take_a_line_an_earlier_block_freed():
    """The path paired English 3 with Arabic 3, which a first moved block (English 0 <->
    Arabic 3) takes; English 3 is then free, and a second block (English 3 <-> Arabic 0)
    takes it. A line a moved bead holds is not offered again."""
    Bead = alignment_mod.Bead
    path = alignment_mod._PathIndex([Bead((0,), ()), Bead((), (0,)), Bead((1,), (1,), 0.9), Bead((2,), (2,), 0.9),
                                     Bead((3,), (3,), 0.1), Bead((4,), (4,), 0.9)])
    first, second = Bead((0,), (3,), 0.8, True), Bead((3,), (0,), 0.8, True)
    assert path.take([(first, 2.0)], None, 1.25)
    assert path.take([(second, 2.0)], None, 1.25)
    # Arabic 3 is held by the first moved bead, which sits with English 0's bead, not with
    # the bead Arabic 3 came from: still not offered again.
    assert not path.take([(Bead((4,), (3,), 0.8, True), 2.0)], None, 1.25)
    assert [(b.en, b.ar, b.moved) for b in path.beads()] == [
        ((0,), (3,), True), ((1,), (1,), False), ((2,), (2,), False), ((3,), (0,), True), ((4,), (4,), False)]


def _moved_case_beads(en: str, ar: str, seed: int | None) -> list[tuple[tuple[int, ...], tuple[int, ...], bool]]:
    from test_known_answers import perturbed, sentence_vectors

    (e, _), (a, _) = sentence_vectors(en, ar)
    if seed is not None:  # the answer is no tie
        e, a = perturbed(e, a, seed)
    beads = align_runs(run_embeddings_by_mean(e, 8), run_embeddings_by_mean(a, 8), AlignmentConfig())
    return [(b.en, b.ar, b.moved) for b in beads]


# Hand-built documents (tests/test_known_answers.py's notation: each letter a direction of
# its own, shared by both sides; p.. is English of the report's own) and their exact beads,
# "m" marking a moved bead.
MOVED_CASES = [
    ("block moved to the front", "d e a b c f g h", "a b c d e f g h",
     "[0]:[3]m [1]:[4]m [2]:[0] [3]:[1] [4]:[2] [5]:[5] [6]:[6] [7]:[7]"),
    ("block moved back", "a b e f g h c d i j", "a b c d e f g h i j",
     "[0]:[0] [1]:[1] [2]:[4] [3]:[5] [4]:[6] [5]:[7] [6]:[2]m [7]:[3]m [8]:[8] [9]:[9]"),
    # The longer block stays on the path; the shorter is the moved one.
    ("two blocks swapped", "a b f g c d e h i", "a b c d e f g h i",
     "[0]:[0] [1]:[1] [2]:[5]m [3]:[6]m [4]:[2] [5]:[3] [6]:[4] [7]:[7] [8]:[8]"),
    ("block with no counterpart anywhere", "a b p1 p2 c d e", "a b c d e",
     "[0]:[0] [1]:[1] [2]:[] [3]:[] [4]:[2] [5]:[3] [6]:[4]"),
]


@pytest.mark.parametrize("name, en, ar, expected", MOVED_CASES, ids=[c[0] for c in MOVED_CASES])
@pytest.mark.parametrize("seed", [None, 0, 1, 2])
def test_moved_blocks_on_hand_built_documents(name, en, ar, expected, seed):
    want = []
    for item in expected.split():
        moved = item.endswith("m")
        sides = [tuple(int(x) for x in side.strip("[]").split(",") if x) for side in item.rstrip("m").split(":")]
        want.append((sides[0], sides[1], moved))
    assert _moved_case_beads(en, ar, seed) == want


def _pair_runs(spec, seed: int, max_run: int = 8):
    """Run embeddings of a pair realising ``spec`` (see ``build``), noisier than the
    default so that the passes of a search have choices to make."""
    en, ar = build(spec, seed=seed, noise=0.6)
    return run_embeddings_by_mean(en, max_run), run_embeddings_by_mean(ar, max_run)


def _mixed_spec(rng: np.random.Generator, beads: int) -> list[tuple[int, int]]:
    shapes = [(1, 1)] * 6 + [(1, 0), (0, 1), (2, 1), (1, 3), (4, 1), (1, 2)]
    return [shapes[k] for k in rng.integers(0, len(shapes), beads)]


@pytest.mark.parametrize("setting", [{}, {"max_full_cells": 600}, {"length_weight": 0.0}])
def test_searches_made_together_are_each_search_alone_bit_for_bit(setting):
    # Documents of different lengths in one dynamic programme (the longest's last rows
    # alone): each gets the beads and gains of its own search, float for float.
    rng = np.random.default_rng(7)
    cfg = AlignmentConfig(**setting)
    searches = []
    for k, beads in enumerate((14, 30, 9, 41, 14)):
        en, ar = (center_runs(r, cfg.center_window) for r in _pair_runs(_mixed_spec(rng, beads), seed=k))
        n, m = len(en[0]), len(ar[0])
        band = alignment_mod._full_band(n, m) if (n + 1) * (m + 1) <= cfg.max_full_cells else \
            alignment_mod._coarse_band(en[0], ar[0], cfg)
        searches.append((alignment_mod._BeadValues(en, ar, band, cfg), n, m, band))
    assert len({tuple(s[0].types) for s in searches}) == 1
    together = alignment_mod._search_many(searches)
    for search, (beads, gains) in zip(searches, together):
        alone_beads, alone_gains = alignment_mod._search_many([search])[0]
        assert beads == alone_beads and gains == alone_gains
        assert any(not b.is_null and len(b.en) + len(b.ar) > 2 for b in beads)  # not only 1-1 beads
    assert [len(b) for b, _ in together] != [len(together[0][0])] * len(together)


@pytest.mark.parametrize("cells", [1, 700, 250_000])
def test_align_runs_many_gives_each_pair_the_beads_of_align_runs(cells):
    # Pairs of every kind in one call: an empty side, one line, fewer lines than the
    # longest run (other bead types), lengths and not, a band, paragraphs first, anchors.
    # cells=1: each pair searched alone; 700: some together; the default: all at once.
    rng = np.random.default_rng(11)
    jobs = []
    for k, beads in enumerate((12, 0, 1, 3, 25, 18, 30, 16)):
        en, ar = _pair_runs(_mixed_spec(rng, beads) if beads > 1 else [(1, 1)] * beads, seed=100 + k)
        n, m = len(en[0]), len(ar[0])
        job = dict(en_runs=en, ar_runs=ar, config=AlignmentConfig())
        if k % 2 == 0:
            job.update(en_lengths=rng.integers(20, 200, n).astype(float), ar_lengths=rng.integers(20, 200, m).astype(float))
        if k == 5:
            job["config"] = AlignmentConfig(max_full_cells=300)
        if k == 6:
            en_p, ar_p = np.arange(n) // 4, np.arange(m) // 4
            job.update(en_paragraphs=en_p, ar_paragraphs=ar_p,
                       en_paragraph_runs=run_embeddings_by_mean(np.stack([en[0][en_p == p].mean(0) for p in range(en_p[-1] + 1)]), 8),
                       ar_paragraph_runs=run_embeddings_by_mean(np.stack([ar[0][ar_p == p].mean(0) for p in range(ar_p[-1] + 1)]), 8))
        if k == 7:
            job.update(en_anchors=[[int(i % 5)] if i % 3 == 0 else [] for i in range(n)],
                       ar_anchors=[[int(j % 5)] if j % 4 == 0 else [] for j in range(m)])
        jobs.append(job)
    expected = [align_runs(**job) for job in jobs]
    assert alignment_mod.align_runs_many(iter(jobs), cells=cells) == expected
    assert expected[1] == [] and len(expected[2]) == 1
    assert sum(len(b.en) > 1 or len(b.ar) > 1 for beads in expected for b in beads) >= 5


@pytest.mark.parametrize("lines, cells, groups", [
    ([(1, 1), (1, 1), (1, 1)], 8, [[0, 1], [2]]),          # 4 cells each
    ([(1, 1), (1, 1), (1, 1)], 12, [[0, 1, 2]]),
    ([(1, 1), (9, 9), (1, 1)], 50, [[0], [1], [2]]),       # 100 cells: alone, above the limit
    ([], 10, []),
])
def test_groups_of_cells(lines, cells, groups):
    items = list(range(len(lines)))
    assert list(alignment_mod.groups_of_cells(items, lambda k: lines[k], cells)) == groups
