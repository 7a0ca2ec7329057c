"""The align run on many workers and on clusters, as `datatrove <https://github.com/huggingface/datatrove>`_
pipelines (the public face: :mod:`aligner.pipeline`).

A run is three datatrove stages, each a list of steps for an executor
(``LocalPipelineExecutor``, ``SlurmPipelineExecutor``, ``RayPipelineExecutor``):

``pair`` (one task)
    :class:`PairDocuments`: pair the documents (content pairing compares every document
    with every other, so it cannot be split), build the aligner once to learn its
    settings, check the output folder as :func:`~aligner.run.folders.align_folders`
    does, and record the plan in ``OUT/.aligner-state/pipeline/plan.json`` (the pairs,
    the settings every worker must agree on, the inputs); writes ``OUT/pairs.tsv``.
``align`` (N tasks)
    :class:`ReadPairs` (this task's share of the pairs: every N-th, by ``rank``) then
    :class:`AlignDocuments`: one aligner per worker process (built once, kept for the
    process's next tasks), documents encoded a window at a time across documents, each
    finished document saved as a part in ``OUT/.aligner-state/docs/`` exactly as the
    single-process run saves it (:func:`~aligner.run.folders.align_pairs`). A task
    killed half-way keeps the documents it finished; run again, it aligns only the
    others. It yields one datatrove ``Document`` per sentence pair, so a datatrove writer
    after it (``shards=`` of :func:`build`: JSONL or Parquet) writes the corpus sharded
    by task. Instead of folders, the pairs may come from a dataset (:class:`DatasetSource`:
    JSONL, Parquet or a Hugging Face dataset with ``en``/``ar`` text columns and an id
    column), read by datatrove's own readers (sharded by file, or by row for a Hub dataset).
``merge`` (one task)
    :class:`MergeCorpus`: the parts in ``doc_id`` order into the output folder of the
    single-process run, byte for byte (``run.json`` differs only under ``"timings"``,
    which say how many tasks there were), with scoring (corpus-wide: boilerplate counts
    across documents, so it runs here), the other formats and the review page when
    asked. A pair that no task finished (a task that failed, sharding that changed) is
    aligned here.

Resuming: datatrove writes a completion marker per finished task in its logging folder
(default ``OUT/.aligner-state/logs/<stage>/completions/``); run the same command again and
only the unfinished tasks run (``OUT/.aligner-state/logs/aligner.log`` says how many
were skipped), and inside them the finished documents are taken from the parts. Once the
merge has finished, the run is done: the same command again starts a new run (the parts
make it quick), as the single-process command does. A command with other settings, or
another number of tasks, also starts over (the markers are cleared; parts made with other
settings are never used).

Paths: the input folders and the output folder must be local or shared file systems
(POSIX renames and locks: every worker writes parts there); the logging folder and a
dataset may be any fsspec URL datatrove supports (``s3://``, ``hf://``, ``gs://``, ...,
when the fsspec driver is installed).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from datatrove.data import Document, DocumentsPipeline
from datatrove.io import get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.executor import LocalPipelineExecutor
from datatrove.utils.logging import logger

from aligner.alignment import AlignmentConfig
from aligner.documents import Aligner
from aligner.encoders import DEFAULT_ENCODER
from aligner.io.files import (
    PAIRS_FILE, STATE_DIR, OutputError, atomic_write_text, describe_differences, finish_pending,
)
from aligner.io.inputs import DEFAULT_MAX_BYTES, DocumentError, decode_bytes, escape_name, file_bytes
from aligner.pairing.names import DocumentPair, PairingResult, pair_by_name, write_pairs
from aligner.run import folders
from aligner.run.folders import (
    AlignWork, DocumentFailure, DocumentReport, FolderRun, _RunState, _relative, _windows, align_pairs,
    prepare_run, run_scoring,
)
from aligner.run.score import ScoreStage
from aligner.run.sources import SourceDocument, SourceReader
from aligner.text.segmentation import segment, split_lines

PIPELINE_DIR = "pipeline"
"""In ``OUT/.aligner-state``: ``plan.json`` (the pair stage's), ``failed/`` (documents a
task could not align, with why), ``tasks/`` (what each align task did), ``result.json``
(what the merge wrote, for the command that started the run)."""
LOGS_DIR = "logs"
"""Default logging folder, in ``OUT/.aligner-state``: one datatrove logging folder per stage
(``pair/``, ``align/``, ``merge/``: ``logs/``, ``completions/``, ``stats/``) and ``aligner.log``."""
SHARDS_DIR = "shards"
"""In ``OUT``: the corpus sharded by align task (``build(shards=...)``), one run's only."""
STAGES = ("pair", "align", "merge")
_FORMAT = 1


class PipelineError(OutputError):
    """The distributed run cannot go on: a worker disagrees with the plan, a stage's
    task failed, no plan was made. The message says what to do."""


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class DatasetSource:
    """Document pairs from a dataset instead of two folders: one row per pair, the English
    text in ``en_column``, the Arabic in ``ar_column``, a unique id in ``id_column`` (the
    ``doc_id``; also ``en_file`` and ``ar_file`` in the corpus). ``path``: a JSONL or
    Parquet file or folder of them (any fsspec URL), or a Hugging Face dataset id
    (``format="hf"``, ``options`` passed to ``datasets.load_dataset``, e.g.
    ``{"split": "train"}``). ``format``: ``"jsonl"``, ``"parquet"`` or ``"hf"``
    (default: from the path's extension)."""

    path: str
    format: str | None = None
    en_column: str = "en"
    ar_column: str = "ar"
    id_column: str = "id"
    options: dict | None = None

    @property
    def kind(self) -> str:
        if self.format:
            if self.format not in ("jsonl", "parquet", "hf"):
                raise ValueError(f"dataset format {self.format!r}: use jsonl, parquet or hf")
            return self.format
        name = self.path.rstrip("/").lower()
        if name.endswith((".parquet", ".pq")):
            return "parquet"
        if name.endswith((".jsonl", ".jsonl.gz", ".jsonl.zst", ".json")):
            return "jsonl"
        raise ValueError(f"{self.path}: say format='jsonl', 'parquet' or 'hf' (not told by its name)")

    def reader(self) -> PipelineStep:
        """A datatrove reader of the rows: ``text`` the English side, ``metadata[ar_column]``
        the Arabic, ``id`` the id."""
        kind = self.kind
        keys = {"text_key": self.en_column, "id_key": self.id_column}
        if kind == "hf":
            from datatrove.pipeline.readers import HuggingFaceDatasetReader

            return HuggingFaceDatasetReader(self.path, dataset_options=self.options or {"split": "train"}, **keys)
        folder, pattern = self.path, None
        if not self.path.endswith("/") and Path(self.path).suffix:  # one file: its folder, its name
            folder, _, pattern = self.path.rpartition("/")
            folder = folder or "."
        if kind == "parquet":
            from datatrove.pipeline.readers import ParquetReader

            return ParquetReader(folder, glob_pattern=pattern, **keys)
        from datatrove.pipeline.readers import JsonlReader

        return JsonlReader(folder, glob_pattern=pattern, add_file_path=False, **keys)

    def describe(self) -> dict:
        return {"dataset": self.path, "format": self.kind, "en_column": self.en_column,
                "ar_column": self.ar_column, "id_column": self.id_column, "options": self.options}


@dataclass
class RunConfig:
    """Everything the stages of one run need (travels with every step: plain data, so it
    pickles for the workers). Paths as given; ``cwd``: the folder they are relative to
    (a worker started elsewhere, by Ray say, works from there)."""

    out_dir: str
    en_dir: str | None = None
    ar_dir: str | None = None
    dataset: DatasetSource | None = None
    cwd: str = field(default_factory=os.getcwd)
    encoder: Any = DEFAULT_ENCODER
    engine: str | None = None
    alignment: dict | None = None  # AlignmentConfig settings that differ from the defaults
    manifest: str | None = None
    pair_by: str = "auto"
    max_sources: int = 1
    presplit: bool = False
    max_bytes: int | None = DEFAULT_MAX_BYTES
    follow_links: bool = False
    overwrite: bool = False
    score: ScoreStage | None = None
    threads: int | None = None
    progress: bool = False
    # what the merge also writes, as the command line does
    formats: tuple[str, ...] = ()
    split: tuple[float, float, float] | None = None
    license_id: str | None = None
    license_name: str | None = None
    tmx_source: str = "ar"
    html: bool = False

    @property
    def state_dir(self) -> Path:
        return Path(self.out_dir) / STATE_DIR

    @property
    def pipeline_dir(self) -> Path:
        return self.state_dir / PIPELINE_DIR

    def digest(self) -> str:
        """What a rerun must repeat to be the same command (``progress`` aside)."""
        data = asdict(self)
        data.pop("progress")
        data["encoder"] = _encoder_key(self.encoder)
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=repr).encode("utf-8")).hexdigest()


def _encoder_key(encoder: Any) -> str:
    if isinstance(encoder, str):
        return encoder
    return f"{type(encoder).__module__}.{type(encoder).__qualname__}:{getattr(encoder, 'name', '')}:" \
           f"{json.dumps(getattr(encoder, 'settings', {}), sort_keys=True, default=repr)}"


@contextlib.contextmanager
def _in_folder(cwd: str):
    """Work from ``cwd`` (the run's paths are relative to it), and back."""
    here = os.getcwd()
    if os.path.realpath(here) == os.path.realpath(cwd):
        yield
        return
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(here)


# ----------------------------------------------------------------------------- aligners per process

_ALIGNERS: dict[tuple, Aligner] = {}


def _aligner(config: RunConfig, *, worker: bool = False) -> tuple[Aligner, float]:
    """The process's aligner for ``config`` (built on first use, then kept: a process that
    runs several tasks loads the encoder once) and the seconds building it took.
    ``worker``: for an align task, with ``config.threads`` torch threads."""
    t0 = time.perf_counter()
    if not isinstance(config.encoder, str):  # an encoder object: it came with the task
        aligner = Aligner(encoder=config.encoder, config=AlignmentConfig(**config.alignment) if config.alignment else None)
    else:
        key = (config.encoder, config.engine, json.dumps(config.alignment, sort_keys=True))
        if key not in _ALIGNERS:
            _ALIGNERS.clear()  # one at a time: a process keeps one encoder in memory
            _ALIGNERS[key] = folders._build_aligner(config.encoder, config.engine, config.alignment)
        aligner = _ALIGNERS[key]
    if worker and config.threads and "torch" in sys.modules:  # an encoder without torch does not load it
        sys.modules["torch"].set_num_threads(config.threads)
    return aligner, time.perf_counter() - t0


def clear_aligners() -> None:
    """Forget the aligners kept by this process (see :func:`_aligner`)."""
    _ALIGNERS.clear()


# ----------------------------------------------------------------------------- the plan


def _path_list(paths: Iterable[Path]) -> list[str]:
    return [os.fspath(p) for p in paths]


def pairing_to_json(pairing: PairingResult) -> dict:
    """A :class:`PairingResult` as JSON-able data (file names as str, undecodable bytes
    kept as surrogates: the plan is written with ASCII escapes)."""
    return {
        "pairs": [[p.doc_id, os.fspath(p.en_path), os.fspath(p.ar_path), p.method, p.score] for p in pairing.pairs],
        "unpaired_en": _path_list(pairing.unpaired_en), "unpaired_ar": _path_list(pairing.unpaired_ar),
        "problems": list(pairing.problems),
        "ignored_en": _path_list(pairing.ignored_en), "ignored_ar": _path_list(pairing.ignored_ar),
        "skipped": [[os.fspath(p), reason] for p, reason in pairing.skipped],
        "best_candidates": [[os.fspath(p), None if best is None else [os.fspath(best[0]), best[1]]]
                            for p, best in pairing.best_candidates.items()],
        "settings": pairing.settings,
    }


def pairing_from_json(data: dict) -> PairingResult:
    return PairingResult(
        pairs=[DocumentPair(doc_id, Path(en), Path(ar), method, score) for doc_id, en, ar, method, score in data["pairs"]],
        unpaired_en=[Path(p) for p in data["unpaired_en"]], unpaired_ar=[Path(p) for p in data["unpaired_ar"]],
        problems=list(data["problems"]),
        ignored_en=[Path(p) for p in data["ignored_en"]], ignored_ar=[Path(p) for p in data["ignored_ar"]],
        skipped=[(Path(p), reason) for p, reason in data["skipped"]],
        best_candidates={Path(p): None if best is None else (Path(best[0]), best[1])
                         for p, best in data["best_candidates"]},
        settings=data["settings"])


@dataclass
class Plan:
    """What the pair stage decided (``OUT/.aligner-state/pipeline/plan.json``)."""

    settings: dict
    inputs: dict
    pairing: PairingResult
    fingerprint: str
    started: float
    timings: dict
    keys: dict[str, dict] | None = None
    """Datasets: each pair's resume key (``doc_id``, ``en_file``, ``ar_file`` and the SHA-256
    of each text), since there is no file to hash again."""

    def state(self, out_dir: Path) -> _RunState:
        return _RunState(out_dir, {**self.settings, "inputs": self.inputs})


def _plan_path(config: RunConfig) -> Path:
    return config.pipeline_dir / "plan.json"


def load_plan(config: RunConfig) -> Plan:
    path = _plan_path(config)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{path}: no plan; the pair stage must run before the align and merge stages "
                            f"(run the whole pipeline again)") from None
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{path}: cannot be read ({exc}); run the whole pipeline again") from None
    if data.get("format") != _FORMAT:
        raise PipelineError(f"{path}: written by another version of aligner; run the whole pipeline again")
    return Plan(data["settings"], data["inputs"], pairing_from_json(data["pairing"]), data["fingerprint"],
                data["started"], data["timings"], data.get("keys"))


def _save_plan(config: RunConfig, plan: Plan) -> None:
    data = {"format": _FORMAT, "fingerprint": plan.fingerprint, "started": plan.started,
            "settings": plan.settings, "inputs": plan.inputs, "timings": plan.timings,
            "pairing": pairing_to_json(plan.pairing), "keys": plan.keys}
    config.pipeline_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(_plan_path(config), json.dumps(data, indent=1) + "\n")  # ASCII: surrogates survive


def _clear_dir(folder: Path) -> None:
    if folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)


def _clear_run_files(config: RunConfig) -> None:
    """A new run (the pair stage runs once per run; a resumed run skips it): forget the
    last run's pipeline files and its corpus shards, which a run with fewer tasks would
    otherwise leave beside its own (``corpus-00003.jsonl`` of four tasks after two)."""
    _clear_dir(config.pipeline_dir)
    _clear_dir(Path(config.out_dir) / SHARDS_DIR)


# ----------------------------------------------------------------------------- stage 1: pair


def pair_stage(config: RunConfig) -> Plan:
    """Pair the documents, check the output folder, record the plan (see the module docstring)."""
    t_wall = time.time()
    if config.dataset is not None:
        return _pair_dataset(config, t_wall)
    aligner, load_s = _aligner(config)
    prepared = prepare_run(config.en_dir, config.ar_dir, config.out_dir, aligner=aligner,
                           manifest=config.manifest, presplit=config.presplit, progress=config.progress,
                           pair_by=config.pair_by, max_sources=config.max_sources, max_bytes=config.max_bytes,
                           overwrite=config.overwrite, engine=None, follow_links=config.follow_links,
                           score=config.score or False)
    prepared.aligner.drop_held_runs()  # the align tasks' own aligners pool their runs
    run = prepared.run
    timings = {"load_encoder_s": round(load_s + prepared.t_loaded - prepared.t_start, 4),
               "pairing_s": round(prepared.t_paired - prepared.t_loaded, 4),
               "encoded_texts": prepared.aligner.encoded_since(prepared.encoded_before),
               "files_read": prepared.reader.files_read}
    plan = Plan(run.settings, run.inputs, run.pairing, prepared.state.digest, t_wall, timings)
    with prepared.state.opened(prepared.mode):
        _clear_run_files(config)
        _save_plan(config, plan)
        write_pairs(run.pairing, Path(config.out_dir) / PAIRS_FILE, prepared.en_dir, prepared.ar_dir)
    logger.info(f"Paired {len(run.pairing.pairs)} document(s); plan in {_plan_path(config)}")
    return plan


def _dataset_inputs(config: RunConfig) -> dict:
    return {**config.dataset.describe(), "presplit": config.presplit, "max_bytes": config.max_bytes or None}


def _text_bytes(text: Any) -> bytes:
    return str(text).encode("utf-8", "surrogatepass")


def _pair_dataset(config: RunConfig, t_wall: float) -> Plan:
    t0 = time.perf_counter()
    out_dir = Path(config.out_dir)
    inputs = _dataset_inputs(config)
    finish_pending(out_dir)
    if not config.overwrite:
        _RunState(out_dir, {"inputs": inputs}).check(False, partial=True)
    aligner, _ = _aligner(config)
    if config.score is not None:
        config.score.build_scorer(aligner)  # fails (e5 missing) before any work
    t_loaded = time.perf_counter()
    pairs, keys, seen = [], {}, {}
    for doc in config.dataset.reader().run(None, 0, 1):
        doc_id = escape_name(str(doc.id))
        if doc_id in seen:
            raise PipelineError(f"{config.dataset.path}: id {doc_id!r} is used by more than one row "
                                f"({config.dataset.id_column} must be unique)")
        seen[doc_id] = True
        ar = doc.metadata.get(config.dataset.ar_column)
        pairs.append(DocumentPair(doc_id, Path(doc_id), Path(doc_id), "dataset"))
        name = _relative(Path(doc_id), Path())
        keys[doc_id] = {"doc_id": doc_id, "en_file": name, "ar_file": name,
                        "en_sha256": hashlib.sha256(_text_bytes(doc.text)).hexdigest(),
                        "ar_sha256": hashlib.sha256(_text_bytes(ar if ar is not None else "")).hexdigest()}
    pairing = PairingResult(pairs=sorted(pairs, key=lambda p: p.doc_id), settings={"method": "dataset"})
    run_inputs = {**inputs, "pairing_settings": pairing.settings}
    state = _RunState(out_dir, {**aligner.settings, "inputs": run_inputs})
    mode = state.check(config.overwrite)
    timings = {"load_encoder_s": round(t_loaded - t0, 4), "pairing_s": round(time.perf_counter() - t_loaded, 4),
               "encoded_texts": {}, "files_read": 0}
    plan = Plan(aligner.settings, run_inputs, pairing, state.digest, t_wall, timings, keys)
    with state.opened(mode):
        _clear_run_files(config)
        _save_plan(config, plan)
    logger.info(f"{len(pairs)} document pair(s) in {config.dataset.path}; plan in {_plan_path(config)}")
    return plan


class _RunStep(PipelineStep):
    """A step of an aligner run: it holds the run's :class:`RunConfig`, and passes on
    whatever an earlier step of a user's pipeline yields before its own documents."""

    def __init__(self, config: RunConfig):
        super().__init__()
        self.config = config

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        yield from self.own_documents(rank, world_size)

    def own_documents(self, rank: int, world_size: int) -> DocumentsPipeline:  # pragma: no cover - interface
        """This step's documents (work with relative paths inside ``_in_folder``)."""
        raise NotImplementedError


class _OneTask(_RunStep):
    """A stage of one task: :meth:`work` on rank 0 (any other rank does nothing), from the
    run's folder."""

    type = "🔗 - ALIGNER"

    def own_documents(self, rank: int, world_size: int) -> DocumentsPipeline:
        if rank == 0:
            with _in_folder(self.config.cwd), self.track_time("run"):
                self.work()
        yield from ()

    def work(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class PairDocuments(_OneTask):
    """Stage 1, one task: :func:`pair_stage`."""

    name = "pair documents"

    def work(self) -> None:
        plan = pair_stage(self.config)
        self.stat_update("pairs", value=len(plan.pairing.pairs), unit="run")


# ----------------------------------------------------------------------------- stage 2: align


def _document_of(pair: DocumentPair) -> Document:
    return Document(text="", id=pair.doc_id, metadata={"en_path": os.fspath(pair.en_path),
                                                      "ar_path": os.fspath(pair.ar_path),
                                                      "method": pair.method, "score": pair.score})


class ReadPairs(_RunStep):
    """Stage 2's reader: this task's share of the planned pairs (every ``world_size``-th,
    from ``rank``), one datatrove ``Document`` each (``id``: the ``doc_id``; ``metadata``:
    the two paths, how the pair was found)."""

    name = "read document pairs"
    type = "📖 - READER"

    def own_documents(self, rank: int, world_size: int) -> DocumentsPipeline:
        with _in_folder(self.config.cwd):
            plan = load_plan(self.config)
        for pair in plan.pairing.pairs[rank::world_size]:
            self.stat_update("pairs")
            yield _document_of(pair)


class _TextReader:
    """:class:`~aligner.run.sources.SourceReader`'s interface over texts in memory (a
    dataset's rows): ``texts[(lang, path)]``."""

    def __init__(self, texts: dict[tuple[str, Path], str], *, presplit: bool, max_bytes: int | None):
        self.texts, self.presplit, self.max_bytes = texts, presplit, max_bytes
        self.files_read = self.read_again = 0

    def read(self, path: Path, lang: str) -> SourceDocument:
        data = _text_bytes(self.texts[(lang, Path(path))])
        if self.max_bytes and len(data) > self.max_bytes:
            raise DocumentError(f"{path}: {len(data)} bytes, more than the limit of {self.max_bytes} (not read)")
        decoded = decode_bytes(data, path)
        sentences = split_lines(decoded.text) if self.presplit else segment(decoded.text, lang)
        return SourceDocument(Path(path), hashlib.sha256(data).hexdigest(), decoded.text, decoded.encoding,
                              sentences, list(decoded.warnings))

    def release(self, path: Path, lang: str) -> None:
        pass


def _failure_path(config: RunConfig, doc_id: str) -> Path:
    return config.pipeline_dir / "failed" / f"{hashlib.sha256(doc_id.encode('utf-8')).hexdigest()[:32]}.json"


def _record_failure(config: RunConfig, fingerprint: str, failure: DocumentFailure, phase: str) -> None:
    path = _failure_path(config, failure.doc_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"fingerprint": fingerprint, "phase": phase, "failure": asdict(failure)})
                      + "\n")


def _read_failure(config: RunConfig, fingerprint: str, doc_id: str) -> tuple[DocumentFailure, str] | None:
    try:
        data = json.loads(_failure_path(config, doc_id).read_text(encoding="utf-8"))
        if data["fingerprint"] != fingerprint or data["failure"]["doc_id"] != doc_id:
            return None
        return DocumentFailure(**data["failure"]), data["phase"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _check_worker(aligner: Aligner, plan: Plan, out_dir: Path) -> _RunState:
    """The state to save into, once this worker's aligner agrees with the plan's."""
    state = plan.state(out_dir)
    if state.digest != plan.fingerprint:  # pragma: no cover - a plan edited by hand
        raise PipelineError(f"{out_dir}: the plan's fingerprint does not match its settings; run the whole "
                            f"pipeline again")
    mine = json.loads(json.dumps(aligner.settings, sort_keys=True, default=str))
    planned = json.loads(json.dumps(plan.settings, sort_keys=True, default=str))
    if mine != planned:
        raise PipelineError(f"this worker's aligner differs from the one the pair stage used "
                            f"({describe_differences(planned, mine, 4)}): every worker needs the same aligner "
                            f"version, encoder and settings")
    return state


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)


class AlignDocuments(_RunStep):
    """Stage 2: align the pairs it is given (``Document`` s from :class:`ReadPairs`, or
    rows of a dataset reader: ``text`` the English, ``metadata[ar_column]`` the Arabic)
    into the run's state, and yield one ``Document`` per sentence pair (``text``: the
    English side, ``metadata["record"]``: the ``corpus.jsonl`` record), for a datatrove
    writer to shard. The encoder is loaded once per worker process."""

    name = "align documents"
    type = "🔗 - ALIGNER"
    CHUNK_DOCUMENTS = 4 * folders.WINDOW_DOCUMENTS
    """Dataset rows are aligned this many at a time (in windows, as files are)."""

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        config = self.config
        data = iter(data or ())
        first = next(data, None)
        if first is None:  # more tasks than pairs: no encoder to load
            logger.info(f"no document pair for task {rank} of {world_size}")
            return
        data = itertools.chain([first], data)
        with _in_folder(config.cwd):
            t0 = time.perf_counter()
            plan = load_plan(config)
            aligner, load_s = _aligner(config, worker=True)
            out_dir = Path(config.out_dir)
            state = _check_worker(aligner, plan, out_dir)
            encoded_before = aligner.encoded_by.copy()
            scratch = FolderRun(out_dir=out_dir, pairing=PairingResult())
            work = AlignWork()
            reads = [0, 0]
            logger.info(f"aligner worker pid={os.getpid()} rank={rank}: encoder {aligner.encoder_name} "
                        f"ready in {load_s:.2f} s")

            def failed(failure: DocumentFailure, phase: str) -> None:
                _record_failure(config, plan.fingerprint, failure, phase)

            for pairs, reader, en_dir, ar_dir in self._chunks(data, plan):
                start_docs, start_failed = len(scratch.documents), len(scratch.failed)
                done = align_pairs(pairs, aligner, state, reader, scratch, en_dir, ar_dir, on_failure=failed)
                work.encode_s += done.encode_s
                work.align_s += done.align_s
                work.resumed += done.resumed
                work.doc_times.update(done.doc_times)
                reads[0] += reader.files_read
                reads[1] += reader.read_again
                self.stat_update("failed", value=len(scratch.failed) - start_failed)
                for report in scratch.documents[start_docs:]:
                    with contextlib.suppress(OSError):
                        _failure_path(config, report.doc_id).unlink()  # failed in an earlier try
                    self.stat_update("documents")
                    part = state._read_part(report.doc_id)
                    for k, line in enumerate((part or {}).get("corpus", "").splitlines()):
                        record = json.loads(line)
                        yield Document(text=record["en"], id=f"{report.doc_id}/{k}", metadata={"record": record})
            task = {"rank": rank, "world_size": world_size, "pid": os.getpid(),
                    "documents": len(scratch.documents), "failed": len(scratch.failed),
                    "seconds": round(time.perf_counter() - t0, 4), "load_encoder_s": round(load_s, 4),
                    **work.timings(), "encoded_texts": aligner.encoded_since(encoded_before),
                    "files_read": reads[0], "files_read_again": reads[1], "per_document_s": work.doc_times,
                    "peak_rss_mb": _peak_rss_mb(), "threads": _threads()}
            path = config.pipeline_dir / "tasks" / f"{rank:05d}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(task, ensure_ascii=True) + "\n")
            logger.info(f"aligned {len(scratch.documents) - work.resumed} document(s), {work.resumed} taken from "
                        f"earlier runs, {len(scratch.failed)} failed; peak RSS {task['peak_rss_mb']} MB")

    def _chunks(self, data: Iterable[Document], plan: Plan) -> Iterator[tuple]:
        """``(pairs, reader, en_dir, ar_dir)`` to align: all the task's file pairs at once
        (read a window at a time), dataset rows :data:`CHUNK_DOCUMENTS` at a time."""
        config = self.config
        if config.dataset is None:
            pairs = [DocumentPair(d.id, Path(d.metadata["en_path"]), Path(d.metadata["ar_path"]),
                                  d.metadata.get("method", "name"), d.metadata.get("score")) for d in data]
            if pairs:
                en_dir, ar_dir = Path(config.en_dir), Path(config.ar_dir)
                reader = SourceReader({"en": en_dir, "ar": ar_dir}, presplit=config.presplit,
                                      max_bytes=config.max_bytes, follow_links=config.follow_links)
                yield pairs, reader, en_dir, ar_dir
            return
        texts: dict[tuple[str, Path], str] = {}
        pairs = []
        for doc in data:
            doc_id = escape_name(str(doc.id))
            ar = doc.metadata.get(config.dataset.ar_column)
            texts[("en", Path(doc_id))] = doc.text
            texts[("ar", Path(doc_id))] = "" if ar is None else ar
            pairs.append(DocumentPair(doc_id, Path(doc_id), Path(doc_id), "dataset"))
            if len(pairs) >= self.CHUNK_DOCUMENTS:
                yield pairs, _TextReader(texts, presplit=config.presplit, max_bytes=config.max_bytes), \
                    Path(), Path()
                texts, pairs = {}, []
        if pairs:
            yield pairs, _TextReader(texts, presplit=config.presplit, max_bytes=config.max_bytes), Path(), Path()


def _threads() -> int | None:
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None


def record_adapter(writer, document: Document) -> dict:
    """A datatrove writer's ``adapter``: the ``corpus.jsonl`` record of a sentence pair
    that :class:`AlignDocuments` yielded."""
    return document.metadata["record"]


# ----------------------------------------------------------------------------- stage 3: merge


def _sha256_file(path: Path, max_bytes: int | None) -> str | None:
    try:
        return hashlib.sha256(file_bytes(path, max_bytes)).hexdigest()
    except (DocumentError, OSError):
        return None


def merge_stage(config: RunConfig) -> FolderRun:
    """The parts into the output folder (see the module docstring); returns the run."""
    t0 = time.perf_counter()
    plan = load_plan(config)
    out_dir = Path(config.out_dir)
    finish_pending(out_dir)
    state = plan.state(out_dir)
    mode = state.check(False)  # the pair stage wrote the settings: a resume of them
    run = FolderRun(out_dir=out_dir, pairing=plan.pairing, settings=plan.settings, inputs=plan.inputs)
    dataset = config.dataset is not None
    en_dir, ar_dir = (Path(), Path()) if dataset else (Path(config.en_dir), Path(config.ar_dir))
    aligner = None
    with state.opened(mode):
        reports: dict[str, DocumentReport] = {}
        failures: dict[str, tuple[DocumentFailure, str]] = {}
        missing: list[DocumentPair] = []
        for pair in plan.pairing.pairs:
            if dataset:
                key = (plan.keys or {}).get(pair.doc_id)
            else:
                en_sha, ar_sha = (_sha256_file(pair.en_path, config.max_bytes),
                                  _sha256_file(pair.ar_path, config.max_bytes))
                key = None if en_sha is None or ar_sha is None else {
                    "doc_id": pair.doc_id, "en_file": _relative(pair.en_path, en_dir),
                    "ar_file": _relative(pair.ar_path, ar_dir), "en_sha256": en_sha, "ar_sha256": ar_sha}
            done = state.finished(key) if key is not None else None
            if done is not None:
                reports[pair.doc_id] = done[0]
                continue
            failure = _read_failure(config, plan.fingerprint, pair.doc_id)
            if failure is not None:
                failures[pair.doc_id] = failure
            else:
                missing.append(pair)
        if missing:
            if dataset:
                raise PipelineError(f"{len(missing)} document(s) were aligned by no task (the first: "
                                    f"{missing[0].doc_id!r}); run the same command again")
            logger.warning(f"{len(missing)} document(s) were aligned by no task (the first: {missing[0].doc_id!r}): "
                           f"aligning them here")
            aligner, _ = _aligner(config)
            _check_worker(aligner, plan, out_dir)
            scratch = FolderRun(out_dir=out_dir, pairing=PairingResult())
            reader = SourceReader({"en": en_dir, "ar": ar_dir}, presplit=config.presplit,
                                  max_bytes=config.max_bytes, follow_links=config.follow_links)
            align_pairs(missing, aligner, state, reader, scratch, en_dir, ar_dir,
                        on_failure=lambda f, phase: failures.__setitem__(f.doc_id, (f, phase)))
            reports.update({r.doc_id: r for r in scratch.documents})
        # Documents in pairing order; failures in the order the single-process run meets
        # them: per window, those that failed reading, then those that failed aligning.
        run.documents = [reports[p.doc_id] for p in plan.pairing.pairs if p.doc_id in reports]
        where: dict[str, tuple[int, int]] = {}
        for w, window in enumerate(_windows(plan.pairing.pairs) if not dataset else [plan.pairing.pairs]):
            for pair in window:
                where[pair.doc_id] = (w, len(where))
        run.failed = [f for f, _ in sorted(failures.values(), key=lambda fp: (
            where[fp[0].doc_id][0], fp[1] != "read", where[fp[0].doc_id][1]))]
        run.timings = _merged_timings(config, plan, run, t0)
        scoring = None
        if config.score is not None:
            if aligner is None:
                aligner, _ = _aligner(config)
                _check_worker(aligner, plan, out_dir)
            scorer = config.score.build_scorer(aligner)
            started = time.perf_counter() - (time.time() - plan.started)
            scoring = run_scoring(run, config.score, scorer, started, config.progress)
        extra = None if dataset else (lambda: write_pairs(plan.pairing, out_dir / PAIRS_FILE, en_dir, ar_dir))
        state.assemble(run, extra=extra, scoring=scoring, plot=config.score is None or config.score.plot)
    return run


def _merged_timings(config: RunConfig, plan: Plan, run: FolderRun, t0: float) -> dict:
    """``run.json``'s timings: the pair stage's, the align tasks' summed, the merge's."""
    tasks = []
    folder = config.pipeline_dir / "tasks"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        with contextlib.suppress(OSError, ValueError):
            tasks.append(json.loads(path.read_text(encoding="utf-8")))
    encoded: dict[str, int] = dict(plan.timings.get("encoded_texts", {}))
    per_doc: dict[str, float] = {}
    for task in tasks:
        for name, n in task.get("encoded_texts", {}).items():
            encoded[name] = encoded.get(name, 0) + n
        per_doc.update(task.get("per_document_s", {}))
    order = {p.doc_id: k for k, p in enumerate(plan.pairing.pairs)}
    return {"total_s": round(time.time() - plan.started, 4),
            "load_encoder_s": plan.timings.get("load_encoder_s", 0.0), "pairing_s": plan.timings.get("pairing_s", 0.0),
            "encode_s": round(sum(t.get("encode_s", 0.0) for t in tasks), 4),
            "align_s": round(sum(t.get("align_s", 0.0) for t in tasks), 4),
            "resumed_documents": sum(t.get("resumed_documents", 0) for t in tasks),
            "encoded_texts": encoded,
            "files_read": plan.timings.get("files_read", 0) + sum(t.get("files_read", 0) for t in tasks),
            "files_read_again": sum(t.get("files_read_again", 0) for t in tasks),
            "per_document_s": dict(sorted(per_doc.items(), key=lambda kv: order.get(kv[0], len(order)))),
            "merge_s": round(time.perf_counter() - t0, 4),
            "tasks": [{k: t.get(k) for k in ("rank", "pid", "documents", "failed", "resumed_documents", "seconds",
                                             "load_encoder_s", "peak_rss_mb", "threads")} for t in tasks]}


def _finish(config: RunConfig, run: FolderRun) -> dict:
    """The merge's last part, as the command line does after a run: the other formats and
    the review page. Returns what to tell (``result.json``)."""
    result: dict[str, Any] = {"summary": run.summary(), "ok": run.ok, "out_dir": config.out_dir, "scoring": None,
                              "written": [], "empty_splits": [], "skipped": [], "review": None, "errors": []}
    if run.score_result is not None:
        scored = run.score_result
        result["scoring"] = {"table": scored.table, "kept": len(scored.kept), "rejected": len(scored.rejected),
                             "report": {**scored.counts, "filter": scored.pair_filter.describe()}}
    formats = tuple(f for f in config.formats if f != "jsonl" or config.split)
    if formats:
        from aligner.outputs.corpus import Corpus

        try:
            written = Corpus.load(config.out_dir).write(config.out_dir, formats, split=config.split,
                                                        license=config.license_id, license_name=config.license_name,
                                                        tmx_source=config.tmx_source)
            result["written"] = [os.fspath(p) for p in written.written]
            result["empty_splits"] = list(written.empty_splits)
            result["skipped"] = list(written.skipped)
        except (OutputError, OSError) as exc:
            result["errors"].append(f"formats not written: {exc}")
    if config.html and not result["errors"]:
        from aligner.outputs.review import ReviewError, render_review

        try:
            result["review"] = os.fspath(render_review(config.out_dir))
        except ReviewError as exc:
            result["errors"].append(f"No review page: {exc}")
    return result


class MergeCorpus(_OneTask):
    """Stage 3, one task: :func:`merge_stage`, then the formats and review page asked for;
    what it did is saved in ``OUT/.aligner-state/pipeline/result.json``."""

    name = "merge corpus"

    def work(self) -> None:
        run = merge_stage(self.config)
        result = _finish(self.config, run)
        atomic_write_text(self.config.pipeline_dir / "result.json", json.dumps(result, indent=1) + "\n")
        self.stat_update("documents", value=run.n_aligned, unit="run")
        self.stat_update("failed", value=run.n_failed, unit="run")
        logger.info(result["summary"])


def load_run(config: RunConfig) -> FolderRun:
    """The finished run in ``config.out_dir``: its ``run.json`` and the pair stage's plan."""
    plan = load_plan(config)
    data = json.loads((Path(config.out_dir) / "run.json").read_text(encoding="utf-8"))
    return FolderRun(out_dir=Path(config.out_dir), pairing=plan.pairing, settings=plan.settings, inputs=plan.inputs,
                     documents=[DocumentReport(**d) for d in data["documents"]],
                     failed=[DocumentFailure(**f) for f in data["failed"]], timings=data["timings"])


# ----------------------------------------------------------------------------- building and running


@dataclass
class Stages:
    """The three stages of a run, each a list of datatrove steps for an executor: ``pair``
    and ``merge`` for one task, ``align`` for as many as you like (iterating gives the
    three in order)."""

    pair: list
    align: list
    merge: list
    config: RunConfig

    def __iter__(self):
        return iter((self.pair, self.align, self.merge))


SHARD_FORMATS = ("jsonl", "parquet")


def build(out_dir: str | Path, en_dir: str | Path | None = None, ar_dir: str | Path | None = None, *,
          dataset: DatasetSource | str | None = None, encoder: Any = DEFAULT_ENCODER, engine: str | None = None,
          alignment: dict | None = None, manifest: str | Path | None = None, pair_by: str = "auto", max_sources: int = 1, presplit: bool = False,
          max_bytes: int | None = DEFAULT_MAX_BYTES, follow_links: bool = False, overwrite: bool = False,
          score: ScoreStage | bool = False, threads: int | None = None, shards: str | None = None,
          progress: bool = False, formats: Iterable[str] = (), split=None, license_id: str | None = None,
          license_name: str | None = None, tmx_source: str = "ar", html: bool = False) -> Stages:
    """The run as datatrove steps (see the module docstring): ``EN_DIR`` and ``AR_DIR``
    paired as ``aligner align`` pairs them (same options), or a ``dataset`` of pairs.

    ``encoder``: a name (each worker loads it once) or an encoder object (sent to every
    task: keep it small). ``alignment``: :class:`~aligner.alignment.AlignmentConfig`
    settings that differ from the defaults (``{"moved_blocks": False}``). ``threads``: torch threads per worker (default: torch's own).
    ``shards``: also write the corpus sharded by align task, ``"jsonl"`` or ``"parquet"``,
    to ``OUT/shards/`` (datatrove's writers, after the align step). ``formats``, ``split``,
    ``license_id``, ``license_name``, ``tmx_source``, ``html``: what the merge also writes
    (as ``aligner align`` does)."""
    if dataset is None and (en_dir is None or ar_dir is None):
        raise ValueError("give en_dir and ar_dir, or a dataset")
    if isinstance(dataset, str):
        dataset = DatasetSource(dataset)
    if dataset is not None:
        dataset.kind  # noqa: B018 - a format it cannot tell is said now
    if shards is not None and shards not in SHARD_FORMATS:
        raise ValueError(f"shards={shards!r}: use one of {', '.join(SHARD_FORMATS)}")
    config = RunConfig(out_dir=os.fspath(out_dir), en_dir=None if en_dir is None else os.fspath(en_dir),
                       ar_dir=None if ar_dir is None else os.fspath(ar_dir), dataset=dataset, encoder=encoder,
                       engine=engine, alignment=dict(alignment) if alignment else None,
                       manifest=None if manifest is None else os.fspath(manifest), pair_by=pair_by,
                       max_sources=max_sources, presplit=presplit, max_bytes=max_bytes or None,
                       follow_links=follow_links, overwrite=overwrite,
                       score=ScoreStage() if score is True else (score or None), threads=threads,
                       progress=progress, formats=tuple(formats), split=split, license_id=license_id,
                       license_name=license_name, tmx_source=tmx_source, html=html)
    align: list = [dataset.reader() if dataset is not None else ReadPairs(config), AlignDocuments(config)]
    if shards == "jsonl":
        from datatrove.pipeline.writers import JsonlWriter

        align.append(JsonlWriter(os.path.join(os.path.abspath(config.out_dir), SHARDS_DIR),
                                 output_filename="corpus-${rank}.jsonl", compression=None, adapter=record_adapter))
    elif shards == "parquet":
        from datatrove.pipeline.writers import ParquetWriter

        align.append(ParquetWriter(os.path.join(os.path.abspath(config.out_dir), SHARDS_DIR),
                                   output_filename="corpus-${rank}.parquet", adapter=record_adapter))
    return Stages([PairDocuments(config)], align, [MergeCorpus(config)], config)


def with_config(stages: Stages, **changes) -> Stages:
    """``stages`` with some of its configuration changed (``threads`` for a machine's workers)."""
    config = replace(stages.config, **changes)
    for steps in stages:
        for step in steps:
            if hasattr(step, "config") and isinstance(step.config, RunConfig):
                step.config = config
    stages.config = config
    return stages


# ----------------------------------------------------------------------------- executors

EXECUTORS = ("local", "slurm", "ray")
TASKS_PER_WORKER = 4
"""Local runs: alignment tasks per worker process unless ``tasks`` is set. Each process
takes the next task when it is done with one (keeping its encoder), so a worker slowed by
long documents or by other programs does not hold the run up, and a task killed half-way
leaves less to redo."""
_ALIASES = {"gpus": "gpus_per_task", "cpus": "cpus_per_task"}
_OURS = {"threads", "address", "logging_dir", "executor"}
"""Option keys that are not an executor's own: torch threads per align worker, the Ray
cluster to join, the logging folder, the executor (the command line's ``--executor`` wins)."""
_NOT_OPTIONS = {"self", "pipeline", "depends", "depends_job_id", "logging_dir", "job_id_retriever"}


def _executor_class(kind: str, quiet: bool = False):
    if kind == "local":
        return _QuietLocalExecutor if quiet else LocalPipelineExecutor
    if kind == "slurm":
        from datatrove.executor import SlurmPipelineExecutor

        return SlurmPipelineExecutor
    if kind == "ray":
        from datatrove.executor.ray import RayPipelineExecutor

        return RayPipelineExecutor
    raise ValueError(f"executor {kind!r}: use one of {', '.join(EXECUTORS)}")


def executor_options(kind: str, options: dict | None) -> dict[str, dict]:
    """The options of an executor configuration (``--executor-config``), checked, per stage:
    ``{"pair": {...}, "align": {...}, "merge": {...}}`` (the top level for every stage, a
    ``pair:``/``align:``/``merge:`` section for one). Keys are the datatrove executor's
    arguments (``partition``, ``time``, ``cpus_per_task``, ``mem_per_cpu_gb``, ``tasks``, ...;
    ``gpus`` for ``gpus_per_task``) plus ``threads``, ``address`` (Ray) and ``logging_dir``.
    :class:`ValueError` names a key the executor does not take."""
    import inspect

    options = dict(options or {})
    known = set(inspect.signature(_executor_class(kind).__init__).parameters) - _NOT_OPTIONS

    def checked(section: dict, where: str) -> dict:
        if not isinstance(section, dict):
            raise ValueError(f"{where}: expected a mapping of options, found {section!r}")
        out = {}
        for key, value in section.items():
            name = _ALIASES.get(str(key).replace("-", "_"), str(key).replace("-", "_"))
            if name not in known and name not in _OURS:
                raise ValueError(f"{where}{key}: not an option of the {kind} executor (known: "
                                 f"{', '.join(sorted(known | _OURS | set(_ALIASES)))})")
            out[name] = value
        return out

    stages = {stage: options.pop(stage, None) or {} for stage in STAGES}
    common = checked(options, "")
    per_stage = {stage: {**common, **checked(section, f"{stage}.")} for stage, section in stages.items()}
    for stage in ("pair", "merge"):
        per_stage[stage]["tasks"] = 1  # one task each, whatever the top level says
        if kind != "slurm" or "workers" in per_stage[stage]:
            per_stage[stage]["workers"] = 1
    if kind == "slurm":
        missing = [key for key in ("partition", "time") if not all(key in s for s in per_stage.values())]
        if missing:
            raise ValueError(f"the slurm executor needs {' and '.join(missing)} (e.g. partition: cpu, "
                             f"time: \"04:00:00\")")
    return per_stage


def load_executor_config(path: str | Path) -> dict:
    """An executor configuration file: YAML (``.yaml``/``.yml``) or JSON, one mapping."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # yaml.YAMLError, json.JSONDecodeError
        raise ValueError(f"{path}: not valid {'YAML' if path.suffix.lower() in ('.yaml', '.yml') else 'JSON'} "
                         f"({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of executor options, found {type(data).__name__}")
    return data


def default_workers() -> int:
    """``--workers auto``: the CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS
        return max(1, os.cpu_count() or 1)


@dataclass
class PipelineResult:
    """What :func:`execute` did. ``launched``: the jobs were submitted (Slurm) and nothing
    is done yet (``jobs``: their ids); otherwise the run is finished: ``summary`` (as
    ``aligner align`` prints it), ``ok`` (no document failed), ``scoring`` (the report
    table and counts, when scored), the formats ``written``, the ``review`` page,
    ``skipped`` (formats not written, and why), ``errors`` (formats or review not
    written). ``skipped_tasks``: per stage, tasks an earlier run had completed."""

    out_dir: str
    logging_dir: str
    run: FolderRun | None = None
    """The finished run as :func:`~aligner.run.folders.align_folders` returns it (read back
    from ``run.json`` and the plan; no aligner, no ``score_result``)."""
    launched: bool = False
    jobs: dict[str, Any] = field(default_factory=dict)
    summary: str | None = None
    ok: bool = True
    scoring: dict | None = None
    written: list[str] = field(default_factory=list)
    empty_splits: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    review: str | None = None
    errors: list[str] = field(default_factory=list)
    skipped_tasks: dict[str, int] = field(default_factory=dict)


def _log(folder, message: str) -> None:
    """A line in ``aligner.log`` of the logging folder, and in datatrove's log."""
    logger.info(message)
    with contextlib.suppress(OSError, ValueError, NotImplementedError):
        with folder.open("aligner.log", "a") as handle:
            handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")


def _start_or_resume(folder, stages: Stages, tasks: int) -> None:
    """Clear the completion markers of a finished run, or of a run made with another
    command (another configuration or task count): this run starts over (its documents
    already in the state are still taken from there)."""
    digest = hashlib.sha256(f"{stages.config.digest()}:{tasks}".encode()).hexdigest()
    try:
        with folder.open("command.json", "r") as handle:
            before = json.load(handle).get("digest")
    except (OSError, ValueError, FileNotFoundError):
        before = None
    finished = folder.isfile("merge/completions/00000")
    if before != digest or finished:
        for stage in STAGES:
            for name in folder.list_files(f"{stage}/completions") if folder.isdir(f"{stage}/completions") else []:
                folder.rm(name)
        if before is not None:
            _log(folder, "a new run: " + ("the last one finished" if finished else "another command or task count")
                 + " (completion markers cleared)")
    with folder.open("command.json", "w") as handle:
        json.dump({"digest": digest, "tasks": tasks}, handle)


def precheck(config: RunConfig) -> None:
    """What can be refused before any job starts (a missing folder, a broken manifest, an
    output folder holding another corpus), as the single-process run refuses it."""
    if config.dataset is not None:
        inputs = _dataset_inputs(config)
    else:
        with _in_folder(config.cwd):
            pair_by_name(config.en_dir, config.ar_dir, manifest=config.manifest, follow_links=config.follow_links)
            inputs = folders.run_inputs(Path(config.en_dir), Path(config.ar_dir), manifest=config.manifest,
                                        presplit=config.presplit, pair_by=config.pair_by,
                                        max_sources=config.max_sources, max_bytes=config.max_bytes,
                                        follow_links=config.follow_links)
    if not config.overwrite:
        with _in_folder(config.cwd):
            _RunState(Path(config.out_dir), {"inputs": inputs}).check(False, partial=True)


class _QuietLocalExecutor(LocalPipelineExecutor):
    """``LocalPipelineExecutor`` whose tasks log to stderr at ERROR only (``aligner -q``):
    datatrove gives a task with ``local_rank`` 0 stderr at INFO and the others ERROR, and
    uses ``local_rank`` for nothing else. The task log files keep everything."""

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        try:
            return super()._run_for_rank(rank, max(local_rank, 1), node_rank)
        finally:
            _errors_only_on_stderr()  # a task run in this process re-added the default handler


def _errors_only_on_stderr() -> None:
    """loguru (datatrove's log) to stderr at ERROR only, in place of its handlers."""
    logger.remove()
    logger.add(sys.stderr, level="ERROR")


def execute(stages: Stages, *, executor: str = "local", workers: int | None = None, options: dict | None = None,
            logging_dir: str | None = None, quiet: bool = False) -> PipelineResult:
    """See :func:`_execute`; ``quiet``: datatrove's log shows only errors on stderr while
    the run lasts (the local executor's tasks too; the task log files keep everything)."""
    if not quiet:
        return _execute(stages, executor=executor, workers=workers, options=options, logging_dir=logging_dir)
    from datatrove.utils.logging import setup_default_logger

    _errors_only_on_stderr()
    try:
        return _execute(stages, executor=executor, workers=workers, options=options, logging_dir=logging_dir,
                        quiet=True)
    finally:
        setup_default_logger()


def _execute(stages: Stages, *, executor: str = "local", workers: int | None = None, options: dict | None = None,
             logging_dir: str | None = None, quiet: bool = False) -> PipelineResult:
    """Run ``stages`` (:func:`build`) with datatrove's ``executor``: ``"local"`` (``workers``
    processes on this machine, default 1; :data:`TASKS_PER_WORKER` tasks each unless
    ``options`` say ``tasks``), ``"slurm"`` (submits three dependent jobs and
    returns: ``launched``) or ``"ray"`` (on the cluster ``ray.init`` joins: ``address`` in
    ``options``, else a local one). ``options``: the executor configuration (see
    :func:`executor_options`); ``logging_dir``: datatrove's logging folder (default
    ``OUT/.aligner-state/logs``; one sub-folder per stage)."""
    options = dict(options or {})
    per_stage = executor_options(executor, options)
    config = stages.config
    base = logging_dir or per_stage["align"].pop("logging_dir", None) or \
        os.path.join(os.path.abspath(os.path.join(config.cwd, config.out_dir)), STATE_DIR, LOGS_DIR)
    for stage in STAGES:
        per_stage[stage].pop("logging_dir", None)
    base = str(base).rstrip("/")
    if executor == "local":
        workers = workers or per_stage["align"].get("workers") or 1
        per_stage["align"]["workers"] = workers
        per_stage["align"].setdefault("tasks", TASKS_PER_WORKER * workers if workers > 1 else 1)
        threads = per_stage["align"].pop("threads", None) or max(1, default_workers() // workers)
    else:
        if workers:
            per_stage["align"].setdefault("tasks", workers)
        per_stage["align"].setdefault("tasks", 1)
        threads = per_stage["align"].pop("threads", None) or per_stage["align"].get("cpus_per_task") or None
    address = per_stage["align"].pop("address", None)
    for stage in STAGES:
        for key in ("threads", "address", "executor"):
            per_stage[stage].pop(key, None)
    stages = with_config(stages, threads=threads)
    precheck(stages.config)
    folder = get_datafolder(base)
    tasks = int(per_stage["align"]["tasks"])
    _start_or_resume(folder, stages, tasks)
    cls = _executor_class(executor, quiet)
    result = PipelineResult(out_dir=config.out_dir, logging_dir=base)
    if executor == "slurm":
        name = per_stage["align"].get("job_name", "aligner")
        made: dict[str, Any] = {}
        previous = None
        for stage, steps in zip(STAGES, stages):  # each stage's jobs wait for the last one's (afterok)
            opts = {k: v for k, v in per_stage[stage].items() if k != "job_name"}
            made[stage] = previous = cls(steps, logging_dir=f"{base}/{stage}", depends=previous,
                                         job_name=f"{name}-{stage}", **opts)
        for stage in STAGES:
            ex = made[stage]
            result.skipped_tasks[stage] = ex.world_size - len(ex.get_incomplete_ranks())
            _log(folder, f"{stage}: {result.skipped_tasks[stage]} of {ex.world_size} task(s) already completed, skipped")
        made["merge"].run()
        result.launched = True
        result.jobs = {stage: made[stage].job_id for stage in STAGES}
        _log(folder, f"submitted: {result.jobs}")
        return result
    if executor == "ray":
        import ray

        if not ray.is_initialized():
            ray.init(address=address)
    for stage, steps in zip(STAGES, stages):
        ex = cls(steps, logging_dir=f"{base}/{stage}", **per_stage[stage])
        result.skipped_tasks[stage] = ex.world_size - len(ex.get_incomplete_ranks())
        _log(folder, f"{stage}: {result.skipped_tasks[stage]} of {ex.world_size} task(s) already completed, skipped; "
                     f"running {ex.world_size - result.skipped_tasks[stage]}"
             + (f" on {per_stage[stage].get('workers', 1)} worker(s), {threads} torch thread(s) each"
                if stage == "align" and executor == "local" else ""))
        ex.run()
        left = ex.get_incomplete_ranks()
        if left:
            raise PipelineError(f"the {stage} stage did not finish: task(s) {', '.join(map(str, left))} failed (see "
                                f"{base}/{stage}/logs/); the documents already aligned are kept: run the same "
                                f"command again to resume")
    with _in_folder(config.cwd):
        saved = json.loads((stages.config.pipeline_dir / "result.json").read_text(encoding="utf-8"))
        result.run = load_run(stages.config)
    for key in ("summary", "ok", "scoring", "written", "empty_splits", "skipped", "review", "errors"):
        setattr(result, key, saved.get(key, getattr(result, key)))
    return result
