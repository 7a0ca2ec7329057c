"""Bad content (issue 18, part two): documents in the wrong language of the right script,
unrelated documents paired by name, and sentences that must never become pairs (empty,
emoji, punctuation, Markdown rules), a string where a list of sentences is expected, a
lone surrogate. One test per catalogue row, named after it; the cheap stand-in encoder
unless the rule needs the real one (``@pytest.mark.slow``).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from test_bad_inputs import AR, EN, check_refused, cli, corpus_lines, fake_aligner, folders  # noqa: F401

from aligner.alignment import Bead
from aligner.documents import DocumentAlignment, EncodedSide, _with_unencoded_sentences
from aligner.run.folders import align_folders, unrelated_warnings
from aligner.io.inputs import (LANGUAGE_PIECE_CHARS, LANGUAGE_SAMPLE_PIECES, _language_sample, _without_marks,
                            check_language, language_shares, language_shares_many)
from aligner.text.segmentation import Sentence

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
STEMS = sorted(p.stem for p in (EXAMPLES / "en").glob("*.txt"))

# The river-flood report in Persian, Urdu and French (about 270-350 letters each: enough
# to refuse), and a short Spanish version (192 letters: a warning only).
PERSIAN = ("آب رودخانه روز سه‌شنبه بخش‌های بزرگی از شهر را فرا گرفت. مقامات اعلام کردند که حدود ۱۲۰۰ نفر از "
           "خانه‌هایشان در محله‌های کم‌ارتفاع تخلیه شدند.\nشهردار گفت که آخرین سیل به این اندازه در سال ۱۹۹۸ رخ داده "
           "بود و هنوز خسارت کامل آن برآورد نشده است.\nبه گفته سازمان هواشناسی، باران‌های شدید تا پایان هفته ادامه "
           "خواهد داشت و ساکنان باید از نزدیک شدن به رودخانه خودداری کنند.\n")
URDU = ("منگل کے روز دریا کے پانی نے قصبے کے بڑے حصے کو ڈبو دیا۔ حکام نے بتایا کہ تقریباً 1200 افراد کو نشیبی "
        "علاقوں میں ان کے گھروں سے نکالا گیا۔\nمیئر نے کہا کہ اس پیمانے کا آخری سیلاب 1998 میں آیا تھا اور ابھی تک "
        "نقصان کا مکمل اندازہ نہیں لگایا گیا ہے۔\nمحکمہ موسمیات کے مطابق شدید بارشیں ہفتے کے آخر تک جاری رہیں گی "
        "اور رہائشیوں کو دریا کے قریب جانے سے گریز کرنا چاہیے۔\n")
FRENCH = ("La rivière a inondé une grande partie de la ville mardi matin. Environ 1 200 personnes ont été évacuées "
          "de leurs maisons dans les quartiers bas.\nLa dernière crue de cette ampleur remonte à 1998, a déclaré le "
          "maire, et les dégâts n'ont pas encore été entièrement évalués.\nSelon le service météorologique, les "
          "fortes pluies devraient se poursuivre jusqu'à la fin de la semaine et les habitants doivent éviter de "
          "s'approcher de la rivière.\n")
SPANISH = ("El río inundó gran parte de la ciudad el martes por la mañana. Unas 1.200 personas fueron evacuadas de "
           "sus casas en los barrios bajos.\nLa última crecida de esta magnitud ocurrió en 1998, dijo el alcalde, y "
           "los daños aún no se han evaluado por completo.\n")


def example(stem: str, side: str) -> str:
    return (EXAMPLES / side / f"{stem}.txt").read_text(encoding="utf-8")


def doc_report(report: dict, doc_id: str) -> dict:
    return next(d for d in report["documents"] if d["doc_id"] == doc_id)


# ----------------------------------------------------------------------------- wrong language, same script


def test_persian_in_arabic_folder(cli, tmp_path):
    check_refused(cli, tmp_path, {"bad.txt": EN}, {"bad.txt": PERSIAN},
                  r"expected Arabic, but it reads as Persian \(100% of 2\d\d letters sampled; Arabic 0%\): "
                  r"wrong file or folder\? not aligned$", path_side="ar")


def test_urdu_in_arabic_folder(cli, tmp_path):
    check_refused(cli, tmp_path, {"bad.txt": EN}, {"bad.txt": URDU},
                  r"expected Arabic, but it reads as Urdu \(100% of 2\d\d letters sampled; Arabic 0%\): "
                  r"wrong file or folder\? not aligned$", path_side="ar")


def test_french_in_english_folder(cli, tmp_path):
    check_refused(cli, tmp_path, {"bad.txt": FRENCH}, {"bad.txt": AR},
                  r"expected English, but it reads as French \(100% of 3\d\d letters sampled; English 0%\): "
                  r"wrong file or folder\? not aligned$")


def test_short_text_in_another_language_warns(cli, tmp_path):
    en, ar = folders(tmp_path, {"bad.txt": SPANISH}, {"bad.txt": AR})
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    warning = (f"{en / 'bad.txt'}: it reads as Spanish, not English (192 letters sampled: too short to be sure; "
               f"aligned anyway)")
    assert doc_report(report, "bad")["warnings"] == [warning]
    assert warning in output and doc_report(report, "good")["warnings"] == []


def test_partly_another_language_warns(cli, tmp_path):
    stem = "2024-05-river-flood"
    en, ar = folders(tmp_path, {"bad.txt": example(stem, "en") + FRENCH},
                     {"bad.txt": example(stem, "ar") + PERSIAN})
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    warnings = doc_report(report, "bad")["warnings"]
    assert len(warnings) == 2, warnings
    assert re.fullmatch(re.escape(f"{en / 'bad.txt'}: mixed languages: only ") + r"\d\d% of its text reads as English "
                        r"\(French \d\d%; aligned anyway\)", warnings[0])
    assert re.fullmatch(re.escape(f"{ar / 'bad.txt'}: mixed languages: only ") + r"\d\d% of its text reads as Arabic "
                        r"\(Persian \d\d%; aligned anyway\)", warnings[1])
    assert all(w in output for w in warnings) and corpus_lines(tmp_path / "out", "bad")


def test_arabic_with_persian_letters_is_aligned(cli, tmp_path):
    """Arabic typed on a Persian keyboard (Farsi yeh and keheh for ي and ك) is Arabic."""
    stem = "2024-05-river-flood"
    arabic = example(stem, "ar").replace("ي", "ی").replace("ك", "ک").replace("ى", "ی")
    assert "ی" in arabic and "ک" in arabic
    en, ar = folders(tmp_path, {"bad.txt": example(stem, "en")}, {"bad.txt": arabic})
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    assert [d["warnings"] for d in report["documents"]] == [[], []]


def test_examples_have_no_language_warning():
    """Every example (and the vowelled, name-heavy dev set: see inputs.py) reads as its
    language; the shares are over what lingua decided."""
    for stem in STEMS:
        assert check_language(f"en/{stem}", example(stem, "en"), f"ar/{stem}", example(stem, "ar")) == []
        assert language_shares(example(stem, "en"), "en")[1] == {"English": 1.0}
        assert language_shares(example(stem, "ar"), "ar")[1] == {"Arabic": 1.0}


def test_languages_of_many_texts_in_one_call_are_each_text_alone():
    """One lingua call for a window of documents gives each one what it gets alone,
    including one with nothing to judge and one in another language of its script."""
    texts = {"en": [example(s, "en") for s in STEMS] + ["", FRENCH, "12 34"],
             "ar": [example(s, "ar") for s in STEMS] + [PERSIAN, "", URDU]}
    for side, side_texts in texts.items():
        assert language_shares_many(side_texts, side) == [language_shares(t, side) for t in side_texts]
    assert language_shares_many([], "en") == []
    assert language_shares("12 34", "en") == (0, {})


@pytest.mark.parametrize("piece, kept", [
    ("plain ascii", "plain ascii"),
    ("بِسْمِ اللَّهِ", "بسم الله"),
    ("كــتاب", "كتاب"),      # tatweel
    ("café naı̈ve", "cafe naıve"),                         # Latin combining marks
    ("x𝅧yّz", "xyz"),                                             # a mark beyond the BMP
    ("😀 بَ", "😀 ب"),                           # other astral characters stay
])
def test_combining_marks_and_tatweel_are_removed_before_language_detection(piece, kept):
    assert _without_marks(piece) == kept


def test_language_check_is_cheap_on_a_5_mb_document():
    text = (example(STEMS[0], "en") + "\n") * (5_000_000 // len(example(STEMS[0], "en")))
    assert len(text) > 4_900_000
    pieces = _language_sample(text)
    assert len(pieces) <= LANGUAGE_SAMPLE_PIECES and all(len(p) <= LANGUAGE_PIECE_CHARS for p in pieces)
    language_shares("warm-up: load the detector", "en")
    start = time.perf_counter()
    letters, shares = language_shares(text, "en")
    assert time.perf_counter() - start < 1.0  # about 0.05 s here
    assert shares == {"English": 1.0} and letters > 5000


# ----------------------------------------------------------------------------- unrelated documents


def _alignment_with_scores(scores: list[float]) -> DocumentAlignment:
    n = len(scores)
    sentences = [Sentence(f"s{k}", 0, k + 1) for k in range(n)]
    return DocumentAlignment(sentences, sentences, [Bead((k,), (k,), s) for k, s in enumerate(scores)])


def test_unrelated_rule_applies_to_measured_encoders_only():
    low = _alignment_with_scores([0.05, 0.31, 0.12, 0.2])
    assert unrelated_warnings(Path("en/a.txt"), Path("ar/a.txt"), low, "use-multilingual-v3") == [
        "en/a.txt: the two documents look unrelated (median similarity of their 4 sentence pair(s) 0.16, below "
        "0.30; translations score higher): is ar/a.txt its source? aligned anyway"]
    assert unrelated_warnings(Path("en/a.txt"), Path("ar/a.txt"), low, "test-trigrams") == []
    high = _alignment_with_scores([0.05, 0.31, 0.35, 0.6])
    assert unrelated_warnings(Path("en/a.txt"), Path("ar/a.txt"), high, "use-multilingual-v3") == []
    none = _alignment_with_scores([])
    assert unrelated_warnings(Path("en/a.txt"), Path("ar/a.txt"), none, "use-multilingual-v3") == []


def _copy_examples(tmp_path: Path, shift: int) -> tuple[Path, Path]:
    """The examples, each English document with the Arabic of the one ``shift`` later
    (0: the true pairs), under the English name."""
    en_files = {f"{stem}.txt": example(stem, "en") for stem in STEMS}
    ar_files = {f"{stem}.txt": example(STEMS[(k + shift) % len(STEMS)], "ar") for k, stem in enumerate(STEMS)}
    return folders(tmp_path, en_files, ar_files, good=False)


@pytest.mark.slow
def test_unrelated_documents_paired_by_name(tmp_path, default_aligner):
    en, ar = _copy_examples(tmp_path, 1)
    run = align_folders(en, ar, tmp_path / "out", aligner=default_aligner, progress=False)
    assert run.ok and run.n_aligned == len(STEMS)
    report = json.loads(run.run_path.read_text(encoding="utf-8"))
    for doc in report["documents"]:
        assert len(doc["warnings"]) == 1, doc["warnings"]
        assert re.fullmatch(re.escape(f"{en / doc['en_file']}: the two documents look unrelated (median similarity "
                                      f"of their ") + r"\d+ sentence pair\(s\) 0\.[0-7]\d, below 0\.78; translations "
                            r"score higher\): is " + re.escape(f"{ar / doc['ar_file']} its source? aligned anyway"),
                            doc["warnings"][0])
        assert doc["warnings"][0] in run.summary()
    assert report["summary"]["warnings"] == len(STEMS)


@pytest.mark.slow
def test_examples_align_without_warnings(tmp_path, default_aligner):
    run = align_folders(EXAMPLES / "en", EXAMPLES / "ar", tmp_path / "out", aligner=default_aligner, progress=False)
    assert run.ok and run.n_aligned == len(STEMS)
    assert [d.warnings for d in run.documents] == [[]] * len(STEMS)


# ----------------------------------------------------------------------------- sentences that are not sentences


def test_align_sentences_refuses_a_string(fake_aligner):
    with pytest.raises(TypeError, match=re.escape(
            "align_sentences(): en must be a list of sentences (str), got a str; use align() for running text, "
            "or [text] for one sentence")):
        fake_aligner.align_sentences("The river flooded.", ["غمرت المياه البلدة."])
    with pytest.raises(TypeError, match=re.escape(
            "align_sentences(): ar must be a list of sentences (str), got a bytes")):
        fake_aligner.align_sentences(["The river flooded."], "غمرت".encode())
    with pytest.raises(TypeError, match=re.escape("align_sentences(): ar[1] must be a str, got NoneType")):
        fake_aligner.align_sentences(["The river flooded."], ["غمرت المياه البلدة.", None])
    # Any other iterable of strings is a list of sentences (read once).
    doc = fake_aligner.align_sentences((s for s in ["The river flooded.", "---"]), ("غمرت المياه البلدة.",))
    assert doc.to_vecalign() == "[0]:[0]\n[1]:[]\n"


def test_empty_sentences_are_not_paired(fake_aligner):
    doc = fake_aligner.align_sentences([""], [""])
    assert doc.beads == [Bead((0,), ()), Bead((), (0,))] and doc.pairs == []
    doc = fake_aligner.align_sentences(["", "  ", "The river flooded the town."], ["غمرت مياه النهر البلدة.", ""])
    assert doc.to_vecalign() == "[0]:[]\n[1]:[]\n[2]:[0]\n[]:[1]\n"
    assert [(p.en_text, p.ar_text) for p in doc.pairs] == [("The river flooded the town.", "غمرت مياه النهر البلدة.")]


def test_lone_surrogate_is_refused_with_a_clear_error(fake_aligner):
    message = ("English sentence 2 (line 1) holds a lone surrogate U+D83D at character 6: not valid Unicode text "
               "(half of a UTF-16 pair, from a bad decode?); fix the text, or decode it with errors='replace'")
    with pytest.raises(ValueError, match=re.escape(message)):
        fake_aligner.align("The river rose. Then \ud83d it fell.", "ارتفع النهر.")
    with pytest.raises(ValueError, match=re.escape(
            "Arabic sentence 1 (line 1) holds a lone surrogate U+DC00 at character 3")):
        fake_aligner.align_sentences(["The river rose."], ["ار\udc00تفع النهر."])


def test_lines_without_letters_or_digits_are_not_paired(fake_aligner):
    """Markdown rules, emoji-only and punctuation-only lines stay unaligned, in place;
    the stand-in encoder scored each of them 1.0 with its twin before."""
    english = "---\nThe river flooded the town.\n😀😀\n...\n===\nAbout 1,200 people were evacuated."
    arabic = "***\nغمرت مياه النهر البلدة.\n😀😀\n===\nوأعلنت السلطات إجلاء نحو 1200 شخص."
    doc = fake_aligner.align(english, arabic, presplit=True)
    assert doc.to_vecalign() == "[0]:[]\n[]:[0]\n[1]:[1]\n[2]:[]\n[3]:[]\n[4]:[]\n[]:[2]\n[]:[3]\n[5]:[4]\n"
    assert [(p.en_indices, p.ar_indices) for p in doc.pairs] == [((1,), (1,)), ((5,), (4,))]
    assert all(p.score < 1.0 for p in doc.pairs)


@pytest.mark.slow
def test_lines_without_letters_or_digits_real_encoder(default_aligner):
    english = "---\nThe river flooded the town.\n👍🏽 😀\n***\n!!!\nAbout 1,200 people were evacuated.\n==="
    arabic = "---\nغمرت مياه النهر البلدة.\n👍🏽 😀\n***\n!!!\nوأعلنت السلطات إجلاء نحو 1200 شخص.\n==="
    doc = default_aligner.align(english, arabic, presplit=True)
    assert [(p.en_indices, p.ar_indices) for p in doc.pairs] == [((1,), (1,)), ((5,), (5,))]
    assert doc.unaligned_en == doc.unaligned_ar == [0, 2, 3, 4, 6]
    assert all(p.score < 0.99 for p in doc.pairs)


def test_a_bead_across_a_line_without_letters_is_cut():
    """The search sees only the sentences with content; a bead it made across a rule is
    cut at the rule: its longest piece keeps the pairing, rescored, the rest is unaligned."""
    en = [Sentence("A.", 0, 1), Sentence("---", 0, 2), Sentence("B c.", 0, 3), Sentence("D.", 0, 4)]
    ar = [Sentence("X.", 0, 1)]
    vectors = np.eye(3, dtype=np.float32)
    en_side = EncodedSide(en, [vectors[[0, 1, 2]], vectors[[0, 1]] / np.sqrt(2)], np.ones(3), np.zeros(3, np.int64),
                          np.array([0, 2, 3]))
    ar_side = EncodedSide(ar, [vectors[[1]]], np.ones(1), np.zeros(1, np.int64))
    # In the search's numbering, English 0-1 ("A." "B c.") went with Arabic 0: across the rule.
    beads = [Bead((0, 1), (0,), 0.7071), Bead((2,), ())]
    out = _with_unencoded_sentences(beads, en_side, ar_side)
    assert out == [Bead((0,), (0,), 0.0), Bead((1,), ()), Bead((2,), ()), Bead((3,), ())]


def test_file_of_only_punctuation_is_refused(cli, tmp_path):
    check_refused(cli, tmp_path, {"bad.txt": "---\n***\n😀 👍\n...\n"}, {"bad.txt": AR},
                  r"no sentences found \(no line has a letter or a digit\)$")


def test_markdown_rules_in_a_document_are_left_unaligned(cli, tmp_path):
    english = EN.replace("\nThe last", "\n---\n\nThe last")
    arabic = AR.replace("\nوقال", "\n***\n\nوقال")
    en, ar = folders(tmp_path, {"rules.txt": english}, {"rules.txt": arabic})
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    records = corpus_lines(tmp_path / "out", "rules")
    assert records and not any(r["en"] in ("---", "***") or r["ar"] in ("---", "***") for r in records)
    unaligned = [json.loads(line) for line in (tmp_path / "out" / "unaligned.jsonl").read_text("utf-8").splitlines()]
    assert {(u["side"], u["text"]) for u in unaligned if u["doc_id"] == "rules"} >= {("en", "---"), ("ar", "***")}


def test_hard_wrapped_files_align_as_their_unwrapped_text(cli, tmp_path):
    """Wire copy or PDF text cut at 60 columns: the same corpus as the same text one
    paragraph a line."""
    import textwrap

    wrapped = {side: "\n\n".join(textwrap.fill(p, 60) for p in example(STEMS[1], side).splitlines() if p.strip())
               for side in ("en", "ar")}
    en, ar = folders(tmp_path / "plain", {"doc.txt": example(STEMS[1], "en")}, {"doc.txt": example(STEMS[1], "ar")})
    code, output, _ = cli(en, ar, tmp_path / "plain" / "out")
    assert code == 0, output
    en, ar = folders(tmp_path / "wrapped", {"doc.txt": wrapped["en"]}, {"doc.txt": wrapped["ar"]})
    assert any(len(line) < 50 for line in wrapped["en"].splitlines()) and "\n" in wrapped["ar"]
    code, output, _ = cli(en, ar, tmp_path / "wrapped" / "out")
    assert code == 0, output
    plain = corpus_lines(tmp_path / "plain" / "out", "doc")
    assert plain and corpus_lines(tmp_path / "wrapped" / "out", "doc") == plain
