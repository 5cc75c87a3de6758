"""Teacher review: decide one answer, grade a whole answer group, name a page's student.

Decisions re-flow into results by themselves: results always read the current grade rows.

- ``confirm`` regrades the machine's stored best reading as a teacher-confirmed response
  (confidence 1.0, so the review policy does not flag it again);
- ``correct`` regrades the teacher's reading and stores it on the response rows;
- ``set`` records the teacher's verdict and score (within ``[0, max]``).

Regrading uses the question's current key revision (as the pipeline does). A grader that
still cannot decide a teacher's reading (say, a letter that is not an option) leaves the
answer in review with ``review_reason`` ``teacher_reading_undecided``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from anyio import to_thread
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.learner.schedule import ScheduleSettings
from grading.answer_groups import AnswerRow, group_answers
from grading.grade import VERDICT_LABELS, Verdict
from grading.questions import Question
from grading.response import Response
from grading.review_policy import grade_response
from service.actor import Actor
from service.db import GradeRow, ResponseRow
from service.errors import Conflict, InvalidInput, NotFound
from service.jobs.store import grade_row
from service.mastery.sync import sync_answers
from service.repositories import audit
from service.repositories.results import Answer, ItemInfo, ResultsRepository
from service.repositories.review import ReviewRepository, ReviewTarget
from service.repositories.review_pages import ReviewPagesRepository
from service.results import crop_url, student_ref, wrong_answers
from service.schemas.results import (
    AnswerGroupOut,
    AssignPage,
    GroupGrade,
    GroupGraded,
    GroupMemberOut,
    GroupsOut,
    ReviewAction,
    ReviewDone,
    ReviewPage,
)

__all__ = ["assign_page", "decide", "grade_group", "list_groups", "proposed_grade"]

_QUESTION: TypeAdapter[Any] = TypeAdapter(Question)
_WRONG = (Verdict.INCORRECT.value, Verdict.PARTIALLY_CORRECT.value)
_ASSIGNABLE = ("unknown_student", "graded", "misaligned")


def _stored_reading(t: ReviewTarget) -> Response | None:
    """The machine's best reading as a teacher-confirmed response; None if nothing was read
    (an unreadable blank-less answer cannot be "confirmed", only corrected or set)."""
    return _reading_of(t.blanks)


def _reading_of(blanks: list[ResponseRow]) -> Response | None:
    first = blanks[0]
    marks = first.marks[0] if first.marks and isinstance(first.marks[0], dict) else None
    if marks is not None and marks.get("marked") is not None:
        marked = tuple(str(m) for m in marks["marked"])
        return Response.typed("".join(marked), marked=marked)
    texts = tuple(r.text or "" for r in blanks)
    if not any(x.strip() for x in texts) and not all(r.status in ("blank", "corrected")
                                                     for r in blanks):
        return None
    if len(texts) == 1 or (first.status == "corrected" and not any(texts[1:])):
        return Response.typed(texts[0])
    return Response.typed(blanks=texts)


def _teacher_reading(t: ReviewTarget, body: ReviewAction) -> tuple[Response, list[str]]:
    if body.blanks is not None:
        if len(body.blanks) != len(t.blanks):
            raise InvalidInput(f"this answer has {len(t.blanks)} blank(s); "
                               f"{len(body.blanks)} given", error="wrong_blank_count")
        return Response.typed(blanks=tuple(body.blanks)), list(body.blanks)
    if body.text is None:
        raise InvalidInput("'correct' needs the answer as 'text' (or 'blanks')",
                           error="missing_text")
    return Response.typed(body.text), [body.text]


def _store_reading(t: ReviewTarget, texts: list[str]) -> None:
    """Keep the teacher's reading on the response rows (status ``corrected``). One line for
    a multi-blank answer goes on the first blank and the other blanks are cleared, so the
    stored reading is exactly what was graded."""
    padded = texts + [""] * (len(t.blanks) - len(texts))
    row: ResponseRow
    for row, text in zip(t.blanks, padded, strict=True):
        row.text = text or None
        row.status = "corrected"
        row.confidence = 1.0


async def _regrade(item: ItemInfo, response: Response) -> dict[str, Any]:
    question = _QUESTION.validate_python(item.document)
    grade = await to_thread.run_sync(
        partial(grade_response, question, response, key_revision=item.revision))
    dumped: dict[str, Any] = grade.model_dump(mode="json")
    return dumped


def _check_score(score: float | None, max_score: float) -> float:
    if score is None:
        raise InvalidInput("a score is required", error="missing_score")
    if not 0.0 <= score <= max_score:
        raise InvalidInput(f"score {score:g} is outside [0, {max_score:g}]",
                           error="score_out_of_range")
    return float(score)


def _teacher_grade(response_id: int, question_id: int, old: GradeRow | None, item: ItemInfo,
                   actor: Actor, verdict: str, score: float, zh: str, en: str) -> GradeRow:
    label_zh, label_en = VERDICT_LABELS[Verdict(verdict)]
    return GradeRow(
        response_id=response_id, question_id=question_id,
        key_revision=old.key_revision if old is not None else item.revision, verdict=verdict,
        score=score, max_score=item.max_score,
        cause=old.cause if old is not None and verdict in _WRONG else None, confidence=1.0,
        reason_zh=f"{zh}：{label_zh}", reason_en=f"{en}: {label_en}", source="teacher",
        graded_by=actor.teacher_id, is_current=True, needs_review=False, review_reason=None,
        normalised=old.normalised if old is not None else None)


def _grade_detail(g: GradeRow | None) -> dict[str, Any] | None:
    if g is None:
        return None
    return {"id": g.id, "verdict": g.verdict, "score": None if g.needs_review else g.score,
            "source": g.source}


async def proposed_grade(session: AsyncSession, actor: Actor, response_id: int,
                         items: list[ItemInfo] | None = None,
                         blanks: list[ResponseRow] | None = None) -> tuple[str, float] | None:
    """What ``confirm`` would decide for an answer now: the verdict and score of its stored
    reading graded as the teacher's (nothing is written; the review page shows it beside
    the Enter key).

    Args:
        session: the unit of work.
        actor: the teacher.
        response_id: the answer's first-blank response, from a row already scoped.
        items: the worksheet's items if the caller has them (saves a query).
        blanks: every blank's response of the answer, in blank order, if the caller has
            them (saves a query).

    Returns:
        ``(verdict, score)``, or None when there is nothing to confirm or the grader still
        cannot decide.
    """
    if blanks is None:
        blanks = await ReviewPagesRepository(session, actor).blanks(response_id)
    if not blanks:
        return None
    response = _reading_of(blanks)
    if response is None:
        return None
    if items is None:
        items = await ResultsRepository(session, actor).items(blanks[0].worksheet_id)
    item = next((i for i in items if i.question_row_id == blanks[0].question_id), None)
    if item is None:
        return None
    try:
        graded = await _regrade(item, response)
    except ValidationError:
        return None
    if graded.get("verdict") in (None, Verdict.NEEDS_REVIEW.value) or graded.get("score") is None:
        return None
    return str(graded["verdict"]), float(graded["score"])


async def decide(session: AsyncSession, actor: Actor, response_id: int,
                 body: ReviewAction, schedule: ScheduleSettings | None = None) -> ReviewDone:
    """Apply a teacher's decision on one answer.

    Args:
        session: the unit of work.
        actor: the teacher.
        response_id: any blank's response of the answer.
        body: the decision.
        schedule: the error-book review spacing (mastery and entries are replayed).

    Returns:
        The new current grade.

    Raises:
        NotFound: unknown response or another teacher's.
        InvalidInput: a score out of range, a missing field, nothing to confirm.
    """
    repo = ReviewRepository(session, actor)
    t = await repo.target(response_id)
    old_texts = [r.text for r in t.blanks]
    if body.action == "set":
        if body.verdict is None or body.verdict is Verdict.NEEDS_REVIEW:
            raise InvalidInput("'set' needs a verdict other than needs_review",
                               error="invalid_verdict")
        score = _check_score(body.score, t.item.max_score)
        new = _teacher_grade(t.primary.id, t.primary.question_id, t.grade, t.item, actor,
                             body.verdict.value, score, "教师批改", "set by a teacher")
    else:
        if body.action == "confirm":
            response = _stored_reading(t)
            if response is None:
                raise InvalidInput("nothing was read from this answer; correct it or set a "
                                   "verdict / 未识别到答案，请改正或直接评分",
                                   error="nothing_to_confirm")
        else:
            response, texts = _teacher_reading(t, body)
            _store_reading(t, texts)
        try:
            graded = await _regrade(t.item, response)
        except ValidationError as exc:  # the stored key no longer validates
            raise Conflict(f"the answer key cannot be loaded: {exc.errors()[0]['msg']}",
                           error="bad_key") from exc
        new = grade_row(t.primary, graded, source="teacher", graded_by=actor.teacher_id)
        if new.needs_review:
            new.review_reason = "teacher_reading_undecided"
    await repo.replace_grade(t.blanks, new)
    await sync_answers(session, [t.primary.id], schedule)
    await audit.record(session, actor, f"review.{body.action}", "response", t.primary.id, detail={
        "old_grade": _grade_detail(t.grade), "new_grade": _grade_detail(new),
        "old_text": old_texts, "new_text": [r.text for r in t.blanks], "note": body.note})
    return ReviewDone(response_id=t.primary.id, grade_id=new.id,
                      previous_grade_id=t.grade.id if t.grade else None, verdict=new.verdict,
                      score=None if new.needs_review else new.score, max_score=new.max_score,
                      needs_review=new.needs_review, reason_zh=new.reason_zh,
                      reason_en=new.reason_en, answer=" | ".join(r.text or "" for r in t.blanks))


# ---------------------------------------------------------------------- answer groups


async def _question_answers(repo: ResultsRepository, worksheet_id: int, question_id: str
                            ) -> tuple[ItemInfo, list[Answer], int]:
    await repo.worksheet(worksheet_id)
    item = next((i for i in await repo.items(worksheet_id) if i.external_id == question_id),
                None)
    if item is None:
        raise NotFound(f"question '{question_id}' is not on worksheet {worksheet_id}")
    answers = await repo.answers(worksheet_id, question_row_id=item.question_row_id,
                                 live_only=False)
    # The grade of a question lives on its first blank's response: one answer per page.
    primary: dict[int, Answer] = {}
    for a in sorted(answers, key=lambda a: (a.response.blank, a.response.id)):
        primary.setdefault(a.page.id, a)
    graded = [a for a in primary.values() if a.grade is not None]
    return item, graded, len(primary) - len(graded)


def _groups(graded: list[Answer]) -> list[Any]:
    rows = [AnswerRow(str(a.response.id), a.grade.normalised or "", Verdict(a.grade.verdict))
            for a in graded if a.grade is not None]
    return group_answers(rows)


async def list_groups(session: AsyncSession, actor: Actor, worksheet_id: int,
                      question_id: str) -> GroupsOut:
    """Answer groups of one worksheet question: identical normalised answers together.

    Args:
        session: the unit of work.
        actor: the teacher.
        worksheet_id: the worksheet.
        question_id: the question's bank id.

    Returns:
        The groups, largest first, with their members and the common wrong answers.

    Raises:
        NotFound: unknown or invisible worksheet, or a question not on it.
    """
    repo = ResultsRepository(session, actor)
    item, graded, ungraded = await _question_answers(repo, worksheet_id, question_id)
    by_id = {a.response.id: a for a in graded}
    students = await ReviewRepository(session, actor).students(
        {a.page.student_id for a in graded if a.page.student_id is not None})
    out = []
    for g in _groups(graded):
        members = []
        for rid in sorted(int(r) for r in g.response_ids):
            a = by_id[rid]
            assert a.grade is not None
            student = students.get(a.page.student_id) if a.page.student_id else None
            members.append(GroupMemberOut(
                response_id=rid, student=student_ref(student) if student else None,
                verdict=a.grade.verdict, source=a.grade.source,
                crop_url=crop_url(rid) if a.response.crop_key else None))
        out.append(AnswerGroupOut(normalised=g.normalized_answer, count=g.count,
                                  verdict=g.verdict.value if g.verdict else None,
                                  verdicts={v.value: n for v, n in g.verdicts},
                                  needs_review=g.needs_review, members=members))
    return GroupsOut(worksheet_id=worksheet_id, question_id=question_id,
                     max_score=item.max_score, groups=out,
                     common_wrong=wrong_answers(a.grade for a in graded if a.grade is not None
                                                and not a.grade.needs_review),
                     ungraded=ungraded)


async def grade_group(session: AsyncSession, actor: Actor, worksheet_id: int,
                      question_id: str, body: GroupGrade,
                      schedule: ScheduleSettings | None = None) -> GroupGraded:
    """Grade every answer of one answer group with the teacher's verdict and score.

    Args:
        session: the unit of work.
        actor: the teacher.
        worksheet_id: the worksheet.
        question_id: the question's bank id.
        body: the group's normalised answer, the verdict and the score.
        schedule: the error-book review spacing.

    Returns:
        How many answers were graded, and which.

    Raises:
        NotFound: unknown worksheet, question or group.
        InvalidInput: a score outside ``[0, max]``.
    """
    repo = ResultsRepository(session, actor)
    item, graded, _ = await _question_answers(repo, worksheet_id, question_id)
    score = _check_score(body.score, item.max_score)
    group = next((g for g in _groups(graded) if g.normalized_answer == body.normalised), None)
    if group is None:
        raise NotFound(f"no answer group '{body.normalised}' for question '{question_id}'",
                       error="no_such_group")
    review = ReviewRepository(session, actor)
    by_id = {a.response.id: a for a in graded}
    ids = sorted(int(r) for r in group.response_ids)
    changes = []
    for rid in ids:
        t = await review.target(rid)
        new = _teacher_grade(t.primary.id, t.primary.question_id, t.grade, item, actor,
                             body.verdict, score, "教师按答案组批改", "graded for the answer group")
        await review.replace_grade(t.blanks, new)
        changes.append({"response_id": rid, "old_grade": _grade_detail(by_id[rid].grade),
                        "new_grade_id": new.id})
    await sync_answers(session, ids, schedule)
    await audit.record(session, actor, "review.group", "question", item.question_row_id, detail={
        "worksheet_id": worksheet_id, "question_id": question_id,
        "normalised": body.normalised, "verdict": body.verdict, "score": score,
        "changes": changes, "note": body.note})
    return GroupGraded(normalised=body.normalised, verdict=body.verdict, score=score,
                       graded=len(ids), response_ids=ids)


# ---------------------------------------------------------------------- pages


async def assign_page(session: AsyncSession, actor: Actor, page_id: int,
                      body: AssignPage, schedule: ScheduleSettings | None = None) -> ReviewPage:
    """Name the student a scanned page belongs to.

    Args:
        session: the unit of work.
        actor: the teacher.
        page_id: the page.
        body: the student and whether to replace an existing assignment or page.
        schedule: the error-book review spacing.

    Returns:
        The page after the change.

    Raises:
        NotFound: unknown page or another teacher's.
        InvalidInput: a student not on the worksheet's class roster, or a page that is not
            a worksheet page that can carry a student.
        Conflict: the page already names another student, or the student's copy of that
            worksheet page is already scanned (unless ``replace``).
    """
    repo = ReviewRepository(session, actor)
    page, _upload = await repo.page(page_id)
    if page.worksheet_id is None or page.page_no is None:
        raise InvalidInput("this page belongs to no known worksheet", error="no_worksheet")
    ws = await ResultsRepository(session, actor).worksheet(page.worksheet_id)
    if page.status not in _ASSIGNABLE:
        raise InvalidInput(f"a '{page.status}' page cannot be assigned", error="not_assignable")
    student = await repo.roster_student(ws.class_id, body.student_id)
    if student is None:
        raise InvalidInput(f"student {body.student_id} is not on this worksheet's class roster",
                           error="not_on_roster")
    replaced = None
    if page.student_id != student.id:
        if page.student_id is not None and not body.replace:
            raise Conflict(f"page {page.id} already belongs to student {page.student_id}; "
                           "send replace=true to reassign it", error="already_assigned")
        other = await repo.live_page_of(ws.id, page.page_no, student.id, exclude=page.id)
        if other is not None and not body.replace:
            raise Conflict(f"page {page.page_no} of this student's copy is already scanned "
                           f"(page {other.id}); send replace=true to use this scan instead",
                           error="page_taken")
        if other is not None:
            other.status = "duplicate"
            other.problem = (f"replaced in review by page {page.id} / "
                             "已在复核中被另一份扫描替换")
            replaced = other.id
        previous = page.student_id
        await repo.set_page_student(page, student.id)
        page.student_source = "teacher"
        if page.status == "unknown_student":
            page.status, page.problem = "graded", None
        await repo.flush()
        moved = [page.id] + ([replaced] if replaced is not None else [])
        await sync_answers(session, await repo.primary_responses(moved), schedule)
        await audit.record(session, actor, "review.assign_page", "page", page.id, detail={
            "student_id": student.id, "previous_student_id": previous,
            "replaced_page_id": replaced})
    return ReviewPage(page_id=page.id, worksheet_id=page.worksheet_id, page_no=page.page_no,
                      status=page.status, student=student_ref(student),
                      student_source=page.student_source, replaced_page_id=replaced)
