"""Pairing documents by content (aligner.pairing.content, aligner.pairing.names.pair_documents,
``aligner pair``, ``aligner align --pair-by``).

The fast tests use a hashed stand-in encoder or no encoder at all; the content tests use
the session's real aligner (embedded encoder) on small news documents written for these
tests: every English sentence that has a source is a translation of its Arabic line."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import aligner
from aligner import Aligner
from aligner.alignment import Bead
from aligner.cli import main
from aligner.run.folders import align_folders
from aligner.pairing.content import (
    ContentPair,
    ContentPairingConfig,
    candidate_pairs,
    document_vector,
    greedy_one_to_one,
    rescoring_config,
    top_neighbours,
)
from aligner.pairing.names import PairingError, pair_by_name, pair_documents, pairs_paths, write_pairs

# ------------------------------------------------------------------ test documents

# (English, Arabic) sentence pairs, one story per key.
FLOOD = [
    ("Heavy rain flooded the streets of the city of Zarqa on Sunday morning.",
     "غمرت مياه الأمطار الغزيرة شوارع مدينة الزرقاء صباح الأحد."),
    ("The civil defence directorate said its teams rescued thirty people trapped by the water inside their homes.",
     "وقالت مديرية الدفاع المدني إن فرقها أنقذت ثلاثين شخصاً حاصرتهم المياه داخل منازلهم."),
    ("The education ministry announced that schools would be closed for two days.",
     "وأعلنت وزارة التربية تعليق الدوام في المدارس يومين."),
    ("The meteorological department expects the rain to continue until Tuesday evening.",
     "وتوقعت دائرة الأرصاد الجوية استمرار الأمطار حتى مساء الثلاثاء."),
    ("The municipality urged residents to avoid low-lying roads and to stay away from flood channels.",
     "وطالبت البلدية السكان بتجنب الطرق المنخفضة والابتعاد عن مجاري السيول."),
]
COMPENSATION = [
    ("The prime minister announced on Monday that five million dinars would be allocated to compensate "
     "those affected by the floods.",
     "أعلن رئيس الوزراء يوم الإثنين تخصيص خمسة ملايين دينار لتعويض المتضررين من الفيضانات."),
    ("He told a news conference that the government would rebuild the bridges and roads destroyed by the torrents.",
     "وقال في مؤتمر صحفي إن الحكومة ستعيد تأهيل الجسور والطرق التي دمرتها السيول."),
    ("He added that a technical committee would begin work next week to assess the damage in residential "
     "neighbourhoods.",
     "وأضاف أن لجنة فنية ستبدأ عملها الأسبوع المقبل لحصر الأضرار في الأحياء السكنية."),
    ("Members of parliament criticised the slow official response during the first hours of the storm.",
     "وانتقد نواب في البرلمان تأخر الاستجابة الرسمية خلال الساعات الأولى من العاصفة."),
    ("The prime minister called for modernising the rainwater drainage networks in major cities.",
     "ودعا رئيس الوزراء إلى تحديث شبكات تصريف مياه الأمطار في المدن الكبرى."),
]
FOOTBALL = [
    ("Al-Wehdat beat Al-Faisaly two goals to one in the final of the Jordan football cup.",
     "فاز فريق الوحدات على الفيصلي بهدفين مقابل هدف في نهائي كأس الأردن لكرة القدم."),
    ("Striker Ahmed Samir scored the winning goal in the eighty-eighth minute.",
     "وسجل المهاجم أحمد سمير هدف الفوز في الدقيقة الثامنة والثمانين."),
    ("More than twenty thousand fans attended the match at Amman International Stadium.",
     "وحضر المباراة أكثر من عشرين ألف مشجع في استاد عمان الدولي."),
    ("This is the club's third title in the last five years.",
     "وهذا هو اللقب الثالث للنادي في السنوات الخمس الأخيرة."),
    ("The coach said after the match that his players had shown great fighting spirit.",
     "وقال المدرب بعد المباراة إن لاعبيه أظهروا روحاً قتالية عالية."),
]
MUSEUM = [
    ("The National Museum reopened its doors to visitors after restoration work that lasted three years.",
     "أعاد المتحف الوطني فتح أبوابه أمام الزوار بعد أعمال ترميم استمرت ثلاث سنوات."),
    ("The museum holds more than two thousand artefacts from the Bronze Age, the Roman and the Islamic periods.",
     "ويضم المتحف أكثر من ألفي قطعة أثرية تعود إلى العصور البرونزية والرومانية والإسلامية."),
    ("The museum's director said the new halls are equipped with modern lighting and interactive screens.",
     "وقالت مديرة المتحف إن القاعات الجديدة مجهزة بإضاءة حديثة وشاشات تفاعلية."),
    ("Entry will be free for school and university students until the end of the year.",
     "وسيكون الدخول مجانياً لطلاب المدارس والجامعات حتى نهاية العام."),
    ("The project cost about four million dollars and was funded by a European grant.",
     "وبلغت تكلفة المشروع نحو أربعة ملايين دولار بتمويل من منحة أوروبية."),
]
BREAD = [
    ("The government raised the price of bread by ten percent from the start of next month.",
     "رفعت الحكومة سعر الخبز بنسبة عشرة في المئة اعتباراً من مطلع الشهر المقبل."),
    ("The minister of industry and trade said the decision was due to the rise in world wheat prices.",
     "وقال وزير الصناعة والتجارة إن القرار جاء بسبب ارتفاع أسعار القمح عالمياً."),
    ("Low-income families will receive a monthly cash subsidy to offset the increase.",
     "وستحصل الأسر ذات الدخل المحدود على دعم نقدي شهري لتعويض الزيادة."),
    ("The consumer protection association criticised the decision, calling it an additional burden on citizens.",
     "وانتقدت جمعية حماية المستهلك القرار ووصفته بأنه عبء إضافي على المواطنين."),
    ("The last increase in the price of bread was approved six years ago.",
     "وكانت آخر زيادة على سعر الخبز قد أقرت قبل ست سنوات."),
]
# Documents with no partner on the other side.
HOSPITAL_EN = ("A new children's hospital opened in the southern city of Aqaba on Wednesday. The hospital has 120 "
               "beds and four operating theatres. Officials said it would serve more than 200,000 people in the "
               "region. Construction took four years and cost 60 million dollars.\n")
APP_AR = ("أطلقت شركة ناشئة أردنية تطبيقاً جديداً لحجز مواعيد الأطباء عبر الهاتف المحمول. ويتيح التطبيق للمرضى "
          "مقارنة أسعار العيادات وقراءة تقييمات المرضى الآخرين. وقال مؤسس الشركة إن عدد المستخدمين تجاوز خمسين "
          "ألفاً خلال الشهر الأول. وتخطط الشركة للتوسع إلى أسواق الخليج العام المقبل.\n")


def english(story, keep=None, extra=()) -> str:
    """An English report: the kept sentences of a story (all by default), in order,
    followed by lines of its own."""
    lines = [en for k, (en, _) in enumerate(story) if keep is None or k in keep]
    return "\n".join(lines + list(extra)) + "\n"


def arabic(story) -> str:
    return "\n".join(ar for _, ar in story) + "\n"


def write(folder: Path, docs: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def names(result) -> set[tuple[str, str, str]]:
    return {(p.en_path.name, p.ar_path.name, p.method) for p in result.pairs}


def assert_one_to_one(result, max_sources: int = 1):
    ar_files = [p.ar_path for p in result.pairs]
    assert len(ar_files) == len(set(ar_files)), "an Arabic document is in two pairs"
    per_en: dict[Path, int] = {}
    for p in result.pairs:
        per_en[p.en_path] = per_en.get(p.en_path, 0) + 1
    assert max(per_en.values(), default=0) <= max_sources
    paired = {p.en_path for p in result.pairs} | set(ar_files)
    assert not paired & (set(result.unpaired_en) | set(result.unpaired_ar))
    assert len({p.doc_id.casefold() for p in result.pairs}) == len(result.pairs)


# ------------------------------------------------------------------ fast: retrieval and assignment


def test_top_neighbours_matches_brute_force_in_blocks():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(57, 8)).astype(np.float32), rng.normal(size=(43, 8)).astype(np.float32)
    for block in (1, 5, 16, 100):
        row_i, row_v, col_i, col_v = top_neighbours(x, y, 4, block)
        sims = x @ y.T
        assert np.array_equal(row_i, np.argsort(-sims, 1, kind="stable")[:, :4])
        assert np.array_equal(col_i, np.argsort(-sims.T, 1, kind="stable")[:, :4])
        assert np.allclose(row_v, np.sort(sims, 1)[:, ::-1][:, :4])
        assert np.allclose(col_v, np.sort(sims.T, 1)[:, ::-1][:, :4])
    # k above the other side's size: everything, best first
    row_i, _, col_i, _ = top_neighbours(x[:3], y[:2], 5, 2)
    assert row_i.shape == (3, 2) and col_i.shape == (2, 3)


def test_candidates_are_each_documents_best_by_csls_in_both_directions():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(30, 16)).astype(np.float32)
    x = y[:20] + 0.1 * rng.normal(size=(20, 16)).astype(np.float32)  # x[i] is close to y[i]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    cands = candidate_pairs(x, y, ContentPairingConfig(top_k=2, retrieve_k=6, csls_k=3, block=7))
    assert all((i, i) in cands for i in range(20))
    best = {i: max((s, j) for (a, j), s in cands.items() if a == i)[1] for i in range(20)}
    assert best == {i: i for i in range(20)}
    assert len(cands) <= 2 * (20 + 30)


def test_document_vector_windows_follow_sentence_order():
    rng = np.random.default_rng(2)
    s = rng.normal(size=(12, 32)).astype(np.float32)
    s /= np.linalg.norm(s, axis=1, keepdims=True)
    v = document_vector(s, np.ones(12), 3)
    r = document_vector(s[::-1], np.ones(12), 3)
    assert v.shape == (4, 32) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert np.isclose(v[0] @ r[0], 1, atol=1e-5)        # same sentences: same global part
    assert v[1] @ r[1] < 0.9 and np.isclose(v[1] @ r[3], 1, atol=1e-5)  # windows see the order


def test_greedy_assignment_is_one_to_one_and_respects_thresholds():
    P = Path
    cands = [ContentPair(P("e1"), P("a1"), 0.9, 0.8, 0.1), ContentPair(P("e2"), P("a1"), 0.8, 0.8, 0.1),
             ContentPair(P("e1"), P("a2"), 0.7, 0.8, 0.1), ContentPair(P("e2"), P("a2"), 0.6, 0.1, 0.1),
             ContentPair(P("e3"), P("a3"), 0.5, 0.8, 0.1), ContentPair(P("e4"), P("a4"), 0.1, 0.9, 0.1)]
    kept = [cands[k] for k in greedy_one_to_one(cands, 0.2, 0.25)]
    assert [(c.en_path.name, c.ar_path.name) for c in kept] == [("e1", "a1"), ("e3", "a3")]
    kept = greedy_one_to_one(cands, 0.2, 0.25, exclude_en={P("e1")})
    assert [(cands[k].en_path.name, cands[k].ar_path.name) for k in kept] == [("e2", "a1"), ("e3", "a3")]


def test_candidates_are_rescored_with_the_aligners_settings_but_the_pairings_own_terms_in_order():
    from aligner.alignment import AlignmentConfig

    mine = AlignmentConfig(threshold=-1.0, length_size_power=1.0, merge_penalty_power=0.5, knn=8)
    assert rescoring_config(mine, ContentPairingConfig()) == AlignmentConfig(
        threshold=-1.6, length_size_power=0.0, merge_penalty_power=1.0, knn=8, moved_blocks=False, knn_leave_out=0)
    assert rescoring_config(mine, ContentPairingConfig(rescore_length_size_power=1.0, rescore_threshold=-1.0,
                                                       rescore_merge_penalty_power=0.5)) == \
        AlignmentConfig(threshold=-1.0, length_size_power=1.0, merge_penalty_power=0.5, knn=8, moved_blocks=False,
                        knn_leave_out=0)


def test_config_is_checked():
    with pytest.raises(ValueError):
        ContentPairingConfig(retrieve_k=2, top_k=3)
    with pytest.raises(ValueError):
        ContentPairingConfig(bead_low=0.6, bead_high=0.3)


# ------------------------------------------------------------------ fast: name conventions, no encoder


class HashedWords:
    """A stand-in encoder: hashed words (no model). English and Arabic share only the
    words written the same way on both sides (numbers)."""

    name = "hashed-words"
    settings: dict = {}

    def encode(self, texts, *, batch_size=None):
        out = np.zeros((len(texts), 64), np.float32)
        for row, text in enumerate(texts):
            for word in text.split():
                out[row, sum(map(ord, word.strip(".,"))) % 64] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


class NoEncoder:
    """Fails if anything tries to build an aligner."""

    def __init__(self, *args, **kwargs):
        raise AssertionError("no encoder should be loaded when every document is paired by name")


def test_auto_pairs_by_manifest_then_exact_name_without_loading_an_encoder(tmp_path, monkeypatch):
    import aligner.documents

    monkeypatch.setattr(aligner.documents, "Aligner", NoEncoder)
    en = write(tmp_path / "en", {"a.txt": "x\n", "b.txt": "x\n", "report-7.txt": "x\n", "notes.md": "x\n"})
    ar = write(tmp_path / "ar", {"a.txt": "x\n", "b.txt": "x\n"})
    by_name = pair_documents(en, ar, method="auto")  # nothing Arabic is left: no content step
    assert names(by_name) == {("a.txt", "a.txt", "name"), ("b.txt", "b.txt", "name")}
    assert [p.doc_id for p in by_name.pairs] == ["a", "b"]
    assert by_name.unpaired_en == [en / "report-7.txt"] and by_name.unpaired_ar == []
    assert by_name.ignored_en == [en / "notes.md"]

    write(ar, {"source-7.txt": "x\n"})
    manifest = tmp_path / "m.tsv"
    manifest.write_text("en_file\tar_file\nreport-7.txt\tsource-7.txt\nb.txt\ta.txt\n", encoding="utf-8")

    # The manifest comes first; exact names then pair what it left (here nothing: a.txt
    # and b.txt are both taken on one side), and content the rest (unrelated here).
    write(en, {"a.txt": "alpha beta\n"})
    write(ar, {"b.txt": "gamma delta\n"})
    result = pair_documents(en, ar, method="auto", manifest=manifest, aligner=Aligner(encoder=HashedWords()))
    assert names(result) == {("report-7.txt", "source-7.txt", "manifest"), ("b.txt", "a.txt", "manifest")}
    assert [p.doc_id for p in result.pairs] == ["b", "report-7"]
    assert result.unpaired_en == [en / "a.txt"] and result.unpaired_ar == [ar / "b.txt"]

    manifest.write_text("en_file\tar_file\nreport-7.txt\tsource-7.txt\n", encoding="utf-8")
    result = pair_documents(en, ar, method="auto", manifest=manifest)
    assert names(result) == {("report-7.txt", "source-7.txt", "manifest"), ("a.txt", "a.txt", "name"),
                             ("b.txt", "b.txt", "name")}
    assert result.unpaired_en == result.unpaired_ar == []

    # "name" is pair_by_name exactly: the manifest only.
    only = pair_documents(en, ar, method="name", manifest=manifest)
    assert names(only) == names(pair_by_name(en, ar, manifest=manifest))


def test_pair_documents_checks_its_arguments(tmp_path):
    write(tmp_path / "en", {})
    write(tmp_path / "ar", {})
    with pytest.raises(ValueError, match="unknown pairing method"):
        pair_documents(tmp_path / "en", tmp_path / "ar", method="fuzzy")
    with pytest.raises(ValueError, match="max_sources"):
        pair_documents(tmp_path / "en", tmp_path / "ar", max_sources=0)
    with pytest.raises(ValueError, match="needs method"):
        pair_documents(tmp_path / "en", tmp_path / "ar", method="name", max_sources=2)
    with pytest.raises(PairingError, match="English folder not found"):
        pair_documents(tmp_path / "none", tmp_path / "ar")
    result = pair_documents(tmp_path / "en", tmp_path / "ar", method="content", aligner=NoEncoder)
    assert result.pairs == [] and result.unpaired_en == result.unpaired_ar == []


def test_write_pairs_files(tmp_path):
    from aligner.pairing.names import DocumentPair, PairingResult

    en, ar = tmp_path / "en", tmp_path / "ar"
    result = PairingResult(
        pairs=[DocumentPair("r1__s1", en / "r1.txt", ar / "s1.txt", "content", 0.51234),
               DocumentPair("a", en / "a.txt", ar / "a.txt", "name")],
        unpaired_en=[en / "lonely.txt"], unpaired_ar=[ar / "s2.txt", ar / "s3.txt"],
        best_candidates={en / "lonely.txt": (ar / "s2.txt", 0.0312), ar / "s2.txt": (en / "r1.txt", -0.1),
                         ar / "s3.txt": None})
    pairs_path, unpaired_path = write_pairs(result, tmp_path / "out" / "pairs.tsv", en, ar)
    assert (pairs_path, unpaired_path) == pairs_paths(tmp_path / "out" / "pairs.tsv")
    assert unpaired_path.name == "pairs.unpaired.tsv"
    assert pairs_path.read_text(encoding="utf-8") == (
        "en_file\tar_file\tmethod\tscore\na.txt\ta.txt\tname\t\nr1.txt\ts1.txt\tcontent\t0.5123\n")
    assert unpaired_path.read_text(encoding="utf-8") == (
        "side\tfile\tbest_candidate\tbest_score\nen\tlonely.txt\ts2.txt\t0.0312\n"
        "ar\ts2.txt\tr1.txt\t-0.1000\nar\ts3.txt\t\t\n")
    assert pairs_paths("x/p")[1].name == "p.unpaired.tsv"


# ------------------------------------------------------------------ content, real encoder


@pytest.fixture
def news(tmp_path) -> tuple[Path, Path]:
    """Three English reports with their Arabic sources under unrelated names (one report
    drops a sentence, one adds lines of its own), an English report without a source
    and two Arabic documents without a report."""
    en = write(tmp_path / "en", {
        "r-101.txt": english(FOOTBALL),
        "r-102.txt": english(MUSEUM, keep={0, 1, 3, 4}),
        "r-103.txt": english(BREAD, extra=["Bread prices are a sensitive issue in the country."]),
        "r-104.txt": HOSPITAL_EN,
    })
    ar = write(tmp_path / "ar", {
        "src-a.txt": arabic(BREAD),
        "src-b.txt": arabic(FOOTBALL),
        "src-c.txt": arabic(MUSEUM),
        "src-d.txt": APP_AR,
        "src-e.txt": arabic(FLOOD),
    })
    return en, ar


@pytest.mark.slow
def test_content_pairing_finds_sources_and_leaves_distractors_unpaired(news, default_aligner, tmp_path):
    en, ar = news
    result = pair_documents(en, ar, aligner=default_aligner)  # auto: no names match, all by content
    assert names(result) == {("r-101.txt", "src-b.txt", "content"), ("r-102.txt", "src-c.txt", "content"),
                             ("r-103.txt", "src-a.txt", "content")}
    assert {p.doc_id for p in result.pairs} == {"r-101__src-b", "r-102__src-c", "r-103__src-a"}
    assert all(p.score is not None and p.score >= ContentPairingConfig().threshold for p in result.pairs)
    assert result.unpaired_en == [en / "r-104.txt"]
    assert result.unpaired_ar == [ar / "src-d.txt", ar / "src-e.txt"]
    for path in result.unpaired_en + result.unpaired_ar:  # best candidate and its (too low) score
        best = result.best_candidates[path]
        assert best is None or best[1] < ContentPairingConfig().threshold
    assert_one_to_one(result)

    pairs_path, unpaired_path = write_pairs(result, tmp_path / "pairs.tsv", en, ar)
    lines = pairs_path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "en_file\tar_file\tmethod\tscore" and len(lines) == 4
    assert [line.split("\t")[:3] for line in lines[1:]] == [["r-101.txt", "src-b.txt", "content"],
                                                             ["r-102.txt", "src-c.txt", "content"],
                                                             ["r-103.txt", "src-a.txt", "content"]]
    unpaired = [line.split("\t") for line in unpaired_path.read_text(encoding="utf-8").splitlines()]
    assert unpaired[0] == ["side", "file", "best_candidate", "best_score"]
    assert [row[:2] for row in unpaired[1:]] == [["en", "r-104.txt"], ["ar", "src-d.txt"], ["ar", "src-e.txt"]]

    # Same folders, same result (determinism).
    again = pair_documents(en, ar, aligner=default_aligner)
    assert [(p.doc_id, p.score) for p in again.pairs] == [(p.doc_id, p.score) for p in result.pairs]


@pytest.mark.slow
def test_name_pairs_first_then_content_for_the_rest(news, default_aligner):
    en, ar = news
    (ar / "src-b.txt").rename(ar / "r-101.txt")  # this one now pairs by name
    result = pair_documents(en, ar, aligner=default_aligner, method="auto")
    assert names(result) == {("r-101.txt", "r-101.txt", "name"), ("r-102.txt", "src-c.txt", "content"),
                             ("r-103.txt", "src-a.txt", "content")}
    assert [p.doc_id for p in result.pairs] == ["r-101", "r-102__src-c", "r-103__src-a"]
    content_only = pair_documents(en, ar, aligner=default_aligner, method="content")
    assert names(content_only) == {("r-101.txt", "r-101.txt", "content"), ("r-102.txt", "src-c.txt", "content"),
                                   ("r-103.txt", "src-a.txt", "content")}


@pytest.mark.slow
def test_one_arabic_document_pairs_with_one_english_document(tmp_path, default_aligner):
    en = write(tmp_path / "en", {
        "full.txt": english(FOOTBALL),
        "short.txt": english(FOOTBALL, keep={0, 2}),   # a second, shorter report of the same source
        "bread.txt": english(BREAD),
    })
    ar = write(tmp_path / "ar", {"cup.txt": arabic(FOOTBALL), "prices.txt": arabic(BREAD)})
    for max_sources in (1, 2):
        result = pair_documents(en, ar, aligner=default_aligner, method="content", max_sources=max_sources)
        assert names(result) == {("full.txt", "cup.txt", "content"), ("bread.txt", "prices.txt", "content")}
        assert result.unpaired_en == [en / "short.txt"]
        assert result.best_candidates[en / "short.txt"][0] == ar / "cup.txt"  # its best candidate, taken
        assert_one_to_one(result, max_sources)


@pytest.mark.slow
def test_a_folder_where_nothing_pairs(tmp_path, default_aligner):
    en = write(tmp_path / "en", {"hospital.txt": HOSPITAL_EN, "museum.txt": english(MUSEUM)})
    ar = write(tmp_path / "ar", {"app.txt": APP_AR, "bread.txt": arabic(BREAD), "cup.txt": arabic(FOOTBALL)})
    result = pair_documents(en, ar, aligner=default_aligner)
    assert result.pairs == []
    assert result.unpaired_en == [en / "hospital.txt", en / "museum.txt"]
    assert result.unpaired_ar == [ar / "app.txt", ar / "bread.txt", ar / "cup.txt"]
    assert set(result.best_candidates) == set(result.unpaired_en + result.unpaired_ar)
    assert all(b is not None and b[1] < ContentPairingConfig().threshold for b in result.best_candidates.values())

    out = tmp_path / "pairs.tsv"
    cli = CliRunner().invoke(main, ["pair", str(en), str(ar), "-o", str(out), "--no-progress"])
    assert cli.exit_code == 0, cli.output
    assert out.read_text(encoding="utf-8") == "en_file\tar_file\tmethod\tscore\n"
    assert len(out.with_name("pairs.unpaired.tsv").read_text(encoding="utf-8").splitlines()) == 6
    assert "0 pair(s) (none)" in cli.output


@pytest.fixture
def two_sources(tmp_path) -> tuple[Path, Path]:
    """One English report made from parts of two Arabic documents plus two lines of its
    own, a second report with its source, and an Arabic document nobody used."""
    en = write(tmp_path / "en", {
        "zarqa-floods.txt": english(FLOOD, keep={0, 1, 2, 3}, extra=[
            "Zarqa is about 25 kilometres north-east of the capital, Amman."]) + "\n"
            + english(COMPENSATION, keep={0, 1, 3}, extra=["Reporting by our correspondent in Amman."]),
        "cup-final.txt": english(FOOTBALL),
    })
    ar = write(tmp_path / "ar", {
        "2024-02-11-rain.txt": arabic(FLOOD),
        "2024-02-12-pm.txt": arabic(COMPENSATION),
        "2024-02-12-cup.txt": arabic(FOOTBALL),
        "2024-02-13-museum.txt": arabic(MUSEUM),
    })
    return en, ar


@pytest.mark.slow
def test_a_report_with_two_sources(two_sources, default_aligner):
    en, ar = two_sources
    one = pair_documents(en, ar, aligner=default_aligner, method="content")
    assert ("cup-final.txt", "2024-02-12-cup.txt", "content") in names(one)
    firsts = [p for p in one.pairs if p.en_path.name == "zarqa-floods.txt"]
    assert len(firsts) == 1 and firsts[0].ar_path.name in {"2024-02-11-rain.txt", "2024-02-12-pm.txt"}
    assert_one_to_one(one)

    two = pair_documents(en, ar, aligner=default_aligner, method="content", max_sources=2)
    assert names(two) == {("zarqa-floods.txt", "2024-02-11-rain.txt", "content"),
                          ("zarqa-floods.txt", "2024-02-12-pm.txt", "content"),
                          ("cup-final.txt", "2024-02-12-cup.txt", "content")}
    assert {p.doc_id for p in two.pairs} == {"zarqa-floods__2024-02-11-rain", "zarqa-floods__2024-02-12-pm",
                                             "cup-final__2024-02-12-cup"}
    assert two.unpaired_ar == [ar / "2024-02-13-museum.txt"] and two.unpaired_en == []
    assert_one_to_one(two, max_sources=2)


@pytest.mark.slow
def test_align_with_two_sources_aligns_each_source_separately(two_sources, default_aligner, tmp_path):
    en, ar = two_sources
    out = tmp_path / "out"
    run = align_folders(en, ar, out, aligner=default_aligner, pair_by="auto", max_sources=2, progress=False)
    assert run.ok and run.n_documents == 3
    records = [json.loads(line) for line in (out / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    by_doc: dict[str, list[dict]] = {}
    for r in records:
        by_doc.setdefault(r["doc_id"], []).append(r)
    assert set(by_doc) == {"zarqa-floods__2024-02-11-rain", "zarqa-floods__2024-02-12-pm",
                           "cup-final__2024-02-12-cup"}
    rain, pm = by_doc["zarqa-floods__2024-02-11-rain"], by_doc["zarqa-floods__2024-02-12-pm"]
    assert {r["ar_file"] for r in rain} == {"2024-02-11-rain.txt"}
    assert {r["ar_file"] for r in pm} == {"2024-02-12-pm.txt"}
    assert {r["en_file"] for r in rain + pm} == {"zarqa-floods.txt"}
    # English lines 0-3 come from the rain story, 5-7 from the prime minister's statement.
    # Each source is aligned with the whole report, so a line of one part may also be
    # glued to a line its source has left over (the rain story's line 4, about roads).
    assert {0, 1, 2, 3} <= {i for r in rain for i in r["en_idx"]} <= {0, 1, 2, 3, 4, 5, 6, 7, 8}
    assert {5, 6, 7} <= {i for r in pm for i in r["en_idx"]}
    assert not {0, 1, 2, 3} & {i for r in pm for i in r["en_idx"]}
    assert any(r["en_idx"] == [1] and r["ar_idx"] == [1] for r in rain)   # the thirty people rescued
    assert any(r["en_idx"] == [5] and r["ar_idx"] == [0] for r in pm)     # five million dinars
    assert (out / "beads" / "zarqa-floods__2024-02-12-pm.align").is_file()
    pairs = (out / "pairs.tsv").read_text(encoding="utf-8").splitlines()
    assert pairs[0] == "en_file\tar_file\tmethod\tscore" and len(pairs) == 4
    report = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert report["inputs"]["pair_by"] == "auto" and report["inputs"]["max_sources"] == 2
    assert report["unpaired"]["ar"] == [str(ar / "2024-02-13-museum.txt")]
    assert {d["pairing"] for d in report["documents"]} == {"content"}


@pytest.mark.slow
def test_cli_pair_and_align_options(two_sources, tmp_path, monkeypatch, default_aligner):
    import aligner.documents
    from aligner.run import folders as corpus_mod

    monkeypatch.setattr(aligner.documents, "Aligner", lambda *a, **k: default_aligner)
    monkeypatch.setattr(corpus_mod, "_build_aligner", lambda encoder, engine=None, alignment=None: default_aligner)
    en, ar = two_sources
    out = tmp_path / "p" / "pairs.tsv"
    result = CliRunner().invoke(main, ["pair", str(en), str(ar), "-o", str(out), "--max-sources", "2",
                                       "--no-progress"])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows[0] == ["en_file", "ar_file", "method", "score"]
    assert sorted(r[:3] for r in rows[1:]) == [["cup-final.txt", "2024-02-12-cup.txt", "content"],
                                               ["zarqa-floods.txt", "2024-02-11-rain.txt", "content"],
                                               ["zarqa-floods.txt", "2024-02-12-pm.txt", "content"]]
    assert "3 pair(s) (3 by content)" in result.output
    bad = CliRunner().invoke(main, ["pair", str(en), str(ar), "-o", str(out), "--pair-by", "name",
                                    "--max-sources", "2"])
    assert bad.exit_code == 2 and "--max-sources" in bad.output
    run = CliRunner().invoke(main, ["align", str(en), str(ar), "-o", str(tmp_path / "o"), "--pair-by", "name",
                                    "--no-progress"])
    assert run.exit_code == 0, run.output
    assert "No document pairs found" in run.output   # no names match
    run = CliRunner().invoke(main, ["align", str(en), str(ar), "-o", str(tmp_path / "o2"), "--no-progress"])
    assert run.exit_code == 0, run.output
    assert "Aligned 2 of 2 document pair(s)" in run.output


def test_package_exports_pair_documents():
    assert aligner.pair_documents is pair_documents
    assert "pair_documents" in aligner.__all__


def test_content_pairing_with_a_stand_in_encoder(tmp_path):
    """The generic encoder path (no token states): sentence embeddings kept, runs by mean."""
    lines = [f"item {k} {k * 7} {k * 13} {k * 31}" for k in range(12)]
    en = write(tmp_path / "en", {"e1.txt": "\n".join(lines[:6]) + "\n", "e2.txt": "\n".join(lines[6:]) + "\n"})
    ar = write(tmp_path / "ar", {"x.txt": "\n".join(lines[6:]) + "\n", "y.txt": "\n".join(lines[:6]) + "\n",
                                 "z.txt": "one two three\n"})
    result = pair_documents(en, ar, aligner=Aligner(encoder=HashedWords()), method="content", presplit=True)
    assert names(result) == {("e1.txt", "y.txt", "content"), ("e2.txt", "x.txt", "content")}
    assert result.unpaired_ar == [ar / "z.txt"]


def test_margin_scores_keep_an_arabic_side_margin_for_further_sources():
    """A report's second source competes with its first on the English side by design;
    ``ar_margin`` leaves that side out and asks only that no other report fits the
    Arabic document as well."""
    from aligner.pairing.content import _Edge, _margin_scores

    config = ContentPairingConfig()
    # English report 0 has two sources (Arabic 0 and 1); report 1 is a weaker candidate of Arabic 1.
    edges = [_Edge(0, 0, similarity=0.3, alignment=0.6), _Edge(0, 1, similarity=0.3, alignment=0.5),
             _Edge(1, 1, similarity=0.1, alignment=0.2)]
    _margin_scores(edges, config)
    w = config.runner_up_weight
    second = edges[1]
    assert second.ar_margin == pytest.approx(0.8 - w * 0.3)  # only Arabic 1's other candidate counts
    assert second.score == pytest.approx(0.8 - w * 0.5 * (0.9 + 0.3))  # both sides' runners-up
    assert second.ar_margin >= config.extra_min_margin > edges[2].ar_margin  # report 1 does not fit Arabic 1


# ------------------------------------------------------------------ calibrated threshold (issue 14)


@pytest.mark.parametrize("scores, floor, min_count, expected", [
    ([0, 0, 0, 0, 1, 1, 1, 1], 0.0, 8, 0.5),                                   # two equal groups: the gap's middle
    ([-0.3, -0.2, -0.1, 0.0, 0.1, 0.6, 0.7, 0.8], 0.0, 8, 0.35),               # wrong bulk, then true pairs
    ([0.8, -0.1, 0.7, 0.1, -0.3, 0.6, 0.0, -0.2], 0.0, 8, 0.35),               # order does not matter
    ([0.0] * 20 + [1.0] * 3, 0.0, 8, 0.5),                                     # few true pairs among many wrong
    ([-1, -1, -1, -1, -0.5, -0.5, -0.5, -0.5], 0.0, 8, 0.0),                   # split at -0.75, raised to the floor
    ([-1, -1, -1, -1, -0.5, -0.5, -0.5, -0.5], -2.0, 8, -0.75),                # ... unless the floor is lower
    ([2.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0], 0.0, 8, 2.5),                   # another encoder's scale: follows it
    ([0.0, 1.0], 0.0, 8, None),                                                # too few scores to fit
    ([0.3] * 10, 0.0, 8, None),                                                # all equal: nothing to split
    ([0.0, 0.0, 1.0], 0.0, 2, 0.5),                                            # min_count lowered
])
def test_otsu_threshold_on_synthetic_score_distributions(scores, floor, min_count, expected):
    from aligner.pairing.content import otsu_threshold

    got = otsu_threshold(scores, floor=floor, min_count=min_count)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=1e-12)


def test_calibrated_threshold_is_recorded_with_the_settings(tmp_path):
    """The threshold applied is written with the pairing settings (here too few candidates
    to calibrate: the fixed one, and said so)."""
    lines = [f"item {k} {k * 7} {k * 13} {k * 31}" for k in range(12)]
    en = write(tmp_path / "en", {"e1.txt": "\n".join(lines[:6]) + "\n", "e2.txt": "\n".join(lines[6:]) + "\n"})
    ar = write(tmp_path / "ar", {"x.txt": "\n".join(lines[6:]) + "\n", "y.txt": "\n".join(lines[:6]) + "\n"})
    result = pair_documents(en, ar, aligner=Aligner(encoder=HashedWords()), method="content", presplit=True)
    content = result.settings["content"]
    assert content["calibrate_threshold"] is True
    assert content["threshold_used"] == content["threshold"]
    assert content["threshold_from"].startswith("fixed (too few candidates")


# ------------------------------------------------------------------ calibrated bead ramp (issue 14)


def _unit_rows(cosines: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """English rows e_1..e_n (basis vectors) and Arabic unit rows whose cosine with e_i is
    ``cosines[i][j]`` (the rest of each Arabic row's norm in one more dimension)."""
    c = np.array(cosines, np.float64)
    n, m = c.shape
    en = np.eye(n, n + 1, dtype=np.float64)
    ar = np.zeros((m, n + 1))
    ar[:, :n] = c.T
    rest = 1.0 - (c.T ** 2).sum(1)
    assert (rest >= 0).all(), "cosines that no unit vectors have"
    ar[:, n] = np.sqrt(rest)
    return en, ar


@pytest.mark.parametrize("cosines, min_pairs, expected", [
    # Each sentence's best match on either side is left out ((0,0), (1,1), (1,2)): the
    # pool is .1, .2, .3: median .2, spread (.28 - .12) / 2.563.
    ([[0.9, 0.1, 0.2], [0.3, 0.8, 0.4]], 3, (0.2, 0.16 / 2.563)),
    ([[0.9, 0.1, 0.2], [0.3, 0.8, 0.4]], 4, None),                       # too few pairs left
    ([[0.6, 0.3, 0.3], [0.3, 0.6, 0.3], [0.3, 0.3, 0.6]], 3, None),      # all unrelated pairs alike: no spread
])
def test_cosine_scale_of_unrelated_pairs(cosines, min_pairs, expected):
    from aligner.pairing.content import cosine_scale

    got = cosine_scale(*_unit_rows(cosines), min_pairs=min_pairs)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("scale, expected", [
    ((0.186, 0.161), (0.3, 0.6)),                  # the reference scale itself: the ramp as chosen
    ((0.286, 0.161), (0.4, 0.7)),                  # shifted: the ramp moves with it
    ((0.186, 0.322), (0.414, 1.014)),              # twice as spread: twice as far from the median
    ((0.846, 0.0322), (0.8688, 0.9288)),           # e5-like: unrelated pairs at .85 +- .03
])
def test_calibrated_ramp_moves_the_ramp_onto_the_collections_scale(scale, expected):
    from aligner.pairing.content import calibrated_ramp

    assert calibrated_ramp(ContentPairingConfig(), *scale) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("scale, off", [
    ((0.186, 0.161), False),   # the reference itself
    ((0.233, 0.177), False),   # nasai's documents alone with USE (0.3 spreads away)
    ((0.500, 0.161), False),   # 1.95 spreads away
    ((0.510, 0.161), True),    # 2.01 spreads away
    ((0.037, 0.069), False),   # news reports on unrelated events with USE: a collection effect
    ((0.186, 0.330), False),   # the spread alone does not move it
    ((-0.200, 0.161), True),   # 2.4 spreads below
    ((0.846, 0.032), True),    # e5's
])
def test_ramp_is_moved_only_off_the_reference_scale(scale, off):
    from aligner.pairing.content import off_reference_scale

    assert off_reference_scale(ContentPairingConfig(), *scale) is off


def test_calibrated_ramp_is_recorded_with_the_settings(tmp_path):
    """The ramp applied, where it came from and the measured scale are written with the
    pairing settings: moved off the reference scale, kept within it, fixed when off."""
    from aligner.pairing.content import calibrated_ramp

    lines = [f"item {k} {k * 7} {k * 13} {k * 31}" for k in range(24)]
    en = write(tmp_path / "en", {"e1.txt": "\n".join(lines[:12]) + "\n", "e2.txt": "\n".join(lines[12:]) + "\n"})
    ar = write(tmp_path / "ar", {"x.txt": "\n".join(lines[12:]) + "\n", "y.txt": "\n".join(lines[:12]) + "\n"})
    al = Aligner(encoder=HashedWords())

    def settings(**kw):
        return pair_documents(en, ar, aligner=al, method="content", presplit=True,
                              config=ContentPairingConfig(**kw)).settings["content"]

    far = settings(ramp_reference_median=5.0)  # a reference no collection of cosines is near
    assert far["bead_ramp_from"] == "calibrated" and far["calibrate_ramp"] is True
    config = ContentPairingConfig(ramp_reference_median=5.0)
    assert far["bead_ramp_used"] == pytest.approx(calibrated_ramp(config, *far["cosine_scale"]), abs=1e-3)
    median, spread = far["cosine_scale"]
    near = settings(ramp_reference_median=median, ramp_reference_spread=spread)
    assert near["bead_ramp_from"] == "fixed (cosine scale within the reference range)"
    assert near["bead_ramp_used"] == [0.3, 0.6] and near["cosine_scale"] == [median, spread]
    off = settings(calibrate_ramp=False)
    assert off["bead_ramp_from"] == "fixed" and off["bead_ramp_used"] == [0.3, 0.6] and off["cosine_scale"] is None


def test_eval_pairing_loo_sources_on_a_tiny_folder(tmp_path, monkeypatch, capsys):
    """`benchmarks/eval_pairing.py --loo-sources` with a stand-in encoder: one fold per
    source, a table, and a ``loo`` key in the last JSON line."""
    import importlib.util
    import sys

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("eval_pairing_smoke", root / "benchmarks" / "eval_pairing.py")
    ev = importlib.util.module_from_spec(spec)
    sys.modules["eval_pairing_smoke"] = ev
    spec.loader.exec_module(ev)
    monkeypatch.setattr(ev, "Aligner", lambda *a, **k: Aligner(encoder=HashedWords()))
    monkeypatch.setattr(ev, "LOO_BEAD_LOW", (0.3,))
    monkeypatch.setattr(ev, "LOO_BEAD_HIGH", (0.6, 0.7))
    monkeypatch.setattr(ev, "LOO_RUNNER_UP", (0.5,))

    data = tmp_path / "set" / "docs"
    en, ar, gold, docs = {}, {}, [], []
    for s, source in enumerate(("alpha", "beta")):
        for k in range(3):
            lines = [f"{source} {s} {k} {k * 7 + j} {j * 13 + s} {k * 31 + j * 3}" for j in range(5)]
            en[f"{source}-e{k}.txt"] = "\n\n".join(lines) + "\n"
            ar[f"{source}-a{k}.txt"] = "\n\n".join(lines) + "\n"
            gold.append(f"{source}-e{k}.txt\t{source}-a{k}.txt")
            docs.append({"source": source, "role": "pair", "en_file": f"{source}-e{k}.txt",
                         "ar_file": f"{source}-a{k}.txt"})
        en[f"{source}-only.txt"] = f"{source} 999 998 997\n"
        docs.append({"source": source, "role": "en_only", "en_file": f"{source}-only.txt", "ar_file": None})
    write(data / "en", en)
    write(data / "ar", ar)
    (data / "gold.tsv").write_text("\n".join(gold) + "\n", encoding="utf-8")
    (data.parent / "manifest.json").write_text(json.dumps({"docs": docs}), encoding="utf-8")

    assert ev.main(["--data", str(data), "--out", str(tmp_path / "pairs.tsv"), "--loo-sources",
                    "--method", "content", "--cache", str(tmp_path / "cache.pkl")]) == 0
    out = capsys.readouterr().out
    assert "leave one source out" in out
    last = json.loads(out.strip().splitlines()[-1])
    assert [f["held_out"] for f in last["loo"]["folds"]] == ["alpha", "beta"]
    for fold in last["loo"]["folds"]:
        assert {"settings", "in_sample", "held_out_scores", "held_out_with_defaults"} <= set(fold)
        assert fold["held_out_scores"]["n_gold"] == 3 and fold["held_out_scores"]["n_distractors"] == 1
    assert {"f1", "distractors_unpaired_rate", "threshold", "threshold_used"} <= set(last)
    assert (tmp_path / "cache.pkl").is_file()


@pytest.mark.slow
def test_content_pairing_with_use_e5_reads_the_use_part(news, default_aligner, use_encoder, e5_encoder):
    """With both encoders aligning (use+e5), pairing scores documents on USE's part of the
    shared states, the scale its constants were set on: the same pairs and the same scores
    as pairing with USE alone (on the combination's scale the dev task lost 3 distractors)."""
    from aligner import Aligner
    from aligner.encoders.combined import CombinedEncoder

    en, ar = news
    alone = pair_documents(en, ar, aligner=default_aligner)
    both = pair_documents(en, ar, aligner=Aligner(CombinedEncoder(use_encoder, e5_encoder, 0.2)))
    assert [(p.doc_id, p.method, p.score) for p in both.pairs] == [(p.doc_id, p.method, p.score) for p in alone.pairs]
    assert both.unpaired_en == alone.unpaired_en and both.unpaired_ar == alone.unpaired_ar
    assert both.best_candidates == alone.best_candidates


# ------------------------------------------------------------------ several sources: the residual round


def _numbered_line(k: int) -> str:
    return f"item {k} {k * 7 + 1} {k * 13 + 2} {k * 31 + 3} {k * 57 + 4} {k * 91 + 5} {k * 97 + 9}"


def _loose_line(k: int) -> str:
    """Shares four of its eight words with ``_numbered_line(k)``: a free translation of it."""
    return f"note {k} {k * 7 + 1} {k * 13 + 2} {k * 31 + 3} {k * 1000 + 6} {k * 1001 + 7} {k * 1002 + 8}"


@pytest.fixture
def merged_report(tmp_path) -> tuple[Path, Path]:
    """Ten reports with their sources (length ratios spread both ways around 1), and one
    report made of a 12-line source translated closely and a 5-line source translated
    loosely: the second source explains 5 x ~0.67 of the report's 17 lines, under
    ``extra_min_gain``, but all of what the first one leaves unexplained."""
    en, ar, k = {}, {}, 0
    for r in range(10):
        ks = range(k, k + 6)
        k += 6
        pad = " " + "w" * (4 * r + 4)
        en[f"r{r}.txt"] = "\n".join(_numbered_line(x) + (pad if r % 2 else "") for x in ks) + "\n"
        ar[f"s{r}.txt"] = "\n".join(_numbered_line(x) + ("" if r % 2 else pad) for x in ks) + "\n"
    first, second = range(k, k + 12), range(k + 12, k + 17)
    en["merged.txt"] = "\n".join([_numbered_line(x) for x in first] + [_loose_line(x) for x in second]) + "\n"
    ar["first.txt"] = "\n".join(_numbered_line(x) for x in first) + "\n"
    ar["second.txt"] = "\n".join(_numbered_line(x) for x in second) + "\n"
    return write(tmp_path / "en", en), write(tmp_path / "ar", ar)


@pytest.mark.parametrize("residual, expected", [
    (False, {("merged.txt", "first.txt")}),                             # the gain rule alone misses it
    (True, {("merged.txt", "first.txt"), ("merged.txt", "second.txt")}),
])
def test_residual_round_finds_the_source_of_what_the_first_leaves(merged_report, residual, expected):
    en, ar = merged_report
    result = pair_documents(en, ar, aligner=Aligner(encoder=HashedWords()), method="content", presplit=True,
                            max_sources=2, config=replace(ContentPairingConfig(), residual_sources=residual))
    pairs = {(p.en_path.name, p.ar_path.name) for p in result.pairs}
    assert {x for x in pairs if x[0] == "merged.txt"} == expected
    assert pairs - expected == {(f"r{r}.txt", f"s{r}.txt") for r in range(10)}   # the others untouched
    assert result.settings["content"]["residual_sources"] is residual


@pytest.mark.parametrize("beads, en_lengths, ar_lengths, expected", [
    ([Bead((0,), (0,), 1.0)], [10], [10], 0.0),
    ([Bead((0, 1), (0,), 1.0), Bead((), (1,))], [10, 11], [21, 500], 0.0),           # null beads count nothing
    ([Bead((0,), (0,), 1.0), Bead((1,), ())], [21, 99], [10], math.log(2.0)),
    ([], [5], [5], 0.0),
])
def test_aligned_log_ratio(beads, en_lengths, ar_lengths, expected):
    from aligner.pairing.content import _aligned_log_ratio

    got = _aligned_log_ratio(beads, np.array(en_lengths, np.float32), np.array(ar_lengths, np.float32))
    assert got == pytest.approx(expected, abs=1e-12)


class StatefulWords:
    """A stand-in for an encoder that pools runs from token states: hashed word counts
    (``salt`` moves the hash, so two of them are two different encoders) and the words
    counted as tokens."""

    def __init__(self, name: str, salt: int):
        self.name, self.salt, self.settings = name, salt, {}

    def encode_states(self, texts):
        out = np.zeros((len(texts), 64), np.float32)
        for row, text in enumerate(texts):
            for word in text.split():
                out[row, (sum(map(ord, word)) + self.salt) % 64] += 1
        return out, np.array([max(1, len(t.split())) for t in texts], np.int64)

    def embed_states(self, states, lens):
        states = np.asarray(states, np.float32) / np.asarray(lens, np.float32)[:, None]
        return states / np.maximum(np.linalg.norm(states, axis=1, keepdims=True), 1e-9)

    def encode(self, texts, *, batch_size=None):
        return self.embed_states(*self.encode_states(texts))


def test_two_encoders_pair_on_the_first_and_the_second_encodes_only_what_is_aligned(tmp_path):
    """With two encoders together (use+e5) content pairing reads the first one's states
    alone: the same pairs and scores as that encoder alone, and a document left unpaired
    is never encoded by the second; the texts aligned next get the second's states once,
    the same bits as encoding them whole."""
    from aligner.encoders.combined import CombinedEncoder

    lines = [f"item {k} {k * 7} {k * 13} {k * 31}" for k in range(12)]
    en = write(tmp_path / "en", {"e1.txt": "\n".join(lines[:6]) + "\n", "e2.txt": "\n".join(lines[6:]) + "\n"})
    ar = write(tmp_path / "ar", {"x.txt": "\n".join(lines[6:]) + "\n", "y.txt": "\n".join(lines[:6]) + "\n",
                                 "z.txt": "one two three\nfour five six\n"})
    both = Aligner(CombinedEncoder(StatefulWords("first", 0), StatefulWords("second", 5), 0.5))
    result = pair_documents(en, ar, aligner=both, method="content", presplit=True)
    alone = pair_documents(en, ar, aligner=Aligner(StatefulWords("first", 0)), method="content", presplit=True)
    assert names(result) == names(alone) == {("e1.txt", "y.txt", "content"), ("e2.txt", "x.txt", "content")}
    assert [p.score for p in result.pairs] == [p.score for p in alone.pairs]
    assert result.unpaired_ar == [ar / "z.txt"]
    assert both.encoded_by == {"first": 14}            # 12 shared lines + z's 2, nothing by "second"

    for p in result.pairs:
        both.align(p.en_path.read_text(encoding="utf-8"), p.ar_path.read_text(encoding="utf-8"), presplit=True)
    assert both.encoded_by == {"first": 14, "second": 12}
    assert both.encoded_since(Counter()) == {"first": 14, "second": 12}
    whole = Aligner(CombinedEncoder(StatefulWords("first", 0), StatefulWords("second", 5), 0.5))
    for got, expected in zip(both.encoded_states(lines), whole.encoded_states(lines)):
        np.testing.assert_array_equal(got, expected)
    assert both.encoded_by == {"first": 14, "second": 12}   # all from the cache
    states, counts = both.first_part_states(lines)         # pairing again: the first part of the whole
    expected_states, expected_counts = StatefulWords("first", 0).encode_states(lines)
    np.testing.assert_array_equal(states, expected_states)
    assert counts.tolist() == expected_counts.tolist()
    assert both.encoded_by == {"first": 14, "second": 12}


class CountingWords(StatefulWords):
    """StatefulWords counting the rows its head embeds."""

    def __init__(self, name: str = "words", salt: int = 0):
        super().__init__(name, salt)
        self.head_rows = self.head_calls = 0

    def embed_states(self, states, lens):
        self.head_rows += len(states)
        self.head_calls += 1
        return super().embed_states(states, lens)


def _twelve_lines(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    lines = [f"item {k} {k * 7} {k * 13} {k * 31}" for k in range(12)]
    en = write(tmp_path / "en", {"e1.txt": "\n".join(lines[:6]) + "\n", "e2.txt": "\n".join(lines[6:]) + "\n"})
    ar = write(tmp_path / "ar", {"x.txt": "\n".join(lines[6:]) + "\n", "y.txt": "\n".join(lines[:6]) + "\n",
                                 "z.txt": "one two three\nfour five six\n"})
    return en, ar, lines


def test_content_pairing_hands_the_chosen_pairs_runs_to_the_aligner(tmp_path):
    """Re-scoring's run embeddings of the documents paired are handed to the aligner
    (those of the distractor are not) and taken when the pairs are aligned: the same bits
    and beads as an aligner that computes them itself, and no row through the head."""
    en, ar, lines = _twelve_lines(tmp_path)
    encoder = CountingWords()
    paired = Aligner(encoder)
    result = pair_documents(en, ar, aligner=paired, method="content", presplit=True)
    assert names(result) == {("e1.txt", "y.txt", "content"), ("e2.txt", "x.txt", "content")}
    # Each English text is its Arabic source's here: one entry each, taken twice.
    assert {k: n for k, (_, n) in paired._runs_held.items()} == {paired.runs_key(lines[:6]): 2,
                                                                 paired.runs_key(lines[6:]): 2}

    alone = Aligner(CountingWords())
    rows_after_pairing = encoder.head_rows
    for p in result.pairs:
        en_text, ar_text = p.en_path.read_text(encoding="utf-8"), p.ar_path.read_text(encoding="utf-8")
        held = paired._runs_held[paired.runs_key(en_text.split("\n")[:-1])][0]
        got = paired.align(en_text, ar_text, presplit=True)
        expected = alone.align(en_text, ar_text, presplit=True)
        assert got.beads == expected.beads
        computed = alone.encode([s for s in got.en_sentences], "en").runs
        assert len(held) == len(computed) and all(np.array_equal(a, b) for a, b in zip(held, computed))
    assert paired._runs_held == {} and paired._runs_held_bytes == 0
    assert encoder.head_rows == rows_after_pairing     # nothing pooled again


def test_runs_are_handed_over_only_from_float32_encodings(tmp_path):
    """Pairing keeps float32 encodings for the first ``cache_size`` sentences of a
    collection, float16 beyond; only runs pooled from float32 ones are the aligner's own."""
    from aligner.pairing.content import DocumentEmbedder

    en, ar, lines = _twelve_lines(tmp_path)
    embedder = DocumentEmbedder(Aligner(StatefulWords("words", 0), cache_size=7))
    first, second = embedder.encode_many([lines[:6], lines[6:]])
    assert first[0].dtype == np.float32 and second[0].dtype == np.float16
    assert first[0].shape == second[0].shape == (6, 64)

    small = Aligner(StatefulWords("words", 0), cache_size=7)
    result = pair_documents(en, ar, aligner=small, method="content", presplit=True)
    assert names(result) == {("e1.txt", "y.txt", "content"), ("e2.txt", "x.txt", "content")}
    assert set(small._runs_held) == {small.runs_key(lines[:6])}    # e1 alone was kept in float32


def test_runs_of_several_documents_in_one_head_call_are_the_same_bits():
    """Re-scoring pools the runs of many short documents in one head call (a long one
    alone): the same bits as one document at a time."""
    from aligner.pairing.content import DocumentEmbedder, _Doc

    encoder = CountingWords()
    embedder = DocumentEmbedder(Aligner(encoder))
    docs = [[f"w{k} x{k % 3} y{k * j}" for j in range(n)] for k, n in enumerate((1, 3, 9, 300))]
    items = [_Doc(Path(f"{k}.txt"), np.ones(len(d), np.float32), stored, tok)
             for k, (d, (stored, tok)) in enumerate(zip(docs, embedder.encode_many(docs)))]
    encoder.head_calls = 0
    together = embedder.runs_many(items)
    assert encoder.head_calls == 2      # the three short documents together, the 300-sentence one alone
    for item, runs in zip(items, together):
        alone = embedder.runs(item.stored, item.tok)
        assert len(runs) == len(alone) == 10
        assert all(np.array_equal(a, b) for a, b in zip(runs, alone))


def test_runs_cache_keeps_at_most_its_documents_and_bytes(monkeypatch):
    """Re-scoring's runs cache: least recently used out beyond its size in documents or
    in bytes (the last one put always stays)."""
    from aligner.pairing.content import DocumentEmbedder, _RunsCache, _Side, _Doc

    embedder = DocumentEmbedder(Aligner(StatefulWords("words", 0)))
    side = _Side("en")
    for k, n in enumerate((3, 3, 3, 3)):
        stored, tok = embedder.encode_many([[f"w{k} v{j}" for j in range(n)]])[0]
        side.docs.append(_Doc(Path(f"{k}.txt"), np.ones(n, np.float32), stored, tok))
    one = 6 * 64 * 4                            # runs of 3 sentences: 3 + 2 + 1 rows of 64 float32
    cache = _RunsCache(embedder, size=3)
    for k in range(4):
        cache.get(side, k)
    assert [k for _, k in cache.items] == [1, 2, 3] and cache.bytes == 3 * one
    monkeypatch.setattr(_RunsCache, "max_bytes", 2 * one)
    cache.get(side, 1)                          # used again: the most recent
    cache.get(side, 0)
    assert [k for _, k in cache.items] == [1, 0] and cache.bytes == 2 * one
    monkeypatch.setattr(_RunsCache, "max_bytes", 1)
    cache.get(side, 2)
    assert [k for _, k in cache.items] == [2] and cache.bytes == one


def test_runs_cache_centres_each_document_once_and_drops_it_with_its_runs(monkeypatch):
    """Re-scoring centres a document once however many candidates it is in (the same
    arrays each time, equal to ``center_runs``), counts them in its bytes and forgets
    them when it forgets the document's runs."""
    from aligner.alignment import center_runs
    from aligner.pairing.content import DocumentEmbedder, _RunsCache, _Side, _Doc

    embedder = DocumentEmbedder(Aligner(StatefulWords("words", 0)))
    side = _Side("en")
    for k in range(3):
        stored, tok = embedder.encode_many([[f"w{k} v{j} u{j % 2}" for j in range(3)]])[0]
        side.docs.append(_Doc(Path(f"{k}.txt"), np.ones(3, np.float32), stored, tok))
    one = 6 * 64 * 4                            # runs of 3 sentences: 3 + 2 + 1 rows of 64 float32
    cache = _RunsCache(embedder, size=2)
    runs = cache.get(side, 0)
    first = cache.centered(side, 0, runs, 0)
    assert cache.centered(side, 0, runs, 0) is first and cache.bytes == 2 * one
    assert all(np.array_equal(a, b) for a, b in zip(first, center_runs(runs, 0)))
    other = cache.centered(side, 0, runs, 2)    # another window: centred again, replacing it
    assert other is not first and cache.centered(side, 0, runs, 2) is other and cache.bytes == 2 * one
    cache.get(side, 1)
    cache.get(side, 2)                          # document 0 out: its runs and its centred runs
    assert [k for _, k in cache.items] == [1, 2] and cache.bytes == 2 * one and not cache._centered


def test_alignment_given_centred_runs_is_the_same_as_centring_them_itself():
    from aligner.alignment import AlignmentConfig, align_runs, center_runs, run_embeddings_by_mean

    rng = np.random.default_rng(3)
    base = rng.normal(size=(9, 32)).astype(np.float32)
    en = base + 0.3 * rng.normal(size=base.shape).astype(np.float32)
    ar = np.vstack([base[:4], rng.normal(size=(2, 32)).astype(np.float32), base[4:]])
    en_runs, ar_runs = (run_embeddings_by_mean(x / np.linalg.norm(x, axis=1, keepdims=True), 4) for x in (en, ar))
    config = AlignmentConfig()
    given = (center_runs(en_runs, config.center_window), center_runs(ar_runs, config.center_window))
    assert align_runs(en_runs, ar_runs, config, centered=given) == align_runs(en_runs, ar_runs, config)


@pytest.mark.slow
def test_the_embedded_encoders_runs_handed_over_are_the_aligners_own(news, use_encoder, tmp_path):
    """With USE (its pooled states, its head): the runs content pairing hands over are
    bit for bit those a fresh aligner pools for the same sides, and a run over the
    folders by content writes the same corpus as one given the same pairs by manifest."""
    from aligner.text.normalization import normalize_for_encoding
    from aligner.text.segmentation import segment

    en, ar = news
    paired = Aligner(use_encoder)
    result = pair_documents(en, ar, aligner=paired, method="content")
    assert len(result.pairs) == 3 and len(paired._runs_held) == 6
    fresh = Aligner(use_encoder)
    for p in result.pairs:
        for path, lang in ((p.en_path, "en"), (p.ar_path, "ar")):
            sentences = segment(path.read_text(encoding="utf-8"), lang)
            runs, count = paired._runs_held[paired.runs_key([normalize_for_encoding(s.text, lang) for s in sentences])]
            own = fresh.encode(sentences, lang).runs
            assert count == 1 and len(runs) == len(own) == 10
            assert all(np.array_equal(a, b) for a, b in zip(runs, own))

    manifest = tmp_path / "manifest.tsv"
    manifest.write_text("en_file\tar_file\n" + "".join(f"{p.en_path.name}\t{p.ar_path.name}\n" for p in result.pairs),
                        encoding="utf-8")
    by_content = align_folders(en, ar, tmp_path / "content", aligner=Aligner(use_encoder), pair_by="content",
                               progress=False)
    by_manifest = align_folders(en, ar, tmp_path / "manifest", aligner=Aligner(use_encoder), manifest=manifest,
                                progress=False)
    assert len(by_content.documents) == len(by_manifest.documents) == 3
    for name in ("corpus.jsonl", "unaligned.jsonl"):  # the same records but for the documents' ids
        records = [[{k: v for k, v in json.loads(line).items() if k != "doc_id"}
                    for line in (tmp_path / run / name).read_text(encoding="utf-8").splitlines()]
                   for run in ("content", "manifest")]
        assert records[0] == records[1] and records[0]
