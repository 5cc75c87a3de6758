"""Queries behind worksheet results: items and their keys, roster, answers and grades.

Every query is scoped by the actor through :mod:`service.repositories.visibility`. Only
*live* pages count towards results: ``graded`` and ``misaligned`` pages that name a student
(a ``duplicate`` page, or one replaced in review, keeps its rows for the record but never
adds to a total).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import (
    GradeRow,
    PageRow,
    ResponseRow,
    StudentRow,
    WorksheetRow,
)
from service.errors import NotFound
from service.repositories.pinned_keys import pinned_items
from service.repositories.visibility import visible_worksheets

__all__ = ["LIVE_PAGE_STATUSES", "Answer", "ItemInfo", "ResultsRepository"]

# Pages whose answers count for their student.
LIVE_PAGE_STATUSES = ("graded", "misaligned")


@dataclass(frozen=True)
class ItemInfo:
    """One worksheet question with the answer key it was set with.

    Attributes:
        position: 1-based order on the worksheet.
        question_row_id: the bank row id.
        external_id: the bank id teachers see (``m3-add-001``).
        kind: the question kind.
        revision: the key revision the worksheet uses.
        max_score: the question's score.
        document: the question document at that revision.
    """

    position: int
    question_row_id: int
    external_id: str
    kind: str
    revision: int
    max_score: float
    document: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """One answer region of one page with its current grade (None if never graded)."""

    response: ResponseRow
    page: PageRow
    grade: GradeRow | None


class ResultsRepository:
    """Read access to a worksheet's results for one actor.

    Args:
        session: the unit of work.
        actor: the caller; every query is limited to what the caller may see.
    """

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def worksheet(self, worksheet_id: int) -> WorksheetRow:
        """The worksheet, if visible.

        Raises:
            NotFound: no such worksheet, or one the actor may not see.
        """
        row = (await self.session.execute(
            select(WorksheetRow).where(WorksheetRow.id == worksheet_id,
                                       WorksheetRow.id.in_(visible_worksheets(self.actor)))
        )).scalar_one_or_none()
        if row is None:
            raise NotFound(f"worksheet {worksheet_id} not found")
        return row

    async def items(self, worksheet_id: int) -> list[ItemInfo]:
        """The worksheet's questions in order, each with the answer key the worksheet is
        pinned to (``service.repositories.pinned_keys``): the pipeline grades new scans
        with it too, so a scan and a review decision always agree (each grade records the
        revision it used)."""
        out = []
        for p in await pinned_items(self.session, worksheet_id):
            doc = p.document
            out.append(ItemInfo(p.item.position, p.question.id, p.question.external_id,
                                str(doc.get("kind", p.question.kind)), p.revision,
                                float(doc.get("score", p.question.score)), doc))
        return out

    async def roster(self, class_id: int) -> list[StudentRow]:
        """The class's students in roster order (student number)."""
        rows = await self.session.execute(
            select(StudentRow).where(StudentRow.class_id == class_id)
            .order_by(StudentRow.student_no, StudentRow.id))
        return list(rows.scalars())

    async def submitted(self, worksheet_id: int) -> set[int]:
        """Students with at least one live scanned page of the worksheet."""
        rows = await self.session.execute(
            select(PageRow.student_id).distinct()
            .where(PageRow.worksheet_id == worksheet_id,
                   PageRow.status.in_(LIVE_PAGE_STATUSES), PageRow.student_id.is_not(None)))
        return {int(s) for s in rows.scalars() if s is not None}

    async def answers(self, worksheet_id: int, *, question_row_id: int | None = None,
                      live_only: bool = True) -> list[Answer]:
        """Every answer region of the worksheet with its current grade.

        Args:
            worksheet_id: a worksheet already checked visible.
            question_row_id: only this question's answers.
            live_only: only answers on live pages that name a student (results); False also
                returns answers on pages still waiting for a student (answer groups), but
                never those on duplicate pages.

        Returns:
            The answers ordered by response id. Should a response carry two current grades
            (two reviewers at once), the newest wins.
        """
        q = (select(ResponseRow, PageRow, GradeRow)
             .join(PageRow, PageRow.id == ResponseRow.page_id)
             .outerjoin(GradeRow, and_(GradeRow.response_id == ResponseRow.id,
                                       GradeRow.is_current.is_(True)))
             .where(ResponseRow.worksheet_id == worksheet_id,
                    PageRow.worksheet_id == worksheet_id))
        if live_only:
            q = q.where(PageRow.status.in_(LIVE_PAGE_STATUSES), PageRow.student_id.is_not(None))
        else:
            # A page scanned twice, or one the teacher cleared from review as nobody's,
            # grades no one.
            q = q.where(PageRow.status.notin_(("duplicate", "dismissed")))
        if question_row_id is not None:
            q = q.where(ResponseRow.question_id == question_row_id)
        rows = await self.session.execute(q.order_by(ResponseRow.id, GradeRow.id))
        found: dict[int, Answer] = {}
        for response, page, grade in rows.all():
            found[response.id] = Answer(response, page, grade)  # later (newer) grade wins
        return list(found.values())

    async def crop_key(self, response_id: int) -> str | None:
        """The storage key of a response's crop.

        Raises:
            NotFound: no such response, or one on a worksheet the actor may not see.
        """
        row = (await self.session.execute(
            select(ResponseRow.crop_key).where(
                ResponseRow.id == response_id,
                ResponseRow.worksheet_id.in_(visible_worksheets(self.actor)))
        )).first()
        if row is None:
            raise NotFound(f"response {response_id} not found")
        key: str | None = row[0]
        return key
