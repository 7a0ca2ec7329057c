"""Gold-aligned evaluation sets, read where they lie (``../shared/eval``), for the
alignment benchmark and the tuning sweep.

Two layouts:

* **sentence** sets (``dev``, ``dev-split``, ``dev-reorder``): ``sent/<id>.en|.ar`` one unit
  per line, ``sent/<id>.gold`` beads over those lines, ``manifest.json`` (``sent``: id,
  variant, source);
* **raw** sets (``dev-e2e``): ``docs/en|ar/<id>.txt`` raw text with paragraphs,
  ``gold/<id>.gold`` beads over paragraph indices, ``manifest.json`` (``docs``: id, variant,
  source, ``n_en_par``, ``n_ar_par``). The aligner segments the text itself; its beads are
  mapped to paragraphs and scored on links (``aligner.evaluation.LinkMetric``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aligner.alignment import center_runs
from aligner.evaluation import AlignmentMetric, LinkMetric, paragraph_beads, read_beads
from aligner.text.segmentation import Sentence, segment


@dataclass
class EvalDoc:
    """One gold-aligned document pair of an evaluation set."""

    set_name: str
    doc_id: str
    variant: str
    source: str
    en: list[Sentence]
    ar: list[Sentence]
    gold: list
    raw: bool = False
    n_en_par: int = 0
    n_ar_par: int = 0
    meta: dict = field(default_factory=dict)


def read_units(path: Path) -> list[str]:
    """One unit per line; one trailing newline stripped, blank lines kept as units."""
    text = path.read_text(encoding="utf-8")
    if text.endswith("\n"):
        text = text[:-1]
    if text == "":
        return []
    return text.split("\n")


def _manifest(data: Path, key: str) -> dict[str, dict]:
    path = data / "manifest.json"
    if not path.is_file():
        return {}
    m = json.loads(path.read_text(encoding="utf-8"))
    docs = m.get(key, m.get("sent", m.get("docs", []))) if isinstance(m, dict) else m
    return {d["id"]: d for d in docs if isinstance(d, dict) and "id" in d}


def is_raw_set(data: Path) -> bool:
    return (data / "docs" / "en").is_dir() and (data / "gold").is_dir()


def load_sentence_set(data: Path, name: str | None = None) -> list[EvalDoc]:
    sent = data / "sent"
    meta = _manifest(data, "sent")
    ids = sorted(p.name[: -len(".gold")] for p in sent.glob("*.gold"))
    docs = []
    for i in ids:
        if not ((sent / f"{i}.en").is_file() and (sent / f"{i}.ar").is_file()):
            continue
        m = meta.get(i, {})
        en = [Sentence(t, 0, k + 1) for k, t in enumerate(read_units(sent / f"{i}.en"))]
        ar = [Sentence(t, 0, k + 1) for k, t in enumerate(read_units(sent / f"{i}.ar"))]
        docs.append(EvalDoc(name or data.name, i, m.get("variant", "all" if not meta else "unknown"),
                            m.get("source", "unknown"), en, ar, read_beads(sent / f"{i}.gold"), meta=m))
    return docs


def load_raw_set(data: Path, name: str | None = None) -> list[EvalDoc]:
    meta = _manifest(data, "docs")
    docs = []
    for i in sorted(meta):
        m = meta[i]
        en = segment((data / "docs" / "en" / f"{i}.txt").read_text(encoding="utf-8"), "en")
        ar = segment((data / "docs" / "ar" / f"{i}.txt").read_text(encoding="utf-8"), "ar")
        docs.append(EvalDoc(name or data.name, i, m.get("variant", "unknown"), m.get("source", "unknown"),
                            en, ar, read_beads(data / "gold" / f"{i}.gold"), raw=True,
                            n_en_par=int(m["n_en_par"]), n_ar_par=int(m["n_ar_par"]), meta=m))
    return docs


def load_set(data: Path, name: str | None = None) -> list[EvalDoc]:
    return load_raw_set(data, name) if is_raw_set(data) else load_sentence_set(data, name)


def predicted_units(doc: EvalDoc, beads) -> list:
    """The prediction in the gold's units: sentence beads, or paragraph beads for raw text."""
    pairs = [(tuple(b.en), tuple(b.ar)) for b in beads]
    if not doc.raw:
        return pairs
    return paragraph_beads(pairs, [s.paragraph for s in doc.en], [s.paragraph for s in doc.ar],
                           doc.n_en_par, doc.n_ar_par)


def doc_counts(doc: EvalDoc, beads):
    """Metric counts of one document: AlignmentCounts, or LinkCounts for raw text."""
    pred = predicted_units(doc, beads)
    if doc.raw:
        return LinkMetric().compute(doc.gold, pred, doc.n_en_par, doc.n_ar_par)
    return AlignmentMetric().compute(doc.gold, pred)


def summary(docs: list[EvalDoc], counts: dict[str, object]) -> dict:
    """Scores of a set's documents as a flat dict (strict/lax/unaligned, or link)."""
    if docs and docs[0].raw:
        s = LinkMetric().aggregate(counts[d.doc_id] for d in docs)
    else:
        s = AlignmentMetric().aggregate(counts[d.doc_id] for d in docs)
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in s.as_dict().items()}


# ----------------------------------------------------------------------------- evidence


def centred_bead_cosines(en_runs, ar_runs, beads) -> np.ndarray:
    """Centred cosine (as the search sees it) of each aligned bead."""
    cen, car = center_runs(en_runs), center_runs(ar_runs)
    return np.array([float(cen[len(b.en) - 1][b.en[0]] @ car[len(b.ar) - 1][b.ar[0]])
                     for b in beads if not b.is_null], np.float64)


def unrelated_p90(encoded: list[tuple], pairs_per_doc: int = 400, seed: int = 0) -> float:
    """90th percentile of the centred cosine of random unrelated sentence pairs: an
    English sentence of one document against an Arabic sentence of another (each
    centred in its own document)."""
    rng = np.random.default_rng(seed)
    cen = [center_runs(e.runs[:1])[0] for e, _ in encoded]
    car = [center_runs(a.runs[:1])[0] for _, a in encoded]
    sims = []
    n = len(encoded)
    if n < 2:
        return float("nan")
    for k in range(n):
        other = (k + 1 + rng.integers(0, n - 1, pairs_per_doc)) % n
        i = rng.integers(0, len(cen[k]), pairs_per_doc)
        for o, ii in zip(other, i):
            j = rng.integers(0, len(car[o]))
            sims.append(float(cen[k][ii] @ car[o][j]))
    return float(np.quantile(sims, 0.9))
