#!/usr/bin/env python3
"""Align every EN_DIR/<name>.txt with AR_DIR/<name>.txt into a corpus in OUT.

    python scripts/align_folders.py EN_DIR AR_DIR -o OUT [--encoder NAME] [--manifest FILE]
        [--presplit] [--no-progress]

The same as ``aligner align`` (both call :func:`aligner.corpus.align_folders`); exit
status 0 when every paired document was aligned, 1 when any failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    import aligner  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from aligner.corpus import align_folders  # noqa: E402
from aligner.encoders import DEFAULT_ENCODER, EncoderLoadError  # noqa: E402
from aligner.pairing import PairingError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("en_dir", type=Path, help="folder of English .txt files")
    parser.add_argument("ar_dir", type=Path, help="folder of Arabic .txt files")
    parser.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER, help=f"encoder (default: {DEFAULT_ENCODER})")
    parser.add_argument("--manifest", type=Path, help="TSV 'en_file<TAB>ar_file' pairing files explicitly")
    parser.add_argument("--presplit", action="store_true", help="one sentence per line; do not segment")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        run = align_folders(args.en_dir, args.ar_dir, args.out, aligner=args.encoder, manifest=args.manifest,
                            presplit=args.presplit, progress=not args.no_progress)
    except (PairingError, EncoderLoadError) as exc:
        parser.error(str(exc))
    print(run.summary())
    return 0 if run.ok else 1


if __name__ == "__main__":
    sys.exit(main())
