"""Pairing the documents of an English folder with those of an Arabic folder.

Two ways, both giving a :class:`PairingResult`:

* by name (:func:`pair_by_name`): ``en/<stem>.txt`` goes with ``ar/<stem>.txt``. Only
  files whose extension is ``.txt`` (in any case: ``.TXT`` too) are documents; other
  files are listed in ``ignored`` and never read. Stems must match exactly, case
  included. Nothing ambiguous is guessed: two files in one folder whose names differ
  only in case or extension (``a.txt`` and ``A.TXT``, or ``a.txt`` and ``a.md``), and an
  English and an Arabic name that differ only in case (``Report.txt`` / ``report.txt``),
  are reported in ``problems`` and those files are left unpaired.
* by manifest (``pair_by_name(..., manifest=PATH)``): a tab-separated file whose first
  line is ``en_file<TAB>ar_file`` and whose other lines each name one English file
  (relative to the English folder) and its Arabic source (relative to the Arabic
  folder). Any extension is allowed there. Blank lines and lines starting with ``#``
  are skipped. Every mistake (a missing file, a line without exactly two fields, a file
  named twice) raises :class:`ManifestError` naming the manifest and the line.

Files are never matched by content here. A content-based pairing can be added as one
more function that takes a result's ``unpaired_en`` / ``unpaired_ar``, returns pairs
with ``method="content"`` (and a ``score``), and merges them with :meth:`PairingResult.merged`.
Everything is sorted, so the same folders always give the same result.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

DOCUMENT_SUFFIX = ".txt"
"""Extension (compared case-insensitively) of the files that :func:`pair_by_name` reads."""

MANIFEST_HEADER = ("en_file", "ar_file")


class PairingError(ValueError):
    """The inputs cannot be paired at all (a missing folder, a broken manifest)."""


class ManifestError(PairingError):
    """A manifest line is malformed or names a file that is not there. The message
    names the manifest file and line (``manifest.tsv:3: ...``), one line per mistake."""


@dataclass(frozen=True)
class DocumentPair:
    """An English document and its Arabic source.

    ``doc_id`` names the pair in every output (``beads/<doc_id>.align``): the English
    file's name without ``.txt`` (with its sub-folders, ``/``-separated, for manifest
    entries in sub-folders). ``method`` says how the pair was found: ``"name"`` or
    ``"manifest"`` (later also ``"content"``, with a ``score``)."""

    doc_id: str
    en_path: Path
    ar_path: Path
    method: str = "name"
    score: float | None = None


@dataclass
class PairingResult:
    """Pairs (sorted by ``doc_id``), documents left without a partner on each side,
    files that are not documents, and messages about anything ambiguous."""

    pairs: list[DocumentPair] = field(default_factory=list)
    unpaired_en: list[Path] = field(default_factory=list)
    unpaired_ar: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    ignored_en: list[Path] = field(default_factory=list)
    ignored_ar: list[Path] = field(default_factory=list)

    def merged(self, other: PairingResult) -> PairingResult:
        """This result plus ``other``'s pairs for files still unpaired here (for a second
        pairing step over ``unpaired_en`` / ``unpaired_ar``)."""
        used_en = {p.en_path for p in other.pairs}
        used_ar = {p.ar_path for p in other.pairs}
        return PairingResult(
            pairs=sorted(self.pairs + other.pairs, key=lambda p: p.doc_id),
            unpaired_en=[p for p in self.unpaired_en if p not in used_en],
            unpaired_ar=[p for p in self.unpaired_ar if p not in used_ar],
            problems=self.problems + [m for m in other.problems if m not in self.problems],
            ignored_en=self.ignored_en, ignored_ar=self.ignored_ar)


def is_document(path: Path) -> bool:
    """A regular, non-hidden file whose extension is ``.txt`` in any case."""
    return path.suffix.lower() == DOCUMENT_SUFFIX and not path.name.startswith(".") and path.is_file()


def list_files(folder: str | Path) -> tuple[list[Path], list[Path]]:
    """``(documents, ignored)``: the folder's ``.txt`` files and its other regular,
    non-hidden files, each sorted by name. Sub-folders are not entered."""
    folder = _check_folder(folder)
    docs, other = [], []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.name.startswith(".") or not path.is_file():
            continue
        (docs if path.suffix.lower() == DOCUMENT_SUFFIX else other).append(path)
    return docs, other


def pair_by_name(en_dir: str | Path, ar_dir: str | Path, *,
                 manifest: str | Path | None = None) -> PairingResult:
    """Pair ``en_dir/<stem>.txt`` with ``ar_dir/<stem>.txt`` (see the module docstring),
    or pair as ``manifest`` says when one is given."""
    en_dir, ar_dir = _check_folder(en_dir, "English"), _check_folder(ar_dir, "Arabic")
    if manifest is not None:
        return _pair_by_manifest(en_dir, ar_dir, Path(manifest))
    en_docs, en_other = list_files(en_dir)
    ar_docs, ar_other = list_files(ar_dir)
    result = PairingResult(ignored_en=en_other, ignored_ar=ar_other)

    en_ok = _unambiguous(en_docs, en_other, en_dir, result.problems)
    ar_ok = _unambiguous(ar_docs, ar_other, ar_dir, result.problems)
    for stem in sorted(en_ok.keys() & ar_ok.keys()):
        result.pairs.append(DocumentPair(stem, en_ok[stem], ar_ok[stem], "name"))

    paired_en = {p.en_path for p in result.pairs}
    paired_ar = {p.ar_path for p in result.pairs}
    result.unpaired_en = [p for p in en_docs if p not in paired_en]
    result.unpaired_ar = [p for p in ar_docs if p not in paired_ar]

    # Near misses across the folders: say why they were not paired.
    _near_misses([p for p in result.unpaired_en if p.stem in en_ok], ar_docs + ar_other, "Arabic",
                 result.problems, report_case=True)
    _near_misses([p for p in result.unpaired_ar if p.stem in ar_ok], en_docs + en_other, "English",
                 result.problems, report_case=False)
    return result


def _check_folder(folder: str | Path, side: str = "") -> Path:
    folder = Path(folder)
    what = f"{side} folder" if side else "folder"
    if not folder.exists():
        raise PairingError(f"{what} not found: {folder}")
    if not folder.is_dir():
        raise PairingError(f"{what} is not a folder: {folder}")
    return folder


def _unambiguous(docs: list[Path], other: list[Path], folder: Path, problems: list[str]) -> dict[str, Path]:
    """Documents by stem, leaving out (and reporting) stems shared, up to case, with
    another file of the same folder."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for path in docs + other:
        groups[path.stem.casefold()].append(path)
    ok = {}
    for path in docs:
        group = groups[path.stem.casefold()]
        if len(group) == 1:
            ok[path.stem] = path
        elif path is min((p for p in group if p in docs), key=lambda p: p.name):
            names = ", ".join(p.name for p in sorted(group, key=lambda p: p.name))
            problems.append(f"{folder}: {names} differ only in case or extension; "
                            f"none of them was paired (rename them or use a manifest)")
    return ok


def _near_misses(unpaired: list[Path], other_files: list[Path], other_side: str,
                 problems: list[str], report_case: bool) -> None:
    """Report an unpaired document whose name the other folder has up to case (one
    message per pair of files, from the English side) or with another extension."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for path in other_files:
        groups[path.stem.casefold()].append(path)
    for path in unpaired:
        group = groups.get(path.stem.casefold(), [])
        docs = [p for p in group if p.suffix.lower() == DOCUMENT_SUFFIX]
        if len(group) != 1:
            continue  # nothing there, or an ambiguity reported for that folder already
        cand = group[0]
        if docs and report_case:
            problems.append(f"{path} and {cand} differ only in case; not paired "
                            f"(rename one or use a manifest)")
        elif not docs and cand.stem == path.stem:
            problems.append(f"{path} has no {other_side} partner: {cand} has its name but only "
                            f"{DOCUMENT_SUFFIX} files are read (rename it or use a manifest)")


def _pair_by_manifest(en_dir: Path, ar_dir: Path, manifest: Path) -> PairingResult:
    if not manifest.is_file():
        raise ManifestError(f"{manifest}: manifest not found")
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{manifest}: not valid UTF-8 (byte {exc.start})") from None
    lines = text.splitlines()
    errors: list[str] = []
    where = f"{manifest}"
    header_at = next((k for k, line in enumerate(lines) if line.strip() and not line.startswith("#")), None)
    if header_at is None:
        raise ManifestError(f"{where}: empty manifest (expected the header 'en_file<TAB>ar_file')")
    header = tuple(f.strip() for f in lines[header_at].split("\t"))
    if header != MANIFEST_HEADER:
        raise ManifestError(f"{where}:{header_at + 1}: expected the header 'en_file<TAB>ar_file', "
                            f"found {lines[header_at]!r}")

    pairs: list[DocumentPair] = []
    seen_en: dict[Path, int] = {}
    seen_ar: dict[Path, int] = {}
    seen_id: dict[str, int] = {}
    for k in range(header_at + 1, len(lines)):
        line, lineno = lines[k], k + 1
        if not line.strip() or line.startswith("#"):
            continue
        fields = next(csv.reader([line], delimiter="\t", quoting=csv.QUOTE_NONE))
        if len(fields) != 2 or not all(f.strip() for f in fields):
            errors.append(f"{where}:{lineno}: expected two tab-separated file names, found {line!r}")
            continue
        en_name, ar_name = (f.strip() for f in fields)
        en_path = _manifest_file(en_dir, en_name, "English", where, lineno, errors)
        ar_path = _manifest_file(ar_dir, ar_name, "Arabic", where, lineno, errors)
        if en_path is None or ar_path is None:
            continue
        doc_id = _doc_id(en_name)
        for seen, key, what in ((seen_en, en_path, f"English file {en_name!r}"),
                                (seen_ar, ar_path, f"Arabic file {ar_name!r}"),
                                (seen_id, doc_id.casefold(), f"document id {doc_id!r}")):
            if key in seen:
                errors.append(f"{where}:{lineno}: {what} already used on line {seen[key]}")
                break
        else:
            seen_en[en_path], seen_ar[ar_path], seen_id[doc_id.casefold()] = lineno, lineno, lineno
            pairs.append(DocumentPair(doc_id, en_path, ar_path, "manifest"))
    if errors:
        raise ManifestError("\n".join(errors))

    en_docs, en_other = list_files(en_dir)
    ar_docs, ar_other = list_files(ar_dir)
    resolved_en = {p.en_path.resolve() for p in pairs}
    resolved_ar = {p.ar_path.resolve() for p in pairs}
    return PairingResult(
        pairs=sorted(pairs, key=lambda p: p.doc_id),
        unpaired_en=[p for p in en_docs if p.resolve() not in resolved_en],
        unpaired_ar=[p for p in ar_docs if p.resolve() not in resolved_ar],
        ignored_en=[p for p in en_other if p.resolve() not in resolved_en],
        ignored_ar=[p for p in ar_other if p.resolve() not in resolved_ar])


def _manifest_file(folder: Path, name: str, side: str, where: str, lineno: int,
                   errors: list[str]) -> Path | None:
    rel = PurePosixPath(name.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or Path(name).is_absolute():
        errors.append(f"{where}:{lineno}: {side} file {name!r} must be a name relative to {folder}")
        return None
    path = folder.joinpath(*rel.parts)
    if not path.is_file():
        errors.append(f"{where}:{lineno}: {side} file not found: {path}")
        return None
    return path


def _doc_id(name: str) -> str:
    rel = PurePosixPath(name.replace("\\", "/"))
    return str(rel.with_suffix("")) if rel.suffix.lower() == DOCUMENT_SUFFIX else str(rel)

