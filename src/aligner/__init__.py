"""aligner: sentence-aligned English-Arabic parallel corpora with quality scores."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("aligner")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"

from .alignment import AlignmentConfig, Bead, align_embeddings, align_runs  # noqa: E402
from .api import Aligner, DocumentAlignment, SentencePair, align  # noqa: E402
from .encoders import DEFAULT_ENCODER, EncoderLoadError, SentenceEncoder, load_encoder  # noqa: E402
from .segmentation import Sentence, segment, segment_arabic, segment_english, split_lines  # noqa: E402

__all__ = [
    "__version__", "Aligner", "AlignmentConfig", "Bead", "DEFAULT_ENCODER", "DocumentAlignment",
    "EncoderLoadError", "Sentence", "SentenceEncoder", "SentencePair", "align", "align_embeddings",
    "align_runs", "load_encoder", "segment", "segment_arabic", "segment_english", "split_lines",
]

from .formats import Corpus  # noqa: E402  (lxml, datasets, huggingface_hub are imported when used)
from .records import CorpusRecord, read_corpus  # noqa: E402

__all__ += ["Corpus", "CorpusRecord", "read_corpus"]

from .pairing import PairingResult, pair_documents  # noqa: E402  (content pairing: aligner.docpairing)

__all__ += ["PairingResult", "pair_documents"]
