"""The ``aligner`` command: a thin shell over :func:`aligner.corpus.align_folders`.

    aligner align EN_DIR AR_DIR -o OUT [--encoder NAME] [--manifest FILE] [--presplit] [--no-progress] [--html]
    aligner view CORPUS [-o review.html]
    aligner export CORPUS -o OUT [--format jsonl,tsv,moses,tmx,hf] [--split 0.8,0.1,0.1] [--license ID] [--min-quality X]
    aligner publish OUT_DIR --repo-id USER/NAME [--private] [--min-quality X] [--split ...] [--license ID]

Exit status: 0 when every paired document was aligned, 1 when any failed (the others
are still written), 2 for a usage error (a missing folder, a bad option or manifest, an
encoder that cannot be loaded).
"""

from __future__ import annotations

from pathlib import Path

import click

from . import __version__
from .encoders import DEFAULT_ENCODER, EncoderLoadError

_FOLDER = click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)


def _formats_callback(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    from .formats import parse_formats

    try:
        return parse_formats(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _split_callback(ctx: click.Context, param: click.Parameter, value: str | None):
    from .formats import parse_split

    try:
        return parse_split(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _write_formats(source: Path, out_dir: Path, formats: tuple[str, ...], *, split=None,
                   license_id: str | None = None) -> None:
    """Load the corpus at ``source`` (a run folder or corpus file), write ``formats`` to
    ``out_dir`` and say what was written."""
    from .formats import Corpus

    if not formats:
        return
    result = Corpus.load(source).write(out_dir, formats, split=split, license=license_id)
    for path in result.written:
        click.echo(f"Wrote {path}")
    for name in result.empty_splits:
        click.echo(f"Split '{name}' got no document: not written.")
    for what in result.skipped:
        click.echo(f"Not written: {what}.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="aligner")
def main() -> None:
    """Sentence-align English news reports with their Arabic sources."""


@main.command("align")
@click.argument("en_dir", type=_FOLDER)
@click.argument("ar_dir", type=_FOLDER)
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if needed): corpus.jsonl, beads/, unaligned.jsonl, run.json.")
@click.option("--format", "formats", default="jsonl", show_default=True, metavar="LIST", callback=_formats_callback,
              help="Corpus formats, comma-separated, from jsonl,tsv,moses,tmx,hf. corpus.jsonl, beads/ and run.json "
                   "are always written; the others are written in addition.")
@click.option("--split", default=None, metavar="TRAIN,VAL,TEST", callback=_split_callback,
              help="Also split the --format outputs by document, e.g. 0.8,0.1,0.1 (corpus.jsonl stays whole).")
@click.option("--license", "license_id", default=None, metavar="ID",
              help="Licence for the hf dataset card (default: 'other', with a note to set it).")
@click.option("--encoder", default=DEFAULT_ENCODER, show_default=True, metavar="NAME",
              help="Embedded encoder name, or a Hugging Face model id or local model folder.")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TSV with header 'en_file<TAB>ar_file' pairing files explicitly (default: same file name).")
@click.option("--presplit", is_flag=True, help="Files hold one sentence per line; do not segment.")
@click.option("--no-progress", is_flag=True, help="Do not show a progress bar.")
@click.option("--html", is_flag=True, help="Also write OUT/review.html, a self-contained page for reviewing the alignment.")
def align_command(en_dir: Path, ar_dir: Path, out_dir: Path, formats: tuple[str, ...],
                  split: tuple[float, float, float] | None, license_id: str | None, encoder: str, manifest: Path | None,
                  presplit: bool, no_progress: bool, html: bool) -> None:
    """Align EN_DIR/<name>.txt with AR_DIR/<name>.txt for every shared name."""
    from .corpus import align_folders
    from .pairing import ManifestError

    try:
        run = align_folders(en_dir, ar_dir, out_dir, aligner=encoder, manifest=manifest,
                            presplit=presplit, progress=not no_progress)
    except ManifestError as exc:
        raise click.BadParameter(str(exc), param_hint="'--manifest'") from None
    except EncoderLoadError as exc:
        raise click.BadParameter(str(exc), param_hint="'--encoder'") from None
    click.echo(run.summary())
    # corpus.jsonl is the rich record and always whole; other formats (and split files) are extra.
    _write_formats(out_dir, out_dir, tuple(f for f in formats if f != "jsonl" or split), split=split,
                   license_id=license_id)
    if html:
        from .review import ReviewError, render_review

        try:
            click.echo(f"Review page written to {render_review(out_dir)}")
        except ReviewError as exc:
            click.echo(f"No review page: {exc}", err=True)
            click.get_current_context().exit(1)
    click.get_current_context().exit(0 if run.ok else 1)


@main.command("view")
@click.argument("corpus", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write (default: review.html beside corpus.jsonl).")
def view_command(corpus: Path, out_path: Path | None) -> None:
    """Write a self-contained HTML page for reviewing CORPUS (a run folder or its corpus.jsonl)."""
    from .review import ReviewError, render_review

    try:
        click.echo(f"Review page written to {render_review(corpus, out_path)}")
    except ReviewError as exc:
        raise click.BadParameter(str(exc), param_hint="'CORPUS'") from None


_CORPUS = click.Path(exists=True, path_type=Path)
_SPLIT_HELP = ("Split by document into train,validation,test with these shares, e.g. 0.8,0.1,0.1 (a stable hash "
               "of doc_id picks each document's split).")
_MIN_QUALITY_HELP = ("Keep only pairs whose quality is at least X: the 'quality' field when every record has one, "
                     "else 'score' (the similarity).")


def _load_corpus(corpus: Path, min_quality: float | None):
    from .formats import Corpus
    from .records import CorpusFormatError

    try:
        loaded = Corpus.load(corpus)
    except (FileNotFoundError, CorpusFormatError) as exc:
        raise click.BadParameter(str(exc), param_hint="'CORPUS'") from None
    return loaded if min_quality is None else loaded.filter(min_quality=min_quality)


@main.command("export")
@click.argument("corpus", type=_CORPUS)
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if needed).")
@click.option("--format", "formats", default="jsonl", show_default=True, metavar="LIST", callback=_formats_callback,
              help="Formats, comma-separated, from jsonl,tsv,moses,tmx,hf.")
@click.option("--split", default=None, metavar="TRAIN,VAL,TEST", callback=_split_callback, help=_SPLIT_HELP)
@click.option("--license", "license_id", default=None, metavar="ID",
              help="Licence for the hf dataset card (default: 'other', with a note to set it).")
@click.option("--min-quality", type=float, default=None, metavar="X", help=_MIN_QUALITY_HELP)
def export_command(corpus: Path, out_dir: Path, formats: tuple[str, ...], split, license_id: str | None,
                   min_quality: float | None) -> None:
    """Convert CORPUS (a run folder, its corpus.jsonl, or a corpus TSV) to other formats.

    A run folder's run.json, when present, gives the dataset card how the corpus was made."""
    loaded = _load_corpus(corpus, min_quality)
    try:
        result = loaded.write(out_dir, formats, split=split, license=license_id)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'-o'") from None
    for path in result.written:
        click.echo(f"Wrote {path}")
    for name in result.empty_splits:
        click.echo(f"Split '{name}' got no document: not written.")
    for what in result.skipped:
        click.echo(f"Not written: {what}.")
    click.echo(f"{len(loaded)} sentence pair(s) exported.")


@main.command("publish")
@click.argument("corpus", metavar="OUT_DIR", type=_CORPUS)
@click.option("--repo-id", required=True, metavar="USER/NAME", help="Dataset repository on the Hugging Face Hub.")
@click.option("--private", is_flag=True, help="Create the repository private (an existing one keeps its visibility).")
@click.option("--min-quality", type=float, default=None, metavar="X", help=_MIN_QUALITY_HELP)
@click.option("--split", default=None, metavar="TRAIN,VAL,TEST", callback=_split_callback, help=_SPLIT_HELP)
@click.option("--license", "license_id", default=None, metavar="ID",
              help="Licence for the dataset card (default: 'other', with a note to set it).")
def publish_command(corpus: Path, repo_id: str, private: bool, min_quality: float | None, split,
                    license_id: str | None) -> None:
    """Publish OUT_DIR (a run folder or a corpus file) to the Hugging Face Hub as a dataset:
    Parquet files and a dataset card, in one commit.

    The token comes from HF_TOKEN or the login cache (`hf auth login`). Exit status 1 when
    publishing fails; nothing is committed then."""
    from .hub import HubError

    loaded = _load_corpus(corpus, min_quality)
    if not len(loaded):
        click.echo("error: no sentence pair to publish" + (f" with --min-quality {min_quality:g}" if min_quality
                   is not None else "") + ". Nothing was uploaded.", err=True)
        click.get_current_context().exit(1)
    click.echo(f"Publishing {len(loaded)} sentence pair(s) to the dataset repository {repo_id} ...")
    try:
        url = loaded.push_to_hub(repo_id, private=private, split=split, license=license_id)
    except HubError as exc:
        click.echo(f"error: {exc}", err=True)
        click.get_current_context().exit(1)
    click.echo(f"Published: {url}")


if __name__ == "__main__":
    main()
