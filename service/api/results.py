"""Worksheet results, CSV exports, answer crops and answer groups."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from anyio import to_thread
from fastapi import APIRouter, Query, Request, Response

from service.actor import Actor
from service.api.deps import ActorDep, SessionDep, SettingsDep
from service.errors import NotFound
from service.repositories import audit
from service.repositories.results import ResultsRepository
from service.results import build_results, questions_csv, students_csv
from service.review.decisions import grade_group, list_groups
from service.schemas.results import GroupGrade, GroupGraded, GroupsOut, ResultsOut
from service.storage import LocalStorage, StorageKeyError

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["results"])


async def load_results(session: SessionDep, actor: Actor, worksheet_id: int) -> ResultsOut:
    """The results document of a worksheet the actor may see (see ``service.results``)."""
    repo = ResultsRepository(session, actor)
    ws = await repo.worksheet(worksheet_id)
    items = await repo.items(ws.id)
    roster = await repo.roster(ws.class_id)
    answers = await repo.answers(ws.id)
    submitted = await repo.submitted(ws.id)
    return build_results(ws, items, roster, answers, submitted)


@router.get("/worksheets/{worksheet_id}/results")
async def worksheet_results(worksheet_id: int, session: SessionDep,
                            actor: ActorDep) -> ResultsOut:
    """Per student (roster order) and per question: the answer read, verdict, score, error
    cause, confidence and crop; per-student totals that never count an undecided answer as
    zero (``pending_review``); the class summary and the students with no scanned page."""
    return await load_results(session, actor, worksheet_id)


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
    results = await load_results(session, actor, worksheet_id)
    data = students_csv(results) if by == "student" else questions_csv(results)
    await audit.record(session, actor, "results.export", "worksheet", worksheet_id,
                       detail={"format": "csv", "by": by})
    name = f"{results.title}-{'成绩' if by == 'student' else '逐题分析'}.csv"
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
    key = await ResultsRepository(session, actor).crop_key(response_id)
    if key is None:
        raise NotFound(f"response {response_id} has no crop", error="no_crop")
    storage = _storage(request)
    try:
        data = await to_thread.run_sync(storage.get_bytes, key)
    except (FileNotFoundError, StorageKeyError) as exc:
        raise NotFound(f"the crop of response {response_id} is missing from storage",
                       error="no_crop") from exc
    return Response(data, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=3600"})


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
