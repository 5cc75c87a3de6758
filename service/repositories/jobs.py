"""Jobs as their owners see them: a teacher sees the jobs of their uploads, a device the
jobs of its own uploads, an admin every job of the school."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import JobRow, ScanUploadRow
from service.errors import NotFound
from service.policy import scoped

__all__ = ["JobRepository"]


class JobRepository:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    def _visible(self) -> Select[JobRow, ScanUploadRow]:
        q = (select(JobRow, ScanUploadRow).join(ScanUploadRow, ScanUploadRow.job_id == JobRow.id)
             .where(JobRow.school_id == self.actor.school_id))
        return scoped(q, ScanUploadRow, self.actor)

    async def get(self, job_id: int) -> tuple[JobRow, ScanUploadRow]:
        """The job and its upload. Raises NotFound for unknown or other people's jobs."""
        row = (await self.session.execute(self._visible().where(JobRow.id == job_id))).first()
        if row is None:
            raise NotFound(f"job {job_id} not found")
        return row[0], row[1]

    async def recent(self, limit: int = 50) -> list[tuple[JobRow, ScanUploadRow]]:
        rows = await self.session.execute(self._visible().order_by(JobRow.id.desc()).limit(limit))
        return [(j, u) for j, u in rows.all()]
