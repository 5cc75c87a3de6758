"""The plain libraries never import web, database or support code (DESIGN.md).

The full set of layer contracts lives in pyproject.toml (``[tool.importlinter]``) and is
checked statically by ``lint-imports``; these tests run it too, and add what a static
check cannot see: the modules a library pulls in when it is actually imported.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = ("ocr", "grading", "errorbook", "models")
FORBIDDEN = (
    "fastapi", "sqlalchemy", "starlette", "alembic", "httpx", "pydantic_settings",
    "service", "simulation", "tools", "bench", "tests",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_forbidden_import_statements() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {sorted(_imports(path) & set(FORBIDDEN))}"
        for lib in LIBRARIES for path in (ROOT / lib).rglob("*.py")
        if _imports(path) & set(FORBIDDEN)
    ]
    assert offenders == []


def test_importing_every_library_module_pulls_in_no_web_or_db_code() -> None:
    modules = [".".join(p.relative_to(ROOT).with_suffix("").parts)
               for lib in LIBRARIES for p in (ROOT / lib).rglob("*.py")
               if "training" not in p.parts]
    modules = [m.removesuffix(".__init__") for m in modules]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == ""


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
