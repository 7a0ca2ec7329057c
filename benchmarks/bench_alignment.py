"""Alignment-search speed and memory, without encoding.

1. The longest document pair of a dev-format folder: median alignment time of
   ``--repeats`` runs (embeddings computed once beforehand).
2. Scaling: synthetic pairs of 1k, 5k, 20k and 50k lines per side, made by
   concatenating the folder's documents (their embeddings, cycled) — each size aligned
   in a fresh subprocess so its peak RSS is its own. The child holds the sentence
   embeddings and pools the runs as ``Aligner`` does (``pooled_runs``: all of them in
   memory up to ``Aligner.held_run_bytes``, a longer document's computed a block at a
   time), so the RSS is what aligning such a document costs, not a copy of every run.

Both align with the anchors of the sentences' texts (names and numbers, as ``Aligner``
passes them; cycled with the embeddings in the synthetic pairs).

    python benchmarks/bench_alignment.py --data ../shared/eval/dev [--sizes 1000,5000,20000,50000]

Prints a table; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _peak_rss_mb() -> float:
    """This process's peak RSS since it started: ``VmHWM`` (Linux), which exec resets.
    ``ru_maxrss`` is carried across exec from the forked parent's image, so a child of
    the 1.5 GB parent (encoders loaded) reported at least 1.5 GB whatever it aligned."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(npz: str, n: int) -> None:
    """Align the first n lines of the stored embeddings; print seconds and peak RSS."""
    from aligner.alignment import AlignmentConfig, align_runs
    from aligner.documents import Aligner
    from aligner.encoders.pooling import pooled_runs

    def normalised(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
        # A run's embedding: the normalised mean (= normalised sum) of its sentences'.
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return sums / np.where(norms == 0, 1, norms)

    z = np.load(npz)
    max_run = AlignmentConfig().max_run
    en, ar = (pooled_runs(z[side][:n], np.ones(n, np.int64), normalised, max_run, held_bytes=Aligner.held_run_bytes)
              for side in ("en", "ar"))
    en_len, ar_len = z["en_len"][:n], z["ar_len"][:n]
    anchors = {side: np.split(z[f"{side}_ids"], z[f"{side}_ends"][:n])[:n] for side in ("en", "ar")}
    t0 = time.perf_counter()
    beads = align_runs(en, ar, en_lengths=en_len, ar_lengths=ar_len, en_anchors=anchors["en"], ar_anchors=anchors["ar"])
    seconds = time.perf_counter() - t0
    rss_mb = _peak_rss_mb()
    print(json.dumps({"lines": n, "seconds": seconds, "peak_rss_mb": rss_mb, "beads": len(beads)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder in the dev set's format (sent/<id>.en|.ar)")
    ap.add_argument("--sizes", default="1000,5000,20000,50000", help="synthetic lines per side")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]))
        return

    import aligner
    from aligner.alignment import align_runs

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from eval_alignment import read_units

    al = aligner.Aligner()
    sent = Path(args.data) / "sent"
    docs = sorted(p.stem for p in sent.glob("*.en"))
    if not docs:
        sys.exit(f"{sent}: no *.en files")
    from aligner.text.anchors import shared_anchor_ids, side_anchors
    from aligner.text.normalization import normalize_for_encoding

    runs, lengths, keys = {}, {}, {}
    for d in docs:
        en, ar = read_units(sent / f"{d}.en"), read_units(sent / f"{d}.ar")
        runs[d] = (al.run_embeddings(en, "en"), al.run_embeddings(ar, "ar"))
        lengths[d] = (np.array([len(normalize_for_encoding(t, "en")) for t in en], np.float64),
                      np.array([len(normalize_for_encoding(t, "ar")) for t in ar], np.float64))
        keys[d] = (side_anchors([normalize_for_encoding(t, "en") for t in en], "en"),
                   side_anchors([normalize_for_encoding(t, "ar") for t in ar], "ar"))

    longest = max(docs, key=lambda d: len(runs[d][0][0]) * len(runs[d][1][0]))
    en_runs, ar_runs = runs[longest]
    longest_anchors = shared_anchor_ids(*keys[longest])
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        align_runs(en_runs, ar_runs, al.config, en_lengths=lengths[longest][0], ar_lengths=lengths[longest][1],
                   en_anchors=longest_anchors[0], ar_anchors=longest_anchors[1])
        times.append(time.perf_counter() - t0)
    longest_s = statistics.median(times)
    print(f"longest pair {longest}: {len(en_runs[0])} x {len(ar_runs[0])} lines, "
          f"alignment median {longest_s:.3f}s over {args.repeats} runs")

    sizes = [int(s) for s in args.sizes.split(",") if s]
    max_n = max(sizes)
    # Synthetic long pair: the dev documents' sentence embeddings concatenated (cycled),
    # run embeddings as normalised means (the search cost does not depend on how runs were pooled).
    en_sent = np.concatenate([np.asarray(runs[d][0][0]) for d in docs])
    ar_sent = np.concatenate([np.asarray(runs[d][1][0]) for d in docs])
    reps_en = -(-max_n // len(en_sent))
    reps_ar = -(-max_n // len(ar_sent))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        npz = str(Path(tmp) / "long.npz")
        en_len = np.tile(np.concatenate([lengths[d][0] for d in docs]), reps_en)[:max_n]
        ar_len = np.tile(np.concatenate([lengths[d][1] for d in docs]), reps_ar)[:max_n]
        en_keys = ([k for d in docs for k in keys[d][0]] * reps_en)[:max_n]
        ar_keys = ([k for d in docs for k in keys[d][1]] * reps_ar)[:max_n]
        # Each side's anchor ids flat, with each line's end (a line's ids: ids[ends[i-1]:ends[i]]).
        flat = {side: (np.array([i for line in ids for i in line], np.int64), np.cumsum([len(line) for line in ids]))
                for side, ids in zip(("en", "ar"), shared_anchor_ids(en_keys, ar_keys))}
        np.savez(npz, en=np.tile(en_sent, (reps_en, 1))[:max_n], ar=np.tile(ar_sent, (reps_ar, 1))[:max_n],
                 en_len=en_len, ar_len=ar_len, en_ids=flat["en"][0], en_ends=flat["en"][1],
                 ar_ids=flat["ar"][0], ar_ends=flat["ar"][1])
        for n in sizes:
            out = subprocess.run([sys.executable, __file__, "--data", args.data, "--child", npz, str(n)],
                                 check=True, capture_output=True, text=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'lines':>8} {'seconds':>9} {'peak RSS MB':>12}")
    for r in rows:
        print(f"{r['lines']:>8} {r['seconds']:>9.2f} {r['peak_rss_mb']:>12.0f}")
    by_n = {r["lines"]: r for r in rows}
    ratio = (by_n[20000]["seconds"] / by_n[5000]["seconds"]) if 20000 in by_n and 5000 in by_n else None
    if ratio is not None:
        print(f"time(20k) / time(5k) = {ratio:.2f} (linear: 4.0)")
    print(json.dumps({"longest_pair": longest, "longest_pair_seconds": round(longest_s, 4),
                      "scaling": rows, "ratio_20k_5k": ratio}))


if __name__ == "__main__":
    main()
