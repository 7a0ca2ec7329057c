"""Review page speed on a big corpus: time to first render in headless Chromium.

Builds a synthetic run folder (``--pairs`` aligned beads of made-up English and Arabic
sentences over ``--docs`` documents, with merged beads and unaligned sentences, beads
files and ``unaligned.jsonl`` like a real run), renders its review page with
:func:`aligner.outputs.review.render_review`, then opens the page ``--runs`` times, each in a
fresh browser context, and reads ``window.__firstRender``: ``performance.now()`` (ms
since navigation start) when the page's script has inserted the first rows. Also
reported: ``__firstPaint`` (the frame after that), the load event, and how long the
"unaligned only" filter takes over the whole corpus.

    python benchmarks/bench_review.py [--pairs 50000] [--docs 2000] [--runs 5] [--keep review.html]

Needs Playwright (``pip install -e ".[test]"``) and Chromium at ``--chromium``
(default /usr/bin/chromium; ``apt-get install chromium``). Prints a table; the last line is
one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

try:
    import aligner  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from aligner.outputs.review import render_review  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

EN_WORDS = (
    "the a of and to in on for with by from at after before during about over under near "
    "government ministry minister officials police residents farmers workers students council "
    "city town river bridge market school hospital museum stadium port airport road village "
    "said reported announced warned promised rejected opened closed raised cut approved built "
    "new old local national regional public heavy strong early late first last several many "
    "prices wages bread fuel water rain flood fire storm election talks plan budget report "
    "Tuesday Monday Friday morning evening week month year years people percent million"
).split()
AR_WORDS = (
    "في من على إلى عن مع بعد قبل خلال حول فوق تحت قرب "
    "الحكومة الوزارة الوزير المسؤولون الشرطة السكان المزارعون العمال الطلاب المجلس "
    "المدينة البلدة النهر الجسر السوق المدرسة المستشفى المتحف الملعب الميناء المطار الطريق القرية "
    "قال أعلن حذر وعد رفض افتتح أغلق رفع خفض وافق بنى "
    "الجديد القديم المحلي الوطني الإقليمي العام الغزيرة القوية الأول الأخير عدة كثير "
    "الأسعار الأجور الخبز الوقود المياه الأمطار الفيضان الحريق العاصفة الانتخابات المحادثات الخطة الميزانية "
    "الثلاثاء الاثنين الجمعة صباح مساء الأسبوع الشهر العام الناس بالمئة مليون"
).split()


def sentence(rng: random.Random, words: list[str], arabic: bool) -> str:
    n = rng.randint(8, 30)
    text = " ".join(rng.choice(words) for _ in range(n))
    if rng.random() < 0.3:
        text += (" %d" % rng.randint(2, 5000))
    text = text[0].upper() + text[1:] if not arabic else text
    return text + "."


def build_corpus(folder: Path, pairs: int, docs: int, seed: int) -> dict:
    """Write corpus.jsonl, unaligned.jsonl and beads/ for ``pairs`` aligned beads."""
    rng = random.Random(seed)
    (folder / "beads").mkdir(parents=True, exist_ok=True)
    per_doc = [pairs // docs + (1 if k < pairs % docs else 0) for k in range(docs)]
    n_null = 0
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as corpus, \
            open(folder / "unaligned.jsonl", "w", encoding="utf-8") as unaligned:
        for k, n_pairs in enumerate(per_doc):
            doc_id = f"2024-{k // 28 % 12 + 1:02d}-{k % 28 + 1:02d}-story-{k:05d}"
            e = a = 0
            lines = []
            made = 0
            while made < n_pairs:
                r = rng.random()
                if r < 0.04 or r < 0.07:  # an English (4%) or Arabic (3%) sentence left alone
                    side = "en" if r < 0.04 else "ar"
                    idx = e if side == "en" else a
                    text = sentence(rng, EN_WORDS if side == "en" else AR_WORDS, side == "ar")
                    unaligned.write(json.dumps({"doc_id": doc_id, "side": side, "idx": idx, "text": text},
                                               ensure_ascii=False) + "\n")
                    lines.append(f"[{idx}]:[]" if side == "en" else f"[]:[{idx}]")
                    if side == "en":
                        e += 1
                    else:
                        a += 1
                    n_null += 1
                    continue
                n_en, n_ar = (1, 2) if r < 0.12 else (2, 1) if r < 0.15 else (1, 1)
                en_idx, ar_idx = list(range(e, e + n_en)), list(range(a, a + n_ar))
                e, a = e + n_en, a + n_ar
                record = {"doc_id": doc_id, "en_file": f"{doc_id}.txt", "ar_file": f"{doc_id}.txt",
                          "en_idx": en_idx, "ar_idx": ar_idx,
                          "en": " ".join(sentence(rng, EN_WORDS, False) for _ in en_idx),
                          "ar": " ".join(sentence(rng, AR_WORDS, True) for _ in ar_idx),
                          "bead_type": f"{n_en}-{n_ar}", "score": round(rng.betavariate(6, 2.5), 4)}
                corpus.write(json.dumps(record, ensure_ascii=False) + "\n")
                lines.append(f"[{', '.join(map(str, en_idx))}]:[{', '.join(map(str, ar_idx))}]")
                made += 1
            (folder / "beads" / f"{doc_id}.align").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"pairs": pairs, "docs": docs, "null_beads": n_null}


def measure(html: Path, runs: int, chromium: str) -> list[dict]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                t0 = time.perf_counter()
                page.goto(html.resolve().as_uri(), wait_until="load", timeout=120_000)
                page.wait_for_function("() => window.__firstPaint !== undefined", timeout=120_000)
                wall = (time.perf_counter() - t0) * 1000
                timing = page.evaluate("""() => {
                    const nav = performance.getEntriesByType('navigation')[0];
                    const rows = document.querySelectorAll('#tbody tr').length;
                    const box = document.getElementById('f-null');
                    const t = performance.now(); box.click(); const filter = performance.now() - t;
                    return {first_render_ms: window.__firstRender, first_paint_ms: window.__firstPaint,
                            load_ms: nav ? nav.loadEventEnd : null, rows_in_dom: rows, filter_ms: filter,
                            rows_after_filter: document.querySelectorAll('#tbody tr').length};
                }""")
                timing["wall_ms"] = wall
                out.append({k: (round(v, 1) if isinstance(v, float) else v) for k, v in timing.items()})
                context.close()
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=50_000, help="aligned beads in the corpus (default 50000)")
    parser.add_argument("--docs", type=int, default=None, help="documents (default: pairs / 25)")
    parser.add_argument("--runs", type=int, default=5, help="page loads to time (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--keep", type=Path, help="also copy the page here")
    args = parser.parse_args(argv)
    docs = args.docs or max(1, args.pairs // 25)

    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        run_dir = Path(tmp) / "run"
        t = time.perf_counter()
        info = build_corpus(run_dir, args.pairs, docs, args.seed)
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        html = render_review(run_dir)
        render_s = time.perf_counter() - t
        html_bytes = html.stat().st_size
        if args.keep:
            shutil.copyfile(html, args.keep)
        runs = measure(html, args.runs, args.chromium)

    print(f"corpus: {info['pairs']} pairs + {info['null_beads']} null beads in {info['docs']} documents "
          f"(built in {build_s:.1f} s); render_review: {render_s:.2f} s, {html_bytes / 1e6:.1f} MB")
    cols = ["first_render_ms", "first_paint_ms", "load_ms", "wall_ms", "rows_in_dom", "filter_ms"]
    print("run  " + "  ".join(f"{c:>16}" for c in cols))
    for k, r in enumerate(runs, 1):
        print(f"{k:>3}  " + "  ".join(f"{r[c]:>16}" for c in cols))
    median = {c: round(statistics.median(r[c] for r in runs), 1) for c in cols if c != "rows_in_dom"}
    print("med  " + "  ".join(f"{median.get(c, ''):>16}" for c in cols))
    print(json.dumps({"pairs": info["pairs"], "documents": info["docs"], "null_beads": info["null_beads"],
                      "first_render_ms_median": median["first_render_ms"],
                      "first_paint_ms_median": median["first_paint_ms"],
                      "unaligned_filter_ms_median": median["filter_ms"],
                      "runs": [r["first_render_ms"] for r in runs], "html_bytes": html_bytes,
                      "render_review_s": round(render_s, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
