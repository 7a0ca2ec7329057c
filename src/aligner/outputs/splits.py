"""Train / validation / test splits by document (``--split 0.8,0.1,0.1``).

Documents go to splits by a stable hash of their ``doc_id`` (:func:`split_of`), so a
document never has rows in two splits, and keeps its split when others are added.
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Sequence

from aligner.io.records import CorpusRecord

SPLIT_NAMES = ("train", "validation", "test")

Shares = tuple[float, float, float]


def parse_split(spec: str | Sequence[float] | None) -> Shares | None:
    """``"0.8,0.1,0.1"`` as the shares of train, validation and test (each >= 0, summing
    to 1; a share may be 0). ``None`` or ``""``: no split. Raises ``ValueError``."""
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return None
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    try:
        shares = tuple(float(p) for p in parts)
    except ValueError:
        raise ValueError(f"split {spec!r}: expected three numbers like 0.8,0.1,0.1 (train,validation,test)") from None
    if len(shares) != 3:
        raise ValueError(f"split {spec!r}: expected three numbers (train,validation,test), got {len(shares)}")
    if any(not (0.0 <= s <= 1.0) for s in shares) or abs(sum(shares) - 1.0) > 1e-6:
        raise ValueError(f"split {spec!r}: the shares must be between 0 and 1 and sum to 1")
    return shares  # type: ignore[return-value]


def as_shares(split: Sequence[float] | str | None) -> tuple[float, ...] | None:
    """The ``split`` argument of the writers: a string is parsed (:func:`parse_split`), a
    sequence taken as it is, ``None`` is no split."""
    return parse_split(split) if isinstance(split, str) else (tuple(split) if split is not None else None)


def doc_hash_fraction(doc_id: str) -> float:
    """A number in [0, 1) fixed by ``doc_id`` alone: the first 8 bytes of the SHA-256
    of its UTF-8 bytes, over 2**64."""
    return int.from_bytes(hashlib.sha256(doc_id.encode("utf-8")).digest()[:8], "big") / 2.0**64


def split_of(doc_id: str, shares: Sequence[float]) -> str:
    """The split a document belongs to: ``train`` when :func:`doc_hash_fraction` is below
    the train share, ``validation`` when below train + validation, else ``test``. It
    depends on the document's id and the shares only, not on the other documents."""
    u = doc_hash_fraction(doc_id)
    bound = 0.0
    for name, share in zip(SPLIT_NAMES, shares):
        bound += share
        if share > 0 and u < bound:
            return name
    return next(n for n, s in reversed(list(zip(SPLIT_NAMES, shares))) if s > 0)


def split_records(records: Iterable[CorpusRecord], shares: Sequence[float] | None) -> dict[str, list[CorpusRecord]]:
    """Records by split (:data:`SPLIT_NAMES` order, every split present, possibly empty),
    each in the original order. ``shares`` ``None``: everything in ``train``."""
    out: dict[str, list[CorpusRecord]] = {name: [] for name in SPLIT_NAMES}
    cache: dict[str, str] = {}
    for record in records:
        if shares is None:
            name = "train"
        elif record.doc_id in cache:
            name = cache[record.doc_id]
        else:
            name = cache[record.doc_id] = split_of(record.doc_id, shares)
        out[name].append(record)
    return out
