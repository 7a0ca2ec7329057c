#!/usr/bin/env python3
"""Measure the quality scores on gold true pairs against hard negatives.

    python benchmarks/eval_scores.py --data ../shared/eval/dev [--encoder NAME] [--no-e5] [--limit N]

DATA holds ``sent/<id>.en`` and ``sent/<id>.ar`` (one unit per line) and ``sent/<id>.gold``
(gold beads, ``[0]:[0]``, ``[1, 2]:[3]``, ``[4]:[]``), as the dev set does. From each
document's gold (:func:`aligner.scoring.calibration.build_candidates`, seed 0): every gold pair,
and as negatives neighbour shifts (English side with the previous / next pair's Arabic
side), a partial sentence paired with a full one, a random pair from the same document,
and a copy (one side on both sides). Each candidate is scored against its document as a
corpus holds it (the gold pairs and the unaligned lines).

Prints, for every score, ROC-AUC of true pairs against each kind of negative and against
all of them, and at the score's default threshold the share of gold pairs kept, the
share of negatives rejected and precision / recall; then timings and signatures. The
last line is one JSON object: ``{"quality": {"roc_auc_neighbour": ..., "gold_kept": ...,
"negatives_rejected": ..., ...}, "<score>": {...}, ...}``.

The shipped quality model is fitted (scripts/fit_quality.py) on the project's own texts and
on the dev set's gold pairs with the same kinds of negatives drawn by the same code: on
the dev set these figures are in-sample for its few coefficients; the fit script prints
the cross-validated (held-out documents) figures beside them.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
try:
    import aligner  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from aligner import Aligner  # noqa: E402
from aligner.scoring.calibration import EVAL_KINDS, build_candidates  # noqa: E402
from aligner.evaluation import read_beads  # noqa: E402
from aligner.scoring import Scorer  # noqa: E402
from fit_quality import roc_auc  # noqa: E402


def read_units(path: Path) -> list[str]:
    """One unit per line; one trailing newline stripped."""
    text = path.read_text(encoding="utf-8")
    if text.endswith("\n"):
        text = text[:-1]
    return text.split("\n") if text else []


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="folder with sent/<id>.en|.ar|.gold")
    ap.add_argument("--encoder", default="use-multilingual-v3")
    ap.add_argument("--e5", dest="e5", action="store_true", default=True,
                    help="score with the e5 second opinion, as `aligner score` does by default (the default)")
    ap.add_argument("--no-e5", dest="e5", action="store_false",
                    help="score as `aligner score --no-e5` does: USE only, the fast quality model")
    ap.add_argument("--limit", type=int, default=None, help="first N documents only")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    golds = sorted((args.data / "sent").glob("*.gold"))[: args.limit]
    if not golds:
        raise SystemExit(f"no sent/*.gold under {args.data}")
    rng = random.Random(args.seed)
    labelled = []
    for gold in golds:
        en = read_units(gold.with_suffix(".en"))
        ar = read_units(gold.with_suffix(".ar"))
        labelled.append(build_candidates(gold.stem, en, ar, read_beads(gold), rng, kinds=EVAL_KINDS))
    kinds = np.array([k for ld in labelled for k in ld.kinds])

    t0 = time.perf_counter()
    encoder = Aligner(args.encoder).encoder
    t1 = time.perf_counter()
    scorer = Scorer(encoder, e5=args.e5)
    scored = scorer.score_documents([ld.document for ld in labelled])
    t2 = time.perf_counter()

    true = kinds == "true"
    neg = ~true
    columns = dict(scored.scores)
    columns["quality"] = scored.quality
    metrics = scorer.metric_by_name
    results: dict[str, dict] = {}
    print(f"{len(golds)} documents: {int(true.sum())} gold pairs, " + ", ".join(
        f"{int((kinds == k).sum())} {k}" for k in EVAL_KINDS) + " negatives")
    print()
    header = (f"{'score':<14} " + " ".join(f"{'AUC ' + k[:5]:>10}" for k in EVAL_KINDS)
              + f" {'AUC all':>8} | {'threshold':>10} {'kept':>6} {'rejected':>8} {'P':>6} {'R':>6}")
    print(header)
    print("-" * len(header))
    for name, values in columns.items():
        values = np.asarray(values, np.float64)
        metric = metrics.get(name)  # None: quality
        oriented = values if metric is None else metric.evidence(values)  # length_ratio: -|z|
        filled = np.where(np.isnan(oriented), np.nanmedian(oriented[true]) if np.any(~np.isnan(oriented[true]))
                          else 0.0, oriented)
        aucs = {k: roc_auc(filled[true], filled[kinds == k]) for k in EVAL_KINDS}
        auc_all = roc_auc(filled[true], filled[neg])
        if metric is None:  # quality
            threshold = 0.5
            accepted = values >= threshold
        else:
            threshold = metric.default_threshold
            accepted = metric.accept(values)
        kept = float(accepted[true].mean())
        rejected = float((~accepted[neg]).mean())
        tp, fp = int((accepted & true).sum()), int((accepted & neg).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        op = ">=" if metric is None else metric.threshold_op.replace(" ", "")
        thr = "-" if threshold is None else f"{op}{threshold:g}"
        print(f"{name:<14} " + " ".join(f"{aucs[k]:>10.3f}" for k in EVAL_KINDS)
              + f" {auc_all:>8.3f} | {thr:>10} {kept:>6.3f} {rejected:>8.3f} {precision:>6.3f} {kept:>6.3f}")
        results[name] = {"roc_auc_" + k: round(aucs[k], 4) for k in EVAL_KINDS}
        results[name].update({"roc_auc_all": round(auc_all, 4), "threshold": threshold, "gold_kept": round(kept, 4),
                              "negatives_rejected": round(rejected, 4),
                              "negatives_rejected_by_kind": {k: round(float((~accepted[kinds == k]).mean()), 4)
                                                             for k in EVAL_KINDS},
                              "precision": round(precision, 4), "recall": round(kept, 4)})
    # How the quality threshold trades gold kept against negatives rejected (for reading
    # the default, not for choosing it: the model is calibrated on the project's own texts).
    q = scored.quality
    sweep = {}
    for keep in (0.90, 0.95, 0.98):
        t = float(np.quantile(q[true], 1 - keep))
        sweep[f"keep_{keep:g}"] = {"threshold": round(t, 4), "negatives_rejected": round(float((q[neg] < t).mean()), 4),
                                   "neighbours_rejected": round(float((q[kinds == "neighbour"] < t).mean()), 4)}
        print(f"quality threshold keeping {keep:.0%} of gold pairs: {t:.4f}, negatives rejected "
              f"{sweep[f'keep_{keep:g}']['negatives_rejected']:.3f} (neighbours "
              f"{sweep[f'keep_{keep:g}']['neighbours_rejected']:.3f})")
    results["quality"]["sweep"] = sweep
    print()
    flags = {f: round(float(np.mean([f in fl for fl, t in zip(scored.flags, true) if t])), 4)
             for f in ("copy", "untranslated", "boilerplate")}
    print("flags on gold pairs:", flags)
    print(f"flag 'copy' on copy negatives: {np.mean([('copy' in fl) for fl, k in zip(scored.flags, kinds) if k == 'copy']):.3f}")
    print(f"timings: load encoder {t1 - t0:.1f} s, score {len(kinds)} candidates {t2 - t1:.1f} s")
    for name, sig in scorer.settings()["signatures"].items():
        print(f"  {sig}")
    results["meta"] = {"documents": len(golds), "gold_pairs": int(true.sum()),
                       "negatives": {k: int((kinds == k).sum()) for k in EVAL_KINDS},
                       "encoder": scorer.settings()["encoder"], "e5": args.e5,
                       "score_s": round(t2 - t1, 2)}
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
