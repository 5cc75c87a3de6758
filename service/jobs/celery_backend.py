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
import threading
import time
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from typing import Any

from anyio import to_thread
from celery import Celery, signals
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.config import Settings
from service.db import JobRow
from service.db.base import utcnow
from service.repositories.jobs import JobWorkRepository
from service.storage import LocalStorage

__all__ = ["RUN_JOB", "CeleryDispatcher", "celery_app", "run_one", "run_worker",
           "worker_argv"]

log = logging.getLogger(__name__)

RUN_JOB = "markbook.run_job"
# A worker's connections: the few a job uses at once are kept (a PostgreSQL connection
# opened and closed again costs a forked backend), more are opened only when needed.
WORKER_POOL_SIZE, WORKER_POOL_OVERFLOW = 4, 6
# The page pool of this worker process, kept between jobs (models stay loaded).
_executor: Executor | None = None


class _WorkerProcess:
    """What a worker process keeps between messages: one event loop and one database
    engine (its pooled connections).

    A fresh loop per message needs a fresh engine, and so a fresh connection for every job:
    on PostgreSQL that is a backend process forked, about 9 ms of CPU on each side, and as
    much again for every message that only finds its job already taken. During the 8 a.m.
    peak that CPU is taken from the API processes acknowledging uploads on the same box.
    """

    def __init__(self, settings: Settings, app: Celery) -> None:
        self.settings, self.app = settings, app
        self.loop: asyncio.AbstractEventLoop | None = None
        self.engine: AsyncEngine | None = None

    def run(self, job_id: int) -> str:
        """Run ``run_one`` for a message (the solo pool: one message at a time)."""
        if self.loop is None:
            self.loop = asyncio.new_event_loop()
            signals.worker_shutdown.connect(self._shutdown, weak=False)
        return self.loop.run_until_complete(self._run(job_id))

    async def _run(self, job_id: int) -> str:
        if self.engine is None:
            from service.db.engine import create_engine

            self.engine = create_engine(self.settings.database_url, pool_size=WORKER_POOL_SIZE,
                                        max_overflow=WORKER_POOL_OVERFLOW)
        return await run_one(self.settings, job_id, engine=self.engine)

    def _shutdown(self, sender: Any = None, **_: Any) -> None:
        """Celery's ``worker_shutdown``: close the connections and the loop (only for the
        worker of this process's app)."""
        if getattr(sender, "app", self.app) is not self.app:
            return
        signals.worker_shutdown.disconnect(self._shutdown)
        self.close()

    def close(self) -> None:
        loop, engine = self.loop, self.engine
        self.loop = self.engine = None
        if loop is None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._close(loop, engine)
        else:  # stopped from inside another loop (a worker in a test's thread): not here
            closer = threading.Thread(target=self._close, args=(loop, engine))
            closer.start()
            closer.join()

    @staticmethod
    def _close(loop: asyncio.AbstractEventLoop, engine: AsyncEngine | None) -> None:
        try:
            if engine is not None:
                loop.run_until_complete(engine.dispose())
        finally:
            loop.close()


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

    process = _WorkerProcess(settings, app)

    @app.task(name=RUN_JOB, shared=False)  # bound to these settings, not every app
    def run_job_task(job_id: int) -> str:
        return process.run(int(job_id))

    return app


async def run_one(settings: Settings, job_id: int, engine: AsyncEngine | None = None) -> str:
    """Claim and run one job in this worker process.

    Args:
        settings: the service's settings.
        job_id: the message's job.
        engine: the worker process's engine (kept between jobs); without one, an engine
            of this call's own.

    Returns:
        ``ran``, ``finished`` (nothing to do), ``held`` (another worker's live lease) or
        ``missing``.
    """
    from service.db.engine import create_engine, make_session_factory
    from service.jobs.runner import InProcessRunner

    global _executor
    own = engine is None
    engine = engine or create_engine(settings.database_url, pool_size=WORKER_POOL_SIZE,
                                     max_overflow=WORKER_POOL_OVERFLOW)
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
        if own:
            await engine.dispose()


async def _claim(session: AsyncSession, job_id: int, worker: str,
                 lease_s: float) -> JobRow | str:
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

    A job queued by this process (an upload, a retry: :meth:`notify` with its id) is sent
    at once, and by this process only. A sweep every ``jobs.poll_seconds`` sends what nobody
    sent lately: a job queued without a word for ``jobs.lease_seconds`` (its API process
    died before sending it, or the broker lost the message) and a running job whose lease
    lapsed (its worker died). Each process sweeps a job up at most once per
    ``jobs.lease_seconds``, so N API processes do not send each upload N times (and the
    workers claim it N times). Implements the app's ``JobRunner`` protocol (``start``,
    ``stop``, ``notify``).
    """

    def __init__(self, settings: Settings, factory: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.factory = factory
        self.app = celery_app(settings)
        self._sent: dict[int, float] = {}
        self._queued: list[int] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.connected: bool | None = None  # the broker reached before the first job

    def notify(self, job_id: int | None = None) -> None:
        """A job was queued: send it now rather than at the next sweep."""
        if job_id is not None:
            self._queued.append(job_id)
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="markbook-celery-dispatch")

    def _connect(self) -> bool:
        """Connect to the broker, and ready the code that sends, before the first job.

        The first message a process sent cost about 150 ms of CPU (Celery's and kombu's
        sending machinery is made on first use, then the connection), taken from the first
        wave of uploads after a start, on their web process. Returns False where the
        broker could not be reached: the first send connects then, as it would have.
        """
        try:
            with self.app.producer_or_acquire() as producer:
                producer.connection.ensure_connection(max_retries=1)
                # What a send makes on first use: the message's body and headers, the
                # queue's declaration, the (disabled) result backend it looks up.
                self.app.amqp.as_task_v2("warm", RUN_JOB, args=[0])
                producer.maybe_declare(self.app.amqp.queues[self.settings.jobs.queue])
                log.debug("result backend: %s", type(self.app.backend).__name__)
        except Exception as exc:  # the broker is down: the sweep keeps trying to send
            log.warning("could not connect to the broker yet: %s", type(exc).__name__)
            return False
        return True

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def dispatch_once(self, sweep: bool = True) -> list[int]:
        """Send the jobs this process queued, and with ``sweep`` every job nobody sent
        lately; returns the ids sent."""
        queued, self._queued = self._queued, []
        swept: list[int] = []
        if sweep:
            quiet = timedelta(seconds=self.settings.jobs.lease_seconds)
            async with self.factory() as session:
                swept = list(await JobWorkRepository(session).unsent_jobs(utcnow(), quiet))
        now = time.monotonic()
        again = self.settings.jobs.lease_seconds
        # A job queued here is sent even if it was sent lately: it was queued again (a
        # retry). A swept one waits out ``again`` since this process last sent it.
        fresh = list(dict.fromkeys(queued + [
            j for j in swept if now - self._sent.get(j, -1e9) >= again]))
        done: list[int] = []
        try:
            if fresh:
                await to_thread.run_sync(self._send, fresh, done)  # one hop for them all
        except BaseException:
            self._queued[:0] = [j for j in queued if j not in done]  # try them again
            raise
        # Forget what is long gone, so the memory stays bounded.
        self._sent = {j: t for j, t in self._sent.items() if now - t < 10 * again}
        return fresh

    def _send(self, job_ids: list[int], done: list[int]) -> None:
        for job_id in job_ids:
            self.app.send_task(RUN_JOB, args=[job_id], queue=self.settings.jobs.queue)
            self._sent[job_id] = time.monotonic()
            done.append(job_id)

    async def _loop(self) -> None:
        poll = self.settings.jobs.poll_seconds
        next_sweep = 0.0
        self.connected = await to_thread.run_sync(self._connect)
        while not self._stopping:
            # Cleared before looking: a job queued while this sends wakes the next turn.
            self._wake.clear()
            sweep = time.monotonic() >= next_sweep
            try:
                sent = await self.dispatch_once(sweep)
                if sent:
                    log.debug("jobs sent to the workers", extra={"jobs": sent})
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker is down: keep the jobs queued, try again
                log.warning("could not send jobs to the workers: %s", type(exc).__name__)
            if sweep:
                next_sweep = time.monotonic() + poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(),
                                       timeout=max(0.0, next_sweep - time.monotonic()))


def worker_argv(settings: Settings, extra: list[str] | None = None) -> list[str]:
    """The Celery worker's command line (``markbook worker`` with this backend)."""
    return ["worker", "--pool", "solo", "--queues", settings.jobs.queue, "--without-gossip",
            "--without-mingle", "--loglevel", settings.log.level.upper(), *(extra or [])]


def run_worker(settings: Settings, extra: list[str] | None = None) -> Any:
    """Run a Celery worker in this process until it is stopped (its page workers start,
    and load their models, as it starts: see :func:`start_page_pool`)."""
    start_page_pool(settings)
    return celery_app(settings).worker_main(worker_argv(settings, extra))


def start_page_pool(settings: Settings) -> threading.Thread | None:
    """Make this worker's page pool now and start its workers on a thread, so the models
    are loaded before the first job instead of during it (and during the uploads that
    queued it). A worker that dies starting is logged and the pool dropped: the first job
    makes a fresh one, as it would have.

    Returns:
        The thread warming the pool; None for a thread executor (no worker processes).
    """
    global _executor
    from service.jobs.pagepool import PagePool
    from service.jobs.runner import InProcessRunner

    if settings.jobs.executor != "process":
        return None
    runner = InProcessRunner(settings, async_sessionmaker(), LocalStorage(settings.storage_dir))
    pool = runner.page_pool()
    if not isinstance(pool, PagePool):
        return None
    _executor = pool

    def warm() -> None:
        global _executor
        try:
            pool.warm()
        except BrokenProcessPool:
            log.warning("a page worker died while loading the models; the first job will "
                        "start the workers again")
            if _executor is pool:
                _executor = None

    thread = threading.Thread(target=warm, name="markbook-warm-workers", daemon=True)
    thread.start()
    return thread
