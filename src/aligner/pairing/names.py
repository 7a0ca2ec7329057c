"""Pairing the documents of an English folder with those of an Arabic folder.

Two ways, both giving a :class:`PairingResult`:

* by name (:func:`pair_by_name`): ``en/<stem>.txt`` goes with ``ar/<stem>.txt``. Only
  files whose extension is ``.txt`` (in any case: ``.TXT`` too) are documents; other
  files are listed in ``ignored`` and never read. Stems must match exactly, case
  included. Nothing ambiguous is guessed: two files in one folder whose names differ
  only in case or extension (``a.txt`` and ``A.TXT``, or ``a.txt`` and ``a.md``), and an
  English and an Arabic name that differ only in case (``Report.txt`` / ``report.txt``),
  are reported in ``problems`` and those files are left unpaired. Names are compared in
  Unicode NFC, so one name typed as NFC and as NFD pairs. Hidden entries, sub-folders,
  broken or looping links, links out of the folder (unless ``follow_links``) and
  devices are not read; each is noted in ``skipped`` with the reason.
* by manifest (``pair_by_name(..., manifest=PATH)``): a tab-separated file whose first
  line is ``en_file<TAB>ar_file`` and whose other lines each name one English file
  (relative to the English folder) and its Arabic source (relative to the Arabic
  folder). Any extension is allowed there. Blank lines and lines starting with ``#``
  are skipped. Every mistake (a missing file, a line without exactly two fields, a file
  named twice) raises :class:`ManifestError` naming the manifest and the line.

* by content (:func:`pair_documents`, ``method="content"`` or ``"auto"``): documents
  are paired by what they say, with the sentence encoder and aligner (see
  :mod:`aligner.pairing.content`); each such pair has ``method="content"``, a ``score`` and
  the ``doc_id`` ``<en_stem>__<ar_stem>``. ``"auto"`` (the command line's default) pairs
  by manifest (when given) and exact name first and by content only what is left.
  Documents left unpaired keep their best candidate and its score
  (:attr:`PairingResult.best_candidates`). :func:`write_pairs` writes a result as
  ``pairs.tsv`` and ``pairs.unpaired.tsv``.

Everything is sorted, so the same folders always give the same result.
"""

from __future__ import annotations

import csv
import errno
import logging
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from aligner.io.inputs import escape_name
from aligner.io.progress import quiet_unless_progress

log = logging.getLogger(__name__)

DOCUMENT_SUFFIX = ".txt"
"""Extension (compared case-insensitively) of the files that :func:`pair_by_name` reads."""

MANIFEST_HEADER = ("en_file", "ar_file")


class PairingError(ValueError):
    """The inputs cannot be paired at all (a missing folder, a broken manifest). File
    names in the message are escaped (:func:`~aligner.io.inputs.escape_name`), line by line."""

    def __init__(self, message: str) -> None:
        super().__init__("\n".join(escape_name(line) for line in str(message).split("\n")))


class ManifestError(PairingError):
    """A manifest line is malformed or names a file that is not there. The message
    names the manifest file and line (``manifest.tsv:3: ...``), one line per mistake."""


class FoldersError(PairingError):
    """A mistake of the whole run, found once before any document is read: the English
    and the Arabic folder are one folder, or the two folders look swapped."""


# Swapped folders are judged on the first documents of each side (sorted by name), each
# read up to this many bytes: enough letters to tell the scripts apart, bounded cost.
SIDE_SAMPLE_DOCUMENTS = 20
SIDE_SAMPLE_BYTES = 64 * 1024


def check_folders(en_dir: str | Path, ar_dir: str | Path, *, follow_links: bool = False,
                  manifest: str | Path | None = None) -> None:
    """Refuse, once and before anything is aligned, the two mistakes that would otherwise
    fail every document one by one (:class:`FoldersError`): ``en_dir`` and ``ar_dir``
    are the same folder (allowed with a manifest, which may pair files of one folder),
    or the English folder holds Arabic text while the Arabic folder holds Latin-script
    text (the folders given the wrong way round)."""
    from aligner.io.inputs import MIN_LETTERS_FOR_LANGUAGE, WRONG_SCRIPT_SHARE

    en_dir, ar_dir = Path(en_dir), Path(ar_dir)
    if manifest is None and _same_folder(en_dir, ar_dir):
        raise FoldersError(f"the English and the Arabic folder are the same folder ({en_dir}): give the folder "
                           f"of English documents first, then the folder of their Arabic sources")
    en, ar = _side_script(en_dir, follow_links), _side_script(ar_dir, follow_links)
    if min(en.letters, ar.letters) < MIN_LETTERS_FOR_LANGUAGE:
        return
    if en.share("en") < WRONG_SCRIPT_SHARE and en.dominant() == "Arabic" \
            and ar.share("ar") < WRONG_SCRIPT_SHARE and ar.dominant() == "Latin":
        raise FoldersError(
            f"the two folders look swapped: the English folder {en_dir} holds Arabic text ({en.arabic:.0%} of "
            f"the letters of its first documents) and the Arabic folder {ar_dir} Latin-script text "
            f"({ar.latin:.0%}); give the English folder first (EN_DIR AR_DIR); nothing was aligned")


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def _side_script(folder: Path, follow_links: bool):
    """Script shares of the letters of a folder's first documents (see check_folders)."""
    from aligner.io.inputs import decode_bytes, script_shares

    texts = []
    docs, _ = list_files(folder, follow_links=follow_links)
    for path in docs[:SIDE_SAMPLE_DOCUMENTS]:
        try:
            with open(path, "rb") as f:
                data = f.read(SIDE_SAMPLE_BYTES)
            texts.append(decode_bytes(data, path).text)
        except (OSError, ValueError):  # unreadable or undecodable: that document will say so itself
            continue
    return script_shares("\n".join(texts))


@dataclass(frozen=True)
class DocumentPair:
    """An English document and its Arabic source.

    ``doc_id`` names the pair in every output (``beads/<doc_id>.align``): the English
    file's name without ``.txt`` (with its sub-folders, ``/``-separated, for manifest
    entries in sub-folders), or ``<en_stem>__<ar_stem>`` for a pair found by content (so
    that an English document with several sources has one ``doc_id`` per source). A
    name's non-UTF-8 bytes and control characters are escaped in it (``caf\\xe9``, see
    :func:`~aligner.io.inputs.escape_name`), so it can always be written and printed.
    ``method`` says how the pair was found: ``"name"``, ``"manifest"`` or ``"content"``;
    content pairs carry their ``score`` (see :mod:`aligner.pairing.content`)."""

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
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    """Entries of the folders that were not read, and why: hidden files, sub-folders,
    broken or looping links, links out of the folder, devices (:func:`list_files`)."""
    best_candidates: dict[Path, tuple[Path, float] | None] = field(default_factory=dict)
    """For documents that content pairing left unpaired: their best candidate on the
    other side and its score (``None`` when they had no candidate at all)."""
    settings: dict = field(default_factory=dict)
    """How the pairing was made (method, ``max_sources``, content-pairing settings)."""

    def merged(self, other: PairingResult) -> PairingResult:
        """This result plus ``other``'s pairs for files still unpaired here (for a second
        pairing step over ``unpaired_en`` / ``unpaired_ar``)."""
        used_en = {p.en_path for p in other.pairs}
        used_ar = {p.ar_path for p in other.pairs}
        unpaired_en = [p for p in self.unpaired_en if p not in used_en]
        unpaired_ar = [p for p in self.unpaired_ar if p not in used_ar]
        best = {**self.best_candidates, **other.best_candidates}
        return PairingResult(
            pairs=sorted(self.pairs + other.pairs, key=lambda p: p.doc_id),
            unpaired_en=unpaired_en, unpaired_ar=unpaired_ar,
            problems=self.problems + [m for m in other.problems if m not in self.problems],
            ignored_en=self.ignored_en, ignored_ar=self.ignored_ar, skipped=self.skipped,
            best_candidates={p: best[p] for p in unpaired_en + unpaired_ar if p in best},
            settings={**self.settings, **other.settings})


def is_document(path: Path) -> bool:
    """A regular, non-hidden file whose extension is ``.txt`` in any case."""
    return path.suffix.lower() == DOCUMENT_SUFFIX and not path.name.startswith(".") and path.is_file()


def list_files(folder: str | Path, *, follow_links: bool = False,
               skipped: list[tuple[Path, str]] | None = None) -> tuple[list[Path], list[Path]]:
    """``(documents, ignored)``: the folder's ``.txt`` files and its other regular,
    non-hidden files, each sorted by name. Sub-folders are not entered. A link is
    followed only to a file inside the folder (anywhere with ``follow_links``). Every
    entry not listed (hidden, a sub-folder, a broken, looping or outside link, a device)
    is appended to ``skipped`` as ``(path, reason)``."""
    folder = _check_folder(folder)
    root = folder.resolve()
    docs, other = [], []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        reason = _skip_reason(path, root, follow_links)
        if reason is not None:
            if skipped is not None:
                skipped.append((path, reason))
            continue
        (docs if path.suffix.lower() == DOCUMENT_SUFFIX else other).append(path)
    return docs, other


FOLLOW_LINKS_HINT = "--follow-links reads it"


def _skip_reason(path: Path, root: Path, follow_links: bool) -> str | None:
    """Why the folder entry ``path`` is not read, or ``None`` for a regular file."""
    if path.is_symlink():
        outside = _outside(path, root, follow_links)
        if outside is not None:
            return outside
    if path.name.startswith("."):
        return "hidden (its name starts with '.'): not read"
    if path.is_dir():
        return "a folder: sub-folders are not read"
    if not path.is_file():
        return "not a regular file (a device, pipe or socket): not read"
    return None


def _outside(path: Path, root: Path, follow_links: bool) -> str | None:
    """Why ``path`` (a link, or a path through one) must not be read: a broken or
    looping link, or (without ``follow_links``) one whose target is outside ``root``
    (a resolved folder); ``None`` when it may be read."""
    try:
        target = path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 raises this for a loop
        return "a link that loops: not read"
    except OSError as exc:
        return "a link that loops: not read" if exc.errno == errno.ELOOP else \
            "a broken link (its target does not exist): not read"
    if not follow_links and not target.is_relative_to(root):
        return f"a link to {target}, outside {root}: not followed ({FOLLOW_LINKS_HINT})"
    return None


def pair_by_name(en_dir: str | Path, ar_dir: str | Path, *,
                 manifest: str | Path | None = None, follow_links: bool = False) -> PairingResult:
    """Pair ``en_dir/<stem>.txt`` with ``ar_dir/<stem>.txt`` (see the module docstring),
    or pair as ``manifest`` says when one is given. Names are compared in Unicode NFC
    (``café`` typed on a Mac, NFD, pairs with ``café`` in NFC). Links out of the folders
    are not followed unless ``follow_links`` (see :func:`list_files`)."""
    en_dir, ar_dir = _check_folder(en_dir, "English"), _check_folder(ar_dir, "Arabic")
    check_folders(en_dir, ar_dir, follow_links=follow_links, manifest=manifest)
    if manifest is not None:
        return _pair_by_manifest(en_dir, ar_dir, Path(manifest), follow_links)
    skipped: list[tuple[Path, str]] = []
    en_docs, en_other = list_files(en_dir, follow_links=follow_links, skipped=skipped)
    ar_docs, ar_other = list_files(ar_dir, follow_links=follow_links, skipped=skipped)
    result = PairingResult(ignored_en=en_other, ignored_ar=ar_other, skipped=skipped)

    en_ok = _unambiguous(en_docs, en_other, en_dir, result.problems)
    ar_ok = _unambiguous(ar_docs, ar_other, ar_dir, result.problems)
    for key in en_ok.keys() & ar_ok.keys():
        result.pairs.append(DocumentPair(escape_name(en_ok[key].stem), en_ok[key], ar_ok[key], "name"))
    result.pairs.sort(key=lambda p: p.doc_id)

    paired_en = {p.en_path for p in result.pairs}
    paired_ar = {p.ar_path for p in result.pairs}
    result.unpaired_en = [p for p in en_docs if p not in paired_en]
    result.unpaired_ar = [p for p in ar_docs if p not in paired_ar]

    # Near misses across the folders: say why they were not paired.
    _near_misses([p for p in result.unpaired_en if _name_key(p.stem) in en_ok], ar_docs + ar_other, "Arabic",
                 result.problems, report_case=True)
    _near_misses([p for p in result.unpaired_ar if _name_key(p.stem) in ar_ok], en_docs + en_other, "English",
                 result.problems, report_case=False)
    return result


def _name_key(stem: str) -> str:
    """What names are compared by: NFC (one name typed on two systems is one name),
    escaped as ``doc_id`` is (two names that would give one ``doc_id`` collide here)."""
    return unicodedata.normalize("NFC", escape_name(stem))


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
        groups[_name_key(path.stem).casefold()].append(path)
    ok = {}
    for path in docs:
        group = groups[_name_key(path.stem).casefold()]
        if len(group) == 1:
            ok[_name_key(path.stem)] = path
        elif path is min((p for p in group if p in docs), key=lambda p: p.name):
            names = ", ".join(p.name for p in sorted(group, key=lambda p: p.name))
            alike = ("differ only in case or extension" if len({_name_key(p.name) for p in group}) == len(group)
                     else "are one name written two ways (Unicode NFC and NFD, or an escaped byte)")
            problems.append(f"{folder}: {names} {alike}; "
                            f"none of them was paired (rename them or use a manifest)")
    return ok


def _near_misses(unpaired: list[Path], other_files: list[Path], other_side: str,
                 problems: list[str], report_case: bool) -> None:
    """Report an unpaired document whose name the other folder has up to case (one
    message per pair of files, from the English side) or with another extension."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for path in other_files:
        groups[_name_key(path.stem).casefold()].append(path)
    for path in unpaired:
        group = groups.get(_name_key(path.stem).casefold(), [])
        docs = [p for p in group if p.suffix.lower() == DOCUMENT_SUFFIX]
        if len(group) != 1:
            continue  # nothing there, or an ambiguity reported for that folder already
        cand = group[0]
        if docs and report_case:
            problems.append(f"{path} and {cand} differ only in case; not paired "
                            f"(rename one or use a manifest)")
        elif not docs and _name_key(cand.stem) == _name_key(path.stem):
            problems.append(f"{path} has no {other_side} partner: {cand} has its name but only "
                            f"{DOCUMENT_SUFFIX} files are read (rename it or use a manifest)")


def _pair_by_manifest(en_dir: Path, ar_dir: Path, manifest: Path, follow_links: bool = False) -> PairingResult:
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
        en_path = _manifest_file(en_dir, en_name, "English", where, lineno, errors, follow_links)
        ar_path = _manifest_file(ar_dir, ar_name, "Arabic", where, lineno, errors, follow_links)
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

    skipped: list[tuple[Path, str]] = []
    en_docs, en_other = list_files(en_dir, follow_links=follow_links, skipped=skipped)
    ar_docs, ar_other = list_files(ar_dir, follow_links=follow_links, skipped=skipped)
    resolved_en = {p.en_path.resolve() for p in pairs}
    resolved_ar = {p.ar_path.resolve() for p in pairs}
    return PairingResult(
        pairs=sorted(pairs, key=lambda p: p.doc_id), skipped=skipped,
        unpaired_en=[p for p in en_docs if p.resolve() not in resolved_en],
        unpaired_ar=[p for p in ar_docs if p.resolve() not in resolved_ar],
        ignored_en=[p for p in en_other if p.resolve() not in resolved_en],
        ignored_ar=[p for p in ar_other if p.resolve() not in resolved_ar])


def _manifest_file(folder: Path, name: str, side: str, where: str, lineno: int,
                   errors: list[str], follow_links: bool = False) -> Path | None:
    rel = PurePosixPath(name.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or Path(name).is_absolute():
        errors.append(f"{where}:{lineno}: {side} file {name!r} must be a name relative to {folder}")
        return None
    path = folder.joinpath(*rel.parts)
    if not path.is_file():
        errors.append(f"{where}:{lineno}: {side} file not found: {path}")
        return None
    # The file that will be read, links resolved: a link (or a linked sub-folder) must
    # not lead out of the folder, whatever the name looks like.
    real = path.resolve()
    if not follow_links and not real.is_relative_to(folder.resolve()):
        errors.append(f"{where}:{lineno}: {side} file {name!r} leads to {real}, outside {folder}: not read "
                      f"({FOLLOW_LINKS_HINT})")
        return None
    return path


def _doc_id(name: str) -> str:
    rel = PurePosixPath(name.replace("\\", "/"))
    return escape_name(rel.with_suffix("") if rel.suffix.lower() == DOCUMENT_SUFFIX else rel)



# ----------------------------------------------------------------------------- by content

PAIR_METHODS = ("auto", "name", "content")
PAIRS_HEADER = ("en_file", "ar_file", "method", "score")
UNPAIRED_HEADER = ("side", "file", "best_candidate", "best_score")


@quiet_unless_progress
def pair_documents(en_dir: str | Path, ar_dir: str | Path, *, aligner=None, method: str = "auto",
                   max_sources: int = 1, manifest: str | Path | None = None, presplit: bool = False,
                   config=None, progress: bool = False, candidates_out: list | None = None,
                   engine: str | None = None, follow_links: bool = False, cache=None,
                   reader=None) -> PairingResult:
    """Pair the documents of two folders, by name and/or by content.

    ``method``:

    * ``"name"``: :func:`pair_by_name` (the manifest, when given, else exact names);
    * ``"content"``: every ``.txt`` document by content (:mod:`aligner.pairing.content`);
    * ``"auto"``: the manifest's pairs (when given), then exact names among the files
      still unpaired, then content for the rest.

    ``aligner``: an :class:`~aligner.Aligner`, an encoder name, or ``None`` for the
    default encoder; built only when some documents are left for content pairing.
    ``max_sources``: how many Arabic documents one English document may pair with (by
    content; a document paired by name or manifest may take further sources by content).
    ``config``: a :class:`~aligner.pairing.content.ContentPairingConfig`.
    ``presplit``: the files hold one sentence per line.
    ``candidates_out``: a list to receive every re-scored candidate pair
    (:class:`~aligner.pairing.content.ContentPair`, best first), e.g. to study thresholds.
    ``cache``: a :class:`~aligner.pairing.content.PairingCache` kept between runs on the same
    documents (encodings and alignments computed once).
    ``reader``: ``(path, lang) -> normalised sentences`` (see
    :func:`aligner.pairing.content.pair_by_content`): a run's own reader, so that each file
    is read and segmented once for pairing and aligning.
    ``follow_links``: read files that links lead to outside the folders (see
    :func:`list_files`; by default such links are skipped, with a note).

    Raises :class:`PairingError` for a missing folder or a broken manifest, and
    ``ValueError`` for an unknown method, ``max_sources < 1``, or ``max_sources > 1``
    with ``method="name"``."""
    from aligner.pairing.content import ContentPairingConfig

    if method not in PAIR_METHODS:
        raise ValueError(f"unknown pairing method {method!r}: expected one of {', '.join(PAIR_METHODS)}")
    if max_sources < 1:
        raise ValueError(f"max_sources must be at least 1, got {max_sources}")
    if method == "name" and max_sources > 1:
        raise ValueError("max_sources > 1 needs method 'auto' or 'content' (further sources are found by content)")
    config = config or ContentPairingConfig()
    en_dir, ar_dir = _check_folder(en_dir, "English"), _check_folder(ar_dir, "Arabic")
    settings = {"method": method, "max_sources": max_sources}
    if method == "name":
        result = pair_by_name(en_dir, ar_dir, manifest=manifest, follow_links=follow_links)
        result.settings = settings
        return result

    if method == "content":
        check_folders(en_dir, ar_dir, follow_links=follow_links, manifest=manifest)
        skipped: list[tuple[Path, str]] = []
        en_docs, en_other = list_files(en_dir, follow_links=follow_links, skipped=skipped)
        ar_docs, ar_other = list_files(ar_dir, follow_links=follow_links, skipped=skipped)
        base = PairingResult(unpaired_en=en_docs, unpaired_ar=ar_docs, ignored_en=en_other, ignored_ar=ar_other,
                             skipped=skipped)
    else:
        base = pair_by_name(en_dir, ar_dir, manifest=manifest, follow_links=follow_links)
        if manifest is not None:
            base = _add_name_pairs(base, pair_by_name(en_dir, ar_dir, follow_links=follow_links))
    settings["content"] = config.to_dict()
    base.settings = settings

    sources_for: dict[Path, list[Path]] = {}
    if max_sources > 1:
        for pair in base.pairs:
            sources_for.setdefault(pair.en_path, []).append(pair.ar_path)
    en_paths = base.unpaired_en + sorted(sources_for, key=str)
    if not base.unpaired_ar or not base.unpaired_en and not sources_for:
        return base  # nothing left to pair by content: no encoder needed
    if aligner is None or isinstance(aligner, str):
        from aligner.documents import Aligner

        from aligner.encoders import DEFAULT_ENCODER, encoder_without_e5

        aligner = Aligner(encoder_without_e5(DEFAULT_ENCODER if aligner is None else aligner), engine=engine)

    from aligner.pairing.content import pair_by_content

    log.info("Pairing %d English and %d Arabic document(s) by content", len(en_paths), len(base.unpaired_ar))
    found = pair_by_content(en_paths, base.unpaired_ar, aligner, max_sources=max_sources, presplit=presplit,
                            config=config, progress=progress, sources_for=sources_for, cache=cache, reader=reader)
    if candidates_out is not None:
        candidates_out.extend(found.candidates)
    if "threshold" in found.stats:  # the threshold applied (calibrated on this collection, or the fixed one)
        settings["content"] = {**settings["content"], "threshold_used": found.stats["threshold"],
                               "threshold_from": found.stats["threshold_from"],
                               # the bead ramp applied (on this collection's cosine scale, or the fixed one)
                               "bead_ramp_used": found.stats["bead_ramp"], "bead_ramp_from": found.stats["bead_ramp_from"],
                               "cosine_scale": found.stats["cosine_scale"]}
    used_ids = {p.doc_id.casefold() for p in base.pairs}
    pairs = []
    for cp in found.pairs:
        doc_id = base_id = f"{_doc_id(cp.en_path.name)}__{_doc_id(cp.ar_path.name)}"
        n = 1
        while doc_id.casefold() in used_ids:
            n += 1
            doc_id = f"{base_id}__{n}"
        used_ids.add(doc_id.casefold())
        pairs.append(DocumentPair(doc_id, cp.en_path, cp.ar_path, "content", cp.score))
    content = PairingResult(pairs=pairs, problems=found.problems, best_candidates=found.best_candidates)
    return base.merged(content)


def _add_name_pairs(base: PairingResult, by_name: PairingResult) -> PairingResult:
    """``base`` (manifest pairs) plus the exact-name pairs of files it left unpaired."""
    un_en, un_ar = set(base.unpaired_en), set(base.unpaired_ar)
    used_ids = {p.doc_id.casefold() for p in base.pairs}
    extra = [p for p in by_name.pairs if p.en_path in un_en and p.ar_path in un_ar
             and p.doc_id.casefold() not in used_ids]
    return base.merged(PairingResult(pairs=extra))


def pairs_paths(pairs_tsv: str | Path) -> tuple[Path, Path]:
    """``(pairs.tsv, pairs.unpaired.tsv)``: the unpaired file sits beside the pairs file,
    ``.unpaired`` before its extension."""
    pairs_tsv = Path(pairs_tsv)
    suffix = pairs_tsv.suffix or ".tsv"
    return pairs_tsv, pairs_tsv.with_name(f"{pairs_tsv.name[:len(pairs_tsv.name) - len(pairs_tsv.suffix)]}"
                                          f".unpaired{suffix}")


def write_pairs(result: PairingResult, pairs_tsv: str | Path, en_dir: str | Path, ar_dir: str | Path
                ) -> tuple[Path, Path]:
    """Write ``pairs.tsv`` (header ``en_file<TAB>ar_file<TAB>method<TAB>score``, one pair a
    line, names relative to the folders, score empty for name and manifest pairs) and,
    beside it, ``pairs.unpaired.tsv`` (header ``side<TAB>file<TAB>best_candidate<TAB>best_score``,
    one unpaired document a line, the candidate and score empty when there was none).
    Both are written atomically. Returns their paths."""
    from aligner.io.files import atomic_write_text

    en_dir, ar_dir = Path(en_dir), Path(ar_dir)
    pairs_path, unpaired_path = pairs_paths(pairs_tsv)
    lines = ["\t".join(PAIRS_HEADER)]
    for p in sorted(result.pairs, key=lambda p: (_rel(p.en_path, en_dir), _rel(p.ar_path, ar_dir))):
        lines.append("\t".join([_rel(p.en_path, en_dir), _rel(p.ar_path, ar_dir), p.method,
                                "" if p.score is None else f"{p.score:.4f}"]))
    unpaired = ["\t".join(UNPAIRED_HEADER)]
    for side, files, own, other in (("en", result.unpaired_en, en_dir, ar_dir),
                                    ("ar", result.unpaired_ar, ar_dir, en_dir)):
        for path in files:
            best = result.best_candidates.get(path)
            unpaired.append("\t".join([side, _rel(path, own), "" if best is None else _rel(best[0], other),
                                       "" if best is None else f"{best[1]:.4f}"]))
    pairs_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(pairs_path, "\n".join(lines) + "\n")
    atomic_write_text(unpaired_path, "\n".join(unpaired) + "\n")
    return pairs_path, unpaired_path


def _rel(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder``, escaped (a tab or line break in a name would
    break the TSV line; a non-UTF-8 byte could not be written)."""
    try:
        return escape_name(path.relative_to(folder).as_posix())
    except ValueError:
        return escape_name(path.name)
