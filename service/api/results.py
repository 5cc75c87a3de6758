"""Worksheet results, CSV exports, answer crops and answer groups."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response

from service.api.deps import ActorDep, SessionDep, SettingsDep
from service.api.read_cache import cached_json
from service.results import export_results_csv, load_results, response_crop_png
from service.review.decisions import grade_group, list_groups
from service.schemas.results import GroupGrade, GroupGraded, GroupsOut, ResultsOut
from service.storage import LocalStorage

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["results"])


@router.get("/worksheets/{worksheet_id}/results", response_model=ResultsOut)
async def worksheet_results(worksheet_id: int, request: Request, session: SessionDep,
                            actor: ActorDep) -> Response:
    """Per student (roster order) and per question: the answer read, verdict, score, error
    cause, confidence and crop; per-student totals that never count an undecided answer as
    zero (``pending_review``); the class summary and the students with no scanned page."""
    return await cached_json(request, session, actor,
                             lambda: load_results(session, actor, worksheet_id))


@router.get("/worksheets/{worksheet_id}/results.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
async def worksheet_results_csv(
    worksheet_id: int, session: SessionDep, actor: ActorDep,
    by: Annotated[Literal["student", "question"],
                  Query(description="one row per student, or per question")] = "student",
) -> Response:
    """The results as CSV (UTF-8 with BOM, so spreadsheets show Chinese names): scores per
    student and question with a total, or with ``by=question`` the score rate and the
    common wrong answers of each question."""
    data, name = await export_results_csv(session, actor, worksheet_id, by)
    disposition = (f"attachment; filename=\"worksheet-{worksheet_id}-{by}.csv\"; "
                   f"filename*=UTF-8''{quote(name)}")
    return Response(data, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": disposition})


def _storage(request: Request) -> LocalStorage:
    storage: LocalStorage = request.app.state.storage
    return storage


@router.get("/responses/{response_id}/crop.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
async def response_crop(response_id: int, request: Request, session: SessionDep,
                        actor: ActorDep) -> Response:
    """The cleaned crop of one answer region, as the reader saw it."""
    data = await response_crop_png(session, actor, _storage(request), response_id)
    return Response(data, media_type="image/png",
                    headers={"Cache-Control": "private, no-store"})


@router.get("/worksheets/{worksheet_id}/questions/{question_id}/groups")
async def answer_groups(worksheet_id: int, question_id: str, session: SessionDep,
                        actor: ActorDep) -> GroupsOut:
    """Identical normalised answers of one question grouped (largest first), each with its
    verdicts and members, plus the most common wrong answers."""
    return await list_groups(session, actor, worksheet_id, question_id)


@router.post("/worksheets/{worksheet_id}/questions/{question_id}/groups/grade")
async def answer_group_grade(worksheet_id: int, question_id: str, body: GroupGrade,
                             session: SessionDep, actor: ActorDep,
                             settings: SettingsDep) -> GroupGraded:
    """Grade every answer of one group at once (a teacher grade row for each)."""
    return await grade_group(session, actor, worksheet_id, question_id, body,
                             settings.mastery.schedule())
