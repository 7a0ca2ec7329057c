#!/usr/bin/env python3
"""Peak memory and time of ``aligner align`` on the largest inputs the default limits admit.

    python benchmarks/bench_memory.py [--mb 0.5,5] [--cases line,lines] [--timeout 3600]

Two hostile shapes of input, each an English file with a matching Arabic file (same
name, one document pair per run):

* ``line``: the whole file is one line of words with no sentence punctuation, so it
  is one sentence of about a million tokens on each side;
* ``lines``: short lines of a few words (200,000 lines in a 5 MB file), so each side
  is 200,000 sentences.

The words are drawn from small English and Arabic vocabularies with a fixed seed (the
files are the same on every run). ``--mb`` lists file sizes in MiB; the default limit
of ``aligner align --max-bytes`` is 5 MiB, which the largest default size is exactly.
Each case runs ``aligner align EN AR -o OUT --no-progress`` in a fresh subprocess; its
peak resident set size is the kernel's ``ru_maxrss`` for that one child (``os.wait4``).
A table (case, size, seconds, peak RSS) is printed, with the seconds per MiB of each
shape (linear time: about the same at every size); the last line printed is one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIB = 1024 * 1024
FULL_LINES = 200_000  # short lines in a 5 MiB file
LIMIT_MB = 2048

_EN = ("minister officials capital talks trade prices bread market river flood city council "
       "government report week year people police army road school hospital museum team cup "
       "final match water power election party court judge farmers workers union company bank "
       "oil gas border village north south east west new old large small first last").split()
_AR = ("وزير مسؤولين العاصمة محادثات تجارة أسعار خبز سوق نهر فيضان مدينة مجلس حكومة تقرير أسبوع "
       "عام الناس شرطة جيش طريق مدرسة مستشفى متحف فريق كأس نهائي مباراة ماء كهرباء انتخابات حزب "
       "محكمة قاض مزارعون عمال نقابة شركة بنك نفط غاز حدود قرية شمال جنوب شرق غرب جديد قديم كبير "
       "صغير أول أخير").split()


def _one_line(words: list[str], size: int, rng: random.Random) -> bytes:
    """One line of words (no sentence punctuation) of at most ``size`` bytes, newline included."""
    out, total = [], 1
    while True:
        w = rng.choice(words).encode("utf-8") + b" "
        if total + len(w) > size:
            break
        out.append(w)
        total += len(w)
    return b"".join(out).rstrip(b" ") + b"\n"


def _short_lines(words: list[str], size: int, n_lines: int, rng: random.Random) -> bytes:
    """``n_lines`` lines of a few words each, at most ``size`` bytes in all."""
    per_line = size // n_lines  # bytes per line, newline included
    lines = []
    for k in range(n_lines):
        line = f"{k}"
        while True:
            w = rng.choice(words)
            if len((line + " " + w).encode("utf-8")) + 1 > per_line:
                break
            line += " " + w
        lines.append(line.encode("utf-8") + b"\n")
    return b"".join(lines)


def make_inputs(root: Path, case: str, mb: float) -> tuple[Path, Path]:
    size = int(mb * MIB)
    rng = random.Random(f"{case}-{mb}")
    en_dir, ar_dir = root / "en", root / "ar"
    en_dir.mkdir(parents=True)
    ar_dir.mkdir(parents=True)
    if case == "line":
        en, ar = _one_line(_EN, size, rng), _one_line(_AR, size, rng)
    else:
        n_lines = max(1, round(FULL_LINES * size / (5 * MIB)))
        en, ar = _short_lines(_EN, size, n_lines, rng), _short_lines(_AR, size, n_lines, rng)
    (en_dir / "doc.txt").write_bytes(en)
    (ar_dir / "doc.txt").write_bytes(ar)
    return en_dir, ar_dir


def run_case(case: str, mb: float, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_memory_") as tmp:
        root = Path(tmp)
        en_dir, ar_dir = make_inputs(root, case, mb)
        lines = sum(1 for _ in (en_dir / "doc.txt").open("rb"))
        cmd = [sys.executable, "-c", "from aligner.cli import main; main()", "align", str(en_dir), str(ar_dir),
               "-o", str(root / "out"), "--no-progress"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = t0 + timeout
        status, usage = None, None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        output = proc.stdout.read().decode("utf-8", "replace") if proc.stdout else ""
        pairs = 0
        corpus = root / "out" / "corpus.jsonl"
        if corpus.exists():
            with corpus.open("rb") as f:
                pairs = sum(1 for _ in f)
        return {"case": case, "mib": mb, "bytes": (en_dir / "doc.txt").stat().st_size, "lines": lines,
                "seconds": round(seconds, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                "exit": proc.returncode, "pairs": pairs,
                "timed_out": seconds > timeout, "tail": output.strip().splitlines()[-1:] if proc.returncode else []}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", default="0.5,5", help="file sizes in MiB, comma-separated (default 0.5,5)")
    ap.add_argument("--cases", default="line,lines", help="line (one long line), lines (short lines) or both")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per case before it is killed")
    args = ap.parse_args()
    sizes = [float(x) for x in args.mb.split(",") if x]
    cases = [c for c in args.cases.split(",") if c]
    for c in cases:
        if c not in ("line", "lines"):
            ap.error(f"unknown case {c!r}")
    rows = []
    print(f"{'case':<6} {'MiB':>6} {'lines':>8} {'seconds':>9} {'peak RSS MB':>12} {'exit':>5} {'pairs':>7}")
    for case in cases:
        for mb in sizes:
            r = run_case(case, mb, args.timeout)
            rows.append(r)
            print(f"{r['case']:<6} {r['mib']:>6g} {r['lines']:>8} {r['seconds']:>9.1f} {r['peak_rss_mb']:>12.0f} "
                  f"{r['exit']:>5} {r['pairs']:>7}" + (f"  {r['tail'][0]}" if r["tail"] else ""), flush=True)
    linear = {}
    for case in cases:
        mine = [r for r in rows if r["case"] == case and r["exit"] == 0]
        if len(mine) >= 2:
            per = [r["seconds"] / r["mib"] for r in mine]
            linear[case] = {"seconds_per_mib": [round(p, 2) for p in per],
                            "largest_over_smallest": round(per[-1] / per[0], 2)}
            print(f"{case}: seconds per MiB " + ", ".join(f"{p:.1f}" for p in per))
    peak = max((r["peak_rss_mb"] for r in rows), default=0.0)
    print(json.dumps({"cases": [{k: v for k, v in r.items() if k != "tail"} for r in rows], "max_peak_rss_mb": peak,
                      "limit_mb": LIMIT_MB, "ok": peak <= LIMIT_MB and all(r["exit"] == 0 for r in rows),
                      "seconds_per_mib": linear}))


if __name__ == "__main__":
    main()
