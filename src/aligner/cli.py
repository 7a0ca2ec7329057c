"""The ``aligner`` command: a thin shell over :func:`aligner.corpus.align_folders`.

    aligner align EN_DIR AR_DIR -o OUT [--encoder NAME] [--manifest FILE] [--presplit] [--no-progress]

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="aligner")
def main() -> None:
    """Sentence-align English news reports with their Arabic sources."""


@main.command("align")
@click.argument("en_dir", type=_FOLDER)
@click.argument("ar_dir", type=_FOLDER)
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if needed): corpus.jsonl, beads/, unaligned.jsonl, run.json.")
@click.option("--encoder", default=DEFAULT_ENCODER, show_default=True, metavar="NAME",
              help="Embedded encoder name, or a Hugging Face model id or local model folder.")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TSV with header 'en_file<TAB>ar_file' pairing files explicitly (default: same file name).")
@click.option("--presplit", is_flag=True, help="Files hold one sentence per line; do not segment.")
@click.option("--no-progress", is_flag=True, help="Do not show a progress bar.")
def align_command(en_dir: Path, ar_dir: Path, out_dir: Path, encoder: str, manifest: Path | None,
                  presplit: bool, no_progress: bool) -> None:
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
    click.get_current_context().exit(0 if run.ok else 1)


if __name__ == "__main__":
    main()
