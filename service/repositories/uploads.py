"""Stored scan uploads: finding one received before, and recording a new one with its job.

Used by :mod:`service.ingestion` inside the request's unit of work (flush only).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import JobRow, ScanUploadRow

__all__ = ["UploadRepository"]


class UploadRepository:
    """Lookups and the insert behind accepting a scan."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_sha256(self, school_id: int, sha256: str) -> ScanUploadRow | None:
        """The school's upload of exactly these bytes, if any (one per school)."""
        return (await self.session.execute(select(ScanUploadRow).where(
            ScanUploadRow.school_id == school_id, ScanUploadRow.sha256 == sha256))
        ).scalar_one_or_none()

    async def by_idempotency_key(self, school_id: int, key: str, *, device_id: int | None,
                                 teacher_id: int) -> ScanUploadRow | None:
        """The upload sent earlier under this ``Idempotency-Key``: the device's own when a
        device sends, else the teacher's."""
        q = select(ScanUploadRow).where(ScanUploadRow.school_id == school_id,
                                        ScanUploadRow.idempotency_key == key)
        if device_id is not None:
            q = q.where(ScanUploadRow.device_id == device_id)
        else:
            q = q.where(ScanUploadRow.teacher_id == teacher_id)
        return (await self.session.execute(q.limit(1))).scalar_one_or_none()

    async def add_with_job(self, job: JobRow, upload: ScanUploadRow) -> None:
        """Insert the job and its upload, linked both ways, in a savepoint.

        Raises:
            IntegrityError: the same bytes were recorded concurrently (the savepoint is
                rolled back; the outer unit of work stays usable).
        """
        async with self.session.begin_nested():
            self.session.add(job)
            await self.session.flush()
            upload.job_id = job.id
            self.session.add(upload)
            await self.session.flush()
            job.payload = {**job.payload, "upload_id": upload.id}
            await self.session.flush()
