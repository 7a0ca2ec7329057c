"""TransformersEncoder (sentence-transformers underneath) against real, tiny, locally built
models: sentence-transformers folders, a plain transformers checkpoint, a fake hub cache and
in-memory SentenceTransformer objects. Marked slow as a whole: importing
sentence-transformers alone takes about 10 s (so it is imported inside the tests, and the
fast tier never pays for it)."""

from __future__ import annotations

from pathlib import Path

import json
import logging
import shutil

import numpy as np
import pytest
import torch
from conftest import check_sentence_encoder

from aligner import Aligner
from aligner.encoders import EncoderLoadError, SentenceEncoder, load_encoder
from aligner.encoders.transformers_encoder import TransformersEncoder, _is_connection_problem

pytestmark = pytest.mark.slow

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
    from transformers import AutoModel, AutoTokenizer
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
    import sentence_transformers

    settings = dict(cls_encoder.settings)
    assert settings.pop("revision").startswith("sha256:")  # the folder's files (pinned in test_folder_revision_is_a_content_hash)
    assert settings == {
        "model": str(tiny_bert_dir), "source": "folder", "prompt_name": None, "prompt": "", "max_seq_length": 128,
        "modules": ["Transformer", "Pooling", "Normalize"], "pooling": "cls", "normalize": True,
        "model_normalize": True, "dim": 32, "device_type": "cpu", "dtype": "float32",
        "sentence_transformers": sentence_transformers.__version__,
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
    assert settings["modules"] == ["Transformer", "Pooling", "Normalize"]
    assert settings["model_normalize"] is True and settings["normalize"] is True
    assert settings["source"] == "folder"
    np.testing.assert_allclose(cls_encoder.encode(TEXTS), _reference(tiny_bert_dir, TEXTS, "cls"), atol=1e-5)


def test_mean_pooling_without_sentence_transformers_config(tiny_bert_plain_dir: Path) -> None:
    from transformers import AutoModel, AutoTokenizer
    encoder = TransformersEncoder(str(tiny_bert_plain_dir), device="cpu", batch_size=4)
    # sentence-transformers gives a plain checkpoint mean pooling.
    assert encoder.settings["pooling"] == "mean"
    assert encoder.settings["modules"] == ["Transformer", "Pooling"]
    assert encoder.settings["model_normalize"] is False
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
    assert as_mean.settings["pooling"] == "mean"
    assert as_mean.settings["modules"] == ["Transformer", "Pooling", "Normalize"]
    plain = TransformersEncoder(str(tiny_bert_plain_dir), device="cpu")
    np.testing.assert_allclose(as_mean.encode(TEXTS), plain.encode(TEXTS), atol=1e-5)
    with pytest.raises(ValueError, match="Unknown pooling"):
        TransformersEncoder(str(tiny_bert_dir), device="cpu", pooling="median")


def test_dense_layer_applied(tiny_bert_dense_dir: Path) -> None:
    from transformers import AutoModel, AutoTokenizer
    from safetensors.torch import load_file

    encoder = TransformersEncoder(str(tiny_bert_dense_dir), device="cpu")
    settings = encoder.settings
    assert settings["modules"] == ["Transformer", "Pooling", "Dense", "Normalize"]
    assert settings["pooling"] == "cls" and settings["dim"] == 16 and encoder.dim == 16
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


def test_truncation_to_model_positions(cls_encoder: TransformersEncoder, tiny_bert_plain_dir: Path,
                                       tiny_bert_prompts_dir: Path) -> None:
    # By default the model's own max_seq_length (sentence_bert_config.json: 128, 64), or
    # its positions for a plain checkpoint (128); a larger request is capped to them.
    assert cls_encoder.settings["max_seq_length"] == 128
    assert TransformersEncoder(str(tiny_bert_prompts_dir), device="cpu").settings["max_seq_length"] == 64
    assert TransformersEncoder(str(tiny_bert_plain_dir), device="cpu").settings["max_seq_length"] == 128
    capped = TransformersEncoder(str(tiny_bert_plain_dir), device="cpu", max_seq_length=1000)
    assert capped.settings["max_seq_length"] == 128 and capped.model.max_seq_length == 128
    shorter = TransformersEncoder(str(tiny_bert_plain_dir), device="cpu", max_seq_length=16)
    assert shorter.settings["max_seq_length"] == 16
    long_text = " ".join(["peace talks"] * 300)
    out = cls_encoder.encode([long_text, "a"])
    assert out.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    # Truncation really happens at 16 tokens: only the first 14 words (+ CLS, SEP) count.
    words = ["peace"] * 14
    np.testing.assert_allclose(shorter.encode([" ".join(words + ["talks"] * 20)]), shorter.encode([" ".join(words)]),
                               atol=1e-6)


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
    with pytest.raises(ValueError, match="has no prompt named 'passage'"):
        TransformersEncoder(str(tiny_bert_dir), device="cpu", prompt_name="passage")
    with pytest.raises(ValueError, match="revision applies to hub ids"):
        TransformersEncoder(str(tiny_bert_dir), device="cpu", revision="main")
    with pytest.raises(TypeError, match="not int"):
        TransformersEncoder(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not to a SentenceTransformer object"):
        TransformersEncoder(cls_encoder.model, pooling="mean")


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


COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _fake_hub_cache(cache: Path, repo_id: str, files: Path) -> None:
    """Lay ``files`` out as huggingface_hub's cache does for a downloaded repo."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    shutil.copytree(files, repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT, encoding="utf-8")


def test_hub_id_from_cache_when_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_bert_dense_dir: Path, tiny_bert_plain_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import huggingface_hub.constants

    _fake_hub_cache(tmp_path, "org/tiny-dense", tiny_bert_dense_dir)
    _fake_hub_cache(tmp_path, "org/tiny-plain", tiny_bert_plain_dir)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))

    # The sentence-transformers files are read through the hub cache too, and the commit
    # that refs/main names is the recorded revision.
    from_hub = TransformersEncoder("org/tiny-dense", device="cpu")
    assert from_hub.name == "org/tiny-dense"
    assert from_hub.settings["pooling"] == "cls" and from_hub.settings["modules"][2] == "Dense"
    assert from_hub.settings["source"] == "hub" and from_hub.settings["revision"] == COMMIT
    local = TransformersEncoder(str(tiny_bert_dense_dir), device="cpu")
    np.testing.assert_allclose(from_hub.encode(TEXTS), local.encode(TEXTS), atol=1e-6)

    # Cached model without a cached modules.json: works, but logs that pooling was guessed
    # (a logged warning, not warnings.warn: the network is what to change, not the code).
    caplog.set_level(logging.WARNING, logger="aligner")
    plain = TransformersEncoder("org/tiny-plain", device="cpu")
    assert [r.levelname for r in caplog.records if r.name == "aligner.encoders.transformers_encoder"
            and "mean pooling" in r.getMessage()] == ["WARNING"]
    assert plain.settings["pooling"] == "mean"
    assert plain.settings["revision"] == COMMIT

    # A snapshot folder of the cache passed as a folder: its commit is the revision.
    snapshot = tmp_path / "models--org--tiny-dense" / "snapshots" / COMMIT
    assert TransformersEncoder(str(snapshot), device="cpu").settings["revision"] == COMMIT


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


def test_broken_model_folder_says_which(tmp_path: Path, tiny_bert_dense_dir: Path) -> None:
    broken = shutil.copytree(tiny_bert_dense_dir, tmp_path / "broken")
    (broken / "2_Dense" / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(EncoderLoadError, match="Could not load '.*broken' with sentence-transformers: JSONDecodeError"):
        TransformersEncoder(str(broken), device="cpu")


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


# -- prompts ------------------------------------------------------------------------------


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_model_prompts_are_applied_as_sentence_transformers_does(tiny_bert_prompts_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer
    reference = SentenceTransformer(str(tiny_bert_prompts_dir), device="cpu")
    texts = [t for t in TEXTS if t]

    # No prompt_name and no default_prompt_name: the "query" prompt, on every text.
    encoder = TransformersEncoder(str(tiny_bert_prompts_dir), device="cpu")
    assert (encoder.prompt_name, encoder.prompt) == ("query", "query: ")
    assert (encoder.settings["prompt_name"], encoder.settings["prompt"]) == ("query", "query: ")
    out = encoder.encode(texts)
    expected = reference.encode(["query: " + t for t in texts], normalize_embeddings=True)
    assert _cosines(out, expected).min() >= 0.9999
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # ... which really changes the embeddings.
    bare = reference.encode(texts, normalize_embeddings=True)
    assert _cosines(out, bare).max() < 0.999

    passage = TransformersEncoder(str(tiny_bert_prompts_dir), device="cpu", prompt_name="passage")
    assert passage.settings["prompt"] == "passage: "
    np.testing.assert_allclose(passage.encode(texts),
                               reference.encode(["passage: " + t for t in texts], normalize_embeddings=True), atol=1e-5)

    none = TransformersEncoder(str(tiny_bert_prompts_dir), device="cpu", prompt_name="")
    assert (none.settings["prompt_name"], none.settings["prompt"]) == (None, "")
    np.testing.assert_allclose(none.encode(texts), bare, atol=1e-5)


def test_default_prompt_name_wins_over_query(tiny_bert_prompts_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(str(tiny_bert_prompts_dir), device="cpu", default_prompt_name="passage")
    encoder = TransformersEncoder(model)
    assert (encoder.prompt_name, encoder.prompt) == ("passage", "passage: ")
    np.testing.assert_allclose(encoder.encode(["peace talks"]),
                               model.encode(["passage: peace talks"], prompt="", normalize_embeddings=True), atol=1e-6)


def test_no_prompt_for_a_model_without_prompts(cls_encoder: TransformersEncoder) -> None:
    assert (cls_encoder.prompt_name, cls_encoder.prompt) == (None, "")
    assert (cls_encoder.settings["prompt_name"], cls_encoder.settings["prompt"]) == (None, "")


# -- revision ------------------------------------------------------------------------------


def test_folder_revision_is_a_content_hash(tmp_path: Path, tiny_bert_dense_dir: Path) -> None:
    first = TransformersEncoder(str(tiny_bert_dense_dir), device="cpu").settings
    assert first["source"] == "folder" and first["model"] == str(tiny_bert_dense_dir)
    revision = first["revision"]
    assert revision.startswith("sha256:") and len(revision) == len("sha256:") + 64

    # The same files elsewhere (and a README, which does not make embeddings): same revision.
    copy = shutil.copytree(tiny_bert_dense_dir, tmp_path / "copy")
    (copy / "README.md").write_text("# a model card\n", encoding="utf-8")
    assert TransformersEncoder(str(copy), device="cpu").settings["revision"] == revision

    # Other Dense weights (a module folder named in modules.json): another revision.
    from safetensors.torch import load_file, save_file

    weights = load_file(str(copy / "2_Dense" / "model.safetensors"))
    weights["linear.bias"] = weights["linear.bias"] + 1.0
    save_file(weights, str(copy / "2_Dense" / "model.safetensors"))
    assert TransformersEncoder(str(copy), device="cpu").settings["revision"] != revision


def test_settings_are_recorded_in_full(cls_encoder: TransformersEncoder) -> None:
    import sentence_transformers

    settings = cls_encoder.settings
    assert set(settings) == {"model", "source", "revision", "prompt_name", "prompt", "max_seq_length", "modules",
                             "pooling", "normalize", "model_normalize", "dim", "device_type", "dtype",
                             "sentence_transformers"}
    assert settings["sentence_transformers"] == sentence_transformers.__version__
    assert (settings["dim"], settings["device_type"], settings["dtype"]) == (32, "cpu", "float32")
    assert json.loads(json.dumps(settings)) == settings
    settings["model"] = "changed"
    assert cls_encoder.settings["model"] == cls_encoder.name  # a copy each time


# -- an in-memory SentenceTransformer --------------------------------------------------------


def test_sentence_transformer_object_in_aligner(tiny_bert_dir: Path, cls_encoder: TransformersEncoder) -> None:
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(str(tiny_bert_dir), device="cpu")
    al = Aligner(encoder=model)
    assert isinstance(al.encoder, TransformersEncoder) and al.encoder.model is model
    assert isinstance(al.encoder, SentenceEncoder)

    settings = al.settings
    encoder_settings = settings["encoder_settings"]
    weights = encoder_settings["weights_sha256"]
    assert len(weights) == 64 and int(weights, 16) >= 0
    # Loaded from a folder, the model card names no hub model: class name + weights hash.
    assert settings["encoder"] == al.encoder_name == f"SentenceTransformer-{weights[:12]}"
    assert encoder_settings["source"] == "object" and encoder_settings["revision"] is None
    assert encoder_settings["modules"] == ["Transformer", "Pooling", "Normalize"]
    assert encoder_settings["pooling"] == "cls" and encoder_settings["dim"] == 32
    json.dumps(settings)

    # The same weights as the folder: the same embeddings, and the same alignment.
    np.testing.assert_allclose(al.encoder.encode(TEXTS), cls_encoder.encode(TEXTS), atol=1e-6)
    english = "The ministry said the talks were new. Police killed 3 people in the attack on the city."
    arabic = "قال التقرير إن المحادثات جديدة. الشرطة في المدينة قال الوزير."
    result = al.align(english, arabic)
    by_name = Aligner(encoder=str(tiny_bert_dir)).align(english, arabic)
    assert [(b.en, b.ar) for b in result.beads] == [(b.en, b.ar) for b in by_name.beads]
    assert [i for b in result.beads for i in b.en] == list(range(len(result.en_sentences)))
    assert [j for b in result.beads for j in b.ar] == list(range(len(result.ar_sentences)))

    # load_encoder wraps it too; another object with the same weights has the same name,
    # one with other weights another.
    again = load_encoder(SentenceTransformer(str(tiny_bert_dir), device="cpu"))
    assert isinstance(again, TransformersEncoder) and again.name == al.encoder_name
    changed = SentenceTransformer(str(tiny_bert_dir), device="cpu")
    with torch.no_grad():
        next(changed.parameters()).add_(0.01)
    assert load_encoder(changed).name != al.encoder_name
    with pytest.raises(EncoderLoadError, match="not to a SentenceTransformer object"):
        load_encoder(model, engine="fp32")


def test_object_named_after_its_hub_model(tiny_bert_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(str(tiny_bert_dir), device="cpu")
    model.model_card_data.base_model = "org/tiny-bert"
    model.model_card_data.base_model_revision = COMMIT
    encoder = TransformersEncoder(model)
    assert encoder.name == "org/tiny-bert"
    assert encoder.settings["revision"] == COMMIT and len(encoder.settings["weights_sha256"]) == 64


def test_import_aligner_does_not_import_sentence_transformers() -> None:
    import subprocess
    import sys

    code = "import sys, aligner; print(sorted(m for m in ('sentence_transformers', 'transformers') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def _hub_answer(cls: type, status: int) -> Exception:
    import httpx2

    request = httpx2.Request("GET", "https://huggingface.co/api/models/org/model")
    return cls(f"{status} from the Hub", response=httpx2.Response(status, request=request))


@pytest.mark.parametrize(
    ("error", "message"),
    [
        ("gated", r"'org/model' is a gated model on the Hugging Face Hub: accept its terms on "
                  r"https://huggingface.co/org/model and log in"),
        ("missing", r"'org/model' is neither an existing local folder nor a model id on the Hugging Face Hub"),
        ("revision", r"Revision not found for 'org/model' on the Hugging Face Hub"),
    ],
)
def test_hub_answers_become_load_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, error: str,
                                        message: str) -> None:
    import huggingface_hub
    import huggingface_hub.constants
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    raised = {"gated": (GatedRepoError, 403), "missing": (RepositoryNotFoundError, 404),
              "revision": (RevisionNotFoundError, 404)}[error]

    def answer(self: object, *args: object, **kwargs: object) -> None:
        raise _hub_answer(*raised)

    monkeypatch.setattr(huggingface_hub.HfApi, "resolve_revision", answer)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(EncoderLoadError, match=message):
        TransformersEncoder("org/model", device="cpu")


def test_errors_while_loading_from_the_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The revision resolves, then the files fail: gated (no token), or the Hub gone."""
    import huggingface_hub
    import huggingface_hub.constants
    import sentence_transformers
    from huggingface_hub import ResolvedRevision
    from huggingface_hub.errors import GatedRepoError

    monkeypatch.setattr(huggingface_hub.HfApi, "resolve_revision",
                        lambda self, repo_id, **kwargs: ResolvedRevision(COMMIT, initial=None))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    cause: list[BaseException] = []

    def load(*args: object, **kwargs: object) -> None:
        assert kwargs["revision"].resolved == COMMIT  # type: ignore[union-attr]
        try:
            raise cause[0]
        except BaseException as low:
            raise OSError("transformers could not load the model") from low

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", load)
    cause.append(_hub_answer(GatedRepoError, 403))
    with pytest.raises(EncoderLoadError, match="'org/model' is a gated model"):
        TransformersEncoder("org/model", device="cpu")
    cause[0] = ConnectionRefusedError(111, "Connection refused")
    with pytest.raises(EncoderLoadError, match="could not be reached for 'org/model'"):
        TransformersEncoder("org/model", device="cpu")
    cause[0] = KeyError("hidden_size")
    with pytest.raises(EncoderLoadError, match="Could not load 'org/model' with sentence-transformers: OSError"):
        TransformersEncoder("org/model", device="cpu")
