#!/usr/bin/env python3
"""Make docs/review.png: the review page of the example corpus, in headless Chromium.

    python scripts/review_screenshot.py [-o docs/review.png] [--doc DOC_ID]

Aligns examples/en with examples/ar (embedded encoder), writes the review page, opens it
in Chromium (/usr/bin/chromium, driven by Playwright) and saves a PNG of the window. The
Arabic font is the first of the page's font stack that is installed (the committed
screenshot used Amiri: `apt-get install fonts-hosny-amiri`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
try:
    import aligner  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "src"))

from aligner.run.folders import align_folders  # noqa: E402
from aligner.outputs.review import render_review  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "docs" / "review.png")
    parser.add_argument("--doc", default="2024-06-bread-prices", help="document to show")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=820)
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        run = align_folders(ROOT / "examples" / "en", ROOT / "examples" / "ar", Path(tmp) / "out", progress=False)
        page_path = render_review(run.out_dir)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(f"{page_path.resolve().as_uri()}#doc={args.doc}")
            page.wait_for_function("() => window.__firstPaint !== undefined")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out))
            browser.close()
    print(f"{args.out}: {args.out.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
