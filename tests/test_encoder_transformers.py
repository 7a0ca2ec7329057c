"""TransformersEncoder against real (tiny, locally built) transformers models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import check_sentence_encoder
from transformers import AutoModel, AutoTokenizer

from aligner.encoders import EncoderLoadError, load_encoder
from aligner.encoders.transformers_encoder import TransformersEncoder, _is_connection_problem

TEXTS = [
    "The ministry said the talks were new.",
    "قال التقرير",
    "peace",
    "الشرطة في المدينة قال الوزير إن محادثات السلام في عام جديد",
    "Police killed 3 people in the attack on the city, the report said; the government was for peace talks.",
    "",
    "a",
]


def _reference(folder: Path, texts: list[str], pooling: str) -> np.ndarray:
    """Embeddings computed straight from the saved checkpoint, one text at a time (no
    padding involved), then L2-normalised."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).float().eval()
    rows = []
    with torch.inference_mode():
        for text in texts:
            batch = tokenizer([text], return_tensors="pt", truncation=True, max_length=128)
            hidden = model(**batch).last_hidden_state[0]
            rows.append(hidden[0] if pooling == "cls" else hidden.mean(dim=0))
    matrix = torch.stack(rows).numpy()
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def cls_encoder(tiny_bert_dir: Path) -> TransformersEncoder:
    return TransformersEncoder(str(tiny_bert_dir), device="cpu", batch_size=3)


def test_shape_dtype_and_unit_norm(tiny_bert_dir: Path, cls_encoder: TransformersEncoder) -> None:
    out = cls_encoder.encode(TEXTS)
    assert out.shape == (len(TEXTS), 32)
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    # "" and "a" too: the empty text is [CLS] [SEP], a unit row like any other.
    assert not np.allclose(out[5], out[6], atol=1e-3)
    # The name is the folder it was loaded from, as recorded in every output.
    assert cls_encoder.name == str(tiny_bert_dir) == cls_encoder.settings["model"]


def test_meets_the_encoder_contract(tiny_bert_dir: Path, cls_encoder: TransformersEncoder) -> None:
    check_sentence_encoder(cls_encoder, 32)
    assert cls_encoder.settings == {
        "model": str(tiny_bert_dir), "pooling": "cls", "pooling_source": "sentence-transformers config",
        "dense": False, "dense_layers": [], "normalize": True, "model_normalize": True, "lowercase": False,
        "max_length": 128, "dim": 32, "device": "cpu", "precision": "float32", "sentence_transformers_config": True,
    }


def test_input_order_kept_despite_length_sorting(cls_encoder: TransformersEncoder) -> None:
    together = cls_encoder.encode(TEXTS, batch_size=2)
    alone = np.vstack([cls_encoder.encode([text]) for text in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    # Different texts really differ, so a row permutation would have been caught.
    assert not np.allclose(together[0], together[1], atol=1e-3)


def test_cls_pooling_from_sentence_transformers_config(tiny_bert_dir: Path, cls_encoder: TransformersEncoder) -> None:
    settings = cls_encoder.settings
    assert settings["pooling"] == "cls"
    assert settings["pooling_source"] == "sentence-transformers config"
    assert settings["model_normalize"] is True and settings["normalize"] is True
    assert settings["dense"] is False
    assert settings["sentence_transformers_config"] is True
    np.testing.assert_allclose(cls_encoder.encode(TEXTS), _reference(tiny_bert_dir, TEXTS, "cls"), atol=1e-5)


def test_mean_pooling_without_sentence_transformers_config(tiny_bert_plain_dir: Path) -> None:
    encoder = TransformersEncoder(str(tiny_bert_plain_dir), device="cpu", batch_size=4)
    assert encoder.settings["pooling"] == "mean"
    assert encoder.settings["pooling_source"] == "default"
    assert encoder.settings["sentence_transformers_config"] is False
    # Masked mean over a padded batch, by hand.
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_plain_dir)
    model = AutoModel.from_pretrained(tiny_bert_plain_dir).eval()
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    expected = ((hidden * mask).sum(1) / mask.sum(1)).numpy()
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(encoder.encode(TEXTS), expected, atol=1e-5)
    np.testing.assert_allclose(encoder.encode(TEXTS), _reference(tiny_bert_plain_dir, TEXTS, "mean"), atol=1e-5)


def test_pooling_argument_overrides_config(tiny_bert_dir: Path, tiny_bert_plain_dir: Path) -> None:
    as_mean = TransformersEncoder(str(tiny_bert_dir), device="cpu", pooling="mean")
    assert as_mean.settings["pooling"] == "mean" and as_mean.settings["pooling_source"] == "argument"
    plain = TransformersEncoder(str(tiny_bert_plain_dir), device="cpu")
    np.testing.assert_allclose(as_mean.encode(TEXTS), plain.encode(TEXTS), atol=1e-5)
    with pytest.raises(ValueError, match="Unknown pooling"):
        TransformersEncoder(str(tiny_bert_dir), device="cpu", pooling="median")


def test_dense_layer_applied(tiny_bert_dense_dir: Path) -> None:
    from safetensors.torch import load_file

    encoder = TransformersEncoder(str(tiny_bert_dense_dir), device="cpu")
    settings = encoder.settings
    assert settings["dense"] is True and settings["pooling"] == "cls" and settings["dim"] == 16
    assert settings["dense_layers"] == [{"in": 32, "out": 16, "activation": "torch.nn.modules.activation.Tanh"}]
    out = encoder.encode(TEXTS)
    assert out.shape == (len(TEXTS), 16) and out.dtype == np.float32

    weights = load_file(str(tiny_bert_dense_dir / "2_Dense" / "model.safetensors"))
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dense_dir)
    model = AutoModel.from_pretrained(tiny_bert_dense_dir).eval()
    with torch.inference_mode():
        raw = torch.stack(
            [model(**tokenizer([t], return_tensors="pt")).last_hidden_state[0, 0] for t in TEXTS]
        )
        projected = torch.tanh(raw @ weights["linear.weight"].T + weights["linear.bias"]).numpy()
    expected = projected / np.linalg.norm(projected, axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_empty_input(cls_encoder: TransformersEncoder, tiny_bert_dense_dir: Path) -> None:
    empty = cls_encoder.encode([])
    assert empty.shape == (0, 32) and empty.dtype == np.float32
    dense = TransformersEncoder(str(tiny_bert_dense_dir), device="cpu")
    assert dense.encode([]).shape == (0, 16)


def test_truncation_to_model_positions(cls_encoder: TransformersEncoder) -> None:
    # The tiny model has 128 positions; the default max_length of 256 is capped to it.
    assert cls_encoder.settings["max_length"] == 128
    long_text = " ".join(["peace talks"] * 300)
    out = cls_encoder.encode([long_text, "a"])
    assert out.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_load_encoder_with_folder(tiny_bert_dir: Path) -> None:
    encoder = load_encoder(str(tiny_bert_dir), device="cpu")
    assert isinstance(encoder, TransformersEncoder)
    assert encoder.name == str(tiny_bert_dir)
    assert encoder.encode(["قال التقرير"]).shape == (1, 32)


def test_bad_arguments(tiny_bert_dir: Path, cls_encoder: TransformersEncoder) -> None:
    with pytest.raises(ValueError, match="normalize=False"):
        TransformersEncoder(str(tiny_bert_dir), normalize=False)
    with pytest.raises(TypeError):
        cls_encoder.encode("a single string")


def test_hub_id_offline_gives_offline_options(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    # huggingface_hub reads HF_HUB_OFFLINE at import time, so set both.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    model = "aligner-tests/no-such-encoder-4f1c"
    with pytest.raises(EncoderLoadError) as info:
        TransformersEncoder(model, device="cpu")
    message = str(info.value)
    assert f"could not be reached for '{model}'" in message
    assert "use-multilingual-v3" in message
    assert "local folder" in message
    assert "HF_HUB_OFFLINE=1" in message


def test_hub_id_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    # Nothing listens on port 9: a real connection failure, answered at once.
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    model = "aligner-tests/no-such-encoder-4f1c"
    with pytest.raises(EncoderLoadError) as info:
        TransformersEncoder(model, device="cpu")
    message = str(info.value)
    assert f"could not be reached for '{model}'" in message
    assert "--encoder use-multilingual-v3" in message and "--encoder /path/to/model" in message


def _fake_hub_cache(cache: Path, repo_id: str, files: Path) -> None:
    """Lay ``files`` out as huggingface_hub's cache does for a downloaded repo."""
    import shutil

    repo = cache / ("models--" + repo_id.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(files, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")


def test_hub_id_from_cache_when_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_bert_dense_dir: Path, tiny_bert_plain_dir: Path
) -> None:
    import huggingface_hub.constants

    _fake_hub_cache(tmp_path, "org/tiny-dense", tiny_bert_dense_dir)
    _fake_hub_cache(tmp_path, "org/tiny-plain", tiny_bert_plain_dir)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))

    # The sentence-transformers files are read through the hub cache too.
    from_hub = TransformersEncoder("org/tiny-dense", device="cpu")
    assert from_hub.name == "org/tiny-dense"
    assert from_hub.settings["pooling"] == "cls" and from_hub.settings["dense"] is True
    local = TransformersEncoder(str(tiny_bert_dense_dir), device="cpu")
    np.testing.assert_allclose(from_hub.encode(TEXTS), local.encode(TEXTS), atol=1e-6)

    # Cached model without a cached modules.json: works, but says pooling was guessed.
    with pytest.warns(RuntimeWarning, match="mean pooling"):
        plain = TransformersEncoder("org/tiny-plain", device="cpu")
    assert plain.settings["pooling"] == "mean"


def test_missing_local_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such-model"
    with pytest.raises(EncoderLoadError, match="does not exist") as info:
        TransformersEncoder(str(missing))
    assert str(missing) in str(info.value)


def test_folder_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    with pytest.raises(EncoderLoadError, match="not a Hugging Face model folder") as info:
        TransformersEncoder(str(tmp_path))
    assert str(tmp_path) in str(info.value)


def test_connection_problems_are_told_apart_from_other_errors() -> None:
    from huggingface_hub.errors import LocalEntryNotFoundError

    # The shape transformers raises when the Hub refuses connections (OSError from
    # LocalEntryNotFoundError from the HTTP client's error from ConnectionRefusedError).
    def chained() -> OSError:
        try:
            try:
                raise ConnectionRefusedError(111, "Connection refused")
            except ConnectionRefusedError as low:
                raise LocalEntryNotFoundError("cannot find the requested files") from low
        except LocalEntryNotFoundError as mid:
            try:
                raise OSError("We couldn't connect to 'https://huggingface.co'") from mid
            except OSError as top:
                return top

    assert _is_connection_problem(chained())
    assert _is_connection_problem(ConnectionRefusedError(111, "refused"))
    assert not _is_connection_problem(OSError("x does not appear to have a file named config.json"))
    assert not _is_connection_problem(ValueError("Unrecognized model"))
