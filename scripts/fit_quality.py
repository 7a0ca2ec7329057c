#!/usr/bin/env python3
"""Fit the ``quality`` model and write ``src/aligner/data/quality_model_e5.json``.

    python scripts/fit_quality.py --data ../shared/eval/dev [--no-e5] [--out FILE]

Data: true pairs and negatives drawn from gold alignments by
:func:`aligner.scoring.calibration.build_candidates`: the project's own texts (the example texts,
``examples/en``, ``examples/ar`` and the gold in the tables of ``examples/README.md``, and
the calibration texts in ``scripts/calibration``, ``<id>.en|.ar|.gold``, written for the
project; seeds 0..R-1) and every ``--data`` folder in the dev set's format (read in place,
never copied into the repository; seed 0). From each document: the true pairs, and as
negatives neighbouring pairs (English side with the previous / next bead's Arabic side),
partial translations (one sentence of a merged side, or half a sentence, with the whole
other side), random pairs from the same document, copies (one side's text on both sides)
and true pairs whose digits were changed on one side.

Steps:

1. Length prior: the mean log length ratio (Arabic / English characters, as the encoder
   sees them) of the true pairs, and the spread of each pair's ratio around its
   document's expected ratio.
2. Every candidate is scored against its document (:class:`aligner.scoring.Scorer`).
3. A logistic regression on :attr:`aligner.scoring.QualityModel.E5_FEATURES` (with
   ``--no-e5``: ``FEATURES``, written to ``quality_model.json``), copies left out
   (``quality = language * logistic``: the language gate is what rejects them), every
   weight constrained to be >= 0 (projected Newton), so quality is monotone in the
   evidence. Its L2 penalty (on the weights, not the bias) is chosen from ``--l2`` by
   log loss on held-out documents (``--folds`` folds of whole documents, classes
   balanced).
4. The prior: true pairs get the share ``p`` of the total weight and negatives ``1 - p``
   (an aligned corpus is mostly true pairs). ``p`` is chosen from ``--priors`` on the
   held-out predictions: the one whose smallest margin over the two goals (quality 0.5
   keeps ``--keep-goal`` of the true pairs and rejects ``--reject-goal`` of the
   negatives), in any group of documents (the project's texts; each ``--data`` folder),
   is largest. The held-out figures are printed and recorded in the model's ``meta``.
5. ``similarity``'s default threshold: the value that best separates true pairs from
   negatives on the same data (balanced accuracy).

The same data, encoder and settings give the same file (the draws are seeded and the fit
is deterministic). Prints the fitted model and its separation on its own data.
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
from aligner.scoring.calibration import FIT_KINDS, build_candidates, parse_examples_gold  # noqa: E402
from aligner.scoring import QualityModel, Scorer  # noqa: E402
from aligner.scoring.length_ratio import log_length_ratio  # noqa: E402


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


def load_data_folder(folder: Path):
    """A folder in the dev set's format: ``sent/<id>.en|.ar|.gold`` (or the files directly
    in ``folder``)."""
    sent = folder / "sent" if (folder / "sent").is_dir() else folder
    if not any(sent.glob("*.gold")):
        raise SystemExit(f"no .gold files under {folder}")
    return [(f"{folder.name}/{doc_id.removeprefix('calibration-')}", en, ar, beads)
            for doc_id, en, ar, beads in load_calibration(sent)]


def folds_by_document(doc_of: np.ndarray, k: int) -> list[np.ndarray]:
    """``k`` folds of whole documents (documents in sorted order, dealt round-robin)."""
    docs = sorted(set(doc_of.tolist()))
    return [np.isin(doc_of, docs[f::k]) for f in range(min(k, len(docs)))]


def class_weights(labels: np.ndarray, prior: float) -> np.ndarray:
    """True pairs share ``prior`` of the total weight, negatives ``1 - prior``."""
    return np.where(labels == 1, prior / max(labels.sum(), 1), (1 - prior) / max((1 - labels).sum(), 1))


def score_with_cache(scorer: Scorer, labelled, cache: Path | None):
    """``scorer.score_documents`` of the candidates, or the same scores from ``cache`` when
    it was made from the very same candidates and settings (a fingerprint of both)."""
    import hashlib
    import pickle

    docs = [ld.document for ld in labelled]
    digest = hashlib.sha256(json.dumps([scorer.settings(), scorer.model.length_prior,
                                        [(d.doc_id, d.pairs, d.en_alone, d.ar_alone, d.candidates) for d in docs]],
                                       ensure_ascii=False, default=str).encode("utf-8")).hexdigest()
    if cache is not None and cache.exists():
        with cache.open("rb") as handle:
            stored = pickle.load(handle)
        if stored.get("fingerprint") == digest:
            print(f"scores from {cache}")
            return stored["scored"]
    scored = scorer.score_documents(docs)
    if cache is not None:
        with cache.open("wb") as handle:
            pickle.dump({"fingerprint": digest, "scored": scored}, handle)
    return scored


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--examples", type=Path, default=ROOT / "examples")
    ap.add_argument("--calibration", type=Path, default=ROOT / "scripts" / "calibration",
                    help="folder of further calibration documents (<id>.en, <id>.ar, <id>.gold)")
    ap.add_argument("--data", type=Path, action="append", default=[],
                    help="a folder of gold-aligned documents in the dev set's format (sent/<id>.en|.ar|.gold), "
                         "read in place; repeatable")
    ap.add_argument("--out", type=Path, default=None,
                    help="default: src/aligner/data/quality_model_e5.json (quality_model.json with --no-e5)")
    ap.add_argument("--no-e5", dest="e5", action="store_false",
                    help="fit the fast model (no e5 features), written to quality_model.json")
    ap.add_argument("--rounds", type=int, default=5,
                    help="draws of negatives per document of the project's own texts (seeds 0..R-1); "
                         "--data documents get one")
    ap.add_argument("--l2", type=float, nargs="+", default=[0.001, 0.01, 0.1, 1.0],
                    help="L2 weights to choose from by cross-validated log loss")
    ap.add_argument("--folds", type=int, default=5, help="folds of whole documents for cross-validation")
    ap.add_argument("--priors", type=float, nargs="+", default=[0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8],
                    help="share of the weight given to true pairs, chosen from these by cross-validation")
    ap.add_argument("--keep-goal", type=float, default=0.95, help="share of true pairs quality 0.5 should keep")
    ap.add_argument("--reject-goal", type=float, default=0.90, help="share of negatives quality 0.5 should reject")
    ap.add_argument("--encoder", default="use-multilingual-v3")
    ap.add_argument("--scores-cache", type=Path, default=None,
                    help="keep the candidates' scores in this file and reuse them when the candidates, encoder "
                         "and scorer settings are the same (scoring with e5 takes minutes; the fit seconds)")
    args = ap.parse_args(argv)
    names = QualityModel.E5_FEATURES if args.e5 else QualityModel.FEATURES
    if args.out is None:
        args.out = ROOT / "src" / "aligner" / "data" / ("quality_model_e5.json" if args.e5 else "quality_model.json")

    own_docs = load_examples(args.examples) + (load_calibration(args.calibration) if args.calibration else [])
    data_docs = [d for folder in args.data for d in load_data_folder(folder)]
    docs = own_docs + data_docs
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
    print(f"{len(own_docs)} project documents, {len(data_docs)} from --data; length prior: mean log(ar/en) "
          f"{mean:.4f} (ratio {np.exp(mean):.3f}), sd {sd:.4f}, {len(all_lr)} true pairs")

    # 2. Candidates and their scores (a model with zero weights: only the scores are used).
    boot = QualityModel(weights={}, bias=0.0, length_prior=(mean, sd), similarity_threshold=0.0, meta={}, names=names)
    scorer = Scorer(Aligner(args.encoder).encoder, model=boot, e5=args.e5)
    labelled = []
    for r in range(args.rounds):
        rng = random.Random(r)
        for doc_id, en, ar, beads in (docs if r == 0 else own_docs):
            ld = build_candidates(doc_id, en, ar, beads, rng, kinds=FIT_KINDS)
            if r > 0:  # true pairs and neighbours are the same every round: once
                keep = [i for i, k in enumerate(ld.kinds) if k not in ("true", "neighbour")]
                ld.document.candidates = [ld.document.candidates[i] for i in keep]
                ld.kinds = [ld.kinds[i] for i in keep]
            labelled.append(ld)
    scored = score_with_cache(scorer, labelled, args.scores_cache)
    kinds = np.array([k for ld in labelled for k in ld.kinds])
    y = (kinds == "true").astype(np.float64)
    print("candidates:", dict(sorted(Counter(kinds.tolist()).items())))

    # 3. The logistic model: L2 weight by cross-validated log loss (balanced classes), then
    # the prior by cross-validated kept / rejected shares at quality 0.5.
    X_all = QualityModel.features(scored.scores, scored.doc_stats, names)
    doc_all = np.array([ld.document.doc_id for ld in labelled for _ in ld.kinds])
    # Copies are the language gate's business (quality = language * logistic): their
    # sides are as alike as can be, which is no evidence for the logistic part.
    fit_rows = kinds != "copy"
    folds = folds_by_document(doc_all, args.folds)
    language = scored.scores["language"]

    def cross_validated(l2: float, prior: float) -> np.ndarray:
        out = np.zeros(len(y))
        for held in folds:
            train = fit_rows & ~held
            w, b = fit_logistic(X_all[train], y[train], class_weights(y[train], prior), l2)
            out[held] = 1 / (1 + np.exp(-(X_all[held] @ w + b)))
        return out

    cv = {}
    for l2 in args.l2:
        p = np.clip(cross_validated(l2, 0.5), 1e-6, 1 - 1e-6)[fit_rows]
        yy = y[fit_rows]
        cv[l2] = float(np.sum(class_weights(yy, 0.5) * -(yy * np.log(p) + (1 - yy) * np.log(1 - p))))
        print(f"  l2 {l2:g}: cross-validated log loss {cv[l2]:.4f}")
    l2 = min(cv, key=cv.get)
    true_all, neg_all = kinds == "true", kinds != "true"
    # Each group of documents (the project's texts, each --data folder) must meet the goals
    # on its own: pooled, the many easy negatives of one group would hide another's misses.
    group_of = np.array([d.split("/")[0] if "/" in d else "project" for d in doc_all])
    by_prior = {}
    for prior in args.priors:
        q = language * cross_validated(l2, prior)
        by_prior[prior] = {}
        for group in sorted(set(group_of.tolist())):
            g = group_of == group
            t, n = true_all & g, neg_all & g & (kinds != "numbers")  # the kinds eval_scores.py draws
            by_prior[prior][group] = {"gold_kept": round(float(np.mean(q[t] >= 0.5)), 4),
                                      "negatives_rejected": round(float(np.mean(q[n] < 0.5)), 4),
                                      "roc_auc_neighbour": round(roc_auc(q[t], q[g & (kinds == "neighbour")]), 4)}
        print(f"  prior {prior:g}: cross-validated at 0.5: " + "; ".join(
            f"{group} true kept {v['gold_kept']:.3f}, negatives rejected {v['negatives_rejected']:.3f}"
            for group, v in by_prior[prior].items()))

    def worst_margin(pr: float) -> float:
        return min(min(v["gold_kept"] - args.keep_goal, v["negatives_rejected"] - args.reject_goal)
                   for v in by_prior[pr].values())

    # The prior whose smallest margin over the two goals, in any group, is largest.
    prior = max(args.priors, key=worst_margin)
    w, b = fit_logistic(X_all[fit_rows], y[fit_rows], class_weights(y[fit_rows], prior), l2)
    sim = scored.scores["similarity"]
    data_names = ["examples", "calibration"] + [f"{f.name} ({sum(d[0].startswith(f.name + '/') for d in data_docs)} docs)"
                                                for f in args.data]
    model = {
        "description": "quality = language * sigmoid(bias + sum(weights[f] * feature[f])); features from the "
                       "scores as in aligner.scoring.QualityModel.features. Made by scripts/fit_quality.py.",
        "features": list(names),
        "weights": {f: round(float(v), 6) for f, v in zip(names, w)},
        "bias": round(b, 6),
        "length_prior": {"mean": round(mean, 6), "sd": round(sd, 6)},
        "similarity_threshold": round(best_threshold(sim[true_all], sim[~true_all & (kinds != "copy")]), 4),
        "meta": {"data": "+".join(data_names), "aligner_version": __version__, "encoder": scorer.encoder.name,
                 "e5": args.e5, "documents": len(docs), "rounds": args.rounds, "l2": l2,
                 "l2_cv_log_loss": {f"{k:g}": round(v, 5) for k, v in cv.items()},
                 "prior": prior, "cv_folds": len(folds), "cv_at_0.5_by_prior": {f"{k:g}": v for k, v in by_prior.items()},
                 "candidates": dict(sorted(Counter(kinds.tolist()).items()))},
    }
    q = language / (1 + np.exp(-(X_all @ w + b)))
    print("weights:", json.dumps(model["weights"]), "bias:", model["bias"], "prior:", prior, "l2:", l2)
    print(f"similarity threshold: {model['similarity_threshold']}")
    for kind in sorted(set(kinds.tolist()) - {"true"}):
        print(f"  AUC true vs {kind:<9} {roc_auc(q[true_all], q[kinds == kind]):.3f}   "
              f"rejected at 0.5: {np.mean(q[kinds == kind] < 0.5):.3f}")
    print(f"  true kept at 0.5: {np.mean(q[true_all] >= 0.5):.3f} (in-sample); cross-validated: " + "; ".join(
        f"{group} {v['gold_kept']:.3f} kept, {v['negatives_rejected']:.3f} rejected"
        for group, v in by_prior[prior].items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
