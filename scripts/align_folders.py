#!/usr/bin/env python3
"""Align every EN_DIR/<name>.txt with AR_DIR/<name>.txt into a corpus in OUT.

    python scripts/align_folders.py EN_DIR AR_DIR -o OUT [--encoder NAME] [--manifest FILE]
        [--pair-by auto|name|content] [--max-sources K] [--presplit] [--no-progress]
        [--max-bytes N] [--overwrite] [--follow-links]

The same as ``aligner align`` (both call :func:`aligner.run.folders.align_folders`); exit
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

from aligner.io.files import OutputError, OutputExistsError
from aligner.run.folders import align_folders  # noqa: E402
from aligner.io.inputs import DEFAULT_MAX_BYTES  # noqa: E402
from aligner.encoders import DEFAULT_ENCODER, EncoderLoadError  # noqa: E402
from aligner.pairing.names import PairingError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("en_dir", type=Path, help="folder of English .txt files")
    parser.add_argument("ar_dir", type=Path, help="folder of Arabic .txt files")
    parser.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER, help=f"encoder (default: {DEFAULT_ENCODER})")
    parser.add_argument("--manifest", type=Path, help="TSV 'en_file<TAB>ar_file' pairing files explicitly")
    parser.add_argument("--pair-by", choices=["auto", "name", "content"], default="auto",
                        help="pair by manifest/name, by content, or both (default: auto)")
    parser.add_argument("--max-sources", type=int, default=1, help="Arabic sources per English document (default 1)")
    parser.add_argument("--presplit", action="store_true", help="one sentence per line; do not segment")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES,
                        help=f"refuse input files larger than this many bytes, 0: no limit (default {DEFAULT_MAX_BYTES})")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a corpus in OUT made with other settings or inputs (refused by default)")
    parser.add_argument("--follow-links", action="store_true",
                        help="read files that links lead to outside EN_DIR and AR_DIR (skipped by default)")
    args = parser.parse_args(argv)
    try:
        run = align_folders(args.en_dir, args.ar_dir, args.out, aligner=args.encoder, manifest=args.manifest,
                            presplit=args.presplit, progress=not args.no_progress, pair_by=args.pair_by,
                            max_sources=args.max_sources, max_bytes=args.max_bytes, overwrite=args.overwrite,
                            follow_links=args.follow_links)
    except (PairingError, EncoderLoadError, ValueError, OutputExistsError) as exc:
        parser.error(str(exc))
    except OutputError as exc:  # writing failed: old files intact, finished documents kept for a resume
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(run.summary())
    return 0 if run.ok else 1


if __name__ == "__main__":
    sys.exit(main())
