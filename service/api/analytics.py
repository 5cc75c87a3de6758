"""Analytics: per worksheet, per class over time (and its PDF report), per student, and the
answers behind any figure. Access as for results: a teacher sees their own classes, an
admin the school's; anything else answers 404 ``not_found``."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response

from service.analytics.classes import load_class_analytics
from service.analytics.drill import DrillQuery, load_answers
from service.analytics.portrait import load_portrait
from service.analytics.report import class_report_pdf
from service.analytics.worksheet import load_worksheet_analytics
from service.api.deps import ActorDep, SessionDep
from service.schemas.analytics import (
    AnswersOut,
    ClassAnalyticsOut,
    StudentPortraitOut,
    WorksheetAnalyticsOut,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["analytics"])

_Text = Annotated[str | None, Query(max_length=200)]


@router.get("/worksheets/{worksheet_id}/analytics")
async def worksheet_analytics(worksheet_id: int, session: SessionDep,
                              actor: ActorDep) -> WorksheetAnalyticsOut:
    """Score distribution, per-question facility and discrimination (upper-lower 27 %),
    distractors of choice questions, common wrong answers with their error causes, and
    who handed in; each figure with the path of the answers behind it."""
    return await load_worksheet_analytics(session, actor, worksheet_id)


@router.get("/classes/{class_id}/analytics")
async def class_analytics(class_id: int, session: SessionDep,
                          actor: ActorDep) -> ClassAnalyticsOut:
    """The class over time: worksheets, knowledge-point heatmap (students × points), each
    point's score rate per week and its change, the error-resolution rate (错题解决率),
    and the students who need attention with the reasons."""
    return await load_class_analytics(session, actor, class_id)


@router.get("/classes/{class_id}/report.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
async def class_report(class_id: int, request: Request, session: SessionDep,
                       actor: ActorDep,
                       lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN") -> Response:
    """The class report (学情报告) as a printable PDF with its charts: the same numbers as
    ``/classes/{id}/analytics``."""
    messages = request.app.state.pages.catalogue.translator(lang)
    data, name = await class_report_pdf(session, actor, class_id, messages)
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=\"class-{class_id}-report.pdf\"; "
                               f"filename*=UTF-8''{quote(name)}",
        "Cache-Control": "no-store"})


@router.get("/students/{student_id}/analytics")
async def student_analytics(student_id: int, session: SessionDep,
                            actor: ActorDep) -> StudentPortraitOut:
    """The student's portrait: each knowledge point's score rate per week with the
    mastery estimate, strengths, weaknesses, persistent and resolved errors."""
    return await load_portrait(session, actor, student_id)


@router.get("/analytics/answers")
async def analytics_answers(
    session: SessionDep, actor: ActorDep,
    class_id: int | None = None, worksheet_id: int | None = None,
    student_id: int | None = None, students: _Text = None, question: _Text = None,
    kp: _Text = None, week: _Text = None, answer: _Text = None, verdict: _Text = None,
    entries: _Text = None, entry_id: int | None = None,
) -> AnswersOut:
    """The answers behind a figure: every analytics figure links here with its filters
    (see ``docs/analytics.md``). At least one of ``class_id``, ``worksheet_id``,
    ``student_id``, ``students`` is required (422 ``filter_required``)."""
    q = DrillQuery(class_id=class_id, worksheet_id=worksheet_id, student_id=student_id,
                   students=students, question=question, kp=kp, week=week, answer=answer,
                   verdict=verdict, entries=entries, entry_id=entry_id)
    return await load_answers(session, actor, q)
