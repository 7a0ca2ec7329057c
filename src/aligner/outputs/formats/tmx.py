"""``tmx``: ``corpus.tmx`` (``corpus.<split>.tmx``), TMX 1.4b, Arabic the source
(``srclang="ar"``) unless asked otherwise.

No time in the file (the header has no ``creationdate``; it is optional in TMX 1.4b), so
the same records give the same bytes. Characters XML 1.0 cannot hold (C0 controls other
than tab, LF and CR, U+FFFE, U+FFFF, lone surrogates) become U+FFFD; everything else (``<``,
``&``, quotes, RTL marks, emoji, CR) is escaped by lxml and parses back unchanged."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from aligner.version import __version__
from aligner.io.files import atomic_open
from aligner.io.records import FLAGS_KEY, CorpusRecord, format_indices, format_number
from aligner.outputs.formats.base import CorpusFormat, WriteOptions

TMX_DOCTYPE = '<!DOCTYPE tmx SYSTEM "tmx14.dtd">'
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

TMX_SOURCES = ("ar", "en")
"""Languages a TMX can name as its source (``srclang``, the first ``<tuv>``); ``ar`` by default:
the English reports were written from the Arabic texts."""

_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with characters XML 1.0 cannot hold replaced by U+FFFD."""
    return _XML_INVALID.sub("\ufffd", text)


def check_source(source_lang: str) -> str:
    """``source_lang`` when it is one of :data:`TMX_SOURCES`, else ``ValueError``."""
    if source_lang not in TMX_SOURCES:
        raise ValueError(f"TMX source language {source_lang!r}: choose from {', '.join(TMX_SOURCES)}")
    return source_lang


def write_tmx(records: Iterable[CorpusRecord], path: str | Path, *, provenance: Mapping[str, Any] | None = None,
              source_lang: str = "ar") -> Path:
    """TMX 1.4b: header ``srclang="ar"`` (``source_lang``: ``"ar"`` or ``"en"``),
    ``adminlang="en"``, ``segtype="sentence"``, ``creationtool="aligner"``,
    ``creationtoolversion``, ``o-tmf="aligner-jsonl"``, ``datatype="plaintext"`` and no
    ``creationdate`` (so the bytes are the same on every run); header props ``x-encoder``
    and ``x-aligner-version`` from ``provenance`` (the run's settings) when known. One
    ``<tu tuid="N">`` per record (N from 1), ``segtype="block"`` when a side has more than
    one sentence (else the header's ``sentence``), with props ``x-doc_id``, ``x-en_file``,
    ``x-ar_file``, ``x-en_idx``, ``x-ar_idx`` (``"1,2"``), ``x-bead_type``, ``x-score``,
    ``x-moved`` (``true``, only on a pair the report moved), then
    ``x-quality``, ``x-similarity``, ... ``x-e5_gap`` and ``x-flags`` (comma-joined) where
    the record has them (:data:`~aligner.io.records.SCORED_COLUMNS`), then the source
    ``<tuv>`` and the target ``<tuv>`` (``xml:lang`` ``ar`` / ``en``)."""
    from lxml import etree

    check_source(source_lang)
    header_attrs = {"creationtool": "aligner", "creationtoolversion": __version__, "datatype": "plaintext",
                    "segtype": "sentence", "adminlang": "en", "srclang": source_lang, "o-tmf": "aligner-jsonl"}
    header = etree.Element("header", header_attrs)
    provenance = provenance or {}
    for key, value in (("x-aligner-version", provenance.get("aligner_version")),
                       ("x-encoder", provenance.get("encoder"))):
        if value:
            etree.SubElement(header, "prop", type=key).text = xml_text(str(value))
    if len(header):
        etree.indent(header, space="  ", level=1)

    with atomic_open(path, "wb") as handle:
        with etree.xmlfile(handle, encoding="UTF-8") as xf:
            xf.write_declaration()
            xf.write_doctype(TMX_DOCTYPE)
            with xf.element("tmx", version="1.4"):
                xf.write("\n  ")
                xf.write(header)
                xf.write("\n  ")
                with xf.element("body"):
                    for n, record in enumerate(records, start=1):
                        xf.write("\n    ")
                        xf.write(_tmx_unit(etree, n, record, source_lang))
                    xf.write("\n  ")
                xf.write("\n")
        handle.write(b"\n")
    return Path(path)


def _tmx_unit(etree: Any, n: int, record: CorpusRecord, source_lang: str = "ar") -> Any:
    attrs = {"tuid": str(n)}
    if len(record.en_idx) > 1 or len(record.ar_idx) > 1:
        attrs["segtype"] = "block"  # several sentences on a side: not a sentence unit
    tu = etree.Element("tu", attrs)
    props = [("x-doc_id", record.doc_id), ("x-en_file", record.en_file), ("x-ar_file", record.ar_file),
             ("x-en_idx", format_indices(record.en_idx)), ("x-ar_idx", format_indices(record.ar_idx)),
             ("x-bead_type", record.bead_type), ("x-score", format_number(record.score))]
    if record.moved:
        props.append(("x-moved", "true"))
    for name, value in record.scored_fields().items():
        if name == FLAGS_KEY:
            if value:
                props.append((f"x-{name}", ",".join(value)))
        elif value is not None:
            props.append((f"x-{name}", format_number(value)))
    for key, value in props:
        etree.SubElement(tu, "prop", type=key).text = xml_text(value)
    sides = [("ar", record.ar), ("en", record.en)]
    for lang, text in sides if source_lang == "ar" else sides[::-1]:
        tuv = etree.SubElement(tu, "tuv", {_XML_LANG: lang})
        etree.SubElement(tuv, "seg").text = xml_text(text)
    etree.indent(tu, space="  ", level=2)
    return tu


class TmxFormat(CorpusFormat):
    name = "tmx"
    suffixes = (".tmx",)

    def write_files(self, records: Sequence[CorpusRecord], paths: list[Path], options: WriteOptions) -> list[Path]:
        """Header provenance from ``options.run``, source language ``options.tmx_source``."""
        return [write_tmx(records, *paths, provenance=options.run or {}, source_lang=options.tmx_source)]
