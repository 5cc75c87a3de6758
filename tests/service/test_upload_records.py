"""Uploads arriving together recorded in shared transactions (service.upload_records), on
SQLite and PostgreSQL: every upload gets its own job, link and audit event, the same bytes
still make one job, and one bad upload fails only itself."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image, ImageDraw
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from service.config import Settings
from service.db import AuditEventRow, JobRow, ScanUploadRow
from service.repositories.audit import event_row
from service.upload_records import UploadRecorder


def _pdf(text: str) -> bytes:
    page = Image.new("L", (620, 877), 255)
    ImageDraw.Draw(page).text((60, 60), text, fill=0)
    buf = io.BytesIO()
    page.save(buf, format="PDF", resolution=75)
    return buf.getvalue()


async def _rows(app: FastAPI) -> tuple[list[Any], list[Any], list[Any]]:
    async with app.state.session_factory() as s:
        uploads = (await s.execute(select(ScanUploadRow).order_by(ScanUploadRow.id))).scalars()
        jobs = (await s.execute(select(JobRow).order_by(JobRow.id))).scalars()
        events = (await s.execute(select(AuditEventRow).where(
            AuditEventRow.action == "scan.upload"))).scalars()
        return list(uploads), list(jobs), list(events)


async def test_uploads_arriving_together_share_transactions(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    recorder: UploadRecorder = app.state.upload_recorder
    before = recorder.transactions
    bodies = [_pdf(f"copy {i}") for i in range(12)]
    answers = await asyncio.gather(*(
        client.post("/api/v1/scans", content=body, headers={"content-type": "application/pdf"})
        for body in bodies))
    assert [r.status_code for r in answers] == [202] * 12, [r.text for r in answers]
    assert not any(r.json()["duplicate"] for r in answers)
    assert 1 <= recorder.transactions - before < 12
    uploads, jobs, events = await _rows(app)
    by_id = {u.id: u for u in uploads}
    assert len(uploads) == len(jobs) == len(events) == 12
    for r in answers:
        body = r.json()
        upload = by_id[body["upload_id"]]
        assert upload.job_id == body["job_id"]
        job = next(j for j in jobs if j.id == body["job_id"])
        assert job.payload["upload_id"] == upload.id
        assert job.kind == "scan"
        assert job.pages_total == body["pages"] == 1
    # Each audit event names its own job and upload, with the upload's facts.
    assert sorted((e.target_id, e.detail["upload_id"]) for e in events) == sorted(
        (u.job_id, u.id) for u in uploads)
    sizes = {u.id: u.size_bytes for u in uploads}
    assert all(e.detail["bytes"] == sizes[e.detail["upload_id"]] and e.detail["pages"] == 1
               and e.detail["files"] == 1 and e.actor_kind == "teacher" for e in events)


async def test_the_same_bytes_together_are_one_job(app: FastAPI,
                                                   client: httpx.AsyncClient) -> None:
    body = _pdf("the same copy")
    answers = await asyncio.gather(*(
        client.post("/api/v1/scans", content=body, headers={"content-type": "application/pdf"})
        for _ in range(4)))
    assert [r.status_code for r in answers] == [202] * 4
    assert len({r.json()["job_id"] for r in answers}) == 1
    assert sorted(r.json()["duplicate"] for r in answers) == [False, True, True, True]
    uploads, jobs, events = await _rows(app)
    assert len(uploads) == len(jobs) == len(events) == 1


def _columns(app: FastAPI, sha: str, school_id: int | None = None) -> tuple[
        dict[str, Any], dict[str, Any], dict[str, Any]]:
    actor = app.state.local_actor
    school = actor.school_id if school_id is None else school_id
    job = {"school_id": school, "kind": "scan", "status": "queued", "pages_total": 1,
           "payload": {"worksheet_id": None}, "problems": []}
    upload = {"school_id": school, "teacher_id": actor.teacher_id, "device_id": None,
              "worksheet_hint_id": None, "filename": f"{sha}.pdf",
              "content_type": "application/pdf", "size_bytes": 10, "sha256": sha,
              "storage_key": f"uploads/{sha}.pdf", "idempotency_key": None, "page_count": 1}
    return job, upload, event_row(actor, "scan.upload", "job", detail={"pages": 1})


async def test_one_bad_upload_fails_only_itself(app: FastAPI) -> None:
    recorder = UploadRecorder(app.state.session_factory)
    good = [_columns(app, f"{i:064x}") for i in range(3)]
    bad = _columns(app, "f" * 64, school_id=987654)  # no such school: the insert fails
    results = await asyncio.gather(*(recorder.record(*cols) for cols in [*good[:2], bad,
                                                                         good[2]]),
                                   return_exceptions=True)
    assert isinstance(results[2], IntegrityError)
    ok = [r for r in results if not isinstance(r, BaseException)]
    assert len(ok) == 3
    assert all(r is not None for r in ok)
    uploads, jobs, events = await _rows(app)
    assert sorted(u.sha256 for u in uploads) == sorted(cols[1]["sha256"] for cols in good)
    assert {(u.id, u.job_id) for u in uploads} == set(ok)  # type: ignore[arg-type]
    assert len(jobs) == len(events) == 3
    # The shared transaction failed and each was written alone.
    assert recorder.transactions == 3


async def test_bytes_the_school_has_are_not_written_again(app: FastAPI) -> None:
    recorder = UploadRecorder(app.state.session_factory)
    first = await recorder.record(*_columns(app, "a" * 64))
    assert first is not None
    again = await asyncio.gather(recorder.record(*_columns(app, "a" * 64)),
                                 recorder.record(*_columns(app, "b" * 64)),
                                 recorder.record(*_columns(app, "b" * 64)))
    assert again[0] is None
    assert again[1] is not None
    assert again[2] is None
    async with app.state.session_factory() as s:
        assert (await s.execute(select(func.count()).select_from(JobRow))).scalar() == 2
        assert (await s.execute(select(func.count()).select_from(AuditEventRow).where(
            AuditEventRow.action == "scan.upload"))).scalar() == 2


async def test_a_lone_upload_is_written_at_once(app: FastAPI) -> None:
    recorder = UploadRecorder(app.state.session_factory)
    got = await recorder.record(*_columns(app, "c" * 64))
    assert got is not None
    assert recorder.transactions == 1
    assert await recorder.record(*_columns(app, "d" * 64)) is not None
    assert recorder.transactions == 2


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    # Two connections a process: a burst's requests waiting for the recorder must leave
    # it one (they hand theirs back first).
    return Settings(data_dir=tmp_path / "var",  # type: ignore[arg-type]
                    db={"url": db_url, "pool_size": 2, "max_overflow": 0,
                        "pool_timeout_s": 5}, jobs={"run_in_app": False})


async def test_a_burst_larger_than_the_pool_is_recorded(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    answers = await asyncio.gather(*(
        client.post("/api/v1/scans", content=_pdf(f"burst {i}"),
                    headers={"content-type": "application/pdf"}) for i in range(10)))
    assert [r.status_code for r in answers] == [202] * 10, answers[0].text
    uploads, jobs, events = await _rows(app)
    assert len(uploads) == len(jobs) == len(events) == 10
