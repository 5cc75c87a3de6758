"""What an annotated paper is drawn from: a worksheet's scanned pages with their students,
its questions, and the current grade of every answer on those pages.

The caller has checked access to the worksheet; nothing here is scoped again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import (
    GradeRow,
    PageRow,
    QuestionRow,
    ResponseRow,
    ScanUploadRow,
    StudentRow,
    WorksheetItemRow,
)

__all__ = ["AnnotatedRepository"]


class AnnotatedRepository:
    """Read-only queries behind :func:`service.annotated.annotated_pdf`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def scanned_pages(self, worksheet_id: int, statuses: Sequence[str],
                            student_ids: Sequence[int] | None
                            ) -> list[tuple[PageRow, str, StudentRow]]:
        """(page, its upload's storage key, student) of the worksheet's pages in these
        statuses, in roster then page order; only these students' when given."""
        q = (select(PageRow, ScanUploadRow.storage_key, StudentRow)
             .join(ScanUploadRow, ScanUploadRow.id == PageRow.upload_id)
             .join(StudentRow, StudentRow.id == PageRow.student_id)
             .where(PageRow.worksheet_id == worksheet_id, PageRow.status.in_(statuses))
             .order_by(StudentRow.student_no, PageRow.page_no))
        if student_ids is not None:
            q = q.where(PageRow.student_id.in_(student_ids))
        return [(p, str(k), s) for p, k, s in (await self.session.execute(q)).all()]

    async def questions(self, worksheet_id: int) -> dict[int, tuple[str, float]]:
        """(bank id, full score) of each question on the worksheet, by question row id."""
        rows = await self.session.execute(
            select(QuestionRow.id, QuestionRow.external_id, QuestionRow.score)
            .join(WorksheetItemRow, WorksheetItemRow.question_id == QuestionRow.id)
            .where(WorksheetItemRow.worksheet_id == worksheet_id))
        return {qid: (ext, float(score)) for qid, ext, score in rows.all()}

    async def graded_responses(self, page_ids: Sequence[int]
                               ) -> dict[int, list[tuple[ResponseRow, GradeRow | None]]]:
        """Every response on these pages with its current grade (None for a later blank of
        a multi-blank answer), by page id."""
        rows = await self.session.execute(
            select(ResponseRow, GradeRow)
            .outerjoin(GradeRow, (GradeRow.response_id == ResponseRow.id)
                       & GradeRow.is_current.is_(True))
            .where(ResponseRow.page_id.in_(page_ids)))
        out: dict[int, list[tuple[ResponseRow, GradeRow | None]]] = defaultdict(list)
        for response, grade in rows.all():
            out[response.page_id].append((response, grade))
        return out
