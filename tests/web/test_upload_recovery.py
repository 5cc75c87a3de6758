"""The upload and job pages when things go wrong (the real app, real databases): a failed
job's page offers "重试", which queues it again (CSRF-checked, stored pages kept); a
duplicate of a failed job says where to retry; a full disk refuses a file with 507 and a
message, and leaves no temp file."""

from __future__ import annotations

import errno
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from service.auth.passwords import hash_password
from service.db import JobRow
from service.storage import LocalStorage
from tests.support.auth import Account, client_for, make_account, unique_png

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(html: str) -> str:
    found = _CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    await make_account(app, "head.recovery", admin=True,
                       password_hash=await hash_password(PASSWORD))
    teacher: Account = await make_account(app, "t.recovery",
                                          password_hash=await hash_password(PASSWORD))
    async with client_for(app) as c:
        form = await c.get("/login")
        r = await c.post("/login", data={"username": teacher.username, "password": PASSWORD,
                                         "csrf_token": _csrf(form.text), "next": "/"})
        assert r.status_code == 303, r.text
        yield c


async def _upload(browser: httpx.AsyncClient, png: bytes) -> dict[str, Any]:
    token = _csrf((await browser.get("/uploads")).text)
    r = await browser.post("/uploads", data={"csrf_token": token},
                           files=[("files", ("第一页.png", png, "image/png"))],
                           headers={"accept": "application/json"})
    return {"status": r.status_code, **r.json()["files"][0]}


async def _status(app: FastAPI, job_id: int) -> str:
    async with app.state.session_factory() as s:
        return str((await s.execute(select(JobRow.status).where(JobRow.id == job_id)))
                   .scalar_one())


async def test_a_failed_job_page_offers_retry(app: FastAPI, browser: httpx.AsyncClient) -> None:
    png = unique_png()
    job_id = (await _upload(browser, png))["job_id"]
    page = await browser.get(f"/jobs/{job_id}")
    assert 'data-testid="job-retry-button"' not in page.text  # queued: nothing to retry
    async with app.state.session_factory() as s:
        await s.execute(update(JobRow).where(JobRow.id == job_id).values(
            status="failed", error="internal_error: RuntimeError", pages_done=0))
        await s.commit()
    page = await browser.get(f"/jobs/{job_id}")
    assert 'data-testid="job-retry-button"' in page.text
    assert "重试" in page.text
    # The same file again: the answer says the job can be retried.
    again = await _upload(browser, png)
    assert again["duplicate"] is True
    assert again["retry"] == f"/api/v1/jobs/{job_id}:retry"
    # Without the form's token nothing happens.
    r = await browser.post(f"/jobs/{job_id}/retry", data={"csrf_token": "forged"})
    assert r.status_code == 403
    assert await _status(app, job_id) == "failed"
    r = await browser.post(f"/jobs/{job_id}/retry", data={"csrf_token": _csrf(page.text)})
    assert r.status_code == 303
    assert r.headers["location"] == f"/jobs/{job_id}"
    assert await _status(app, job_id) == "queued"
    page = await browser.get(f"/jobs/{job_id}")
    assert 'data-testid="job-retry-button"' not in page.text
    # Pressed twice: the job is already queued, the page just shows it.
    r = await browser.post(f"/jobs/{job_id}/retry", data={"csrf_token": _csrf(page.text)})
    assert r.status_code == 303
    assert await _status(app, job_id) == "queued"


async def test_full_disk_refuses_the_file_with_507(app: FastAPI, browser: httpx.AsyncClient,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def full(self: LocalStorage) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(LocalStorage, "temp_path", full)
    out = await _upload(browser, unique_png())
    assert out["status"] == 507
    assert out["ok"] is False
    assert out["error"] == "insufficient_storage"
    assert "磁盘已满" in out["message"]
    tmp = app.state.storage.root / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []
