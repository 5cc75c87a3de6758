"""The question bank: knowledge points, questions, key revisions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from grading.questions import KnowledgePoint, Question
from service.actor import Actor
from service.db import (
    KnowledgePointRow,
    QuestionKnowledgePointRow,
    QuestionRevisionRow,
    QuestionRow,
)
from service.db.base import utcnow
from service.policy import scoped

__all__ = ["VARIANT_PREFIX", "ImportReport", "QuestionRepository", "question_from_row"]

# Bank ids of generated variant questions (变式题); teachers' banks may not use it.
VARIANT_PREFIX = "v-"

_QUESTION = TypeAdapter(Question)
# Fields whose change makes earlier grades refer to an older key.
_KEYED_FIELDS = ("kind", "key", "options", "score", "stem")


def question_from_row(row: QuestionRow) -> Question:
    """Rebuild the validated question from its stored document."""
    return _QUESTION.validate_python(row.document)


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    rekeyed: list[str] = field(default_factory=list)  # updated with a changed key
    unchanged: list[str] = field(default_factory=list)
    knowledge_points_created: list[str] = field(default_factory=list)


class QuestionRepository:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def knowledge_point_ids(self, codes: Iterable[str]) -> dict[str, int]:
        codes = list(set(codes))
        if not codes:
            return {}
        rows = await self.session.execute(
            select(KnowledgePointRow.code, KnowledgePointRow.id)
            .where(KnowledgePointRow.code.in_(codes))
        )
        return dict(rows.all())

    async def knowledge_points(self, codes: Iterable[str]) -> list[KnowledgePointRow]:
        """The stored knowledge points among ``codes``, parents before children."""
        rows = await self.session.execute(
            select(KnowledgePointRow).where(KnowledgePointRow.code.in_(list(set(codes))))
        )
        return sorted(rows.scalars(), key=lambda k: (k.code.count("."), k.code))

    async def upsert_knowledge_points(self, kps: Sequence[KnowledgePoint]) -> list[str]:
        """Insert new knowledge points (parents first) and refresh names; returns new codes."""
        existing = await self.knowledge_point_ids(kp.code for kp in kps)
        created: list[str] = []
        for kp in sorted(kps, key=lambda k: k.code.count(".")):
            if kp.code in existing:
                row = await self.session.get(KnowledgePointRow, existing[kp.code])
                if row is not None:
                    row.name_zh, row.name_en = kp.name_zh, kp.name_en
                continue
            parent = kp.parent_code
            parent_id = None
            if parent:
                parent_id = existing.get(parent) or (await self.knowledge_point_ids([parent])).get(
                    parent)
            row = KnowledgePointRow(code=kp.code, name_zh=kp.name_zh, name_en=kp.name_en,
                                    parent_id=parent_id)
            self.session.add(row)
            await self.session.flush()
            existing[kp.code] = row.id
            created.append(kp.code)
        return created

    async def by_external_ids(self, external_ids: Sequence[str]) -> dict[str, QuestionRow]:
        if not external_ids:
            return {}
        rows = await self.session.execute(scoped(
            select(QuestionRow).where(QuestionRow.external_id.in_(list(set(external_ids)))),
            QuestionRow, self.actor))
        return {r.external_id: r for r in rows.scalars()}

    async def import_questions(self, questions: Sequence[Question], kp_ids: dict[str, int]
                               ) -> ImportReport:
        """Create or update questions by bank id; a changed key gets a new revision."""
        report = ImportReport()
        existing = await self.by_external_ids([q.id for q in questions])
        for q in questions:
            doc: dict[str, Any] = _QUESTION.dump_python(q, mode="json")
            row = existing.get(q.id)
            if row is None:
                row = QuestionRow(school_id=self.actor.school_id, external_id=q.id, kind=q.kind,
                                  subject=q.subject, grade=q.grade, stem=q.stem,
                                  difficulty=q.difficulty, score=q.score, key_revision=1,
                                  document=doc)
                self.session.add(row)
                await self.session.flush()
                report.created.append(q.id)
            elif row.document == doc:
                report.unchanged.append(q.id)
                continue
            else:
                keyed = any(row.document.get(f) != doc.get(f) for f in _KEYED_FIELDS)
                if keyed:
                    row.key_revision += 1
                    report.rekeyed.append(q.id)
                row.kind, row.subject, row.grade, row.stem = q.kind, q.subject, q.grade, q.stem
                row.difficulty, row.score, row.document = q.difficulty, q.score, doc
                row.updated_at = utcnow()
                await self.session.execute(delete(QuestionKnowledgePointRow).where(
                    QuestionKnowledgePointRow.question_id == row.id))
                report.updated.append(q.id)
                if not keyed:
                    await self._link(row.id, q, kp_ids)
                    continue
            self.session.add(QuestionRevisionRow(question_id=row.id, revision=row.key_revision,
                                              document=doc))
            await self._link(row.id, q, kp_ids)
        await self.session.flush()
        return report

    async def _link(self, question_id: int, q: Question, kp_ids: dict[str, int]) -> None:
        self.session.add_all(
            QuestionKnowledgePointRow(question_id=question_id, knowledge_point_id=kp_ids[c])
            for c in dict.fromkeys(q.knowledge_points)
        )

    async def search(self, *, kp: str | None = None, kind: str | None = None,
                     subject: str | None = None, limit: int = 100, offset: int = 0
                     ) -> list[QuestionRow]:
        """Questions of the actor's school; ``kp`` matches the code and all codes below it."""
        q = scoped(select(QuestionRow), QuestionRow, self.actor).where(
            QuestionRow.origin == "bank")
        if kp:
            kp_rows = select(KnowledgePointRow.id).where(
                or_(KnowledgePointRow.code == kp,
                    KnowledgePointRow.code.like(_escape_like(kp) + ".%", escape="\\")))
            q = q.where(QuestionRow.id.in_(
                select(QuestionKnowledgePointRow.question_id)
                .where(QuestionKnowledgePointRow.knowledge_point_id.in_(kp_rows))))
        if kind:
            q = q.where(QuestionRow.kind == kind)
        if subject:
            q = q.where(QuestionRow.subject == subject)
        rows = await self.session.execute(q.order_by(QuestionRow.external_id)
                                          .limit(limit).offset(offset))
        return list(rows.scalars())

    async def knowledge_point_codes_of(self, question_ids: Sequence[int]
                                       ) -> dict[int, list[str]]:
        """Each question's knowledge point codes (sorted), by question row id."""
        if not question_ids:
            return {}
        rows = await self.session.execute(
            select(QuestionKnowledgePointRow.question_id, KnowledgePointRow.code)
            .join(KnowledgePointRow,
                  KnowledgePointRow.id == QuestionKnowledgePointRow.knowledge_point_id)
            .where(QuestionKnowledgePointRow.question_id.in_(question_ids))
            .order_by(KnowledgePointRow.code))
        out: dict[int, list[str]] = {}
        for qid, code in rows.all():
            out.setdefault(qid, []).append(code)
        return out



def _escape_like(text: str) -> str:
    # Knowledge-point codes contain "_", a LIKE wildcard.
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
