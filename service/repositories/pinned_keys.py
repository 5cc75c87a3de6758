"""Each worksheet question's answer key as the worksheet is pinned to.

A worksheet item records the key revision it uses (``worksheet_items.question_revision``).
The school's bank is shared: when one teacher changes a key, their own worksheets move to
the new revision (``repin_own``), while another teacher's worksheets keep grading and
reviewing with the key they were set with until that teacher (or an admin) takes the new
keys (``repin_worksheet``). Every grade records the revision it used either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import QuestionRevisionRow, QuestionRow, WorksheetItemRow, WorksheetRow

__all__ = ["PinnedItem", "pinned_items", "repin_own", "repin_worksheet"]


@dataclass(frozen=True)
class PinnedItem:
    """One worksheet question with the key revision the worksheet uses."""

    item: WorksheetItemRow
    question: QuestionRow
    revision: int
    document: dict[str, Any]


async def pinned_items(session: AsyncSession, worksheet_id: int) -> list[PinnedItem]:
    """The worksheet's questions in order, each with its pinned key's document (the
    question's current document when that revision was never stored)."""
    rows = await session.execute(
        select(WorksheetItemRow, QuestionRow, QuestionRevisionRow.document)
        .join(QuestionRow, QuestionRow.id == WorksheetItemRow.question_id)
        .outerjoin(QuestionRevisionRow, and_(
            QuestionRevisionRow.question_id == WorksheetItemRow.question_id,
            QuestionRevisionRow.revision == WorksheetItemRow.question_revision))
        .where(WorksheetItemRow.worksheet_id == worksheet_id)
        .order_by(WorksheetItemRow.position))
    out = []
    for item, question, document in rows.all():
        if question.key_revision == item.question_revision or document is None:
            document = question.document
        out.append(PinnedItem(item, question, item.question_revision, document))
    return out


async def repin_own(session: AsyncSession, teacher_id: int, question_ids: Sequence[int]
                    ) -> list[int]:
    """Move the teacher's own worksheets to the current keys of these questions.

    Returns:
        The worksheets moved.
    """
    if not question_ids:
        return []
    own = select(WorksheetRow.id).where(WorksheetRow.teacher_id == teacher_id)
    return await _repin(session, (WorksheetItemRow.question_id.in_(list(question_ids)),
                                  WorksheetItemRow.worksheet_id.in_(own)))


async def repin_worksheet(session: AsyncSession, worksheet_id: int) -> list[int]:
    """Move one worksheet to the current key of every question on it.

    Returns:
        ``[worksheet_id]`` when something changed, else ``[]``.
    """
    return await _repin(session, (WorksheetItemRow.worksheet_id == worksheet_id,))


async def _repin(session: AsyncSession, where: tuple[Any, ...]) -> list[int]:
    stale = (await session.execute(
        select(WorksheetItemRow.id, WorksheetItemRow.worksheet_id, QuestionRow.key_revision)
        .join(QuestionRow, QuestionRow.id == WorksheetItemRow.question_id)
        .where(*where, WorksheetItemRow.question_revision != QuestionRow.key_revision))).all()
    for item_id, _worksheet, revision in stale:
        await session.execute(update(WorksheetItemRow).where(WorksheetItemRow.id == item_id)
                              .values(question_revision=revision))
    await session.flush()
    return sorted({int(w) for _, w, _ in stale})
