#!/usr/bin/env python3
"""Document pairing on an evaluation folder: precision, recall, F1 and distractors.

    python benchmarks/eval_pairing.py --data ../shared/eval/dev/docs --out pairs.tsv
        [--method auto|content|name] [--max-sources K] [--encoder NAME] [--threshold X]
        [--sweep] [--merge-check N] [--loo-sources] [--manifest FILE] [--cache FILE]

DIR holds ``en/*.txt``, ``ar/*.txt`` and ``gold.tsv`` (``en_file<TAB>ar_file`` per true
pair; documents of ``en/`` and ``ar/`` in no gold pair are distractors, which should stay
unpaired). Runs :func:`aligner.pair_documents` on the two folders and writes
``pairs.tsv`` / ``pairs.unpaired.tsv`` (:func:`aligner.pairing.names.write_pairs`), then prints

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
* with ``--loo-sources``, leave-one-source-out: the documents are grouped by their
  ``source`` in the manifest (``--manifest``, default ``DIR/../manifest.json``, key
  ``docs``: ``source``, ``en_file``, ``ar_file`` per document); for each source, the
  settings (``threshold``, ``bead_low``/``bead_high``, ``runner_up_weight``) are chosen on
  the documents of the other sources, paired as one collection, and then scored on the
  held-out source's documents, paired on their own: a separate pairing run over only
  that source's English and Arabic documents (its true pairs and its distractors), so
  that its candidates, CSLS neighbourhoods, centring and boilerplate weights come from
  that source alone (see :func:`loo_sources`),
* with ``--cache FILE``, every document's encodings and every aligned candidate's beads
  are kept in FILE (a pickle, for this encoder and alignment settings) and reused: sweeps
  and ``--loo-sources`` then re-run only vectors, candidates, re-scoring and assignment,

and, as its last line, one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
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
from dataclasses import replace  # noqa: E402

from aligner.pairing.content import ContentPairingConfig, PairingCache, greedy_one_to_one, pair_by_content  # noqa: E402
from aligner.pairing.names import pair_documents, write_pairs  # noqa: E402


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


# ------------------------------------------------------------------ leave one source out

# The settings chosen on the training sources, from this grid (the ramp on the reference
# cosine scale, ContentPairingConfig.ramp_reference_*: with calibrate_ramp each collection
# paired moves it onto its own scale; thresholds every 0.01, the one-to-one assignment
# re-run on the same scored candidates).
LOO_BEAD_LOW = (0.2, 0.25, 0.3, 0.35, 0.4)
LOO_BEAD_HIGH = (0.5, 0.55, 0.6, 0.65, 0.7)
LOO_RUNNER_UP = (0.25, 0.5, 0.75)
LOO_THRESHOLDS = tuple(round(-0.1 + 0.01 * k, 2) for k in range(71))


def read_sources(manifest: Path) -> tuple[dict[str, str], dict[str, str]]:
    """English and Arabic file name -> source, from the manifest's ``docs``."""
    docs = json.loads(manifest.read_text(encoding="utf-8"))["docs"]
    en = {d["en_file"]: d["source"] for d in docs if d.get("en_file")}
    ar = {d["ar_file"]: d["source"] for d in docs if d.get("ar_file")}
    return en, ar


def objective(s: dict) -> float:
    """What the settings are chosen for: the mean of pairing F1 and the share of
    distractors left unpaired (both count, as in the issue's acceptance)."""
    rate = s["distractors_unpaired_rate"]
    return 0.5 * (s["f1"] + (1.0 if rate is None else rate))


def _collection(data: Path, al, cache, config, en_names: list[str], ar_names: list[str]) -> list:
    result = pair_by_content([data / "en" / n for n in en_names], [data / "ar" / n for n in ar_names], al,
                             config=config, cache=cache)
    return result.candidates, result.stats.get("threshold", config.threshold)


def _assign(candidates: list, threshold: float, min_alignment: float) -> set[tuple[str, str]]:
    return {(candidates[k].en_path.name, candidates[k].ar_path.name)
            for k in greedy_one_to_one(candidates, threshold, min_alignment)}


def choose_settings(data: Path, al, cache, base: ContentPairingConfig, gold: set, en_names: list[str],
                    ar_names: list[str]) -> tuple[ContentPairingConfig, dict]:
    """The grid's best settings on one collection: highest :func:`objective`; then the
    widest run of neighbouring thresholds that reach it (a threshold in the middle of a
    wide plateau is the least fragile); then the settings nearest the defaults. The
    threshold is the middle of that run. With ``calibrate_threshold`` the threshold is
    not chosen: each collection fits its own when it is paired (the held-out source
    too), and only the ramp and ``runner_up_weight`` are chosen here."""
    best = None
    for low in LOO_BEAD_LOW:
        for high in LOO_BEAD_HIGH:
            if high <= low:
                continue
            for w in LOO_RUNNER_UP:
                config = replace(base, bead_low=low, bead_high=high, runner_up_weight=w)
                cands, used = _collection(data, al, cache, config, en_names, ar_names)
                thresholds = (used,) if config.calibrate_threshold else LOO_THRESHOLDS
                objs = [objective(score(_assign(cands, th, config.min_alignment), gold, en_names, ar_names))
                        for th in thresholds]
                top = max(objs)
                run, width, start = 0, 0, 0
                for k, o in enumerate(objs + [-1.0]):
                    if o == top:
                        run += 1
                    else:
                        if run > width:
                            width, start = run, k - run
                        run = 0
                th = thresholds[start + (width - 1) // 2]  # calibrated: the collection's own, re-fitted when paired
                near = abs(low - base.bead_low) + abs(high - base.bead_high) + abs(w - base.runner_up_weight)
                key = (-top, -width, round(near, 6), low, high, w)
                if best is None or key < best[0]:
                    best = (key, replace(config, threshold=th), width)
    key, config, width = best
    return config, {"objective": round(-key[0], 4), "plateau_width": round(0.01 * width, 2)}


def run_scores(data: Path, al, cache, config: ContentPairingConfig, gold: set, en_names: list[str],
               ar_names: list[str]) -> dict:
    cands, used = _collection(data, al, cache, config, en_names, ar_names)
    return {**score(_assign(cands, used, config.min_alignment), gold, en_names, ar_names), "threshold_used": used}


def loo_sources(data: Path, gold: set, en_files: list[str], ar_files: list[str], manifest: Path, al, cache,
                base: ContentPairingConfig) -> dict:
    """Leave one source out: settings chosen on the other sources' documents (paired as
    one collection), scored on the held-out source's documents paired on their own."""
    en_src, ar_src = read_sources(manifest)
    missing = [n for n in en_files if n not in en_src] + [n for n in ar_files if n not in ar_src]
    if missing:
        raise SystemExit(f"{manifest}: no source for {len(missing)} document(s), e.g. {missing[0]}")
    sources = sorted(set(en_src[n] for n in en_files) | set(ar_src[n] for n in ar_files))
    folds = []
    for held in sources:
        tr_en = [n for n in en_files if en_src[n] != held]
        tr_ar = [n for n in ar_files if ar_src[n] != held]
        ho_en = [n for n in en_files if en_src[n] == held]
        ho_ar = [n for n in ar_files if ar_src[n] == held]
        tr_gold = {(e, a) for e, a in gold if e in set(tr_en) and a in set(tr_ar)}
        ho_gold = {(e, a) for e, a in gold if e in set(ho_en) and a in set(ho_ar)}
        chosen, how = choose_settings(data, al, cache, base, tr_gold, tr_en, tr_ar)
        fold = {"held_out": held, "train_sources": [s for s in sources if s != held],
                "settings": {k: getattr(chosen, k) for k in ("threshold", "bead_low", "bead_high", "runner_up_weight",
                                                             "min_alignment")},
                **how,
                "in_sample": run_scores(data, al, cache, chosen, tr_gold, tr_en, tr_ar),
                "held_out_scores": run_scores(data, al, cache, chosen, ho_gold, ho_en, ho_ar),
                "held_out_with_defaults": run_scores(data, al, cache, base, ho_gold, ho_en, ho_ar)}
        folds.append(fold)
    ho = [f["held_out_scores"] for f in folds]
    return {"restriction": "each held-out source is paired on its own: one pairing run over only its English "
                           "and Arabic documents (true pairs and distractors); settings are chosen on one run over "
                           "the other sources' documents together",
            "threshold_mode": "calibrated" if base.calibrate_threshold else "fixed",
            "objective": "mean of F1 and distractors-unpaired rate; ties: widest threshold plateau, then "
                         "nearest the defaults",
            "grid": {"bead_low": list(LOO_BEAD_LOW), "bead_high": list(LOO_BEAD_HIGH),
                     "runner_up_weight": list(LOO_RUNNER_UP), "threshold": [LOO_THRESHOLDS[0], LOO_THRESHOLDS[-1], 0.01]},
            "folds": folds,
            "min_held_out_f1": min(s["f1"] for s in ho),
            "min_held_out_distractors_unpaired_rate": min(s["distractors_unpaired_rate"] for s in ho
                                                          if s["distractors_unpaired_rate"] is not None)}


def print_loo(loo: dict) -> None:
    print("\nleave one source out (" + loo["restriction"] + "):")
    print("(thr: the threshold applied to the held-out source: chosen, or calibrated on it)")
    print(f"{'held out':<10} {'chosen on':<20} {'low':>5} {'high':>5} {'w':>5} {'thr':>5}  "
          f"{'in-sample F1':>12} {'distr':>6}  {'held-out F1':>11} {'distr':>6}  {'defaults F1':>11} {'distr':>6}")
    for f in loo["folds"]:
        st, ins, ho, de = f["settings"], f["in_sample"], f["held_out_scores"], f["held_out_with_defaults"]
        print(f"{f['held_out']:<10} {'+'.join(f['train_sources']):<20} {st['bead_low']:5.2f} {st['bead_high']:5.2f} "
              f"{st['runner_up_weight']:5.2f} {ho['threshold_used']:5.2f}  {ins['f1']:12.3f} "
              f"{ins['distractors_unpaired_rate']:6.1%}  {ho['f1']:11.3f} {ho['distractors_unpaired_rate']:6.1%}  "
              f"{de['f1']:11.3f} {de['distractors_unpaired_rate']:6.1%}")
    print(f"worst held-out source: F1 {loo['min_held_out_f1']:.3f}, distractors unpaired "
          f"{loo['min_held_out_distractors_unpaired_rate']:.1%}")


def out_threshold(result, config) -> str:
    content = result.settings.get("content", {})
    return f"{content.get('threshold_used', config.threshold)} ({content.get('threshold_from', 'fixed')})"


def load_cache(path: Path | None) -> PairingCache:
    if path is not None and path.is_file():
        with open(path, "rb") as fh:
            cache = pickle.load(fh)
        if isinstance(cache, PairingCache):
            return cache
        print(f"{path}: not a pairing cache; starting a new one", file=sys.stderr)
    return PairingCache()


def save_cache(cache: PairingCache, path: Path | None) -> None:
    if path is not None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(cache, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="folder with en/, ar/ and gold.tsv")
    ap.add_argument("--out", type=Path, default=Path("pairs.tsv"), help="pairs file to write (default pairs.tsv)")
    ap.add_argument("--method", default="auto", choices=["auto", "content", "name"])
    ap.add_argument("--max-sources", type=int, default=1)
    ap.add_argument("--encoder", default=None, help="encoder name (default: the embedded one)")
    ap.add_argument("--threshold", type=float, default=None, help="override the score threshold (fixed)")
    ap.add_argument("--threshold-mode", choices=["default", "fixed", "calibrated"], default="default",
                    help="fixed threshold or one calibrated on the collection's candidate scores "
                         "(default: the configuration's default)")
    ap.add_argument("--scorer", type=Path, default=None, help="score.py (default DIR/../../score.py when present)")
    ap.add_argument("--sweep", action="store_true", help="also report other thresholds")
    ap.add_argument("--merge-check", type=int, default=0, metavar="N", help="multi-source check with N merged documents")
    ap.add_argument("--loo-sources", action="store_true",
                    help="leave one source out: settings chosen on the other sources, scored on the held-out one")
    ap.add_argument("--manifest", type=Path, default=None,
                    help="manifest with each document's source (default DIR/../manifest.json)")
    ap.add_argument("--cache", type=Path, default=None,
                    help="pickle of encodings and alignments, read when present and written back")
    args = ap.parse_args(argv)

    data = args.data
    gold_path = data / "gold.tsv"
    gold = read_gold(gold_path)
    en_files = sorted(p.name for p in (data / "en").iterdir() if p.suffix.lower() == ".txt")
    ar_files = sorted(p.name for p in (data / "ar").iterdir() if p.suffix.lower() == ".txt")
    config = ContentPairingConfig()
    if args.threshold_mode != "default":
        config = replace(config, calibrate_threshold=args.threshold_mode == "calibrated")
    if args.threshold is not None:
        config = replace(config, threshold=args.threshold, calibrate_threshold=False)
    cache = load_cache(args.cache)

    t0 = time.perf_counter()
    al = Aligner() if args.encoder is None else Aligner(args.encoder)
    t1 = time.perf_counter()
    candidates: list = []
    result = pair_documents(data / "en", data / "ar", aligner=al, method=args.method, max_sources=args.max_sources,
                            config=config, candidates_out=candidates, cache=cache)
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
    print(f"threshold applied: {out_threshold(result, config)}")
    content = result.settings.get("content", {})
    if "bead_ramp_used" in content:
        print(f"bead ramp applied: {content['bead_ramp_used']} ({content['bead_ramp_from']}; unrelated sentence "
              f"pairs' cosine median and spread {content['cosine_scale']})")
    print(f"time: load encoder {t1 - t0:.1f} s, pairing {t2 - t1:.1f} s")
    out = {"data": str(data), "method": args.method, "max_sources": args.max_sources, "encoder": al.encoder_name,
           "threshold": config.threshold, "min_alignment": config.min_alignment,
           "threshold_used": content.get("threshold_used", config.threshold),
           "threshold_from": content.get("threshold_from", "fixed"),
           "bead_ramp_used": content.get("bead_ramp_used"), "bead_ramp_from": content.get("bead_ramp_from"),
           "cosine_scale": content.get("cosine_scale"), **own,
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
                  + ("   <- the fixed threshold" if th == config.threshold else ""))
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

    if args.loo_sources:
        manifest = args.manifest or data.resolve().parent / "manifest.json"
        loo = loo_sources(data, gold, en_files, ar_files, manifest, al, cache, config)
        print_loo(loo)
        out["loo"] = loo
    save_cache(cache, args.cache)
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
