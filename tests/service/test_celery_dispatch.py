"""How jobs reach the Celery workers: one message per job however many API processes run,
and a worker process that keeps its database connections between messages.

Real Redis (the messages are counted in its queue) and real databases; no worker consumes
the messages here, so the queue holds what the dispatchers sent.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from sqlalchemy import event, update
from sqlalchemy.pool import Pool

from service.app import create_app
from service.config import Settings
from service.db import JobRow
from service.db.base import utcnow
from service.inprocess import local_token
from tests.conftest import service_missing
from tests.support.auth import client_for
from tests.support.scans import class_and_sheet, scanned_stack

BROKER_DB = 14


@pytest.fixture
def queue() -> Iterator[redis.Redis]:
    client = redis.Redis(host="127.0.0.1", port=6379, db=BROKER_DB)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        service_missing("redis at 127.0.0.1:6379")
    yield client
    client.close()


@pytest.fixture
def settings(tmp_path: Path, db_url: str, queue: redis.Redis) -> Settings:
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},  # type: ignore[arg-type]
                    jobs={"backend": "celery",
                          "broker_url": f"redis://127.0.0.1:6379/{BROKER_DB}",
                          "poll_seconds": 0.2, "lease_seconds": 30,
                          "queue": f"markbook.test.{uuid.uuid4().hex[:8]}"})


@pytest.fixture
async def apps(settings: Settings, queue: redis.Redis) -> AsyncIterator[list[FastAPI]]:
    """Two API processes' apps on one database and one broker."""
    first, second = create_app(settings), create_app(settings)
    try:
        async with first.router.lifespan_context(first), \
                second.router.lifespan_context(second):
            yield [first, second]
    finally:
        queue.delete(settings.jobs.queue)


def _messages(queue: redis.Redis, settings: Settings) -> int:
    return int(queue.llen(settings.jobs.queue))


async def _upload(app: FastAPI) -> int:
    async with client_for(app, {"Authorization": f"Bearer {await local_token(app)}"}) as client:
        sheet = await class_and_sheet(client, students=1, questions=2)
        stack = await scanned_stack(client, sheet, real=False)
        r = await client.post("/api/v1/scans", content=stack.pdf,
                              headers={"content-type": "application/pdf"})
        assert r.status_code == 202, r.text
        return int(r.json()["job_id"])


async def _settle(settings: Settings) -> None:
    """Long enough for every dispatcher to sweep several times."""
    await asyncio.sleep(8 * settings.jobs.poll_seconds)


async def test_an_upload_is_one_message_with_two_api_processes(
        apps: list[FastAPI], settings: Settings, queue: redis.Redis) -> None:
    await _upload(apps[0])
    await _settle(settings)
    # The process that queued the job sent it; the other one's sweep left it alone.
    assert _messages(queue, settings) == 1


async def test_a_job_nobody_sent_is_swept_once_per_process(
        apps: list[FastAPI], settings: Settings, queue: redis.Redis) -> None:
    """A job queued without a word for ``lease_seconds`` (its API process died before
    sending it, or the broker lost the message) is sent by the sweeps: by each process at
    most once per ``lease_seconds``."""
    job_id = await _upload(apps[0])
    await _settle(settings)
    assert _messages(queue, settings) == 1
    async with apps[0].state.session_factory() as session:
        await session.execute(update(JobRow).where(JobRow.id == job_id).values(
            updated_at=utcnow() - timedelta(seconds=2 * settings.jobs.lease_seconds)))
        await session.commit()
    await _settle(settings)
    # The second process sends it; the first sent it moments ago and waits its turn.
    assert _messages(queue, settings) == 2


async def test_a_retried_job_is_sent_again_at_once(
        apps: list[FastAPI], settings: Settings, queue: redis.Redis) -> None:
    """A job queued again (a retry) is sent at once even though the same process sent it
    moments before: the per-process pause is for the sweep only."""
    job_id = await _upload(apps[0])
    await _settle(settings)
    async with apps[0].state.session_factory() as session:
        await session.execute(update(JobRow).where(JobRow.id == job_id).values(
            status="failed", error="internal_error", finished_at=utcnow()))
        await session.commit()
    async with client_for(apps[0], {
            "Authorization": f"Bearer {await local_token(apps[0])}"}) as client:
        r = await client.post(f"/api/v1/jobs/{job_id}:retry")
        assert r.status_code == 202, r.text
    await _settle(settings)
    assert _messages(queue, settings) == 2


class _Worker:
    """Stands in for Celery's worker as the sender of ``worker_shutdown``."""

    def __init__(self, app: Any) -> None:
        self.app = app


async def test_a_worker_process_keeps_one_connection_between_messages(
        settings: Settings) -> None:
    from celery import signals

    from service.jobs.celery_backend import RUN_JOB, celery_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        pass  # the database migrated; no API process left running beside the worker

    opened: list[Any] = []
    closed: list[Any] = []

    def on_connect(dbapi: Any, _record: Any) -> None:
        opened.append(dbapi)

    def on_close(dbapi: Any, _record: Any) -> None:
        closed.append(dbapi)

    worker_app = celery_app(settings)
    task = worker_app.tasks[RUN_JOB]
    event.listen(Pool, "connect", on_connect)
    event.listen(Pool, "close", on_close)
    try:
        # In a thread of its own, as the solo pool runs it: not on this test's loop.
        results = [await asyncio.to_thread(task, 10_000 + n) for n in range(5)]
        assert results == ["missing"] * 5
        assert len(opened) == 1  # one connection for five messages, not one each
        assert closed == []
        # Another app's worker stopping leaves this one's connections alone.
        signals.worker_shutdown.send(sender=_Worker(celery_app(settings)))
        assert closed == []
        signals.worker_shutdown.send(sender=_Worker(worker_app))
        assert closed == opened  # this worker stopping closes them
    finally:
        event.remove(Pool, "connect", on_connect)
        event.remove(Pool, "close", on_close)


async def _connected(app: FastAPI) -> bool | None:
    """The dispatcher's broker connection at start (None while it is still trying)."""
    for _ in range(100):
        if app.state.runner.connected is not None:
            break
        await asyncio.sleep(0.05)
    return app.state.runner.connected  # type: ignore[no-any-return]


async def test_the_dispatcher_connects_to_the_broker_as_it_starts(
        apps: list[FastAPI], settings: Settings, queue: redis.Redis) -> None:
    """Before any job: the first upload after a start does not pay for the connection and
    the sending machinery (about 150 ms of its web process's CPU)."""
    try:
        assert await _connected(apps[0]) is True
        # The queue was declared on the broker (kombu's binding for it) with no message.
        assert queue.exists(f"_kombu.binding.{settings.jobs.queue}")
        assert _messages(queue, settings) == 0
    finally:
        queue.delete(f"_kombu.binding.{settings.jobs.queue}")


async def test_an_api_process_starts_while_the_broker_is_down(
        tmp_path: Path, db_url: str) -> None:
    settings = Settings(data_dir=tmp_path / "var", db={"url": db_url},  # type: ignore[arg-type]
                        jobs={"backend": "celery", "broker_url": "redis://127.0.0.1:1/0",
                              "poll_seconds": 30})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert await _connected(app) is False
        async with client_for(app, {}) as client:
            assert (await client.get("/healthz/live")).status_code == 200
