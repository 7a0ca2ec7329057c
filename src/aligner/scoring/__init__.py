"""Quality scores for aligned sentence pairs, and filtering by them.

Every per-pair score is a :class:`~aligner.scoring.base.Metric` registered by name
(:data:`~aligner.scoring.base.REGISTRY`, :func:`~aligner.scoring.base.get_metric`):
``score(batch)`` gives one number per pair, ``accept(values, threshold)`` which of them
pass (the OpusFilter split), and ``signature()`` a sacrebleu-like
:class:`~aligner.scoring.base.Signature` of its settings, recorded with every scored
corpus. The scores (all in the record's ``scores`` object, rounded to 4 decimals), one
module each:

``similarity``    :mod:`aligner.scoring.similarity`, cosine of the pair's embeddings
``margin``        :mod:`aligner.scoring.margin`, ratio margin against the document's neighbours
``gap``           :mod:`aligner.scoring.gap`, centred cosine minus that of the strongest rival
``length_ratio``  :mod:`aligner.scoring.length_ratio`, z-score of the log length ratio
``numbers``       :mod:`aligner.scoring.numbers`, share of the numerals the other side also has
``language``      :mod:`aligner.scoring.language`, language identifier's confidence
``e5_similarity``, ``e5_gap``  :mod:`aligner.scoring.e5`, cosine and gap of multilingual-e5-small
    embeddings, a second opinion (on by default; ``--no-e5`` skips them)

The rest: :mod:`~aligner.scoring.checks` (the ``copy``, ``untranslated`` and
``boilerplate`` flags, text helpers), :mod:`~aligner.scoring.batch` (what a metric reads),
:mod:`~aligner.scoring.quality` (``quality``, a logistic model over the scores),
:mod:`~aligner.scoring.scorer` (scoring whole documents in context),
:mod:`~aligner.scoring.filters` (which pairs to keep), :mod:`~aligner.scoring.calibration`
(true pairs and negatives from gold alignments, for fitting and measuring).
"""

# The metric modules register their metrics when imported: all of them, here.
from aligner.scoring.base import (
    E5_GAP,
    E5_SCORE,
    E5_SCORE_NAMES,
    FLAGS_KEY,
    REGISTRY,
    SCORE_NAMES,
    SCORES_KEY,
    SCORING_VERSION,
    Metric,
    Signature,
    get_metric,
    register,
)
from aligner.scoring.batch import PairBatch, ScoringDocument
from aligner.scoring.checks import FLAG_NAMES
from aligner.scoring.similarity import Similarity
from aligner.scoring.margin import Margin
from aligner.scoring.gap import Gap
from aligner.scoring.length_ratio import LengthRatio
from aligner.scoring.numbers import Numbers
from aligner.scoring.language import LanguageMatch
from aligner.scoring.e5 import E5Gap, E5Similarity
from aligner.scoring.quality import QualityModel
from aligner.scoring.scorer import ScoredPairs, Scorer
from aligner.scoring.filters import PairFilter, parse_flags, parse_thresholds

__all__ = [
    "E5_GAP", "E5_SCORE", "E5_SCORE_NAMES", "FLAGS_KEY", "FLAG_NAMES", "REGISTRY", "SCORES_KEY", "SCORE_NAMES",
    "SCORING_VERSION", "E5Gap", "E5Similarity", "Gap", "LanguageMatch", "LengthRatio", "Margin", "Metric", "Numbers",
    "PairBatch", "PairFilter", "QualityModel", "ScoredPairs", "Scorer", "ScoringDocument", "Signature", "Similarity",
    "get_metric", "parse_flags", "parse_thresholds", "register",
]
