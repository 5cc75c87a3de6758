"""Job status as the API shows it: state, progress, per-page problems and the students'
pages the job lacked (:mod:`service.missing_pages`) of the caller's scan jobs (a device
sees only its own, and no student names).

Routers in :mod:`service.api.jobs` call these; queries live in
:class:`service.repositories.jobs.JobRepository` and
:class:`service.repositories.missing_pages.MissingPagesRepository`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import JobRow, ScanUploadRow
from service.missing_pages import job_missing_pages
from service.repositories.jobs import JobRepository
from service.schemas.jobs import JobMissingPagesOut, JobOut, MissingSummaryOut

__all__ = ["TERMINAL", "job_status", "recent_jobs"]

# A job in one of these states changes no more.
TERMINAL = frozenset({"done", "failed", "partially_done"})

_Missing = tuple[list[JobMissingPagesOut], MissingSummaryOut]


def _out(job: JobRow, upload: ScanUploadRow, missing: _Missing | None) -> JobOut:
    total = max(job.pages_total, 1)
    pages, summary = missing if missing is not None else (None, None)
    return JobOut(id=job.id, status=job.status, pages_total=job.pages_total,
                  pages_done=job.pages_done, progress=round(min(job.pages_done / total, 1.0), 4),
                  problems=list(job.problems or []), error=job.error, upload_id=upload.id,
                  filename=upload.filename, worksheet_id=upload.worksheet_hint_id,
                  created_at=job.created_at, finished_at=job.finished_at,
                  missing_pages=pages, missing_summary=summary)


async def _outs(session: AsyncSession, actor: Actor,
                rows: Sequence[tuple[JobRow, ScanUploadRow]]) -> list[JobOut]:
    # Missing pages only once a job has ended: while it runs its pages are still coming.
    missing = await job_missing_pages(session, actor,
                                      [j for j, _ in rows if j.status in TERMINAL])
    return [_out(j, u, missing.get(j.id)) for j, u in rows]


async def recent_jobs(session: AsyncSession, actor: Actor) -> list[JobOut]:
    """The actor's most recent jobs, newest first."""
    return await _outs(session, actor, await JobRepository(session, actor).recent())


async def job_status(session: AsyncSession, actor: Actor, job_id: int) -> JobOut:
    """One job's status.

    Raises:
        NotFound: no such job for the actor.
    """
    return (await _outs(session, actor, [await JobRepository(session, actor).get(job_id)]))[0]
