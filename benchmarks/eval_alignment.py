#!/usr/bin/env python3
"""Benchmark the sentence aligner (and the Gale–Church floor) on a gold-aligned set.

    python benchmarks/eval_alignment.py --data ../shared/eval/dev --out pred/dev \\
        [--encoder NAME] [--variants clean hard] [--limit N]

DATA holds ``sent/<id>.en`` and ``sent/<id>.ar`` (one alignment unit per line, used as
given), ``sent/<id>.gold`` (gold beads) and optionally ``manifest.json`` (its ``sent``
list gives each id's ``variant``; without it every document is in variant "all").
Predictions go to ``OUT/<id>.align`` and ``OUT/gale_church/<id>.align`` in the gold
format. Prints per-variant and overall strict / lax / unaligned-line P/R/F1 for both
systems, timings and the metric signature; the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
try:
    import aligner.evaluation  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(HERE.parent / "src"))

from aligner.evaluation import (  # noqa: E402
    AlignmentCounts,
    AlignmentMetric,
    AlignmentScore,
    format_beads,
    read_beads,
)
from gale_church import gale_church_align  # noqa: E402

VARIANT_ORDER = ["clean", "merges", "omissions", "hard"]


def read_units(path: Path) -> list[str]:
    """One unit per line; one trailing newline stripped, blank lines kept as units."""
    text = path.read_text(encoding="utf-8")
    if text.endswith("\n"):
        text = text[:-1]
    if text == "":
        return []
    return text.split("\n")


def load_variants(data: Path) -> dict[str, str]:
    path = data / "manifest.json"
    if not path.is_file():
        return {}
    manifest = json.loads(path.read_text(encoding="utf-8"))
    docs = manifest.get("sent", []) if isinstance(manifest, dict) else manifest
    return {d["id"]: d.get("variant", "unknown") for d in docs if isinstance(d, dict) and "id" in d}


def variant_order(names) -> list[str]:
    names = set(names)
    return [v for v in VARIANT_ORDER if v in names] + sorted(names - set(VARIANT_ORDER))


def fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def print_table(rows: list[tuple[str, str, AlignmentScore]]) -> None:
    header = (
        f"{'variant':<10} {'docs':>4} {'system':<12} | {'P_str':>6} {'R_str':>6} {'F1_str':>6} | "
        f"{'P_lax':>6} {'R_lax':>6} {'F1_lax':>6} | {'P_nul':>6} {'R_nul':>6} {'F1_nul':>6}"
    )
    print(header)
    print("-" * len(header))
    last_variant = None
    for variant, system, s in rows:
        if last_variant is not None and variant != last_variant:
            print()
        last_variant = variant
        print(
            f"{variant:<10} {s.n_docs:>4} {system:<12} | {fmt(s.strict_p):>6} {fmt(s.strict_r):>6} "
            f"{fmt(s.strict_f1):>6} | {fmt(s.lax_p):>6} {fmt(s.lax_r):>6} {fmt(s.lax_f1):>6} | "
            f"{fmt(s.null_p):>6} {fmt(s.null_r):>6} {fmt(s.null_f1):>6}"
        )


def score_dict(s: AlignmentScore) -> dict:
    d = s.as_dict()
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in d.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, type=Path, help="folder with sent/*.en|.ar|.gold and manifest.json")
    ap.add_argument("--out", required=True, type=Path, help="folder for the predicted <id>.align files")
    ap.add_argument("--encoder", default=None, help="encoder name (default: aligner.DEFAULT_ENCODER)")
    ap.add_argument("--variants", nargs="+", default=None, help="only these variants (from the manifest)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N documents (after --variants)")
    ap.add_argument("--gale-church-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    sent = args.data / "sent"
    if not sent.is_dir():
        ap.error(f"{sent} is not a folder")
    variants = load_variants(args.data)
    ids = sorted(p.name[: -len(".gold")] for p in sent.glob("*.gold"))
    ids = [i for i in ids if (sent / f"{i}.en").is_file() and (sent / f"{i}.ar").is_file()]
    doc_variant = {i: (variants.get(i, "unknown") if variants else "all") for i in ids}
    if args.variants:
        wanted = set(args.variants)
        ids = [i for i in ids if doc_variant[i] in wanted]
    if args.limit is not None:
        ids = ids[: args.limit]
    if not ids:
        print(f"no documents to score in {sent}", file=sys.stderr)
        return 1

    gc_dir = args.out / "gale_church"
    gc_dir.mkdir(parents=True, exist_ok=True)

    run_aligner = not args.gale_church_only
    al = None
    encoder_name = None
    load_s = 0.0
    if run_aligner:
        import aligner

        if not hasattr(aligner, "Aligner"):
            print("aligner.Aligner is not available (run with --gale-church-only for the floor alone)",
                  file=sys.stderr)
            return 2
        encoder_name = args.encoder or getattr(aligner, "DEFAULT_ENCODER", None)
        t0 = time.perf_counter()
        al = aligner.Aligner(encoder=encoder_name)
        load_s = time.perf_counter() - t0

    metric = AlignmentMetric()
    counts: dict[str, dict[str, AlignmentCounts]] = {"aligner": {}, "gale_church": {}}
    timing_sums: dict[str, float] = {}
    aligner_s = gc_s = 0.0
    t_start = time.perf_counter()
    for doc_id in ids:
        en = read_units(sent / f"{doc_id}.en")
        ar = read_units(sent / f"{doc_id}.ar")
        gold = read_beads(sent / f"{doc_id}.gold")

        if al is not None:
            t0 = time.perf_counter()
            doc = al.align_sentences(en, ar)
            aligner_s += time.perf_counter() - t0
            for key, value in (getattr(doc, "timings", None) or {}).items():
                if isinstance(value, (int, float)):
                    timing_sums[key] = timing_sums.get(key, 0.0) + float(value)
            pred = [(tuple(b.en), tuple(b.ar)) for b in doc.beads]
            (args.out / f"{doc_id}.align").write_text(format_beads(pred), encoding="utf-8")
            counts["aligner"][doc_id] = metric.compute(gold, pred)

        t0 = time.perf_counter()
        gc_pred = gale_church_align(en, ar)
        gc_s += time.perf_counter() - t0
        (gc_dir / f"{doc_id}.align").write_text(format_beads(gc_pred), encoding="utf-8")
        counts["gale_church"][doc_id] = metric.compute(gold, gc_pred)
    total_s = time.perf_counter() - t_start

    systems = ["aligner", "gale_church"] if run_aligner else ["gale_church"]
    # without a manifest every document is in variant "all": the ALL rows say it all
    groups = variant_order(doc_variant[i] for i in ids) if variants else []
    results: dict[str, dict[str, dict]] = {}
    rows: list[tuple[str, str, AlignmentScore]] = []
    for group in groups + ["ALL"]:
        members = ids if group == "ALL" else [i for i in ids if doc_variant[i] == group]
        for system in systems:
            s = metric.aggregate(counts[system][i] for i in members)
            rows.append((group, system, s))
            results.setdefault(system, {})[group] = score_dict(s)

    print(f"data: {args.data}  documents: {len(ids)}  predictions: {args.out}")
    if run_aligner:
        print(f"encoder: {encoder_name}")
    print_table(rows)
    print(
        "(strict/lax = Vecalign definitions: precision over all predicted beads incl. null beads, "
        "recall over non-null gold beads; *_nul = unaligned-line detection)"
    )
    seconds: dict[str, float] = {}
    if run_aligner:
        seconds["aligner_load"] = load_s
        seconds["aligner_total"] = aligner_s
        for key, value in sorted(timing_sums.items()):
            seconds[f"aligner_{key}"] = value
    seconds["gale_church_total"] = gc_s
    seconds["wall_total"] = total_s + load_s
    if run_aligner:
        parts = "  ".join(f"{k} {v:.2f}s" for k, v in sorted(timing_sums.items()))
        print(f"timing: aligner load {load_s:.2f}s, align_sentences {aligner_s:.2f}s ({parts or 'no timings'})")
    print(f"timing: gale-church {gc_s:.2f}s; wall total {total_s + load_s:.2f}s")
    signature = metric.signature()
    print(f"metric: {signature}")
    summary = {
        "aligner": results.get("aligner") if run_aligner else None,
        "gale_church": results["gale_church"],
        "encoder": encoder_name,
        "signature": signature,
        "seconds": {k: round(v, 4) for k, v in seconds.items()},
        "n_docs": len(ids),
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
