"""The job runner: resume after a crash without losing or double-counting a page, and the
spawned worker pool with real models."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from service.config import Settings
from service.db import GradeRow, JobRow, PageRow
from service.db.base import utcnow
from service.inprocess import inprocess_client
from service.jobs.runner import InProcessRunner
from tests.support.scans import class_and_sheet, scanned_stack, wait_job


def _settings(tmp_path: Path, db_url: str, **jobs: Any) -> Settings:
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},  # type: ignore[arg-type]
                    jobs={"executor": "thread", "workers": 1, "poll_seconds": 0.2,
                          "lease_seconds": 1.0, **jobs})


class CrashAfter(ThreadPoolExecutor):
    """Fault injection: the pool 'dies' after ``n`` pages, as a killed worker would."""

    def __init__(self, n: int) -> None:
        super().__init__(1)
        self.left = n

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self.left <= 0:
            raise BrokenProcessPool("injected crash")
        self.left -= 1
        return super().submit(fn, *args, **kwargs)


async def _counts(app: Any) -> tuple[int, int, int]:
    async with app.state.session_factory() as s:
        pages = (await s.execute(select(func.count()).select_from(PageRow))).scalar_one()
        distinct = (await s.execute(select(func.count(func.distinct(PageRow.page_index)))))\
            .scalar_one()
        grades = (await s.execute(select(func.count()).select_from(GradeRow)
                                  .where(GradeRow.is_current.is_(True)))).scalar_one()
    return int(pages), int(distinct), int(grades)


async def test_crash_mid_job_resumes_without_loss_or_double_count(tmp_path: Path,
                                                                  db_url: str) -> None:
    # 1. Upload with no runner in the web process: the job waits in the table.
    queued_only = _settings(tmp_path, db_url, run_in_app=False)
    async with inprocess_client(queued_only) as api:
        sheet = await class_and_sheet(api, students=3, questions=4)
        stack = await scanned_stack(api, sheet, real=False)
        r = await api.post("/api/v1/scans", content=stack.pdf,
                           headers={"content-type": "application/pdf"})
        job_id = r.json()["job_id"]
        assert (await api.get(f"/api/v1/jobs/{job_id}")).json()["status"] == "queued"
        # 2. A runner whose pool dies after 2 pages.
        app = api._transport.app  # type: ignore[attr-defined]
        runner = InProcessRunner(queued_only, app.state.session_factory, app.state.storage)
        runner._executor = CrashAfter(2)
        await runner._loop_once_for_tests()
        pages, distinct, _ = await _counts(app)
        assert 0 < pages < len(stack.pages)
        assert pages == distinct
        job = (await api.get(f"/api/v1/jobs/{job_id}")).json()
        assert job["status"] == "queued"
        assert job["pages_done"] == pages
        # 3. A runner that died holding the lease: the lease lapses, another claims it.
        async with app.state.session_factory() as s:
            await s.execute(update(JobRow).values(status="running", claimed_by="dead",
                                               lease_expires_at=utcnow() - timedelta(seconds=5)))
            await s.commit()
    # 4. "Restart the service": a new app with its runner finishes the job.
    async with inprocess_client(_settings(tmp_path, db_url)) as api:
        job = await wait_job(api, job_id)
        assert job["status"] == "done", job
        app = api._transport.app  # type: ignore[attr-defined]
        pages, distinct, grades = await _counts(app)
        assert pages == distinct == len(stack.pages)  # every page once
        assert grades == 3 * 4  # every question of every student graded once
        assert job["pages_done"] == len(stack.pages)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_process_pool_reads_pages(tmp_path: Path, db_url: str) -> None:
    settings = _settings(tmp_path, db_url, executor="process", workers=2)
    async with inprocess_client(settings) as api:
        sheet = await class_and_sheet(api, students=2, questions=6)
        stack = await scanned_stack(api, sheet)
        r = await api.post("/api/v1/scans", files={"file": ("s.pdf", stack.pdf, "application/pdf")})
        job = await wait_job(api, r.json()["job_id"], limit_s=300)
        assert job["status"] == "done", job
        pages, _, grades = await _counts(api._transport.app)  # type: ignore[attr-defined]
        assert pages == len(stack.pages)
        assert grades == 2 * 6




@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_job_logs_carry_ids_and_page_timings(tmp_path: Path, db_url: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="service.jobs")
    async with inprocess_client(_settings(tmp_path, db_url)) as api:
        sheet = await class_and_sheet(api, students=2, questions=3)
        stack = await scanned_stack(api, sheet, real=False)
        r = await api.post("/api/v1/scans", content=stack.pdf,
                           headers={"content-type": "application/pdf"})
        job_id, upload_id = r.json()["job_id"], r.json()["upload_id"]
        assert (await wait_job(api, job_id))["status"] == "done"
    records = [rec for rec in caplog.records if rec.name.startswith("service.jobs")]
    by_message = {m: [rec for rec in records if rec.getMessage() == m]
                  for m in ("job started", "page read", "page stored", "job finished")}
    assert all(by_message.values()), sorted(rec.getMessage() for rec in records)
    for rec in records:  # every record of the job's work names the job and the upload
        assert (getattr(rec, "job_id", None), getattr(rec, "upload_id", None)) \
            == (job_id, upload_id), rec.getMessage()
    reads = by_message["page read"]
    assert sorted(rec.page_index for rec in reads) == list(range(len(stack.pages)))
    assert all(rec.levelno == logging.DEBUG for rec in reads)
    read = [rec for rec in reads if rec.status == "read"]  # type: ignore[attr-defined]
    assert read, "no page was read"
    for rec in read:
        for stage in ("ingest", "identify", "align", "crop", "recognise"):
            assert getattr(rec, f"{stage}_ms") >= 0.0, stage
    stored = by_message["page stored"]
    assert len({rec.page_id for rec in stored}) == len(stack.pages)
    finished = by_message["job finished"][0]
    assert finished.levelno == logging.INFO
    assert finished.status == "done"  # type: ignore[attr-defined]


class SlowPages(ThreadPoolExecutor):
    """Page work slower than the lease: every page takes ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(1)
        self.seconds = seconds

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        def slow() -> Any:
            time.sleep(self.seconds)
            return fn(*args, **kwargs)

        return super().submit(slow)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_live_runner_keeps_its_lease_through_a_slow_page(tmp_path: Path,
                                                                 db_url: str) -> None:
    """The lease is kept by a heartbeat, not only by pages stored: a page slower than the
    lease never lets another runner take a job whose runner is alive."""
    lease = 0.6
    settings = _settings(tmp_path, db_url, run_in_app=False, lease_seconds=lease)
    async with inprocess_client(settings) as api:
        sheet = await class_and_sheet(api, students=1, questions=2)
        stack = await scanned_stack(api, sheet, real=False)
        r = await api.post("/api/v1/scans", content=stack.pdf,
                           headers={"content-type": "application/pdf"})
        job_id = r.json()["job_id"]
        app = api._transport.app  # type: ignore[attr-defined]
        runner = InProcessRunner(settings, app.state.session_factory, app.state.storage)
        runner._executor = SlowPages(4 * lease)
        task = asyncio.create_task(runner._loop_once_for_tests())
        lapsed = 0
        for _ in range(12):  # watch the lease while the first page is being read
            await asyncio.sleep(lease / 2)
            async with app.state.session_factory() as s:
                row = await s.get(JobRow, job_id)
                assert row is not None
                if row.status == "running" and row.lease_expires_at is not None:
                    expires = row.lease_expires_at
                    if expires.tzinfo is None:
                        expires = expires.replace(tzinfo=UTC)
                    lapsed += expires < utcnow()
        await task
        assert lapsed == 0
        job = (await api.get(f"/api/v1/jobs/{job_id}")).json()
        assert job["status"] == "done", job
        async with app.state.session_factory() as s:
            row = await s.get(JobRow, job_id)
            assert row is not None
            assert row.attempts == 1
