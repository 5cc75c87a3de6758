"""How a scan job recovers (the real app, real databases, the runner driven step by step):
restarts never count as failures, a page that crashes the worker every time is skipped
with a problem while the rest is read, a full disk pauses a job instead of failing it, and
a job that ended with pages unread can be retried (API, and on re-upload)."""

from __future__ import annotations

import errno
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from service.config import Settings
from service.db import JobRow, PageRow
from service.db.base import utcnow
from service.inprocess import inprocess_client
from service.jobs.recovery import DISK_FULL_BACKOFF_S, MAX_PAGE_CRASHES
from service.jobs.runner import InProcessRunner, claim_job
from service.storage import LocalStorage
from tests.support.scans import class_and_sheet, scanned_stack


def _settings(tmp_path: Path, db_url: str) -> Settings:
    # No runner in the app: each test drives its own, one claim at a time.
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},
                    jobs={"executor": "thread", "workers": 1, "run_in_app": False,
                          "lease_seconds": 30.0}, webhooks={"enabled": False})


class PoisonPool(ThreadPoolExecutor):
    """Fault injection: reading page ``bad`` kills the 'worker' (the pool breaks, as a
    native crash would: that page's future fails, and so does every later submit)."""

    def __init__(self, bad: int | None) -> None:
        super().__init__(1)
        self.bad = bad
        self.broken = False

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self.broken:
            raise BrokenProcessPool("the pool is broken")
        if args and getattr(args[0], "index", None) == self.bad:
            self.broken = True
            dead: Future[Any] = Future()
            dead.set_exception(BrokenProcessPool("a worker process died"))
            return dead
        return super().submit(fn, *args, **kwargs)


class PoisonRunner(InProcessRunner):
    """A runner whose every fresh pool crashes on the same page (``bad=None``: healed)."""

    bad: int | None = None

    def _pool(self) -> Any:
        if self._executor is None:
            self._executor = PoisonPool(self.bad)
        return self._executor


async def _upload(api: httpx.AsyncClient) -> tuple[int, bytes, int]:
    sheet = await class_and_sheet(api, students=2, questions=3)
    stack = await scanned_stack(api, sheet, real=False)
    r = await api.post("/api/v1/scans", content=stack.pdf,
                       headers={"content-type": "application/pdf"})
    assert r.status_code == 202, r.text
    return int(r.json()["job_id"]), stack.pdf, len(stack.pages)


def _app(api: httpx.AsyncClient) -> Any:
    return api._transport.app  # type: ignore[attr-defined]


async def _pages(app: Any) -> list[int]:
    async with app.state.session_factory() as s:
        return sorted((await s.execute(select(PageRow.page_index))).scalars())


async def _run_until_idle(runner: InProcessRunner, most: int = 10) -> int:
    runs = 0
    while runs < most and await runner._loop_once_for_tests():
        runs += 1
    return runs


async def test_restarts_never_count_as_failures(tmp_path: Path, db_url: str) -> None:
    settings = _settings(tmp_path, db_url)
    async with inprocess_client(settings) as api:
        job_id, _, n_pages = await _upload(api)
        app = _app(api)
        # Five servers claim the job and die (kill -9): each lease lapses, nothing is read.
        for dead in range(5):
            async with app.state.session_factory() as s:
                claimed = await claim_job(s, f"dead-{dead}", settings.jobs.lease_seconds)
                assert claimed is not None
                assert claimed.id == job_id
                await s.execute(update(JobRow).values(
                    lease_expires_at=utcnow() - timedelta(seconds=1)))
                await s.commit()
        runner = InProcessRunner(settings, app.state.session_factory, app.state.storage)
        assert await runner._loop_once_for_tests()
        job = (await api.get(f"/api/v1/jobs/{job_id}")).json()
        assert job["status"] == "done", job
        assert job["pages_done"] == n_pages
        assert job["error"] is None
        async with app.state.session_factory() as s:
            row = await s.get(JobRow, job_id)
            assert row is not None
            assert row.attempts == 6  # the claims are counted, and harmless


async def test_a_page_that_always_crashes_is_skipped_then_retried(tmp_path: Path,
                                                                  db_url: str) -> None:
    settings = _settings(tmp_path, db_url)
    async with inprocess_client(settings) as api:
        job_id, pdf, n_pages = await _upload(api)
        app = _app(api)
        bad = 1
        runner = PoisonRunner(settings, app.state.session_factory, app.state.storage)
        runner.bad = bad
        # The first crash blames the pages in flight; alone, the page crashes again and is
        # skipped; the others are all read. Each crash re-queues the job.
        runs = await _run_until_idle(runner)
        assert runs == MAX_PAGE_CRASHES + 1
        job = (await api.get(f"/api/v1/jobs/{job_id}")).json()
        assert job["status"] == "partially_done", job
        assert job["pages_done"] == n_pages - 1
        assert await _pages(app) == [i for i in range(n_pages) if i != bad]
        crash = [p for p in job["problems"] if p["status"] == "worker_crash"]
        assert [p["page_index"] for p in crash] == [bad]
        assert "stopped the worker process" in crash[0]["problem"]
        # Re-uploading the same bytes says where to retry.
        r = await api.post("/api/v1/scans", content=pdf,
                           headers={"content-type": "application/pdf"})
        assert r.status_code == 202
        assert r.json()["duplicate"] is True
        assert r.json()["retry"] == f"/api/v1/jobs/{job_id}:retry"
        # Retry with the fault fixed: only the skipped page is read; nothing is read twice.
        r = await api.post(f"/api/v1/jobs/{job_id}:retry")
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "queued"
        assert r.json()["problems"] == [p for p in job["problems"]
                                        if p["status"] != "worker_crash"]
        runner.bad = None
        runner._executor = None
        assert await _run_until_idle(runner) == 1
        job = (await api.get(f"/api/v1/jobs/{job_id}")).json()
        assert job["status"] == "done", job
        assert await _pages(app) == list(range(n_pages))  # each page once
        # A done job has nothing to retry; a re-upload says so by omission.
        r = await api.post(f"/api/v1/jobs/{job_id}:retry")
        assert r.status_code == 409
        assert r.json()["error"] == "job_not_retryable"
        r = await api.post("/api/v1/scans", content=pdf,
                           headers={"content-type": "application/pdf"})
        assert r.json()["retry"] is None


async def test_retry_is_refused_while_queued_and_for_others(tmp_path: Path, db_url: str) -> None:
    async with inprocess_client(_settings(tmp_path, db_url)) as api:
        job_id, _, _ = await _upload(api)
        r = await api.post(f"/api/v1/jobs/{job_id}:retry")
        assert r.status_code == 409
        assert r.json()["error"] == "job_not_retryable"
        assert (await api.post("/api/v1/jobs/999999:retry")).status_code == 404


async def test_pool_breaking_with_no_page_ends_the_job(tmp_path: Path, db_url: str) -> None:
    class DeadOnArrival(InProcessRunner):
        def _pool(self) -> Any:
            pool = PoisonPool(None)
            pool.broken = True  # the workers die while starting: no page is ever read
            return pool

    settings = _settings(tmp_path, db_url)
    async with inprocess_client(settings) as api:
        job_id, _, _ = await _upload(api)
        app = _app(api)
        runner = DeadOnArrival(settings, app.state.session_factory, app.state.storage)
        assert await _run_until_idle(runner) == 3
        job = (await api.get(f"/api/v1/jobs/{job_id}")).json()
        assert job["status"] == "failed"
        assert job["error"].startswith("worker_crash:")
        r = await api.post(f"/api/v1/jobs/{job_id}:retry")
        assert r.status_code == 202  # a failed job can be retried


async def test_full_disk_pauses_the_job_and_it_resumes(tmp_path: Path, db_url: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(tmp_path, db_url)
    async with inprocess_client(settings) as api:
        job_id, _, n_pages = await _upload(api)
        app = _app(api)
        real = LocalStorage.put_many
        writes = {"n": 0}

        def fills_up(self: LocalStorage, files: Mapping[str, bytes]) -> None:
            for key, data in files.items():  # a page's crops, written one by one
                writes["n"] += 1
                if writes["n"] > 4:  # a few crops fit, then the disk is full
                    raise OSError(errno.ENOSPC, "No space left on device")
                real(self, {key: data})

        monkeypatch.setattr(LocalStorage, "put_many", fills_up)
        runner = InProcessRunner(settings, app.state.session_factory, app.state.storage)
        before = utcnow()
        assert await runner._loop_once_for_tests()
        assert not await runner._loop_once_for_tests()  # released, not claimable yet
        async with app.state.session_factory() as s:
            row = await s.get(JobRow, job_id)
            assert row is not None
            assert row.status == "running"  # not failed: waiting for space
            assert row.error is None
            assert row.claimed_by is None
            assert row.lease_expires_at is not None
            lease = row.lease_expires_at.replace(tzinfo=before.tzinfo)
            assert lease >= before + timedelta(seconds=DISK_FULL_BACKOFF_S - 1)
            stored_while_full = int((await s.execute(
                select(func.count()).select_from(PageRow))).scalar_one())
        assert stored_while_full < n_pages  # the page that hit the full disk is not stored
        # Space returns; the backoff passes (moved into the past here).
        monkeypatch.setattr(LocalStorage, "put_many", real)
        async with app.state.session_factory() as s:
            await s.execute(update(JobRow).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
            await s.commit()
        assert await runner._loop_once_for_tests()
        job = (await api.get(f"/api/v1/jobs/{job_id}")).json()
        assert job["status"] == "done", job
        assert await _pages(app) == list(range(n_pages))  # nothing lost, nothing twice
