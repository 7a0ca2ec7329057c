"""A Griffe extension for the reference pages (mkdocs.yml, mkdocstrings): renders the few
reST constructs of aligner's docstrings as Markdown, so the docstrings stay as they are.

* Sphinx roles (:func:`~aligner.io.records.read_corpus`, :class:`Corpus`,
  :meth:`Signature.format`, ...) become links to the object's reference entry.
* Simple tables (columns under ``=====  =====`` borders; a row whose first cell is empty
  continues the row above) become Markdown tables.
* A paragraph ending in ``::`` ends in ``:`` (the indented block after it is already a
  Markdown code block).

A role's target is resolved as Sphinx would: a full ``aligner.`` path as it is, any other
name in the scope of the object whose docstring holds it (its members, its module's names
and imports). The link is an *optional* autorefs cross-reference: when the target is not
on any page (a private helper, another library), it stays plain code, with no warning.
Only the documentation build loads this file; the package never imports it.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|data|mod|exc|obj|const):`(?P<body>[^`]+)`")
EXPLICIT_TITLE = re.compile(r"^(?P<title>.+?)\s*<(?P<target>[^<>]+)>$")
TABLE_BORDER = re.compile(r"^=+(?: +=+)+ *$")
LITERAL_MARKER = re.compile(r"(?<=\S)::[ \t]*$", re.M)
SETEXT_UNDERLINE = re.compile(r"^(?:-{3,}|={3,})[ \t]*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def _table_rows(lines: list[str], starts: list[int]) -> list[list[str]]:
    rows: list[list[str]] = []
    for line in lines:
        cells = [line[start:end].strip() for start, end in zip(starts, [*starts[1:], None])]
        if rows and not cells[0]:  # a continuation line
            rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], cells)]
        else:
            rows.append(cells)
    return rows


def _markdown_row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _simple_tables(text: str) -> str:
    """reST simple tables (border, header, border, rows, border) as Markdown tables."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        borders = [j for j in range(i, min(len(lines), i + 200)) if TABLE_BORDER.match(lines[j])]
        if not borders or borders[0] != i or len(borders) < 3 or lines[borders[1]] != lines[i]:
            out.append(lines[i])
            i += 1
            continue
        top, mid = borders[0], borders[1]
        bottom = next((j for j in borders[2:] if lines[j] == lines[i]), None)
        if bottom is None:
            out.append(lines[i])
            i += 1
            continue
        starts = [m.start() for m in re.finditer(r"=+", lines[top])]
        header = _table_rows(lines[top + 1:mid], starts)[0]
        body = _table_rows([line for line in lines[mid + 1:bottom] if line.strip()], starts)
        out += ["", _markdown_row(header), "|" + "---|" * len(header)]
        out += [_markdown_row(row) for row in body]
        out.append("")
        i = bottom + 1
    return "\n".join(out)


def _target_path(obj: griffe.Object, target: str) -> str | None:
    target = target.lstrip(".")
    if target.startswith("aligner.") or target == "aligner":
        return target
    head, _, rest = target.partition(".")
    try:
        path = obj.resolve(head)
    except (griffe.NameResolutionError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    return f"{path}.{rest}" if rest else path


def _replace_roles(obj: griffe.Object, text: str) -> str:
    """Roles as links, except in a heading (a line underlined with ``---``/``===``, or
    ``#``): there roles and code spans become plain text, as mkdocstrings garbles the table
    of contents entry of a docstring heading that holds inline markup."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("#") or (i + 1 < len(lines) and SETEXT_UNDERLINE.match(lines[i + 1])):
            lines[i] = CODE_SPAN.sub(r"\2", ROLE.sub(_plain, line))
        else:
            lines[i] = ROLE.sub(lambda m: _link(obj, m), line)
    return "\n".join(lines)


def _title_and_target(body: str) -> tuple[str, str]:
    body = body.strip()
    explicit = EXPLICIT_TITLE.match(body)
    if explicit:
        return explicit["title"], explicit["target"].lstrip("~")
    if body.startswith("~"):
        return body[1:].rsplit(".", 1)[-1], body[1:]
    return body, body


def _plain(match: re.Match[str]) -> str:
    return _title_and_target(match["body"])[0]


def _link(obj: griffe.Object, match: re.Match[str]) -> str:
    title, target = _title_and_target(match["body"])
    code = f"<code>{html.escape(title)}</code>"
    path = _target_path(obj, target)
    if path is None:
        return code
    return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'


class SphinxRoles(griffe.Extension):
    """Rewrites every docstring once the whole package is loaded (names resolve then)."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is None:
            return
        text = _simple_tables(obj.docstring.value)
        text = LITERAL_MARKER.sub(":", text)
        obj.docstring.value = _replace_roles(obj, text)
