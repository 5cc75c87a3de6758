"""How a scan job recovers: worker deaths are charged to the page being read, a full disk
is waited out, and a job that ended failed (or with pages left unread) can be retried.

* **A crash is a page's, a kill is probably not.** The page pool
  (:class:`service.jobs.pagepool.PagePool`) says, when a worker dies, which page it was
  reading and how it died. A *crash* (a native fault such as ``SIGSEGV``, an abort, any
  exit of the process) is charged to that page in the job's payload
  (``payload["page_crashes"]``); a *kill* (``SIGKILL``: ``kill -9``, a drill, the OOM
  killer) is charged too (``payload["page_kills"]``) but weighs half as much, because a
  kill from outside lands on whatever page was being read; the workers the pool itself
  stops after a break (``SIGTERM``) charge nothing, and nor does a page that was only
  waiting in the queue. A charged page is read alone next time. A page is skipped with a
  ``worker_crash`` problem once ``crashes / MAX_PAGE_CRASHES + kills / MAX_PAGE_KILLS``
  reaches 1 (:func:`page_spent`): after 2 crashes, or 4 kills, or 1 crash and 2 kills, so a
  page that truly stops its reader every time is tried a bounded number of times while
  the rest of the job is read. A lease that lapsed because the whole process stopped (a
  restart, a ``kill -9`` of the server) charges nothing: claims are not failures.
* **When the pool cannot say** (an executor other than the page pool: threads in tests),
  every page in flight is charged a crash, as the safe default.
* **A worker that dies while starting or idle** is charged to the job. A crash counts in
  ``payload["pool_breaks"]``: a job whose pool broke :data:`MAX_POOL_BREAKS` times with no
  page stored in between ends with that reason rather than loop for ever. A kill tells
  nothing about the job (a drill, an operator, an OOM killer short of memory for the
  models), so it never fails it: it counts in ``payload["pool_kills"]`` and the job waits
  before its pool is started again, twice as long after each kill with no page stored in
  between (:func:`restart_delay`, at most :data:`POOL_KILL_BACKOFF_MAX_S`), so a box that
  cannot keep its workers alive does not spin. A page stored resets both counts.
* **A full disk** never fails a job: the runner releases its lease for
  :data:`DISK_FULL_BACKOFF_S` and claims it again (see :mod:`service.jobs.runner`).
* **Retry** (:func:`retry_job`, ``POST /api/v1/jobs/{id}:retry``) queues a ``failed`` job,
  or a ``partially_done`` one with pages not stored, again: stored pages are kept and never
  read again; the skipped pages' crash counts are forgotten, so they are tried afresh.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import JobRow
from service.db.base import utcnow
from service.errors import Conflict
from service.job_status import job_status
from service.repositories import audit
from service.repositories.jobs import JobRepository, JobWorkRepository
from service.schemas.jobs import JobOut

__all__ = ["CRASH_PROBLEM", "DISK_FULL_BACKOFF_S", "IDLE", "MAX_PAGE_CRASHES",
           "MAX_PAGE_KILLS", "MAX_POOL_BREAKS", "POOL_KILL_BACKOFF_MAX_S", "READER_FAILED",
           "STARTING", "DiskFull",
           "WorkerCrash", "WorkerDeath", "can_retry", "charge_crash", "crash_problem",
           "page_crashes", "page_kills", "page_spent", "restart_delay", "retry_job",
           "retry_url"]

MAX_PAGE_CRASHES = 2  # a crash can be a fluke once; twice on the same page it is the page's
# A kill from outside hits whatever page was being read: it takes twice as many to skip
# a page (one that makes the OOM killer take its reader every time still is, after 4).
MAX_PAGE_KILLS = 4
MAX_POOL_BREAKS = 3  # crashes while starting or idle, with no page stored in between
POOL_KILL_BACKOFF_MAX_S = 10.0  # the longest wait after kills while starting or idle
DISK_FULL_BACKOFF_S = 30.0
CRASH_PROBLEM = "worker_crash"
# A page a reader failed on, left unread (service.jobs.drillstore): read again on a retry.
READER_FAILED = "engine_error"


IDLE = -1  # a worker's note: started, reading no page
STARTING = -2  # a worker's note: loading its models


@dataclass(frozen=True)
class WorkerDeath:
    """A page worker that exited: its pid, exit code (``-N`` for signal ``N``) and the
    page it was reading (a page index, :data:`IDLE` or :data:`STARTING`)."""

    pid: int
    exitcode: int
    page: int

    @property
    def how(self) -> Literal["killed", "stopped", "crashed"]:
        """``killed`` by ``SIGKILL`` (from outside), ``stopped`` by ``SIGTERM`` (the pool
        clearing up after a break, or the service stopping), else ``crashed``."""
        if self.exitcode == -signal.SIGKILL:
            return "killed"
        if self.exitcode == -signal.SIGTERM:
            return "stopped"
        return "crashed"


class WorkerCrash(Exception):
    """The worker pool broke while the job ran.

    Args:
        pages: the indices of the pages in flight when it broke (maybe none).
        deaths: the workers that died and what each was reading, when the pool can say
            (empty: it cannot, and every page in flight is suspect).
    """

    def __init__(self, pages: Iterable[int], deaths: Iterable[WorkerDeath] = ()) -> None:
        self.pages = frozenset(pages)
        self.deaths = tuple(deaths)
        super().__init__(f"worker pool broke with pages {sorted(self.pages)} in flight")


class DiskFull(Exception):
    """Storing a page hit a full disk (``ENOSPC``/``EDQUOT``, or the database's own)."""


def _counts(payload: dict[str, Any] | None, key: str) -> dict[int, int]:
    raw = (payload or {}).get(key) or {}
    return {int(k): int(v) for k, v in raw.items()}


def page_crashes(payload: dict[str, Any] | None) -> dict[int, int]:
    """The job's crash count per page index (from its payload)."""
    return _counts(payload, "page_crashes")


def page_kills(payload: dict[str, Any] | None) -> dict[int, int]:
    """The job's kill count per page index (from its payload)."""
    return _counts(payload, "page_kills")


def page_spent(crashes: int, kills: int) -> bool:
    """Whether a page charged ``crashes`` crashes and ``kills`` kills is skipped."""
    return crashes * MAX_PAGE_KILLS + kills * MAX_PAGE_CRASHES >= (MAX_PAGE_CRASHES
                                                                  * MAX_PAGE_KILLS)


def crash_problem(page_index: int, times: int) -> dict[str, Any]:
    """The problem entry of a page skipped because reading it kept killing the worker."""
    return {"page_index": page_index, "status": CRASH_PROBLEM,
            "problem": f"reading this page stopped the worker process {times} times; it was "
                       "skipped (retry the job to try again) / 读取这一页时处理进程多次崩溃，"
                       "已跳过（可重试）"}


def charge_crash(job: JobRow, pages: frozenset[int],
                 deaths: Iterable[WorkerDeath] = ()) -> bool:
    """Charge a pool break to the page each dead worker was reading, or to the job.

    Args:
        job: the job row (its payload is replaced, so the change is saved; its
            ``pages_done`` tells whether a page was stored since the last break).
        pages: the pages in flight when the pool broke.
        deaths: the workers that died and what they were reading; empty when the pool
            cannot say, and then every page in flight is charged a crash.

    Returns:
        True when the job should give up (the pool kept breaking with no page to blame).
    """
    payload = dict(job.payload or {})
    crashes, kills = page_crashes(payload), page_kills(payload)
    if int(payload.get("pool_breaks_at", -1)) != job.pages_done:
        # Progress since the last break without a page to blame: start counting afresh.
        payload.pop("pool_breaks", None)
        payload.pop("pool_kills", None)
    deaths = tuple(deaths)
    if not deaths:
        blamed = [("crashed", index) for index in pages] or [("crashed", STARTING)]
    else:
        blamed = [(d.how, d.page) for d in deaths if d.how != "stopped"]
    for how, index in blamed:
        if index >= 0:
            counts = kills if how == "killed" else crashes
            counts[index] = counts.get(index, 0) + 1
        else:
            key = "pool_kills" if how == "killed" else "pool_breaks"
            payload[key] = int(payload.get(key, 0)) + 1
            payload["pool_breaks_at"] = job.pages_done
    for key, counts in (("page_crashes", crashes), ("page_kills", kills)):
        if counts:
            payload[key] = {str(k): v for k, v in sorted(counts.items())}
    job.payload = payload
    return int(payload.get("pool_breaks", 0)) >= MAX_POOL_BREAKS


def restart_delay(job: JobRow) -> float:
    """Seconds to wait before the job's pool is started again: none, unless its workers
    were killed while starting or idle with no page stored since (1 s, 2 s, 4 s, ...)."""
    payload = job.payload or {}
    kills = int(payload.get("pool_kills", 0))
    if not kills or int(payload.get("pool_breaks_at", -1)) != job.pages_done:
        return 0.0
    return float(min(POOL_KILL_BACKOFF_MAX_S, 2.0 ** (kills - 1)))


class _Progress(Protocol):
    status: str
    pages_done: int
    pages_total: int


def can_retry(job: _Progress) -> bool:
    """Whether retrying could change the job (a row or its API view): it failed, or it
    ended with pages unread."""
    return job.status == "failed" or (job.status == "partially_done"
                                      and job.pages_done < job.pages_total)


def retry_url(job: JobRow) -> str | None:
    """Where to retry the job, when it can be retried."""
    return f"/api/v1/jobs/{job.id}:retry" if can_retry(job) else None


async def retry_job(session: AsyncSession, actor: Actor, job_id: int,
                    ip: str | None = None) -> JobOut:
    """Queue a failed (or partly read) job again, keeping every stored page (flush only).

    Args:
        session: the request's unit of work.
        actor: the job's owner (its uploader) or an admin.
        job_id: the job.
        ip: the client's address, for the audit log.

    Returns:
        The job, queued.

    Raises:
        NotFound: no such job for the actor.
        Conflict: ``job_not_retryable`` when the job is queued, running, done, or ended
            with every page stored.
    """
    job, _ = await JobRepository(session, actor).get(job_id)
    if not can_retry(job):
        raise Conflict(f"job {job_id} is {job.status} with {job.pages_done} of "
                       f"{job.pages_total} pages stored: there is nothing to retry / "
                       "这个任务没有可以重试的内容", error="job_not_retryable")
    payload = {k: v for k, v in (job.payload or {}).items()
               if k not in ("page_crashes", "page_kills", "pool_breaks", "pool_kills",
                            "pool_breaks_at")}
    # Pages left unread (a crash, a reader that failed: service.jobs.drillstore) are read
    # again: their problems go with them, and come back only if it happens again.
    problems = [p for p in job.problems or []
                if p.get("status") not in (CRASH_PROBLEM, READER_FAILED)]
    if not await JobWorkRepository(session).retry(job_id, utcnow(), payload, problems):
        raise Conflict(f"job {job_id} changed meanwhile; reload it", error="job_not_retryable")
    await audit.record(session, actor, "scan.retry", "job", job_id, ip=ip,
                       detail={"pages_done": job.pages_done, "pages_total": job.pages_total})
    await session.refresh(job)
    return await job_status(session, actor, job_id)
