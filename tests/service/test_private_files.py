"""Children's data on disk: folders 0700, files 0600, images never cached."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from service.config import Settings
from service.db import ResponseRow
from tests.support.scans import class_and_sheet, scanned_stack, wait_job


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_data_files_are_private(app: FastAPI, client: httpx.AsyncClient,
                                      settings: Settings) -> None:
    assert _mode(settings.data_dir) == 0o700
    assert _mode(settings.storage_dir) == 0o700
    db = settings.data_dir / "markbook.db"
    if db.exists():  # SQLite (the PostgreSQL run has no file)
        assert _mode(db) == 0o600
    sheet = await class_and_sheet(client, students=1, questions=4)
    stack = await scanned_stack(client, sheet, real=False)
    r = await client.post("/api/v1/scans", content=stack.pdf,
                          headers={"content-type": "application/pdf"})
    await wait_job(client, r.json()["job_id"])
    stored = list(settings.storage_dir.rglob("*"))
    assert any(p.is_file() for p in stored)
    for path in stored:
        assert _mode(path) == (0o700 if path.is_dir() else 0o600), path
    async with app.state.session_factory() as session:
        rid = (await session.execute(select(ResponseRow.id).where(
            ResponseRow.crop_key.is_not(None)).limit(1))).scalar_one()
    crop = await client.get(f"/api/v1/responses/{rid}/crop.png")
    assert crop.status_code == 200
    assert "no-store" in crop.headers["cache-control"]
