"""Reads the review pages need beyond the queue: one answer whether or not it still waits
(to reopen a decision), and the blanks of an answer (to show what confirming would give);
and what dismissing a page from the queue touches besides the page: its job's problem list
and the audit trail it is undone from.

Every lookup is scoped like the review API: an answer of a worksheet the actor may not see
is not found.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from service.actor import Actor
from service.db import (
    AuditEventRow,
    GradeRow,
    JobRow,
    PageRow,
    QuestionRow,
    ResponseRow,
    ScanUploadRow,
    WorksheetItemRow,
)
from service.errors import NotFound
from service.repositories.results import ItemInfo
from service.repositories.visibility import visible_worksheets

__all__ = ["ReviewPagesRepository"]


class ReviewPagesRepository:
    """Review-page reads for one actor.

    Args:
        session: the unit of work.
        actor: the caller; answers of worksheets the caller may not see are not found.
    """

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def answer_row(self, response_id: int) -> tuple[Any, ...]:
        """One graded answer as a queue row: ``(response, current grade, page, position,
        question bank id)``, the response being the question's first blank.

        Raises:
            NotFound: no such response, no current grade, or another teacher's.
        """
        first = (await self.session.execute(
            select(ResponseRow.page_id, ResponseRow.question_id)
            .where(ResponseRow.id == response_id,
                   ResponseRow.worksheet_id.in_(visible_worksheets(self.actor)))
        )).first()
        if first is None:
            raise NotFound(f"response {response_id} not found")
        row = (await self.session.execute(
            select(ResponseRow, GradeRow, PageRow, WorksheetItemRow.position,
                   QuestionRow.external_id)
            .join(GradeRow, and_(GradeRow.response_id == ResponseRow.id,
                                 GradeRow.is_current.is_(True)))
            .join(PageRow, PageRow.id == ResponseRow.page_id)
            .join(QuestionRow, QuestionRow.id == ResponseRow.question_id)
            .join(WorksheetItemRow, and_(WorksheetItemRow.worksheet_id == ResponseRow.worksheet_id,
                                         WorksheetItemRow.question_id == ResponseRow.question_id))
            .where(ResponseRow.page_id == first[0], ResponseRow.question_id == first[1])
            .order_by(ResponseRow.blank, GradeRow.id.desc()).limit(1)
        )).first()
        if row is None:
            raise NotFound(f"response {response_id} has no grade", error="not_graded")
        return tuple(row)

    async def blanks(self, response_id: int) -> list[ResponseRow]:
        """Every blank's response of the question ``response_id`` answers, on its page, in
        blank order (callers pass an id from a row already scoped)."""
        one = aliased(ResponseRow)
        rows = await self.session.execute(
            select(ResponseRow).where(
                ResponseRow.page_id == select(one.page_id).where(one.id == response_id)
                .scalar_subquery(),
                ResponseRow.question_id == select(one.question_id).where(one.id == response_id)
                .scalar_subquery())
            .order_by(ResponseRow.blank))
        return list(rows.scalars())

    async def mark_job_problem(self, upload: ScanUploadRow, page_index: int,
                               dismissed: bool) -> None:
        """Mark (or unmark) the page's entry in its job's problem list as dismissed, so the
        job page shows it cleared (callers pass an upload already scoped)."""
        if upload.job_id is None:
            return
        job = await self.session.get(JobRow, upload.job_id)
        if job is None or not job.problems:
            return
        problems = []
        for p in job.problems:
            if isinstance(p, dict) and int(p.get("page_index", -1)) == page_index:
                p = {k: v for k, v in p.items() if k != "dismissed"}
                if dismissed:
                    p["dismissed"] = True
            problems.append(p)
        job.problems = problems  # a new list: the JSON column sees the change
        await self.session.flush()

    async def status_before_dismissal(self, page_id: int) -> str | None:
        """The page's status before its latest dismissal, from the audit trail (callers
        pass a page already scoped); None if no dismissal was recorded."""
        detail = (await self.session.execute(
            select(AuditEventRow.detail)
            .where(AuditEventRow.action == "review.dismiss_page",
                   AuditEventRow.target_type == "page", AuditEventRow.target_id == page_id)
            .order_by(AuditEventRow.id.desc()).limit(1)
        )).scalar_one_or_none()
        status = detail.get("previous_status") if isinstance(detail, dict) else None
        return str(status) if status else None

    async def item(self, worksheet_id: int, external_id: str) -> ItemInfo | None:
        """One question of a worksheet with its current key, as
        :meth:`ResultsRepository.items` gives it (callers pass a worksheet from a row
        already scoped); None if the question is not on it."""
        row = (await self.session.execute(
            select(WorksheetItemRow.position, QuestionRow.id, QuestionRow.external_id,
                   QuestionRow.kind, QuestionRow.key_revision, QuestionRow.score,
                   QuestionRow.document)
            .join(QuestionRow, QuestionRow.id == WorksheetItemRow.question_id)
            .where(WorksheetItemRow.worksheet_id == worksheet_id,
                   QuestionRow.external_id == external_id)
            .order_by(WorksheetItemRow.position).limit(1)
        )).first()
        if row is None:
            return None
        position, qid, ext, kind, revision, score, doc = row
        return ItemInfo(position, qid, ext, str(doc.get("kind", kind)), revision,
                        float(doc.get("score", score)), doc)
