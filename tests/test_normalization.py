"""Normalisation of what the encoder sees (never of what the output keeps)."""

from __future__ import annotations

import pytest

from aligner.text.normalization import (
    normalize_arabic_for_encoding as ar,
    normalize_english_for_encoding as en,
    normalize_for_encoding,
)

KITAB = "\u0643\u062a\u0627\u0628"  # كتاب


@pytest.mark.parametrize("text, expected", [
    # Harakat, tanwin, shadda, sukun.
    ("كِتَابٌ", KITAB),
    ("يُسجَّل", "يسجل"),
    ("حُوِّلتا", "حولتا"),
    ("تَمَّ", "تم"),
    ("مُدَرِّسَةٌ", "مدرسة"),
    ("كِتَابًا وَقَلَمٍ", "كتابا وقلم"),
    ("\u0651\u0652", ""),  # marks alone vanish
    # Dagger alef (superscript alef) U+0670.
    ("ذٰلِكَ", "ذلك"),
    ("هٰذا", "هذا"),
    # Extended marks up to U+065F (hamza below/above as separate marks, wavy hamza).
    ("\u0627\u0655", "\u0625"),   # NFKC composes alef + hamza below -> إ (kept: a letter)
    ("\u0628\u065f", "\u0628"),   # wavy hamza below on beh: no composed form, stripped
])
def test_diacritics_removed(text, expected):
    assert ar(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("كـــتـــاب", KITAB),
    ("\u0643\u0640\u062a\u0627\u0628", KITAB),
    ("ـ", ""),
    ("جمـيـل جداً", "جميل جدا"),
])
def test_tatweel_removed(text, expected):
    assert ar(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("الرحيم\u06d6", "الرحيم"),           # small high ligature sad with lam with alef maksura
    ("قال\u06da", "قال"),                 # small high jeem
    ("\u06dd١", "1"),                     # end of ayah (the digit becomes ASCII)
    ("\u06de سورة", "سورة"),              # rub el hizb, then whitespace collapsed
    ("سجد\u06e9", "سجد"),                 # place of sajdah
    ("محمد \u0610", "محمد"),              # honorific sign (U+0610..U+061A)
    ("عليه \u0611", "عليه"),
    ("\u06e5\u06e6", ""),                 # small waw / small yeh
])
def test_quranic_marks_removed(text, expected):
    assert ar(text) == expected


@pytest.mark.parametrize("mark", ["\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d",
                                  "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
                                  "\u2066", "\u2067", "\u2068", "\u2069", "\ufeff"])
def test_bidi_and_zero_width_marks_removed(mark):
    assert ar(f"{mark}قال{mark} الوزير{mark}") == "قال الوزير"
    assert en(f"{mark}The{mark} minister{mark}") == "The minister"
    assert ar(f"كتا{mark}ب") == KITAB  # inside a word: removed, nothing inserted


def test_alef_wasla_mapped_to_alef():
    assert ar("ٱلْحَمْدُ") == "الحمد"
    assert ar("\u0671") == "\u0627"
    assert ar("ﭐ") == "\u0627"  # presentation form of alef wasla: NFKC, then mapped


@pytest.mark.parametrize("text, expected", [
    ("ﻻ", "لا"),                   # lam-alef ligature U+FEFB
    ("ﻷ", "لأ"),                   # lam-alef with hamza above U+FEF7
    ("ﺑﺴﻢ", "بسم"),                # initial/medial/final forms
    ("\ufdf2", "الله"),             # Allah ligature
    ("ﷺ", "صلى الله عليه وسلم"),    # sallallahou alayhe wasallam ligature
    ("\ufe8d\ufe97", "\u0627\u062a"),
])
def test_presentation_forms_folded(text, expected):
    assert ar(text) == expected


@pytest.mark.parametrize("text", [
    "قال رئيس البلدية سمير حداد في مؤتمر صحفي: «لم نسجل أي إصابات حتى الآن».",
    "هل سيبقى اللاعبون؟ لا أحد يعرف!",
    "إلى أين؟ آمال، مؤسسة، رئيس، مسؤول، شيء، ى، ة",
    "الريحان، 14 مايو/أيار – غمرت مياه نهر الريحان صباح الثلاثاء.",
])
def test_plain_arabic_unchanged(text):
    assert ar(text) == text


def test_arabic_digits_and_separators_become_ascii():
    # The encoder has no pieces for Arabic-Indic digits; ASCII digits it knows.
    assert ar("بلغ محصول القمح ٢٫٤ مليون طن، أي بزيادة ١٢٪ و۳٬۰۰۰ طن.") == \
        "بلغ محصول القمح 2.4 مليون طن، أي بزيادة 12% و3,000 طن."


def test_whitespace_collapsed_and_stripped():
    assert ar("  قال \t\n الوزير\u00a0اليوم  ") == "قال الوزير اليوم"
    assert en("  The \t\n minister\u00a0said  ") == "The minister said"
    assert ar("") == "" and en("") == ""
    assert ar(" \u200f \u0640 ") == ""


@pytest.mark.parametrize("text", [
    "The river rose to 4.8 metres, its highest level in more than twenty years.",
    '"We have not recorded any injuries so far," Mayor Samir Haddad told reporters.',
    "AL-RAYHAN, May 14 – The town’s “last” major flood was in 1998; losses: $3 million!",
    "Is it (really) 50% or 1/2? U.S.-led talks, e-mail, naïve café, Zoë.",
])
def test_plain_english_unchanged(text):
    assert en(text) == text


def test_english_only_loses_marks_and_extra_whitespace():
    assert en("\u200eHe said:\u200f  \"Fine.\"\n") == 'He said: "Fine."'
    # NFKC (documented): compatibility characters are folded.
    assert en("ﬁnal…") == "final..."


def test_dispatch_on_language():
    assert normalize_for_encoding("ٱلْكِتَاب", "ar") == "الكتاب"
    assert normalize_for_encoding("\u200fThe  book", "en") == "The book"
    # Anything but "ar" takes the English path (no alef-wasla mapping).
    assert normalize_for_encoding("\u0671", "en") == "\u0671"
    assert normalize_for_encoding("\u0671", "ar") == "\u0627"


def test_idempotent():
    for text in ["كِتَابٌ ـ ٱلْحَمْدُ \u200f ﻻ", "The\u200f  report…"]:
        assert ar(ar(text)) == ar(text)
        assert en(en(text)) == en(text)
