"""Queries the worksheet pages need beyond the API's: how many questions each worksheet has."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import WorksheetItemRow, WorksheetRow
from service.policy import scoped

__all__ = ["BuilderPageRepository"]


class BuilderPageRepository:
    """The actor's worksheets (a teacher's own; an admin's school's)."""

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def item_counts(self, worksheet_ids: Sequence[int]) -> dict[int, int]:
        """How many questions each of these worksheets holds (visible ones only)."""
        if not worksheet_ids:
            return {}
        rows = await self.session.execute(scoped(
            select(WorksheetItemRow.worksheet_id, func.count(WorksheetItemRow.id))
            .join(WorksheetRow, WorksheetRow.id == WorksheetItemRow.worksheet_id)
            .where(WorksheetItemRow.worksheet_id.in_(list(worksheet_ids)))
            .group_by(WorksheetItemRow.worksheet_id), WorksheetRow, self.actor))
        return {int(w): int(n) for w, n in rows.all()}
