"""Uploads leave nothing behind and survive a full disk (the real app, real databases):
every refusal removes its spooled temp file, partial uploads of a process that died are
swept at start, a full disk answers 507 ``insufficient_storage`` (never 500) and turns
``/healthz/ready`` not-ready, and uploads work again once space returns."""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path, PosixPath
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from service import upload_records
from service.app import create_app
from service.config import Settings
from service.db import JobRow, ScanUploadRow
from service.errors import disk_full
from service.repositories import audit
from service.repositories.uploads import UploadRepository
from service.storage import TEMP_MAX_AGE_S, LocalStorage
from tests.support.auth import unique_png

_real_usage = shutil.disk_usage


def _tmp_files(app: FastAPI) -> list[Path]:
    folder = app.state.storage.root / "tmp"
    return sorted(folder.glob("*")) if folder.exists() else []


async def _jobs(app: FastAPI) -> int:
    async with app.state.session_factory() as s:
        return int((await s.execute(select(func.count()).select_from(JobRow))).scalar_one())


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    # No runner: these tests are about receiving; jobs stay queued.
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},
                    jobs={"run_in_app": False}, webhooks={"enabled": False})


# -- every refusal removes the spooled body ------------------------------------------------

def _multipart(png: bytes, **kw: Any) -> dict[str, Any]:
    return {"files": {"f": ("s.png", png, "image/png")}, **kw}


def _raw(body: bytes, **headers: str) -> dict[str, Any]:
    return {"content": body, "headers": {"content-type": "image/png", **headers}}


@pytest.mark.parametrize(("build", "status", "code"), [
    (lambda png: _multipart(png, data={"worksheet_id": "abc"}), 422, "bad_worksheet_id"),
    (lambda png: _multipart(png, params={"worksheet_id": "999"}), 404, "not_found"),
    (lambda png: _raw(png, **{"Idempotency-Key": "x" * 200}), 400, "bad_idempotency_key"),
    (lambda png: _raw(b"not a scan at all"), 415, "unsupported_file"),
    (lambda png: _raw(b""), 400, "empty_file"),
])
async def test_every_refusal_removes_its_temp_file(app: FastAPI, client: httpx.AsyncClient,
                                                   build: Any, status: int, code: str) -> None:
    r = await client.post("/api/v1/scans", **build(unique_png()))
    assert r.status_code == status, r.text
    assert r.json()["error"] == code
    assert _tmp_files(app) == []
    assert await _jobs(app) == 0


async def test_a_reused_idempotency_key_removes_its_temp_file(app: FastAPI,
                                                              client: httpx.AsyncClient) -> None:
    headers = {"content-type": "image/png", "Idempotency-Key": "copier-42"}
    first = await client.post("/api/v1/scans", content=unique_png(), headers=headers)
    assert first.status_code == 202, first.text
    again = await client.post("/api/v1/scans", content=unique_png(), headers=headers)
    assert again.status_code == 422
    assert again.json()["error"] == "idempotency_key_reused"
    assert _tmp_files(app) == []


# -- partial uploads of a process that died are swept at start ----------------------------

def _plant(folder: Path, name: str, age_s: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"%PDF-1.7 half an upload")
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


async def test_start_up_sweeps_old_partial_uploads_only(settings: Settings) -> None:
    tmp = settings.storage_dir / "tmp"
    old = _plant(tmp, "up-died-mid-body", TEMP_MAX_AGE_S + 60)
    live = _plant(tmp, "up-still-arriving", 5)
    kept = _plant(settings.storage_dir / "uploads" / "ab", "ab.pdf", TEMP_MAX_AGE_S * 10)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert not old.exists()  # nobody's: removed at start
        assert live.exists()  # may be an upload of another process sharing the folder
        assert kept.exists()  # stored uploads are never swept, however old
    assert LocalStorage(settings.storage_dir).sweep_temp(max_age_s=0) == 1
    assert not live.exists()


# -- a full disk: 507, nothing half-stored, and work resumes when space returns ----------

class _FullFile:
    """A file object whose writes fail as on a full disk."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def close(self) -> None:
        self.real.close()


class _FullPath(PosixPath):
    def open(self, *args: Any, **kwargs: Any) -> Any:
        return _FullFile(super().open(*args, **kwargs))


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every spooled write fails with ENOSPC (a real full tmpfs is not available here)."""
    real = LocalStorage.temp_path
    monkeypatch.setattr(LocalStorage, "temp_path", lambda self: _FullPath(real(self)))
    yield
    monkeypatch.setattr(LocalStorage, "temp_path", real)


@pytest.mark.parametrize("multipart", [True, False])
async def test_full_disk_answers_507_and_stores_nothing(app: FastAPI, client: httpx.AsyncClient,
                                                        full_disk: None,
                                                        multipart: bool) -> None:
    png = unique_png()
    if multipart:
        r = await client.post("/api/v1/scans", files={"f": ("s.png", png, "image/png")})
    else:
        r = await client.post("/api/v1/scans", content=png, headers={"content-type": "image/png"})
    assert r.status_code == 507, r.text
    body = r.json()
    assert body["error"] == "insufficient_storage"
    assert "disk is full" in body["detail"]
    assert "磁盘已满" in body["detail"]
    assert _tmp_files(app) == []
    assert await _jobs(app) == 0


async def test_upload_works_again_when_space_returns(app: FastAPI, client: httpx.AsyncClient,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real = LocalStorage.temp_path
    monkeypatch.setattr(LocalStorage, "temp_path", lambda self: _FullPath(real(self)))
    png = unique_png()
    r = await client.post("/api/v1/scans", content=png, headers={"content-type": "image/png"})
    assert r.status_code == 507
    monkeypatch.setattr(LocalStorage, "temp_path", real)  # space freed
    r = await client.post("/api/v1/scans", content=png, headers={"content-type": "image/png"})
    assert r.status_code == 202, r.text
    assert r.json()["duplicate"] is False  # the refused attempt left no record behind


async def _upload_meeting_a_defect(app: FastAPI, client: httpx.AsyncClient) -> httpx.Response:
    """Upload a new file when the server will meet a defect: it answers 500 and re-raises
    the defect to its log, which this transport keeps to itself."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                 headers=dict(client.headers)) as raw:
        return await raw.post("/api/v1/scans", content=unique_png(),
                              headers={"content-type": "image/png"})


async def test_other_os_errors_stay_500(app: FastAPI, client: httpx.AsyncClient,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(self: LocalStorage) -> Path:
        raise PermissionError(errno.EACCES, "permission denied")

    monkeypatch.setattr(LocalStorage, "temp_path", denied)
    r = await _upload_meeting_a_defect(app, client)
    assert r.status_code == 500
    assert r.json()["error"] == "internal_error"


def _recorded(app: FastAPI, how: str) -> None:
    """Record uploads through the web process's recorder (the API's way), or in the
    request's own unit of work (the web form's)."""
    if how == "in_request":
        app.state.upload_recorder = None


@pytest.mark.parametrize("how", ["recorder", "in_request"])
async def test_database_disk_full_is_507(app: FastAPI, client: httpx.AsyncClient,
                                         monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    async def full(*args: Any) -> None:
        raise OperationalError("INSERT INTO jobs", {},
                               sqlite3.OperationalError("database or disk is full"))

    _recorded(app, how)
    monkeypatch.setattr(UploadRepository, "add_with_job", full)
    monkeypatch.setattr(upload_records, "insert_events", full)
    r = await client.post("/api/v1/scans", content=unique_png(),
                          headers={"content-type": "image/png"})
    assert r.status_code == 507, r.text
    assert r.json()["error"] == "insufficient_storage"


def test_disk_full_tells_no_space_from_other_errors() -> None:
    assert disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    wrapped = RuntimeError("storing the page failed")
    wrapped.__cause__ = OSError(errno.ENOSPC, "full")
    assert disk_full(wrapped)
    assert not disk_full(OSError(errno.EACCES, "denied"))
    assert not disk_full(FileNotFoundError(errno.ENOENT, "gone"))
    assert not disk_full(ValueError("disk full"))  # only an OS or database error says so


# -- one unit of work: the job, its upload and the audit entry commit together ----------

@pytest.mark.parametrize("how", ["recorder", "in_request"])
async def test_an_upload_whose_request_fails_leaves_no_job_behind(
        app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch,
        how: str) -> None:
    """The request fails after its job and upload were written (at the audit entry): none
    of it is kept. (A savepoint opened first in a SQLite transaction used to commit the job
    and the upload on its own when released.)"""
    before = await _jobs(app)

    async def audit_down(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the audit log is unavailable")

    _recorded(app, how)
    monkeypatch.setattr(audit, "record", audit_down)
    monkeypatch.setattr(upload_records, "insert_events", audit_down)
    r = await _upload_meeting_a_defect(app, client)
    assert r.status_code == 500
    assert await _jobs(app) == before
    async with app.state.session_factory() as s:
        assert (await s.execute(select(func.count()).select_from(ScanUploadRow))
                ).scalar_one() == 0


async def test_the_same_bytes_sent_at_once_are_one_job(app: FastAPI,
                                                       client: httpx.AsyncClient) -> None:
    png = unique_png()
    before = await _jobs(app)
    answers = await asyncio.gather(*(
        client.post("/api/v1/scans", content=png, headers={"content-type": "image/png"})
        for _ in range(8)))
    assert [r.status_code for r in answers] == [202] * 8
    assert len({r.json()["job_id"] for r in answers}) == 1
    assert sorted(r.json()["duplicate"] for r in answers) == [False] + [True] * 7
    assert await _jobs(app) == before + 1


async def test_recording_bytes_already_recorded_writes_nothing(app: FastAPI) -> None:
    """The race the HTTP test may not meet: a second request records the same bytes after
    the first committed them (its check for them came before). Nothing is written and no
    error ends its unit of work, which goes on to answer with the first one's job."""
    upload = {"school_id": 1, "teacher_id": None, "device_id": None,
              "worksheet_hint_id": None, "filename": "s.png", "content_type": "image/png",
              "size_bytes": 3, "sha256": "ab" * 32, "storage_key": "uploads/ab/x.png",
              "idempotency_key": None, "page_count": 1}

    def job() -> dict[str, Any]:
        return {"school_id": 1, "kind": "scan", "status": "queued", "pages_total": 1,
                "payload": {"worksheet_id": None}, "problems": []}

    async with app.state.session_factory() as s:
        added = await UploadRepository(s).add_with_job(job(), dict(upload))
        await s.commit()
    assert added is not None
    first, first_job = added
    before = await _jobs(app)
    async with app.state.session_factory() as s:
        assert await UploadRepository(s).add_with_job(job(), dict(upload)) is None
        found = await UploadRepository(s).by_sha256(1, "ab" * 32)  # still usable
        await s.commit()
    assert found is not None
    assert found.id == first
    assert found.job_id == first_job
    assert await _jobs(app) == before
    async with app.state.session_factory() as s:
        stored = await s.get(JobRow, found.job_id)
        assert stored is not None
        assert stored.payload["upload_id"] == first


# -- below the reserve: uploads refused before spooling, readiness says why -------------

def _free(monkeypatch: pytest.MonkeyPatch, free_mb: int) -> None:
    def usage(path: Any) -> Any:
        total, used, _ = _real_usage(path)
        return type(_real_usage(path))(total, used, free_mb * 1024 * 1024)

    monkeypatch.setattr(shutil, "disk_usage", usage)


async def test_low_space_makes_uploads_507_and_ready_503(app: FastAPI, client: httpx.AsyncClient,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _free(monkeypatch, 50)  # the reserve is 200 MB by default
    ready = await client.get("/healthz/ready")
    assert ready.status_code == 503
    assert ready.json()["reason"] == "disk_full"
    assert ready.json()["free_mb"] == 50
    assert "200 MB" in ready.json()["detail"]
    r = await client.post("/api/v1/scans", content=unique_png(),
                          headers={"content-type": "image/png"})
    assert r.status_code == 507
    assert r.json()["error"] == "insufficient_storage"
    assert _tmp_files(app) == []
    _free(monkeypatch, 5000)  # space returns
    assert (await client.get("/healthz/ready")).status_code == 200
    r = await client.post("/api/v1/scans", content=unique_png(),
                          headers={"content-type": "image/png"})
    assert r.status_code == 202, r.text
