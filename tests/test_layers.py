"""The package's layers (README, How the code is laid out) hold: the import-linter
contracts in pyproject.toml are kept, they break on a violating import, and no module
imports itself through others (no cycle)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"

pytest.importorskip("importlinter", reason="import-linter is in the test extra (pip install -e .[test])")


def _lint_imports(src: Path) -> subprocess.CompletedProcess:
    # `lint-imports` is the console script of importlinter.cli.lint_imports_command
    code = ("import sys; from importlinter.cli import lint_imports_command; "
            "sys.argv = ['lint-imports', '--config', sys.argv[1], '--no-cache']; lint_imports_command()")
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([sys.executable, "-c", code, str(ROOT / "pyproject.toml")], capture_output=True,
                          text=True, env=env, cwd=ROOT)


def test_layer_contracts_are_kept():
    result = _lint_imports(SRC)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


@pytest.mark.parametrize("module, bad_import, contract", [
    ("text/normalization.py", "import aligner.cli", "Pipeline layers BROKEN"),
    ("io/records.py", "from aligner.documents import SentencePair", "Pipeline layers BROKEN"),
    ("alignment.py", "import aligner.io.files", "Pure cores import no I/O and no encoder BROKEN"),
])
def test_an_import_against_the_layers_breaks_the_contract(tmp_path, module, bad_import, contract):
    copy = tmp_path / "src"
    shutil.copytree(SRC / "aligner", copy / "aligner", ignore=shutil.ignore_patterns("__pycache__", "data"))
    path = copy / "aligner" / module
    path.write_text(path.read_text() + f"\n{bad_import}  # a violation\n")
    result = _lint_imports(copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert contract in result.stdout


def test_no_import_cycle():
    import grimp

    graph = grimp.build_graph("aligner", exclude_type_checking_imports=True)
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for other in sorted(edges[module]):
            if state.get(other) == 1:
                cycles.append(path[path.index(other):] + [other])
            elif other not in state:
                visit(other, path + [other])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    # a package's __init__ importing its own modules is not a cycle of the code
    cycles = [c for c in cycles if not all(m == c[0] or m.startswith(c[0] + ".") for m in c)]
    assert cycles == []
