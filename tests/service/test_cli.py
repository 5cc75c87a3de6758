"""The markbook command line: bad input is a message and a non-zero exit, never a trace."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest

from service.app import create_app
from service.config import Settings
from tests.support.auth import client_for
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
    # The summary keeps blanks apart from decided answers, has a header, rounds, and
    # says what the redo was and how it was graded.
    table = (out / "summary.md").read_text(encoding="utf-8")
    assert table.startswith("| figure | value |")
    assert "| | |" not in table
    assert not re.search(r"\|[ \t]*\|", table), table  # no empty cell, headers included
    g = summary["grading"]
    assert g["blank"] + g["written"] == g["answers"]
    assert g["auto"] + g["blank_auto"] + g["needs_review"] == g["answers"]
    assert {"choice", "true_false", "multi_choice", "comparison", "written number"} <= \
        set(g["by_kind"])
    assert all(r["written"] > 0 for r in g["by_kind"].values())
    assert g["class_mean"] == round(g["class_mean"], 1)
    loop = g["loop"]
    assert loop["redo_written"] + loop["redo_not_simulated"] == loop["redo_items"]
    assert loop["redo_right"] + loop["redo_wrong"] + loop["redo_review"] == loop["redo_items"]
    assert f"{loop['redo_written']} answered as the key" in table
    # It ends with a sign-in that opens the graded class in a browser.
    sign_in = out / "sign-in.txt"
    assert sign_in.stat().st_mode & 0o777 == 0o600
    password = sign_in.read_text(encoding="utf-8").split("password: ")[1].strip()
    assert f"sign in as demo / {password}" in r.stdout
    assert "make serve" in r.stdout
    classes = asyncio.run(_classes_seen_by("demo", password, tmp_path / "demo-data"))
    assert [c["student_count"] for c in classes] == [30]


async def _classes_seen_by(username: str, password: str, data_dir: Path) -> list[dict[str, Any]]:
    app = create_app(Settings(data_dir=data_dir))
    async with app.router.lifespan_context(app), client_for(app) as c:
        r = await c.post("/api/v1/auth/token", data={"username": username, "password": password})
        assert r.status_code == 200, r.text
        r = await c.get("/api/v1/classes",
                        headers={"Authorization": f"Bearer {r.json()['access_token']}"})
        assert r.status_code == 200, r.text
        classes: list[dict[str, Any]] = r.json()
        return classes


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
