"""The markbook command line: bad input is a message and a non-zero exit, never a trace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from tests.support.samples import ROOT


def _run(*args: str, cwd: Path, env_data: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "MARKBOOK_DATA_DIR": str(env_data), "HOME": str(cwd)}
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=cwd, env=env | {
        "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=180)


def test_questions_import_reports_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bank.json"
    bad.write_text(json.dumps({"questions": [{"id": "x", "kind": "essay"}]}), encoding="utf-8")
    r = _run("questions", "import", str(bad), cwd=tmp_path, env_data=tmp_path / "var")
    assert r.returncode == 1
    assert "unknown kind 'essay'" in r.stderr
    assert "Traceback" not in r.stderr
    r = _run("questions", "import", str(tmp_path / "missing.json"), cwd=tmp_path,
             env_data=tmp_path / "var")
    assert r.returncode == 2
    assert "no such file" in r.stderr
    bad.write_bytes(b"\xff\xfe{")
    r = _run("questions", "import", str(bad), cwd=tmp_path, env_data=tmp_path / "var")
    assert r.returncode == 2
    assert "not UTF-8 JSON" in r.stderr


def test_questions_import_sample_bank(tmp_path: Path) -> None:
    r = _run("questions", "import", str(ROOT / "sample_scans" / "question_bank.json"),
             cwd=tmp_path, env_data=tmp_path / "var")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("created ")


def test_bad_configuration_is_reported(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "MARKBOOK_ENV": "production"}
    r = subprocess.run([sys.executable, "-m", "service.cli", "db", "head"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "MARKBOOK_SECRET_KEY" in r.stderr


@pytest.mark.slow
def test_demo_writes_printable_worksheets(tmp_path: Path) -> None:
    out = tmp_path / "demo-output"
    r = _run("demo", "--out", str(out), "--data-dir", str(tmp_path / "demo-data"), cwd=tmp_path,
             env_data=tmp_path / "var")
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    pdfs = [n for n in summary["files"] if n.endswith(".pdf")]
    assert len(pdfs) == 4
    class_set = pdfium.PdfDocument(out / "worksheet-1-class-set.pdf")
    blank = pdfium.PdfDocument(out / "worksheet-1-blank.pdf")
    assert len(class_set) == 30 * len(blank)


def test_serve_refuses_an_unusable_configured_font(tmp_path: Path) -> None:
    """A configured font that is not an embeddable TrueType file stops ``serve`` before it
    listens, with one line naming the setting (no silent fallback, no traceback)."""
    fake = tmp_path / "not-a-font.ttf"
    fake.write_text("plain text", encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "MARKBOOK_DATA_DIR": str(tmp_path / "var"),
           "HOME": str(tmp_path), "MARKBOOK_CJK_FONT": str(fake)}
    r = subprocess.run([sys.executable, "-m", "service.cli", "serve", "--port", "1"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "MARKBOOK_CJK_FONT" in r.stderr
    assert "Traceback" not in r.stderr
