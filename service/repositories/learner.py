"""The learner model's rows: mastery events and states, BKT parameters, item difficulty, and
the stored answers the model learns from.

Used by :mod:`service.mastery` (sync, fit, practice, books) inside the caller's unit of work:
every method flushes at most, never commits. Ids come from rows the caller already holds, so
nothing here is scoped by actor.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple, cast

from sqlalchemy import Table, bindparam, func, select

from service.db import (
    GradeRow,
    ItemDifficultyRow,
    KnowledgePointRow,
    KpParamsRow,
    MasteryEventRow,
    MasteryStateRow,
    PageRow,
    QuestionKnowledgePointRow,
    QuestionRow,
    ResponseRow,
    ScanUploadRow,
)
from service.repositories.base import StagingRepository

__all__ = ["AnswerRow", "LearnerRepository"]

_QUESTIONS = cast(Table, QuestionRow.__table__)
_QUESTION_KPS = cast(Table, QuestionKnowledgePointRow.__table__)
_PARAMS = cast(Table, KpParamsRow.__table__)
# Built once: the page store runs them for every page.
_QUESTION_FACTS = (
    select(_QUESTIONS.c.id, _QUESTIONS.c.difficulty, _QUESTION_KPS.c.knowledge_point_id)
    .outerjoin(_QUESTION_KPS, _QUESTION_KPS.c.question_id == _QUESTIONS.c.id)
    .where(_QUESTIONS.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_QUESTIONS.c.id, _QUESTION_KPS.c.knowledge_point_id))
_PARAM_VALUES = select(
    _PARAMS.c.knowledge_point_id, _PARAMS.c.prior, _PARAMS.c.learn, _PARAMS.c.guess,
    _PARAMS.c.slip,
).where(_PARAMS.c.school_id == bindparam("school"),
        _PARAMS.c.knowledge_point_id.in_(bindparam("kps", expanding=True)))


class AnswerRow(NamedTuple):
    """A primary response with where it sits (page status, school, arrival, bank difficulty)."""

    id: int
    student_id: int | None
    question_id: int
    worksheet_id: int
    status: str
    school_id: int
    created_at: datetime
    difficulty: int


class LearnerRepository(StagingRepository):
    """Queries and writes behind mastery sync, the EM fit and the error book's mastery view."""

    # -- answers ------------------------------------------------------------------------

    async def answers(self, response_ids: Sequence[int]) -> list[AnswerRow]:
        """The primary responses with their page status, school, arrival and difficulty."""
        rows = (await self.session.execute(
            select(ResponseRow.id, ResponseRow.student_id, ResponseRow.question_id,
                   ResponseRow.worksheet_id, PageRow.status, ScanUploadRow.school_id,
                   ScanUploadRow.created_at, QuestionRow.difficulty)
            .join(PageRow, PageRow.id == ResponseRow.page_id)
            .join(ScanUploadRow, ScanUploadRow.id == PageRow.upload_id)
            .join(QuestionRow, QuestionRow.id == ResponseRow.question_id)
            .where(ResponseRow.id.in_(response_ids))
        )).all()
        return [AnswerRow(*r) for r in rows]

    async def current_grades(self, response_ids: Sequence[int]) -> dict[int, GradeRow]:
        """The current grade per response (the latest wins if several were marked current)."""
        rows = await self.session.execute(
            select(GradeRow).where(GradeRow.response_id.in_(response_ids),
                                   GradeRow.is_current.is_(True))
            .order_by(GradeRow.id))
        return {g.response_id: g for g in rows.scalars()}

    async def question_knowledge_points(self, question_ids: Iterable[int]
                                        ) -> dict[int, list[int]]:
        """Knowledge point ids per question (ascending id)."""
        kps: dict[int, list[int]] = {}
        rows = await self.session.execute(
            select(QuestionKnowledgePointRow.question_id,
                   QuestionKnowledgePointRow.knowledge_point_id)
            .where(QuestionKnowledgePointRow.question_id.in_(set(question_ids)))
            .order_by(QuestionKnowledgePointRow.knowledge_point_id))
        for qid, kp in rows.all():
            kps.setdefault(qid, []).append(kp)
        return kps

    async def question_facts(self, question_ids: set[int]
                             ) -> dict[int, tuple[int, tuple[int, ...]]]:
        """Bank difficulty and knowledge point ids (ascending) per question, in one query."""
        rows = await self.session.execute(_QUESTION_FACTS, {"ids": sorted(question_ids)})
        out: dict[int, tuple[int, tuple[int, ...]]] = {}
        for qid, difficulty, kp in rows.all():
            known = out.get(qid, (int(difficulty), ()))[1]
            out[qid] = (int(difficulty), known + ((kp,) if kp is not None else ()))
        return out

    # -- parameters and item difficulty -------------------------------------------------

    async def param_values(self, school_id: int, kp_ids: Sequence[int]
                           ) -> dict[int, tuple[float, float, float, float]]:
        """The school's stored (prior, learn, guess, slip) for these knowledge points."""
        rows = await self.session.execute(_PARAM_VALUES, {"school": school_id,
                                                          "kps": list(kp_ids)})
        return {kp: (prior, learn, guess, slip) for kp, prior, learn, guess, slip in rows.all()}

    async def school_params(self, school_id: int) -> dict[int, KpParamsRow]:
        """Every stored parameter row of the school, by knowledge point id."""
        rows = await self.session.execute(
            select(KpParamsRow).where(KpParamsRow.school_id == school_id))
        return {r.knowledge_point_id: r for r in rows.scalars()}

    async def item_difficulties(self, question_ids: set[int]) -> dict[int, ItemDifficultyRow]:
        """Stored item difficulty rows by question id."""
        rows = await self.session.execute(
            select(ItemDifficultyRow).where(ItemDifficultyRow.question_id.in_(question_ids)))
        return {r.question_id: r for r in rows.scalars()}

    async def knowledge_point_codes(self, kp_ids: set[int]) -> dict[int, str]:
        """Knowledge point codes by id."""
        rows = await self.session.execute(
            select(KnowledgePointRow).where(KnowledgePointRow.id.in_(kp_ids)))
        return {k.id: k.code for k in rows.scalars()}

    # -- events -------------------------------------------------------------------------

    async def events_of(self, student_id: int, kp_id: int) -> list[MasteryEventRow]:
        """One (student, knowledge point)'s events in replay order (time, then id)."""
        rows = await self.session.execute(
            select(MasteryEventRow).where(MasteryEventRow.student_id == student_id,
                                          MasteryEventRow.knowledge_point_id == kp_id)
            .order_by(MasteryEventRow.at, MasteryEventRow.id))
        return list(rows.scalars().all())

    async def events_of_responses(self, response_ids: Sequence[int]) -> list[MasteryEventRow]:
        """The events these responses produced."""
        rows = await self.session.execute(
            select(MasteryEventRow).where(MasteryEventRow.response_id.in_(response_ids)))
        return list(rows.scalars())

    async def school_events(self, school_id: int) -> list[MasteryEventRow]:
        """Every event of the school, grouped by knowledge point and student, in time order."""
        rows = await self.session.execute(
            select(MasteryEventRow).where(MasteryEventRow.school_id == school_id)
            .order_by(MasteryEventRow.knowledge_point_id, MasteryEventRow.student_id,
                      MasteryEventRow.at, MasteryEventRow.id))
        return list(rows.scalars())

    # -- states -------------------------------------------------------------------------

    async def state(self, student_id: int, kp_id: int) -> MasteryStateRow | None:
        """One stored state, or None."""
        return await self.session.get(MasteryStateRow, (student_id, kp_id))

    async def states_of_students(self, student_ids: set[int]) -> list[MasteryStateRow]:
        """Every stored state of these students."""
        rows = await self.session.execute(
            select(MasteryStateRow).where(MasteryStateRow.student_id.in_(student_ids)))
        return list(rows.scalars())

    async def states_with_codes(self, student_id: int) -> list[tuple[MasteryStateRow, str]]:
        """The student's states with their knowledge point codes."""
        rows = await self.session.execute(
            select(MasteryStateRow, KnowledgePointRow.code)
            .join(KnowledgePointRow, KnowledgePointRow.id == MasteryStateRow.knowledge_point_id)
            .where(MasteryStateRow.student_id == student_id))
        return [(s, str(code)) for s, code in rows.all()]

    async def mastery_by_code(self, student_id: int) -> dict[str, float]:
        """The student's probability of mastery per knowledge point code."""
        rows = await self.session.execute(
            select(KnowledgePointRow.code, MasteryStateRow.p_mastery)
            .join(KnowledgePointRow, KnowledgePointRow.id == MasteryStateRow.knowledge_point_id)
            .where(MasteryStateRow.student_id == student_id))
        return {str(code): float(p) for code, p in rows.all()}

    async def weakest(self, student_id: int, limit: int, language: str = "zh"
                      ) -> list[tuple[str, float]]:
        """The student's least-mastered knowledge points (name in ``language``, ``zh`` or
        ``en`` falling back to Chinese; probability)."""
        name = KnowledgePointRow.name_zh if language == "zh" else func.coalesce(
            func.nullif(KnowledgePointRow.name_en, ""), KnowledgePointRow.name_zh)
        rows = await self.session.execute(
            select(name, MasteryStateRow.p_mastery)
            .join(KnowledgePointRow, KnowledgePointRow.id == MasteryStateRow.knowledge_point_id)
            .where(MasteryStateRow.student_id == student_id)
            .order_by(MasteryStateRow.p_mastery, KnowledgePointRow.code).limit(limit))
        return [(str(n), float(p)) for n, p in rows.all()]
