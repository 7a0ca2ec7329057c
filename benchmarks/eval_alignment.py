#!/usr/bin/env python3
"""Benchmark the sentence aligner (and the Gale–Church floor) on a gold-aligned set.

    python benchmarks/eval_alignment.py --data ../shared/eval/dev --out pred/dev \\
        [--encoder NAME] [--variants clean hard] [--limit N] [--config KEY=VALUE ...]
    python benchmarks/eval_alignment.py --raw --data ../shared/eval/dev-e2e --out pred/e2e

DATA holds ``sent/<id>.en`` and ``sent/<id>.ar`` (one alignment unit per line, used as
given), ``sent/<id>.gold`` (gold beads) and optionally ``manifest.json`` (its ``sent``
list gives each id's ``variant``; without it every document is in variant "all").
Predictions go to ``OUT/<id>.align`` and ``OUT/gale_church/<id>.align`` in the gold
format. Prints per-variant and overall strict / lax / unaligned-line P/R/F1 for both
systems, timings and the metric signature; the last line printed is one JSON object.

``--config KEY=VALUE`` (repeatable) sets any ``AlignmentConfig`` field for this run.

``--raw``: DATA is a raw-text set (``docs/en|ar/<id>.txt`` with paragraphs,
``gold/<id>.gold`` over paragraph indices, ``manifest.json`` with ``docs``). The aligner
segments the text, its beads are mapped to paragraphs (``aligner.evaluation.
paragraph_beads``) and written to ``OUT/<id>.align`` with paragraph indices, and link
P/R/F1 and unaligned-paragraph P/R/F1 are printed with ``score_e2e.py``'s definitions;
the last line is ``{"ALL": {"link_f1": .., "unaligned_f1": ..}, "<variant>": ..., ...}``.

Both modes also print the evidence check: the 90th percentile of the centred cosine of
random unrelated sentence pairs (an English sentence of one document, an Arabic one of
another) and how many aligned beads have a centred cosine below it (and, where the gold
is over sentences, how many gold beads do: the share a perfect aligner would have).

When the manifest records moved blocks (``dev-reorder``: ``moves`` and ``en_order`` per
document), the share of moved English lines with a counterpart whose predicted bead is
exactly their gold bead is printed too (``moved`` in the JSON line), with the number of
beads the aligner marked moved.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
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
from aligner.text.segmentation import Sentence  # noqa: E402
from gale_church import gale_church_align  # noqa: E402
from evalsets import centred_bead_cosines, load_raw_set, read_units, predicted_units, unrelated_p90  # noqa: E402
from tune_alignment import parse_assignments  # noqa: E402

VARIANT_ORDER = ["clean", "merges", "omissions", "hard"]


def load_moves(data: Path) -> dict[str, list[int]]:
    """Each document's moved English lines (numbered as in its ``.en`` file) from a
    manifest that records moves (``moves[].source_en_lines`` in the source's numbering,
    ``en_order[k]``: the source line now at line k); empty when it records none."""
    path = data / "manifest.json"
    if not path.is_file():
        return {}
    manifest = json.loads(path.read_text(encoding="utf-8"))
    docs = manifest.get("sent", []) if isinstance(manifest, dict) else manifest
    out = {}
    for d in docs:
        if isinstance(d, dict) and d.get("moves") and d.get("en_order"):
            where = {source: k for k, source in enumerate(d["en_order"])}
            out[d["id"]] = sorted(where[s] for move in d["moves"] for s in move["source_en_lines"])
    return out


def moved_check(moves: dict[str, list[int]], golds: dict, preds: dict, marked: int) -> dict:
    """Moved English lines that have a counterpart in the gold, and how many of them the
    aligner put in exactly their gold bead."""
    lines = exact = 0
    for doc_id, moved in moves.items():
        if doc_id not in preds:
            continue
        gold_of = {i: (e, a) for e, a in golds[doc_id] for i in e}
        pred_of = {i: (e, a) for e, a in preds[doc_id] for i in e}
        for i in moved:
            if gold_of[i][1]:
                lines += 1
                exact += pred_of.get(i) == gold_of[i]
    out = {"lines_with_counterpart": lines, "aligned_exactly": exact,
           "share": round(exact / lines, 6) if lines else None, "beads_marked_moved": marked}
    if lines:
        print(f"moved lines: {exact} of {lines} with a counterpart aligned exactly ({exact / lines:.1%}); "
              f"beads marked moved: {marked}")
    return out


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
    ap.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                    help="set an AlignmentConfig field (repeatable), e.g. --config max_side=6")
    ap.add_argument("--raw", action="store_true",
                    help="DATA is a raw-text set (docs/en|ar/<id>.txt, gold/<id>.gold with paragraph indices)")
    ap.add_argument("--gale-church-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    overrides = parse_assignments(args.config)
    if args.raw:
        return run_raw(args, overrides)

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
        al = aligner.Aligner(encoder=encoder_name, config=replace(aligner.AlignmentConfig(), **overrides))
        load_s = time.perf_counter() - t0

    metric = AlignmentMetric()
    counts: dict[str, dict[str, AlignmentCounts]] = {"aligner": {}, "gale_church": {}}
    encoded: list[tuple] = []  # (en runs, ar runs, beads, gold) per document, for the evidence check
    golds: dict = {}
    preds: dict = {}
    marked = 0
    timing_sums: dict[str, float] = {}
    aligner_s = gc_s = 0.0
    t_start = time.perf_counter()
    for doc_id in ids:
        en = read_units(sent / f"{doc_id}.en")
        ar = read_units(sent / f"{doc_id}.ar")
        gold = read_beads(sent / f"{doc_id}.gold")

        if al is not None:
            t0 = time.perf_counter()
            en_side = al.encode([Sentence(t, 0, k + 1) for k, t in enumerate(en)], "en")
            ar_side = al.encode([Sentence(t, 0, k + 1) for k, t in enumerate(ar)], "ar")
            t1 = time.perf_counter()
            doc = al.align_encoded(en_side, ar_side)
            aligner_s += time.perf_counter() - t0
            timing_sums["encode"] = timing_sums.get("encode", 0.0) + t1 - t0
            timing_sums["align"] = timing_sums.get("align", 0.0) + doc.timings["align"]
            encoded.append((en_side.runs, ar_side.runs, doc.beads, gold))
            pred = [(tuple(b.en), tuple(b.ar)) for b in doc.beads]
            golds[doc_id], preds[doc_id] = [(tuple(e), tuple(a)) for e, a in gold], pred
            marked += sum(b.moved for b in doc.beads)
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
    evidence = evidence_check(encoded) if run_aligner else None
    moved = moved_check(load_moves(args.data), golds, preds, marked) if run_aligner else None
    summary = {
        "aligner": results.get("aligner") if run_aligner else None,
        "gale_church": results["gale_church"],
        "encoder": encoder_name,
        "signature": signature,
        "seconds": {k: round(v, 4) for k, v in seconds.items()},
        "n_docs": len(ids),
        "evidence": evidence,
        "moved": moved if moved and moved["lines_with_counterpart"] else None,
        "config": al.config.to_dict() if al is not None else None,
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def evidence_check(encoded: list[tuple]) -> dict:
    """Aligned beads whose centred cosine is below the 90th percentile of random
    unrelated sentence pairs (from other documents): pairs made without evidence."""
    from aligner.documents import EncodedSide

    from aligner.alignment import Bead

    sides = [(EncodedSide([], x[0], None, None), EncodedSide([], x[1], None, None)) for x in encoded]
    p90 = unrelated_p90(sides)
    cos = [c for en, ar, beads, *_ in encoded for c in centred_bead_cosines(en, ar, beads)]
    below = sum(1 for c in cos if c < p90)
    out = {"unrelated_p90": round(p90, 6), "aligned_beads": len(cos), "below_p90": below,
           "share_below_p90": round(below / len(cos), 6) if cos else 0.0}
    print(f"evidence: 90th percentile of unrelated pairs' centred cosine {p90:.3f}; "
          f"aligned beads below it: {below} of {len(cos)} ({out['share_below_p90']:.2%})")
    gold = [c for en, ar, _, g, *_ in (x for x in encoded if len(x) > 3)
            for c in centred_bead_cosines(en, ar, [Bead(tuple(e), tuple(a)) for e, a in g
                                                   if 0 < len(e) <= len(en) and 0 < len(a) <= len(ar)])]
    if gold:
        gold_below = sum(1 for c in gold if c < p90)
        out.update(gold_beads=len(gold), gold_below_p90=gold_below, gold_share_below_p90=round(gold_below / len(gold), 6))
        print(f"          gold beads below it: {gold_below} of {len(gold)} ({gold_below / len(gold):.2%}; "
              f"what an aligner that found every gold bead would have)")
    return out


def run_raw(args, overrides: dict) -> int:
    """Raw-text mode: segment, align, map to paragraphs, score links."""
    import aligner
    from aligner.evaluation import LinkMetric

    data = args.data
    if not ((data / "docs" / "en").is_dir() and (data / "gold").is_dir() and (data / "manifest.json").is_file()):
        print(f"{data}: not a raw-text set (needs docs/en, docs/ar, gold/ and manifest.json)", file=sys.stderr)
        return 1
    docs = load_raw_set(data)
    if args.variants:
        docs = [d for d in docs if d.variant in set(args.variants)]
    if args.limit is not None:
        docs = docs[: args.limit]
    if not docs:
        print(f"no documents to score in {data}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    encoder_name = args.encoder or aligner.DEFAULT_ENCODER
    t0 = time.perf_counter()
    al = aligner.Aligner(encoder=encoder_name, config=replace(aligner.AlignmentConfig(), **overrides))
    load_s = time.perf_counter() - t0
    metric = LinkMetric()
    counts, encoded, timing = {}, [], {"encode": 0.0, "align": 0.0}
    t_start = time.perf_counter()
    for d in docs:
        t0 = time.perf_counter()
        en, ar = al.encode(d.en, "en"), al.encode(d.ar, "ar")
        t1 = time.perf_counter()
        doc = al.align_encoded(en, ar)
        timing["encode"] += t1 - t0
        timing["align"] += time.perf_counter() - t1
        encoded.append((en.runs, ar.runs, doc.beads))
        pred = predicted_units(d, doc.beads)
        (args.out / f"{d.doc_id}.align").write_text(format_beads(pred), encoding="utf-8")
        counts[d.doc_id] = metric.compute(d.gold, pred, d.n_en_par, d.n_ar_par)
    total_s = time.perf_counter() - t_start
    groups = variant_order(d.variant for d in docs)
    results = {}
    print(f"data: {data}  documents: {len(docs)}  predictions: {args.out}  (raw text, paragraph level)")
    print(f"encoder: {encoder_name}")
    header = f"{'variant':<10} {'docs':>4} | {'P_link':>6} {'R_link':>6} {'F1_lnk':>6} | {'P_una':>6} {'R_una':>6} {'F1_una':>6}"
    print(header)
    print("-" * len(header))
    for group in groups + ["ALL"]:
        members = [d for d in docs if group == "ALL" or d.variant == group]
        s = metric.aggregate(counts[d.doc_id] for d in members)
        results[group] = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in s.as_dict().items()}
        print(f"{group:<10} {s.n_docs:>4} | {fmt(s.link_p):>6} {fmt(s.link_r):>6} {fmt(s.link_f1):>6} | "
              f"{fmt(s.unaligned_p):>6} {fmt(s.unaligned_r):>6} {fmt(s.unaligned_f1):>6}")
    print("(link = (en_par, ar_par) pairs inside non-null beads; una = paragraphs touched by no non-null bead; "
          "micro-averaged, as ../shared/eval/score_e2e.py)")
    print(f"timing: aligner load {load_s:.2f}s, encode {timing['encode']:.2f}s, align {timing['align']:.2f}s")
    evidence = evidence_check(encoded)
    print(f"metric: {metric.signature()}")
    summary = {"ALL": {"link_f1": results["ALL"]["link_f1"], "unaligned_f1": results["ALL"]["unaligned_f1"]}}
    summary.update({g: results[g] for g in groups})
    summary["scores"] = results
    summary.update({"encoder": encoder_name, "signature": metric.signature(), "evidence": evidence,
                    "config": al.config.to_dict(), "n_docs": len(docs),
                    "seconds": {"aligner_load": round(load_s, 4), "aligner_encode": round(timing["encode"], 4),
                                "aligner_align": round(timing["align"], 4), "wall_total": round(total_s + load_s, 4)}})
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
