"""grading/ stays a plain library: no web, database or sibling-package imports, small
modules with ``__all__``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

GRADING = Path(__file__).resolve().parents[2] / "grading"
MODULES = sorted(p for p in GRADING.glob("*.py") if p.name != "__init__.py")
FORBIDDEN = ("fastapi", "sqlalchemy", "service", "ocr", "errorbook", "starlette")


def test_importing_every_module_pulls_in_nothing_forbidden() -> None:
    names = ", ".join(f"grading.{p.stem}" for p in MODULES)
    code = (
        f"import sys, {names}\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=GRADING.parent)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_module_is_small_and_declares_its_api(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert source.count("\n") <= 400, "split modules over ~400 lines"
    tree = ast.parse(source)
    assert ast.get_docstring(tree), "module docstring"
    assigned = {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    assert "__all__" in assigned
    imported = {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    } | {
        a.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for a in node.names
    }
    assert not imported & set(FORBIDDEN)


def test_no_eval_or_sympify_on_text() -> None:
    for path in MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                assert name not in ("eval", "exec", "sympify", "parse_expr"), (path.name, name)
