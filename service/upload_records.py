"""Record the uploads a web process accepts at the same moment in one transaction.

A class's stacks arrive together (the bell rings, every copier sends): fifty uploads in a
second, each needing its upload row, its job, the link between them and an audit event.
Written one upload at a time, those four statements and a commit were about half of an
upload's CPU, and on SQLite every commit queued on the one write lock. The
:class:`UploadRecorder` of a web process takes every upload waiting to be recorded, writes
them all with one statement per table and commits once; what arrives meanwhile goes in the
next transaction (a group commit). One upload alone is written at once, as before.

Each upload's rows are committed before its request answers, exactly as when the request
wrote them itself: a ``202`` always names a job already in the database. An upload whose
bytes the school already has (a concurrent request with the same file, in this
transaction or another) gets ``None`` and nothing is written for it. If a transaction
fails, each of its uploads is written again in a transaction of its own, so one bad
upload fails only its own request.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db import JobRow, ScanUploadRow
from service.repositories.audit import insert_events
from service.repositories.uploads import LINK_JOB, NEW_UPLOAD

__all__ = ["UploadRecorder"]

log = logging.getLogger(__name__)

_JOBS = cast(Table, JobRow.__table__)
_UPLOADS = cast(Table, ScanUploadRow.__table__)
# The repository's insert of one upload, saying also which upload each row written is (by
# school and hash: one upload per school and hash), since several go in at once.
_NEW_UPLOADS = {name: insert.returning(_UPLOADS.c.school_id, _UPLOADS.c.sha256)
                for name, insert in NEW_UPLOAD.items()}
# A job names its upload in its payload: that is how the rows written are matched up.
_NEW_JOBS = insert(_JOBS).returning(_JOBS.c.id, _JOBS.c.payload)


@dataclass
class _Waiting:
    """One upload waiting to be recorded, and its request's future."""

    job: dict[str, Any]
    upload: dict[str, Any]
    audit: dict[str, Any]
    done: asyncio.Future[tuple[int, int] | None] = field(repr=False)


class UploadRecorder:
    """Writes the uploads of a web process (see the module docstring).

    Args:
        factory: sessions for the recorder's own transactions.
    """

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = factory
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self.transactions = 0  # committed: how many uploads shared one shows in tests

    async def record(self, job: dict[str, Any], upload: dict[str, Any],
                     audit: dict[str, Any]) -> tuple[int, int] | None:
        """Write an upload, its job and its audit event; return once they are committed.

        Args:
            job: the job's columns (its payload gains ``upload_id``).
            upload: the upload's columns.
            audit: the audit event's columns (:func:`service.repositories.audit.event_row`);
                its ``target_id`` becomes the job's id, its detail gains ``upload_id``.

        Returns:
            The upload's and the job's ids; None, with nothing written, when the school
            has an upload of these bytes already.
        """
        done: asyncio.Future[tuple[int, int] | None] = \
            asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(job, upload, audit, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_waiting())
        # Shielded: a client that goes away does not take its upload out of the
        # transaction that the others share.
        return await asyncio.shield(done)

    async def _write_waiting(self) -> None:
        try:
            # Let the requests that are ready in this turn of the loop join the first
            # transaction too (they arrive together).
            await asyncio.sleep(0)
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._write(batch)
        finally:
            self._writer = None
            left, self._waiting = self._waiting, []  # stopped early (cancelled)
            for one in left:
                if not one.done.done():
                    one.done.set_exception(RuntimeError("recording uploads stopped"))

    async def _write(self, batch: list[_Waiting]) -> None:
        try:
            async with self._factory() as session:
                ids = await _insert(session, batch)
                await session.commit()
        except Exception as exc:
            if len(batch) == 1:
                if not batch[0].done.done():
                    batch[0].done.set_exception(exc)
                return
            log.warning("recording uploads together failed; recording each alone",
                        extra={"uploads": len(batch), "error": type(exc).__name__})
            for one in batch:
                await self._write([one])
            return
        except BaseException as exc:  # cancelled (shutting down): nobody is left hanging
            for one in batch:
                if not one.done.done():
                    one.done.set_exception(RuntimeError(f"recording stopped: {exc!r}"))
            raise
        self.transactions += 1
        for one, got in zip(batch, ids, strict=True):
            if not one.done.done():
                one.done.set_result(got)


async def _insert(session: AsyncSession, batch: list[_Waiting]
                  ) -> list[tuple[int, int] | None]:
    """Write the batch's rows (no commit): each upload's (upload id, job id), or None."""
    dialect = session.get_bind().dialect.name
    rows = (await session.execute(
        _NEW_UPLOADS["postgresql" if dialect == "postgresql" else "sqlite"],
        [one.upload for one in batch])).all()
    written = {(int(school), str(sha)): int(upload_id) for upload_id, school, sha in rows}
    upload_ids: list[int | None] = []
    for one in batch:
        # Two requests with the same bytes in one batch: the first has the row.
        upload_ids.append(written.pop((one.upload["school_id"], one.upload["sha256"]), None))
    new = [(one, upload_id) for one, upload_id in zip(batch, upload_ids, strict=True)
           if upload_id is not None]
    job_of: dict[int, int] = {}
    if new:
        jobs = [{**one.job, "payload": {**one.job.get("payload", {}), "upload_id": upload_id}}
                for one, upload_id in new]
        for job_id, payload in (await session.execute(_NEW_JOBS, jobs)).all():
            job_of[int(payload["upload_id"])] = int(job_id)
        await session.execute(LINK_JOB, [{"upload": upload_id, "job": job_of[upload_id]}
                                           for _, upload_id in new])
        await insert_events(session, [
            {**one.audit, "target_id": job_of[upload_id],
             "detail": {"upload_id": upload_id, **one.audit.get("detail", {})}}
            for one, upload_id in new])
    return [(upload_id, job_of[upload_id]) if upload_id is not None else None
            for upload_id in upload_ids]
