"""aligner: sentence-aligned English-Arabic parallel corpora with quality scores.

The package is laid out as the pipeline a document walks (README, How the code is laid
out): ``text`` -> ``io`` -> ``encoders`` -> ``alignment`` -> ``documents`` -> ``pairing``
-> ``scoring`` -> ``outputs`` -> ``run`` -> ``cli``; each layer imports only the ones
before it (an import-linter contract in ``pyproject.toml``).

The library logs through :mod:`logging` (module loggers under ``aligner``) and prints
nothing; it adds only a ``NullHandler`` to the ``aligner`` logger, so an application
decides what is shown: ``logging.basicConfig(level=logging.INFO)`` shows its progress
notes. The ``aligner`` command installs its own handler (``-q``, ``-v``).
"""

import logging

from aligner.version import __version__
from aligner.alignment import AlignmentConfig, Bead, align_embeddings, align_runs
from aligner.documents import Aligner, DocumentAlignment, SentencePair, align
from aligner.encoders import DEFAULT_ENCODER, EncoderLoadError, SentenceEncoder, load_encoder
from aligner.text.segmentation import Sentence, segment, segment_arabic, segment_english, split_lines
from aligner.outputs.corpus import Corpus  # lxml, datasets, huggingface_hub are imported when used
from aligner.io.records import CorpusRecord, read_corpus
from aligner.pairing.names import PairingResult, pair_documents  # content pairing: aligner.pairing.content

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "__version__", "Aligner", "AlignmentConfig", "Bead", "DEFAULT_ENCODER", "DocumentAlignment",
    "EncoderLoadError", "Sentence", "SentenceEncoder", "SentencePair", "align", "align_embeddings",
    "align_runs", "load_encoder", "segment", "segment_arabic", "segment_english", "split_lines",
    "Corpus", "CorpusRecord", "read_corpus", "PairingResult", "pair_documents",
]
