"""The package is typed (PEP 561): ``mypy --strict`` passes on a user's script that uses the
README's Python API, and sees its real types (``assert_type``), not ``Any``."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import aligner

ROOT = Path(__file__).resolve().parents[1]

USER_SCRIPT = '''\
"""A user's script: the README's Python API (Python API, Corpus formats), typed."""
from pathlib import Path
from typing import Any, assert_type

import aligner
from aligner import Aligner, AlignmentConfig, Corpus, CorpusRecord, read_corpus
from aligner.alignment import Bead
from aligner.documents import DocumentAlignment, SentencePair
from aligner.run.folders import FolderRun, align_folders
from aligner.outputs.corpus import ExportResult
from aligner.text.segmentation import Sentence


def pairs(english: str, arabic: str) -> list[tuple[tuple[int, ...], tuple[int, ...], str, float, str, str]]:
    result = aligner.align(english, arabic)
    assert_type(result, DocumentAlignment)
    assert_type(result.pairs, list[SentencePair])
    assert_type(result.unaligned_en, list[int])
    print(result.unaligned_en, result.unaligned_ar)
    print(result.to_vecalign(), end="")
    return [(p.en_indices, p.ar_indices, p.bead_type, round(p.score, 3), p.en_text, p.ar_text) for p in result.pairs]


def document(english: str, arabic: str) -> tuple[list[Sentence], list[Sentence], list[Bead], dict[str, Any]]:
    al = Aligner(encoder="use-multilingual-v3", config=AlignmentConfig())
    doc = al.align(english, arabic)
    doc = al.align(english, arabic, presplit=True)
    assert_type([bead.kind for bead in doc.beads if not bead.is_null], list[str])
    assert_type(al.settings, dict[str, Any])
    return doc.en_sentences, doc.ar_sentences, doc.beads, al.settings


def folders(out: Path) -> int:
    run = align_folders("examples/en", "examples/ar", out)
    assert_type(run, FolderRun)
    assert_type(run.pairing.unpaired_en, list[Path])
    print(run.summary(), len(run.documents))
    return run.n_failed


def export(out: Path) -> list[Path]:
    corpus = Corpus.from_dir(out)
    good = corpus.filter(min_quality=0.6)
    records: list[CorpusRecord] = good.records + read_corpus(out / "corpus.jsonl")
    assert_type(records[0].score, float)
    result = good.write(out / "exported", ["tsv", "tmx", "hf"], split=(0.8, 0.1, 0.1), license="cc-by-4.0",
                        tmx_source="ar")
    assert_type(result, ExportResult)
    return result.written
'''


def test_py_typed_is_in_the_package_and_its_data():
    assert (Path(aligner.__file__).parent / "py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["aligner"]


@pytest.mark.slow
def test_mypy_strict_passes_on_a_user_script_of_the_readme_api(tmp_path):
    pytest.importorskip("mypy", reason="mypy (test extra) checks that the package's types reach its users")
    script = tmp_path / "user_script.py"
    script.write_text(USER_SCRIPT, encoding="utf-8")
    # The aligner under test, found as an installed package is (PEP 561: it needs py.typed).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(aligner.__file__).parents[1]),
                                                         os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    env.pop("MYPYPATH", None)
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir",
                             str(tmp_path / ".mypy_cache"), "--python-executable", sys.executable, str(script)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "Success: no issues found in 1 source file"
