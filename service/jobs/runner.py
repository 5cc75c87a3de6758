"""The embedded job runner: claims jobs from the table and reads their pages in a pool.

The job table is the source of truth. A runner claims a job with a conditional UPDATE
(``queued``, or ``running`` with an expired lease — its runner died), holds a lease it
renews as pages are stored, and hands the upload's pages to a pool of worker processes
(models loaded once per worker; each reads its page from the stored file) while the event
loop only awaits. Pages already stored
are skipped, so a restarted runner resumes where the last one stopped and no page is
graded twice. Claims are not failures: a worker's death is charged to the page it was
reading (a kill from outside less than a crash), and a full disk releases the lease to try
again later (:mod:`service.jobs.recovery`).

:class:`JobRunner` is the interface the app talks to (``start``, ``stop``, ``notify``); a
Celery backend can implement it by enqueueing :func:`run_job` on its workers instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ocr.errors import ScanFileError
from ocr.ingest import IngestLimits, PageImage, count_pages, iter_pages, random_access
from service.config import LogSettings, Settings
from service.db import JobRow, ScanUploadRow, WorksheetRow
from service.db.base import utcnow
from service.db.generation import count_as_edit, grading_writes
from service.errors import disk_full
from service.jobs.bundles import load_bundle
from service.jobs.drillstore import store_drill_page
from service.jobs.drillwork import DrillPageResult, DrillTarget, process_drill_page
from service.jobs.pagefeed import PageRef, Parcel, pack_bundles, read_item
from service.jobs.pagepool import PagePool
from service.jobs.pagework import (
    NeedWorksheet,
    PageResult,
    WorksheetBundle,
    init_worker,
    process_page,
)
from service.jobs.placement import place_anonymous_pages, place_in_roster_order
from service.jobs.recovery import (
    DISK_FULL_BACKOFF_S,
    DiskFull,
    WorkerCrash,
    WorkerDeath,
    charge_crash,
    crash_problem,
    page_crashes,
    page_kills,
    page_spent,
    restart_delay,
)
from service.jobs.store import PageProblem, store_page, store_unknown_page
from service.jobs.templatework import TemplateTarget, process_template_page
from service.logs import log_context
from service.repositories.jobs import JobWorkRepository
from service.storage import LocalStorage
from service.tasks import stop_gracefully
from service.webhooks import enqueue_job_event

__all__ = ["InProcessRunner", "JobRunner", "claim_job", "finish_job", "run_job"]

log = logging.getLogger(__name__)


class JobRunner(Protocol):
    """What the app needs from a job backend."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def notify(self, job_id: int | None = None) -> None: ...


def ingest_limits(settings: Settings) -> IngestLimits:
    lim = settings.limits
    return IngestLimits(max_bytes=lim.max_upload_mb * 1024 * 1024, max_pages=lim.max_pages,
                        max_pixels=lim.max_page_megapixels * 1_000_000)


async def claim_job(session: AsyncSession, worker: str, lease_s: float) -> JobRow | None:
    """Claim the oldest claimable scan job for ``worker`` (commits the claim)."""
    repo = JobWorkRepository(session)
    now = utcnow()
    for job_id in await repo.claimable_jobs(now):
        claimed = await repo.try_claim(job_id, worker, now, timedelta(seconds=lease_s))
        await session.commit()
        if claimed:
            return await session.get(JobRow, job_id, populate_existing=True)
    return None


async def finish_job(session: AsyncSession, job: JobRow, *, error: str | None = None) -> None:
    """Set the final status from what was stored (flush; the caller commits)."""
    upload_id = int(job.payload["upload_id"])
    done = await JobWorkRepository(session).pages_done(upload_id)
    job.pages_done = done
    if error is not None and done == 0:
        job.status = "failed"
    elif error is not None or job.problems or done < job.pages_total:
        job.status = "partially_done"
    else:
        job.status = "done"
    job.error = error
    job.finished_at = job.updated_at = utcnow()
    job.lease_expires_at = None
    await session.flush()
    await count_as_edit(session)  # what it graded shows in cached reads at once
    with log_context(job_id=job.id, upload_id=upload_id):
        log.info("job finished", extra={
            "status": job.status, "pages_done": done, "pages_total": job.pages_total,
            "problems": len(job.problems or ()),
            "error": error.partition(":")[0] if error else None})  # a message may quote a file
    await enqueue_job_event(session, job)


# A template copy with no name or number region read, uploaded for no one student.
_UNNAMED_TEMPLATE = ("a copy whose student could not be told (no name or student number "
                     "read, and the upload names no student): assign it in review / "
                     "未能识别这份卷子的学生，请在复核中指定")


class _JobContext:
    """The state of one running job: its upload, sanctioned worksheets and progress."""

    def __init__(self, job: JobRow, upload: ScanUploadRow) -> None:
        self.job = job
        self.upload = upload
        self.bundles: dict[int, WorksheetBundle] = {}
        self.worksheets: dict[int, WorksheetRow] = {}
        self.question_ids: dict[int, dict[str, int]] = {}
        self.denied: set[int] = set()
        self.crashes: dict[int, int] = {}  # page index: crashes charged (payload)
        self.kills: dict[int, int] = {}  # page index: kills charged (payload)
        # A drill upload's assignment and student: its pages without a markbook code are
        # read by the drill reader (service.jobs.drillwork).
        self.drill: DrillTarget | None = None
        # A template upload's template and student: its pages are registered to the
        # template's blanks (service.jobs.templatework).
        self.template: TemplateTarget | None = None
        self._parcel: Parcel | None = None  # the bundles as sent to workers

    def parcel(self) -> Parcel:
        """The sanctioned worksheets, pickled once until another one is sanctioned."""
        if self._parcel is None:
            self._parcel = pack_bundles(self.bundles)
        return self._parcel

    def sanctioned(self, row: WorksheetRow, bundle: WorksheetBundle,
                   question_ids: dict[str, int]) -> None:
        self.bundles[row.id], self.worksheets[row.id] = bundle, row
        self.question_ids[row.id] = question_ids
        self._parcel = None

    def charged(self, index: int) -> bool:
        return bool(self.crashes.get(index) or self.kills.get(index))


async def run_job(job_id: int, factory: async_sessionmaker[AsyncSession], storage: LocalStorage,
                  executor: Executor, settings: Settings, worker: str) -> None:
    """Read, grade and store every not-yet-stored page of one claimed job.

    Args:
        job_id: a job this worker has claimed.
        factory: sessions (one transaction per stored page).
        storage: the uploads and crops.
        executor: where page work runs (process pool, or threads in tests).
        settings: limits and lease length.
        worker: this runner's id (the lease holder).
    """
    with log_context(job_id=job_id):
        async with factory() as session:
            job = await session.get(JobRow, job_id)
            if job is None:
                return
            upload = await session.get(ScanUploadRow, int(job.payload["upload_id"]))
            if upload is None:
                job.status, job.error = "failed", "the upload record is missing"
                await session.commit()
                log.error("job failed: its upload record is missing")
                return
            stored = await JobWorkRepository(session).stored_page_indices(upload.id)
            ctx = _JobContext(job, upload)
            ctx.crashes, ctx.kills = page_crashes(job.payload), page_kills(job.payload)
        with log_context(upload_id=upload.id):
            log.info("job started", extra={"attempt": job.attempts,
                                           "pages_stored": len(stored)})
            beat = asyncio.create_task(_heartbeat(factory, job_id, worker,
                                                  settings.jobs.lease_seconds))
            try:
                error = await _read_all(ctx, factory, storage, executor, settings, worker,
                                        stored)
            finally:
                beat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beat
            async with factory() as session:
                job = await session.get(JobRow, job_id, populate_existing=True)
                assert job is not None
                await finish_job(session, job, error=error)
                await session.commit()


async def _heartbeat(factory: async_sessionmaker[AsyncSession], job_id: int, worker: str,
                     lease_s: float) -> None:
    """Keep the job's lease live while this runner works on it, three beats a lease.

    The lease is what tells other runners (and the Celery dispatcher) that the job's runner
    died; kept live by the clock rather than only by pages stored, it can be short, so a
    job whose worker was killed is taken up again within one lease, while a slow page never
    lets it lapse under a live runner.
    """
    period = max(0.2, lease_s / 3)
    while True:
        await asyncio.sleep(period)
        try:
            async with factory() as session:
                until = utcnow() + timedelta(seconds=lease_s)
                held = await JobWorkRepository(session).renew_lease(job_id, worker, until)
                await session.commit()
        except Exception as exc:  # a missed beat: the next one, or a stored page, renews
            log.warning("lease heartbeat failed: %s", type(exc).__name__)
            continue
        if not held:
            return  # released, finished or taken over: nothing left to keep


async def _read_all(ctx: _JobContext, factory: async_sessionmaker[AsyncSession],
                    storage: LocalStorage, executor: Executor, settings: Settings, worker: str,
                    stored: set[int]) -> str | None:
    """Read and store the job's pages; returns the job's error, if it has one."""
    try:
        hint = ctx.job.payload.get("worksheet_id")
        if hint:
            async with factory() as session:
                if await _sanction(session, ctx, int(hint)):
                    student = ctx.job.payload.get("student_id")
                    kind = ctx.worksheets[int(hint)].kind
                    if kind == "drill":
                        ctx.drill = DrillTarget(int(hint), int(student) if student else None)
                    elif kind == "template":
                        ctx.template = TemplateTarget(int(hint),
                                                      int(student) if student else None)
        await _read_pages(ctx, factory, storage, executor, settings, worker, stored)
        await _place(ctx, factory, settings)
    except ScanFileError as exc:
        log.warning("job failed: the scan file cannot be read", extra={"error": exc.code})
        return f"{exc.code}: {exc}"
    except WorkerCrash:
        raise
    except Exception as exc:  # a defect: keep what is stored, report, never loop forever
        if disk_full(exc):
            raise DiskFull(type(exc).__name__) from exc  # not the job's fault: wait for space
        log.exception("job failed")
        return f"internal_error: {type(exc).__name__}"
    return None


async def _place(ctx: _JobContext, factory: async_sessionmaker[AsyncSession],
                 settings: Settings) -> None:
    """Once every page is stored, place the anonymous ones on the class together."""
    async with factory() as session:
        note = None
        if ctx.template is not None and ctx.job.payload.get("in_roster_order"):
            by_order, note = await place_in_roster_order(
                session, ctx.upload.id, ctx.template.worksheet_id,
                ctx.worksheets[ctx.template.worksheet_id].class_id, settings.mastery.schedule())
        else:
            by_order = []
        placed = set(by_order) | set(await place_anonymous_pages(session, ctx.upload.id,
                                                                 settings.mastery.schedule()))
        if placed or note:
            job = await session.get(JobRow, ctx.job.id, populate_existing=True)
            assert job is not None
            job.problems = [p for p in job.problems if p.get("page_index") not in placed]
            if note:
                job.problems = [*job.problems, note]
            log.info("anonymous pages placed", extra={"pages": len(placed)})
        await session.commit()


async def _sanction(session: AsyncSession, ctx: _JobContext, worksheet_id: int) -> bool:
    if worksheet_id in ctx.bundles:
        return True
    if worksheet_id in ctx.denied:
        return False
    loaded = await load_bundle(session, ctx.upload, worksheet_id)
    if loaded is None:
        ctx.denied.add(worksheet_id)
        return False
    ctx.sanctioned(*loaded)
    return True


def _page_items(path: Path, limits: IngestLimits) -> tuple[Iterator[PageRef | PageImage], bool]:
    """The pages to hand the workers, and whether each must be read here first.

    Any file but a ZIP is validated and counted here (as at upload), and each worker reads
    the pages it is given from the stored file (:mod:`service.jobs.pagefeed`); a ZIP's
    pages are read here, one file of it at a time, and sent as pixels.
    """
    if random_access(path):
        n = count_pages(path, limits)
        return (PageRef(str(path), i, limits) for i in range(n)), False
    return iter_pages(path, limits), True


async def _read_pages(ctx: _JobContext, factory: async_sessionmaker[AsyncSession],
                      storage: LocalStorage, executor: Executor, settings: Settings,
                      worker: str, stored: set[int]) -> None:
    path = storage.path(ctx.upload.storage_key)
    pages, read_here = await to_thread.run_sync(_page_items, path, ingest_limits(settings))
    loop = asyncio.get_running_loop()
    in_flight: dict[asyncio.Future[PageResult | NeedWorksheet | DrillPageResult],
                    PageRef | PageImage] = {}
    ingest_ms: dict[int, float] = {}  # pages read here (a ZIP's): how long each took
    depth = max(2, 2 * settings.jobs.workers)
    exhausted = False
    broken: BrokenProcessPool | None = None
    blamed: set[int] = set()  # pages whose future the broken pool failed
    held: PageRef | PageImage | None = None  # a page that crashed before, to read alone
    damaged: ScanFileError | None = None  # a page the file cannot give (raised at the end)

    def alone() -> bool:
        # A page charged with a crash is read with nothing beside it: if the pool breaks
        # again, that page did it.
        return any(ctx.charged(p.index) for p in in_flight.values())

    def submit(page: PageRef | PageImage) -> None:
        nonlocal broken, exhausted
        fut: asyncio.Future[PageResult | NeedWorksheet | DrillPageResult]
        # A drill upload's pages go to the drill worker (a markbook page among them is
        # still read as one); the target travels with each page.
        work: Any = process_page
        extra: tuple[Any, ...] = ()
        if ctx.drill is not None:
            work, extra = process_drill_page, (ctx.drill,)
        elif ctx.template is not None:
            work, extra = process_template_page, (ctx.template,)
        args = (page, work, ctx.parcel(), *extra)
        try:
            if isinstance(executor, PagePool):  # the worker notes the page it reads
                fut = asyncio.wrap_future(executor.submit_page(page.index, read_item, *args))
            else:
                fut = loop.run_in_executor(executor, read_item, *args)
        except BrokenProcessPool as exc:
            # Stop feeding the dead pool but store what finished: less to redo on resume.
            broken, exhausted = exc, True
            return
        in_flight[fut] = page

    while not exhausted or in_flight or held is not None:
        while not exhausted and held is None and not alone() and len(in_flight) < depth:
            started = time.perf_counter()
            page = await to_thread.run_sync(next, pages, None) if read_here \
                else next(pages, None)
            if page is None:
                exhausted = True
                break
            if page.index in stored:
                continue
            crashes, kills = ctx.crashes.get(page.index, 0), ctx.kills.get(page.index, 0)
            if page_spent(crashes, kills):
                await _skip_crashing(ctx, factory, page.index, crashes + kills)
                continue
            if read_here:
                ingest_ms[page.index] = (time.perf_counter() - started) * 1000
            if crashes or kills:
                held = page
                break
            submit(page)
        if held is not None and not in_flight and broken is None:
            page, held = held, None
            submit(page)
        if not in_flight:
            break
        finished, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
        for fut in finished:
            page = in_flight.pop(fut)
            try:
                result = fut.result()
            except BrokenProcessPool as exc:
                broken, exhausted = exc, True
                blamed.add(page.index)
                continue
            except ScanFileError as exc:
                # The worker could not read this page from the file: store what the others
                # read, then fail the job as a damaged file would have before any page.
                if damaged is None:
                    damaged = exc
                exhausted, held = True, None
                continue
            if isinstance(result, NeedWorksheet):
                async with factory() as session:
                    allowed = await _sanction(session, ctx, result.worksheet_id)
                if allowed:
                    if broken is None:
                        submit(page)
                    continue
                result = PageResult(page.index, "unknown_worksheet", None, 0, None, None)
            if page.index in ingest_ms:
                timings = {"ingest": ingest_ms.pop(page.index), **result.timings_ms}
                result = dataclasses.replace(result, timings_ms=timings)
            with log_context(page_index=page.index):
                _log_read(result)
                await _store(ctx, factory, storage, result, settings, worker)
    if broken is not None:
        deaths: list[WorkerDeath] = []
        if isinstance(executor, PagePool):
            # Every worker joined, so each exit code is final: which one died, how, and
            # what it was reading decides what is charged.
            await to_thread.run_sync(executor.shutdown)
            deaths = executor.deaths()
        raise WorkerCrash(blamed, deaths) from broken
    if damaged is not None:
        raise damaged


async def _skip_crashing(ctx: _JobContext, factory: async_sessionmaker[AsyncSession],
                         page_index: int, crashes: int) -> None:
    """Leave a page that kept killing the worker unread, with a problem that says so (it is
    not stored: a retry of the job reads it again)."""
    async with factory() as session:
        job = await session.get(JobRow, ctx.job.id, populate_existing=True)
        assert job is not None
        if not any(p.get("page_index") == page_index and p.get("status") == "worker_crash"
                   for p in job.problems):
            job.problems = [*job.problems, crash_problem(page_index, crashes)]
        await session.commit()
    with log_context(page_index=page_index):
        log.error("page skipped: it kept crashing the worker", extra={"crashes": crashes})


def _log_read(result: PageResult | DrillPageResult) -> None:
    """The page's status and how long each stage took (ingest, identify, align, crop,
    recognise, grade, student), at DEBUG: one line per page is a lot on a busy server."""
    if log.isEnabledFor(logging.DEBUG):
        stages = {f"{stage}_ms": round(ms, 1) for stage, ms in result.timings_ms.items()}
        log.debug("page read", extra={"status": result.status, **stages})


async def _store(ctx: _JobContext, factory: async_sessionmaker[AsyncSession],
                 storage: LocalStorage, result: PageResult | DrillPageResult,
                 settings: Settings, worker: str) -> None:
    with grading_writes():
        await _store_page(ctx, factory, storage, result, settings)


async def _store_page(ctx: _JobContext, factory: async_sessionmaker[AsyncSession],
                      storage: LocalStorage, result: PageResult | DrillPageResult,
                      settings: Settings) -> None:
    async with factory() as session:
        upload = ctx.upload  # detached, attributes loaded: only read here
        if isinstance(result, DrillPageResult):
            assert ctx.drill is not None
            drilled = await store_drill_page(session, storage, upload, result,
                                             ctx.worksheets[ctx.drill.worksheet_id],
                                             ctx.drill, settings.mastery.schedule())
            await _stored(session, ctx, upload, drilled, settings)
            return
        ws_id = result.code.worksheet_id if result.code else None
        worksheet = ctx.worksheets.get(ws_id) if ws_id is not None else None
        problem: PageProblem | None
        if result.status == "unknown_worksheet" and worksheet is None:
            problem = await store_unknown_page(
                session, upload, result.page_index, "unidentified",
                "the page belongs to no worksheet of yours / 不是您的作业页")
        else:
            named_by_upload = ctx.template is not None and ctx.template.student_id is not None \
                and ws_id == ctx.template.worksheet_id
            problem = await store_page(session, storage, upload, result,
                                       worksheet if result.status != "unknown_worksheet" else None,
                                       ctx.question_ids.get(ws_id or -1, {}),
                                       settings.mastery.schedule(),
                                       student_source="upload" if named_by_upload else "qr",
                                       unnamed_problem=_UNNAMED_TEMPLATE
                                       if ctx.template is not None and result.student is None
                                       else None)
        await _stored(session, ctx, upload, problem, settings)


async def _stored(session: AsyncSession, ctx: _JobContext, upload: ScanUploadRow,
                  problem: PageProblem | None, settings: Settings) -> None:
    """Note the page's problem and progress on the job, renew the lease, commit."""
    now = utcnow()
    lease_until = now + timedelta(seconds=settings.jobs.lease_seconds)
    repo = JobWorkRepository(session)
    if problem is None:  # most pages: one UPDATE, the job's JSON left alone
        await repo.note_progress(ctx.job.id, upload.id, now, lease_until)
        await session.commit()
        return
    job = await session.get(JobRow, ctx.job.id, populate_existing=True)
    assert job is not None
    job.problems = [*job.problems, problem.as_dict()]
    job.pages_done = await repo.pages_done(upload.id)
    job.updated_at, job.lease_expires_at = now, lease_until
    await session.commit()


class InProcessRunner:
    """Claims and runs jobs inside the service process, CPU work in a worker pool.

    Args:
        settings: ``jobs.workers``, ``jobs.executor`` (``process`` or ``thread``), lease.
        factory: database sessions.
        storage: upload and crop storage.
    """

    def __init__(self, settings: Settings, factory: async_sessionmaker[AsyncSession],
                 storage: LocalStorage, *, executor: Executor | None = None) -> None:
        self.settings = settings
        self.factory = factory
        self.storage = storage
        self.worker = f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._warming: asyncio.Task[None] | None = None
        # A page pool to reuse (a Celery worker keeps one between jobs), or None for one
        # made on first use.
        self._executor: Executor | None = executor
        self._stopping = False

    @property
    def executor(self) -> Executor | None:
        """The page pool, None until one is made (or after one broke)."""
        return self._executor

    def notify(self, job_id: int | None = None) -> None:
        """A job was queued (``job_id``): look now rather than at the next poll."""
        self._wake.set()

    async def start(self, *, warm: bool = False) -> None:
        """Start claiming jobs; with ``warm``, also start the page workers now (see
        :meth:`warm`)."""
        self._task = asyncio.create_task(self._loop(), name="markbook-job-runner")
        if warm:
            self._warming = asyncio.create_task(self.warm(), name="markbook-warm-workers")

    async def warm(self) -> None:
        """Start the page worker processes and load their models now, not at the first
        job: a server started before the morning then reads the first page at once, and
        the seconds of both cores the models take to load are not spent while the first
        class's uploads are being acknowledged. A worker that fails to start is logged;
        the first job starts a fresh pool, as it would have."""
        pool = self._pool()
        if not isinstance(pool, PagePool):
            return  # threads (tests, tiny installs) or a pool handed in
        try:
            await to_thread.run_sync(pool.warm)
        except BrokenProcessPool:
            log.warning("a page worker died while loading the models; the first job will "
                        "start the workers again")
            if self._executor is pool:
                self._executor = None

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._warming is not None:
            self._warming.cancel()  # its thread finishes by itself; the shutdown waits
        if self._task is not None:
            # A page batch in flight past the grace period is cut off; its job keeps the
            # pages already stored and its lease lapses, so the next start resumes it.
            await stop_gracefully(self._task)
        if self._executor is not None:
            executor, self._executor = self._executor, None
            await to_thread.run_sync(lambda: executor.shutdown(wait=True, cancel_futures=True))

    def page_pool(self) -> Executor:
        """The page pool, made now if there is none (its workers start with its first
        task, or with :meth:`PagePool.warm`)."""
        return self._pool()

    def _pool(self) -> Executor:
        if self._executor is None:
            n = self.settings.jobs.workers
            if self.settings.jobs.executor == "thread":
                self._executor = ThreadPoolExecutor(n, thread_name_prefix="markbook-page",
                                                    initializer=init_worker)
            else:
                self._executor = PagePool(n, initializer=init_worker,
                                          initargs=self._worker_args())
        return self._executor

    def _worker_args(self) -> tuple[None, int, str | None, LogSettings, bool]:
        """``init_worker``'s arguments for a spawned worker: it shares no state with us."""
        font = self.settings.cjk_font
        return (None, self.settings.jobs.worker_nice, str(font) if font is not None else None,
                self.settings.log, self.settings.jobs.worker_idle_class)

    async def _loop(self) -> None:
        poll = self.settings.jobs.poll_seconds
        while not self._stopping:
            try:
                async with self.factory() as session:
                    job = await claim_job(session, self.worker, self.settings.jobs.lease_seconds)
                if job is not None:
                    await self._run(job)
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job runner iteration failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll)

    async def _loop_once_for_tests(self) -> bool:
        """Claim and run at most one job now (tests drive the runner step by step)."""
        async with self.factory() as session:
            job = await claim_job(session, self.worker, self.settings.jobs.lease_seconds)
        if job is None:
            return False
        await self._run(job)
        return True

    async def run_claimed(self, job: JobRow) -> None:
        """Run a job this runner has claimed (the Celery worker's entry)."""
        await self._run(job)

    async def _run(self, job: JobRow) -> None:
        # ``job.attempts`` counts claims, and a claim after a restart is no failure: only
        # crashes charged to pages (or to a pool that broke with none in flight) count.
        try:
            await run_job(job.id, self.factory, self.storage, self._pool(), self.settings,
                          self.worker)
        except WorkerCrash as exc:
            # A worker died (out of memory, a native crash). Stored pages stay; the pages in
            # flight are charged, and the job resumes with a fresh pool.
            self._executor = None
            await self._after_crash(job.id, exc)
        except DiskFull:
            await self._wait_for_space(job.id)

    async def _after_crash(self, job_id: int, crash: WorkerCrash) -> None:
        with log_context(job_id=job_id):
            async with self.factory() as session:
                row = await session.get(JobRow, job_id, populate_existing=True)
                assert row is not None
                give_up = charge_crash(row, crash.pages, crash.deaths)
                if give_up:
                    log.error("job failed: the worker pool kept breaking with no page read")
                    await finish_job(session, row, error="worker_crash: the worker processes "
                                     "kept stopping before reading a page")
                else:
                    delay = restart_delay(row)
                    log.error("worker pool broke during the job; queued again", extra={
                        "pages": sorted(crash.pages), "retry_in_s": delay,
                        "deaths": [f"{d.how}:{d.exitcode}:page={d.page}"
                                   for d in crash.deaths if d.how != "stopped"]})
                    if delay:  # killed before reading anything: do not spin
                        now = utcnow()
                        await JobWorkRepository(session).release(
                            job_id, now, now + timedelta(seconds=delay))
                    else:
                        await JobWorkRepository(session).requeue(job_id)
                await session.commit()

    async def _wait_for_space(self, job_id: int) -> None:
        """Release the job's lease for a while: it resumes by itself when space returns."""
        now = utcnow()
        with log_context(job_id=job_id):
            log.warning("disk full: job paused until space returns",
                        extra={"retry_in_s": DISK_FULL_BACKOFF_S})
            try:
                async with self.factory() as session:
                    await JobWorkRepository(session).release(
                        job_id, now, now + timedelta(seconds=DISK_FULL_BACKOFF_S))
                    await session.commit()
            except Exception as exc:  # the database's disk is full too: the lease lapses
                log.warning("could not release the lease: %s", type(exc).__name__)
