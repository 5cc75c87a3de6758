"""Worksheet results: per-student scores, class summary and CSV exports, from stored rows.

How totals are made (the rule teachers rely on):

- A question's result for a student is the sum of the current grades of its answer
  regions. The pipeline grades a multi-blank question once, on its first blank's response
  (``service.jobs.store.grade_row``), so the other blanks carry readings but no grade; if
  blanks were ever graded one by one, their grades would add up the same way.
- Only *decided* answers add to a total. An answer whose grade needs review, or that was
  never graded, is counted in ``pending_review`` and never silently as zero; a question
  whose page was not scanned is counted in ``not_scanned``. ``complete`` says the total is
  final. The class mean uses complete students only.
- A student who handed in some pages but not all of them is *submitted* and carries the
  pages not scanned (``missing_pages``, from every upload together: a page brought in a
  later upload completes the copy); the class summary counts them in ``incomplete``, apart
  from ``missing`` (no page at all). See :mod:`service.missing_pages`.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Literal, cast

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from grading.answer_groups import AnswerRow, common_wrong_answers
from grading.causes import CAUSE_LABELS, CauseCode
from grading.grade import Verdict
from service.actor import Actor
from service.db import GradeRow, StudentRow, WorksheetRow
from service.errors import NotFound
from service.missing_pages import missing_numbers, worksheet_pages
from service.privacy.expiry import crop_expired
from service.repositories import audit
from service.repositories.results import Answer, ItemInfo, ResultsRepository
from service.repositories.results_pages import ResultsPagesRepository
from service.schemas.results import (
    CauseOut,
    ClassSummaryOut,
    IncompleteStudentOut,
    QuestionCellOut,
    QuestionSummaryOut,
    ResultsOut,
    StudentRef,
    StudentResultOut,
    WrongAnswerOut,
)
from service.storage import LocalStorage, StorageKeyError

__all__ = [
    "build_results",
    "cause_out",
    "crop_url",
    "export_results_csv",
    "load_results",
    "questions_csv",
    "response_crop_png",
    "student_ref",
    "students_csv",
    "wrong_answers",
]

_PENDING = ("needs_review", "ungraded")
_VERDICTS = frozenset(v.value for v in Verdict)
# The verdicts as plain strings: an enum member's .value is a slow descriptor, and a class
# of 200's results read it tens of thousands of times.
_NEEDS_REVIEW = Verdict.NEEDS_REVIEW.value
_CORRECT = Verdict.CORRECT.value
_INCORRECT = Verdict.INCORRECT.value
_PARTIAL = Verdict.PARTIALLY_CORRECT.value


def crop_url(response_id: int) -> str:
    """The API path of a response's crop image."""
    return f"/api/v1/responses/{response_id}/crop.png"


def student_ref(student: StudentRow) -> StudentRef:
    """A student as results and review name them."""
    return StudentRef(id=student.id, student_no=student.student_no, name=student.name)


def cause_out(code: str | None) -> CauseOut | None:
    """An error-cause code with its Chinese and English labels (None passes through; an
    unknown stored code keeps its code with empty labels rather than failing a report)."""
    if not code:
        return None
    try:
        zh, en = CAUSE_LABELS[CauseCode(code)]
    except ValueError:
        zh, en = "", ""
    return CauseOut(code=code, zh=zh, en=en)


def _r(value: float) -> float:
    return round(value + 0.0, 4)  # + 0.0 turns -0.0 (negative marking of 0) into 0.0


def _is_pending(grade: GradeRow) -> bool:
    return grade.needs_review or grade.verdict == _NEEDS_REVIEW


def _combined_verdict(grades: Sequence[GradeRow]) -> str:
    if len(grades) == 1:
        return grades[0].verdict
    verdicts = {g.verdict for g in grades}
    if len(verdicts) == 1:
        return verdicts.pop()
    return _INCORRECT if sum(g.score for g in grades) <= 0 else _PARTIAL


# Cells are built from stored rows whose types the columns fix, thousands per class: built
# without validation (about a fifth of a rebuild), serialised as any other model.
_new_cell = QuestionCellOut.model_construct


def _cell(item: ItemInfo, answers: Sequence[Answer]) -> QuestionCellOut:
    answers = sorted(answers, key=lambda a: (a.response.blank, a.response.id))
    ids = [a.response.id for a in answers]
    crops = [crop_url(a.response.id) for a in answers if a.response.crop_key]
    blanks = [a.response.text for a in answers]
    base: dict[str, Any] = {
        "position": item.position, "question_id": item.external_id, "blanks": blanks,
        "response_ids": ids, "crop_url": crops[0] if crops else None, "crop_urls": crops}
    if not answers:
        return _new_cell(**base, status="not_scanned", answer=None, verdict=None,
                         score=None, max_score=item.max_score, cause=None,
                         confidence=None, needs_review=False, review_reason=None,
                         source=None)
    answer = blanks[0] if len(blanks) == 1 else " | ".join(b or "" for b in blanks)
    grades = [a.grade for a in answers if a.grade is not None]
    if not grades:
        return _new_cell(**base, status="ungraded", answer=answer, verdict=None,
                         score=None, max_score=item.max_score, cause=None,
                         confidence=None, needs_review=True,
                         review_reason="not_graded", source=None)
    first = grades[0]
    pending = [g for g in grades if _is_pending(g)]
    if pending:
        return _new_cell(**base, status="needs_review", answer=answer,
                         verdict=_NEEDS_REVIEW, score=None,
                         max_score=_r(sum(g.max_score for g in grades)),
                         cause=cause_out(first.cause),
                         confidence=min(g.confidence for g in grades), needs_review=True,
                         review_reason=pending[0].review_reason, source=first.source)
    cause = next((g.cause for g in grades if g.cause), None)
    return _new_cell(**base, status="graded", answer=answer,
                     verdict=_combined_verdict(grades),
                     score=_r(sum(g.score for g in grades)),
                     max_score=_r(sum(g.max_score for g in grades)),
                     cause=cause_out(cause), confidence=min(g.confidence for g in grades),
                     needs_review=False, review_reason=None,
                     source="teacher" if any(g.source == "teacher" for g in grades)
                     else first.source)


def _student(student: StudentRow, items: Sequence[ItemInfo], submitted: bool,
             by_question: dict[int, list[Answer]], full: float,
             missing_pages: list[int]) -> StudentResultOut:
    cells = [_cell(i, by_question.get(i.question_row_id, [])) for i in items] if submitted else []
    decided = [c for c in cells if c.status == "graded"]
    pending = sum(1 for c in cells if c.status in _PENDING)
    unscanned = sum(1 for c in cells if c.status == "not_scanned")
    return StudentResultOut(
        student=student_ref(student), submitted=submitted,
        total=_r(sum(c.score or 0.0 for c in decided)), max_score=full,
        decided_max=_r(sum(c.max_score for c in decided)), pending_review=pending,
        not_scanned=unscanned,
        complete=submitted and not pending and not unscanned and not missing_pages,
        missing_pages=missing_pages, questions=cells)


def wrong_answers(grades: Iterable[GradeRow], limit: int = 5) -> list[WrongAnswerOut]:
    """The most common wrong normalised answers among decided grades."""
    rows = [AnswerRow(str(g.id), g.normalised or "", Verdict(g.verdict)) for g in grades
            if g.verdict in _VERDICTS]
    return [WrongAnswerOut(answer=a, count=n) for a, n in common_wrong_answers(rows, limit)]


def item_label(sheet_kind: str, item: ItemInfo) -> str:
    """How a teacher knows a question: a drill item's ids spell its expression (drill-7m5)
    and a template's made questions carry a random stem (own-3fa1c2-1-4), so those show
    the expression and the printed number instead of the id."""
    stem = str(item.document.get("stem", ""))
    if sheet_kind == "drill" and stem:
        return stem
    if sheet_kind == "template" and item.external_id.startswith("own-") and stem:
        return stem.rsplit(" ", 1)[-1]
    return item.external_id


def _question_summary(item: ItemInfo, cells: Sequence[QuestionCellOut],
                      grades: Sequence[GradeRow], sheet_kind: str) -> QuestionSummaryOut:
    decided = [c for c in cells if c.status == "graded"]
    full = sum(c.max_score for c in decided)
    return QuestionSummaryOut(
        position=item.position, question_id=item.external_id,
        label=item_label(sheet_kind, item), kind=item.kind,
        max_score=item.max_score, decided=len(decided),
        correct=sum(1 for c in decided if c.verdict == _CORRECT),
        score_rate=_r(sum(c.score or 0.0 for c in decided) / full) if full else None,
        needs_review=sum(1 for c in cells if c.status in _PENDING),
        not_scanned=sum(1 for c in cells if c.status == "not_scanned"),
        common_wrong=wrong_answers(g for g in grades if not _is_pending(g)))


def build_results(worksheet: WorksheetRow, items: Sequence[ItemInfo], roster: Sequence[StudentRow],
                  answers: Iterable[Answer], submitted: set[int],
                  scanned_pages: Mapping[int, Collection[int]] | None = None) -> ResultsOut:
    """The results document of one worksheet (see the module docstring for the rules).

    Args:
        worksheet: the worksheet.
        items: its questions in order.
        roster: the class's students in roster order.
        answers: the answers on live pages, with current grades.
        submitted: students with at least one live page.
        scanned_pages: student id -> the worksheet page numbers of their live pages
            (:func:`service.missing_pages.worksheet_pages`); None: not checked (no student
            has pages missing).

    Returns:
        Per-student results in roster order, the missing and incomplete students and the
        class summary.
    """
    by_student: dict[int, dict[int, list[Answer]]] = defaultdict(lambda: defaultdict(list))
    for a in answers:
        if a.page.student_id is not None:
            by_student[a.page.student_id][a.response.question_id].append(a)
    full = _r(sum(i.max_score for i in items))
    def lacking(student_id: int) -> list[int]:
        if scanned_pages is None or student_id not in submitted:
            return []
        return missing_numbers(worksheet.page_count, scanned_pages.get(student_id, ()))

    students = [_student(s, items, s.id in submitted, by_student.get(s.id, {}), full,
                         lacking(s.id)) for s in roster]
    summaries = []
    for n, item in enumerate(items):
        cells = [r.questions[n] for r in students if r.submitted]
        grades = [a.grade for s in students if s.submitted
                  for a in by_student.get(s.student.id, {}).get(item.question_row_id, [])
                  if a.grade is not None]
        summaries.append(_question_summary(item, cells, grades, worksheet.kind))
    done = [r for r in students if r.submitted]
    incomplete = [IncompleteStudentOut(student=r.student, missing_pages=r.missing_pages)
                  for r in done if r.missing_pages]
    complete = [r for r in done if r.complete]
    decided_max = sum(r.decided_max for r in done)
    summary = ClassSummaryOut(
        roster=len(roster), submitted=len(done), missing=len(roster) - len(done),
        incomplete=len(incomplete), complete=len(complete),
        mean=_r(sum(r.total for r in complete) / len(complete)) if complete else None,
        mean_rate=_r(sum(r.total for r in done) / decided_max) if decided_max else None,
        needs_review=sum(r.pending_review for r in done), questions=summaries)
    base = f"/api/v1/worksheets/{worksheet.id}"
    return ResultsOut(
        worksheet_id=worksheet.id, title=worksheet.title, class_id=worksheet.class_id,
        max_score=full, students=students,
        missing=[r.student for r in students if not r.submitted], incomplete=incomplete,
        summary=summary,
        links={"self": f"{base}/results", "csv": f"{base}/results.csv",
               "csv_by_question": f"{base}/results.csv?by=question",
               "review": f"/api/v1/review?worksheet_id={worksheet.id}"})


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


def _text(value: str | None) -> str:
    # Spreadsheets run cells starting with = + - @ as formulas; numbers stay numbers.
    text = value or ""
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def _csv(rows: Iterable[Sequence[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerows(rows)
    # The BOM makes Excel (the tool most schools open CSVs with) read UTF-8 Chinese names.
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


_CELL_TEXT = {"needs_review": "待复核", "ungraded": "待复核", "not_scanned": "未扫描"}


def students_csv(results: ResultsOut) -> bytes:
    """Scores per student and question, a total column, UTF-8 with BOM.

    Args:
        results: the worksheet's results.

    Returns:
        The CSV bytes. Undecided answers read 待复核 (never 0), unscanned ones 未扫描; the
        last column (缺页) lists the pages not scanned of a student who handed in some.
    """
    items = results.summary.questions
    header = ["学号", "姓名", "提交"] + [f"{q.position}. {q.question_id}（{q.max_score:g}分）"
                                        for q in items]
    header += ["总分", "满分", "待复核", "未扫描", "缺页"]
    rows: list[list[str]] = [header]
    for r in results.students:
        row = [_text(r.student.student_no), _text(r.student.name),
               "已提交" if r.submitted else "未提交"]
        if r.submitted:
            row += [_CELL_TEXT.get(c.status, _num(c.score)) for c in r.questions]
            row += [_num(r.total), _num(r.max_score), str(r.pending_review), str(r.not_scanned),
                    "、".join(str(n) for n in r.missing_pages)]
        else:
            row += [""] * len(items) + ["", _num(r.max_score), "", "", ""]
        rows.append(row)
    return _csv(rows)


def questions_csv(results: ResultsOut) -> bytes:
    """Per-question statistics: decided count, score rate, common wrong answers.

    Args:
        results: the worksheet's results.

    Returns:
        The CSV bytes (UTF-8 with BOM).
    """
    rows: list[list[str]] = [["序号", "题号", "题型", "满分", "已批改", "正确", "得分率(%)",
                              "待复核", "未扫描", "常见错误答案"]]
    for q in results.summary.questions:
        rate = "" if q.score_rate is None else f"{q.score_rate * 100:.1f}"
        wrong = "；".join(f"{w.answer}（{w.count}人）" for w in q.common_wrong)
        rows.append([str(q.position), q.question_id, q.kind, _num(q.max_score), str(q.decided),
                     str(q.correct), rate, str(q.needs_review), str(q.not_scanned),
                     _text(wrong)])
    return _csv(rows)


async def load_results(session: AsyncSession, actor: Actor, worksheet_id: int) -> ResultsOut:
    """The results document of a worksheet the actor may see.

    Raises:
        NotFound: no such worksheet for the actor.
    """
    repo = ResultsRepository(session, actor)
    ws = await repo.worksheet(worksheet_id)
    return await results_of(session, actor, ws, await repo.items(ws.id),
                            await repo.roster(ws.class_id))


async def results_of(session: AsyncSession, actor: Actor, ws: WorksheetRow,
                     items: Sequence[ItemInfo], roster: Sequence[StudentRow]) -> ResultsOut:
    """The results document of a worksheet already checked visible, with its items and
    roster: its answers are read as plain objects of the columns results show, not ORM
    rows (a class of 200 is 1,600 of them; building ORM rows was half of a read)."""
    lean = await ResultsPagesRepository(session, actor).lean_answers(ws.id)
    # build_results reads only the columns the lean objects carry (attribute for attribute).
    answers = [Answer(cast(Any, r), cast(Any, p), cast(Any, g)) for r, p, g in lean]
    submitted = await ResultsRepository(session, actor).submitted(ws.id)
    pages = await worksheet_pages(session, actor, ws.id)
    return build_results(ws, items, roster, answers, submitted, pages)


async def export_results_csv(session: AsyncSession, actor: Actor, worksheet_id: int,
                             by: Literal["student", "question"]) -> tuple[bytes, str]:
    """The results as CSV (per student, or per question) and a human file name; the export
    is recorded in the audit log."""
    results = await load_results(session, actor, worksheet_id)
    data = students_csv(results) if by == "student" else questions_csv(results)
    await audit.record(session, actor, "results.export", "worksheet", worksheet_id,
                       detail={"format": "csv", "by": by})
    return data, f"{results.title}-{'成绩' if by == 'student' else '逐题分析'}.csv"


async def response_crop_png(session: AsyncSession, actor: Actor, storage: LocalStorage,
                        response_id: int) -> bytes:
    """The stored crop (PNG) of one answer region the actor may see.

    Raises:
        NotFound: ``no_crop`` when the response has none or it is missing from storage.
    """
    key = await ResultsRepository(session, actor).crop_key(response_id)
    if key is None:
        if await crop_expired(session, response_id):
            raise NotFound(f"the crop of response {response_id} is no longer kept",
                           error="image_expired")
        raise NotFound(f"response {response_id} has no crop", error="no_crop")
    try:
        return await to_thread.run_sync(storage.get_bytes, key)
    except (FileNotFoundError, StorageKeyError) as exc:
        raise NotFound(f"the crop of response {response_id} is missing from storage",
                       error="no_crop") from exc
