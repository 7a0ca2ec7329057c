#!/usr/bin/env python3
"""How content pairing scales: time and peak memory for 1,000 vs 10,000 documents a side.

    python benchmarks/bench_pairing_scale.py [--sizes 1000,10000] [--dim 512] [--keep DIR]

Synthetic documents keep the encoder out of the measurement: every sentence is a token
``E<id>`` / ``A<id>`` (plus filler words for its length) and a stand-in encoder maps it to
a fixed random vector, the two languages' versions of a sentence to noisy copies of one
latent vector (cosine about 0.7, like a translation under the default encoder), and the
sentences of a document share a topic direction (50 topics), so documents on one topic
look alike. An English report keeps 80-95% of its source's sentences in order and adds
0-2 lines of its own; 10% of the documents on each side have no partner. Everything else
is the real pipeline (:func:`aligner.pairing.content.pair_by_content`): reading and segmenting
files, document vectors, blocked nearest neighbours, alignment re-scoring, assignment.

Each size runs in a fresh process (peak RSS is that process's ``ru_maxrss``; the
``baseline`` column is its RSS after imports, before any document is read; CPU time is
the process's, which a busy machine inflates less than wall time). Prints a table, then
one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

try:
    import aligner  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

N_TOPICS = 50
DISTRACTORS = 0.10


class SyntheticEncoder:
    """``E<id>t<topic>`` / ``A<id>t<topic>`` -> a fixed random vector per id and language."""

    name = "synthetic"

    def __init__(self, dim: int = 512, noise: float = 0.65, topic_weight: float = 0.5):
        self.dim, self.noise, self.topic_weight = dim, noise, topic_weight
        self.settings = {"dim": dim, "noise": noise, "topic_weight": topic_weight}
        self._topics = np.random.default_rng(10**9).standard_normal((N_TOPICS, dim)).astype(np.float32)

    def encode(self, texts, *, batch_size=None):
        out = np.empty((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            head = text.split(" ", 1)[0]
            lang = 0 if head[0] == "E" else 1
            sid, topic = (int(x) for x in head[1:].split("t"))
            latent = np.random.default_rng(sid).standard_normal(self.dim)
            noise = np.random.default_rng([sid, lang]).standard_normal(self.dim)
            out[row] = latent + self.noise * noise + self.topic_weight * np.sqrt(self.dim) * self._topics[topic] / 8
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def make_documents(folder: Path, n: int, seed: int = 0) -> set[tuple[str, str]]:
    """n English and n Arabic documents; returns the true pairs (file names)."""
    rng = np.random.default_rng(seed)
    (folder / "en").mkdir(parents=True, exist_ok=True)
    (folder / "ar").mkdir(parents=True, exist_ok=True)
    n_pairs = n - int(round(n * DISTRACTORS))
    sid = 1
    gold = set()
    en_names = rng.permutation(n)
    ar_names = rng.permutation(n)

    def sentence(lang: str, k: int, topic: int) -> str:
        words = " ".join(["w"] * int(rng.integers(6, 25)))
        return f"{lang}{k}t{topic} {words}."

    for d in range(n):
        topic = int(rng.integers(N_TOPICS))
        n_sent = int(rng.integers(6, 15))
        ids = list(range(sid, sid + n_sent))
        sid += n_sent
        en_name, ar_name = f"en-{en_names[d]:06d}.txt", f"ar-{ar_names[d]:06d}.txt"
        if d < n_pairs:
            keep = [k for k in ids if rng.random() < 0.88] or ids[:1]
            own = list(range(sid, sid + int(rng.integers(0, 3))))
            sid += len(own)
            en_lines = [sentence("E", k, topic) for k in keep] + [sentence("E", k, topic) for k in own]
            ar_lines = [sentence("A", k, topic) for k in ids]
            gold.add((en_name, ar_name))
        else:  # distractors: an English and an Arabic document with no partner
            en_lines = [sentence("E", k, topic) for k in ids]
            other = list(range(sid, sid + n_sent))
            sid += n_sent
            ar_lines = [sentence("A", k, int(rng.integers(N_TOPICS))) for k in other]
        (folder / "en" / en_name).write_text("\n".join(en_lines) + "\n", encoding="utf-8")
        (folder / "ar" / ar_name).write_text("\n".join(ar_lines) + "\n", encoding="utf-8")
    return gold


def child(folder: Path, dim: int) -> None:
    """One measurement, in its own process: prints one JSON line."""
    from aligner import Aligner
    from aligner.pairing.content import pair_by_content

    al = Aligner(encoder=SyntheticEncoder(dim))
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gold = {tuple(line.split("\t")) for line in (folder / "gold.tsv").read_text().splitlines()}
    en = sorted((folder / "en").glob("*.txt"))
    ar = sorted((folder / "ar").glob("*.txt"))
    t0, c0 = time.perf_counter(), time.process_time()
    result = pair_by_content(en, ar, al, presplit=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    pred = {(p.en_path.name, p.ar_path.name) for p in result.pairs}
    tp = len(pred & gold)
    p, r = tp / max(len(pred), 1), tp / max(len(gold), 1)
    print(json.dumps({"documents_per_side": len(en), "sentences": sum(1 for f in en + ar for _ in open(f)),
                      "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                                                     / 1024, 1),
                      "baseline_rss_mb": round(baseline, 1), "candidate_pairs": result.stats["candidate_pairs"],
                      "timings": result.stats["timings"], "precision": round(p, 4), "recall": round(r, 4),
                      "f1": round(2 * p * r / max(p + r, 1e-9), 4)}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000", help="documents per side, comma-separated")
    ap.add_argument("--dim", type=int, default=512, help="embedding dimension of the stand-in encoder")
    ap.add_argument("--keep", type=Path, default=None, help="write the synthetic folders here and keep them")
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.dim)
        return 0

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        for n in (int(x) for x in args.sizes.split(",")):
            folder = base / f"docs-{n}"
            gold = make_documents(folder, n)
            (folder / "gold.tsv").write_text("".join(f"{e}\t{a}\n" for e, a in sorted(gold)), encoding="utf-8")
            env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
            proc = subprocess.run([sys.executable, __file__, "--child", str(folder), "--dim", str(args.dim)],
                                  capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"  {n} documents a side: {rows[-1]['wall_s']} s", file=sys.stderr)

    print(f"{'docs/side':>9} {'sentences':>9} {'candidates':>10} {'embed s':>8} {'retrieve s':>10} "
          f"{'rescore s':>9} {'total s':>8} {'CPU s':>7} {'ms/doc':>7} {'peak MB':>8} {'baseline MB':>11} {'F1':>6}")
    for r in rows:
        t = r["timings"]
        print(f"{r['documents_per_side']:>9} {r['sentences']:>9} {r['candidate_pairs']:>10} {t['embed_s']:>8} "
              f"{t['retrieve_s']:>10} {t['rescore_s']:>9} {r['wall_s']:>8} {r['cpu_s']:>7} "
              f"{1000 * r['wall_s'] / r['documents_per_side']:>7.2f} {r['peak_rss_mb']:>8} {r['baseline_rss_mb']:>11} "
              f"{r['f1']:>6}")
    out = {"rows": rows}
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        size = b["documents_per_side"] / a["documents_per_side"]
        out["growth"] = {"documents": round(size, 2), "time": round(b["wall_s"] / a["wall_s"], 2),
                         "cpu_time": round(b["cpu_s"] / a["cpu_s"], 2),
                         "memory_above_baseline": round((b["peak_rss_mb"] - b["baseline_rss_mb"])
                                                        / max(a["peak_rss_mb"] - a["baseline_rss_mb"], 1e-9), 2)}
        print(f"{size:g}x the documents: {out['growth']['time']}x the time ({out['growth']['cpu_time']}x the CPU time), "
              f"{out['growth']['memory_above_baseline']}x the memory above the baseline")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
