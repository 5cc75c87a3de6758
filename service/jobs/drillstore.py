"""Store a drill page (口算) the way a worksheet page is stored.

Each item a worker found becomes a question of the drill assignment: an ``arithmetic``
question whose stem is the printed expression (the key is computed from it), tagged with
the knowledge points the operation practises (:mod:`grading.drill_points`), created once
per school and expression (``origin = "drill"``: out of bank listings) and appended to the
assignment's items the first time a page shows it. The page is then stored by
:func:`service.jobs.store.store_page` like any worksheet page (page number: its place in
the upload), so responses, grades, the review queue, results and mastery are the same
tables and the same flow. Nothing is graded without a key: a page with no items is a page
problem (``no_items``), never a zero.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.contract import PageCode
from errorbook.learner.schedule import ScheduleSettings
from grading.drill import drill_question, expects_remainder
from grading.drill_points import drill_knowledge_points
from grading.questions import Question
from service.db import QuestionRow, ScanUploadRow, WorksheetRow
from service.jobs.drillwork import DrillItemOut, DrillPageResult, DrillTarget
from service.jobs.pagework import AnswerOut, GradeOut, PageResult
from service.jobs.recovery import READER_FAILED
from service.jobs.store import PageProblem, store_page, store_unknown_page
from service.repositories.drills import DrillRepository
from service.repositories.jobs import JobWorkRepository
from service.storage import LocalStorage

__all__ = ["DRILL_PREFIX", "drill_question_id", "store_drill_page"]

log = logging.getLogger(__name__)

# Bank ids of drill items: ``drill-`` and the expression spelt in id characters.
DRILL_PREFIX = "drill-"
_SPELL = {"+": "a", "-": "s", "×": "m", "*": "m", "÷": "d", "/": "_", "(": "p", ")": "q"}
_QUESTION: TypeAdapter[Question] = TypeAdapter(Question)
# A drill page's "page space" is its pixels as ingested (its items' regions are stored in
# them), so its homography is the identity: annotated pages place marks through it.
_IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)

_NO_ITEMS = ("no_items: no arithmetic item (a ○ b =) was found on this page; not graded / "
             "这一页没有找到口算题，未批改")
_NO_STUDENT = ("a drill page without a student: upload it with student_id, write the 学号 at"
               " the top, or assign it to a student in review / 未指定学生的口算页：请按学生上传"
               "、在页首写学号，或在复核中指定学生")
_ENGINE = ("engine_error: the drill reader failed on this page ({detail}); it was not read"
           " and is read again when the job is retried / 口算识别出错，本页未读，重试任务时会"
           "重新读取")


def drill_question_id(key: str) -> str:
    """The bank id of a drill item (``37+48`` → ``drill-37a48``; ``6×7#2`` →
    ``drill-6m7-2``: "-" never spells an operator), hashed when the expression does not fit
    in an id."""
    expression, _, repeat = key.partition("#")
    spelt = "".join(_SPELL.get(c, c) for c in expression)
    ident = DRILL_PREFIX + spelt + (f"-{repeat}" if repeat else "")
    if len(ident) > 64 or not all(c.isalnum() or c in "._-" for c in ident):
        digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:16]
        ident = DRILL_PREFIX + digest
    return ident


def _question(item: DrillItemOut, ident: str) -> Question:
    q = drill_question(item.expression, expects_remainder(item.expression), 0)
    kps = drill_knowledge_points(item.expression)
    return q.model_copy(update={"id": ident, "knowledge_points": [kps[0].code]})


async def _questions(session: AsyncSession, school_id: int, worksheet: WorksheetRow,
                     items: tuple[DrillItemOut, ...]) -> dict[str, QuestionRow]:
    """Item key → its question row (created, and added to the assignment, when new)."""
    repo = DrillRepository(session)
    wanted = {it.key: drill_question_id(it.key) for it in items}
    found = await repo.questions(school_id, list(wanted.values()))
    out: dict[str, QuestionRow] = {}
    for it in items:
        ident = wanted[it.key]
        row = found.get(ident)
        if row is not None and row.origin != "drill":  # a teacher's own bank id: not ours
            ident = DRILL_PREFIX + hashlib.sha1(it.key.encode(),
                                                usedforsecurity=False).hexdigest()[:16]
            row = (await repo.questions(school_id, [ident])).get(ident)
        if row is None:
            q = _question(it, ident)
            kps = drill_knowledge_points(it.expression)
            kp_ids = await repo.knowledge_point_ids(kps)
            row = await repo.add_question(
                QuestionRow(school_id=school_id, external_id=ident, kind=q.kind,
                            subject=q.subject, grade=q.grade, stem=q.stem,
                            difficulty=q.difficulty, score=q.score, key_revision=1,
                            document=_QUESTION.dump_python(q, mode="json"), origin="drill"),
                [kp_ids[kps[0].code]])
        out[it.key] = row
    on_sheet = await repo.item_questions(worksheet.id)
    await repo.add_items(worksheet.id, [r for r in dict.fromkeys(out.values())
                                        if r.id not in on_sheet])
    return out


async def store_drill_page(session: AsyncSession, storage: LocalStorage, upload: ScanUploadRow,
                           result: DrillPageResult, worksheet: WorksheetRow,
                           target: DrillTarget, schedule: ScheduleSettings | None = None
                           ) -> PageProblem | None:
    """Store one drill page's result (flush only; the caller commits).

    Args:
        session: The unit of work.
        storage: Where the items' crops go.
        upload: The upload the page came from.
        result: The worker's result.
        worksheet: The drill assignment.
        target: The upload's assignment and student.
        schedule: The error-book review spacing.

    Returns:
        The page's problem, if it has one (``no_items``, ``engine_error``: not stored, so a
        retry reads it; ``unknown_student``; ``drill_items_unread`` for items whose printed
        expression could not be read); None for a cleanly graded or already stored page.
    """
    if await JobWorkRepository(session).page_stored(upload.id, result.page_index):
        return None
    if result.status == "blank":
        await store_unknown_page(session, upload, result.page_index, "blank",
                                 "blank page / 空白页")
        return None
    if result.status == "engine_error":
        return PageProblem(result.page_index, READER_FAILED,
                           _ENGINE.format(detail=result.detail[:200]))
    if result.status != "read" or not result.items:
        stored = await store_unknown_page(session, upload, result.page_index, "unidentified",
                                          _NO_ITEMS)
        return PageProblem(result.page_index, "no_items", _NO_ITEMS) if stored else None
    rows = await _questions(session, upload.school_id, worksheet, result.items)
    ids = {rows[it.key].external_id: rows[it.key].id for it in result.items}
    answers = tuple(_renamed(it, rows[it.key].external_id) for it in result.items)
    grades = tuple(GradeOut(rows[it.key].external_id, it.grade) for it in result.items)
    student = target.student_id or result.student_id
    page = PageResult(result.page_index, "read",
                      PageCode(worksheet.id, result.page_index + 1, student),
                      result.rotation, None, _IDENTITY, answers, grades, dict(result.timings_ms))
    unnamed = _NO_STUDENT
    if result.number_read is not None:
        unnamed += (f"; the 学号 written on the page reads {result.number_read or '(nothing)'}"
                    f", which names no student for sure / 卷面学号读作 "
                    f"{result.number_read or '（空）'}，无法确定是哪位学生")
    source = "upload" if target.student_id is not None else "handwriting"
    problem = await store_page(session, storage, upload, page, worksheet, ids, schedule,
                               student_source=source, unnamed_problem=unnamed)
    await DrillRepository(session).set_regions(
        upload.id, result.page_index, {rows[it.key].id: it.region for it in result.items})
    if problem is None and result.unparsed:
        note = (f"drill_items_unread: {result.unparsed} item(s) whose printed expression "
                f"could not be read were not graded / 有 {result.unparsed} 道题目本身没能识别，"
                "未批改")
        return PageProblem(result.page_index, "drill_items_unread", note)
    return problem


def _renamed(item: DrillItemOut, question_id: str) -> AnswerOut:
    return dataclasses.replace(item.answer, question_id=question_id)
