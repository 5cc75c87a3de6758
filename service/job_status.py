"""Job status as the API shows it: state, progress and per-page problems of the caller's
scan jobs (a device sees only its own).

Routers in :mod:`service.api.jobs` call these; queries live in
:class:`service.repositories.jobs.JobRepository`.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import JobRow, ScanUploadRow
from service.repositories.jobs import JobRepository
from service.schemas.jobs import JobOut

__all__ = ["TERMINAL", "job_status", "recent_jobs"]

# A job in one of these states changes no more.
TERMINAL = frozenset({"done", "failed", "partially_done"})


def _out(job: JobRow, upload: ScanUploadRow) -> JobOut:
    total = max(job.pages_total, 1)
    return JobOut(id=job.id, status=job.status, pages_total=job.pages_total,
                  pages_done=job.pages_done, progress=round(min(job.pages_done / total, 1.0), 4),
                  problems=list(job.problems or []), error=job.error, upload_id=upload.id,
                  filename=upload.filename, worksheet_id=upload.worksheet_hint_id,
                  created_at=job.created_at, finished_at=job.finished_at)


async def recent_jobs(session: AsyncSession, actor: Actor) -> list[JobOut]:
    """The actor's most recent jobs, newest first."""
    return [_out(j, u) for j, u in await JobRepository(session, actor).recent()]


async def job_status(session: AsyncSession, actor: Actor, job_id: int) -> JobOut:
    """One job's status.

    Raises:
        NotFound: no such job for the actor.
    """
    job, upload = await JobRepository(session, actor).get(job_id)
    return _out(job, upload)
