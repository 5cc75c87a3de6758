"""What the mastery endpoints compute beyond plain reports: practice recommendations for a
student, and an admin's re-fit of the school's parameters (recorded in the audit log).

Routers in :mod:`service.api.mastery` call these; queries live in the repositories.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.learner.schedule import EntryState
from service.actor import Actor
from service.config import MasterySettings
from service.mastery.fit import fit_school
from service.mastery.practice import plan_practice
from service.mastery.report import student_ref
from service.repositories import audit
from service.repositories.mastery import MasteryRepository
from service.schemas.mastery import FitOut, KpFitOut, RecommendationOut, RecommendationsOut

__all__ = ["fit_and_record", "recommendations"]


async def recommendations(session: AsyncSession, actor: Actor, student_id: int, n: int,
                          settings: MasterySettings) -> RecommendationsOut:
    """Practice for the student's most overdue open entries (at most a book's worth):
    similar bank questions and generated variants, each with its reason. Nothing is stored.

    Raises:
        NotFound: the student is not visible to the actor.
    """
    repo = MasteryRepository(session, actor)
    student, cls = await repo.student(student_id)
    entries = await repo.entries([student.id], [EntryState.OPEN.value,
                                                EntryState.PRACTISING.value])
    entries = entries[:settings.book_entries]
    planned = await plan_practice(session, cls.school_id, student.id, entries, n)
    return RecommendationsOut(
        student=student_ref(student), generated_on=datetime.now(UTC).date(),
        items=[RecommendationOut(
            question_id=p.question.id, kind=p.origin, stem=p.question.stem,
            knowledge_points=list(p.question.knowledge_points), for_entry=p.entry_id,
            for_question=p.for_question, score=round(p.score, 4), reason_zh=p.reason_zh,
            reason_en=p.reason_en) for p in planned])


async def fit_and_record(session: AsyncSession, actor: Actor, settings: MasterySettings
                         ) -> FitOut:
    """Fit the actor's school (see :func:`service.mastery.fit.fit_school`), record it in the
    audit log, and describe the result per knowledge point code."""
    report = await fit_school(session, actor.school_id, settings)
    body = FitOut(
        answers=report.answers, seconds=round(report.seconds, 3),
        states_replayed=report.states_replayed,
        knowledge_points={code: KpFitOut(
            fitted=r.fitted, reason=r.reason, n_answers=r.n_answers,
            n_students=r.n_students, iterations=r.iterations,
            prior=r.params.prior, learn=r.params.learn, guess=r.params.guess,
            slip=r.params.slip) for code, r in sorted(report.results.items())})
    await audit.record(session, actor, "mastery.fit", "school", actor.school_id,
                       detail={"answers": report.answers,
                               "fitted": sum(r.fitted for r in report.results.values())})
    return body
