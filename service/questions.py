"""The question bank as the API offers it: import a bank document, export it back, search.

Routers in :mod:`service.api.questions` parse the request and call these; the queries live in
:class:`service.repositories.questions.QuestionRepository`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.printing.fonts import FontNotFoundError
from errorbook.printing.layout import LayoutError
from grading.bank import BANK_FORMAT, BankValidationError, parse_bank
from grading.questions import QUESTION_KINDS
from service.actor import Actor
from service.errors import InvalidInput, NotFound, NotReady
from service.printing import render_question_preview
from service.repositories import audit
from service.repositories.bank_pages import BankFilter, BankPageRepository
from service.repositories.pinned_keys import repin_own
from service.repositories.questions import VARIANT_PREFIX, QuestionRepository
from service.schemas.common import ImportResult, QuestionOut

__all__ = ["BankPage", "KnowledgePointNode", "browse_bank", "export_bank", "import_bank",
           "knowledge_point_tree", "question_preview", "questions_by_ids", "search_questions"]


@dataclass(frozen=True)
class BankPage:
    """One page of the bank as the bank pages show it.

    Attributes:
        questions: the questions on this page, by bank id.
        total: how many questions match the filter in all.
    """

    questions: list[QuestionOut]
    total: int


@dataclass
class KnowledgePointNode:
    """A knowledge point in the bank's tree.

    Attributes:
        code, name_zh, name_en: the knowledge point.
        count: the school's bank questions under it, its sub-points' included.
        children: its sub-points that have questions.
    """

    code: str
    name_zh: str
    name_en: str
    count: int = 0
    children: list[KnowledgePointNode] = field(default_factory=list)


async def import_bank(session: AsyncSession, actor: Actor, document: dict[str, Any],
                      max_questions: int) -> ImportResult:
    """Import a ``markbook-questions/1`` document into the actor's school (flush only).

    The whole document is validated first (format, unknown knowledge points, ids reserved
    for generated variants); any problem rejects all of it.

    Raises:
        InvalidInput: ``invalid_question_bank`` with every problem found.
    """
    try:
        # Validating a large bank is CPU work: off the event loop.
        bank = await to_thread.run_sync(partial(parse_bank, document,
                                                max_questions=max_questions))
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
    # A key change moves the importer's own worksheets to it; other teachers' worksheets
    # keep the key they were set with until they take the new one (pinned_keys).
    rekeyed_rows = [r.id for r in (await repo.by_external_ids(report.rekeyed)).values()]
    repinned = await repin_own(session, actor.teacher_id, rekeyed_rows) if rekeyed_rows else []
    if report.created or report.updated or created_kps:
        # The school's bank is shared: who changed which question (and whose key) is kept.
        await audit.record(session, actor, "questions.import", "question_bank", None, detail={
            "created": report.created[:200], "updated": report.updated[:200],
            "key_changed": report.rekeyed[:200], "knowledge_points_created": created_kps[:200],
            "worksheets_moved_to_new_keys": repinned[:200],
            "counts": {"created": len(report.created), "updated": len(report.updated),
                       "key_changed": len(report.rekeyed)}})
    return ImportResult(created=len(report.created), updated=len(report.updated),
                        unchanged=len(report.unchanged),
                        knowledge_points_created=len(created_kps),
                        created_ids=report.created, updated_ids=report.updated)


async def export_bank(session: AsyncSession, actor: Actor, *, kp: str | None,
                      subject: str | None) -> dict[str, Any]:
    """The bank (or a part of it) as a document that imports back unchanged, with every
    knowledge point its questions use and their parents."""
    repo = QuestionRepository(session, actor)
    rows = await repo.search(kp=kp, subject=subject, limit=1_000_000)
    codes = {c for r in rows for c in r.document["knowledge_points"]}
    needed = {".".join(c.split(".")[:i]) for c in codes for i in range(1, c.count(".") + 2)}
    kps = await repo.knowledge_points(needed)
    return {"format": BANK_FORMAT,
            "knowledge_points": [{"code": k.code, "name_zh": k.name_zh, "name_en": k.name_en}
                                 for k in kps],
            "questions": [r.document for r in rows]}


async def search_questions(session: AsyncSession, actor: Actor, *, kp: str | None,
                           kind: str | None, subject: str | None, limit: int, offset: int
                           ) -> list[QuestionOut]:
    """One page of the bank, optionally filtered (``kp`` includes its sub-points).

    Raises:
        InvalidInput: ``unknown_kind``.
    """
    if kind is not None and kind not in QUESTION_KINDS:
        raise InvalidInput(f"unknown kind '{kind}'; known kinds: {', '.join(QUESTION_KINDS)}",
                           error="unknown_kind")
    repo = QuestionRepository(session, actor)
    rows = await repo.search(kp=kp, kind=kind, subject=subject, limit=limit, offset=offset)
    kps = await repo.knowledge_point_codes_of([r.id for r in rows])
    return [QuestionOut(id=r.external_id, kind=r.kind, subject=r.subject, grade=r.grade,
                        stem=r.stem, difficulty=r.difficulty, score=r.score,
                        key_revision=r.key_revision, knowledge_points=kps.get(r.id, []),
                        question=r.document) for r in rows]


async def _outs(repo: QuestionRepository, rows: list[Any]) -> list[QuestionOut]:
    kps = await repo.knowledge_point_codes_of([r.id for r in rows])
    return [QuestionOut(id=r.external_id, kind=r.kind, subject=r.subject, grade=r.grade,
                        stem=r.stem, difficulty=r.difficulty, score=r.score,
                        key_revision=r.key_revision, knowledge_points=kps.get(r.id, []),
                        question=r.document) for r in rows]


async def browse_bank(session: AsyncSession, actor: Actor, bank_filter: BankFilter, *,
                      limit: int, offset: int) -> BankPage:
    """One page of the actor's school's bank, filtered (``kp`` includes its sub-points;
    ``text`` matches the stem or the bank id), with the number of matches.

    Raises:
        InvalidInput: ``unknown_kind``, or a difficulty outside 1..5.
    """
    if bank_filter.kind is not None and bank_filter.kind not in QUESTION_KINDS:
        raise InvalidInput(f"unknown kind '{bank_filter.kind}'; known kinds: "
                           f"{', '.join(QUESTION_KINDS)}", error="unknown_kind")
    if bank_filter.difficulty is not None and not 1 <= bank_filter.difficulty <= 5:
        raise InvalidInput("difficulty is 1 (easiest) to 5", error="invalid_difficulty")
    rows, total = await BankPageRepository(session, actor).page(bank_filter, limit=limit,
                                                                 offset=offset)
    return BankPage(await _outs(QuestionRepository(session, actor), rows), total)


async def knowledge_point_tree(session: AsyncSession, actor: Actor) -> list[KnowledgePointNode]:
    """The knowledge points of the school's bank as a tree (roots first, by code), each
    with the number of questions under it."""
    repo = BankPageRepository(session, actor)
    under: dict[str, set[int]] = {}
    for question, code in await repo.knowledge_point_links():
        parts = code.split(".")
        for i in range(1, len(parts) + 1):  # the point and every point above it
            under.setdefault(".".join(parts[:i]), set()).add(question)
    nodes = {k.code: KnowledgePointNode(k.code, k.name_zh, k.name_en, len(under[k.code]))
             for k in await repo.knowledge_points(under.keys())}
    roots: list[KnowledgePointNode] = []
    for code in sorted(nodes):
        parent = code.rpartition(".")[0]
        (nodes[parent].children if parent in nodes else roots).append(nodes[code])
    return roots


async def question_preview(session: AsyncSession, actor: Actor, question_id: str) -> bytes:
    """A bank question as printed on a worksheet, as a PNG (cached by the question's
    document, so a repeat costs nothing and an edited question renders anew).

    Raises:
        NotFound: no such question in the actor's school's bank.
        InvalidInput: ``layout_error``: the question cannot be laid out.
        NotReady: ``font_missing``.
    """
    row = await BankPageRepository(session, actor).by_external_id(question_id)
    if row is None:
        raise NotFound(f"question '{question_id}' not found")
    try:
        return await to_thread.run_sync(render_question_preview,
                                        json.dumps(row.document, sort_keys=True))
    except LayoutError as exc:
        raise InvalidInput(str(exc), error="layout_error") from exc
    except FontNotFoundError as exc:
        raise NotReady(str(exc), error="font_missing") from exc


async def questions_by_ids(session: AsyncSession, actor: Actor, question_ids: list[str]
                           ) -> list[QuestionOut]:
    """The bank questions with these ids, in the order given; ids not in the actor's
    school's bank are left out."""
    repo = QuestionRepository(session, actor)
    found = await repo.by_external_ids(question_ids)
    rows = [found[q] for q in dict.fromkeys(question_ids) if q in found]
    return await _outs(repo, rows)
