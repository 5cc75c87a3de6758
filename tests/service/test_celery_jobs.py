"""Jobs on Celery workers over a real broker (Redis, RabbitMQ) and a real database.

The app runs with ``jobs.backend = "celery"`` (its dispatcher sends every queued job to
the broker); a real Celery worker runs in this process (the ``solo`` pool in a thread, as
``markbook worker`` runs it, page work in threads to keep the test quick) and reads the
jobs from the broker.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from service.app import create_app
from service.config import Settings
from service.db import GradeRow, JobRow, PageRow
from service.inprocess import local_token
from tests.conftest import service_missing
from tests.support.auth import client_for
from tests.support.scans import class_and_sheet, scanned_stack, wait_job

BROKERS = {"redis": ("127.0.0.1", 6379, "redis://127.0.0.1:6379/15"),
           "rabbitmq": ("127.0.0.1", 5672, "amqp://guest:guest@127.0.0.1:5672//")}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(params=sorted(BROKERS))
def broker(request: pytest.FixtureRequest) -> str:
    host, port, url = BROKERS[request.param]
    if not _reachable(host, port):
        service_missing(f"{request.param} at {host}:{port}")
    return url


@pytest.fixture
def settings(tmp_path: Path, db_url: str, broker: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},  # type: ignore[arg-type]
                    jobs={"backend": "celery", "broker_url": broker, "executor": "thread",
                          "workers": 1, "poll_seconds": 0.3, "lease_seconds": 30,
                          # a queue of this test's own: messages of another run never reach it
                          "queue": f"markbook.test.{uuid.uuid4().hex[:8]}"})


@pytest.fixture
def worker(settings: Settings) -> Iterator[None]:
    from celery.contrib.testing.worker import start_worker

    from service.jobs.celery_backend import celery_app

    with start_worker(celery_app(settings), pool="solo", concurrency=1,
                      perform_ping_check=False, queues=[settings.jobs.queue],
                      loglevel="WARNING", shutdown_timeout=30):
        yield


@pytest.fixture
async def app(settings: Settings, worker: None) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def test_a_class_stack_is_graded_by_celery_workers(app: FastAPI) -> None:
    async with client_for(app, {"Authorization": f"Bearer {await local_token(app)}"}) as client:
        sheet = await class_and_sheet(client, students=3, questions=6)
        stack = await scanned_stack(client, sheet, real=False)
        r = await client.post("/api/v1/scans", content=stack.pdf,
                              headers={"content-type": "application/pdf"})
        assert r.status_code == 202, r.text
        job = await wait_job(client, r.json()["job_id"], limit_s=120)
        assert job["status"] == "done", job
        async with app.state.session_factory() as s:
            graded = (await s.execute(select(func.count()).select_from(PageRow).where(
                PageRow.status == "graded"))).scalar_one()
            grades = (await s.execute(select(func.count()).select_from(GradeRow).where(
                GradeRow.is_current.is_(True)))).scalar_one()
            claimed_by = (await s.execute(select(JobRow.claimed_by))).scalar_one()
        assert graded == 3
        assert grades == 3 * 6  # every answer graded once
        assert claimed_by  # a worker, not the web process, ran it


async def test_drill_pages_are_graded_by_celery_workers(app: FastAPI) -> None:
    """A drill upload (口算 pages against a drill assignment) takes the same path on a
    Celery worker: read by the drill reader, stored as the assignment's questions."""
    from tests.service.test_drill_uploads import _drill, _png, _upload
    from tests.support.datasets import DATASETS_DIR, have_datasets

    if not have_datasets():
        pytest.skip(f"handwriting datasets not found at {DATASETS_DIR}")
    from tests.service.test_drill_uploads import _class, _pages

    async with client_for(app, {"Authorization": f"Bearer {await local_token(app)}"}) as client:
        cid, (alice, _) = await _class(client)
        wid = (await _drill(client, cid))["id"]
        page = _pages()[0]
        r = await _upload(client, _png(page.image), worksheet_id=wid, student_id=alice)
        assert r.status_code == 202, r.text
        job = await wait_job(client, r.json()["job_id"], limit_s=180)
        assert job["pages_done"] == 1, job
        async with app.state.session_factory() as s:
            stored = (await s.execute(select(PageRow))).scalar_one()
            grades = (await s.execute(select(func.count()).select_from(GradeRow))).scalar_one()
            claimed_by = (await s.execute(select(JobRow.claimed_by))).scalar_one()
        assert stored.student_id == alice
        assert stored.status == "graded"
        assert grades >= 0.8 * len(page.items)
        assert claimed_by
