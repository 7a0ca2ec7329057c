"""Memory bounded by design (issue 18, High 3): run embeddings of a long document are
computed on demand in blocks (``aligner.encoders.pooling``) with the same bits as all at once, and the
sentence cache never holds a whole long document. The peak RSS of whole runs on the
largest inputs the default limits admit is measured by ``benchmarks/bench_memory.py``."""

from __future__ import annotations

import numpy as np
import pytest

from aligner import Aligner, AlignmentConfig
from aligner.encoders import pooling as runs_mod
from aligner.alignment import align_runs, center_runs, evidence_floor


class PooledTrigrams:
    """A deterministic stand-in for an encoder that pools runs from token states (like
    the embedded default): states are hashed character-trigram counts, the "head" is an
    elementwise squashing and a row normalisation (each row independent of the others)."""

    name = "test-pooled-trigrams"
    settings = {"dim": 48}

    def __init__(self) -> None:
        self.head_rows: list[int] = []

    def encode_states(self, texts):
        out = np.zeros((len(texts), 48), np.float32)
        for row, text in enumerate(texts):
            for k in range(max(1, len(text) - 2)):
                out[row, sum(map(ord, text[k:k + 3])) % 48] += 1.0
        return out, np.fromiter((max(1, len(t) // 4) for t in texts), np.int64, len(texts))

    def embed_states(self, states, lens):
        states = np.asarray(states, np.float32)
        self.head_rows.append(len(states))
        x = states / np.sqrt(np.asarray(lens, np.float32))[:, None] - 1.0
        y = x / (1.0 + np.abs(x))
        norms = np.linalg.norm(y, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return (y / norms).astype(np.float32)

    def encode(self, texts, *, batch_size=None):
        states, lens = self.encode_states(texts)
        return self.embed_states(states, lens)


WORDS = "river flood city council bread prices market cup final museum minister trade talks".split()
AR_WORDS = "نهر فيضان مدينة مجلس خبز أسعار سوق كأس نهائي متحف وزير تجارة محادثات".split()


def _document(n: int, words: list[str], seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [f"{k % 97} " + " ".join(rng.choice(words, size=3 + k % 5)) for k in range(n)]


@pytest.fixture
def small_blocks(monkeypatch):
    """Tiny blocks and cache, so that a test-sized document spans many blocks and the
    cache evicts."""
    monkeypatch.setattr(runs_mod, "BLOCK", 37)
    monkeypatch.setattr(runs_mod, "CACHE_BLOCKS", 5)


def _aligner(held: bool) -> Aligner:
    al = Aligner(encoder=PooledTrigrams())
    al.held_run_bytes = 1 << 40 if held else 0
    return al


def test_lazy_runs_are_the_same_bits_as_held_runs(small_blocks):
    texts = _document(700, WORDS, 1)
    held = _aligner(True).run_embeddings(texts, "en")
    lazy = _aligner(False).run_embeddings(texts, "en")
    assert all(isinstance(r, np.ndarray) for r in held)
    assert all(isinstance(r, runs_mod.LazyRuns) for r in lazy)
    for h, z in zip(held, lazy):
        assert len(z) == len(h) and z.shape == h.shape
        assert np.array_equal(np.asarray(z), h)
        assert np.array_equal(z[5], h[5]) and np.array_equal(z[-1], h[-1])
        assert np.array_equal(z[30:200], h[30:200]) and np.array_equal(z[::7], h[::7])
        index = np.array([0, 36, 37, 38, 400, 3, len(h) - 1])
        assert np.array_equal(z[index], h[index])
    # Whole-document means, and local ones (segments of 50 rows crossing the blocks of 37).
    for window in (0, 50, 100):
        for h, z in zip(center_runs(held, window), center_runs(lazy, window)):
            assert np.array_equal(np.asarray(z), h)
            assert np.array_equal(z[np.arange(40, 120)], h[40:120]) and np.array_equal(z[[5, 2, 90]], h[[5, 2, 90]])
            assert np.array_equal(z[[-1, 650]], h[[-1, 650]])
    # The local means differ from the whole document's (the rows are not centred alike).
    assert not np.array_equal(center_runs(held[:1], 50)[0], center_runs(held[:1])[0])
    ce, ch = center_runs(lazy[:1])[0], center_runs(held[:1])[0]
    assert evidence_floor(ce, ce, 0.1) == evidence_floor(ch, ch, 0.1)


def test_short_documents_and_empty_runs(small_blocks):
    for n in (1, 2, 9, 10, 11, 37, 38):  # around max_run (10) and the blocks' size
        texts = _document(n, WORDS, n)
        held = _aligner(True).run_embeddings(texts, "en")
        lazy = _aligner(False).run_embeddings(texts, "en")
        assert [len(r) for r in lazy] == [max(n - k, 0) for k in range(10)]
        for h, z in zip(held, lazy):
            assert np.asarray(z).shape == h.shape == (len(h), 48)
            assert np.array_equal(np.asarray(z), h)


# Past max_full_cells at a test's size (the default, 250,000 cells, is about 500 x 500
# lines), so that the coarse-to-fine band search runs.
LONG = {"max_full_cells": 20_000}


@pytest.mark.parametrize("config", [AlignmentConfig(**LONG),
                                    AlignmentConfig(evidence_quantile=0.05, paragraph_penalty=0.5, null_weight=0.3,
                                                    **LONG)])
def test_long_document_aligns_the_same_on_demand(small_blocks, config):
    """300 x 280 lines: past max_full_cells, so the coarse-to-fine band search runs; every
    bead and score is the same with run embeddings computed on demand."""
    en = _document(300, WORDS, 2)
    ar = _document(280, AR_WORDS, 3)
    out = []
    for held in (True, False):
        al = _aligner(held)
        al.config = config
        out.append(al.align_sentences(en, ar).beads)
    assert (301 * 281) > config.max_full_cells
    assert out[0] == out[1]
    assert sum(not b.is_null for b in out[0]) > 50


def test_lazy_runs_need_only_states_and_a_bounded_cache(small_blocks):
    encoder = PooledTrigrams()
    al = Aligner(encoder=encoder)
    al.held_run_bytes = 0
    texts = _document(800, WORDS, 4)
    lazy = al.run_embeddings(texts, "en")
    table = lazy[0].table
    assert table.states.shape == (800, 48)
    assert table.checkpoints.shape[0] == 800 // 37 + 1
    beads = align_runs(lazy, lazy, AlignmentConfig())
    assert [(b.en, b.ar) for b in beads] == [((i,), (i,)) for i in range(800)]  # itself: the diagonal
    assert len(table._cache) <= 5
    # The head never sees more than one block at a time.
    assert max(encoder.head_rows) <= 37


def test_held_runs_are_computed_in_blocks(small_blocks):
    encoder = PooledTrigrams()
    Aligner(encoder=encoder).run_embeddings(_document(300, WORDS, 5), "en")
    assert max(encoder.head_rows) <= 37


def test_sentence_cache_is_bounded_and_keeps_copies():
    al = Aligner(encoder=PooledTrigrams(), cache_size=10)
    texts = _document(200, WORDS, 6)
    first = al._encode_cached(texts, True)
    assert len(al._cache) == 10
    assert list(al._cache) == list(dict.fromkeys(reversed(texts)))[:10][::-1]
    for state, _ in al._cache.values():
        assert state.base is None and state.shape == (48,)  # a copy, not a view of a batch
    again = al._encode_cached(texts[::-1], True)
    assert np.array_equal(again[0], first[0][::-1]) and np.array_equal(again[1], first[1][::-1])
    uncached = Aligner(encoder=PooledTrigrams(), cache_size=0)._encode_cached(texts, True)
    assert np.array_equal(uncached[0], first[0]) and np.array_equal(uncached[1], first[1])


@pytest.mark.slow
def test_examples_align_the_same_with_runs_on_demand(default_aligner, monkeypatch):
    """The embedded encoder, a real document pair: every bead and score the same with
    run embeddings held and computed on demand in small blocks."""
    from pathlib import Path

    monkeypatch.setattr(runs_mod, "BLOCK", 16)
    monkeypatch.setattr(runs_mod, "CACHE_BLOCKS", 3)
    root = Path(__file__).resolve().parents[1] / "examples"
    for path in sorted((root / "en").glob("*.txt"))[:2]:
        en = path.read_text(encoding="utf-8")
        ar = (root / "ar" / path.name).read_text(encoding="utf-8")
        held = default_aligner.align(en, ar).beads
        default_aligner.clear_cache()
        monkeypatch.setattr(default_aligner, "held_run_bytes", 0)
        lazy = default_aligner.align(en, ar).beads
        monkeypatch.setattr(default_aligner, "held_run_bytes", Aligner.held_run_bytes)
        assert held == lazy


def test_sentences_are_encoded_in_chunks_into_the_result():
    """A document's new sentences go to the encoder a chunk at a time, straight into the
    result: the same rows as one call, repeats and cached texts included."""
    texts = _document(120, WORDS, 7)
    texts = texts + texts[:30] + texts[50:55]
    whole = Aligner(encoder=PooledTrigrams(), cache_size=0)._encode_cached(texts, True)
    encoder = PooledTrigrams()
    calls = []
    encode_states = encoder.encode_states
    encoder.encode_states = lambda part: calls.append(len(part)) or encode_states(part)
    al = Aligner(encoder=encoder, cache_size=40)
    al.encode_chunk = 16
    al._encode_cached(texts[100:110], True)  # some texts cached beforehand
    calls.clear()
    chunked = al._encode_cached(texts, True)
    assert max(calls) <= 16 and sum(calls) == 110
    assert np.array_equal(chunked[0], whole[0]) and np.array_equal(chunked[1], whole[1])
    unpooled = Aligner(encoder=encoder, cache_size=0)
    unpooled.encode_chunk = 16
    assert np.array_equal(unpooled._encode_cached(texts, False)[0], encoder.encode(texts))


def test_states_spilled_to_a_temporary_file_give_the_same_bits(small_blocks, monkeypatch):
    """A long document's sentence states are written to an unnamed temporary file and
    read back a block at a time: every run embedding, centred row and bead the same."""
    texts = _document(700, WORDS, 8)
    held = _aligner(True).run_embeddings(texts, "en")
    in_memory = _aligner(False).run_embeddings(texts, "en")
    assert not in_memory[0].table.spilled
    monkeypatch.setattr(runs_mod, "SPILL_BYTES", 0)
    spilled = _aligner(False).run_embeddings(texts, "en")
    table = spilled[0].table
    assert table.spilled and table.states is None
    assert np.array_equal(table.state_rows(3, 90), in_memory[0].table.states[3:90])
    for h, z in zip(held, spilled):
        assert np.array_equal(np.asarray(z), h)
        index = np.array([0, 36, 37, 38, 400, 3, len(h) - 1])
        assert np.array_equal(z[index], h[index]) and np.array_equal(z[-1], h[-1])
    for h, z in zip(center_runs(held), center_runs(spilled)):
        assert np.array_equal(np.asarray(z), h)
    en, ar = _document(300, WORDS, 2), _document(280, AR_WORDS, 3)
    beads = []
    for spill in (False, True):
        monkeypatch.setattr(runs_mod, "SPILL_BYTES", 0 if spill else 1 << 40)
        al = _aligner(False)
        al.config = AlignmentConfig(**LONG)
        beads.append(al.align_sentences(en, ar).beads)
    assert beads[0] == beads[1]
