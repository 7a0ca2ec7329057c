#!/usr/bin/env python3
"""End-to-end time of ``aligner align`` on real folders, this checkout against an earlier
revision, in one benchmark run.

    python benchmarks/bench_pipeline.py --data ../shared/eval/dev/docs [--baseline-rev f61a51c]
        [--runs 3] [--no-score] [--encoder NAME]

Each run is a fresh ``aligner align DATA/en DATA/ar -o TMP --no-progress`` process (with
``--score`` unless ``--no-score``: pairing by content, alignment, scoring with e5, the
report), encoder loading included. The baseline is the same command from ``--baseline-rev``
(checked out into a temporary git worktree and run with its own ``src`` first on
``PYTHONPATH``). Runs of the two alternate (baseline, current, baseline, ...) so that a
busy machine slows both alike; medians of wall time and of CPU time (user + system of
the process, less sensitive to a busy machine) are compared. The current run's ``run.json``
gives the texts each encoder encoded (``timings.encoded_texts``) and the distinct
sentences of the inputs are counted here, so "each distinct sentence encoded once" is
checked, not assumed. The outputs of the two revisions are compared byte for byte
(``corpus.jsonl``, ``unaligned.jsonl``, ``rejected.jsonl``, ``report.md``, ``beads/``,
``pairs.tsv``). Prints a table; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPARED = ("corpus.jsonl", "unaligned.jsonl", "rejected.jsonl", "report.md", "pairs.tsv")


def _run(src: Path, data: Path, out: Path, score: bool, encoder: str | None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run."""
    cmd = [sys.executable, "-c", "from aligner.cli import main; main()", "align", str(data / "en"),
           str(data / "ar"), "-o", str(out), "--no-progress"] + (["--score"] if score else [])
    cmd += ["--encoder", encoder] if encoder else []
    env = {**os.environ, "PYTHONPATH": str(src)}
    t0, c0 = time.perf_counter(), _child_cpu()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - t0, _child_cpu() - c0
    if done.returncode not in (0, 1):  # 1: some document failed, still a run
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, cpu


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _distinct_sentences(data: Path) -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from aligner.text.normalization import normalize_for_encoding
    from aligner.text.segmentation import segment

    texts: set[str] = set()
    for lang in ("en", "ar"):
        for path in sorted((data / lang).glob("*.txt")):
            texts.update(normalize_for_encoding(s.text, lang) for s in segment(path.read_text(encoding="utf-8"), lang))
    return len(texts)


def _same_outputs(a: Path, b: Path, score: bool) -> bool:
    names = [n for n in COMPARED if score or n not in ("rejected.jsonl", "report.md")]
    if any(not filecmp.cmp(a / n, b / n, shallow=False) for n in names):
        return False
    diff = filecmp.dircmp(a / "beads", b / "beads")
    return not (diff.diff_files or diff.left_only or diff.right_only)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # so that the baseline worktree is removed (finally) when killed


def main() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="folder with en/ and ar/ (e.g. ../shared/eval/dev/docs)")
    ap.add_argument("--baseline-rev", default="f61a51c", help="git revision to compare with (default: before the "
                                                               "one-pass pipeline)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-score", action="store_true", help="align only (issue 14's measurement), no --score")
    ap.add_argument("--encoder", default=None, help="--encoder for both revisions (default: each one's own "
                                                     "default; 'use' compares the same encoder where the default "
                                                     "changed between them)")
    args = ap.parse_args()
    score = not args.no_score
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = tmp / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.baseline_rev],
                       check=True, capture_output=True)
        try:
            times: dict[str, list[float]] = {"baseline": [], "current": []}
            cpu: dict[str, list[float]] = {"baseline": [], "current": []}
            for k in range(args.runs):
                for name, src in (("baseline", base / "src"), ("current", ROOT / "src")):
                    out = tmp / f"{name}-{k}"
                    wall, used = _run(src, args.data, out, score, args.encoder)
                    times[name].append(wall)
                    cpu[name].append(used)
                    print(f"run {k + 1} {name:8s} {wall:7.1f} s wall {used:7.1f} s CPU", flush=True)
            run = json.loads((tmp / "current-0" / "run.json").read_text(encoding="utf-8"))
            same = _same_outputs(tmp / "baseline-0", tmp / "current-0", score)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], capture_output=True)
    median = {k: statistics.median(v) for k, v in times.items()}
    median_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    ratio = median["current"] / median["baseline"]
    cpu_ratio = median_cpu["current"] / median_cpu["baseline"]
    encoded = run["timings"].get("encoded_texts", {})
    distinct = _distinct_sentences(args.data)
    print()
    print(f"aligner align {'--score ' if score else ''}{f'--encoder {args.encoder} ' if args.encoder else ''}"
          f"on {args.data} ({args.runs} runs each, medians)")
    print(f"{'':10s} {'wall s':>8s} {'CPU s':>8s}  runs (wall)")
    for name in ("baseline", "current"):
        print(f"{name:10s} {median[name]:8.1f} {median_cpu[name]:8.1f}  {', '.join(f'{t:.1f}' for t in times[name])}")
    print(f"ratio current / baseline: {ratio:.2f} wall, {cpu_ratio:.2f} CPU")
    print(f"distinct sentences in the inputs: {distinct}; texts encoded (run.json): {encoded}; "
          f"files read {run['timings'].get('files_read')} (again: {run['timings'].get('files_read_again')})")
    print(f"outputs identical to the baseline's: {same}")
    print(json.dumps({"score": score, "encoder": args.encoder, "baseline_rev": args.baseline_rev, "runs": args.runs,
                      "baseline_s": round(median["baseline"], 2), "current_s": round(median["current"], 2),
                      "ratio": round(ratio, 3), "baseline_cpu_s": round(median_cpu["baseline"], 2),
                      "current_cpu_s": round(median_cpu["current"], 2), "cpu_ratio": round(cpu_ratio, 3),
                      "distinct_sentences": distinct, "encoded_texts": encoded,
                      "files_read": run["timings"].get("files_read"), "outputs_identical": same}))


if __name__ == "__main__":
    main()
