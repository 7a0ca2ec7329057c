"""``hf``: the folder ``hf/``, a Hugging Face dataset: ``README.md`` (the dataset card,
:mod:`aligner.outputs.card`) and ``data/<split>-0000K-of-0000N-<content id>.parquet``.

It holds every split itself (one folder, whatever the split), so the corpus is written
once, whole, and split inside by the shares. It is built in a temporary folder beside
``hf/`` and renamed into place, so ``hf/`` is never half-written."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

from aligner.io.files import atomic_open, new_file_mode
from aligner.io.progress import sync as sync_progress_switches
from aligner.io.records import CorpusRecord
from aligner.outputs.card import DEFAULT_CONFIG, build_card, check_config_name, check_license, config_data_dir
from aligner.outputs.formats.base import CorpusFormat, WriteOptions
from aligner.outputs.hf_schema import hf_columns, hf_features
from aligner.outputs.splits import as_shares, split_records

HF_DIR = "hf"
HF_DATA_DIR = "data"
HF_SHARD_ROWS = 500_000
"""Rows per Parquet file of the ``hf`` folder (a larger split gets several shards)."""
HF_ROW_GROUP_ROWS = 10_000


def write_parquet(records: Sequence[CorpusRecord], path: str | Path, *, with_scores: bool = False) -> int:
    """One Parquet file with the :func:`hf_features` columns and the ``huggingface``
    schema metadata, so ``datasets`` restores the ``Translation`` feature. Returns the
    size of the rows in memory (Arrow bytes: the ``num_bytes`` of the card's ``dataset_info``)."""
    import datasets
    import pyarrow.parquet as pq

    sync_progress_switches()
    features = hf_features(with_scores)
    table = datasets.Dataset.from_dict(hf_columns(records, with_scores), features=features).data.table
    with atomic_open(path, "wb") as handle:
        pq.write_table(table, handle, row_group_size=HF_ROW_GROUP_ROWS)
    return int(table.nbytes)


def shard_names(split: str, n_rows: int, shard_rows: int = HF_SHARD_ROWS, data_dir: str = HF_DATA_DIR) -> list[str]:
    """``data/<split>-00000-of-0000N.parquet`` names for a split of ``n_rows`` rows
    (``data_dir``: the configuration's folder, see :func:`aligner.outputs.card.config_data_dir`; the
    ``hf`` folder adds each file's :func:`content_id` before ``.parquet``)."""
    n = max(1, -(-n_rows // shard_rows))
    return [f"{data_dir}/{split}-{k:05d}-of-{n:05d}.parquet" for k in range(n)]


def content_id(path: str | Path) -> str:
    """The first 16 hex digits of the SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def write_hf_folder(records: Sequence[CorpusRecord], folder: Path, *, split: Sequence[float] | str | None = None,
                    license: str | None = None, license_name: str | None = None, repo_id: str | None = None,
                    run: Mapping[str, Any] | None = None, unaligned: Mapping[str, int] | None = None,
                    filters: Sequence[str] = (), shard_rows: int = HF_SHARD_ROWS,
                    config_name: str = DEFAULT_CONFIG, existing_card: str | None = None) -> tuple[Path, dict]:
    """The ``hf`` folder of the corpus ``records`` (see :meth:`aligner.outputs.corpus.Corpus.write_hf`;
    ``run``, ``unaligned``, ``filters``: what the card says of how it was made). Returns the
    folder and the arguments of :func:`aligner.outputs.card.build_card` besides ``existing``
    (to merge the card into another one later)."""
    if not records:
        raise ValueError("no sentence pair to write: a Hugging Face dataset folder needs at least one row")
    check_license(license, license_name)
    data_dir = config_data_dir(check_config_name(config_name))
    shares = as_shares(split)
    with_scores = any(r.is_scored() for r in records)
    by_split = split_records(records, shares)
    written = {name: recs for name, recs in by_split.items() if recs or (shares is None and name == "train")}
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        (tmp / data_dir).mkdir()
        data_files: dict[str, str | list[str]] = {}
        split_sizes: dict[str, tuple[int, int]] = {}  # split: rows, Arrow bytes
        download_size = 0
        for name, part in written.items():
            num_bytes, paths = 0, []
            for k, rel in enumerate(shard_names(name, len(part), shard_rows, data_dir)):
                num_bytes += write_parquet(part[k * shard_rows:(k + 1) * shard_rows], tmp / rel,
                                           with_scores=with_scores)
                download_size += (tmp / rel).stat().st_size
                # The file's content in its name, and the exact names in the card: see _dataset_info.
                final = rel.removesuffix(".parquet") + f"-{content_id(tmp / rel)}.parquet"
                os.replace(tmp / rel, tmp / final)
                paths.append(final)
            split_sizes[name] = (len(part), num_bytes)
            data_files[name] = paths[0] if len(paths) == 1 else paths
        card_args = dict(records=records, run=run, unaligned=unaligned, filters=filters, by_split=by_split,
                         data_files=data_files, shares=shares, license=license, license_name=license_name,
                         repo_id=repo_id, config_name=config_name,
                         dataset_info=_dataset_info(with_scores, split_sizes, download_size))
        card = build_card(**card_args, existing=existing_card)
        with atomic_open(tmp / "README.md") as handle:
            handle.write(card)
        for path in (tmp, tmp / data_dir):
            os.chmod(path, _new_dir_mode())  # mkdtemp gives 0700
        _replace_dir(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder, card_args


def _dataset_info(with_scores: bool, split_sizes: dict[str, tuple[int, int]], download_size: int) -> Any:
    """The ``datasets.DatasetInfo`` of one configuration: features (:func:`hf_features`),
    and per split its rows (``num_examples``) and Arrow size (``num_bytes``);
    ``download_size``: the Parquet bytes. :func:`aligner.outputs.card.build_card` writes it as the
    card's ``dataset_info``.

    Why the card has it, and names each data file with its content (:func:`content_id`):
    for a folder whose card has a ``configs:`` block, ``datasets.load_dataset`` keys its
    cache by the folder's name, the config name and a hash of the card's ``configs`` (the
    data file patterns as written, not the files they match) and ``dataset_info``, never
    by the files' paths or bytes. With the same folder name (``hf``), the same patterns
    (``data/train-*``) and no ``dataset_info``, every export got the same cache entry, and
    the first one loaded in a cache was returned for every other. The sizes make the key
    differ when the rows differ in number or size; the file names listed in ``configs``
    make it differ whenever a byte of the data does."""
    import datasets

    splits = datasets.SplitDict()
    for name, (rows, num_bytes) in split_sizes.items():
        splits.add(datasets.SplitInfo(name=name, num_bytes=num_bytes, num_examples=rows))
    return datasets.DatasetInfo(features=hf_features(with_scores), splits=splits, download_size=download_size,
                                dataset_size=sum(b for _, b in split_sizes.values()))


def _new_dir_mode() -> int:
    """The permissions a plain ``mkdir`` gives: a new file's, plus execute where read is given."""
    mode = new_file_mode()
    return mode | ((mode & 0o444) >> 2)


def _replace_dir(new: Path, target: Path) -> None:
    """Move the finished folder ``new`` to ``target``; an old ``target`` is renamed
    aside first and removed after, so ``target`` is never a half-written folder."""
    old = None
    if target.exists() or target.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / target.name)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


class HfFormat(CorpusFormat):
    name = "hf"

    def file_names(self, split: str | None = None) -> tuple[str, ...]:
        """``hf``, the folder, with or without a split: it holds every split itself."""
        return (HF_DIR,)

    def check(self, options: WriteOptions) -> None:
        """A licence the Hub would not accept: :class:`aligner.outputs.card.CardError`."""
        check_license(options.license, options.license_name)

    def skip_reason(self, records: Sequence[CorpusRecord]) -> str | None:
        return None if records else "no sentence pair to write"  # datasets cannot load a Parquet file of no rows

    def write_files(self, records: Sequence[CorpusRecord], paths: list[Path], options: WriteOptions) -> list[Path]:
        """``records``: the whole corpus, split inside the folder by ``options.shares``; the
        card from ``options`` (licence, repository, run, filters)."""
        (folder,) = paths
        return [write_hf_folder(records, folder, split=options.shares, license=options.license,
                                license_name=options.license_name, repo_id=options.repo_id, run=options.run,
                                unaligned=options.unaligned, filters=options.filters)[0]]

    def write_splits(self, records: Sequence[CorpusRecord], parts: Mapping[str | None, Sequence[CorpusRecord]],
                     folder: Path, options: WriteOptions) -> list[Path]:
        """One folder for the whole corpus (:meth:`write`), whatever the parts."""
        return self.write(records, folder, options=options)
