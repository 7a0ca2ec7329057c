"""Tests for aligner.text.segmentation (English and Arabic sentence splitting)."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

from aligner.text.segmentation import (Sentence, is_hard_wrapped, segment, segment_arabic, segment_english,
                                       split_lines)

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    HAVE_HYPOTHESIS = True
except ImportError:  # pragma: no cover - hypothesis is in the "test" extra
    HAVE_HYPOTHESIS = False

LRM, RLM, ALM = "\u200e", "\u200f", "\u061c"
ZWSP, RLI, PDI = "\u200b", "\u2067", "\u2069"
FORMAT_MARKS = "\u200b\u200c\u200d\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"


def en(text: str) -> list[str]:
    return [s.text for s in segment_english(text)]


def ar(text: str, **kwargs) -> list[str]:
    return [s.text for s in segment_arabic(text, **kwargs)]


# --------------------------------------------------------------------------- #
# Shared behaviour
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("func", [segment_english, segment_arabic, split_lines])
@pytest.mark.parametrize("text", ["", "   ", "\n\n", "\r\n \t\r\n", f"{RLM}\n {LRM} \n"])
def test_empty_and_blank_input_gives_no_sentences(func, text):
    assert func(text) == []


def test_sentence_is_a_frozen_dataclass():
    s = Sentence("Rain fell.", 0, 1)
    assert (s.text, s.paragraph, s.line) == ("Rain fell.", 0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.text = "x"  # type: ignore[misc]


def test_segment_dispatches_by_language():
    text = "هل انتهى الاجتماع؟ نعم."
    assert segment(text, "en") == segment_english(text) == [Sentence(text, 0, 1)]
    assert segment(text, "ar") == segment_arabic(text) == [
        Sentence("هل انتهى الاجتماع؟", 0, 1),
        Sentence("نعم.", 0, 1),
    ]


@pytest.mark.parametrize("bad", ["fr", "english", "EN", ""])
def test_segment_rejects_unknown_language_naming_it(bad):
    with pytest.raises(ValueError, match=repr(bad)):
        segment("Rain fell.", bad)


def test_non_string_input_is_a_type_error():
    with pytest.raises(TypeError):
        segment_english(b"Rain fell.")  # type: ignore[arg-type]


def test_paragraph_and_line_numbers_english():
    text = (
        "\n"
        "The city council approved the new budget on Tuesday. The vote was 7 to 2!\n"
        "Could the plan survive? Officials think so.\n"
        "\n"
        "   \n"
        "Heavy rain flooded the lower town.\n"
    )
    assert segment_english(text) == [
        Sentence("The city council approved the new budget on Tuesday.", 0, 2),
        Sentence("The vote was 7 to 2!", 0, 2),
        Sentence("Could the plan survive?", 0, 3),
        Sentence("Officials think so.", 0, 3),
        Sentence("Heavy rain flooded the lower town.", 1, 6),
    ]


def test_crlf_and_cr_line_ends():
    text = "أغلقت المدارس. وتوقفت القطارات.\r\n\r\nعادت الكهرباء.\rفتحت الأسواق!\r\n"
    assert segment_arabic(text) == [
        Sentence("أغلقت المدارس.", 0, 1),
        Sentence("وتوقفت القطارات.", 0, 1),
        Sentence("عادت الكهرباء.", 1, 3),
        Sentence("فتحت الأسواق!", 1, 4),
    ]
    assert en("Rain fell.\r\nWind blew.") == ["Rain fell.", "Wind blew."]


def test_line_breaks_end_sentences_in_text_that_is_not_hard_wrapped():
    assert segment_english("The council met on\nTuesday evening.") == [
        Sentence("The council met on", 0, 1),
        Sentence("Tuesday evening.", 0, 2),
    ]
    assert ar("اجتمع المجلس يوم\nالثلاثاء.") == ["اجتمع المجلس يوم", "الثلاثاء."]


# Wire copy as a wrapping tool leaves it (textwrap, 72 columns; paragraphs not separated
# by blank lines; a headline without a full stop; "pro-" + "government" broken after
# the hyphen).
REPORT_PARAGRAPHS = [
    "Floods cut the valley road",
    "Floods hit the valley on Tuesday after three days of heavy rain, the civil defence said, and more "
    "rain is expected in the north this week. About 1,200 people were moved to schools, and the "
    "pro-government daily Al-Waha said the main bridge would stay closed until July 1. Officials said "
    "repairs would cost $4 million.",
    "Residents said they had been warned only hours before the water rose and that nobody had come to "
    "help them move their belongings out of their flooded homes in the lower town.",
]
AR_PARAGRAPHS = [
    "أعلنت وزارة الصحة يوم الثلاثاء أن عدد المصابين في المدينة ارتفع إلى أكثر من ألف شخص خلال الأسبوع "
    "الماضي، وأضافت أن المستشفيات تعمل بكامل طاقتها وأن فرق الإسعاف تعمل على مدار الساعة. وقال المتحدث "
    "باسم الوزارة إن الوضع تحت السيطرة رغم الضغط الكبير على الكوادر الطبية في المناطق الريفية، وطالب "
    "السكان بالبقاء في منازلهم:",
    "- تجنب التجمعات الكبيرة في الأسواق والمساجد والمدارس والمراكز التجارية والملاعب الرياضية كلها",
    "- غسل اليدين",
]


@pytest.mark.parametrize("width", [56, 64, 72, 80])
@pytest.mark.parametrize("paragraphs,split", [(REPORT_PARAGRAPHS, segment_english), (AR_PARAGRAPHS, segment_arabic)])
def test_hard_wrapped_text_is_joined_where_the_wrapping_broke_it(paragraphs, split, width):
    text = "\n".join(textwrap.fill(p, width) for p in paragraphs)
    assert is_hard_wrapped(text)
    assert [s.text for s in split(text)] == [s.text for s in split("\n".join(paragraphs))]
    # Each sentence keeps the number of the line it starts on.
    lines = text.split("\n")
    for s in split(text):
        assert s.text.split()[0] in lines[s.line - 1].split() or lines[s.line - 1].rstrip().endswith(
            s.text.split()[0].split("-")[0] + "-")


def test_hard_wrapped_line_numbers():
    text = "\n".join(textwrap.fill(p, 72) for p in REPORT_PARAGRAPHS)
    assert [s.line for s in segment_english(text)] == [1, 2, 4, 5, 7]
    assert [s.paragraph for s in segment_english(text)] == [0] * 5


@pytest.mark.parametrize("text", [
    # Verse: one line each, no full stops, lengths far apart.
    "So We gave him good tidings of a forbearing boy\n"
    "And when he reached with him the age of exertion, he said, O my son, indeed I have seen in a dream\n"
    "He said, O my father, do as you are commanded\n"
    "You will find me, if Allah wills, of the steadfast\n"
    "And when they had both submitted and he put him down upon his forehead, We called to him, O Abraham\n",
    # A paragraph per line, each ending a sentence.
    "Floods hit the valley on Tuesday after three days of heavy rain in the north.\n" * 5,
    # Short lines.
    "على قدر أهل العزم تأتي العزائم\nوتأتي على قدر الكرام المكارم\nوتعظم في عين الصغير صغارها\nوتصغر في عين العظيم العظائم\n",
])
def test_text_that_is_not_hard_wrapped_keeps_every_line_break(text):
    assert not is_hard_wrapped(text)
    lines = text.splitlines()
    sentences = (segment_arabic if "ع" in text else segment_english)(text)
    # Every line starts a sentence, and no sentence reaches past its own line.
    assert {s.line for s in sentences} == set(range(1, len(lines) + 1))
    assert all(s.text in lines[s.line - 1] for s in sentences)


def test_format_mark_only_line_separates_paragraphs():
    text = f"الفقرة الأولى.\n{RLM}\nالفقرة الثانية."
    assert [(s.text, s.paragraph, s.line) for s in segment_arabic(text)] == [
        ("الفقرة الأولى.", 0, 1),
        ("الفقرة الثانية.", 1, 3),
    ]


def test_leading_bom_is_dropped_but_inner_text_kept():
    assert en("\ufeffThe  match   ended 1-1.  ") == ["The  match   ended 1-1."]


def test_split_lines_one_sentence_per_line():
    text = "  First line. Still the first line.  \n\n\nSecond paragraph?\r\nno split inside. Really.\r\n"
    assert split_lines(text) == [
        Sentence("First line. Still the first line.", 0, 1),
        Sentence("Second paragraph?", 1, 4),
        Sentence("no split inside. Really.", 1, 5),
    ]


def test_split_lines_keeps_marks_and_arabic_text():
    text = f"{RLM}قال المدرب: «فزنا.»\n\n  انتهى الموسم. بدأ الاستعداد.  "
    assert [(s.text, s.paragraph, s.line) for s in split_lines(text)] == [
        (f"{RLM}قال المدرب: «فزنا.»", 0, 1),
        ("انتهى الموسم. بدأ الاستعداد.", 1, 3),
    ]


@pytest.mark.parametrize("func", [segment_english, segment_arabic])
def test_long_line_without_punctuation_is_one_sentence(func):
    text = ("flood water reached the market square " * 1400)[:50_000]
    result = func(text)
    assert len(result) == 1
    assert result[0].text == text.strip()


@pytest.mark.parametrize("func", [segment_english, segment_arabic])
def test_pathological_punctuation_runs(func):
    assert len(func("." * 50_000)) == 1
    assert len(func("1.2." * 12_500 + " end")) == 1
    assert len(func("Mr. " * 12_000)) == 1
    assert len(func("Rain fell. " * 5_000)) == 5_000


def test_punctuation_only_piece_is_merged_not_emitted():
    assert en("The vote passed. (...) The council adjourned.") == [
        "The vote passed. (...)",
        "The council adjourned.",
    ]
    assert ar("انتهى التصويت. «...» وغادر الأعضاء.") == ["انتهى التصويت. «...»", "وغادر الأعضاء."]
    assert en("...") == ["..."]


def test_enumerator_is_not_split_off():
    assert en("1. The council approved the budget.") == ["1. The council approved the budget."]
    assert ar("٢. وافق المجلس على الميزانية.") == ["٢. وافق المجلس على الميزانية."]
    assert ar("أ. إصلاح الطرق المتضررة.") == ["أ. إصلاح الطرق المتضررة."]


@pytest.mark.parametrize("text,expected", [
    ("II. Background\nThe Council met.", ["II. Background", "The Council met."]),
    ("XIV. Other matters. The Board adjourned.", ["XIV. Other matters.", "The Board adjourned."]),
    ("iv. The second reading was held.", ["iv. The second reading was held."]),
    # Not a numeral: a word, or a numeral ending a sentence rather than starting one.
    ("Ill. He stayed home.", ["Ill.", "He stayed home."]),
    ("He was ranked IV. The next was V.", ["He was ranked IV.", "The next was V."]),
])
def test_roman_section_numbers_are_enumerators(text, expected):
    assert en(text) == expected


# Numbered sections of legal and UN texts: the number stays with its heading or sentence.
@pytest.mark.parametrize("text,expected", [
    ("2.1. Scope of application\n2.2. Definitions", ["2.1. Scope of application", "2.2. Definitions"]),
    ("70/1. Transforming our world: the 2030 Agenda", ["70/1. Transforming our world: the 2030 Agenda"]),
    ("1.2.3. The parties agree. They sign.", ["1.2.3. The parties agree.", "They sign."]),
    # A number that ends a sentence is not a section number.
    ("Growth was 2.1. The next year it rose.", ["Growth was 2.1.", "The next year it rose."]),
])
def test_section_numbers_are_enumerators(text, expected):
    assert en(text) == expected


def test_arabic_section_number_is_an_enumerator():
    assert ar("٣.٢. نطاق التطبيق") == ["٣.٢. نطاق التطبيق"]


# --------------------------------------------------------------------------- #
# English
# --------------------------------------------------------------------------- #


def test_english_basic_terminals():
    assert en("Floods hit the valley. Was anyone hurt? Nobody died! Roads reopened…") == [
        "Floods hit the valley.",
        "Was anyone hurt?",
        "Nobody died!",
        "Roads reopened…",
    ]


def test_english_needs_uppercase_digit_or_opener_after_the_mark():
    assert en("The team won 2-1. fans celebrated. 12 homes flooded. (Officials agreed.) 'Good,' one said.") == [
        "The team won 2-1. fans celebrated.",
        "12 homes flooded.",
        "(Officials agreed.)",
        "'Good,' one said.",
    ]


def test_english_titles_never_split():
    assert en("Mr. Hamid and Dr. Salma Aziz met Gov. Lee and Sen. Park. The meeting lasted an hour.") == [
        "Mr. Hamid and Dr. Salma Aziz met Gov. Lee and Sen. Park.",
        "The meeting lasted an hour.",
    ]
    assert en("Lt. Col. Omar Nabil and Capt. Rami Saad led the rescue. Sgt. Lina Haddad drove the boat.") == [
        "Lt. Col. Omar Nabil and Capt. Rami Saad led the rescue.",
        "Sgt. Lina Haddad drove the boat.",
    ]
    assert en("Prof. Karim Said, Maj. Gen. Adel Fahmy and Mrs. Noor Ali spoke at Mt. Hermon.") == [
        "Prof. Karim Said, Maj. Gen. Adel Fahmy and Mrs. Noor Ali spoke at Mt. Hermon."
    ]


def test_english_initials():
    assert en("J. R. R. Tolkien and George W. Bush were mentioned. Nobody laughed.") == [
        "J. R. R. Tolkien and George W. Bush were mentioned.",
        "Nobody laughed.",
    ]
    # An initial-like letter that really ends the sentence, before a sentence opener.
    assert en("Doctors prescribed vitamin D. The patients recovered.") == [
        "Doctors prescribed vitamin D.",
        "The patients recovered.",
    ]


def test_english_dotted_acronyms_mid_and_end():
    assert en("The U.S. Army and the U.N. agency sent aid. The U.K. embassy stayed closed.") == [
        "The U.S. Army and the U.N. agency sent aid.",
        "The U.K. embassy stayed closed.",
    ]
    assert en("The striker moved to the U.S. He signed a two-year deal. It's a big move for the U.S. But not for him.") == [
        "The striker moved to the U.S.",
        "He signed a two-year deal.",
        "It's a big move for the U.S.",
        "But not for him.",
    ]


def test_english_times():
    assert en("The match starts at 8 p.m. local time. Gates open at 6 p.m. The stadium holds 40,000 fans.") == [
        "The match starts at 8 p.m. local time.",
        "Gates open at 6 p.m.",
        "The stadium holds 40,000 fans.",
    ]


def test_english_months_and_number_abbreviations():
    assert en("The storm hit on Sept. 14 and again on Oct. 2. The No. 1 team lost on Jan. 3.") == [
        "The storm hit on Sept. 14 and again on Oct. 2.",
        "The No. 1 team lost on Jan. 3.",
    ]
    assert en("Annual inflation hit 35.7% in Feb. The pound fell in Sept. Traders shrugged.") == [
        "Annual inflation hit 35.7% in Feb.",
        "The pound fell in Sept. Traders shrugged.",
    ]
    # "No." without a number after it is the word "No".
    assert en('The minister said No. The crowd cheered.') == ["The minister said No.", "The crowd cheered."]


# References in reports, legal and UN texts: an abbreviation before a number (or a Roman
# numeral after vol./chap./art./sect.) continues the sentence; without one it may end it.
@pytest.mark.parametrize("text,expected", [
    ("See para. 12 above. The Council agreed.", ["See para. 12 above.", "The Council agreed."]),
    ("As noted in paras. 3-5, the rate fell. It rose.", ["As noted in paras. 3-5, the rate fell.", "It rose."]),
    ("Under art. 5 of the Convention, States act. Art. 6 adds more.",
     ["Under art. 5 of the Convention, States act.", "Art. 6 adds more."]),
    ("Under s. 12 of the Act, costs follow. See also ss. 13-14.",
     ["Under s. 12 of the Act, costs follow.", "See also ss. 13-14."]),
    ("See p. 14 and pp. 20-22 of the report. It is long.", ["See p. 14 and pp. 20-22 of the report.", "It is long."]),
    ("Official Records, Suppl. No. 49 (A/70/49), vol. I, resolution 70/1. It was adopted.",
     ["Official Records, Suppl. No. 49 (A/70/49), vol. I, resolution 70/1.", "It was adopted."]),
    ("See U.N. Doc. A/HRC/30/2, para. 5. The Council noted it.",
     ["See U.N. Doc. A/HRC/30/2, para. 5.", "The Council noted it."]),
    ("Chap. IV of the report deals with it. Vol. II covers the rest.",
     ["Chap. IV of the report deals with it.", "Vol. II covers the rest."]),
    ("The vote (G.A. Res. 217 (III)) passed. It was close.", ["The vote (G.A. Res. 217 (III)) passed.", "It was close."]),
    ("The text (see fig. 3) shows it. Fig. 4 does not.", ["The text (see fig. 3) shows it.", "Fig. 4 does not."]),
    ("Smith et al. (2019) found a rise. It was the work of Jones et al. The end.",
     ["Smith et al. (2019) found a rise.", "It was the work of Jones et al.", "The end."]),
    # Without a number after it, "No." is the word: the Roman-numeral rule is not its.
    ("He said No. I think he meant it.", ["He said No.", "I think he meant it."]),
    ("Read the art. It speaks.", ["Read the art.", "It speaks."]),
    ("He said no. 5 people came later.", ["He said no.", "5 people came later."]),
    # Circa and the chapters of a law's revised edition.
    ("He was born c. 1850 and died ca. 1900 in Paris. It rained.",
     ["He was born c. 1850 and died ca. 1900 in Paris.", "It rained."]),
    ("The Act (Cap. 12) applies. It is old.", ["The Act (Cap. 12) applies.", "It is old."]),
])
def test_english_reference_abbreviations(text, expected):
    assert en(text) == expected


def test_english_company_abbreviations():
    assert en("Shares of Acme Inc. and Delta Co. Ltd. fell sharply. Investors were calm.") == [
        "Shares of Acme Inc. and Delta Co. Ltd. fell sharply.",
        "Investors were calm.",
    ]
    assert en("The deal was signed by Acme Corp. The shares jumped.") == [
        "The deal was signed by Acme Corp.",
        "The shares jumped.",
    ]


def test_english_latin_abbreviations():
    assert en("The derby, Al Ahly vs. Zamalek, drew fans, e.g. Students, i.e. Everyone under 30.") == [
        "The derby, Al Ahly vs. Zamalek, drew fans, e.g. Students, i.e. Everyone under 30."
    ]


def test_english_etc_depends_on_next_word():
    # Documented choice: etc. splits only before a common sentence opener.
    assert en("Vendors sold bread, rice, oil, etc. The ministry was pleased.") == [
        "Vendors sold bread, rice, oil, etc.",
        "The ministry was pleased.",
    ]
    assert en("Vendors sold bread, rice, oil, etc. Prices stayed stable.") == [
        "Vendors sold bread, rice, oil, etc. Prices stayed stable."
    ]


def test_english_numbers_never_split():
    assert en("Prices rose 3.5 percent, and the project will cost $1.2 billion. Bread costs 0.75 dinars.") == [
        "Prices rose 3.5 percent, and the project will cost $1.2 billion.",
        "Bread costs 0.75 dinars.",
    ]
    assert en("Version 2.4.1 of the app went live on 2024.05.12 at the U.S.-led site.") == [
        "Version 2.4.1 of the app went live on 2024.05.12 at the U.S.-led site."
    ]


def test_english_ellipsis():
    assert en("The mayor paused... then continued. The crowd waited… Nobody spoke. He sighed.... Then left.") == [
        "The mayor paused... then continued.",
        "The crowd waited…",
        "Nobody spoke.",
        "He sighed....",
        "Then left.",
    ]


def test_english_quotes_stay_with_their_sentence():
    assert en('He said, "It is over." Then he left.') == ['He said, "It is over."', "Then he left."]
    assert en("“We will rebuild,” the mayor said. “It will take years.” Residents agreed.") == [
        "“We will rebuild,” the mayor said.",
        "“It will take years.”",
        "Residents agreed.",
    ]
    assert en("She called it 'a disaster'. Then she left.") == ["She called it 'a disaster'.", "Then she left."]


def test_english_quote_closing_mid_sentence_does_not_split():
    assert en('"Why now?" asked one resident. "Because the money arrived!" the mayor replied.') == [
        '"Why now?" asked one resident.',
        '"Because the money arrived!" the mayor replied.',
    ]


def test_english_datelines_and_dashes_do_not_split():
    assert en("BEIRUT – Floods cut roads across the north — and the south — on Monday. Schools closed.") == [
        "BEIRUT – Floods cut roads across the north — and the south — on Monday.",
        "Schools closed.",
    ]
    assert en("WASHINGTON, D.C. — The council voted.") == ["WASHINGTON, D.C. — The council voted."]


# A dialogue dash after a sentence end opens the next line of dialogue (literary text);
# a dash before a lowercase word, an abbreviation before a dash, and a hyphen glued to the
# next word do not.
@pytest.mark.parametrize("text,expected", [
    ("— I don't know, she said. — Then go.", ["— I don't know, she said.", "— Then go."]),
    ("I don't know, she said. —Then go.", ["I don't know, she said.", "—Then go."]),
    ("He stopped. – \"Why?\" she asked.", ["He stopped.", "– \"Why?\" she asked."]),
    ("He left. - Then she came.", ["He left.", "- Then she came."]),
    ("He came at 5 p.m. — an hour late.", ["He came at 5 p.m. — an hour late."]),
    ("He met Dr. — Smith, I think.", ["He met Dr. — Smith, I think."]),
    ("He left. -Then she came.", ["He left. -Then she came."]),
])
def test_english_dialogue_dashes(text, expected):
    assert en(text) == expected


def test_arabic_dialogue_dashes():
    assert ar("- إلى أين تذهب؟ قالت. - إلى البيت، قال.") == ["- إلى أين تذهب؟", "قالت.", "- إلى البيت، قال."]


# A footnote mark glued to a sentence end (text copied from a PDF) stays with its sentence.
@pytest.mark.parametrize("text,expected", [
    ("It adopted the resolution on development.1 The vote was recorded.",
     ["It adopted the resolution on development.1", "The vote was recorded."]),
    ("They agreed to meet every two years.² The Secretary-General welcomed it.",
     ["They agreed to meet every two years.²", "The Secretary-General welcomed it."]),
    ("He called it “historic.”3 The vote followed.", ["He called it “historic.”3", "The vote followed."]),
    ("Was it enough?12 Nobody knew.", ["Was it enough?12", "Nobody knew."]),
    # Not after a number, a single letter, a Roman numeral or an abbreviation.
    ("Sales rose to 3.5 Million units.", ["Sales rose to 3.5 Million units."]),
    ("See section A.1 Scope of the rules.", ["See section A.1 Scope of the rules."]),
    ("Read Chapter IV.2 The end.", ["Read Chapter IV.2 The end."]),
    ("The No.1 Team lost.", ["The No.1 Team lost."]),
    ("See fig.3 The chart shows it.", ["See fig.3 The chart shows it."]),
    ("The 2015 figure (2014).3 The rest.", ["The 2015 figure (2014).3 The rest."]),
    # A footnote mark before a lowercase word is not a sentence end either.
    ("It was agreed.4 and then signed.", ["It was agreed.4 and then signed."]),
])
def test_english_footnote_marks(text, expected):
    assert en(text) == expected


def test_arabic_footnote_marks():
    assert ar("اعتمدت الجمعية القرار المتعلق بالتنمية المستدامة.1 وسُجّل التصويت.") == [
        "اعتمدت الجمعية القرار المتعلق بالتنمية المستدامة.1", "وسُجّل التصويت."]
    # After a number or a single letter (an abbreviation) it is not a footnote.
    assert ar("بلغ النمو 3.5 في المائة.") == ["بلغ النمو 3.5 في المائة."]
    assert ar("قال د.2 محمد إن الاجتماع انتهى.") == ["قال د.2 محمد إن الاجتماع انتهى."]


def test_english_no_split_without_space():
    assert en("The match ended.The fans left.") == ["The match ended.The fans left."]


# --------------------------------------------------------------------------- #
# Arabic
# --------------------------------------------------------------------------- #


def test_arabic_basic_terminals():
    text = (
        "غمرت مياه الفيضانات عشرات المنازل في المدينة. وقال المحافظ إن فرق الإنقاذ تعمل منذ الفجر! "
        "هل تكفي المساعدات؟ لا أحد يعرف حتى الآن."
    )
    assert ar(text) == [
        "غمرت مياه الفيضانات عشرات المنازل في المدينة.",
        "وقال المحافظ إن فرق الإنقاذ تعمل منذ الفجر!",
        "هل تكفي المساعدات؟",
        "لا أحد يعرف حتى الآن.",
    ]


def test_arabic_ascii_question_mark_and_mark_clusters():
    assert ar("هل يفوز الفريق الليلة? يأمل المشجعون ذلك. ما هذا؟! انتهت المباراة.") == [
        "هل يفوز الفريق الليلة?",
        "يأمل المشجعون ذلك.",
        "ما هذا؟!",
        "انتهت المباراة.",
    ]


def test_arabic_comma_and_colon_never_split():
    assert ar("ارتفعت أسعار الخبز، والزيت، والسكر، بنسبة كبيرة هذا الشهر.") == [
        "ارتفعت أسعار الخبز، والزيت، والسكر، بنسبة كبيرة هذا الشهر."
    ]
    assert ar("قال رئيس البلدية: الوضع تحت السيطرة. وأضاف: سنعيد فتح المدارس.") == [
        "قال رئيس البلدية: الوضع تحت السيطرة.",
        "وأضاف: سنعيد فتح المدارس.",
    ]


def test_arabic_semicolon_joins_by_default_and_splits_on_request():
    text = "أغلقت المدارس أبوابها؛ وتوقفت حركة القطارات في المدينة."
    assert ar(text) == [text]
    assert segment(text, "ar") == segment_arabic(text)
    assert ar(text, split_semicolon=True) == ["أغلقت المدارس أبوابها؛", "وتوقفت حركة القطارات في المدينة."]


@pytest.mark.parametrize(
    "text",
    [
        "ارتفع معدل التضخم إلى 3.5 في المئة خلال الشهر الماضي.",
        "ارتفع معدل التضخم إلى ٣٫٥ في المئة خلال الشهر الماضي.",
        "بلغ سعر الكيلو ٣.٧٥ دينار في السوق.",
        "بلغ إنتاج المصنع ١٬٠٠٠ طن من القمح.",
        "حضر المباراة 12.000 مشجع في الملعب.",
        "صدر القرار بتاريخ 2024.05.12 في العاصمة.",
        "حدّثت الوزارة نظامها إلى الإصدار 2.4.1 أمس.",
        "انخفض سعر السهم إلى $1.2 في بورصة نيويورك.",
    ],
)
def test_arabic_numbers_never_split(text):
    assert ar(text) == [text]


def test_arabic_number_at_sentence_end_still_splits():
    assert ar("بلغ عدد الضحايا 12. وقال الدفاع المدني إن البحث مستمر.") == [
        "بلغ عدد الضحايا 12.",
        "وقال الدفاع المدني إن البحث مستمر.",
    ]


def test_arabic_terminal_inside_closing_quote():
    assert ar("قال: «انتهى الأمر.» ثم غادر.") == ["قال: «انتهى الأمر.»", "ثم غادر."]
    assert ar("قال المتحدث: “نحن مستعدون!” وغادر القاعة.") == ["قال المتحدث: “نحن مستعدون!”", "وغادر القاعة."]
    assert ar('قال الحكم: "انتهت المباراة." ثم أطلق صافرته.') == ['قال الحكم: "انتهت المباراة."', "ثم أطلق صافرته."]
    # Reversed guillemets, used by some Arabic publishers.
    assert ar("قال: »انتهى الأمر.« ثم غادر.") == ["قال: »انتهى الأمر.«", "ثم غادر."]


def test_arabic_period_after_closing_quote():
    assert ar("قال الوزير: «الأسعار ستنخفض». ولم يحدد موعدا.") == [
        "قال الوزير: «الأسعار ستنخفض».",
        "ولم يحدد موعدا.",
    ]


def test_arabic_quote_closing_mid_sentence_does_not_split():
    text = "وصف المدرب المباراة بأنها «صعبة» وأشاد بأداء اللاعبين، وقال إنها “درس” للجميع."
    assert ar(text) == [text]


def test_arabic_bidi_marks_do_not_block_splitting_and_are_kept():
    assert ar(f"انتهى الاجتماع.{RLM} وبدأ التصويت.") == [f"انتهى الاجتماع.{RLM}", "وبدأ التصويت."]
    assert ar(f"انتهى الاجتماع. {RLM}وبدأ التصويت.") == ["انتهى الاجتماع.", f"{RLM}وبدأ التصويت."]
    assert ar(f"{RLI}سجل اللاعب هدفين{PDI}. {ALM}فاز الفريق{LRM}! {ZWSP}انتهت المباراة.") == [
        f"{RLI}سجل اللاعب هدفين{PDI}.",
        f"{ALM}فاز الفريق{LRM}!",
        f"{ZWSP}انتهت المباراة.",
    ]
    assert ar(f"قال: «انتهى.{RLM}» {LRM}ثم غادر.") == [f"قال: «انتهى.{RLM}»", f"{LRM}ثم غادر."]


def test_bidi_marks_in_english_text():
    assert en(f"The vote passed.{LRM} {RLM}The council adjourned.") == [
        f"The vote passed.{LRM}",
        f"{RLM}The council adjourned.",
    ]


def test_arabic_diacritics_are_preserved():
    assert ar("سجَّل اللاعبُ هدفًا. وفاز الفريقُ بالكأس.") == ["سجَّل اللاعبُ هدفًا.", "وفاز الفريقُ بالكأس."]


@pytest.mark.parametrize(
    "text",
    [
        "استقبل د. أحمد حسن المصابين في المستشفى.",
        "ترأس أ.د. سامي خليل اللجنة العلمية.",
        "كتب ع. المصري تقريرا عن الفيضانات.",
        "أشرف م. خالد يوسف على إصلاح الجسر.",
        "وردت الأرقام في ص. 45 من التقرير.",
        "استقبل دُ. أحمد حسن المصابين.",
    ],
)
def test_arabic_titles_and_initials_do_not_split(text):
    assert ar(text) == [text]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("بني المسجد عام 1450 م. وقد رُمّم مرتين.", ["بني المسجد عام 1450 م.", "وقد رُمّم مرتين."]),
        ("افتتح الجسر سنة 2024م. وحضر الحفل المئات.", ["افتتح الجسر سنة 2024م.", "وحضر الحفل المئات."]),
        ("بدأت الحرب عام 300 ق.م. واستمرت عقدين.", ["بدأت الحرب عام 300 ق.م.", "واستمرت عقدين."]),
        ("تبدأ المباراة الساعة 10 ص. ويتوقع حضور كبير.", ["تبدأ المباراة الساعة 10 ص.", "ويتوقع حضور كبير."]),
        (
            "وُلد الشاعر عام 1320 هـ. الموافق 1902 م. وتوفي في القاهرة.",
            ["وُلد الشاعر عام 1320 هـ. الموافق 1902 م.", "وتوفي في القاهرة."],
        ),
        (
            "حكم الملك من 1990 م. إلى 2000 م. وقال المؤرخون إن عهده كان مستقرا.",
            ["حكم الملك من 1990 م. إلى 2000 م.", "وقال المؤرخون إن عهده كان مستقرا."],
        ),
        ("بين عامي 1990 م. و2000 م. تضاعف عدد السكان.", ["بين عامي 1990 م. و2000 م. تضاعف عدد السكان."]),
    ],
)
def test_arabic_era_and_unit_markers_after_numbers(text, expected):
    assert ar(text) == expected


def test_arabic_etc_abbreviation():
    assert ar("تضررت الطرق والجسور والمدارس إلخ. التي بنيت قبل عقود.") == [
        "تضررت الطرق والجسور والمدارس إلخ. التي بنيت قبل عقود."
    ]
    assert ar("ارتفعت أسعار الخبز والزيت والسكر إلخ. وقالت الوزارة إنها ستتدخل.") == [
        "ارتفعت أسعار الخبز والزيت والسكر إلخ.",
        "وقالت الوزارة إنها ستتدخل.",
    ]


def test_arabic_regular_short_word_before_period_splits():
    # Only single letters are abbreviations: a two-letter word ends the sentence.
    assert ar("سأل الصحفي عن الخطة فقال لا. وغادر القاعة.") == ["سأل الصحفي عن الخطة فقال لا.", "وغادر القاعة."]


def test_arabic_ellipsis():
    assert ar("انتظر المشجعون طويلا... ثم انطلقت المباراة.") == ["انتظر المشجعون طويلا...", "ثم انطلقت المباراة."]
    assert ar("تضررت المباني… التي بنيت على ضفة النهر.") == ["تضررت المباني… التي بنيت على ضفة النهر."]
    assert ar("وانتظر الجميع...") == ["وانتظر الجميع..."]


def test_arabic_ellipsis_inside_open_quotation_marks_omission():
    text = "قال المدرب: «نحن جاهزون ... للمباراة النهائية» وغادر."
    assert ar(text) == [text]
    assert ar("قال المدرب: «نحن جاهزون…» ثم غادر.") == ["قال المدرب: «نحن جاهزون…»", "ثم غادر."]


def test_latin_inside_arabic():
    assert ar("أعلنت شركة Acme Inc. عن أرباحها والتقى الوزير Dr. John Smith في مقر U.S. Embassy أمس.") == [
        "أعلنت شركة Acme Inc. عن أرباحها والتقى الوزير Dr. John Smith في مقر U.S. Embassy أمس."
    ]
    assert ar("أطلقت الشركة هاتف Galaxy. وقال المتحدث إن المبيعات جيدة.") == [
        "أطلقت الشركة هاتف Galaxy.",
        "وقال المتحدث إن المبيعات جيدة.",
    ]
    assert ar("تشمل المنتجات أجهزة مختلفة، e.g. phones وأجهزة لوحية.") == [
        "تشمل المنتجات أجهزة مختلفة، e.g. phones وأجهزة لوحية."
    ]
    assert ar("قال المهندس إن السرعة بلغت 3.5 m. then stopped.") == ["قال المهندس إن السرعة بلغت 3.5 m. then stopped."]


# --------------------------------------------------------------------------- #
# Invariants
# --------------------------------------------------------------------------- #


def _visible(text: str) -> str:
    text = text.removeprefix("\ufeff")  # a leading BOM is not text
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = [ln for ln in lines if not all(c.isspace() or c in FORMAT_MARKS for c in ln)]
    return "".join(c for c in "".join(kept) if not c.isspace())


def _check_invariants(text: str, sentences: list[Sentence]) -> None:
    n_lines = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    assert "".join(c for s in sentences for c in s.text if not c.isspace()) == _visible(text)
    for s in sentences:
        assert s.text and s.text == s.text.strip()
        assert 1 <= s.line <= n_lines
    assert [s.line for s in sentences] == sorted(s.line for s in sentences)
    paragraphs = [s.paragraph for s in sentences]
    assert paragraphs == sorted(paragraphs)
    assert all(b - a in (0, 1) for a, b in zip(paragraphs, paragraphs[1:]))
    assert not paragraphs or paragraphs[0] == 0


@pytest.mark.parametrize("func", [segment_english, segment_arabic, split_lines])
def test_no_character_is_lost_on_a_mixed_document(func):
    text = (
        "BEIRUT – Floods hit. Mr. Hamid said: «انتهى الأمر.» ثم غادر!\r\n\r\n"
        f"{RLM}سجل اللاعب 3.5 هدفًا؟ Dr. Aziz… agreed.  \n \n\n"
        "وُلد عام 1320 هـ. الموافق 1902 م. وتوفي. The U.S. team won 2-1."
    )
    _check_invariants(text, func(text))


if HAVE_HYPOTHESIS:
    _ALPHABET = st.sampled_from(
        list("abcXYZ019 ..!?؟…،؛:«»“”\"'()-—\n\r\t")
        + ["دل", "م", "هـ", "إلخ", "Mr", "U.S", "٣٫٥", "التي", RLM, LRM, ALM, ZWSP, RLI, PDI, "\u00a0"]
    )

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(st.lists(_ALPHABET, max_size=80).map("".join))
    def test_invariants_on_random_text(text):
        for func in (segment_english, segment_arabic, split_lines):
            _check_invariants(text, func(text))
        _check_invariants(text, segment_arabic(text, split_semicolon=True))
