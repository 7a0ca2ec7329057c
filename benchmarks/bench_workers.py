"""Documents per second with 1 and 2 workers (``aligner align --workers N``, datatrove's
LocalPipelineExecutor) on the dev documents, and peak memory per worker.

    python benchmarks/bench_workers.py --data ../shared/eval/dev/docs [--copies 2] [--workers 1,2] [--repeats 1]

The documents are paired as ``gold.tsv`` says (a manifest: pairing costs nothing here, so
the figures are the alignment's); ``--copies K`` repeats the collection K times under
other names, every sentence changed by a copy tag (each copy new text: an aligner's
sentence cache, one per worker, cannot favour one run over another) to give the workers
more to share. Each configuration runs as a fresh ``aligner align`` process into a fresh
folder: ``--workers 1`` is the single-process path (torch's own threads: every core for
encoding), run a second time with one torch thread (``OMP_NUM_THREADS=1``) to tell the
workers' gain from the threads' (each of N workers gets cores / N threads); the ratio is
taken against the faster of the two.

Figures per configuration:

* ``wall_s`` and ``docs_per_s``: the whole command (start-up, encoder loading, pairing,
  alignment, merge);
* ``align_docs_per_s``: documents over the alignment alone: for one worker the run's
  ``total_s`` less its encoder loading and pairing (reading, encoding, aligning, writing),
  for N workers the wall-clock span of the align stage from the first worker's encoder
  being ready to the last task's end (datatrove's task logs; the workers load their
  encoders at the same time, once however many documents they then align), so start-up
  is left out of both;
* ``peak_rss_mb`` per worker: each worker process's peak resident memory (``run.json``
  timings of the tasks, the largest of a process's tasks; for one worker, the whole
  command's).

The machine this ran on had 2 cores shared with other jobs: figures are noisy (run with
``--repeats 3`` to take the best of three). Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _collection(data: Path, folder: Path, copies: int) -> tuple[Path, Path, Path, int]:
    """EN/AR folders and a manifest: the gold pairs of ``data``, ``copies`` times."""
    en_dir, ar_dir = folder / "en", folder / "ar"
    en_dir.mkdir(parents=True)
    ar_dir.mkdir(parents=True)
    lines = ["en_file\tar_file"]
    for copy in range(copies):
        for row in (data / "gold.tsv").read_text(encoding="utf-8").splitlines():
            en_name, ar_name = row.split("\t")
            en_new, ar_new = f"c{copy}-{en_name}", f"c{copy}-{ar_name}"
            for src, dst in ((data / "en" / en_name, en_dir / en_new), (data / "ar" / ar_name, ar_dir / ar_new)):
                dst.write_text(_tagged(src.read_text(encoding="utf-8"), copy), encoding="utf-8")
            lines.append(f"{en_new}\t{ar_new}")
    manifest = folder / "manifest.tsv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return en_dir, ar_dir, manifest, len(lines) - 1


_END = re.compile(r"([.!?\u061f\u06d4])(?=\s|$)")


def _tagged(text: str, copy: int) -> str:
    """Copy ``copy`` of a text with every sentence made new (a token before each sentence
    end and at each line end), so no worker's sentence cache holds it from another copy;
    copy 0 is the text itself."""
    if copy == 0:
        return text
    tag = f" c{copy}x"
    return "\n".join(_END.sub(rf"{tag}\1", line) + ("" if _END.search(line[-1:] or " ") else tag) if line.strip()
                     else line for line in text.split("\n"))


def _stamp(line: str) -> float:
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f").timestamp()


def _align_span(out: Path) -> float | None:
    """Seconds from the first align task's encoder being ready ("aligner worker pid=...
    ready") to the last task's end (datatrove's task logs)."""
    starts, ends = [], []
    for log in (out / ".aligner-state" / "logs" / "align" / "logs").glob("task_*.log"):
        stamped = [line for line in log.read_text(encoding="utf-8").splitlines() if line[:4].isdigit()]
        ready = [line for line in stamped if "aligner worker pid=" in line]
        if ready:
            starts.append(_stamp(ready[0]))
            ends.append(_stamp(stamped[-1]))
    return max(ends) - min(starts) if starts else None


def _run(en: Path, ar: Path, manifest: Path, out: Path, workers: int, threads: int | None = None) -> dict:
    command = [sys.executable, "-m", "aligner.cli", "align", str(en), str(ar), "-o", str(out), "--pair-by", "name",
               "--manifest", str(manifest), "--no-progress", "--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)  # torch's intra-op threads
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    timings = json.loads((out / "run.json").read_text(encoding="utf-8"))["timings"]
    documents = json.loads((out / "run.json").read_text(encoding="utf-8"))["summary"]["aligned"]
    tasks = timings.get("tasks")
    if tasks:  # the pipeline
        align_s = _align_span(out)
        peaks: dict[int, float] = {}  # per worker process (a process runs several tasks)
        for t in tasks:
            peaks[t["pid"]] = max(peaks.get(t["pid"], 0.0), t["peak_rss_mb"])
        rss = sorted(peaks.values())
    else:
        align_s = timings["total_s"] - timings["load_encoder_s"] - timings["pairing_s"]
        rss = [round(after.ru_maxrss / 1024, 1)]  # KiB: the largest child so far (this one: the first to run)
    label = f"{workers}" + (" (1 process)" if workers == 1 else " (datatrove)") \
        + (f", {threads} thread" if threads else "")
    return {"workers": workers, "label": label, "threads": threads or (tasks[0]["threads"] if tasks else None),
            "documents": documents, "wall_s": round(wall, 2),
            "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2),
            "docs_per_s": round(documents / wall, 2),
            "align_s": None if align_s is None else round(align_s, 2),
            "align_docs_per_s": None if not align_s else round(documents / align_s, 2),
            "peak_rss_mb": rss}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "eval" / "dev" / "docs")
    ap.add_argument("--copies", type=int, default=2, help="the collection this many times (default 2)")
    ap.add_argument("--workers", default="1,2", help="worker counts to run (default 1,2)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per configuration; the fastest is kept")
    ap.add_argument("--no-single-thread", action="store_true",
                    help="skip the single-process run with one torch thread (OMP_NUM_THREADS=1), which tells the "
                         "workers' gain from the threads' (each worker gets cores / workers threads)")
    args = ap.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        en, ar, manifest, n = _collection(args.data, Path(tmp) / "data", args.copies)
        configs = [(w, None) for w in counts]
        if 1 in counts and not args.no_single_thread:
            configs.insert(counts.index(1) + 1, (1, 1))
        for workers, threads in configs:
            best = None
            for k in range(args.repeats):
                row = _run(en, ar, manifest, Path(tmp) / f"out-{workers}-{threads}-{k}", workers, threads)
                if best is None or row["wall_s"] < best["wall_s"]:
                    best = row
            rows.append(best)
    print(f"{n} document pairs ({args.copies} x {args.data}), {os.cpu_count()} CPU cores")
    print(f"{'workers':<24}{'docs':>6}{'wall s':>9}{'CPU s':>8}{'docs/s':>8}{'align s':>9}{'align docs/s':>14}"
          f"  peak RSS per worker (MB)")
    for r in rows:
        print(f"{r['label']:<24}{r['documents']:>6}{r['wall_s']:>9.1f}{r['cpu_s']:>8.1f}{r['docs_per_s']:>8.2f}"
              f"{r['align_s'] if r['align_s'] is not None else float('nan'):>9.1f}"
              f"{r['align_docs_per_s'] or float('nan'):>14.2f}  {', '.join(f'{m:.0f}' for m in r['peak_rss_mb'])}")
    ratios = {}
    singles = [r for r in rows if r["workers"] == 1]
    if singles and rows[-1]["workers"] > 1:  # against the faster single-process run
        many = rows[-1]
        one = max(singles, key=lambda r: r["docs_per_s"])
        ratios = {"against": one["label"], "whole_command": round(many["docs_per_s"] / one["docs_per_s"], 2),
                  "alignment": round(many["align_docs_per_s"] / max(r["align_docs_per_s"] for r in singles), 2)}
        print(f"{many['workers']} workers / 1 ({one['label']}): documents per second x{ratios['whole_command']} "
              f"(whole command), x{ratios['alignment']} (alignment alone, against the faster single run; "
              f"goal >= 1.6)")
    print(json.dumps({"documents": n, "cores": os.cpu_count(), "rows": rows, "ratio": ratios}))


if __name__ == "__main__":
    main()
