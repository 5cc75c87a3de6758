"""Queries behind "which pages of which students are missing" (jobs and results).

A student's copy of a worksheet page counts as scanned when a *live* page
(:data:`service.repositories.results.LIVE_PAGE_STATUSES`) of that worksheet, page number and
student is stored, from any upload. A job's students are those with a page of the job that
names them (live, or a ``duplicate`` of a page already stored: the student was in the
stack either way).

Job ids passed in come from a scoped query (:class:`service.repositories.jobs.JobRepository`),
so the job side needs no second check; names are read only for students the actor may see
(:mod:`service.policy`), and never for a device key.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import PageRow, ScanUploadRow, StudentRow, WorksheetRow
from service.policy import visible
from service.repositories.results import LIVE_PAGE_STATUSES

__all__ = ["JOB_MEMBER_STATUSES", "MissingPagesRepository", "ScannedPage"]

# Pages that place a student in a job's stack.
JOB_MEMBER_STATUSES = (*LIVE_PAGE_STATUSES, "duplicate")


@dataclass(frozen=True, slots=True)
class ScannedPage:
    """One live page of a student's copy.

    Attributes:
        worksheet_id: the worksheet.
        student_id: the student.
        page_no: the worksheet page (1-based).
        stored_at: when the page was stored.
    """

    worksheet_id: int
    student_id: int
    page_no: int
    stored_at: datetime


class MissingPagesRepository:
    """Read-only queries for missing pages, for one actor.

    Args:
        session: the unit of work.
        actor: the caller (names are limited to the students it may see).
    """

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def job_students(self, job_ids: Collection[int]
                           ) -> dict[int, set[tuple[int, int]]]:
        """The (worksheet id, student id) pairs with a page in each job.

        Args:
            job_ids: jobs already checked visible to the actor.

        Returns:
            Job id -> pairs (jobs with none are absent).
        """
        if not job_ids:
            return {}
        rows = await self.session.execute(
            select(ScanUploadRow.job_id, PageRow.worksheet_id, PageRow.student_id).distinct()
            .join(ScanUploadRow, ScanUploadRow.id == PageRow.upload_id)
            .where(ScanUploadRow.job_id.in_(list(job_ids)),
                   PageRow.status.in_(JOB_MEMBER_STATUSES),
                   PageRow.worksheet_id.is_not(None), PageRow.student_id.is_not(None)))
        out: dict[int, set[tuple[int, int]]] = {}
        for job_id, ws, st in rows.all():
            if job_id is not None and ws is not None and st is not None:
                out.setdefault(int(job_id), set()).add((int(ws), int(st)))
        return out

    async def scanned_pages(self, worksheet_ids: Collection[int],
                            student_ids: Collection[int] | None = None) -> list[ScannedPage]:
        """Every live page of these worksheets (of these students, when given).

        Args:
            worksheet_ids: worksheets already checked visible (or reached through a
                visible job).
            student_ids: only these students' pages; None: every student's.
        """
        if not worksheet_ids or (student_ids is not None and not student_ids):
            return []
        q = (select(PageRow.worksheet_id, PageRow.student_id, PageRow.page_no,
                    PageRow.created_at)
             .where(PageRow.worksheet_id.in_(list(worksheet_ids)),
                    PageRow.status.in_(LIVE_PAGE_STATUSES), PageRow.student_id.is_not(None),
                    PageRow.page_no.is_not(None)))
        if student_ids is not None:
            q = q.where(PageRow.student_id.in_(list(student_ids)))
        return [ScannedPage(int(ws), int(st), int(no), at)
                for ws, st, no, at in (await self.session.execute(q)).all()
                if ws is not None and st is not None and no is not None]

    async def page_counts(self, worksheet_ids: Collection[int]) -> dict[int, int]:
        """Each worksheet's number of pages."""
        if not worksheet_ids:
            return {}
        rows = await self.session.execute(
            select(WorksheetRow.id, WorksheetRow.page_count)
            .where(WorksheetRow.id.in_(list(worksheet_ids))))
        return {int(i): int(n) for i, n in rows.all()}

    async def names(self, student_ids: Collection[int]) -> dict[int, tuple[str, str]]:
        """Student number and name of the students the actor may see (none for a device).

        Returns:
            Student id -> (student number, name).
        """
        if not student_ids or self.actor.is_device:
            return {}
        rows = await self.session.execute(
            select(StudentRow.id, StudentRow.student_no, StudentRow.name)
            .where(StudentRow.id.in_(list(student_ids)), visible(StudentRow, self.actor)))
        return {int(i): (str(no), str(name)) for i, no, name in rows.all()}
