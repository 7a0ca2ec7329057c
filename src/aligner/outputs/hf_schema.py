"""The columns of the Hugging Face dataset folder: their ``datasets.Features`` and what
each one means (the dataset card documents every column from :data:`HF_COLUMN_DOCS`)."""

from __future__ import annotations

from typing import Any, Sequence

from aligner.io.records import FLAGS_KEY, QUALITY_KEY, SCORED_COLUMNS, CorpusRecord


HF_COLUMN_DOCS = {
    "translation": ("`{ar: string, en: string}` (`datasets.Translation`)",
                    "The aligned texts. A side made of several sentences has them joined by a space."),
    "score": ("float64", "Cosine similarity of the two sides' sentence embeddings (encoder below), rounded "
                         "to 4 decimals: higher means more likely a translation."),
    "doc_id": ("string", "The document pair the row comes from (the shared file name without `.txt`)."),
    "en_file": ("string", "The English document, relative to the English input folder."),
    "ar_file": ("string", "The Arabic document, relative to the Arabic input folder."),
    "en_idx": ("list of int64", "0-based indices of the English sentences in their document."),
    "ar_idx": ("list of int64", "0-based indices of the Arabic sentences in their document."),
    "bead_type": ("string", "Number of English and Arabic sentences: `1-1`, `1-2`, `2-1`, ..."),
    "moved": ("bool", "The pair crosses the documents' main alignment path: a passage the English report moved "
                      "(it stands elsewhere in the Arabic source)."),
    QUALITY_KEY: ("float64", "Probability (0-1) that the pair is a true translation pair (null where not "
                             "computed); below 0.5 the evidence is against the pair."),
    "similarity": ("float64", "Cosine of the two sides' embeddings, same encoder as the alignment (of the joined "
                              "text for a merged bead)."),
    "margin": ("float64", "Ratio margin: the pair's similarity over that of the nearest neighbours in the document "
                          "(above 1 stands out)."),
    "gap": ("float64", "Centred cosine of the pair minus that of its strongest rival in the document (> 0: mutual "
                       "best match)."),
    "length_ratio": ("float64", "z-score of the Arabic/English length ratio against the document's expected ratio "
                                "(|z| > 2.5 unusual)."),
    "numbers": ("float64", "Share of the numerals (in digits) that the other side also has; null when neither "
                           "side has a digit."),
    "language": ("float64", "How sure language identification is that each side is in its language (the lower "
                            "of the two)."),
    "e5_similarity": ("float64", "Cosine on multilingual-e5-small embeddings, a second opinion (null when scored "
                                 "without e5)."),
    "e5_gap": ("float64", "`gap` on multilingual-e5-small embeddings (null when scored without e5)."),
    FLAGS_KEY: ("list of string", "Flags of the pair, possibly none: `copy`, `untranslated`, `boilerplate` "
                                  "(null where not scored)."),
}


def hf_features(with_scores: bool = False) -> Any:
    """The ``datasets.Features`` of the ``hf`` folder: ``translation``
    (``Translation(languages=["ar", "en"])``), ``score``, then the provenance columns
    ``doc_id, en_file, ar_file, en_idx, ar_idx, bead_type, moved``; with ``with_scores`` then
    the :data:`~aligner.io.records.SCORED_COLUMNS` (``float64``, ``flags`` a list of
    strings; null where a record lacks the value)."""
    import datasets

    int_list = datasets.List(datasets.Value("int64")) if hasattr(datasets, "List") else \
        datasets.Sequence(datasets.Value("int64"))
    columns: dict[str, Any] = {
        "translation": datasets.Translation(languages=["ar", "en"]),
        "score": datasets.Value("float64"),
        "doc_id": datasets.Value("string"),
        "en_file": datasets.Value("string"),
        "ar_file": datasets.Value("string"),
        "en_idx": int_list,
        "ar_idx": int_list,
        "bead_type": datasets.Value("string"),
        "moved": datasets.Value("bool"),
    }
    if with_scores:
        for name in SCORED_COLUMNS:
            columns[name] = datasets.Value("float64")
        columns[FLAGS_KEY] = datasets.List(datasets.Value("string")) if hasattr(datasets, "List") else \
            datasets.Sequence(datasets.Value("string"))
    return datasets.Features(columns)


def hf_columns(records: Sequence[CorpusRecord], with_scores: bool) -> dict[str, list]:
    """The ``hf`` folder's columns for ``records`` (see :func:`hf_features`)."""
    columns: dict[str, list] = {
        "translation": [{"ar": r.ar, "en": r.en} for r in records],
        "score": [r.score for r in records],
        "doc_id": [r.doc_id for r in records],
        "en_file": [r.en_file for r in records],
        "ar_file": [r.ar_file for r in records],
        "en_idx": [list(r.en_idx) for r in records],
        "ar_idx": [list(r.ar_idx) for r in records],
        "bead_type": [r.bead_type for r in records],
        "moved": [r.moved for r in records],
    }
    if with_scores:
        flat = [r.scored_fields() for r in records]
        for name in SCORED_COLUMNS:
            columns[name] = [row[name] for row in flat]
    return columns
