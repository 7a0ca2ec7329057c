"""Anchors (aligner.text.anchors) and their evidence in the alignment core: exact keys,
exact pair weights, exact beads."""

from __future__ import annotations

import numpy as np
import pytest

from aligner.alignment import AlignmentConfig, _Anchors, align_runs, run_embeddings_by_mean
from aligner.text.anchors import (arabic_anchors, arabic_skeletons, english_anchors, english_skeleton,
                                  shared_anchor_ids)


@pytest.mark.parametrize("word, skeleton", [
    ("Qamishli", "kmsl"), ("Hasakeh", "hsk"), ("Hurayrah", "hrr"), ("Baghdad", "bgdd"), ("Guterres", "gtrs"),
    ("Uthman", "tmn"), ("Abbas", "bs"), ("Khartoum", "krtm"), ("A’yas", "s"), ("Zubayr", "zbr"),
])
def test_english_skeleton(word, skeleton):
    assert english_skeleton(word) == skeleton


@pytest.mark.parametrize("word, skeletons", [
    ("القامشلي", {"lkmsl", "kmsl"}), ("الحسكة", {"lhsk", "hsk"}), ("هريرة", {"hrr"}), ("غوتيريش", {"gtrs"}),
    ("بغداد", {"bgdd", "gdd"}), ("وبغداد", {"bgdd"}), ("عثمان", {"tmn"}), ("الخرطوم", {"lkrtm", "krtm"}),
])
def test_arabic_skeletons(word, skeletons):
    assert arabic_skeletons(word) == skeletons


def test_english_anchors_are_names_and_numbers_less_the_sides_common_words():
    assert english_anchors(["BEIRUT – The Syrian regime sent 4,000 troops to Qamishli.",
                            "Then the regime said so.", "Narrated Abu Hurayrah: the syrian said."]) == [
        frozenset({"brt", "kmsl", "#4000"}),  # "Syrian" is also written lowercase on this side
        frozenset(),  # "Then": too short a skeleton
        frozenset({"nrtd", "hrr"}),
    ]


def test_arabic_anchors_key_every_word_and_digits_of_any_kind():
    assert arabic_anchors(["أرسل النظام ٤٠٠٠ مقاتل إلى القامشلي", "عن أَبِي هُرَيْرَةَ قال", "عام 2012م"]) == [
        frozenset({"rsl", "lnzm", "nzm", "mktl", "lkmsl", "kmsl", "#4000"}),
        frozenset({"hrr"}),  # diacritics removed; عن, أبي, قال too short
        frozenset({"#2012"}),
    ]
    # Latin words an Arabic text quotes as they are: keyed as English names.
    assert arabic_anchors(["قالت وكالة Reuters إن"]) == [frozenset({"klt", "rtrs"})]
    assert english_anchors(["The agency Reuters said"]) == [frozenset({"rtrs"})]


def test_shared_anchor_ids_number_the_keys_both_sides_have():
    en = [frozenset({"kmsl", "hsk"}), frozenset({"#2012", "hrr"}), frozenset()]
    ar = [frozenset({"lkmsl", "kmsl", "lhsk", "hsk"}), frozenset({"#2012", "#7"})]
    # shared, sorted: "#2012" 0, "hsk" 1, "kmsl" 2
    assert shared_anchor_ids(en, ar) == ([[1, 2], [0], []], [[1, 2], [0]])
    assert shared_anchor_ids([], ar) == ([], [[], []])


def test_pair_weights_are_one_over_the_keys_lines_and_common_keys_are_left_out():
    # key 0: English 0 and Arabic 0 (1 each); key 1: English 1, 2 and Arabic 1 (1/2 per
    # pair); key 2: 3 English lines, left out at max_lines 2.
    anchors = _Anchors([[0], [1, 2], [1, 2], [2]], [[0], [1], [2]], max_lines=2)
    assert list(zip(anchors.rows.tolist(), anchors.cols.tolist(), anchors.vals.tolist())) == [
        (0, 0, 1.0), (1, 1, 0.5), (2, 1, 0.5)]
    full = np.zeros((4, 3))
    full[0, 0], full[1, 1], full[2, 1] = 1.0, 0.5, 0.5
    prefix = anchors.prefix(1, 4, 0, 3)  # lines 1..3 by 0..2
    assert prefix[-1, -1] == full[1:].sum()
    assert np.array_equal(prefix[1:, 1:], full[1:].cumsum(0).cumsum(1))


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_a_shared_name_decides_between_two_equally_faint_counterparts():
    """English line 2 carries equal faint traces of Arabic lines 1 and 2 (a tie on
    embeddings): the name it shares with Arabic line 2 puts it there; shared with Arabic
    line 1, there."""
    eye = np.eye(16)
    en = _unit(np.stack([eye[0], eye[1], 0.3 * eye[1] + 0.3 * eye[2] + eye[10], eye[2], eye[3], eye[4]]))
    ar = _unit(np.stack([eye[0], eye[1], eye[2], eye[3], eye[4]]))
    runs = run_embeddings_by_mean(en, 8), run_embeddings_by_mean(ar, 8)

    def beads(ar_line):
        ar_keys = [[7] if j == ar_line else [] for j in range(5)]
        out = align_runs(*runs, AlignmentConfig(), en_anchors=[[], [], [7], [], [], []], ar_anchors=ar_keys)
        return [(b.en, b.ar) for b in out]

    assert beads(2) == [((0,), (0,)), ((1,), (1,)), ((2, 3), (2,)), ((4,), (3,)), ((5,), (4,))]
    assert beads(1) == [((0,), (0,)), ((1, 2), (1,)), ((3,), (2,)), ((4,), (3,)), ((5,), (4,))]


def test_anchors_count_the_same_in_the_band_as_on_the_whole_table():
    """A long document searched in a band (coarse-to-fine) gets the same anchor evidence
    as on the whole table: the faint named pieces join the same beads."""
    rng = np.random.default_rng(0)
    n = 60
    base = rng.standard_normal((n, 48))
    en_rows, en_keys = [], []
    for i in range(n):
        en_rows.append(base[i])
        en_keys.append([])
        if i % 10 == 5:  # a faint piece of line i, named as line i is
            en_rows.append(0.2 * base[i] + rng.standard_normal(48))
            en_keys.append([i])
    ar_keys = [[i] if i % 10 == 5 else [] for i in range(n)]
    en, ar = _unit(np.array(en_rows)), _unit(base)
    runs = run_embeddings_by_mean(en, 8), run_embeddings_by_mean(ar, 8)
    whole = align_runs(*runs, AlignmentConfig(), en_anchors=en_keys, ar_anchors=ar_keys)
    band = align_runs(*runs, AlignmentConfig(max_full_cells=400), en_anchors=en_keys, ar_anchors=ar_keys)
    assert [(b.en, b.ar) for b in band] == [(b.en, b.ar) for b in whole]
    pieces = [b for b in whole if len(b.en) == 2]
    assert [(b.en, b.ar) for b in pieces] == [((i + i // 10, i + i // 10 + 1), (i,)) for i in range(5, n, 10)]


def test_aligner_encodes_each_sentences_anchors_once_and_aligns_with_them():
    from aligner import Aligner, segment
    from test_bad_inputs import BagOfTrigrams

    al = Aligner(encoder=BagOfTrigrams())
    en = al.encode(segment("Troops reached Qamishli. Then 4,000 more came.", "en"), "en")
    ar = al.encode(segment("وصلت القوات إلى القامشلي. ثم جاء ٤٠٠٠ آخرون.", "ar"), "ar")
    assert en.anchors == [frozenset({"trbs", "kmsl"}), frozenset({"#4000"})]
    assert {"kmsl", "lkmsl"} <= ar.anchors[0] and "#4000" in ar.anchors[1]
    # The same beads as aligning the two sides' ids through the core directly.
    en_ids, ar_ids = shared_anchor_ids(en.anchors, ar.anchors)
    core = align_runs(en.runs, ar.runs, al.config, en_lengths=en.lengths, ar_lengths=ar.lengths,
                      en_anchors=en_ids, ar_anchors=ar_ids)
    assert al.align_encoded(en, ar).beads == core
