#!/usr/bin/env python3
"""Sweep alignment settings over every dev variant at once, with leave-one-source-out.

    python benchmarks/tune_alignment.py --eval-root ../shared/eval \\
        [--grid threshold=-1.2,-1.6 --grid null_weight=0,0.5] [--config KEY=VALUE ...] \\
        [--workers 2] [--cache /tmp/tune.pkl] [--own-lines] [--long] [--raw-reorder] [--joined-arabic]
        [--short] [--by-source]

Each document of ``dev``, ``dev-split``, ``dev-reorder`` and ``dev-e2e`` is encoded once
(``--cache`` keeps the encodings between runs); then every combination of the ``--grid``
values (on top of the defaults and ``--config``) is aligned and scored. Printed: one row
per setting with the figures the project's goals name (dev strict / clean / unaligned,
dev-split strict / lax, dev-e2e link / unaligned, dev-reorder strict) and their mean (the
objective); then, for each source (abudawud, nasai, quran_si), the setting chosen on the
other two sources and its figures on the held-out one next to the in-sample setting's.
The last line is one JSON object (the rows and the leave-one-source-out table).

``--own-lines`` adds faithful translations with lines of their own: each ``clean``
document of dev and dev-split with 1 or 3 English lines of another document of its
source inserted between random gold beads (seeds 0 and 1: 80 pairs), columns ``own`` / ``own_un``
(strict / unaligned-line F1), outside the objective. The dev set has no such document,
and what a faithful translation's null model does to them is a risk no other column
shows.

``--long`` adds long documents: each set's documents of one source concatenated into one
pair (370-1,725 lines a side), nearly all past ``max_full_cells``, so that the
coarse-to-fine band search is measured too. The strict and unaligned-line F1 of the
sentence sets' nine pairs together are the columns ``long`` and ``long_un``, dev-e2e's
three (raw text, paragraphs numbered on) ``long_e2e`` and ``long_e2e_un``; all outside
the objective (the goals name the dev documents).

``--raw-reorder`` adds dev-reorder as raw text: each document's lines written as
paragraphs (blank lines between, as dev-e2e is made from dev) and segmented by the
aligner, scored at paragraph level on the same gold (columns ``reorder_e2e`` /
``reorder_e2e_un``: link / unaligned-paragraph F1), outside the objective. Raw text is
aligned paragraphs first, and a report that moves passages moves whole paragraphs: no
other column has both.

``--joined-arabic`` adds dev-split with each two neighbouring Arabic lines joined into one,
as a literary translator's long sentence is (columns ``joined`` / ``joined_lax``: strict /
lax F1), outside the objective: beads past 8-1 (up to 16-1), which no dev document has.

``--short`` adds news-report-sized documents: dev, dev-split and dev-e2e cut between gold
beads into pieces of 6-14 Arabic lines (paragraphs for raw text; 801 documents, columns
``short`` / ``short_un`` / ``short_split`` / ``short_e2e`` / ``short_e2e_un``), outside the
objective. Every dev document has 23 lines or more; the report users bring has about 11.

This is how the constants in ``AlignmentConfig`` were chosen; the README's Accuracy
section records the sweep.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import pickle
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import aligner  # noqa: F401
except ImportError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(HERE.parent / "src"))

from aligner import Aligner  # noqa: E402
from aligner.alignment import AlignmentConfig  # noqa: E402
from aligner.text.segmentation import Sentence, segment  # noqa: E402
from evalsets import EvalDoc, doc_counts, load_set, summary  # noqa: E402

SETS = ["dev", "dev-split", "dev-e2e", "dev-reorder"]
# (label, set, variant or None, metric key) of the figures the goals name.
FIGURES = [
    ("dev", "dev", None, "strict_f1"),
    ("clean", "dev", "clean", "strict_f1"),
    ("dev_un", "dev", None, "null_f1"),
    ("split", "dev-split", None, "strict_f1"),
    ("split_lax", "dev-split", None, "lax_f1"),
    ("e2e", "dev-e2e", None, "link_f1"),
    ("e2e_un", "dev-e2e", None, "unaligned_f1"),
    ("reorder", "dev-reorder", None, "strict_f1"),
]
OBJECTIVE = ["dev", "dev_un", "split", "split_lax", "e2e", "e2e_un", "reorder"]
LONG_FIGURES = [("long", "long", None, "strict_f1"), ("long_un", "long", None, "null_f1"),
                ("long_e2e", "long-e2e", None, "link_f1"), ("long_e2e_un", "long-e2e", None, "unaligned_f1")]
LONG_SETS = ["dev", "dev-split", "dev-reorder", "dev-e2e"]
OWN_FIGURES = [("own", "own-lines", None, "strict_f1"), ("own_un", "own-lines", None, "null_f1")]
JOINED_FIGURES = [("joined", "joined-arabic", None, "strict_f1"), ("joined_lax", "joined-arabic", None, "lax_f1")]
SHORT_FIGURES = [("short", "short", None, "strict_f1"), ("short_un", "short", None, "null_f1"),
                 ("short_split", "short-split", None, "strict_f1"), ("short_e2e", "short-e2e", None, "link_f1"),
                 ("short_e2e_un", "short-e2e", None, "unaligned_f1")]
RAW_REORDER_FIGURES = [("reorder_e2e", "reorder-e2e", None, "link_f1"),
                       ("reorder_e2e_un", "reorder-e2e", None, "unaligned_f1")]


def parse_value(key: str, text: str):
    """A config value typed like the field's default."""
    kinds = {f.name: type(f.default) for f in fields(AlignmentConfig)}
    if key not in kinds:
        raise SystemExit(f"unknown AlignmentConfig field {key!r}; fields: {', '.join(sorted(kinds))}")
    kind = kinds[key]
    if kind is bool:
        if text.lower() not in {"true", "false", "1", "0"}:
            raise SystemExit(f"{key}: expected true or false, got {text!r}")
        return text.lower() in {"true", "1"}
    try:
        return kind(text)
    except ValueError:
        raise SystemExit(f"{key}: expected a {kind.__name__}, got {text!r}") from None


def parse_assignments(items: list[str]) -> dict:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"expected KEY=VALUE, got {item!r}")
        out[key.strip()] = parse_value(key.strip(), value.strip())
    return out


def encode_all(al: Aligner, docs: list[EvalDoc]) -> list[tuple]:
    return [(al.encode(d.en, "en"), al.encode(d.ar, "ar")) for d in docs]


def long_documents(docs: list[EvalDoc]) -> list[EvalDoc]:
    """One long pair per set and source: its documents concatenated in id order (the gold
    beads shifted to match; raw text's paragraphs numbered on), set name ``long`` (or
    ``long-e2e`` for raw text), variant the set's name."""
    groups: dict[tuple[str, str], list[EvalDoc]] = {}
    for d in docs:
        if d.set_name in LONG_SETS:
            groups.setdefault((d.set_name, d.source), []).append(d)
    out = []
    for (set_name, source), members in sorted(groups.items()):
        en, ar, gold, pe, pa = [], [], [], 0, 0
        for d in sorted(members, key=lambda d: d.doc_id):
            # Gold units: sentences, or paragraphs for raw text.
            e0, a0 = (pe, pa) if d.raw else (len(en), len(ar))
            en += [Sentence(s.text, s.paragraph + pe, s.line) for s in d.en]
            ar += [Sentence(s.text, s.paragraph + pa, s.line) for s in d.ar]
            gold += [(tuple(i + e0 for i in e), tuple(j + a0 for j in a)) for e, a in d.gold]
            pe, pa = pe + d.n_en_par, pa + d.n_ar_par
        raw = members[0].raw
        out.append(EvalDoc("long-e2e" if raw else "long", f"{set_name}-{source}", set_name, source, en, ar, gold,
                           raw=raw, n_en_par=pe, n_ar_par=pa))
    return out


def own_line_documents(docs: list[EvalDoc], seeds=(0, 1), counts=(1, 3)) -> list[EvalDoc]:
    """Faithful translations with English lines of their own: each ``clean`` document of
    dev and dev-split, for every seed and count k, with k English lines of another document
    of its source (the seed's random choice) inserted before k distinct random gold beads
    (not the first: a report's line of its own goes between translated units, not inside
    one), gold null; set name ``own-lines``, id ``<set>/<id>+<k>@<seed>``."""
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        for set_name in ("dev", "dev-split"):
            pool = sorted((d for d in docs if d.set_name == set_name), key=lambda d: d.doc_id)
            for d in pool:
                if d.variant != "clean":
                    continue
                others = [o for o in pool if o.source == d.source and o.doc_id != d.doc_id]
                starts = sorted(e[0] for e, _ in d.gold if e and e[0] > 0)
                for k in counts:
                    if not others or len(starts) < k:
                        continue
                    donor = others[rng.integers(len(others))]
                    texts = [donor.en[i].text for i in rng.choice(len(donor.en), k, replace=False)]
                    at = sorted(int(x) for x in rng.choice(starts, k, replace=False))
                    en, new_index, own = [], {}, []
                    for i, sentence in enumerate(d.en):
                        while at and at[0] == i:
                            at.pop(0)
                            own.append(len(en))
                            en.append(Sentence(texts[len(own) - 1], sentence.paragraph, sentence.line))
                        new_index[i] = len(en)
                        en.append(sentence)
                    gold = [(tuple(new_index[i] for i in e), tuple(a)) for e, a in d.gold] + [((x,), ()) for x in own]
                    out.append(EvalDoc("own-lines", f"{set_name}/{d.doc_id}+{k}@{seed}", set_name, d.source, en, d.ar,
                                       gold))
    return out


def joined_arabic_documents(docs: list[EvalDoc]) -> list[EvalDoc]:
    """dev-split with each two neighbouring Arabic lines joined into one (lines 0+1, 2+3,
    ...), as a literary translator's long sentence is: the gold beads that share a joined
    line become one, with any line with no counterpart between their lines (one elsewhere
    stays alone), so that beads grow past 8-1 (up to 16-1). Set name ``joined-arabic``."""
    out = []
    for d in docs:
        if d.set_name != "dev-split":
            continue
        ar = [Sentence(" ".join(s.text for s in d.ar[j:j + 2]), d.ar[j].paragraph, d.ar[j].line)
              for j in range(0, len(d.ar), 2)]
        merged: list[tuple[set, set]] = []  # (English, joined Arabic) of each bead, in gold order
        owner: dict[int, int] = {}  # joined Arabic line -> its bead in merged
        for e, a in d.gold:
            joined = {j // 2 for j in a}
            # dev-split's gold is monotonic: a bead can share only its first joined line
            # with an earlier bead.
            k = owner.get(min(joined)) if joined else None
            if k is None:
                merged.append((set(), set()))
                k = len(merged) - 1
            merged[k][0].update(e)
            merged[k][1].update(joined)
            owner.update(dict.fromkeys(joined, k))
        # A line with no counterpart between a joined bead's lines is taken into it (the
        # long sentence covers it): beads stay runs of consecutive lines.
        spans = [(set(range(min(e), max(e) + 1)) if e else e, set(range(min(a), max(a) + 1)) if a else a)
                 for e, a in merged if e or a]
        inside_en = {i for e, a in spans if e and a and len(e) > 1 for i in e}
        inside_ar = {j for e, a in spans if e and a and len(a) > 1 for j in a}
        gold = [(tuple(sorted(e)), tuple(sorted(a))) for e, a in spans
                if (e and a) or not (e & inside_en or a & inside_ar)]
        out.append(EvalDoc("joined-arabic", d.doc_id, d.variant, d.source, d.en, ar, gold))
    return out


def short_documents(docs: list[EvalDoc], seed: int = 0, sizes: tuple[int, int] = (6, 14)) -> list[EvalDoc]:
    """News-report-sized documents: each document of dev, dev-split and dev-e2e cut between
    gold beads into pieces of 6 to 14 Arabic units (the seed's random choice for each
    piece; a last piece of fewer than 3 joins the one before). Set name ``short``,
    ``short-split`` or ``short-e2e``, id ``<id>#<piece>``."""
    names = {"dev": "short", "dev-split": "short-split", "dev-e2e": "short-e2e"}
    rng = np.random.default_rng(seed)
    out = []
    for d in docs:
        if d.set_name not in names:
            continue
        pieces: list[list] = [[]]
        target = rng.integers(sizes[0], sizes[1] + 1)
        for bead in d.gold:  # gold beads in order (these sets' gold is monotonic)
            pieces[-1].append(bead)
            if sum(len(a) for _, a in pieces[-1]) >= target:
                pieces.append([])
                target = rng.integers(sizes[0], sizes[1] + 1)
        if not pieces[-1]:
            pieces.pop()
        if len(pieces) > 1 and sum(len(a) for _, a in pieces[-1]) < 3:
            tail = pieces.pop()
            pieces[-1] += tail
        for k, piece in enumerate(pieces):
            en_units = [i for e, _ in piece for i in e]
            ar_units = [j for _, a in piece for j in a]
            e0, a0 = min(en_units, default=0), min(ar_units, default=0)
            gold = [(tuple(i - e0 for i in e), tuple(j - a0 for j in a)) for e, a in piece]
            if d.raw:  # units are paragraphs: take their sentences, paragraphs numbered from 0
                en_set, ar_set = set(en_units), set(ar_units)
                en = [Sentence(s.text, s.paragraph - e0, s.line) for s in d.en if s.paragraph in en_set]
                ar = [Sentence(s.text, s.paragraph - a0, s.line) for s in d.ar if s.paragraph in ar_set]
            else:
                en, ar = [d.en[i] for i in en_units], [d.ar[j] for j in ar_units]
            out.append(EvalDoc(names[d.set_name], f"{d.doc_id}#{k}", d.variant, d.source, en, ar, gold, raw=d.raw,
                               n_en_par=len(en_units) if d.raw else 0, n_ar_par=len(ar_units) if d.raw else 0))
    return out


def raw_reorder_documents(docs: list[EvalDoc]) -> list[EvalDoc]:
    """dev-reorder as raw text: each document's lines become paragraphs (as dev-e2e's
    are made from dev's), segmented as the aligner segments raw text; the gold is over
    paragraphs, the lines' own indices. Set name ``reorder-e2e``."""
    out = []
    for d in docs:
        if d.set_name != "dev-reorder":
            continue
        en, ar = (segment("\n\n".join(s.text for s in side), lang) for side, lang in ((d.en, "en"), (d.ar, "ar")))
        out.append(EvalDoc("reorder-e2e", d.doc_id, d.variant, d.source, en, ar, d.gold, raw=True,
                           n_en_par=len(d.en), n_ar_par=len(d.ar)))
    return out


# The derived sets: (option, suffix of their encodings' cache, maker, columns, what they are).
DERIVED = [
    ("--own-lines", "own", own_line_documents, OWN_FIGURES,
     "the clean documents with 1 or 3 English lines of their own inserted"),
    ("--long", "long", long_documents, LONG_FIGURES, "each set's documents of one source concatenated"),
    ("--raw-reorder", "raw-reorder", raw_reorder_documents, RAW_REORDER_FIGURES,
     "dev-reorder written as raw text, one paragraph per line"),
    ("--joined-arabic", "joined", joined_arabic_documents, JOINED_FIGURES,
     "dev-split with each two neighbouring Arabic lines joined, beads up to 16-1"),
    ("--short", "short", short_documents, SHORT_FIGURES,
     "dev, dev-split and dev-e2e cut into news-report-sized pieces of 6-14 Arabic lines"),
]


def documents_key(al: Aligner, docs: list[EvalDoc]) -> str:
    """What a cache of encodings must have been made from: the encoder, the longest run
    pooled, and every sentence of every document, in order."""
    h = hashlib.sha256(f"{al.encoder_name}\0{al.config.max_run}".encode())
    for d in docs:
        for side in (d.en, d.ar):
            h.update(b"\0" + str(len(side)).encode())
            for s in side:
                h.update(b"\1" + s.text.encode())
    return h.hexdigest()


def cached_encodings(al: Aligner, docs: list[EvalDoc], cache: Path | None) -> list[tuple]:
    """The documents' encodings, from ``cache`` when it was made from these documents with
    this encoder (else encoded, and the cache written)."""
    key = documents_key(al, docs)
    if cache and cache.is_file():
        stored = pickle.loads(cache.read_bytes())
        if isinstance(stored, dict) and stored.get("key") == key:
            return stored["encoded"]
        print(f"{cache}: made from other documents or another encoder: encoding again", file=sys.stderr)
    encoded = encode_all(al, docs)
    if cache:
        cache.write_bytes(pickle.dumps({"key": key, "encoded": encoded}))
    return encoded


_STATE: dict = {}


def _align_setting(cfg: AlignmentConfig) -> dict:
    al, docs, encoded = _STATE["al"], _STATE["docs"], _STATE["encoded"]
    counts = {}
    # Searched together (short documents pay each row's array operations once).
    for d, doc in zip(docs, al.align_encoded_many(encoded, cfg)):
        if isinstance(doc, Exception):
            raise doc
        counts[(d.set_name, d.doc_id)] = doc_counts(d, doc.beads)
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval-root", type=Path, required=True, help="folder holding dev, dev-split, dev-e2e, dev-reorder")
    ap.add_argument("--sets", nargs="+", default=SETS, help="which sets under --eval-root (default: all four)")
    ap.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2", help="values to sweep (repeatable)")
    ap.add_argument("--config", action="append", default=[], metavar="KEY=VALUE", help="base setting (repeatable)")
    ap.add_argument("--encoder", default=None)
    ap.add_argument("--workers", type=int, default=1, help="settings aligned in parallel (processes)")
    ap.add_argument("--cache", type=Path, default=None, help="pickle of the encodings, reused when present")
    for option, _, _, figures, what in DERIVED:
        ap.add_argument(option, action="store_true",
                        help=f"also align {what} (columns {', '.join(label for label, *_ in figures)})")
    ap.add_argument("--by-source", action="store_true", help="also print each setting's objective on each source")
    args = ap.parse_args(argv)

    base = replace(AlignmentConfig(), **parse_assignments(args.config))
    grid = {}
    for item in args.grid:
        key, sep, values = item.partition("=")
        if not sep:
            raise SystemExit(f"expected KEY=V1,V2, got {item!r}")
        grid[key.strip()] = [parse_value(key.strip(), v.strip()) for v in values.split(",")]
    settings = [replace(base, **dict(zip(grid, combo))) for combo in itertools.product(*grid.values())] or [base]

    docs: list[EvalDoc] = []
    for name in args.sets:
        docs += load_set(args.eval_root / name, name)
    # Derived sets (dev-split) may not name the source: take it from the dev document.
    known = {d.doc_id: d.source for d in docs if d.source != "unknown"}
    for d in docs:
        if d.source == "unknown":
            d.source = known.get(d.meta.get("source_id", d.doc_id), "unknown")
    t0 = time.perf_counter()
    al = Aligner(**({"encoder": args.encoder} if args.encoder else {}), cache_size=10**7)
    al.config = replace(al.config, max_side=max(s.max_side for s in settings))
    encoded = cached_encodings(al, docs, args.cache)
    figures = FIGURES
    derived = [(suffix, make, extra) for option, suffix, make, extra, _ in DERIVED
               if getattr(args, option[2:].replace("-", "_"))]
    dev_docs = list(docs)
    for suffix, make, extra_figures in derived:
        made = make(dev_docs)
        # Each in a cache of its own (long documents' runs cross the joined documents'
        # boundaries, so they are pooled anew).
        encoded += cached_encodings(al, made, args.cache.with_name(f"{args.cache.stem}-{suffix}.pkl")
                                    if args.cache else None)
        docs += made
        figures = figures + extra_figures
    encode_s = time.perf_counter() - t0
    _STATE.update(al=al, docs=docs, encoded=encoded)

    t0 = time.perf_counter()
    if args.workers > 1 and len(settings) > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(args.workers) as pool:
            all_counts = pool.map(_align_setting, settings, chunksize=1)
    else:
        all_counts = [_align_setting(s) for s in settings]
    align_s = time.perf_counter() - t0

    rows = []
    for cfg, counts in zip(settings, all_counts):
        rows.append({"setting": {k: getattr(cfg, k) for k in grid}, "figures": _figures_by_set(docs, counts, figures=figures)})

    labels = [f[0] for f in figures] + ["objective"]
    print(f"documents: {len(docs)} ({', '.join(args.sets)}); encoded in {encode_s:.1f}s; "
          f"{len(settings)} settings aligned in {align_s:.1f}s")
    print(f"base: {json.dumps({k: v for k, v in base.to_dict().items() if k not in grid})}")
    head = f"{'setting':<48} " + " ".join(f"{lab:>9}" for lab in labels)
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{_setting_name(r)[:48]:<48} " + " ".join(_fmt(r["figures"][lab]) for lab in labels))

    sources = sorted({d.source for d in docs})
    if args.by_source:
        print("\nobjective by source")
        print(f"{'setting':<48} " + " ".join(f"{s:>9}" for s in sources))
        for r, counts in zip(rows, all_counts):
            r["by_source"] = {s: _figures_by_set(docs, counts, lambda d, s=s: d.source == s, figures)["objective"]
                              for s in sources}
            print(f"{_setting_name(r)[:48]:<48} " + " ".join(_fmt(r["by_source"][s]) for s in sources))

    best_all = max(range(len(rows)), key=lambda k: rows[k]["figures"]["objective"] or 0)
    print(f"\nbest on all sources: {rows[best_all]['setting']}")
    loso = {}
    if len(sources) > 1:
        print("\nleave one source out (setting chosen on the other sources; figures on the held-out one)")
        print(f"{'held out':<10} {'which':<10} " + " ".join(f"{lab:>9}" for lab in labels) + "  setting")
        for s in sources:
            others = [_figures_by_set(docs, c, lambda d, s=s: d.source != s, figures)["objective"] or 0
                      for c in all_counts]
            pick = max(range(len(rows)), key=lambda k: others[k])
            held = _figures_by_set(docs, all_counts[pick], lambda d, s=s: d.source == s, figures)
            insample = _figures_by_set(docs, all_counts[best_all], lambda d, s=s: d.source == s, figures)
            loso[s] = {"setting": rows[pick]["setting"], "held_out": held, "in_sample": insample}
            print(f"{s:<10} {'held out':<10} " + " ".join(_fmt(held[lab]) for lab in labels) + f"  {rows[pick]['setting']}")
            print(f"{'':<10} {'in-sample':<10} " + " ".join(_fmt(insample[lab]) for lab in labels))
    print(json.dumps({"rows": rows, "best": rows[best_all]["setting"], "loso": loso,
                      "seconds": {"encode": round(encode_s, 2), "align": round(align_s, 2)}}))
    return 0


def _figures_by_set(docs: list[EvalDoc], counts: dict, keep=lambda d: True, figures=FIGURES) -> dict:
    out = {}
    for label, set_name, variant, key in figures:
        members = [d for d in docs if d.set_name == set_name and (variant is None or d.variant == variant) and keep(d)]
        out[label] = summary(members, {d.doc_id: counts[(d.set_name, d.doc_id)] for d in members}).get(key) \
            if members else None
    vals = [out[k] for k in OBJECTIVE if out[k] is not None]
    out["objective"] = round(sum(vals) / len(vals), 6) if vals else None
    return out


def _setting_name(row: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in row["setting"].items()) or "(base)"


def _fmt(x) -> str:
    return f"{'-':>9}" if x is None else f"{x:>9.3f}"


if __name__ == "__main__":
    sys.exit(main())
