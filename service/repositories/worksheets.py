"""Worksheets, their items and per-student copies, scoped to the acting teacher."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import (
    QuestionRow,
    SchoolClassRow,
    WorksheetCopyRow,
    WorksheetItemRow,
    WorksheetRow,
)
from service.errors import NotFound
from service.policy import scoped

__all__ = ["WorksheetRepository", "WorksheetSummary"]


@dataclass(frozen=True)
class WorksheetSummary:
    """A worksheet's list columns (never its layout) and its class's name."""

    id: int
    title: str
    class_id: int
    class_name: str
    page_size: str
    page_count: int
    created_at: datetime
    kind: str = "worksheet"


class WorksheetRepository:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def create(self, *, title: str, class_id: int, page_size: str,
                     layout: dict[str, Any], questions: Sequence[QuestionRow],
                     kind: str = "worksheet") -> WorksheetRow:
        """Store a worksheet for one of the actor's classes.

        Raises:
            NotFound: the class is not the actor's.
        """
        visible = await self.session.scalar(scoped(
            select(SchoolClassRow.id).where(SchoolClassRow.id == class_id), SchoolClassRow, self.actor))
        if visible is None:
            raise NotFound(f"class {class_id} not found")
        row = WorksheetRow(class_id=class_id, teacher_id=self.actor.teacher_id, title=title,
                           page_size=page_size, page_count=len(layout["pages"]), layout=layout,
                           kind=kind)
        self.session.add(row)
        await self.session.flush()
        self.session.add_all(
            WorksheetItemRow(worksheet_id=row.id, position=i, question_id=q.id,
                          question_revision=q.key_revision)
            for i, q in enumerate(questions, start=1)
        )
        await self.session.flush()
        return row

    async def get(self, worksheet_id: int) -> WorksheetRow:
        """The worksheet, if the actor may see it.

        Raises:
            NotFound: no such worksheet, or another teacher's.
        """
        q = scoped(select(WorksheetRow).where(WorksheetRow.id == worksheet_id), WorksheetRow,
                   self.actor)
        row = (await self.session.execute(q)).scalar_one_or_none()
        if row is None:
            raise NotFound(f"worksheet {worksheet_id} not found")
        return row

    async def summaries(self, *, class_id: int | None = None, limit: int = 100
                        ) -> list[WorksheetSummary]:
        """The actor's worksheets, newest first, optionally of one class only."""
        q = scoped(select(WorksheetRow.id, WorksheetRow.title, WorksheetRow.class_id,
                          SchoolClassRow.name, WorksheetRow.page_size, WorksheetRow.page_count,
                          WorksheetRow.created_at, WorksheetRow.kind)
                   .join(SchoolClassRow, SchoolClassRow.id == WorksheetRow.class_id),
                   WorksheetRow, self.actor)
        if class_id is not None:
            q = q.where(WorksheetRow.class_id == class_id)
        rows = await self.session.execute(q.order_by(WorksheetRow.id.desc()).limit(limit))
        return [WorksheetSummary(*row) for row in rows.all()]

    async def items(self, worksheet_id: int) -> list[tuple[WorksheetItemRow, QuestionRow]]:
        rows = await self.session.execute(scoped(
            select(WorksheetItemRow, QuestionRow)
            .join(QuestionRow, QuestionRow.id == WorksheetItemRow.question_id)
            .join(WorksheetRow, WorksheetRow.id == WorksheetItemRow.worksheet_id)
            .where(WorksheetItemRow.worksheet_id == worksheet_id), WorksheetRow, self.actor
        ).order_by(WorksheetItemRow.position))
        return [(item, q) for item, q in rows.all()]

    async def ensure_copies(self, worksheet_id: int, student_ids: Sequence[int]
                            ) -> dict[int, WorksheetCopyRow]:
        """One personalised copy per student (idempotent), keyed by student id.

        Raises:
            NotFound: the worksheet is not the actor's.
        """
        await self.get(worksheet_id)
        rows = await self.session.execute(
            select(WorksheetCopyRow).where(WorksheetCopyRow.worksheet_id == worksheet_id)
        )
        copies = {c.student_id: c for c in rows.scalars()}
        missing = [WorksheetCopyRow(worksheet_id=worksheet_id, student_id=s)
                   for s in student_ids if s not in copies]
        if missing:
            self.session.add_all(missing)
            await self.session.flush()
            copies.update({c.student_id: c for c in missing})
        return copies
