"""Whether a corpus may be written into an output folder: :func:`prepare_output_folder`
refuses a folder holding another run's corpus, as ``aligner align`` does for its own."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from aligner.io.files import (
    CORPUS_FILE, DERIVED_FILES, RUN_FILE, RUN_FILES, OutputExistsError, describe_differences, read_json_object,
    remove_run_files,
)
from aligner.io.records import iter_corpus
from aligner.outputs.formats.base import same_file

RUN_IDENTITY = ("aligner_version", "encoder", "encoder_settings", "alignment", "inputs")
"""The ``run.json`` keys that make a run (align's settings and inputs, its fingerprint):
a folder scored or exported from a run keeps them."""


def prepare_output_folder(out_dir: str | Path, source: str | Path, *, run: dict | None, doc_ids: Iterable[str],
                          overwrite: bool = False) -> None:
    """Make sure writing the corpus read from ``source`` (with this ``run.json`` and these
    documents) into ``out_dir`` mixes no two runs, as ``align`` does for its folder.

    ``out_dir`` may be written when it holds no ``corpus.jsonl`` nor ``run.json``, when it is
    ``source``'s own folder, when its ``run.json`` records the same run (:data:`RUN_IDENTITY`:
    a folder scored from the same run), or, without a run recorded there, when its
    ``corpus.jsonl`` holds only documents of ``source`` (an earlier export of it). Otherwise
    it holds another run's corpus: :class:`~aligner.io.files.OutputExistsError` (nothing
    written) or, with ``overwrite``, every file of that run is removed first
    (:data:`~aligner.io.files.RUN_FILES` and :data:`~aligner.io.files.DERIVED_FILES`)."""
    out_dir, source = Path(out_dir), Path(source)
    if not any((out_dir / name).exists() for name in (CORPUS_FILE, RUN_FILE)):
        return
    if same_file(source if source.is_dir() else source.parent, out_dir):
        return
    why = _other_run(out_dir, source, run, set(doc_ids))
    if why is None:
        return
    if not overwrite:
        raise OutputExistsError(f"{out_dir} already holds the corpus of another run ({why}): not overwritten. Use "
                                f"--overwrite (overwrite=True in Python) to replace it, or choose another output folder")
    remove_run_files(out_dir, RUN_FILES + DERIVED_FILES)  # nothing of the other run stays beside the new files


def _other_run(out_dir: Path, source: Path, run: dict | None, doc_ids: set[str]) -> str | None:
    """Why ``out_dir``'s corpus is not of ``source``'s run, or ``None`` when it is."""
    theirs_run = read_json_object(out_dir / RUN_FILE)
    if (out_dir / RUN_FILE).exists() and theirs_run is None:
        return f"its {RUN_FILE} cannot be read, so what made it is not known"
    theirs = {k: (theirs_run or {}).get(k) for k in RUN_IDENTITY}
    ours = {k: (run or {}).get(k) for k in RUN_IDENTITY}
    if any(v is not None for v in theirs.values()):
        if theirs == ours:
            return None
        shown = describe_differences(theirs, ours, 3)
        return f"made with other settings or inputs: {shown}; as recorded in {RUN_FILE}"
    if not (out_dir / CORPUS_FILE).exists():
        return None
    try:
        extra = list(dict.fromkeys(r.doc_id for r in iter_corpus(out_dir / CORPUS_FILE) if r.doc_id not in doc_ids))
    except (OSError, ValueError):
        return f"its {CORPUS_FILE} cannot be read"
    if extra:
        return f"its {CORPUS_FILE} has {len(extra)} document(s) that {source} does not have, e.g. {extra[0]!r}"
    return None
