"""The documentation (README.md, mkdocs.yml, docs/): every relative link leads to a file
that exists (and to a heading of it, when it names one), the README stays short, every
``aligner COMMAND`` the pages name is a real command, and every module of the package is on
a reference page (docs/reference/). With mkdocs and mkdocstrings installed (the ``docs``
extra, which .ci/run installs), a slow test builds the site with ``--strict``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
CLI_PAGE = DOCS / "usage" / "cli.md"
REFERENCE = DOCS / "reference"
SRC = ROOT / "src"
README_MAX_LINES = 150
# Modules with no reference entry of their own: the command line is documented option by
# option on docs/usage/cli.md; aligner.version only holds __version__; aligner.data only
# holds the fitted quality models (JSON).
NOT_IN_REFERENCE = {"aligner.cli", "aligner.version", "aligner.data"}

FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
COMMAND = re.compile(r"^\s*(?:\$\s*)?aligner ([a-z][\w-]*)", re.M)  # a command line, or a code span, that runs aligner
SHELL_FENCE = re.compile(r"^(`{3,})(?:sh|bash|shell|console|text)?[ \t]*\n(.*?)^\1[ \t]*$", re.M | re.S)


def pages() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def without_code(text: str) -> str:
    """The text with fenced blocks and code spans blanked (links and headings there are
    not links and headings)."""
    return CODE_SPAN.sub(" ", FENCE.sub(" ", text))


def code_of(text: str) -> list[str]:
    """Where commands are written: shell and text blocks (not Python), and code spans."""
    blocks = [m.group(2) for m in SHELL_FENCE.finditer(text)]
    return blocks + [m.group(2) for m in CODE_SPAN.finditer(FENCE.sub(" ", text))]


def slug(heading: str) -> str:
    """A heading's anchor as GitHub and mkdocs (toc) both make it for plain headings:
    markup dropped, lower case, punctuation removed, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # [text](url) -> text
    text = re.sub(r"[`*]", "", text)  # code and emphasis marks
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return re.sub(r"[ \-]+", "-", text).strip("-")


def anchors(path: Path) -> set[str]:
    found: dict[str, int] = {}
    out = set()
    for match in HEADING.finditer(FENCE.sub(" ", path.read_text(encoding="utf-8"))):
        base = slug(match.group(2))
        n = found.get(base, 0)
        found[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def relative_links(path: Path) -> list[str]:
    return [target for target in LINK.findall(without_code(path.read_text(encoding="utf-8")))
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) and not target.startswith("/")]


def test_there_are_pages_and_links():
    assert (ROOT / "mkdocs.yml").is_file() and (DOCS / "index.md").is_file() and CLI_PAGE.is_file()
    assert sum(len(relative_links(p)) for p in pages()) > 20


@pytest.mark.parametrize("page", pages(), ids=_name)
def test_every_relative_link_leads_to_a_file(page):
    broken = []
    for target in relative_links(page):
        file_part = target.split("#", 1)[0]
        if file_part and not (page.parent / file_part).exists():
            broken.append(target)
    assert not broken, f"{_name(page)}: links to files that do not exist: {broken}"


@pytest.mark.parametrize("page", pages(), ids=_name)
def test_every_link_anchor_is_a_heading(page):
    broken = []
    for target in relative_links(page):
        if "#" not in target:
            continue
        file_part, anchor = target.split("#", 1)
        dest = (page.parent / file_part) if file_part else page
        if dest.suffix == ".md" and dest.is_file() and anchor not in anchors(dest):
            broken.append(target)
    assert not broken, f"{_name(page)}: links to headings that do not exist: {broken}"


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most {README_MAX_LINES}): move text to docs/"


def test_readme_keeps_the_install_and_test_commands():
    text = README.read_text(encoding="utf-8")
    assert "pip install torch==2.13.0 && pip install -e ." in text  # torch pinned first
    assert 'pip install -e ".[test]" && python -m pytest -q -n 2' in text  # what .ci/run runs
    assert 'pytest -m "not slow" -n 2' in text
    assert 'pip install -e ".[docs]" && mkdocs serve' in text  # the docs extra: mkdocs-material, mkdocstrings


def test_readme_says_how_to_get_the_cpu_wheel_of_torch():
    """On Linux, torch from PyPI is the CUDA build: the README gives PyTorch's CPU index."""
    text = README.read_text(encoding="utf-8")
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in text


def _named_commands(path: Path) -> set[str]:
    return {name for code in code_of(path.read_text(encoding="utf-8")) for name in COMMAND.findall(code)}


@pytest.mark.parametrize("page", pages(), ids=_name)
def test_every_command_named_exists(page):
    from aligner.cli import main

    named = _named_commands(page)
    assert not named - set(main.commands), f"{_name(page)} names commands that do not exist: {named - set(main.commands)}"


def test_cli_page_documents_every_command():
    from aligner.cli import main

    text = CLI_PAGE.read_text(encoding="utf-8")
    assert _named_commands(CLI_PAGE) >= {"align", "pair", "score", "view", "export", "publish"}
    missing = [name for name in main.commands if f"## `aligner {name}`" not in text]
    assert not missing, f"docs/usage/cli.md has no section for: {missing}"


def test_cli_page_shows_every_option():
    """Every option of every command, and of the group itself (-q, -v), is on the CLI page."""
    from aligner.cli import main

    text = CLI_PAGE.read_text(encoding="utf-8")
    commands = [("aligner", main), *main.commands.items()]
    missing = [f"{name} {opt}" for name, command in commands for param in command.params
               for opt in [*param.opts, *param.secondary_opts] if opt.startswith("-") and f"`{opt}" not in text
               and f" {opt}" not in text and f"[{opt}" not in text]
    assert not missing, f"docs/usage/cli.md does not mention: {missing}"


def _package_modules() -> set[str]:
    """Every module and package of aligner, found in src/ without importing it."""
    found = set()
    for path in (SRC / "aligner").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(part.startswith("_") for part in parts):
            found.add(".".join(parts))
    return found


def _reference_directives() -> list[tuple[str, dict]]:
    """The ``::: identifier`` lines of docs/reference/ with their options (the YAML block
    indented under them)."""
    out = []
    for page in sorted(REFERENCE.glob("*.md")):
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line.startswith("::: "):
                block = []
                for following in lines[i + 1:]:
                    if following.strip() and not following.startswith("    "):
                        break
                    block.append(following[4:])
                options = (yaml.safe_load("\n".join(block)) or {}).get("options", {})
                out.append((line[4:].strip(), options))
    return out


def test_every_module_is_on_a_reference_page():
    """Each module is rendered by a ``::: module`` line, or by its package's line with
    ``show_submodules: true``; a new module must be added to its layer's page."""
    directives = _reference_directives()
    named = {ident for ident, _ in directives}
    recursive = {ident for ident, options in directives if options.get("show_submodules")}
    assert named, "docs/reference/ has no ::: lines"
    missing = sorted(m for m in _package_modules() - NOT_IN_REFERENCE
                     if m not in named and not any(m.startswith(p + ".") for p in recursive))
    assert not missing, f"modules on no page of docs/reference/ (add a '::: name' line to their layer's page): {missing}"


def test_docstring_extension_renders_rest_tables_and_roles():
    """docs/griffe_sphinx_roles.py (loaded by mkdocstrings): a reST simple table becomes a
    Markdown table (continuation lines joined), a role a link to its resolved target, and a
    role in a heading plain text."""
    griffe = pytest.importorskip("griffe", reason="griffe is not installed (the docs extra: pip install -e '.[docs]')")
    sys.path.insert(0, str(DOCS))
    try:
        import griffe_sphinx_roles as ext
    finally:
        sys.path.remove(str(DOCS))
    table = "Intro.\n\n===  =========\nkey  value\n===  =========\na    one\n     more\nb    two|three\n===  =========\n"
    assert ext._simple_tables(table).split("\n")[3:8] == [
        "| key | value |", "|---|---|", "| a | one more |", "| b | two\\|three |", ""]
    module = griffe.Module("mod")
    module.set_member("Thing", griffe.Class("Thing"))
    text = ext._replace_roles(module, "See :class:`Thing` and :func:`~aligner.io.records.read_corpus`.\n"
                                      "About :func:`Thing`\n-----------")
    assert '<autoref identifier="mod.Thing" optional><code>Thing</code></autoref>' in text
    assert '<autoref identifier="aligner.io.records.read_corpus" optional><code>read_corpus</code></autoref>' in text
    assert "\nAbout Thing\n" in text


def test_reference_pages_are_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    missing = [p.name for p in sorted(REFERENCE.glob("*.md")) if f"reference/{p.name}" not in nav]
    assert not missing, f"mkdocs.yml nav lacks reference pages: {missing}"


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    docs_extra = "the docs extra: pip install -e '.[docs]'"
    pytest.importorskip("mkdocs", reason=f"mkdocs is not installed ({docs_extra})")
    pytest.importorskip("material", reason=f"mkdocs-material is not installed ({docs_extra})")
    pytest.importorskip("mkdocstrings_handlers.python", reason=f"mkdocstrings[python] is not installed ({docs_extra})")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                             str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "usage" / "cli" / "index.html").is_file()
    # The reference pages hold the docstrings, and the roles in them became links.
    reference = (tmp_path / "site" / "reference" / "aligner" / "index.html").read_text(encoding="utf-8")
    assert 'id="aligner.Aligner"' in reference and 'id="aligner.Corpus"' in reference
    scoring = (tmp_path / "site" / "reference" / "scoring" / "index.html").read_text(encoding="utf-8")
    assert ":class:" not in scoring and ":func:" not in scoring
    assert 'href="#aligner.scoring.base.Metric"' in scoring
