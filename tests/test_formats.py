"""Corpus records and formats (aligner.io.records, aligner.outputs.formats, `aligner export`, `align --format`).

Writers are tested on hand-built records holding the text that breaks formats: markup
characters, quotes, RTL marks, emoji, tabs, line breaks of every kind, backslashes."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from aligner import Corpus, CorpusRecord, read_corpus
from aligner.run import folders as corpus_mod
from aligner.cli import main
from aligner.run.folders import RECORD_KEYS
from aligner.outputs.card import size_category
from aligner.outputs.formats import (
    FORMATS,
    CorpusFormat,
    WriteOptions,
    moses_line,
    parse_formats,
    write_jsonl,
    write_moses,
    write_tmx,
    write_tsv,
    xml_text,
)
from aligner.outputs.splits import SPLIT_NAMES, doc_hash_fraction, parse_split, split_of, split_records
from aligner.io.records import CorpusFormatError, tsv_escape, tsv_unescape

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

TRICKY = [
    ('He said "<b>stop</b>" & left.', "قال «<b>توقّف</b>» & غادر."),
    ("It's O'Brien's 'quote'", "\u200fاقتباس \u200e(RLM/LRM)\u200f \u202bمضمّن\u202c"),
    ("Emoji 🌊🏚️ and a family 👨‍👩‍👧 (ZWJ)", "رموز 🌊🏚️ 👨‍👩‍👧"),
    ("tab\there and\nnewline", "سطر\r\nجديد\rوعودة"),
    ("back\\slash \\n literal \\t too", "شرطة\\مائلة"),
    ("  leading and trailing spaces  ", " مسافات "),
    ("vertical\x0bform\x0cfeed sep\x1c\x1d\x1e nel\x85 ls\u2028ps\u2029end", "فاصل\u2028سطر"),
    ("NA", "null"),
]


def _records() -> list[CorpusRecord]:
    out = []
    for k, (en, ar) in enumerate(TRICKY):
        doc = f"doc-{k // 3}"
        out.append(CorpusRecord(doc_id=doc, en_file=f"{doc}.txt", ar_file=f"ar/{doc}.txt",
                                en_idx=(k,), ar_idx=(k, k + 1) if k % 2 else (k,), en=en, ar=ar,
                                bead_type="1-2" if k % 2 else "1-1", score=round(0.5 + k / 37, 4)))
    return out


def _run_json() -> dict:
    return {"aligner_version": "0.1.0", "encoder": "use-multilingual-v3",
            "encoder_settings": {"tokenizer": "sentencepiece"}, "alignment": {"threshold": -0.25, "knn": 8},
            "inputs": {"en_dir": "/abs/en", "presplit": False, "pairing": "name"},
            "summary": {"documents": 3, "aligned": 3, "failed": 0, "pairs": 8, "unaligned_en": 4,
                        "unaligned_ar": 2, "unpaired_en": 1, "unpaired_ar": 0},
            "documents": [{"doc_id": "doc-0", "bead_types": {"1-1": 2, "1-2": 1, "1-0": 4}},
                          {"doc_id": "doc-1", "bead_types": {"1-1": 2, "1-2": 1, "0-1": 2}}],
            "timings": {"total_s": 12.5}}


@pytest.fixture
def run_dir(tmp_path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    write_jsonl(_records(), folder / "corpus.jsonl")
    (folder / "run.json").write_text(json.dumps(_run_json()), encoding="utf-8")
    return folder


# ----------------------------------------------------------------------------- the record and JSONL


def test_jsonl_keeps_the_corpus_key_order_and_round_trips(tmp_path):
    records = _records()
    path = write_jsonl(records, tmp_path / "corpus.jsonl")
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == len(records) + 1  # one line per record, even with "\u2028"
    for line in lines[:-1]:
        assert tuple(json.loads(line)) == RECORD_KEYS
    assert "🌊" in lines[2]  # UTF-8, not ASCII-escaped
    assert read_corpus(path) == records
    assert read_corpus(tmp_path) == records  # a folder means its corpus.jsonl


def test_record_quality_and_unknown_keys_survive_jsonl(tmp_path):
    line = {**_records()[0].to_dict(), "quality": 0.25, "lang_id": {"en": 0.99}}
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(line, ensure_ascii=False) + "\n\n", encoding="utf-8")
    (record,) = read_corpus(path)
    assert record.quality == 0.25 and record.extra == {"lang_id": {"en": 0.99}}
    assert json.loads(record.to_json_line()) == line
    assert list(json.loads(record.to_json_line())) == [*RECORD_KEYS, "quality", "lang_id"]


@pytest.mark.slow  # loads the embedded encoder
def test_record_matches_what_align_folders_wrote(tmp_path, default_aligner):
    from aligner.run.folders import corpus_records

    alignment = default_aligner.align("The river flooded the town. People left.", "غمرت المياه البلدة. غادر الناس.")
    records = corpus_records("d", "d.txt", "d.txt", alignment)
    assert records and all(isinstance(r, CorpusRecord) for r in records)
    for record, pair in zip(records, alignment.pairs):
        assert record.to_dict() == {"doc_id": "d", "en_file": "d.txt", "ar_file": "d.txt",
                                    "en_idx": list(pair.en_indices), "ar_idx": list(pair.ar_indices),
                                    "en": pair.en_text, "ar": pair.ar_text, "bead_type": pair.bead_type,
                                    "score": round(float(pair.score), 4), "moved": pair.moved}
        assert record.moved is pair.moved is False  # two sentences in order: nothing moved


@pytest.mark.parametrize("line, problem", [
    ("{not json", "not valid JSON"),
    ('{"doc_id": "d"}', "missing key(s): en_file"),
    (json.dumps({**_records()[0].to_dict(), "en_idx": "0"}), "'en_idx' must be a list of integers"),
    (json.dumps({**_records()[0].to_dict(), "score": "high"}), "'score' must be a finite number"),
    (json.dumps({**_records()[0].to_dict(), "moved": "yes"}), "'moved' must be true or false, got 'yes'"),
    (json.dumps({**_records()[0].to_dict(), "moved": 1}), "'moved' must be true or false, got 1"),
    (json.dumps({**_records()[0].to_dict(), "moved": None}), "'moved' must be true or false, got None"),
])
def test_malformed_jsonl_names_file_and_line(tmp_path, line, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text(_records()[0].to_json_line() + line + "\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=rf"bad\.jsonl:2: .*{re.escape(problem)}"):
        read_corpus(path)


def test_moved_is_written_after_score_and_optional_when_read(tmp_path):
    """``moved`` (the bead crosses the main path): written by every record, false or
    true; a record without it (a corpus written before it existed) reads as not moved."""
    plain, moved = _records()[0], replace(_records()[1], moved=True)
    assert plain.moved is False
    assert plain.to_json_line().endswith(f'"score": {plain.score!r}, "moved": false}}\n')
    assert moved.to_json_line().endswith(f'"score": {moved.score!r}, "moved": true}}\n')
    old = {k: v for k, v in plain.to_dict().items() if k != "moved"}
    assert list(old) == list(RECORD_KEYS[:-1])
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(old, ensure_ascii=False) + "\n" + moved.to_json_line(), encoding="utf-8")
    assert read_corpus(path) == [plain, moved]
    assert [r.moved for r in read_corpus(path)] == [False, True]
    assert "moved" not in read_corpus(path)[0].extra
    assert read_corpus(write_jsonl([plain, moved], tmp_path / "new.jsonl")) == [plain, moved]


# ----------------------------------------------------------------------------- TSV


def test_tsv_escape_is_reversible():
    for text in ["a\tb\nc\rd\\e", "\\n is not a newline", "\\\\t", "trailing\\", "", "\t\n\r\\"]:
        escaped = tsv_escape(text)
        assert not any(c in escaped for c in "\t\n\r")
        assert tsv_unescape(escaped) == text


def test_tsv_columns_header_and_round_trip(tmp_path):
    records = _records()
    path = write_tsv(records, tmp_path / "corpus.tsv")
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    assert lines[-1] == b"" and len(lines) == len(records) + 2  # header + one line per record
    assert lines[0].decode() == "en_file\tar_file\ten\tar\tscore\tdoc_id\ten_idx\tar_idx\tbead_type\tmoved"
    assert all(line.count(b"\t") == 9 for line in lines[:-1]) and b"\r" not in raw
    first = lines[1].decode().split("\t")
    assert first[:2] == ["doc-0.txt", "ar/doc-0.txt"] and first[4] == repr(records[0].score)
    assert first[5:] == ["doc-0", "0", "0", "1-1", "false"]
    assert lines[4].decode().split("\t")[2] == "tab\\there and\\nnewline"
    assert lines[2].decode().split("\t")[7] == "1,2"
    assert read_corpus(path) == records


def test_tsv_with_quality_column(tmp_path):
    records = [r if k % 2 else CorpusRecord(**{**r.__dict__, "quality": 0.125}) for k, r in enumerate(_records())]
    path = write_tsv(records, tmp_path / "q.tsv")
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0].endswith("\tbead_type\tmoved\tquality\tsimilarity\tmargin\tgap\tlength_ratio\tnumbers\tlanguage"
                             "\te5_similarity\te5_gap\tflags")
    assert lines[1].split("\t")[9:] == ["false", "0.125"] + [""] * 9
    assert lines[2].split("\t")[9:] == ["false"] + [""] * 10
    assert read_corpus(path) == records


def test_tsv_is_readable_by_pandas(tmp_path):
    pandas = pytest.importorskip("pandas")
    import csv

    records = _records()
    frame = pandas.read_csv(write_tsv(records, tmp_path / "c.tsv"), sep="\t", quoting=csv.QUOTE_NONE,
                            keep_default_na=False, dtype=str)
    assert list(frame["en"].map(tsv_unescape)) == [r.en for r in records]
    assert list(frame["score"].astype(float)) == [r.score for r in records]


def test_malformed_tsv(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("en_file\tar_file\ten\tar\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"bad\.tsv:1: TSV header lacks column\(s\) score"):
        read_corpus(path)
    good = write_tsv(_records()[:1], tmp_path / "good.tsv").read_text(encoding="utf-8")
    path.write_text(good + "only\tthree\tfields\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"bad\.tsv:3: 3 field\(s\), the header has 10"):
        read_corpus(path)
    path.write_text(good.replace("\tfalse\n", "\tyes\n"), encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"bad\.tsv:2: 'moved' must be true or false, got 'yes'"):
        read_corpus(path)


def test_tsv_moved_column(tmp_path):
    """``moved`` is ``true`` / ``false`` after ``bead_type``; a TSV without the column
    (written before it existed) reads as not moved."""
    records = [replace(r, moved=k % 3 == 1) for k, r in enumerate(_records())]
    path = write_tsv(records, tmp_path / "moved.tsv")
    lines = path.read_text(encoding="utf-8").split("\n")
    assert [line.split("\t")[9] for line in lines[:-1]] == ["moved"] + ["true" if r.moved else "false"
                                                                       for r in records]
    assert lines[2].split("\t")[5:] == ["doc-0", "1", "1,2", "1-2", "true"]
    assert read_corpus(path) == records and [r.moved for r in read_corpus(path)] == [r.moved for r in records]
    old = tmp_path / "old.tsv"
    old.write_text("\n".join(line.rsplit("\t", 1)[0] for line in lines[:-1]) + "\n", encoding="utf-8")
    assert old.read_text(encoding="utf-8").split("\n")[0].endswith("\tar_idx\tbead_type")
    assert read_corpus(old) == [replace(r, moved=False) for r in records]


# ----------------------------------------------------------------------------- Moses


def test_moses_files_have_one_line_per_pair(tmp_path):
    records = _records()
    en, ar = write_moses(records, tmp_path / "corpus.en", tmp_path / "corpus.ar")
    for path, side in ((en, "en"), (ar, "ar")):
        raw = path.read_bytes()
        assert raw.count(b"\n") == len(records)  # wc -l
        text = raw.decode("utf-8")
        assert len(text.splitlines()) == len(records)  # Python's idea of a line, \u2028 and all
        assert text.split("\n")[:-1] == [moses_line(getattr(r, side)) for r in records]
    assert en.read_text(encoding="utf-8").split("\n")[3] == "tab\there and newline"  # tab kept, newline a space
    assert ar.read_text(encoding="utf-8").split("\n")[3] == "سطر جديد وعودة"  # \r\n is one break


# ----------------------------------------------------------------------------- TMX


def test_tmx_parses_and_round_trips_every_pair(tmp_path):
    records = _records()
    path = write_tmx(records, tmp_path / "corpus.tmx", provenance=_run_json())
    root = etree.parse(str(path)).getroot()
    assert root.tag == "tmx" and root.get("version") == "1.4"
    assert path.read_bytes().startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<!DOCTYPE tmx SYSTEM \"tmx14.dtd\">")
    header = root.find("header")
    assert {k: header.get(k) for k in ("srclang", "adminlang", "segtype", "creationtool", "datatype", "o-tmf")} == {
        "srclang": "ar", "adminlang": "en", "segtype": "sentence", "creationtool": "aligner",
        "datatype": "plaintext", "o-tmf": "aligner-jsonl"}
    from aligner import __version__

    assert header.get("creationtoolversion") == __version__ and header.get("creationdate") is None
    assert {p.get("type"): p.text for p in header.findall("prop")} == {
        "x-aligner-version": "0.1.0", "x-encoder": "use-multilingual-v3"}
    units = root.findall("body/tu")
    assert len(units) == len(records)
    for n, (tu, record) in enumerate(zip(units, records), start=1):
        assert tu.get("tuid") == str(n)
        props = {p.get("type"): p.text for p in tu.findall("prop")}
        assert props == {"x-doc_id": record.doc_id, "x-en_file": record.en_file, "x-ar_file": record.ar_file,
                         "x-en_idx": ",".join(map(str, record.en_idx)),
                         "x-ar_idx": ",".join(map(str, record.ar_idx)),
                         "x-bead_type": record.bead_type, "x-score": repr(record.score)}
        segs = {tuv.get(XML_LANG): tuv.find("seg").text for tuv in tu.findall("tuv")}
        assert list(segs) == ["ar", "en"]
        assert segs == {"en": xml_text(record.en), "ar": xml_text(record.ar)}
    # Everything XML can hold comes back exactly: markup, quotes, RTL marks, emoji, CR.
    for k in range(6):
        tu = units[k]
        assert tu.findall("tuv")[0].find("seg").text == records[k].ar
        assert tu.findall("tuv")[1].find("seg").text == records[k].en


def test_tmx_replaces_characters_xml_cannot_hold(tmp_path):
    record = CorpusRecord("d", "d.txt", "d.txt", (0,), (0,), "bell\x07 nul\x00 \ufffe end", "ok", "1-1", 0.5)
    path = write_tmx([record], tmp_path / "c.tmx")
    segs = {tuv.get(XML_LANG): tuv.find("seg").text for tuv in etree.parse(str(path)).getroot().iter("tuv")}
    assert segs == {"ar": "ok", "en": "bell\ufffd nul\ufffd \ufffd end"}


def test_tmx_of_no_records_is_valid(tmp_path):
    root = etree.parse(str(write_tmx([], tmp_path / "empty.tmx"))).getroot()
    assert root.find("body") is not None and root.findall("body/tu") == []


# ----------------------------------------------------------------------------- the registry (issue 15)

# Two records of one document, the second a 2-1 bead whose English has a line break.
TWO = [CorpusRecord("flood", "flood.txt", "flood.ar.txt", (0,), (0,), "The river rose.", "ارتفع النهر.", "1-1", 0.8125),
       CorpusRecord("flood", "flood.txt", "flood.ar.txt", (1, 2), (1,), "Roads closed.\nSchools too.",
                    "أُغلقت الطرق والمدارس.", "2-1", 0.75)]
TWO_RUN = {"aligner_version": "0.1.0", "encoder": "use-multilingual-v3"}


def _texts(expected: dict[str, str]):
    def check(folder: Path) -> None:
        assert {name: (folder / name).read_text(encoding="utf-8") for name in expected} == expected
    return check


def _two_tmx(folder: Path) -> None:
    root = etree.parse(str(folder / "corpus.tmx")).getroot()
    header, units = root.find("header"), root.findall("body/tu")
    assert (header.get("srclang"), header.get("segtype")) == ("ar", "sentence")
    assert {p.get("type"): p.text for p in header.findall("prop")} == {"x-aligner-version": "0.1.0",
                                                                        "x-encoder": "use-multilingual-v3"}
    assert len(units) == 2 and [tu.get("tuid") for tu in units] == ["1", "2"]
    assert [tu.get("segtype") for tu in units] == [None, "block"]  # the 2-1 bead is not a sentence unit
    assert [{p.get("type"): p.text for p in tu.findall("prop")}["x-bead_type"] for tu in units] == ["1-1", "2-1"]
    assert [[(t.get(XML_LANG), t.find("seg").text) for t in tu.findall("tuv")] for tu in units] == [
        [("ar", "ارتفع النهر."), ("en", "The river rose.")],
        [("ar", "أُغلقت الطرق والمدارس."), ("en", "Roads closed.\nSchools too.")]]


def _two_hf(folder: Path) -> None:
    import pyarrow.parquet as pq

    readme, shard = sorted(p.relative_to(folder / "hf").as_posix() for p in (folder / "hf").rglob("*") if p.is_file())
    assert readme == "README.md" and re.fullmatch(r"data/train-00000-of-00001-[0-9a-f]{16}\.parquet", shard)
    table = pq.read_table(folder / "hf" / shard).to_pydict()
    assert table["translation"] == [{"ar": r.ar, "en": r.en} for r in TWO]
    assert (table["bead_type"], table["en_idx"], table["ar_idx"]) == (["1-1", "2-1"], [[0], [1, 2]], [[0], [1]])
    assert table["score"] == [0.8125, 0.75]


TSV_HEADER = "en_file\tar_file\ten\tar\tscore\tdoc_id\ten_idx\tar_idx\tbead_type\tmoved\n"

# format: its files for the whole corpus, for the split "validation", and what it writes of TWO.
REGISTRY = [
    ("jsonl", ["corpus.jsonl"], ["corpus.validation.jsonl"], _texts({"corpus.jsonl": (
        '{"doc_id": "flood", "en_file": "flood.txt", "ar_file": "flood.ar.txt", "en_idx": [0], "ar_idx": [0], '
        '"en": "The river rose.", "ar": "ارتفع النهر.", "bead_type": "1-1", "score": 0.8125, "moved": false}\n'
        '{"doc_id": "flood", "en_file": "flood.txt", "ar_file": "flood.ar.txt", "en_idx": [1, 2], "ar_idx": [1], '
        '"en": "Roads closed.\\nSchools too.", "ar": "أُغلقت الطرق والمدارس.", "bead_type": "2-1", '
        '"score": 0.75, "moved": false}\n')})),
    ("tsv", ["corpus.tsv"], ["corpus.validation.tsv"], _texts({"corpus.tsv": (
        TSV_HEADER
        + "flood.txt\tflood.ar.txt\tThe river rose.\tارتفع النهر.\t0.8125\tflood\t0\t0\t1-1\tfalse\n"
        + "flood.txt\tflood.ar.txt\tRoads closed.\\nSchools too.\tأُغلقت الطرق والمدارس.\t0.75\tflood\t1,2\t1\t"
          "2-1\tfalse\n")})),
    ("moses", ["corpus.en", "corpus.ar"], ["corpus.validation.en", "corpus.validation.ar"], _texts({
        "corpus.en": "The river rose.\nRoads closed. Schools too.\n",
        "corpus.ar": "ارتفع النهر.\nأُغلقت الطرق والمدارس.\n"})),
    ("tmx", ["corpus.tmx"], ["corpus.validation.tmx"], _two_tmx),
    ("hf", ["hf"], ["hf"], _two_hf),  # one folder, holding every split
]


def test_the_registry_has_exactly_the_five_formats():
    assert list(FORMATS) == ["jsonl", "tsv", "moses", "tmx", "hf"] == [row[0] for row in REGISTRY]
    assert all(isinstance(fmt, CorpusFormat) and fmt.name == name for name, fmt in FORMATS.items())
    assert parse_formats("hf,tmx,moses,tsv,jsonl") == tuple(FORMATS)
    with pytest.raises(TypeError):
        FORMATS["xlsx"] = FORMATS["tsv"]  # type: ignore[index]  # read-only
    for command in ("align", "export"):  # the --format help lists the registry
        output = CliRunner().invoke(main, [command, "--help"]).output
        assert f"from {','.join(FORMATS)}." in " ".join(output.split())


@pytest.mark.parametrize("name, whole, per_split, check", REGISTRY)
def test_each_format_writes_its_files_and_exactly_this(tmp_path, name, whole, per_split, check):
    fmt = FORMATS[name]
    assert list(fmt.file_names()) == whole and list(fmt.file_names("validation")) == per_split
    (tmp_path / "direct").mkdir()
    written = fmt.write(TWO, tmp_path / "direct", options=WriteOptions(run=TWO_RUN))
    assert [p.relative_to(tmp_path / "direct").as_posix() for p in written] == whole
    assert sorted(os.listdir(tmp_path / "direct")) == sorted(whole)
    check(tmp_path / "direct")
    # Corpus.write goes through the registry: the same bytes, and the split's names with a split.
    result = Corpus(TWO, run=TWO_RUN).write(tmp_path / "whole", [name])
    assert [p.name for p in result.written] == whole and result.rows == {"train": 2}
    assert {n: _bytes(tmp_path / "whole" / n) for n in whole} == {n: _bytes(tmp_path / "direct" / n) for n in whole}
    result = Corpus(TWO, run=TWO_RUN).write(tmp_path / "split", [name], split=(0.0, 1.0, 0.0))
    assert [p.name for p in result.written] == per_split and sorted(os.listdir(tmp_path / "split")) == sorted(per_split)
    assert result.rows == {"validation": 2} and result.empty_splits == ["train", "test"]


def _bytes(path: Path) -> dict[str, bytes] | bytes:
    if path.is_dir():
        return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    return path.read_bytes()


def test_derived_files_are_what_the_formats_write():
    """aligner.io.files.DERIVED_FILES (what a new run removes; io is below outputs, so it is
    written out there) holds every name a format of the registry writes, but corpus.jsonl
    (a run file), and the files of scoring and of the review page."""
    from aligner.io.files import CORPUS_FILE, DERIVED_FILES, RUN_FILES
    from aligner.outputs.review import REVIEW_FILE
    from aligner.run.score import REJECTED_FILE, REPORT_MD, REPORT_PNG

    written = {name for fmt in FORMATS.values() for name in fmt.all_file_names()}
    assert {"corpus.jsonl", "corpus.test.en", "corpus.validation.tmx", "hf"} <= written
    assert CORPUS_FILE in RUN_FILES
    assert sorted(DERIVED_FILES) == sorted(written - {CORPUS_FILE} | {REJECTED_FILE, REPORT_MD, REPORT_PNG,
                                                                       REVIEW_FILE})


# ----------------------------------------------------------------------------- splits


def test_parse_split_and_formats():
    assert parse_split("0.8,0.1,0.1") == (0.8, 0.1, 0.1)
    assert parse_split(None) is None and parse_split("") is None
    for bad in ("0.8,0.2", "0.5,0.5,0.5", "a,b,c", "-0.1,0.6,0.5"):
        with pytest.raises(ValueError):
            parse_split(bad)
    assert parse_formats("hf, TSV,jsonl,tsv") == ("jsonl", "tsv", "hf")
    with pytest.raises(ValueError, match="unknown format"):
        parse_formats("jsonl,xlsx")


def test_split_is_by_document_deterministic_and_stable():
    shares = (0.8, 0.1, 0.1)
    records = [CorpusRecord(f"doc-{d}", "e", "a", (k,), (k,), "e", "a", "1-1", 0.5)
               for d in range(300) for k in range(3)]
    splits = split_records(records, shares)
    assert list(splits) == list(SPLIT_NAMES)
    docs = {name: {r.doc_id for r in recs} for name, recs in splits.items()}
    assert not (docs["train"] & docs["validation"] or docs["train"] & docs["test"]
                or docs["validation"] & docs["test"])  # no document in two splits
    assert sum(len(v) for v in splits.values()) == len(records)
    assert 200 < len(docs["train"]) < 280 and 10 < len(docs["validation"]) < 55 and 10 < len(docs["test"]) < 55
    # Deterministic, and a document's split depends on its id only (not on the others).
    assert split_records(list(reversed(records)), shares)["test"] == list(reversed(splits["test"]))
    assert {r.doc_id for r in split_records(records[:30], shares)["test"]} == docs["test"] & {
        f"doc-{d}" for d in range(10)}
    # Pinned: the hash is SHA-256 of the UTF-8 id, first 8 bytes big-endian over 2**64.
    import hashlib

    assert doc_hash_fraction("2024-05-river-flood") == int.from_bytes(
        hashlib.sha256("2024-05-river-flood".encode()).digest()[:8], "big") / 2**64
    assert split_of("x", (1.0, 0.0, 0.0)) == "train" and split_of("x", (0.0, 0.0, 1.0)) == "test"


def test_export_with_split_writes_each_format_per_split(run_dir, tmp_path):
    result = Corpus.from_dir(run_dir).write(tmp_path / "out", FORMATS, split=(0.34, 0.33, 0.33))
    out = tmp_path / "out"
    expected = split_records(_records(), (0.34, 0.33, 0.33))
    seen_docs: dict[str, str] = {}
    for name, recs in expected.items():
        if not recs:
            assert name in result.empty_splits and not (out / f"corpus.{name}.tsv").exists()
            continue
        assert read_corpus(out / f"corpus.{name}.jsonl") == recs
        assert read_corpus(out / f"corpus.{name}.tsv") == recs
        assert len((out / f"corpus.{name}.en").read_text(encoding="utf-8").split("\n")) == len(recs) + 1
        assert len(etree.parse(str(out / f"corpus.{name}.tmx")).getroot().findall("body/tu")) == len(recs)
        for r in recs:
            assert seen_docs.setdefault(r.doc_id, name) == name
    assert not (out / "corpus.jsonl").exists()


# ----------------------------------------------------------------------------- the Hugging Face folder


def _load(folder: Path, tmp_path: Path):
    import datasets

    return datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "hf-cache"))


def test_hf_folder_loads_with_the_rows_columns_and_types_of_the_jsonl(run_dir, tmp_path):
    import datasets

    folder = Corpus.from_dir(run_dir).write_hf(tmp_path / "hf")
    readme, shard = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert readme == "README.md" and re.fullmatch(r"data/train-00000-of-00001-[0-9a-f]{16}\.parquet", shard)
    assert shard == f"data/train-00000-of-00001-{hashlib.sha256((folder / shard).read_bytes()).hexdigest()[:16]}.parquet"
    ds = _load(folder, tmp_path)
    assert list(ds) == ["train"]
    hf = ds["train"]
    jsonl = datasets.load_dataset("json", data_files=str(run_dir / "corpus.jsonl"),
                                  cache_dir=str(tmp_path / "hf-cache"))["train"]
    # Same columns and types: en/ar become the Translation column, the rest is identical.
    assert hf.features["translation"] == datasets.Translation(languages=["ar", "en"])
    assert {k: v for k, v in hf.features.items() if k != "translation"} == {
        k: v for k, v in jsonl.features.items() if k not in ("en", "ar")}
    assert hf.column_names == ["translation", "score", "doc_id", "en_file", "ar_file", "en_idx", "ar_idx",
                               "bead_type", "moved"]
    assert hf.features["moved"] == datasets.Value("bool") and hf["moved"] == [False] * len(_records())
    # Same rows, in order.
    assert len(hf) == len(jsonl) == len(_records())
    for got, want in zip(hf, jsonl):
        assert got["translation"] == {"ar": want["ar"], "en": want["en"]}
        assert {k: got[k] for k in got if k != "translation"} == {k: want[k] for k in want if k not in ("en", "ar")}


def test_hf_folder_with_splits_and_quality(run_dir, tmp_path):
    import datasets

    records = [CorpusRecord(**{**r.__dict__, "quality": k / 10}) for k, r in enumerate(_records())]
    corpus = Corpus(records)
    folder = corpus.write_hf(tmp_path / "hf", split="0.34,0.33,0.33")
    ds = _load(folder, tmp_path)
    expected = {n: recs for n, recs in split_records(records, (0.34, 0.33, 0.33)).items() if recs}
    assert list(ds) == list(expected)
    for name, recs in expected.items():
        assert ds[name]["quality"] == [r.quality for r in recs]
        assert ds[name]["doc_id"] == [r.doc_id for r in recs]
    assert ds[list(expected)[0]].features["quality"] == datasets.Value("float64")
    docs = [set(ds[n]["doc_id"]) for n in ds]
    assert all(not (a & b) for i, a in enumerate(docs) for b in docs[i + 1:])


def test_no_records_give_no_hf_folder(tmp_path):
    with pytest.raises(ValueError, match="needs at least one row"):
        Corpus([]).write_hf(tmp_path / "hf")
    result = Corpus([]).write(tmp_path / "out", ["tsv", "hf"])
    assert result.skipped == ["hf (no sentence pair to write)"]
    assert sorted(os.listdir(tmp_path / "out")) == ["corpus.tsv"]


def test_dataset_card_metadata_and_content(run_dir, tmp_path):
    from huggingface_hub import DatasetCard

    corpus = Corpus.from_dir(run_dir).filter(min_quality=0.55)
    folder = corpus.write_hf(tmp_path / "hf", split=(0.34, 0.33, 0.33))
    text = (folder / "README.md").read_text(encoding="utf-8")
    card = DatasetCard(text)
    meta = card.data.to_dict()
    assert meta["language"] == ["ar", "en"] and meta["task_categories"] == ["translation"]
    assert meta["multilinguality"] == "translation" and meta["license"] == "unknown"
    assert meta["size_categories"] == ["n<1K"]
    splits = [c["split"] for c in meta["configs"][0]["data_files"]]
    assert splits == [n for n, r in split_records(corpus.records, (0.34, 0.33, 0.33)).items() if r]
    assert all(re.fullmatch(rf"data/{c['split']}-00000-of-00001-[0-9a-f]{{16}}\.parquet", c["path"])
               and (folder / c["path"]).is_file() for c in meta["configs"][0]["data_files"])
    assert "Licence not set" in text
    for column in ("`translation`", "`score`", "`doc_id`", "`en_file`", "`ar_file`", "`en_idx`", "`ar_idx`",
                   "`bead_type`", "`moved`"):
        assert f"| {column} |" in text
    for fact in ("`use-multilingual-v3`", "alignment setting `threshold` | `-0.25`", "encoder setting `tokenizer`",
                 "aligner version | `0.1.0`", "`score` >= 0.55", "no `quality` value",
                 "3 document pair(s), 3 aligned, 0 failed; 8 sentence pair(s) before any filter",
                 "Unaligned sentences (not in the dataset): 4 English, 2 Arabic", "1-0: 4", "0-1: 2",
                 "SHA-256 of its `doc_id`"):
        assert fact in text, fact
    assert "/abs/en" not in text and "12.5" not in text  # no absolute paths or timings
    licensed = Corpus.from_dir(run_dir).write_hf(tmp_path / "hf2", license="cc-by-4.0")
    text = (licensed / "README.md").read_text(encoding="utf-8")
    assert DatasetCard(text).data.license == "cc-by-4.0" and "Licence not set" not in text


def test_card_without_run_json_and_with_quality(tmp_path):
    records = [CorpusRecord(**{**r.__dict__, "quality": 0.9}) for r in _records()]
    path = write_jsonl(records, tmp_path / "loose.jsonl")
    corpus = Corpus.from_file(path).filter(min_quality=0.5)
    text = (corpus.write_hf(tmp_path / "hf") / "README.md").read_text(encoding="utf-8")
    assert "`quality` >= 0.5" in text and "no `quality` value" not in text
    assert "settings were not recorded" in text and "Unaligned sentences: not known" in text
    assert "| `quality` |" in text


def test_size_categories():
    assert [size_category(n) for n in (0, 999, 1000, 54_321, 2_000_000)] == [
        "n<1K", "n<1K", "1K<n<10K", "10K<n<100K", "1M<n<10M"]


# ----------------------------------------------------------------------------- determinism and atomicity


def test_same_input_gives_the_same_bytes(run_dir, tmp_path):
    for name in ("a", "b"):
        Corpus.from_dir(run_dir).write(tmp_path / name, FORMATS, split="0.5,0.25,0.25", license="cc-by-4.0")

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    a, b = files(tmp_path / "a"), files(tmp_path / "b")
    assert a == b and any(k.endswith(".parquet") for k in a) and any(k.endswith(".tmx") for k in a)
    assert not [k for k in a if ".tmp" in k or k.startswith(".")]


def test_hf_folder_is_replaced_whole_and_survives_a_failed_write(run_dir, tmp_path, monkeypatch):
    from aligner.outputs.formats import hf

    corpus = Corpus.from_dir(run_dir)
    folder = corpus.write_hf(tmp_path / "hf", split="0.34,0.33,0.33")
    (folder / "data" / "stale-00000-of-00001.parquet").write_bytes(b"old")
    corpus.write_hf(tmp_path / "hf")  # a rewrite replaces the folder: no stale shard left
    (shard,) = [p.name for p in (folder / "data").iterdir()]
    assert re.fullmatch(r"train-00000-of-00001-[0-9a-f]{16}\.parquet", shard)
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(hf, "write_parquet", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        corpus.write_hf(tmp_path / "hf", split="0.5,0.5,0")
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert sorted(os.listdir(tmp_path)) == ["hf", "run"]  # no temporary folder left behind
    assert oct(folder.stat().st_mode & 0o777) == oct(0o777 & ~_umask())


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_corpus_filter_and_quality_field():
    records = _records()
    corpus = Corpus(records)
    assert corpus.quality_field == "score"
    assert len(corpus.filter(min_quality=0.6)) == sum(r.score >= 0.6 for r in records)
    assert len(corpus.filter(min_score=0.6)) == sum(r.score >= 0.6 for r in records)
    with_quality = Corpus([CorpusRecord(**{**r.__dict__, "quality": 1 - r.score}) for r in records])
    assert with_quality.quality_field == "quality"
    kept = with_quality.filter(min_quality=0.4)
    assert [r.doc_id for r in kept] == [r.doc_id for r in with_quality if r.quality >= 0.4]
    assert kept.filters == ("`quality` >= 0.4",)
    assert Corpus(records).doc_ids == ["doc-0", "doc-1", "doc-2"]


# ----------------------------------------------------------------------------- command line


def test_export_command_all_formats(run_dir, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["export", str(run_dir), "--format", "jsonl,tsv,moses,tmx,hf", "-o", str(out),
                                       "--license", "cc-by-4.0"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["corpus.ar", "corpus.en", "corpus.jsonl", "corpus.tmx", "corpus.tsv", "hf"]
    assert (out / "corpus.jsonl").read_bytes() == (run_dir / "corpus.jsonl").read_bytes()
    assert f"Wrote {out / 'hf'}" in result.output and "8 sentence pair(s) exported" in result.output
    assert "license: cc-by-4.0" in (out / "hf" / "README.md").read_text(encoding="utf-8")
    # From a TSV too, with a filter.
    result = CliRunner().invoke(main, ["export", str(out / "corpus.tsv"), "--format", "moses", "-o",
                                       str(tmp_path / "m"), "--min-quality", "0.6"])
    assert result.exit_code == 0, result.output
    kept = [r for r in _records() if r.score >= 0.6]
    assert (tmp_path / "m" / "corpus.en").read_text(encoding="utf-8").count("\n") == len(kept) > 0


def test_export_command_usage_errors(run_dir, tmp_path):
    runner = CliRunner()
    for args, message in [
        (["--format", "xml"], "unknown format(s) 'xml'"),
        (["--split", "0.9,0.2,0"], "must be between 0 and 1 and sum to 1"),
    ]:
        result = runner.invoke(main, ["export", str(run_dir), "-o", str(tmp_path / "x"), *args])
        assert result.exit_code == 2 and message in result.output
    result = runner.invoke(main, ["export", str(run_dir), "-o", str(run_dir)])
    assert result.exit_code == 2 and "is the corpus being exported" in result.output
    assert read_corpus(run_dir) == _records()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(main, ["export", str(empty), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "no corpus.jsonl" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n", encoding="utf-8")
    result = runner.invoke(main, ["export", str(bad), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "bad.jsonl:1: not valid JSON" in result.output


@pytest.mark.slow
def test_align_with_formats_on_the_examples(tmp_path, monkeypatch, default_aligner):
    monkeypatch.setattr(corpus_mod, "_build_aligner", lambda encoder, engine=None, alignment=None: default_aligner)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["align", str(EXAMPLES / "en"), str(EXAMPLES / "ar"), "-o", str(out),
                                       "--no-progress", "--format", "tsv,tmx,moses,hf"])
    assert result.exit_code == 0, result.output
    records = read_corpus(out / "corpus.jsonl")
    assert len(records) > 20
    assert read_corpus(out / "corpus.tsv") == records
    assert (out / "corpus.en").read_bytes().count(b"\n") == (out / "corpus.ar").read_bytes().count(b"\n") == len(
        records)
    units = etree.parse(str(out / "corpus.tmx")).getroot().findall("body/tu")
    assert [tuple(s.find("seg").text for s in tu.findall("tuv")) for tu in units] == [(r.ar, r.en) for r in records]
    ds = _load(out / "hf", tmp_path)
    assert [row["translation"] for row in ds["train"]] == [{"ar": r.ar, "en": r.en} for r in records]
    card = (out / "hf" / "README.md").read_text(encoding="utf-8")
    assert "`use-multilingual-v3`" in card and f"{len(records)} sentence pair(s) before any filter" in card
    # --split splits the extra formats; corpus.jsonl stays whole.
    out2 = tmp_path / "out2"
    result = CliRunner().invoke(main, ["align", str(EXAMPLES / "en"), str(EXAMPLES / "ar"), "-o", str(out2),
                                       "--no-progress", "--format", "jsonl,tsv", "--split", "0.5,0.5,0"])
    assert result.exit_code == 0, result.output
    assert (out2 / "corpus.jsonl").read_bytes() == (out / "corpus.jsonl").read_bytes()
    parts = [read_corpus(p) for p in sorted(out2.glob("corpus.*.jsonl"))]
    assert parts and sum(len(p) for p in parts) == len(records)
    assert all(read_corpus(out2 / f"corpus.{n}.tsv") == read_corpus(out2 / f"corpus.{n}.jsonl")
               for n in ("train", "validation") if (out2 / f"corpus.{n}.jsonl").exists())


# ----------------------------------------------------------------------------- the README


def _fenced_blocks(text: str) -> list[tuple[str, list[str]]]:
    blocks, lang, lines = [], None, []
    for line in text.split("\n"):
        if line.startswith("```"):
            if lang is None:
                lang, lines = line[3:].strip(), []
            else:
                blocks.append((lang, lines))
                lang = None
        elif lang is not None:
            lines.append(line)
    return blocks


def test_readme_format_examples_are_what_the_writers_write(tmp_path):
    """The README's examples of each format (now docs/outputs.md) are the writers' output
    for the two JSONL records it shows (so they cannot drift from the code)."""
    readme = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
    (json_block,) = [lines for lang, lines in _fenced_blocks(readme) if lang == "json"]
    records = [CorpusRecord.from_dict(json.loads(line)) for line in json_block]
    assert len(records) == 2
    section = readme.split("## Corpus formats", 1)[1].split("\n## ", 1)[0]
    blocks = _fenced_blocks(section)
    texts = [lines for lang, lines in blocks if lang == "text"]
    tsv_lines, en_lines, ar_lines, rows = texts
    assert tsv_lines == write_tsv(records, tmp_path / "c.tsv").read_text(encoding="utf-8").split("\n")[:2]
    en, ar = write_moses(records, tmp_path / "c.en", tmp_path / "c.ar")
    assert en_lines == en.read_text(encoding="utf-8").split("\n")[:2]
    assert ar_lines == ar.read_text(encoding="utf-8").split("\n")[:2]
    (xml_lines,) = [lines for lang, lines in blocks if lang == "xml"]
    from aligner import __version__

    tmx = write_tmx(records, tmp_path / "c.tmx", provenance={"aligner_version": __version__,
                                                            "encoder": "use-multilingual-v3+multilingual-e5-small"})
    written = tmx.read_text(encoding="utf-8").split("\n")
    assert xml_lines[:-3] == written[:len(xml_lines) - 3] and xml_lines[-3:] == ["    ...", "  </body>", "</tmx>"]
    assert written[len(xml_lines) - 4] == "    </tu>"
    ds = _load(Corpus(records).write_hf(tmp_path / "hf"), tmp_path)
    assert rows == [str(row) for row in ds["train"]]


# ----------------------------------------------------------------------------- every score and flag (issue 17)

SCORES_E5 = {"similarity": 0.7723, "margin": 1.4184, "gap": 0.4369, "length_ratio": 1.2024, "numbers": 1.0,
             "language": 1.0, "e5_similarity": 0.8399, "e5_gap": 0.2789}
SCORES_NO_NUMBERS = {"similarity": 0.7981, "margin": 1.5093, "gap": -0.0663, "length_ratio": -0.5614,
                     "numbers": None, "language": 0.25, "e5_similarity": 0.905, "e5_gap": 0.5876}
SCORES_NO_E5 = {"similarity": 0.5, "margin": 0.98, "gap": 0.0, "length_ratio": 3.1, "numbers": 0.4, "language": 1.0}


def _scored() -> list[CorpusRecord]:
    """Records as the scorer writes them (quality, scores, flags), and one never scored."""
    base = _records()[:4]
    extras = [(0.9871, SCORES_E5, []), (0.0312, SCORES_NO_NUMBERS, ["copy", "boilerplate"]),
              (0.4, SCORES_NO_E5, ["untranslated"]), None]
    return [r if e is None else CorpusRecord(**{**r.__dict__, "quality": e[0],
                                               "extra": {"scores": dict(e[1]), "flags": list(e[2])}})
            for r, e in zip(base, extras)]


SCORED_HEADER = ("quality", "similarity", "margin", "gap", "length_ratio", "numbers", "language", "e5_similarity",
                 "e5_gap", "flags")

# record index: the scored columns (quality ... flags) in TSV, Parquet and TMX.
SCORED_ROWS = [
    (0, ["0.9871", "0.7723", "1.4184", "0.4369", "1.2024", "1.0", "1.0", "0.8399", "0.2789", ""],
     [0.9871, 0.7723, 1.4184, 0.4369, 1.2024, 1.0, 1.0, 0.8399, 0.2789, []],
     {"x-quality": "0.9871", "x-similarity": "0.7723", "x-margin": "1.4184", "x-gap": "0.4369",
      "x-length_ratio": "1.2024", "x-numbers": "1.0", "x-language": "1.0", "x-e5_similarity": "0.8399",
      "x-e5_gap": "0.2789"}),
    (1, ["0.0312", "0.7981", "1.5093", "-0.0663", "-0.5614", "", "0.25", "0.905", "0.5876", "copy,boilerplate"],
     [0.0312, 0.7981, 1.5093, -0.0663, -0.5614, None, 0.25, 0.905, 0.5876, ["copy", "boilerplate"]],
     {"x-quality": "0.0312", "x-similarity": "0.7981", "x-margin": "1.5093", "x-gap": "-0.0663",
      "x-length_ratio": "-0.5614", "x-language": "0.25", "x-e5_similarity": "0.905", "x-e5_gap": "0.5876",
      "x-flags": "copy,boilerplate"}),
    (2, ["0.4", "0.5", "0.98", "0.0", "3.1", "0.4", "1.0", "", "", "untranslated"],
     [0.4, 0.5, 0.98, 0.0, 3.1, 0.4, 1.0, None, None, ["untranslated"]],
     {"x-quality": "0.4", "x-similarity": "0.5", "x-margin": "0.98", "x-gap": "0.0", "x-length_ratio": "3.1",
      "x-numbers": "0.4", "x-language": "1.0", "x-flags": "untranslated"}),
    (3, [""] * 10, [None] * 10, {}),
]


def test_scored_columns_are_the_scorers_scores():
    from aligner.io import records
    from aligner import scoring

    assert records.SCORE_COLUMNS == scoring.SCORE_NAMES + (scoring.E5_SCORE, scoring.E5_GAP)
    assert (records.SCORES_KEY, records.FLAGS_KEY) == (scoring.SCORES_KEY, scoring.FLAGS_KEY)
    assert records.SCORED_COLUMNS == SCORED_HEADER


@pytest.mark.parametrize("index, tsv, parquet, tmx", SCORED_ROWS)
def test_tsv_has_every_score_and_flag(tmp_path, index, tsv, parquet, tmx):
    records = _scored()
    path = write_tsv(records, tmp_path / "s.tsv")
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0].split("\t") == ["en_file", "ar_file", "en", "ar", "score", "doc_id", "en_idx", "ar_idx",
                                    "bead_type", "moved", *SCORED_HEADER]
    assert lines[1 + index].split("\t")[9:] == ["false", *tsv]
    assert read_corpus(path) == records  # scores and flags come back as corpus.jsonl has them


def test_unscored_tsv_keeps_its_ten_columns(tmp_path):
    lines = write_tsv(_records(), tmp_path / "u.tsv").read_text(encoding="utf-8").split("\n")
    assert lines[0] == "en_file\tar_file\ten\tar\tscore\tdoc_id\ten_idx\tar_idx\tbead_type\tmoved"
    assert all(len(line.split("\t")) == 10 for line in lines[:-1])


def test_hf_folder_has_every_score_and_flag(tmp_path):
    import datasets

    records = _scored()
    ds = _load(Corpus(records).write_hf(tmp_path / "hf"), tmp_path)["train"]
    assert ds.column_names == ["translation", "score", "doc_id", "en_file", "ar_file", "en_idx", "ar_idx",
                               "bead_type", "moved", *SCORED_HEADER]
    assert {k: ds.features[k] for k in SCORED_HEADER[:-1]} == {k: datasets.Value("float64") for k in SCORED_HEADER[:-1]}
    assert ds.features["flags"] in (datasets.List(datasets.Value("string")), datasets.Sequence(datasets.Value("string")))
    for index, _, parquet, _ in SCORED_ROWS:
        assert [ds[index][k] for k in SCORED_HEADER] == parquet, index
    assert [ds[k]["doc_id"] for k in range(4)] == [r.doc_id for r in records]
    card = (tmp_path / "hf" / "README.md").read_text(encoding="utf-8")
    assert all(f"| `{name}` |" in card for name in SCORED_HEADER)


@pytest.mark.parametrize("index, tsv, parquet, tmx", SCORED_ROWS)
def test_tmx_has_every_score_and_flag_as_props(tmp_path, index, tsv, parquet, tmx):
    records = _scored()
    tu = etree.parse(str(write_tmx(records, tmp_path / "s.tmx"))).getroot().findall("body/tu")[index]
    props = {p.get("type"): p.text for p in tu.findall("prop")}
    record = records[index]
    assert props == {"x-doc_id": record.doc_id, "x-en_file": record.en_file, "x-ar_file": record.ar_file,
                     "x-en_idx": ",".join(map(str, record.en_idx)), "x-ar_idx": ",".join(map(str, record.ar_idx)),
                     "x-bead_type": record.bead_type, "x-score": repr(record.score), **tmx}
    assert list(props)[7:] == list(tmx)  # after the provenance, in SCORED_COLUMNS order


def test_moved_record_in_tmx_and_hf(tmp_path):
    """A moved pair has the prop ``x-moved`` ``true`` (after ``x-score``, before the scores)
    and ``moved`` true in the Parquet column; a pair not moved has no ``x-moved`` prop."""
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [_records()[0], replace(_records()[1], moved=True), replace(_scored()[0], moved=True)]
    units = etree.parse(str(write_tmx(records, tmp_path / "m.tmx"))).getroot().findall("body/tu")
    props = [[(p.get("type"), p.text) for p in tu.findall("prop")] for tu in units]
    assert [dict(p).get("x-moved") for p in props] == [None, "true", "true"]
    assert [t for t, _ in props[0]] == ["x-doc_id", "x-en_file", "x-ar_file", "x-en_idx", "x-ar_idx", "x-bead_type",
                                        "x-score"]
    assert [t for t, _ in props[1]] == [t for t, _ in props[0]] + ["x-moved"]
    assert [t for t, _ in props[2]] == [t for t, _ in props[0]] + ["x-moved"] + list(SCORED_ROWS[0][3])
    folder = Corpus(records).write_hf(tmp_path / "hf")
    (shard,) = (folder / "data").iterdir()
    table = pq.read_table(shard)
    assert table.schema.field("moved").type == pa.bool_() and table.column("moved").to_pylist() == [False, True, True]
    ds = _load(folder, tmp_path)["train"]
    assert ds.features["moved"] == datasets.Value("bool") and ds["moved"] == [False, True, True]
    assert ds.column_names.index("moved") == ds.column_names.index("bead_type") + 1


# ----------------------------------------------------------------------------- TMX direction (issue 17)


@pytest.mark.parametrize("source, srclang, first, second", [
    (None, "ar", "ar", "en"),  # the default: the English reports were written from the Arabic
    ("ar", "ar", "ar", "en"),
    ("en", "en", "en", "ar"),
])
def test_tmx_source_language(tmp_path, source, srclang, first, second):
    records = _records()
    kwargs = {} if source is None else {"source_lang": source}
    root = etree.parse(str(write_tmx(records, tmp_path / "c.tmx", **kwargs))).getroot()
    assert root.find("header").get("srclang") == srclang and root.find("header").get("adminlang") == "en"
    for tu, record in zip(root.findall("body/tu"), records):
        assert [(t.get(XML_LANG), t.find("seg").text) for t in tu.findall("tuv")] == [
            (first, xml_text(getattr(record, first))), (second, xml_text(getattr(record, second)))]


def test_tmx_source_language_is_checked(tmp_path):
    with pytest.raises(ValueError, match="TMX source language 'fr': choose from ar, en"):
        write_tmx(_records(), tmp_path / "c.tmx", source_lang="fr")
    assert not (tmp_path / "c.tmx").exists()


@pytest.mark.parametrize("en_idx, ar_idx, bead_type, segtype", [
    ((0,), (0,), "1-1", None),  # the header's segtype="sentence"
    ((0,), (1, 2), "1-2", "block"),
    ((3, 4), (5,), "2-1", "block"),
    ((3, 4), (5, 6), "2-2", "block"),
])
def test_tmx_segtype_block_for_several_sentences(tmp_path, en_idx, ar_idx, bead_type, segtype):
    record = CorpusRecord("d", "d.txt", "d.txt", en_idx, ar_idx, "One. Two.", "واحد. اثنان.", bead_type, 0.5)
    root = etree.parse(str(write_tmx([record], tmp_path / "c.tmx"))).getroot()
    assert root.find("header").get("segtype") == "sentence"
    assert root.find("body/tu").get("segtype") == segtype


@pytest.mark.parametrize("source, want_source, want_target", [("ar", "ar", "en"), ("en", "en", "ar")])
def test_translate_toolkit_reads_the_tmx_direction(tmp_path, source, want_source, want_target):
    pytest.importorskip("translate.storage.tmx", reason="translate-toolkit (test extra) reads TMX as CAT tools do")
    from translate.storage import tmx

    records = _records()[:3]
    path = write_tmx(records, tmp_path / "c.tmx", source_lang=source)
    store = tmx.tmxfile(path.read_bytes())
    units = store.units
    assert [u.source for u in units] == [getattr(r, want_source) for r in records]
    assert [u.target for u in units] == [getattr(r, want_target) for r in records]
    assert store.getsourcelanguage() == want_source  # from the header's srclang
    assert [[n.get(XML_LANG) for n in u.getlanguageNodes()] for u in units] == [[want_source, want_target]] * 3


def test_export_and_align_commands_take_tmx_source(run_dir, tmp_path):
    runner = CliRunner()
    for args, srclang, first in (([], "ar", "ar"), (["--tmx-source", "en"], "en", "en")):
        out = tmp_path / f"out-{srclang}"
        result = runner.invoke(main, ["export", str(run_dir), "--format", "tmx", "-o", str(out), *args])
        assert result.exit_code == 0, result.output
        root = etree.parse(str(out / "corpus.tmx")).getroot()
        assert root.find("header").get("srclang") == srclang
        assert root.find("body/tu/tuv").get(XML_LANG) == first
    result = runner.invoke(main, ["export", str(run_dir), "--format", "tmx", "-o", str(tmp_path / "x"),
                                  "--tmx-source", "fr"])
    assert result.exit_code == 2 and "'fr' is not one of 'ar', 'en'" in result.output
    assert "--tmx-source [ar|en]" in runner.invoke(main, ["align", "--help"]).output


# ----------------------------------------------------------------------------- the datasets cache (issue 17)


def _rows(tag: str, n: int, doc: str) -> list[CorpusRecord]:
    return [CorpusRecord(doc, f"{doc}.txt", f"{doc}.txt", (k,), (k,), f"{tag} English {k}.", f"{tag} عربي {k}.",
                         "1-1", 0.5) for k in range(n)]


@pytest.mark.parametrize("a, b", [
    (_rows("A", 3, "first"), _rows("B", 2, "second")),  # different row counts
    (_rows("A", 3, "same"), _rows("C", 3, "same")),  # same counts and sizes, other text
    (_rows("A", 3, "same"), [replace(r, score=0.25) for r in _rows("A", 3, "same")]),  # only a score differs
])
def test_two_exports_load_as_their_own_rows_in_one_process(tmp_path, a, b):
    import datasets

    cache = str(tmp_path / "cache")
    folders = [Corpus(recs).write_hf(tmp_path / name / "hf") for name, recs in (("expA", a), ("expB", b))]
    for folder, recs in zip(folders, (a, b)):
        ds = datasets.load_dataset(str(folder), cache_dir=cache)["train"]
        assert ds.num_rows == len(recs)
        assert ds[0]["translation"] == {"ar": recs[0].ar, "en": recs[0].en} and ds["score"] == [r.score for r in recs]


def test_card_has_dataset_info(run_dir, tmp_path):
    from huggingface_hub import DatasetCard

    corpus = Corpus.from_dir(run_dir)
    folder = corpus.write_hf(tmp_path / "hf", split=(0.34, 0.33, 0.33))
    info = DatasetCard((folder / "README.md").read_text(encoding="utf-8")).data.to_dict()["dataset_info"]
    expected = {n: len(r) for n, r in split_records(corpus.records, (0.34, 0.33, 0.33)).items() if r}
    assert info["config_name"] == "default"
    assert [f["name"] for f in info["features"]] == ["translation", "score", "doc_id", "en_file", "ar_file",
                                                     "en_idx", "ar_idx", "bead_type", "moved"]
    assert {f["name"]: f.get("dtype") for f in info["features"]}["moved"] == "bool"
    assert {s["name"]: s["num_examples"] for s in info["splits"]} == expected
    assert info["download_size"] == sum(p.stat().st_size for p in (folder / "data").iterdir())
    assert info["dataset_size"] == sum(s["num_bytes"] for s in info["splits"]) > 0
