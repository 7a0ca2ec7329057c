#!/usr/bin/env python3
"""Document pairing on an evaluation folder: precision, recall, F1 and distractors.

    python benchmarks/eval_pairing.py --data ../shared/eval/dev/docs --out pairs.tsv
        [--method auto|content|name] [--max-sources K] [--encoder NAME] [--threshold X]
        [--sweep] [--merge-check N]

DIR holds ``en/*.txt``, ``ar/*.txt`` and ``gold.tsv`` (``en_file<TAB>ar_file`` per true
pair; documents of ``en/`` and ``ar/`` in no gold pair are distractors, which should stay
unpaired). Runs :func:`aligner.pair_documents` on the two folders and writes
``pairs.tsv`` / ``pairs.unpaired.tsv`` (:func:`aligner.pairing.write_pairs`), then prints

* pairing precision / recall / F1 against ``gold.tsv`` (pairs of file names),
* the share of distractor documents left unpaired,
* cross-checked with the eval set's own ``score.py`` (``DIR/../../score.py``, or
  ``--scorer PATH``) when it is there,
* with ``--sweep``, the same figures for other thresholds (re-running only the cheap
  one-to-one assignment on the scored candidates),
* with ``--merge-check N``, a multi-source check: N synthetic English documents, each the
  concatenation of the English sides of two gold pairs, paired with ``max_sources=2``
  (in a temporary copy of the folders): how many found both sources, and how many extra
  sources were added to the other (single-source) documents,

and, as its last line, one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import aligner  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from aligner import Aligner  # noqa: E402
from aligner.docpairing import ContentPairingConfig, greedy_one_to_one  # noqa: E402
from aligner.pairing import pair_documents, write_pairs  # noqa: E402


def read_gold(path: Path) -> set[tuple[str, str]]:
    pairs = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].strip() and (parts[0], parts[1]) != ("en_file", "ar_file"):
            pairs.add((os.path.basename(parts[0].strip()), os.path.basename(parts[1].strip())))
    return pairs


def score(pred: set[tuple[str, str]], gold: set[tuple[str, str]], en_files: list[str], ar_files: list[str]) -> dict:
    tp = len(pred & gold)
    p = tp / len(pred) if pred else 0.0
    r = tp / len(gold) if gold else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    d_en = set(en_files) - {e for e, _ in gold}
    d_ar = set(ar_files) - {a for _, a in gold}
    left = len(d_en - {e for e, _ in pred}) + len(d_ar - {a for _, a in pred})
    n_d = len(d_en) + len(d_ar)
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4), "n_pred": len(pred),
            "n_gold": len(gold), "n_correct": tp, "n_distractors": n_d, "distractors_left_unpaired": left,
            "distractors_unpaired_rate": round(left / n_d, 4) if n_d else None}


def run_scorer(scorer: Path, pairs_tsv: Path, gold: Path) -> dict | None:
    proc = subprocess.run([sys.executable, str(scorer), "--pairs-pred", str(pairs_tsv), "--pairs-gold", str(gold)],
                          capture_output=True, text=True, encoding="utf-8")
    if proc.returncode != 0:
        print(f"score.py failed: {proc.stderr.strip()}", file=sys.stderr)
        return None
    print(proc.stdout.strip().splitlines()[0])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def merge_check(data: Path, gold: set[tuple[str, str]], n: int, al: Aligner, config: ContentPairingConfig) -> dict:
    """N synthetic English documents, each made of two gold pairs' English sides (their
    own files removed), paired with max_sources=2."""
    pairs = sorted(gold)[:2 * n]
    with tempfile.TemporaryDirectory() as tmp:
        en_dir, ar_dir = Path(tmp) / "en", Path(tmp) / "ar"
        shutil.copytree(data / "en", en_dir)
        shutil.copytree(data / "ar", ar_dir)
        expected = set()
        for k in range(n):
            (e1, a1), (e2, a2) = pairs[2 * k], pairs[2 * k + 1]
            text = (en_dir / e1).read_text(encoding="utf-8").rstrip("\n") + "\n\n" + (en_dir / e2).read_text(encoding="utf-8")
            (en_dir / e1).unlink()
            (en_dir / e2).unlink()
            name = f"merged-{k:03d}.txt"
            (en_dir / name).write_text(text, encoding="utf-8")
            expected |= {(name, a1), (name, a2)}
        result = pair_documents(en_dir, ar_dir, aligner=al, method="content", max_sources=2, config=config)
        pred = {(p.en_path.name, p.ar_path.name) for p in result.pairs}
        merged_pred = {x for x in pred if x[0].startswith("merged-")}
        gold_en, gold_ar = {e for e, _ in gold}, {a for _, a in gold}
        single_gold = {x for x in gold if x not in pairs[:2 * n]}
        per_en: dict[str, int] = {}
        for e, _ in pred:
            per_en[e] = per_en.get(e, 0) + 1
        return {"merged_documents": n, "merged_both_sources_found": sum(
                    1 for k in range(n) if {(f"merged-{k:03d}.txt", pairs[2 * k][1]),
                                            (f"merged-{k:03d}.txt", pairs[2 * k + 1][1])} <= pred),
                "merged_sources_found": len(merged_pred & expected), "merged_sources_expected": len(expected),
                "merged_wrong_sources": len(merged_pred - expected),
                "single_documents_with_extra_source": sum(
                    1 for e, c in per_en.items() if c > 1 and not e.startswith("merged-")),
                "single_pairs_correct": len(pred & single_gold), "single_pairs_gold": len(single_gold),
                "pairs_with_distractor": sum(1 for e, a in pred if e not in gold_en and not e.startswith("merged-")
                                             or a not in gold_ar)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="folder with en/, ar/ and gold.tsv")
    ap.add_argument("--out", type=Path, default=Path("pairs.tsv"), help="pairs file to write (default pairs.tsv)")
    ap.add_argument("--method", default="auto", choices=["auto", "content", "name"])
    ap.add_argument("--max-sources", type=int, default=1)
    ap.add_argument("--encoder", default=None, help="encoder name (default: the embedded one)")
    ap.add_argument("--threshold", type=float, default=None, help="override the score threshold")
    ap.add_argument("--scorer", type=Path, default=None, help="score.py (default DIR/../../score.py when present)")
    ap.add_argument("--sweep", action="store_true", help="also report other thresholds")
    ap.add_argument("--merge-check", type=int, default=0, metavar="N", help="multi-source check with N merged documents")
    args = ap.parse_args(argv)

    data = args.data
    gold_path = data / "gold.tsv"
    gold = read_gold(gold_path)
    en_files = sorted(p.name for p in (data / "en").iterdir() if p.suffix.lower() == ".txt")
    ar_files = sorted(p.name for p in (data / "ar").iterdir() if p.suffix.lower() == ".txt")
    config = ContentPairingConfig()
    if args.threshold is not None:
        from dataclasses import replace

        config = replace(config, threshold=args.threshold)

    t0 = time.perf_counter()
    al = Aligner() if args.encoder is None else Aligner(args.encoder)
    t1 = time.perf_counter()
    candidates: list = []
    result = pair_documents(data / "en", data / "ar", aligner=al, method=args.method, max_sources=args.max_sources,
                            config=config, candidates_out=candidates)
    t2 = time.perf_counter()
    pairs_path, unpaired_path = write_pairs(result, args.out, data / "en", data / "ar")
    pred = {(p.en_path.name, p.ar_path.name) for p in result.pairs}
    own = score(pred, gold, en_files, ar_files)
    methods: dict[str, int] = {}
    for p in result.pairs:
        methods[p.method] = methods.get(p.method, 0) + 1

    print(f"{len(en_files)} English, {len(ar_files)} Arabic documents; {len(gold)} gold pairs; "
          f"{len(candidates)} candidate pairs re-scored")
    print(f"pairs written to {pairs_path}, unpaired documents to {unpaired_path}")
    print(f"pairing: P={own['precision']:.3f} R={own['recall']:.3f} F1={own['f1']:.3f} "
          f"({own['n_correct']} correct of {own['n_pred']} predicted, {own['n_gold']} gold; by method {methods})")
    print(f"distractors left unpaired: {own['distractors_left_unpaired']} of {own['n_distractors']} "
          f"({own['distractors_unpaired_rate']:.1%})")
    print(f"time: load encoder {t1 - t0:.1f} s, pairing {t2 - t1:.1f} s")
    out = {"data": str(data), "method": args.method, "max_sources": args.max_sources, "encoder": al.encoder_name,
           "threshold": config.threshold, "min_alignment": config.min_alignment, **own,
           "candidate_pairs": len(candidates), "pairing_s": round(t2 - t1, 2), "load_encoder_s": round(t1 - t0, 2)}

    scorer = args.scorer or data.resolve().parent.parent / "score.py"
    if scorer.is_file():
        official = run_scorer(scorer, pairs_path, gold_path)
        if official is not None:
            agree = (round(official["f1"], 4) == own["f1"]
                     and official.get("distractors_left_unpaired") == own["distractors_left_unpaired"])
            print(f"score.py agrees: {agree}")
            out["score_py"] = official
            out["score_py_agrees"] = agree

    if args.sweep and candidates:
        print("\nthreshold sweep (one-to-one assignment re-run on the scored candidates):")
        print("threshold  P      R      F1     distractors unpaired")
        sweep = []
        for th in sorted({round(-0.1 + 0.05 * k, 2) for k in range(13)} | {config.threshold}):
            kept = greedy_one_to_one(candidates, th, config.min_alignment)
            s = score({(candidates[k].en_path.name, candidates[k].ar_path.name) for k in kept}, gold, en_files,
                      ar_files)
            sweep.append({"threshold": th, **{k: s[k] for k in ("precision", "recall", "f1",
                                                                  "distractors_unpaired_rate")}})
            print(f"{th:9.2f}  {s['precision']:.3f}  {s['recall']:.3f}  {s['f1']:.3f}  {s['distractors_unpaired_rate']:.3f}"
                  + ("   <- the default" if th == config.threshold else ""))
        out["sweep"] = sweep

    if args.merge_check:
        mc = merge_check(data, gold, args.merge_check, al, config)
        print(f"\nmulti-source check (max_sources=2): {mc['merged_both_sources_found']} of {mc['merged_documents']} "
              f"merged documents got both sources ({mc['merged_sources_found']}/{mc['merged_sources_expected']} "
              f"sources, {mc['merged_wrong_sources']} wrong); single-source documents given an extra source: "
              f"{mc['single_documents_with_extra_source']}; single pairs correct "
              f"{mc['single_pairs_correct']}/{mc['single_pairs_gold']}; pairs involving a distractor: "
              f"{mc['pairs_with_distractor']}")
        out["merge_check"] = mc
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
