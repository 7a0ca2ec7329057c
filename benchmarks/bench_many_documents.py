"""Many small documents: CPU time of ``aligner align`` on N one-line document pairs, read
and encoded a window at a time (the default) against one document at a time.

    python benchmarks/bench_many_documents.py [--docs 5000] [--baseline-docs 500]

Each run is a fresh ``aligner align`` process (encoder loading included) on generated
one-line English/Arabic pairs; CPU seconds are the child's user + system time. The
baseline (windows of one document, as before windows existed) runs on ``--baseline-docs``
pairs and its CPU time per document is compared with the default's. Prints a table; the
last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EN = ["The river flooded the town on Tuesday.", "About 1,200 people were evacuated from their homes.",
      "The mayor said no injuries had been recorded."]
AR = ["غمرت مياه النهر البلدة يوم الثلاثاء.", "أجلي نحو 1200 شخص من منازلهم.",
      "قال رئيس البلدية إنه لم تسجل إصابات."]

RUN = ("import sys, aligner.run.folders as c; c.WINDOW_DOCUMENTS = int(sys.argv.pop(1)); "
       "from aligner.cli import main; main()")


def _write(folder: Path, n: int) -> None:
    for side, lines in (("en", EN), ("ar", AR)):
        (folder / side).mkdir(parents=True)
        for i in range(n):
            number = f" Report {i}." if side == "en" else f" التقرير {i}."
            (folder / side / f"d{i:05d}.txt").write_text(lines[i % 3] + number + "\n", encoding="utf-8")


def _run(folder: Path, window: int) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", RUN, str(window), "align", str(folder / "en"), str(folder / "ar"),
                    "-o", str(folder / f"out{window}"), "--no-progress"], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=5000)
    ap.add_argument("--baseline-docs", type=int, default=500)
    args = ap.parse_args()
    from aligner.run.folders import WINDOW_DOCUMENTS

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, n, window in (("windows (default)", args.docs, WINDOW_DOCUMENTS),
                                 ("one document at a time", args.baseline_docs, 1)):
            folder = Path(tmp) / f"{window}-{n}"
            _write(folder, n)
            rows.append({"mode": label, "window": window, "documents": n, **_run(folder, window)})
    for r in rows:
        r["cpu_ms_per_document"] = round(1000 * r["cpu_s"] / r["documents"], 1)
    ratio = rows[1]["cpu_ms_per_document"] / rows[0]["cpu_ms_per_document"]
    print(f"{'mode':<24}{'docs':>7}{'wall s':>9}{'CPU s':>9}{'CPU ms/doc':>12}")
    for r in rows:
        print(f"{r['mode']:<24}{r['documents']:>7}{r['wall_s']:>9.1f}{r['cpu_s']:>9.1f}{r['cpu_ms_per_document']:>12.1f}")
    print(f"CPU per document, one at a time / windows: {ratio:.1f}x (encoder loading included in both)")
    print(json.dumps({"rows": rows, "cpu_per_document_ratio": round(ratio, 2)}))


if __name__ == "__main__":
    main()
