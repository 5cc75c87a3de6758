"""Queries the question-bank pages need beyond the API's: a filtered, counted page of the
bank with a text search, and the knowledge points the school's questions use."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import KnowledgePointRow, QuestionKnowledgePointRow, QuestionRow
from service.policy import scoped

__all__ = ["BankFilter", "BankPageRepository"]

S = TypeVar("S", bound=Select[Any])


@dataclass(frozen=True)
class BankFilter:
    """What a teacher narrowed the bank to (``None``: any).

    Attributes:
        kp: a knowledge point code; its sub-points are included.
        kind: a question kind.
        difficulty: 1 (easiest) .. 5.
        text: words in the stem or the bank id.
    """

    kp: str | None = None
    kind: str | None = None
    difficulty: int | None = None
    text: str | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class BankPageRepository:
    """The actor's school's bank questions (never generated variants)."""

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    def _filtered(self, query: S, f: BankFilter) -> S:
        q = scoped(query, QuestionRow, self.actor).where(QuestionRow.origin == "bank")
        if f.kp:
            kp_rows = select(KnowledgePointRow.id).where(
                or_(KnowledgePointRow.code == f.kp,
                    KnowledgePointRow.code.like(_escape_like(f.kp) + ".%", escape="\\")))
            q = q.where(QuestionRow.id.in_(
                select(QuestionKnowledgePointRow.question_id)
                .where(QuestionKnowledgePointRow.knowledge_point_id.in_(kp_rows))))
        if f.kind:
            q = q.where(QuestionRow.kind == f.kind)
        if f.difficulty is not None:
            q = q.where(QuestionRow.difficulty == f.difficulty)
        if f.text:
            pattern = f"%{_escape_like(f.text)}%"
            q = q.where(or_(QuestionRow.stem.ilike(pattern, escape="\\"),
                            QuestionRow.external_id.ilike(pattern, escape="\\")))
        return q

    async def page(self, f: BankFilter, *, limit: int, offset: int
                   ) -> tuple[list[QuestionRow], int]:
        """One page of matching questions (by bank id) and how many match in all."""
        total = await self.session.scalar(
            self._filtered(select(func.count(QuestionRow.id)), f))
        rows = await self.session.execute(
            self._filtered(select(QuestionRow), f).order_by(QuestionRow.external_id)
            .limit(limit).offset(offset))
        return list(rows.scalars()), int(total or 0)

    async def knowledge_point_links(self) -> list[tuple[int, str]]:
        """``(question row id, knowledge point code)`` for every knowledge point each of the
        school's bank questions names."""
        visible = scoped(select(QuestionRow.id), QuestionRow, self.actor).where(
            QuestionRow.origin == "bank")
        rows = await self.session.execute(
            select(QuestionKnowledgePointRow.question_id, KnowledgePointRow.code)
            .join(KnowledgePointRow,
                  QuestionKnowledgePointRow.knowledge_point_id == KnowledgePointRow.id)
            .where(QuestionKnowledgePointRow.question_id.in_(visible)))
        return [(int(q), str(c)) for q, c in rows.all()]

    async def knowledge_points(self, codes: Collection[str]) -> list[KnowledgePointRow]:
        """The stored knowledge points among ``codes``, by code."""
        if not codes:
            return []
        rows = await self.session.execute(
            select(KnowledgePointRow).where(KnowledgePointRow.code.in_(list(codes))))
        return sorted(rows.scalars(), key=lambda k: k.code)

    async def by_external_id(self, external_id: str) -> QuestionRow | None:
        """The school's bank question with this id, or ``None``."""
        row = await self.session.scalar(
            scoped(select(QuestionRow), QuestionRow, self.actor)
            .where(QuestionRow.external_id == external_id, QuestionRow.origin == "bank"))
        return row
