"""The question bank: ``/api/v1/questions``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from grading.questions import QUESTION_KINDS
from service.api.deps import SessionDep, SettingsDep, TeacherDep
from service.questions import export_bank, import_bank, search_questions
from service.schemas.common import ImportResult, QuestionOut

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/questions", tags=["questions"])


@router.post(":import")
async def import_questions(
    document: Annotated[dict[str, Any], Body(description="a markbook-questions/1 document")],
    session: SessionDep, actor: TeacherDep, settings: SettingsDep,
) -> ImportResult:
    """Import a question bank (see docs/question-format.md). Questions are matched by their
    bank id: new ones are created, changed ones updated (a changed key gets a new revision).
    The whole document is validated first; any problem rejects all of it."""
    return await import_bank(session, actor, document, settings.limits.max_import_questions)


@router.get(":export")
async def export_questions(
    session: SessionDep, actor: TeacherDep,
    kp: Annotated[str | None, Query(description="only this knowledge point and below")] = None,
    subject: str | None = None,
) -> dict[str, Any]:
    """The bank (or a part of it) as a ``markbook-questions/1`` document that imports back
    unchanged, with every knowledge point its questions use and their parents."""
    return await export_bank(session, actor, kp=kp, subject=subject)


@router.get("")
async def list_questions(
    session: SessionDep, actor: TeacherDep,
    kp: Annotated[str | None, Query(description="knowledge point; includes sub-points")] = None,
    kind: Annotated[str | None, Query(description=f"one of {', '.join(QUESTION_KINDS)}")] = None,
    subject: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[QuestionOut]:
    """Search the bank."""
    return await search_questions(session, actor, kp=kp, kind=kind, subject=subject,
                                  limit=limit, offset=offset)
