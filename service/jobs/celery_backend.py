"""Jobs on Celery workers (``jobs.backend = "celery"``), for a district on one cluster.

The job table stays the source of truth: a Celery message only says "look at job N". The
API processes run a small dispatcher (:class:`CeleryDispatcher`) that sends a message for
every job that is queued, or running with a lapsed lease (its worker died), and wakes at
once when an upload queues one. A worker (``markbook worker`` with this backend: a Celery
worker with the ``solo`` pool, one job at a time per worker process) claims the job with
the same conditional UPDATE the embedded runner uses and runs it with the embedded runner's
own code (:class:`service.jobs.runner.InProcessRunner`): the page work in a spawned pool
of ``jobs.workers`` processes with the models loaded once and kept between jobs, pages
stored one transaction each (so a page is never graded twice), crashes charged to pages.

Messages are acknowledged late and given back if the worker is lost (``acks_late``,
``reject_on_worker_lost``); a worker that finds the job claimed by a live lease, or
finished, drops the message, and the dispatcher sends it again if that lease lapses. Scale
API processes and worker hosts independently; both need the same database, broker and
data folder (shared storage).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import Executor
from typing import Any

from anyio import to_thread
from celery import Celery
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.config import Settings
from service.db import JobRow
from service.db.base import utcnow
from service.repositories.jobs import JobWorkRepository
from service.storage import LocalStorage

__all__ = ["RUN_JOB", "CeleryDispatcher", "celery_app", "run_one", "run_worker",
           "worker_argv"]

log = logging.getLogger(__name__)

RUN_JOB = "markbook.run_job"
# The page pool of this worker process, kept between jobs (models stay loaded).
_executor: Executor | None = None


def celery_app(settings: Settings) -> Celery:
    """The Celery application for these settings (the broker, late acknowledgement)."""
    app = Celery("markbook", broker=settings.jobs.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.jobs.queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": settings.jobs.visibility_timeout_seconds},
        worker_hijack_root_logger=False,
    )

    @app.task(name=RUN_JOB, shared=False)  # bound to these settings, not every app
    def run_job_task(job_id: int) -> str:
        return asyncio.run(run_one(settings, int(job_id)))

    return app


async def run_one(settings: Settings, job_id: int) -> str:
    """Claim and run one job in this worker process.

    Returns:
        ``ran``, ``finished`` (nothing to do), ``held`` (another worker's live lease) or
        ``missing``.
    """
    from service.db.engine import create_engine, make_session_factory
    from service.jobs.runner import InProcessRunner

    global _executor
    engine = create_engine(settings.database_url, pool_size=2)
    try:
        factory = make_session_factory(engine)
        runner = InProcessRunner(settings, factory, LocalStorage(settings.storage_dir),
                                 executor=_executor)
        async with factory() as session:
            claimed = await _claim(session, job_id, runner.worker,
                                   settings.jobs.lease_seconds)
        if isinstance(claimed, str):
            return claimed
        await runner.run_claimed(claimed)
        _executor = runner.executor  # a pool that broke was dropped: a fresh one next time
        return "ran"
    finally:
        await engine.dispose()


async def _claim(session: AsyncSession, job_id: int, worker: str,
                 lease_s: float) -> JobRow | str:
    from datetime import timedelta

    repo = JobWorkRepository(session)
    job = await session.get(JobRow, job_id)
    if job is None:
        return "missing"
    if job.status not in ("queued", "running"):
        return "finished"
    claimed = await repo.try_claim(job_id, worker, utcnow(), timedelta(seconds=lease_s))
    await session.commit()
    if not claimed:
        return "held"
    row = await session.get(JobRow, job_id, populate_existing=True)
    assert row is not None
    return row


class CeleryDispatcher:
    """The API side: sends a message for every job that needs a worker.

    A job is sent when it is queued or its lease lapsed, and not again while a message
    for it may still be waiting (``jobs.lease_seconds``). Implements the app's
    ``JobRunner`` protocol (``start``, ``stop``, ``notify``).
    """

    def __init__(self, settings: Settings, factory: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.factory = factory
        self.app = celery_app(settings)
        self._sent: dict[int, float] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def notify(self) -> None:
        """An upload queued a job: send it now rather than at the next look."""
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="markbook-celery-dispatch")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def dispatch_once(self) -> list[int]:
        """Send every job that needs a worker now; returns their ids."""
        async with self.factory() as session:
            due = list(await JobWorkRepository(session).claimable_jobs(utcnow(), limit=500))
        now = time.monotonic()
        again = self.settings.jobs.lease_seconds
        fresh = [j for j in due if now - self._sent.get(j, -1e9) >= again]
        for job_id in fresh:
            await to_thread.run_sync(self._send, job_id)
            self._sent[job_id] = now
        # Forget what is long gone, so the memory stays bounded.
        self._sent = {j: t for j, t in self._sent.items() if now - t < 10 * again}
        return fresh

    def _send(self, job_id: int) -> None:
        self.app.send_task(RUN_JOB, args=[job_id], queue=self.settings.jobs.queue)

    async def _loop(self) -> None:
        poll = self.settings.jobs.poll_seconds
        while not self._stopping:
            try:
                sent = await self.dispatch_once()
                if sent:
                    log.debug("jobs sent to the workers", extra={"jobs": sent})
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker is down: keep the jobs queued, try again
                log.warning("could not send jobs to the workers: %s", type(exc).__name__)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll)


def worker_argv(settings: Settings, extra: list[str] | None = None) -> list[str]:
    """The Celery worker's command line (``markbook worker`` with this backend)."""
    return ["worker", "--pool", "solo", "--queues", settings.jobs.queue, "--without-gossip",
            "--without-mingle", "--loglevel", settings.log.level.upper(), *(extra or [])]


def run_worker(settings: Settings, extra: list[str] | None = None) -> Any:
    """Run a Celery worker in this process until it is stopped."""
    return celery_app(settings).worker_main(worker_argv(settings, extra))
