"""Corpus outputs: the :class:`~aligner.outputs.corpus.Corpus` (load, filter, split, write,
push), the formats registry (:mod:`aligner.outputs.formats`: JSONL, TSV, Moses, TMX, HF
Parquet), splits by document (:mod:`~aligner.outputs.splits`), the output folder check
(:mod:`~aligner.outputs.output_folder`), dataset card, Hub, review page."""
