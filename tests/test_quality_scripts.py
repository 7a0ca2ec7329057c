"""The quality model's fit script (scripts/fit_quality.py) and benchmark
(benchmarks/eval_scores.py): their pieces, and the benchmark's interface (its flags and
last JSON line), on gold-aligned documents the test writes from the examples."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aligner import segment
from aligner.scoring.calibration import parse_examples_gold

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(ROOT / "scripts"))

import fit_quality  # noqa: E402


def test_fit_logistic_keeps_weights_non_negative_and_separates():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] + 0.3 * rng.normal(size=400) > 0).astype(float)
    X[:, 1] = -X[:, 0] + 0.1 * rng.normal(size=400)  # evidence pointing the wrong way: weight pinned at 0
    w, b = fit_quality.fit_logistic(X, y, np.full(400, 1 / 400), l2=0.001)
    assert w[0] > 1.0 and w[1] == 0.0
    p = 1 / (1 + np.exp(-(X @ w + b)))
    assert fit_quality.roc_auc(p[y == 1], p[y == 0]) > 0.95


def test_class_weights_and_folds():
    labels = np.array([1, 1, 0, 0, 0, 0], float)
    w = fit_quality.class_weights(labels, 0.65)
    assert w[labels == 1].sum() == pytest.approx(0.65) and w[labels == 0].sum() == pytest.approx(0.35)
    docs = np.array(["a", "a", "b", "c", "c", "d", "e"])
    folds = fit_quality.folds_by_document(docs, 3)
    assert len(folds) == 3
    assert np.array_equal(np.sum(folds, axis=0), np.ones(len(docs)))  # every row held out exactly once
    for fold in folds:  # whole documents only: a document's rows are all in a fold or none is
        for d in set(docs):
            assert fold[docs == d].all() or not fold[docs == d].any()


def test_roc_auc_counts_ties_half():
    assert fit_quality.roc_auc([1, 2], [0, 0]) == 1.0
    assert fit_quality.roc_auc([1], [1]) == 0.5
    assert fit_quality.roc_auc([0], [1]) == 0.0


def _write_dev_format(folder: Path) -> None:
    """The examples as a dev-format folder: sent/<id>.en|.ar one sentence a line, .gold beads."""
    sent = folder / "sent"
    sent.mkdir(parents=True)
    for doc_id, (_, _, beads) in sorted(parse_examples_gold(EXAMPLES / "README.md").items()):
        en = [s.text for s in segment((EXAMPLES / "en" / f"{doc_id}.txt").read_text(encoding="utf-8"), "en")]
        ar = [s.text for s in segment((EXAMPLES / "ar" / f"{doc_id}.txt").read_text(encoding="utf-8"), "ar")]
        (sent / f"{doc_id}.en").write_text("\n".join(en) + "\n", encoding="utf-8")
        (sent / f"{doc_id}.ar").write_text("\n".join(ar) + "\n", encoding="utf-8")
        (sent / f"{doc_id}.gold").write_text("".join(f"{list(e)}:{list(a)}\n" for e, a in beads), encoding="utf-8")


@pytest.mark.slow
def test_eval_scores_interface(tmp_path):
    """`benchmarks/eval_scores.py --data DIR`: a table, then one JSON object as the last
    line with quality's roc_auc_neighbour, gold_kept and negatives_rejected in [0, 1]."""
    _write_dev_format(tmp_path / "data")
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "eval_scores.py"), "--data",
                             str(tmp_path / "data"), "--no-e5", "--limit", "3"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    last = json.loads(result.stdout.strip().splitlines()[-1])
    quality = last["quality"]
    for key in ("roc_auc_neighbour", "gold_kept", "negatives_rejected"):
        assert 0.0 <= quality[key] <= 1.0, key
    assert last["meta"]["documents"] == 3 and last["meta"]["e5"] is False
    assert "quality" in result.stdout and "AUC neigh" in result.stdout
    # These are the project's own easy news texts: the fast model separates them well.
    assert quality["roc_auc_neighbour"] > 0.9 and quality["gold_kept"] > 0.8


def test_eval_scores_refuses_a_folder_without_gold(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "eval_scores.py"), "--data", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "no sent/*.gold" in result.stderr
