"""How a scan job recovers: worker crashes are counted per page, a full disk is waited out,
and a job that ended failed (or with pages left unread) can be retried.

* **Crashes are a page's, not the job's.** A worker process that dies (out of memory, a
  native crash) breaks the pool; every page then in flight is charged one crash in the
  job's payload (``payload["page_crashes"]``, page index to count). A charged page is read
  alone next time, so a second crash names the page for sure; a page charged
  :data:`MAX_PAGE_CRASHES` times is skipped with a ``worker_crash`` problem and the job
  reads the rest. A lease that lapsed because the whole process stopped (a restart, a
  ``kill -9`` of the server) charges nothing: claims are not failures.
* **A pool that breaks with no page in flight** (a worker that dies while starting) is
  charged to the job (``payload["pool_breaks"]``); after :data:`MAX_POOL_BREAKS` the job
  ends with that reason rather than loop for ever.
* **A full disk** never fails a job: the runner releases its lease for
  :data:`DISK_FULL_BACKOFF_S` and claims it again (see :mod:`service.jobs.runner`).
* **Retry** (:func:`retry_job`, ``POST /api/v1/jobs/{id}:retry``) queues a ``failed`` job,
  or a ``partially_done`` one with pages not stored, again: stored pages are kept and never
  read again; the skipped pages' crash counts are forgotten, so they are tried afresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import JobRow
from service.db.base import utcnow
from service.errors import Conflict
from service.job_status import job_status
from service.repositories import audit
from service.repositories.jobs import JobRepository, JobWorkRepository
from service.schemas.jobs import JobOut

__all__ = ["CRASH_PROBLEM", "DISK_FULL_BACKOFF_S", "MAX_PAGE_CRASHES", "MAX_POOL_BREAKS",
           "DiskFull", "WorkerCrash", "can_retry", "charge_crash", "crash_problem",
           "page_crashes", "retry_job", "retry_url"]

MAX_PAGE_CRASHES = 2  # once with others in flight, once alone: then it is the page's
MAX_POOL_BREAKS = 3
DISK_FULL_BACKOFF_S = 30.0
CRASH_PROBLEM = "worker_crash"


class WorkerCrash(Exception):
    """The worker pool broke while the job ran.

    Args:
        pages: the indices of the pages in flight when it broke (maybe none).
    """

    def __init__(self, pages: Iterable[int]) -> None:
        self.pages = frozenset(pages)
        super().__init__(f"worker pool broke with pages {sorted(self.pages)} in flight")


class DiskFull(Exception):
    """Storing a page hit a full disk (``ENOSPC``/``EDQUOT``, or the database's own)."""


def page_crashes(payload: dict[str, Any] | None) -> dict[int, int]:
    """The job's crash count per page index (from its payload)."""
    raw = (payload or {}).get("page_crashes") or {}
    return {int(k): int(v) for k, v in raw.items()}


def crash_problem(page_index: int, crashes: int) -> dict[str, Any]:
    """The problem entry of a page skipped because reading it kept killing the worker."""
    return {"page_index": page_index, "status": CRASH_PROBLEM,
            "problem": f"reading this page stopped the worker process {crashes} times; it was "
                       "skipped (retry the job to try again) / 读取这一页时处理进程多次崩溃，"
                       "已跳过（可重试）"}


def charge_crash(job: JobRow, pages: frozenset[int]) -> bool:
    """Charge a pool break to the pages in flight, or to the job when there were none.

    Args:
        job: the job row (its payload is replaced, so the change is saved).
        pages: the pages in flight when the pool broke.

    Returns:
        True when the job should give up (the pool kept breaking with no page to blame).
    """
    payload = dict(job.payload or {})
    if pages:
        counts = page_crashes(payload)
        for index in pages:
            counts[index] = counts.get(index, 0) + 1
        payload["page_crashes"] = {str(k): v for k, v in sorted(counts.items())}
    else:
        payload["pool_breaks"] = int(payload.get("pool_breaks", 0)) + 1
    job.payload = payload
    return int(payload.get("pool_breaks", 0)) >= MAX_POOL_BREAKS


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
               if k not in ("page_crashes", "pool_breaks")}
    problems = [p for p in job.problems or [] if p.get("status") != CRASH_PROBLEM]
    if not await JobWorkRepository(session).retry(job_id, utcnow(), payload, problems):
        raise Conflict(f"job {job_id} changed meanwhile; reload it", error="job_not_retryable")
    await audit.record(session, actor, "scan.retry", "job", job_id, ip=ip,
                       detail={"pages_done": job.pages_done, "pages_total": job.pages_total})
    await session.refresh(job)
    return await job_status(session, actor, job_id)
