"""Template blanks, scoped to the acting teacher (an admin sees the school's)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import TemplateBlankRow
from service.errors import NotFound
from service.policy import scoped

__all__ = ["TemplateBlankRepository", "blanks_by_id"]


class TemplateBlankRepository:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def create(self, *, png: bytes, sha256: str, px_per_pt: float, width_pt: float,
                     height_pt: float, proposed: list[dict[str, Any]]) -> TemplateBlankRow:
        row = TemplateBlankRow(school_id=self.actor.school_id, teacher_id=self.actor.teacher_id,
                               png=png, sha256=sha256, px_per_pt=px_per_pt, width_pt=width_pt,
                               height_pt=height_pt, proposed=proposed)
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, blank_id: int) -> TemplateBlankRow:
        """The blank, if the actor may use it.

        Raises:
            NotFound: no such blank, or another teacher's.
        """
        row = await self.session.scalar(scoped(
            select(TemplateBlankRow).where(TemplateBlankRow.id == blank_id), TemplateBlankRow,
            self.actor))
        if row is None:
            raise NotFound(f"blank {blank_id} not found")
        return row

    async def visible(self, blank_ids: Iterable[int]) -> dict[int, TemplateBlankRow]:
        """The blanks of ``blank_ids`` the actor may use, by id (others left out)."""
        ids = sorted(set(blank_ids))
        rows = await self.session.scalars(scoped(
            select(TemplateBlankRow).where(TemplateBlankRow.id.in_(ids)), TemplateBlankRow,
            self.actor))
        return {r.id: r for r in rows}


async def blanks_by_id(session: AsyncSession, blank_ids: Iterable[int]) -> dict[int, bytes]:
    """The stored PNGs of ``blank_ids`` (the job runner's read: the worksheet it reads
    for was already checked against the uploader)."""
    ids = sorted(set(blank_ids))
    rows = await session.execute(select(TemplateBlankRow.id, TemplateBlankRow.png)
                                 .where(TemplateBlankRow.id.in_(ids)))
    return {int(i): bytes(png) for i, png in rows}
