"""Corpus outputs: formats (JSONL, TSV, TMX, Moses, HF Parquet), dataset card, Hub, review page."""
