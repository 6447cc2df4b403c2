"""The import graph points down only: the lower packages never import the roof (crmbot: CLI, wiring, app
config) nor a package above them. Every module's AST is walked, imports inside functions and
TYPE_CHECKING blocks included, so a lazy import cannot hide an upward dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# package -> top-level packages of this project it must never import
FORBIDDEN: dict[str, set[str]] = {
    "crm_store": {"crmbot", "bot", "dialogs", "nlu", "scheduler"},
    "nlu": {"crmbot", "bot", "dialogs", "crm_store", "scheduler"},
    "dialogs": {"crmbot", "bot", "nlu", "scheduler"},
    "scheduler": {"crmbot", "bot"},
}


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (  # importlib.import_module("crmbot.config")
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def violations(package: str) -> list[str]:
    bad = []
    for path in sorted((REPO / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in imported_modules(tree):
            if module.split(".")[0] in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_never_import_upwards(package: str) -> None:
    assert violations(package) == []


def test_the_check_sees_lazy_and_type_checking_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from crmbot.config import Config\n"
        "def f():\n    import crmbot.wiring\n    importlib.import_module('crmbot.cli')\n"
    )
    modules = {module for _, module in imported_modules(ast.parse(source))}
    assert {"crmbot.config", "crmbot.wiring", "crmbot.cli"} <= modules
