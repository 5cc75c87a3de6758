"""The watched folder end to end: the real app in-process, and the ``markbook watch`` CLI.

Jobs are queued but not run here (``run_in_app`` off): what is under test is the hand-over
from folder to ingestion endpoint, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pypdfium2 as pdfium
import pytest
from sqlalchemy import func, select

from service.config import Settings
from service.db import JobRow, ScanUploadRow
from service.watch.folder import LEDGER_NAME, FolderWatcher, Outcome, WatchOptions
from tests.support.samples import ROOT


def blank_pdf(pages: int = 1, tag: str = "") -> bytes:
    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(595, 842)
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue() + tag.encode()  # trailing bytes make distinct files


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},  # type: ignore[arg-type]
                    jobs={"run_in_app": False}, webhooks={"enabled": False},
                    limits={"max_upload_mb": 1})


async def _count(client: httpx.AsyncClient, model: Any) -> int:
    app = client._transport.app  # type: ignore[attr-defined]
    async with app.state.session_factory() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def test_watcher_against_the_real_app(tmp_path: Path, client: httpx.AsyncClient) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    pdf = blank_pdf(2)
    (drop / "class1.pdf").write_bytes(pdf)
    (drop / "fake.pdf").write_bytes(b"<html>not a scan</html>")
    (drop / "huge.pdf").write_bytes(b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 200_000))
    (drop / "broken.pdf").write_bytes(b"%PDF-1.4\n garbage, no pages")
    opts = WatchOptions(settle_s=0.02)
    report = await FolderWatcher(drop, client, opts).run_once()
    assert report[Outcome.UPLOADED] == ["class1.pdf"]
    assert sorted(report[Outcome.FAILED]) == ["broken.pdf", "fake.pdf", "huge.pdf"]
    assert await _count(client, ScanUploadRow) == 1
    assert await _count(client, JobRow) == 1
    assert (drop / "processed" / "class1.pdf").read_bytes() == pdf
    huge = (drop / "failed" / "huge.pdf.reason.txt").read_text()
    assert "http_status: 413" in huge
    broken = (drop / "failed" / "broken.pdf.reason.txt").read_text()
    assert "http_status: 4" in broken
    assert "error: corrupt_file" in broken
    # Local sniffing: the HTML never reached the server.
    assert "checked before upload" in (drop / "failed" / "fake.pdf.reason.txt").read_text()

    # The same bytes again: the ledger knows them.
    (drop / "class1 (copy).pdf").write_bytes(pdf)
    report = await FolderWatcher(drop, client, opts).run_once()
    assert report[Outcome.KNOWN] == ["class1 (copy).pdf"]
    # Ledger lost: uploaded again, and the server's own dedupe maps it to the same job.
    (drop / LEDGER_NAME).unlink()
    (drop / "class1.pdf").write_bytes(pdf)
    report = await FolderWatcher(drop, client, opts).run_once()
    assert report[Outcome.UPLOADED] == ["class1.pdf"]
    assert await _count(client, ScanUploadRow) == 1
    assert await _count(client, JobRow) == 1
    assert sorted(p.name for p in (drop / "processed").iterdir()) == [
        "class1 (copy).pdf", "class1-1.pdf", "class1.pdf"]


def _cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "PYTHONPATH": str(ROOT),
            "MARKBOOK_DATA_DIR": str(cwd / "var"), "MARKBOOK_WATCH__SETTLE_SECONDS": "0.05",
            "MARKBOOK_WEBHOOKS__ENABLED": "false"}
    return subprocess.run([sys.executable, "-m", "service.cli", "watch", *args], cwd=cwd,
                          env=base | env, capture_output=True, text=True, timeout=180)


def test_cli_once_embedded(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "scan.pdf").write_bytes(blank_pdf())
    r = _cli(str(drop), "--once", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "scan.pdf: uploaded → job 1" in r.stderr
    assert "Traceback" not in r.stderr
    assert (drop / "processed" / "scan.pdf").exists()
    r = _cli(str(tmp_path / "missing"), "--once", cwd=tmp_path)
    assert r.returncode == 2
    assert "no such folder" in r.stderr


def test_cli_once_remote_server_down(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "scan.pdf").write_bytes(blank_pdf())
    r = _cli(str(drop), "--once", "--url", f"http://127.0.0.1:{port}", cwd=tmp_path,
             MARKBOOK_DEVICE_KEY="mbk_test_key")
    assert r.returncode == 75, r.stderr
    assert "server unavailable" in r.stderr
    assert "mbk_test_key" not in r.stderr
    assert (drop / "scan.pdf").exists()
    assert not (drop / "processed").exists()
    # A file rejected by the local check needs no server: exit 1.
    (drop / "scan.pdf").unlink()
    (drop / "notes.txt").write_text("hello")
    r = _cli(str(drop), "--once", "--url", f"http://127.0.0.1:{port}", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert (drop / "failed" / "notes.txt.reason.txt").exists()
    r = _cli(str(drop), "--once", "--url", "grading.lan:8000", cwd=tmp_path)
    assert r.returncode == 2
    assert "--url must start with http" in r.stderr
