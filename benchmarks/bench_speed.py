#!/usr/bin/env python3
"""End-to-end speed and accuracy: our pipeline vs the Bertalign baseline, same encoder.

    python benchmarks/bench_speed.py --data ../shared/eval/dev [--quick] [--runs 3] [--threads N]

One process, one shared ``aligner.Aligner()`` (built before any timing; its encoder
object is the one the Bertalign baseline uses too). Each run aligns every selected
document pair with both systems (the order of the two systems alternates between runs)
and times, per system and document:

* encode / align: our ``doc.timings``; the baseline's own split (``bertalign_baseline``:
  encode = normalisation + overlap texts + encoding every distinct overlap once,
  align = top-k search + both dynamic programmes);
* other: whatever else the call took (segmentation is none here: input is one unit per
  line, used as given) plus "writing" — formatting the beads with
  ``evaluation.format_beads`` and writing ``<id>.align`` to a temporary folder.

Neither system keeps embeddings between runs: ours has no cache (an ``Aligner`` with a
``clear_cache()`` method gets it called before every run), the baseline's cache is a
fresh dict per document call. A small warm-up (one short document, both systems) runs
before the timed runs so that one-off costs (thread pools, first-call allocations) land
on neither. Strict / lax / unaligned-line F1 are computed from each run's own
predictions. Medians over runs are reported; the last line printed is one JSON object.

``--quick``: 2 documents per variant (the first two ids of each), for a run that fits in
about two minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
try:
    import aligner.evaluation  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(HERE.parent / "src"))

from aligner.evaluation import AlignmentMetric, format_beads, read_beads  # noqa: E402
from aligner.text.normalization import normalize_for_encoding  # noqa: E402
from bertalign_baseline import DEFAULTS as BERTALIGN_DEFAULTS, _overlaps, bertalign_align  # noqa: E402
from eval_alignment import load_variants, read_units, variant_order  # noqa: E402

SYSTEMS = ("ours", "bertalign")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def select_docs(data: Path, quick: bool, limit: int | None) -> tuple[list[str], dict[str, str]]:
    sent = data / "sent"
    variants = load_variants(data)
    ids = sorted(p.name[: -len(".gold")] for p in sent.glob("*.gold"))
    ids = [i for i in ids if (sent / f"{i}.en").is_file() and (sent / f"{i}.ar").is_file()]
    doc_variant = {i: variants.get(i, "all") for i in ids}
    if quick:
        picked: list[str] = []
        for v in variant_order(doc_variant.values()):
            picked += [i for i in ids if doc_variant[i] == v][:2]
        ids = picked
    if limit is not None:
        ids = ids[:limit]
    return ids, doc_variant


def run_ours(al, docs, out_dir: Path) -> tuple[dict[str, float], dict[str, list]]:
    t = {"encode": 0.0, "align": 0.0, "other": 0.0, "total": 0.0}
    preds = {}
    for doc_id, en, ar in docs:
        t0 = time.perf_counter()
        doc = al.align_sentences(en, ar)
        t1 = time.perf_counter()
        pred = [(tuple(b.en), tuple(b.ar)) for b in doc.beads]
        (out_dir / f"{doc_id}.align").write_text(format_beads(doc.beads), encoding="utf-8")
        t2 = time.perf_counter()
        enc, aln = float(doc.timings.get("encode", 0.0)), float(doc.timings.get("align", 0.0))
        t["encode"] += enc
        t["align"] += aln
        t["other"] += (t1 - t0 - enc - aln) + (t2 - t1)
        t["total"] += t2 - t0
        preds[doc_id] = pred
    return t, preds


def run_bertalign(encoder, docs, out_dir: Path) -> tuple[dict[str, float], dict[str, list]]:
    t = {"encode": 0.0, "align": 0.0, "other": 0.0, "total": 0.0, "texts_encoded": 0}
    preds = {}
    for doc_id, en, ar in docs:
        t0 = time.perf_counter()
        beads, tim = bertalign_align(en, ar, encoder, cache={})
        t1 = time.perf_counter()
        (out_dir / f"{doc_id}.align").write_text(format_beads(beads), encoding="utf-8")
        t2 = time.perf_counter()
        t["encode"] += tim["encode"]
        t["align"] += tim["align"]
        t["other"] += (t1 - t0 - tim["encode"] - tim["align"]) + (t2 - t1)
        t["total"] += t2 - t0
        t["texts_encoded"] += tim["texts_encoded"]
        preds[doc_id] = beads
    return t, preds


def scores(metric: AlignmentMetric, golds: dict, preds: dict, ids: list[str], doc_variant: dict) -> dict:
    out = {}
    for group in variant_order(doc_variant[i] for i in ids) + ["ALL"]:
        members = [i for i in ids if group == "ALL" or doc_variant[i] == group]
        s = metric.aggregate(metric.compute(golds[i], preds[i]) for i in members)
        out[group] = {"strict_f1": s.strict_f1, "lax_f1": s.lax_f1, "null_f1": s.null_f1, "n_docs": s.n_docs}
    return out


def encoding_volume(docs, encoder) -> dict[str, dict[str, int]]:
    """Texts (and tokens, when the encoder can tokenize) each system sends to the encoder
    over the documents: ours the distinct normalised sentences of each side, the baseline
    the distinct overlaps of both sides (computed untimed, after the runs)."""
    max_run = BERTALIGN_DEFAULTS["max_align"] - 1
    ours: list[str] = []
    bert: list[str] = []
    for _, en, ar in docs:
        en_n = [normalize_for_encoding(t, "en") for t in en]
        ar_n = [normalize_for_encoding(t, "ar") for t in ar]
        ours += list(dict.fromkeys(en_n)) + list(dict.fromkeys(ar_n))
        bert += list(dict.fromkeys(t for side in (en_n, ar_n) for level in _overlaps(side, max_run) for t in level))
    out = {"ours": {"texts": len(ours)}, "bertalign": {"texts": len(bert)}}
    if hasattr(encoder, "tokenize"):
        out["ours"]["tokens"] = sum(map(len, encoder.tokenize(ours)))
        out["bertalign"]["tokens"] = sum(map(len, encoder.tokenize(bert)))
    return out


def fmt(x) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, type=Path, help="folder with sent/*.en|.ar|.gold (+ manifest.json)")
    ap.add_argument("--quick", action="store_true", help="2 documents per variant")
    ap.add_argument("--runs", type=int, default=3, help="timed runs (>= 3 recommended; medians reported)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N selected documents")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's own)")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be >= 1")

    import torch

    import aligner

    if args.threads:
        torch.set_num_threads(args.threads)
    ids, doc_variant = select_docs(args.data, args.quick, args.limit)
    if not ids:
        print(f"no documents in {args.data / 'sent'}", file=sys.stderr)
        return 1
    sent = args.data / "sent"
    docs = [(i, read_units(sent / f"{i}.en"), read_units(sent / f"{i}.ar")) for i in ids]
    golds = {i: read_beads(sent / f"{i}.gold") for i in ids}

    t0 = time.perf_counter()
    al = aligner.Aligner()
    load_s = time.perf_counter() - t0
    encoder = al.encoder

    # Warm-up on the shortest document, untimed, both systems.
    short = min(docs, key=lambda d: len(d[1]) + len(d[2]))
    al.align_sentences(short[1], short[2])
    bertalign_align(short[1], short[2], encoder, cache={})

    metric = AlignmentMetric()
    runs: list[dict] = []
    f1: dict[str, list[dict]] = {s: [] for s in SYSTEMS}
    with tempfile.TemporaryDirectory(prefix="bench_speed_") as tmp:
        for r in range(args.runs):
            if hasattr(al, "clear_cache"):
                al.clear_cache()
            order = SYSTEMS if r % 2 == 0 else SYSTEMS[::-1]
            run: dict[str, dict] = {}
            for system in order:
                out_dir = Path(tmp) / f"run{r}" / system
                out_dir.mkdir(parents=True)
                if system == "ours":
                    t, preds = run_ours(al, docs, out_dir)
                else:
                    t, preds = run_bertalign(encoder, docs, out_dir)
                run[system] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in t.items()}
                f1[system].append(scores(metric, golds, preds, ids, doc_variant))
            run["order"] = list(order)
            runs.append(run)
            print(f"run {r + 1}/{args.runs}: ours {run['ours']['total']:.2f}s, "
                  f"bertalign {run['bertalign']['total']:.2f}s", file=sys.stderr)

    def med(system: str, key: str) -> float:
        return statistics.median(run[system][key] for run in runs)

    medians = {s: {k: med(s, k) for k in ("encode", "align", "other", "total")} for s in SYSTEMS}
    speedup = medians["bertalign"]["total"] / medians["ours"]["total"]
    share = statistics.median((run["ours"]["total"] - run["ours"]["encode"]) / run["ours"]["total"] for run in runs)
    stable = {s: all(x == f1[s][0] for x in f1[s]) for s in SYSTEMS}
    final = {s: f1[s][-1] for s in SYSTEMS}

    volume = encoding_volume(docs, encoder)
    threads = torch.get_num_threads()
    print(f"data: {args.data}  documents: {len(ids)}{' (quick)' if args.quick else ''}  runs: {args.runs}  "
          f"encoder: {al.encoder_name}  torch threads: {threads}  cpu: {cpu_model()} x{os.cpu_count()}")
    header = (f"{'system':<10} | {'encode s':>8} {'align s':>8} {'other s':>8} {'total s':>8} | "
              f"{'F1_str':>6} {'F1_lax':>6} {'F1_nul':>6}")
    print(header)
    print("-" * len(header))
    for s in SYSTEMS:
        m, a = medians[s], final[s]["ALL"]
        print(f"{s:<10} | {m['encode']:>8.2f} {m['align']:>8.2f} {m['other']:>8.2f} {m['total']:>8.2f} | "
              f"{fmt(a['strict_f1']):>6} {fmt(a['lax_f1']):>6} {fmt(a['null_f1']):>6}")
    print(f"(medians of {args.runs} runs; other = segmentation (none: presplit) + call overhead + writing)")
    print(f"speedup vs Bertalign (total): {speedup:.2f}x   encode: "
          f"{medians['bertalign']['encode'] / max(medians['ours']['encode'], 1e-9):.2f}x   "
          f"our non-encoding share: {share:.3f}")
    print("encoded: " + "  ".join(f"{s} {v['texts']} texts" + (f" / {v['tokens']} tokens" if "tokens" in v else "")
                                  for s, v in volume.items()))
    groups = [g for g in final["ours"] if g != "ALL"]
    if groups:
        print("strict F1 by variant: " + "  ".join(
            f"{g} {fmt(final['ours'][g]['strict_f1'])}/{fmt(final['bertalign'][g]['strict_f1'])}" for g in groups)
              + "  (ours/bertalign)")
    if not all(stable.values()):
        print(f"warning: F1 differed between runs: {stable}", file=sys.stderr)

    summary = {
        "speedup_vs_bertalign": round(speedup, 4),
        "f1_strict": round(final["ours"]["ALL"]["strict_f1"], 4),
        "f1_strict_bertalign": round(final["bertalign"]["ALL"]["strict_f1"], 4),
        "f1_lax": round(final["ours"]["ALL"]["lax_f1"], 4),
        "f1_lax_bertalign": round(final["bertalign"]["ALL"]["lax_f1"], 4),
        "f1_null": final["ours"]["ALL"]["null_f1"],
        "f1_null_bertalign": final["bertalign"]["ALL"]["null_f1"],
        "alignment_share": round(share, 4),
        "median_s": {s: {k: round(v, 4) for k, v in medians[s].items()} for s in SYSTEMS},
        "f1_by_variant": final,
        "f1_same_every_run": stable,
        "encoding_volume": volume,
        "runs": runs,
        "docs": ids,
        "n_docs": len(ids),
        "quick": args.quick,
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "encoder": al.encoder_name,
        "bertalign_settings": BERTALIGN_DEFAULTS,
        "aligner_load_s": round(load_s, 3),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
