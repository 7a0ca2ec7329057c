"""Tests for the HTML review page (aligner.outputs.review, `aligner view`, `aligner align --html`).

The data side (beads in document order with null beads, escaping, atomic writing, the
command line) is checked in Python. The page itself is checked in a real headless
Chromium (Debian's /usr/bin/chromium, driven by Playwright; `.ci/run` installs it): text
direction, one row per bead, the filters, paging, keyboard navigation, and that text
holding markup is shown as text and never run. Without Playwright or Chromium those tests
are skipped, with the reason.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from aligner.run import folders as corpus_mod
from aligner.cli import main
from aligner.encoders import COMBINED_ENCODER
from aligner.outputs.review import (
    ENCODER_SCORE_BANDS,
    REVIEW_FILE,
    ROWS_PER_PAGE,
    SCORE_BANDS,
    ReviewError,
    load_review_data,
    render_review,
    script_json,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CHROMIUM = os.environ.get("ALIGNER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BEAD_LINE = re.compile(r"^\[([\d, ]*)\]:\[([\d, ]*)\]$")
XSS_EN = "<script>alert(1)</script> was typed into the report."
XSS_AR = "<img src=x onerror=alert(2)></script><script>alert(3)</script>"
DATA_RE = re.compile(r'<script type="application/json" id="review-data">(.*?)</script>', re.S)


# ------------------------------------------------------------------ a corpus built by hand


def en_text(doc_id: str, i: int) -> str:
    return f"{doc_id} English sentence {i}."


def ar_text(doc_id: str, i: int) -> str:
    return f"الجملة {i} من {doc_id}."


def make_run(folder: Path, docs: dict[str, list[tuple]], *, texts: dict | None = None,
             quality: dict | None = None, beads_files: bool = True, moved: set | None = None) -> Path:
    """Write a run folder like align_folders does. ``docs``: doc_id -> beads in order,
    each ``(en_idx, ar_idx, score)`` (score None for a null bead); ``texts``:
    ``(doc_id, side, idx) -> text`` overrides; ``quality``: ``(doc_id, bead no.) -> q``;
    ``moved``: the ``(doc_id, bead no.)`` of pairs the report moved."""
    texts, quality, moved = texts or {}, quality or {}, moved or set()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "beads").mkdir(exist_ok=True)

    def text(doc_id, side, i):
        return texts.get((doc_id, side, i), (en_text if side == "en" else ar_text)(doc_id, i))

    corpus, unaligned = [], []
    for doc_id, beads in docs.items():
        lines = []
        for n, (en, ar, score) in enumerate(beads):
            lines.append(f"[{', '.join(map(str, en))}]:[{', '.join(map(str, ar))}]\n")
            if en and ar:
                record = {"doc_id": doc_id, "en_file": f"{doc_id}.txt", "ar_file": f"{doc_id}.txt",
                          "en_idx": list(en), "ar_idx": list(ar),
                          "en": " ".join(text(doc_id, "en", i) for i in en),
                          "ar": " ".join(text(doc_id, "ar", i) for i in ar),
                          "bead_type": f"{len(en)}-{len(ar)}", "score": score, "moved": (doc_id, n) in moved}
                if (doc_id, n) in quality:
                    record["quality"] = quality[(doc_id, n)]
                corpus.append(record)
            else:
                side, idx = ("en", en[0]) if en else ("ar", ar[0])
                unaligned.append({"doc_id": doc_id, "side": side, "idx": idx, "text": text(doc_id, side, idx)})
        if beads_files:
            (folder / "beads" / f"{doc_id}.align").write_text("".join(lines), encoding="utf-8")
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in corpus),
                                         encoding="utf-8")
    (folder / "unaligned.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in unaligned),
                                            encoding="utf-8")
    return folder


# [0]:[0], [1]:[] , []:[1], [2, 3]:[2], [4]:[3, 4], [5]:[], [6]:[5]
DOC_A = [((0,), (0,), 0.85), ((1,), (), None), ((), (1,), None), ((2, 3), (2,), 0.72),
         ((4,), (3, 4), 0.55), ((5,), (), None), ((6,), (5,), 0.41)]
DOC_B = [((), (0,), None), ((0,), (1,), 0.66), ((1,), (2,), 0.91)]


def bead_keys(rows) -> list[tuple[tuple, tuple]]:
    return [(tuple(r[0]), tuple(r[1])) for r in rows]


def expected_keys(beads) -> list[tuple[tuple, tuple]]:
    return [(tuple(en), tuple(ar)) for en, ar, _ in beads]


# ------------------------------------------------------------------ data


def test_rows_follow_the_beads_files_with_null_beads_in_place(tmp_path):
    run = make_run(tmp_path / "run", {"doc-a": DOC_A, "doc-b": DOC_B})
    data = load_review_data(run)
    assert [d["id"] for d in data["docs"]] == ["doc-a", "doc-b"]
    a, b = data["docs"]
    assert bead_keys(a["rows"]) == expected_keys(DOC_A)
    assert bead_keys(b["rows"]) == expected_keys(DOC_B)
    assert (a["pairs"], a["unEn"], a["unAr"], a["merged"]) == (4, 2, 1, 2)
    assert a["mean"] == round((0.85 + 0.72 + 0.55 + 0.41) / 4, 4)
    assert a["rows"][1] == [[1], [], en_text("doc-a", 1), "", None]          # null bead: text on its side only
    assert a["rows"][2] == [[], [1], "", ar_text("doc-a", 1), None]
    assert a["rows"][3][2] == f"{en_text('doc-a', 2)} {en_text('doc-a', 3)}"  # merged bead: one row
    assert data["metric"] == "score" and data["pageSize"] == ROWS_PER_PAGE
    assert a["moved"] == b["moved"] == []
    assert data["totals"] == {"docs": 2, "pairs": 6, "unEn": 2, "unAr": 2, "merged": 2, "moved": 0,
                              "mean": round((0.85 + 0.72 + 0.55 + 0.41 + 0.66 + 0.91) / 6, 4)}


# The report leads with Arabic 3-4 (English 0-1), then follows the source's order:
# [0]:[3]* [1]:[4]* [2]:[0] [3]:[1] []:[2] [4]:[5]
DOC_MOVED = [((0,), (3,), 0.8), ((1,), (4,), 0.7), ((2,), (0,), 0.9), ((3,), (1,), 0.85), ((), (2,), None),
             ((4,), (5,), 0.6)]


def test_moved_pairs_say_where_the_source_has_them(tmp_path):
    run = make_run(tmp_path / "run", {"doc-m": DOC_MOVED}, moved={("doc-m", 0), ("doc-m", 1)})
    data = load_review_data(run)
    (doc,) = data["docs"]
    assert bead_keys(doc["rows"]) == expected_keys(DOC_MOVED)  # the beads file's order: moved pairs where they are
    # In the source, Arabic 3-4 come after the pair [3]:[1] (Arabic 2 is unaligned).
    assert doc["moved"] == [[0, 3], [1, 3]]
    assert data["totals"]["moved"] == 2


def test_without_beads_files_moved_pairs_stay_at_their_english_place(tmp_path):
    run = make_run(tmp_path / "run", {"doc-m": DOC_MOVED}, moved={("doc-m", 0), ("doc-m", 1)}, beads_files=False)
    (doc,) = load_review_data(run)["docs"]
    # The unaligned Arabic sentence 2 follows the in-order pairs, not the moved Arabic 3-4.
    assert bead_keys(doc["rows"]) == expected_keys(DOC_MOVED)
    assert doc["moved"] == [[0, 3], [1, 3]]


def test_without_beads_files_null_beads_are_merged_in_by_index(tmp_path):
    run = make_run(tmp_path / "run", {"doc-a": DOC_A, "doc-b": DOC_B}, beads_files=False)
    a, b = load_review_data(run / "corpus.jsonl")["docs"]
    # Same order, except that within one gap an English null bead comes before an Arabic one
    # (here they already are).
    assert bead_keys(a["rows"]) == expected_keys(DOC_A)
    assert bead_keys(b["rows"]) == expected_keys(DOC_B)


def test_a_beads_file_that_disagrees_with_the_corpus_is_not_trusted(tmp_path):
    run = make_run(tmp_path / "run", {"doc-a": DOC_A})
    # A beads file from another run: a bead the corpus does not have.
    (run / "beads" / "doc-a.align").write_text("[0, 1]:[0]\n[2]:[]\n", encoding="utf-8")
    (a,) = load_review_data(run)["docs"]
    assert bead_keys(a["rows"]) == expected_keys(DOC_A)


def test_a_document_with_only_unaligned_sentences_is_listed(tmp_path):
    run = make_run(tmp_path / "run", {"doc-a": DOC_A, "doc-z": [((0,), (), None), ((), (0,), None)]})
    docs = load_review_data(run)["docs"]
    assert [d["id"] for d in docs] == ["doc-a", "doc-z"]
    assert docs[1]["pairs"] == 0 and docs[1]["mean"] is None and len(docs[1]["rows"]) == 2


def test_quality_is_the_metric_when_records_have_it(tmp_path):
    run = make_run(tmp_path / "run", {"doc-b": DOC_B}, quality={("doc-b", 1): 0.25, ("doc-b", 2): 0.95})
    data = load_review_data(run)
    assert data["metric"] == "quality"
    rows = data["docs"][0]["rows"]
    assert rows[1][4:] == [0.25, 0.66] and rows[2][4:] == [0.95, 0.91]  # value, then the raw score
    assert rows[0][4:] == [None, None]
    assert data["docs"][0]["mean"] == 0.6


def test_script_json_cannot_end_the_script_element():
    nasty = {"t": "</script><script>alert(1)</script> <!-- a & b > c \u2028\u2029 </SCRIPT>"}
    text = script_json(nasty)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == nasty


def test_page_is_self_contained_escaped_and_holds_the_data_once(tmp_path):
    run = make_run(tmp_path / "a<b>&c", {"doc-a": DOC_A},
                   texts={("doc-a", "en", 0): XSS_EN, ("doc-a", "ar", 0): XSS_AR})
    out = render_review(run)
    assert out == run / REVIEW_FILE
    html = out.read_text(encoding="utf-8")
    assert "<title>Alignment review: a&lt;b&gt;&amp;c</title>" in html  # autoescaped
    assert "<script>alert" not in html and "</script><script>" not in html and "<img" not in html
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in html  # escaped inside the JSON
    assert re.findall(r"<script\b[^>]*>", html) == ['<script type="application/json" id="review-data">', "<script>"]
    markup = DATA_RE.sub("", html)  # the page without its data: no way to load anything
    assert not re.search(r"https?://|<link\b|<iframe\b|<img\b|\bsrc=|@import|url\(", markup)
    (blob,) = DATA_RE.findall(html)
    assert json.loads(blob) == json.loads(json.dumps(load_review_data(run)))
    assert json.loads(blob)["docs"][0]["rows"][0][2:4] == [XSS_EN, XSS_AR]


def test_the_content_security_policy_allows_only_the_page_script(tmp_path):
    html = render_review(make_run(tmp_path / "run", {"doc-b": DOC_B})).read_text(encoding="utf-8")
    (policy,) = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html)
    script = html.rsplit("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert "default-src 'none'" in policy and f"script-src 'sha256-{digest}'" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";")[0]


def test_rendering_is_deterministic_and_atomic(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run", {"doc-a": DOC_A, "doc-b": DOC_B})
    out = tmp_path / "pages" / "review.html"
    first = render_review(run, out).read_bytes()
    assert render_review(run / "corpus.jsonl", out).read_bytes() == first
    assert os.listdir(out.parent) == ["review.html"]  # no temporary file left

    def failing_replace(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", failing_replace)
    make_run(run, {"doc-b": DOC_B})
    with pytest.raises(OSError, match="disk gone"):
        render_review(run, out)
    assert out.read_bytes() == first and os.listdir(out.parent) == ["review.html"]


def test_missing_or_broken_corpus_is_a_review_error(tmp_path):
    with pytest.raises(ReviewError, match="no such corpus file"):
        render_review(tmp_path)
    (tmp_path / "corpus.jsonl").write_text('{"doc_id": "a"}\nnot json\n', encoding="utf-8")
    with pytest.raises(ReviewError, match=r"corpus.jsonl, line 2: not JSON"):
        render_review(tmp_path)


@pytest.mark.parametrize("content", [
    b'{"aligner_version": "0.1.0", "encoder": "use-multilingual-v3", "failed": [{"doc_id": "x", "error": "e"}]}',
    b'{"aligner_version": "0.1.0", "score": NaN}',  # not JSON
    b'["a list"]', b"{oops", b"\xff\xfe not UTF-8", None,  # None: a folder named run.json
])
def test_run_json_shows_when_usable_and_never_fails_the_page(tmp_path, content):
    """run.json is read as everywhere else (aligner.io.files.read_json_object): optional here."""
    run = make_run(tmp_path / "run", {"doc-a": DOC_A})
    if content is None:
        (run / "run.json").mkdir()
    else:
        (run / "run.json").write_bytes(content)
    data = load_review_data(run)
    usable = content is not None and b"failed" in content
    assert data["run"] == ({"version": "0.1.0", "encoder": "use-multilingual-v3"} if usable else None)
    assert data["failed"] == ([{"doc_id": "x", "error": "e"}] if usable else [])
    assert data["totals"]["docs"] == 1


def test_template_and_script_ship_as_package_data():
    folder = resources.files("aligner") / "templates"
    assert (folder / "review.html.j2").is_file() and (folder / "review.js").is_file()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'\[tool\.setuptools\.package-data\]\s*(#[^\n]*\n\s*)*aligner = \["templates/\*"[^\]\n]*\]', pyproject)


# ------------------------------------------------------------------ command line


def test_cli_view_writes_the_page(tmp_path):
    run = make_run(tmp_path / "run", {"doc-a": DOC_A})
    result = CliRunner().invoke(main, ["view", str(run)])
    assert result.exit_code == 0, result.output
    assert result.output == f"Review page written to {run / REVIEW_FILE}\n"
    out = tmp_path / "elsewhere" / "page.html"
    result = CliRunner().invoke(main, ["view", str(run / "corpus.jsonl"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (run / REVIEW_FILE).read_bytes()


def test_cli_view_without_a_corpus_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["view", str(tmp_path)])
    assert result.exit_code == 2
    assert "no such corpus file" in result.output and "corpus.jsonl" in result.output


def test_cli_help_mentions_the_page():
    assert "--html" in CliRunner().invoke(main, ["align", "--help"]).output
    assert "CORPUS" in CliRunner().invoke(main, ["view", "--help"]).output


# ------------------------------------------------------------------ in a real browser


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        pytest.skip(f"playwright is not installed ({exc}); pip install -e '.[test]'")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    with sync_playwright() as p:
        try:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Error as exc:
            pytest.skip(f"Chromium at {CHROMIUM} does not start: {exc}")
        yield chromium
        chromium.close()


class Page:
    """A page opened on a review file, recording dialogs, errors and requests."""

    def __init__(self, browser, path: Path):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.dialogs, self.errors, self.requests = [], [], []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_function("() => window.__firstRender !== undefined")

    def rows(self) -> list[dict]:
        return self.page.evaluate("""() => Array.from(document.querySelectorAll('#tbody tr')).map(tr => ({
            en: tr.dataset.en, ar: tr.dataset.ar, cls: tr.className, title: tr.title,
            enText: tr.querySelector('td.en').textContent, arText: tr.querySelector('td.ar').textContent,
            enEmpty: tr.querySelector('td.en').classList.contains('empty'),
            arEmpty: tr.querySelector('td.ar').classList.contains('empty')}))""")

    def keys(self) -> list[tuple[tuple, tuple]]:
        return [(_ints(r["en"]), _ints(r["ar"])) for r in self.rows()]

    def title(self) -> str:
        return self.page.text_content("#doc-title")

    def listed(self) -> list[str]:
        return self.page.eval_on_selector_all("#doc-list li", "lis => lis.map(li => li.dataset.doc)")

    def open_doc(self, doc_id: str) -> None:
        self.page.click(f'#doc-list li[data-doc="{doc_id}"]')
        assert self.title() == doc_id

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def close(self) -> None:
        assert self.errors == [], self.errors
        assert self.dialogs == [], self.dialogs
        assert {url for url in self.requests} == {self.page.url.split("#")[0]}, self.requests  # no network
        self.page.close()


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",")) if text else ()


def parse_beads(path: Path) -> list[tuple[tuple, tuple]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        en, ar = BEAD_LINE.match(line).groups()
        out.append((_ints(en.replace(" ", "")), _ints(ar.replace(" ", ""))))
    return out


@pytest.fixture(scope="module")
def example_run(tmp_path_factory, default_aligner) -> Path:
    """``aligner align examples/en examples/ar -o OUT --html`` (the session's aligner)."""
    out = tmp_path_factory.mktemp("review") / "out"
    mp = pytest.MonkeyPatch()
    mp.setattr(corpus_mod, "_build_aligner", lambda encoder, engine=None, alignment=None: default_aligner)
    try:
        result = CliRunner().invoke(main, ["align", str(EXAMPLES / "en"), str(EXAMPLES / "ar"), "-o", str(out),
                                           "--no-progress", "--html"])
    finally:
        mp.undo()
    assert result.exit_code == 0, result.output
    assert f"Review page written to {out / REVIEW_FILE}" in result.output
    return out


@pytest.fixture
def example_page(browser, example_run):
    page = Page(browser, example_run / REVIEW_FILE)
    yield page
    page.close()


def example_beads(run: Path) -> dict[str, list]:
    return {p.stem: parse_beads(p) for p in sorted((run / "beads").glob("*.align"))}


@pytest.mark.slow
def test_example_page_has_one_row_per_bead_in_document_order(example_page, example_run):
    beads = example_beads(example_run)
    assert len(beads) == 4 and example_page.listed() == sorted(beads)
    assert any(not en or not ar for doc in beads.values() for en, ar in doc)  # there are null beads to show
    for doc_id, doc_beads in beads.items():
        example_page.open_doc(doc_id)
        rows = example_page.rows()
        assert len(rows) == len(doc_beads)
        assert example_page.keys() == doc_beads
        for row, (en, ar) in zip(rows, doc_beads):
            assert ("null" in row["cls"].split()) == (not en or not ar)
            assert row["enEmpty"] == (not en) and row["arEmpty"] == (not ar)  # the empty side is marked
            if not en:
                assert "no English sentence" in row["enText"]
            if not ar:
                assert "no Arabic sentence" in row["arText"]


@pytest.mark.slow
def test_example_page_arabic_is_right_to_left(example_page):
    styles = example_page.page.evaluate("""() => ({
        ar: Array.from(document.querySelectorAll('#tbody td.ar')).map(td =>
            [getComputedStyle(td).direction, td.lang, getComputedStyle(td).fontFamily]),
        en: Array.from(document.querySelectorAll('#tbody td.en')).map(td => getComputedStyle(td).direction)})""")
    assert styles["ar"] and styles["en"]
    assert all(d == "rtl" and lang == "ar" for d, lang, _ in styles["ar"])
    assert all('"Noto Naskh Arabic"' in font and "Amiri" in font for _, _, font in styles["ar"])
    assert set(styles["en"]) == {"ltr"}


@pytest.mark.slow
def test_example_page_rows_are_coloured_by_score_with_the_score_on_hover(example_page, example_run):
    records = [json.loads(line) for line in (example_run / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    score = {(r["doc_id"], tuple(r["en_idx"]), tuple(r["ar_idx"])): r["score"] for r in records}
    backgrounds = {}
    for doc_id in example_page.listed():
        example_page.open_doc(doc_id)
        colours = example_page.page.evaluate(
            "() => Array.from(document.querySelectorAll('#tbody tr')).map(tr => "
            "getComputedStyle(tr.querySelector('td.en')).backgroundColor)")
        for row, colour in zip(example_page.rows(), colours):
            key = (doc_id, _ints(row["en"]), _ints(row["ar"]))
            if key in score:
                assert row["title"].startswith(f"score {score[key]:g} ·"), row["title"]
                band = 4 - sum(score[key] < b for b in ENCODER_SCORE_BANDS[COMBINED_ENCODER])
                assert f"q{band}" in row["cls"].split()
                backgrounds.setdefault(band, set()).add(colour)
            else:
                assert "unaligned" in row["title"] and "no score" in row["title"]
    assert len(backgrounds) >= 3 and all(len(c) == 1 for c in backgrounds.values())
    assert len({c for cs in backgrounds.values() for c in cs}) == len(backgrounds)  # one colour per band


@pytest.mark.slow
def test_example_page_unaligned_filter_shows_exactly_the_null_beads(example_page, example_run):
    beads = example_beads(example_run)
    nulls = {doc: [b for b in doc_beads if not b[0] or not b[1]] for doc, doc_beads in beads.items()}
    example_page.page.check("#f-null")
    assert example_page.listed() == [doc for doc in sorted(nulls) if nulls[doc]]
    seen = {}
    example_page.open_doc(example_page.listed()[0])
    for _ in range(len(example_page.listed())):
        seen[example_page.title()] = example_page.keys()
        assert all("null" in r["cls"].split() for r in example_page.rows())
        example_page.press("j")
    assert seen == {doc: b for doc, b in nulls.items() if b}
    example_page.page.uncheck("#f-null")
    assert len(example_page.listed()) == len(beads)


@pytest.mark.slow
def test_example_page_many_to_one_and_score_filters(example_page, example_run):
    beads = example_beads(example_run)
    merged = {doc: [b for b in bs if len(b[0]) > 1 or len(b[1]) > 1] for doc, bs in beads.items()}
    example_page.page.check("#f-merged")
    for doc in example_page.listed():
        example_page.open_doc(doc)
        assert example_page.keys() == merged[doc]
    assert example_page.listed() == [d for d in sorted(merged) if merged[d]]
    example_page.page.uncheck("#f-merged")

    records = [json.loads(line) for line in (example_run / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    threshold = round(sorted(r["score"] for r in records)[len(records) // 2], 2)  # about half the rows
    under = [r for r in records if r["score"] < threshold]
    assert 0 < len(under) < len(records)
    example_page.page.fill("#f-threshold", str(threshold))
    example_page.page.check("#f-under")
    total_rows = sum(map(len, beads.values()))
    assert example_page.page.text_content("#matches").startswith(f"{len(under)} of {total_rows} rows match")
    shown = []
    for doc in example_page.listed():
        example_page.open_doc(doc)
        shown += [(doc, r["en"], r["ar"]) for r in example_page.rows()]
    assert sorted(shown) == sorted((r["doc_id"], ",".join(map(str, r["en_idx"])), ",".join(map(str, r["ar_idx"])))
                                   for r in under)


@pytest.mark.slow
def test_example_page_keyboard_navigation_and_search(example_page, example_run):
    docs = sorted(example_beads(example_run))
    assert example_page.title() == docs[0]
    example_page.press("j")
    assert example_page.title() == docs[1]
    example_page.press("j")
    example_page.press("k")
    assert example_page.title() == docs[1] and example_page.page.url.endswith(f"#doc={docs[1]}")
    for _ in docs:
        example_page.press("j")
    assert example_page.title() == docs[-1]  # stops at the last document
    assert "j" in example_page.page.text_content(".keys") and "k" in example_page.page.text_content(".keys")

    # Search: "/" focuses the box; Arabic matches without its diacritics.
    example_page.press("/")
    example_page.page.keyboard.type("يسجل")  # the text has يُسجَّل
    example_page.page.wait_for_function("() => document.getElementById('matches').textContent !== ''")
    assert example_page.listed() == ["2024-05-river-flood"]
    rows = example_page.rows()
    assert len(rows) == 1 and "يُسجَّل" in rows[0]["arText"]
    example_page.page.fill("#search", "RAYHAN")  # case-insensitive, highlighted
    example_page.page.wait_for_function("() => document.querySelectorAll('#tbody mark').length > 0")
    rows = example_page.rows()
    assert rows and all("rayhan" in r["enText"].lower() for r in rows)
    assert example_page.page.locator("#tbody mark").count() >= len(rows)
    assert example_page.listed() == ["2024-05-river-flood"]
    example_page.press("Escape")
    example_page.press("k")  # keys work again once the box is left
    assert example_page.title() == "2024-05-river-flood"


def test_markup_in_text_is_shown_as_text_and_never_run(browser, tmp_path):
    texts = {("<svg onload=alert(4)>", "en", 0): XSS_EN, ("<svg onload=alert(4)>", "ar", 0): XSS_AR,
             ("<svg onload=alert(4)>", "en", 1): "</script><script>alert(5)</script>"}
    run = make_run(tmp_path / "run", {"<svg onload=alert(4)>": DOC_A}, texts=texts)
    page = Page(browser, render_review(run))
    try:
        rows = page.rows()
        assert page.title() == "<svg onload=alert(4)>"
        assert rows[0]["enText"] == "0" + XSS_EN and rows[0]["arText"] == "0" + XSS_AR  # index, then the text
        assert rows[1]["enText"] == "1</script><script>alert(5)</script>"
        assert page.page.evaluate("document.querySelectorAll('#tbody script, #tbody img, svg').length") == 0
        page.page.wait_for_timeout(300)
        page.page.fill("#search", "alert(1)")  # and again when drawn with search highlighting
        page.page.wait_for_function("() => document.querySelectorAll('#tbody tr').length === 1")
        assert page.rows()[0]["enText"] == "0" + XSS_EN
        assert page.page.evaluate("document.querySelectorAll('#tbody script, #tbody img').length") == 0
        page.page.wait_for_timeout(300)
    finally:
        page.close()  # asserts that no dialog opened and nothing failed


def test_rows_are_paged_and_the_document_list_is_virtual(browser, tmp_path):
    long_doc = [((i,), (i,), round(0.3 + (i % 60) / 100, 4)) for i in range(450)]
    docs = {f"doc-{k:03d}": DOC_B for k in range(300)}
    docs["doc-000"] = long_doc
    page = Page(browser, render_review(make_run(tmp_path / "run", docs)))
    try:
        assert len(page.rows()) == ROWS_PER_PAGE == 200
        assert page.page.text_content("#pager-top .where") == "page 1 of 3 (rows 1–200 of 450)"
        page.press("n")
        assert page.keys()[0] == ((200,), (200,)) and len(page.rows()) == 200
        page.press("n")
        assert len(page.rows()) == 50 and page.keys()[-1] == ((449,), (449,))
        page.press("n")
        assert len(page.rows()) == 50  # stays on the last page
        page.page.click("#pager-bottom button.prev")
        assert page.keys()[0] == ((200,), (200,))
        assert page.page.evaluate("document.querySelectorAll('#tbody tr').length") == 200

        # 300 documents: only the list items in view exist, and scrolling brings the rest.
        listed = page.listed()
        assert 10 < len(listed) < 100 and listed[0] == "doc-000"
        page.page.eval_on_selector("#doc-scroller", "s => { s.scrollTop = s.scrollHeight; }")
        page.page.wait_for_function("() => document.querySelector('#doc-list li:last-child').dataset.doc === 'doc-299'")
        page.page.click('#doc-list li[data-doc="doc-299"]')
        assert page.title() == "doc-299" and len(page.rows()) == len(DOC_B)
        assert page.page.is_hidden("#pager-top")
    finally:
        page.close()


def test_moved_pairs_are_marked_with_where_the_source_has_them(browser, tmp_path):
    run = make_run(tmp_path / "run", {"doc-m": DOC_MOVED}, moved={("doc-m", 0), ("doc-m", 1)})
    page = Page(browser, render_review(run))
    try:
        rows = page.rows()
        assert ["moved" in r["cls"].split() for r in rows] == [True, True, False, False, False, False]
        marks = page.page.eval_on_selector_all("#tbody tr span.moved", "s => s.map(x => [x.textContent, x.title])")
        where = "The report moved this passage: in the Arabic source it comes after English sentence 3."
        assert marks == [["↷ moved", where], ["↷ moved", where]]
        assert rows[0]["title"].endswith(" · moved (in the source after English sentence 3)")
        assert "2 moved, " in page.page.text_content("#doc-meta")
        assert "2 moved" in page.page.text_content("#summary")
    finally:
        page.close()


def test_quality_colours_rows_and_shows_both_numbers(browser, tmp_path):
    run = make_run(tmp_path / "run", {"doc-b": DOC_B}, quality={("doc-b", 1): 0.25, ("doc-b", 2): 0.95})
    page = Page(browser, render_review(run))
    try:
        rows = page.rows()
        assert rows[1]["title"].startswith("quality 0.25 (score 0.66) · 1-1")
        assert "q0" in rows[1]["cls"].split() and "q4" in rows[2]["cls"].split()
        assert page.page.text_content("#metric-label") == "quality"
    finally:
        page.close()


@pytest.mark.parametrize("metric, encoder, bands", [
    ("quality", COMBINED_ENCODER, SCORE_BANDS),        # a probability, whatever the encoder
    ("score", "use-multilingual-v3", (0.8, 0.7, 0.6, 0.5)),
    ("score", COMBINED_ENCODER, (0.9, 0.86, 0.83, 0.8)),
    ("score", "multilingual-e5-small", (0.93, 0.9, 0.88, 0.86)),
    ("score", "some/hf-model", SCORE_BANDS),
    ("score", None, SCORE_BANDS),                       # no run.json
])
def test_colour_bands_follow_the_metric_and_the_encoders_scale(metric, encoder, bands):
    from aligner.outputs.review import _bands

    assert _bands(metric, encoder) == bands
