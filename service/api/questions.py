"""The question bank: ``/api/v1/questions``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from sqlalchemy import select

from grading.bank import BANK_FORMAT, BankValidationError, parse_bank
from grading.questions import QUESTION_KINDS
from service.api.deps import SessionDep, SettingsDep, TeacherDep
from service.db import KnowledgePointRow, QuestionKnowledgePointRow
from service.errors import InvalidInput
from service.repositories.questions import VARIANT_PREFIX, QuestionRepository
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
    try:
        bank = parse_bank(document, max_questions=settings.limits.max_import_questions)
    except BankValidationError as exc:
        raise InvalidInput(f"invalid question bank: {exc}", error="invalid_question_bank",
                           errors=[p.as_dict() for p in exc.problems]) from exc
    repo = QuestionRepository(session, actor)
    declared = {kp.code for kp in bank.knowledge_points}
    used = {code for q in bank.questions for code in q.knowledge_points}
    known = declared | set(await repo.knowledge_point_ids(used - declared))
    problems = [
        {"where": f"questions[{i}] (id '{q.id}')", "field": "knowledge_points",
         "message": f"unknown knowledge point '{code}'; declare it in knowledge_points"}
        for i, q in enumerate(bank.questions) for code in q.knowledge_points if code not in known
    ] + [
        {"where": f"questions[{i}] (id '{q.id}')", "field": "id",
         "message": f"ids starting with '{VARIANT_PREFIX}' are kept for generated variants"}
        for i, q in enumerate(bank.questions) if q.id.startswith(VARIANT_PREFIX)
    ]
    if problems:
        p = problems[0]
        raise InvalidInput(f"invalid question bank: {p['where']}: {p['field']}: {p['message']}",
                           error="invalid_question_bank", errors=problems)
    created_kps = await repo.upsert_knowledge_points(bank.knowledge_points)
    kp_ids = await repo.knowledge_point_ids(used)
    report = await repo.import_questions(bank.questions, kp_ids)
    return ImportResult(created=len(report.created), updated=len(report.updated),
                        unchanged=len(report.unchanged),
                        knowledge_points_created=len(created_kps),
                        created_ids=report.created, updated_ids=report.updated)


@router.get(":export")
async def export_questions(
    session: SessionDep, actor: TeacherDep,
    kp: Annotated[str | None, Query(description="only this knowledge point and below")] = None,
    subject: str | None = None,
) -> dict[str, Any]:
    """The bank (or a part of it) as a ``markbook-questions/1`` document that imports back
    unchanged, with every knowledge point its questions use and their parents."""
    repo = QuestionRepository(session, actor)
    rows = await repo.search(kp=kp, subject=subject, limit=1_000_000)
    codes = {c for r in rows for c in r.document["knowledge_points"]}
    needed = {".".join(c.split(".")[:i]) for c in codes for i in range(1, c.count(".") + 2)}
    kps = await repo.knowledge_points(needed)
    return {"format": BANK_FORMAT,
            "knowledge_points": [{"code": k.code, "name_zh": k.name_zh, "name_en": k.name_en}
                                 for k in kps],
            "questions": [r.document for r in rows]}


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
    if kind is not None and kind not in QUESTION_KINDS:
        raise InvalidInput(f"unknown kind '{kind}'; known kinds: {', '.join(QUESTION_KINDS)}",
                           error="unknown_kind")
    rows = await QuestionRepository(session, actor).search(kp=kp, kind=kind, subject=subject,
                                                           limit=limit, offset=offset)
    kps = await _codes(session, [r.id for r in rows])
    return [QuestionOut(id=r.external_id, kind=r.kind, subject=r.subject, grade=r.grade,
                        stem=r.stem, difficulty=r.difficulty, score=r.score,
                        key_revision=r.key_revision, knowledge_points=kps.get(r.id, []),
                        question=r.document) for r in rows]


async def _codes(session: SessionDep, question_ids: list[int]) -> dict[int, list[str]]:
    if not question_ids:
        return {}
    rows = await session.execute(
        select(QuestionKnowledgePointRow.question_id, KnowledgePointRow.code)
        .join(KnowledgePointRow, KnowledgePointRow.id == QuestionKnowledgePointRow.knowledge_point_id)
        .where(QuestionKnowledgePointRow.question_id.in_(question_ids))
        .order_by(KnowledgePointRow.code)
    )
    out: dict[int, list[str]] = {}
    for qid, code in rows.all():
        out.setdefault(qid, []).append(code)
    return out

