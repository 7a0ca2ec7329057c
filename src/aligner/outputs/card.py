"""The dataset card (``README.md``) of a Hugging Face dataset folder, built with
``huggingface_hub``'s :class:`~huggingface_hub.DatasetCard` / :class:`~huggingface_hub.DatasetCardData`
and merged into a card that already exists, as ``datasets``' ``push_to_hub`` does.

Metadata (the YAML block):

* computed keys, always updated: this configuration's ``configs`` entry and ``dataset_info``
  entry (features, splits with ``num_examples``; other configurations' entries are kept)
  and ``size_categories`` (from the largest configuration);
* descriptive keys (``pretty_name``, ``language``, ``multilinguality``, ``task_categories``,
  ``annotations_creators``, ``language_creators``, ``source_datasets``, ``tags``): written
  when the card has none, otherwise left as the owner wrote them;
* ``license`` (and ``license_name``): changed only by an explicit licence; without one, the
  card's licence is kept, and a new card says ``unknown`` with a note to set it;
* every other key of the owner's is kept as it is.

Body (the Markdown): aligner's sections sit between HTML comment markers
(``<!-- aligner:begin main -->`` ... ``<!-- aligner:end main -->``, and one
``config NAME`` block per configuration). A push replaces its own blocks only; everything
outside them (sections the owner wrote, other configurations' blocks) is kept where it is.
A new configuration's block goes after the last aligner block.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from typing import Any, Mapping, Sequence

from aligner.version import __version__
from aligner.io.records import CorpusRecord

DEFAULT_CONFIG = "default"
DEFAULT_DATA_DIR = "data"
UNKNOWN_LICENSE = "unknown"
PRETTY_NAME = "English-Arabic sentence-aligned corpus"
LICENSES_URL = "https://huggingface.co/docs/hub/repositories-licenses"

HUB_LICENSES = frozenset("""
apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0
bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda cc
cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0
cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0
cdla-sharing-1.0 cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1
eupl-1.2 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc h-research intel-research lppl-1.3c
ms-pl apple-ascl apple-amlr mpl-2.0 odc-by odbl openrail++ osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib
pddl lgpl-lr deepfloyd-if-license llama2 llama3 llama3.1 llama3.2 llama3.3 gemma unknown other
""".split())
"""The licence identifiers the Hub documents (:data:`LICENSES_URL`; ``huggingface_hub``
ships no list): a card's ``license`` must be one of them, ``other`` with a ``license_name``
for any other licence."""

SIZE_CATEGORIES = ("n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M", "100M<n<1B",
                   "1B<n<10B", "10B<n<100B", "100B<n<1T", "n>1T")

_CONFIG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_LICENSE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_BLOCK = re.compile(r"<!-- aligner:begin (main|config [^ ]+) -->\n.*?<!-- aligner:end \1 -->\n?", re.S)


class CardError(ValueError):
    """A licence or configuration name the Hub would not accept; the message says the valid form."""


# ----------------------------------------------------------------------------- checks


def check_config_name(name: str | None) -> str:
    """``name`` (default ``default``) when it can name a configuration and its data folder."""
    name = DEFAULT_CONFIG if name is None else name
    if not _CONFIG_NAME.fullmatch(name) or name == DEFAULT_DATA_DIR:
        raise CardError(f"configuration name {name!r}: use letters, digits, '_', '.' and '-' (starting with a "
                        f"letter or digit), not {DEFAULT_DATA_DIR!r} (the folder of the 'default' configuration)")
    return name


def config_data_dir(name: str) -> str:
    """The repository folder of a configuration's data files, as ``datasets`` lays them out:
    ``data`` for ``default``, the configuration's name otherwise."""
    return DEFAULT_DATA_DIR if name == DEFAULT_CONFIG else name


def check_license(license: str | None, license_name: str | None = None) -> tuple[str | None, str | None]:
    """``(license, license_name)`` when they are what the Hub accepts; else :class:`CardError`
    with the form to use (``"CC BY 4.0"``: did you mean ``cc-by-4.0``?). ``None`` stays
    ``None`` (keep the card's licence). ``other`` needs a ``license_name`` (a lower-case id
    such as ``my-licence-1.0``), and a ``license_name`` goes only with ``other``."""
    if license is None:
        if license_name is not None:
            raise CardError(f"licence name {license_name!r} goes with licence 'other': pass --license other too")
        return None, None
    if license not in HUB_LICENSES:
        guess = _suggest_license(license)
        hint = f"did you mean {guess!r}? " if guess else ""
        raise CardError(f"licence {license!r} is not a Hugging Face Hub licence id: {hint}use an id from "
                        f"{LICENSES_URL} (lower case, e.g. cc-by-4.0, cc-by-sa-4.0, apache-2.0, mit), or 'other' "
                        f"with --license-name NAME for a licence not in that list")
    if license == "other":
        if not license_name:
            raise CardError("licence 'other' needs a name: pass --license-name NAME (a lower-case id, e.g. "
                            "my-licence-1.0), or use one of the Hub's licence ids (" + LICENSES_URL + ")")
        if not _LICENSE_NAME.fullmatch(license_name):
            slug = re.sub(r"[^a-z0-9._-]+", "-", license_name.lower()).strip("-._")
            raise CardError(f"licence name {license_name!r}: use a lower-case id of letters, digits, '.', '_' and "
                            f"'-'" + (f", e.g. {slug!r}" if slug else ""))
    elif license_name is not None:
        raise CardError(f"--license-name goes with --license other only (licence {license!r} is already a Hub id)")
    return license, license_name


def _suggest_license(text: str) -> str | None:
    slug = re.sub(r"[\s_/]+", "-", text.strip().lower())
    slug = re.sub(r"-?(licen[cs]e|version|v(?=\d))-?", "-", slug).strip("-")
    slug = re.sub(r"-+", "-", slug)
    if slug in HUB_LICENSES:
        return slug
    close = difflib.get_close_matches(slug, sorted(HUB_LICENSES), n=1, cutoff=0.75)
    return close[0] if close else None


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` value for ``n`` rows."""
    for k, name in enumerate(SIZE_CATEGORIES[:-1]):
        if n < 1000 * 10 ** k:
            return name
    return SIZE_CATEGORIES[-1]


# ----------------------------------------------------------------------------- the card


def build_card(records: Sequence[CorpusRecord], by_split: dict[str, list[CorpusRecord]], data_files: dict[str, Any],
               *, run: Mapping[str, Any] | None = None, unaligned: Mapping[str, int] | None = None,
               filters: Sequence[str] = (), shares: Sequence[float] | None, license: str | None,
               license_name: str | None = None, repo_id: str | None, config_name: str = DEFAULT_CONFIG,
               existing: str | None = None, dataset_info: Any = None) -> str:
    """The dataset card for the corpus ``records`` as configuration ``config_name``, merged
    into the card text ``existing`` when given (see the module docstring). ``run``: its
    ``run.json`` (how it was made), ``unaligned``: ``{"en": n, "ar": n}`` unaligned
    sentences, ``filters``: the filters applied, each when known. ``data_files``: split
    name -> the path (or list of paths, or a pattern) of this configuration's files, written
    as they are in its ``configs`` entry; ``dataset_info``: a ``datasets.DatasetInfo`` of
    this configuration (features, splits)."""
    from huggingface_hub import DatasetCard, DatasetCardData

    license, license_name = check_license(license, license_name)
    config_name = check_config_name(config_name)
    old = DatasetCard(existing) if existing and existing.strip() else None
    data = old.data if old is not None else DatasetCardData()
    meta = data.to_dict()

    defaults = {"pretty_name": PRETTY_NAME, "language": ["ar", "en"], "multilinguality": "translation",
                "task_categories": ["translation"], "annotations_creators": ["machine-generated"],
                "language_creators": ["found"], "source_datasets": ["original"],
                "tags": ["parallel-corpus", "sentence-alignment", "aligner"]}
    for key, value in defaults.items():
        if meta.get(key) in (None, "", []):
            data[key] = value
    if license is not None:
        data["license"] = license
        data["license_name"] = license_name
        if license != "other":
            data["license_link"] = None
    elif not meta.get("license"):
        data["license"] = UNKNOWN_LICENSE

    configs = [c for c in meta.get("configs") or [] if isinstance(c, dict) and c.get("config_name") != config_name]
    entry = {"config_name": config_name,
             "data_files": [{"split": name, "path": pattern} for name, pattern in data_files.items()]}
    data["configs"] = sorted(configs + [entry], key=lambda c: (c.get("config_name") != DEFAULT_CONFIG,
                                                                str(c.get("config_name"))))
    if dataset_info is not None:
        from datasets.info import DatasetInfosDict

        DatasetInfosDict({config_name: dataset_info}).to_dataset_card_data(data)
        single = data.get("dataset_info")
        if isinstance(single, dict) and "config_name" not in single:
            # datasets drops config_name when the only entry is "default"; keep it, so the entry
            # says which configuration it describes (datasets reads it back either way).
            data["dataset_info"] = {"config_name": DEFAULT_CONFIG, **single}
    rows = [len(records)]
    infos = data.get("dataset_info")
    for info in infos if isinstance(infos, list) else [infos] if isinstance(infos, dict) else []:
        splits = info.get("splits") if isinstance(info, dict) else None
        if isinstance(splits, list):
            rows.append(sum(int(s.get("num_examples") or 0) for s in splits if isinstance(s, dict)))
    data["size_categories"] = [size_category(max(rows))]

    meta = data.to_dict()
    blocks = {"main": _main_block(meta), f"config {config_name}": _config_block(
        records, by_split, data_files, run=run, unaligned=unaligned, filters=filters, shares=shares,
        repo_id=repo_id, config_name=config_name)}
    body = _merge_body(old.text if old is not None else "", blocks)
    card = DatasetCard(f"---\n{data.to_yaml()}\n---\n{body}")
    return str(card.content)


def _merge_body(text: str, blocks: dict[str, str]) -> str:
    """``text`` with each of ``blocks`` (name -> marked text) replacing its old self, or
    added after the last aligner block (at the end when there is none; ``main`` first)."""
    text = text.replace("\r\n", "\n")
    for name, block in blocks.items():
        pattern = re.compile(rf"<!-- aligner:begin {re.escape(name)} -->\n.*?<!-- aligner:end {re.escape(name)} -->\n?",
                             re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _m: block, text, count=1)
            continue
        last = None
        for last in _BLOCK.finditer(text):
            pass
        if name == "main" and last is not None:
            first = _BLOCK.search(text)
            assert first is not None
            text = text[:first.start()] + block + "\n" + text[first.start():]
        elif last is not None:
            text = text[:last.end()] + "\n" + block + text[last.end():]
        else:
            text = (text.rstrip("\n") + "\n\n" if text.strip() else "\n") + block
    return text if text.endswith("\n") else text + "\n"


def _block(name: str, lines: list[str]) -> str:
    return "\n".join([f"<!-- aligner:begin {name} -->", *lines, f"<!-- aligner:end {name} -->"]) + "\n"


def _md(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _main_block(meta: dict) -> str:
    title = meta.get("pretty_name") or PRETTY_NAME
    lines = ["<!-- Written by aligner: what lies between aligner:begin and aligner:end markers is rewritten on each "
             "`aligner publish`. Write your own sections outside them; they are kept. -->", "",
             f"# {title}", "",
             "English reports sentence-aligned with the Arabic texts they were written from, made with the "
             "[aligner](#citing-aligner) tool. Each row is one aligned *bead*: one or more English sentences and the "
             "Arabic sentence(s) they correspond to, with the scores the alignment gave them. Sentences left "
             "unaligned (a report drops source sentences and adds lines of its own) are not rows.", ""]
    if meta.get("license") == UNKNOWN_LICENSE:
        lines += ["**Licence not set.** This card says `license: unknown` because aligner cannot know the licence "
                  "of the texts. Set it to the licence of the source texts before sharing the dataset: "
                  "`--license <id>` (a Hub licence id such as `cc-by-4.0`; `other` with `--license-name`) on "
                  "`aligner export` / `aligner publish`, or edit the `license:` line above.", ""]
    lines += ["## What the scores mean", "",
              "- `score`: cosine similarity of the two sides' sentence embeddings (the encoder named under *How it "
              "was made*), rounded to 4 decimals. Higher means more likely a translation; it is comparable only "
              "between rows made with the same encoder, and a long bead (several sentences) tends to score a "
              "little lower than a 1-1 pair of the same quality.",
              "- `quality` (when present): aligner's estimate, in [0, 1], that the pair is a true translation, "
              "combining the similarity with length, number, language and second-encoder checks (`aligner score`). "
              "Null where it was not computed.",
              "- `similarity`, `margin`, `gap`, `length_ratio`, `numbers`, `language`, `e5_similarity`, `e5_gap` "
              "and `flags` (when present, after `quality`): the individual checks `quality` combines, one column "
              "each (null where a check did not apply or was not run; `flags` a list such as `copy`, "
              "`untranslated`, `boilerplate`).",
              "- Keep the rows above a threshold that suits the use: for training translation models, filtering on "
              "`quality` (or `score`) trades size for cleanliness. Every column is described in the *Columns* table "
              "of each configuration.", "",
              "## Intended uses", "",
              "- Training and evaluating English-Arabic (and Arabic-English) machine translation and cross-lingual "
              "retrieval models; studying how reports render their Arabic sources.",
              "- Finding, in the source documents, the sentences that correspond: `doc_id`, `en_idx` and `ar_idx` "
              "point back to them.",
              "- Not as a gold-standard test set without human review: the alignment is automatic.", "",
              "## Limitations and bias", "",
              "- **Machine alignment errors.** The pairs were found by a sentence encoder and dynamic programming, "
              "not checked by people: some rows are partial or wrong translations, or the right sentences split "
              "at the wrong place. Low `score` / `quality` rows are the likeliest to be wrong.",
              "- **One language pair.** English and Arabic only; the English side was written from the Arabic, so "
              "it is often a summary or paraphrase rather than a literal translation.",
              "- **Domain of the inputs.** The rows inherit the domain, register, period, dialect and viewpoints of "
              "the documents they came from (see `doc_id`), with their biases; models trained on them may not carry "
              "over to other kinds of text.",
              "- Sentence splitting and the encoder are rule-based / trained mostly on standard written language: "
              "dialectal Arabic, tables and lists align less well.", "",
              "## Citing aligner", "",
              f"This dataset was aligned with aligner {__version__}. The tool's citation metadata is in the "
              "`CITATION.cff` file at the root of the aligner repository; please cite the tool, and the authors of "
              "the source texts, when you use the dataset.", "",
              "```bibtex",
              "@software{aligner,",
              "  title = {aligner: English-Arabic sentence alignment into parallel corpora},",
              "  author = {{The aligner contributors}},",
              f"  version = {{{__version__}}},",
              "  note = {See CITATION.cff in the aligner repository}",
              "}",
              "```"]
    return _block("main", lines)


def _pairing_text(inputs: dict) -> str | None:
    settings = _mapping(inputs.get("pairing_settings"))
    method = settings.get("method") or inputs.get("pair_by")
    sources = settings.get("max_sources", inputs.get("max_sources"))
    more = f"; an English document may take up to {sources} Arabic sources" if isinstance(sources, int) \
        and sources > 1 else ""
    if method == "content":
        return ("by content (sentence embeddings of the documents, nearest neighbours, re-scored by sentence "
                "alignment), not by file name" + more)
    if method == "auto":
        first = "the manifest, then same file name" if inputs.get("pairing") == "manifest" else "same file name"
        return f"{first} first, by content (sentence embeddings) for the documents left" + more
    if "pairing" in inputs:
        return ("a manifest file" if inputs["pairing"] == "manifest"
                else "same file name in the English and Arabic folders")
    return None


def _config_block(records: Sequence[CorpusRecord], by_split: dict[str, list[CorpusRecord]],
                  data_files: dict[str, Any], *, run: Mapping[str, Any] | None, unaligned: Mapping[str, int] | None,
                  filters: Sequence[str], shares: Sequence[float] | None, repo_id: str | None,
                  config_name: str) -> str:
    from aligner.outputs.hf_schema import HF_COLUMN_DOCS, hf_features

    run = run or {}
    args = json.dumps(repo_id or "USER/NAME") + ("" if config_name == DEFAULT_CONFIG else f", {json.dumps(config_name)}")
    lines = [f"## Configuration `{config_name}`", "", "### Loading", "", "```python",
             "from datasets import load_dataset", "",
             f"ds = load_dataset({args})  # or the path of this folder",
             'print(ds["train"][0]["translation"])  # {"ar": "...", "en": "..."}', "```", ""]

    lines += ["### Splits", "", "| split | rows | documents |", "|---|---|---|"]
    for name, recs in by_split.items():
        if name in data_files:
            lines.append(f"| {name} | {len(recs)} | {len(dict.fromkeys(r.doc_id for r in recs))} |")
    lines.append("")
    if shares is None:
        lines += ["All rows are in `train`: no split was asked for.", ""]
    else:
        empty = [n for n, recs in by_split.items() if not recs]
        lines += ["Rows are split **by document**, so no document has rows in two splits: a document goes to "
                  f"`train` / `validation` / `test` with shares {', '.join(f'{s:g}' for s in shares)}, by the "
                  "first 8 bytes of the SHA-256 of its `doc_id` (UTF-8) read as a number in [0, 1). The "
                  "assignment depends on the `doc_id` alone, so it is the same on every export and a document "
                  "keeps its split when others are added. Row counts follow documents, not the shares exactly."
                  + (f" Empty, so left out: {', '.join(empty)}." if empty else ""), ""]

    lines += ["### Columns", "", "| column | type | description |", "|---|---|---|"]
    for name in hf_features(any(r.is_scored() for r in records)):
        kind, text = HF_COLUMN_DOCS[name]
        lines.append(f"| `{name}` | {kind} | {_md(text)} |")
    lines += ["", "Rows are in the order of the corpus they were exported from: document by document, beads in "
              "document order.", ""]

    lines += ["### How it was made", ""]
    if run:
        inputs = _mapping(run.get("inputs"))
        settings = [("tool", "aligner (English-Arabic sentence alignment, see *Citing aligner*)"),
                    ("aligner version", f"`{run.get('aligner_version', 'unknown')}`"),
                    ("encoder", f"`{run.get('encoder', 'unknown')}`")]
        for key, value in sorted(_mapping(run.get("encoder_settings")).items()):
            settings.append((f"encoder setting `{key}`", f"`{value}`"))
        if "presplit" in inputs:
            settings.append(("segmentation", "one sentence per input line (`--presplit`)" if inputs["presplit"]
                             else "aligner's rule-based English and Arabic sentence splitter"))
        pairing = _pairing_text(inputs)
        if pairing:
            settings.append(("document pairing", pairing))
        for key, value in _mapping(run.get("alignment")).items():
            settings.append((f"alignment setting `{key}`", f"`{value}`"))
        lines += ["Every pair of documents was split into sentences, the sentences were embedded with the "
                  "encoder below, and the best monotonic sequence of beads (1-1, merges and splits, sentences "
                  "left alone) was found by dynamic programming over the similarities. The settings, as "
                  "recorded in the run's `run.json`:", "", "| setting | value |", "|---|---|"]
        lines += [f"| {_md(k)} | {_md(v)} |" for k, v in settings]
        lines.append("")
    else:
        lines += ["The alignment settings were not recorded (the corpus was exported without its `run.json`).", ""]
    lines += [f"Exported with aligner {__version__}. Filter: "
              + ("; ".join(filters) + "." if filters else "none (every aligned pair is a row)."), ""]

    lines += ["### Numbers", ""]
    bead_counts = Counter(r.bead_type for r in records)
    lines += [f"- Rows (sentence pairs) in this configuration: {len(records)}, from "
              f"{len(dict.fromkeys(r.doc_id for r in records))} document(s).",
              "- Bead types of the rows: " + (", ".join(f"{k}: {v}" for k, v in sorted(bead_counts.items()))
                                               or "none") + "."]
    if records:
        scores = sorted(r.score for r in records)
        lines.append(f"- `score`: min {scores[0]:.4f}, median {scores[len(scores) // 2]:.4f}, "
                     f"max {scores[-1]:.4f}, mean {sum(scores) / len(scores):.4f}.")
    summary = _mapping(run.get("summary"))
    if summary:
        lines.append(f"- Alignment run: {summary.get('documents', '?')} document pair(s), "
                     f"{summary.get('aligned', '?')} aligned, {summary.get('failed', '?')} failed; "
                     f"{summary.get('pairs', '?')} sentence pair(s) before any filter; unpaired files: "
                     f"{summary.get('unpaired_en', 0)} English, {summary.get('unpaired_ar', 0)} Arabic.")
        run_beads: Counter = Counter()
        for doc in run.get("documents") if isinstance(run.get("documents"), list) else []:
            beads = _mapping(doc).get("bead_types")
            run_beads.update({str(k): v for k, v in _mapping(beads).items() if isinstance(v, int)})
        if run_beads:
            lines.append("- Bead types in the run (`1-0` / `0-1`: a sentence left unaligned): "
                         + ", ".join(f"{k}: {v}" for k, v in sorted(run_beads.items())) + ".")
    if unaligned is not None:
        lines.append(f"- Unaligned sentences (not in the dataset): {unaligned.get('en', 0)} English, "
                     f"{unaligned.get('ar', 0)} Arabic.")
    else:
        lines.append("- Unaligned sentences: not known (no `run.json` or `unaligned.jsonl` beside the corpus).")
    return _block(f"config {config_name}", lines)
