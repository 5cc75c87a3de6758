"""Persist what a worker made of one page: the page row, its answers and their grades.

Writes are idempotent: a page is keyed by (upload, page index) and stored in one
transaction with its responses and grades, so a crash mid-page leaves nothing and the page
is simply read again; a page already stored is never stored twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from anyio import to_thread
from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.learner.schedule import ScheduleSettings
from service.db import GradeRow, PageRow, ResponseRow, ScanUploadRow, WorksheetRow
from service.jobs.pagework import PageResult
from service.logs import log_context
from service.mastery.answers import NewAnswer, new_answer_facts
from service.mastery.sync import sync_new_answers
from service.privacy.tombstones import ERASED_PROBLEM, ERASED_STATUS, erased_page
from service.repositories.jobs import JobWorkRepository
from service.storage import LocalStorage

__all__ = ["PageProblem", "crop_key", "grade_row", "grade_values", "store_page",
           "store_unknown_page"]

log = logging.getLogger(__name__)

_RESPONSES = cast(Table, ResponseRow.__table__)
_GRADES = cast(Table, GradeRow.__table__)
_PAGES = cast(Table, PageRow.__table__)
_INSERT_PAGE = insert(_PAGES).returning(_PAGES.c.id)

# Reader statuses that mean "not a page of a worksheet we know".
_UNIDENTIFIED = {
    "no_code": "no readable page code (QR); is this a markbook worksheet? / 未识别到页码二维码",
    "foreign_code": "the page's QR code is not a markbook code / 二维码不是本系统的页码",
    "unknown_worksheet": "the page belongs to no worksheet of yours / 不是您的作业页",
    # A template upload's page that does not match the template's blank (another sheet,
    # or too little of the page in the picture): never read against it.
    "not_this_page": ("not_this_page: the page does not match the template's blank (another "
                      "worksheet, or too little of the page in the picture); not graded / "
                      "这页与模板页对不上（不是这份作业，或照片里页面不全），未批改"),
}
_BLURRED_UNREAD = ("no readable page code: the photo is too blurred; photograph the page "
                   "again / 照片模糊，读不出二维码，请重拍这一页")
# An MB2 page whose install id or layout hash is not ours (service.jobs.pagework): stored
# as unidentified (it waits in review, may be dismissed), its job problem says foreign_page.
FOREIGN_PAGE = "foreign_page"
NOT_THIS_PAGE = "not_this_page"
_FOREIGN = {
    "install": ("foreign_page: printed by another markbook install (or by this server "
                "before it was reinstalled); not graded / 这页不是本系统打印的（可能来自其他"
                "学校或重装前的系统），未批改"),
    "layout": ("foreign_page: printed from another layout of this worksheet id; not graded"
               " / 这页不是本系统按这份作业当前版式打印的，未批改"),
}


@dataclass(frozen=True)
class PageProblem:
    """A page that needs attention, for the job's problem list."""

    page_index: int
    status: str
    problem: str

    def as_dict(self) -> dict[str, Any]:
        return {"page_index": self.page_index, "status": self.status, "problem": self.problem}


def crop_key(upload_id: int, page_index: int, question_id: str, blank: int) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in question_id)[:48]
    return f"crops/{upload_id}/{page_index}/{safe}_{blank}.png"


async def store_unknown_page(session: AsyncSession, upload: ScanUploadRow, page_index: int,
                             status: str, problem: str, *, checked: bool = False
                             ) -> PageProblem | None:
    """Record a page that could not be matched to a worksheet (or could not be read);
    ``checked``: the caller has just found it not stored yet."""
    if not checked and await JobWorkRepository(session).page_stored(upload.id, page_index):
        return None
    await _insert_page(session, upload_id=upload.id, page_index=page_index, status=status,
                       problem=problem)
    return PageProblem(page_index, status, problem)


class _StoredPage(NamedTuple):
    """What storing a page's answers needs of the page row just inserted."""

    id: int
    worksheet_id: int | None
    student_id: int | None
    status: str


async def _insert_page(session: AsyncSession, **values: Any) -> _StoredPage:
    # A table insert, not a mapped row: nothing in the unit of work reads the page back
    # as an object, and the page store runs for every page of every job.
    page_id = (await session.execute(_INSERT_PAGE, values)).scalar_one()
    page = _StoredPage(page_id, values.get("worksheet_id"), values.get("student_id"),
                       values["status"])
    with log_context(page_id=page.id):
        log.debug("page stored", extra={"status": page.status})
    return page


async def _student_problem(session: AsyncSession, worksheet: WorksheetRow,
                           student_id: int | None) -> str | None:
    if student_id is None:
        return ("a copy without a student code: assign it to a student in review / "
                "不记名的卷子，请在复核中指定学生")
    if not await JobWorkRepository(session).on_roster(student_id, worksheet.class_id):
        return (f"the page names student {student_id}, who is not on this class's roster / "
                "学生不在本班名单中")
    return None


def _candidates_note(result: PageResult) -> str:
    student = result.student
    if student is None:  # no handwriting was read (e.g. no roster to match)
        return ""
    # Say what was read even when nothing was: the teacher then knows to look at the comb.
    note = f"; handwriting read as {student.number or '(nothing)'}"
    if student.candidates:
        note += " / 手写读作 " + (student.number or "（空）") + "：" + " 或 ".join(
            c.reason.split()[0] for c in student.candidates[:2]) + "？"
    if student.conflict:
        note += " / 学号与姓名（或座号）指向不同的学生"
    return note


async def store_page(session: AsyncSession, storage: LocalStorage, upload: ScanUploadRow,
                     result: PageResult, worksheet: WorksheetRow | None,
                     question_ids: dict[str, int],
                     schedule: ScheduleSettings | None = None, *, student_source: str = "qr",
                     unnamed_problem: str | None = None) -> PageProblem | None:
    """Store one page result (flush only; the caller commits).

    Args:
        session: the unit of work.
        storage: where answer crops go.
        upload: the upload the page came from.
        result: the worker's result.
        worksheet: the worksheet the page's code names, if the uploader may see it.
        question_ids: bank external id → question row id for that worksheet.
        schedule: the error-book review spacing; the defaults when omitted.
        student_source: how the page's student is known (``qr``; ``upload`` for a drill
            upload made for one student).
        unnamed_problem: the problem of a page with no student, when not a worksheet copy
            without a student code (a drill page).

    Returns:
        The page's problem, if it has one; None for a cleanly graded page or one that was
        already stored.
    """
    repo = JobWorkRepository(session)
    if await repo.page_stored(upload.id, result.page_index):
        return None
    if result.status == "blank":
        # Back sides of duplex scans and padding pages: recorded, not a problem.
        await store_unknown_page(session, upload, result.page_index, "blank",
                                 "blank page / 空白页", checked=True)
        return None
    if result.status == FOREIGN_PAGE:
        reason = _FOREIGN.get(result.foreign, _FOREIGN["install"])
        await store_unknown_page(session, upload, result.page_index, "unidentified", reason,
                                 checked=True)
        return PageProblem(result.page_index, FOREIGN_PAGE, reason)
    if result.status == NOT_THIS_PAGE:
        reason = _UNIDENTIFIED[NOT_THIS_PAGE]
        await store_unknown_page(session, upload, result.page_index, "unidentified", reason,
                                 checked=True)
        return PageProblem(result.page_index, NOT_THIS_PAGE, reason)
    if worksheet is None or result.code is None:
        reason = _UNIDENTIFIED.get(result.status, _UNIDENTIFIED["unknown_worksheet"])
        if result.status == "no_code" and result.retake == "blurred":
            reason = _BLURRED_UNREAD
        return await store_unknown_page(session, upload, result.page_index, "unidentified",
                                        reason, checked=True)
    student_id = result.code.student_id
    number_read = result.student.number if result.student is not None else None
    if await erased_page(session, worksheet, student_id, number_read):
        return await _store_erased(session, upload, result, worksheet)
    source = student_source
    problem = await _student_problem(session, worksheet, student_id)
    if problem is not None and student_id is None and unnamed_problem is not None:
        problem = unnamed_problem
    status = "graded"
    if problem is None and result.student is not None and result.student.match == "disagrees":
        problem = (f"the page code names student {student_id}, but the name and number on "
                   "the page name another student; assign it in review / 二维码上的学生与卷面"
                   "上的姓名、学号不一致，请在复核中确认")
    if problem is not None:
        status, student_id = "unknown_student", None
        problem += _candidates_note(result)
    elif student_id is not None and await repo.page_already_scanned(
            worksheet.id, result.code.page, student_id):
        return await _store_duplicate(session, upload, result, worksheet, student_id)
    problem_status = None
    if result.status == "misaligned":
        status = "misaligned"
        problem = (f"the page could not be aligned reliably (error {result.alignment_error_mm} "
                   "mm); its answers need review / 页面对齐失败，答案需人工复核")
    elif result.status == "retake":
        # Kept like a misaligned page (its answers wait in review, the copy counts as
        # handed in) and reported as a request to photograph it again.
        status, problem_status = "misaligned", "retake"
        problem = _retake_problem(result.code.page, result.retake)
    page = await _insert_page(
        session, upload_id=upload.id, page_index=result.page_index, worksheet_id=worksheet.id,
        page_no=result.code.page, student_id=student_id,
        student_source=source if student_id is not None else None, status=status,
        problem=problem, alignment_error=result.alignment_error_mm,
        homography=list(result.homography) if result.homography else None,
        student_evidence=(result.student.evidence()
                          if result.student is not None and result.student.scores else None))
    await _store_answers(session, storage, upload, result, page, question_ids, schedule)
    if problem is None:
        return None
    return PageProblem(result.page_index, problem_status or status, problem)


# Why a photo is asked for again (``ocr.capture``), in English and Chinese.
_RETAKE_WHY = {
    "blurred": ("the photo is too blurred", "拍摄模糊"),
    "low_resolution": ("the page is too small in the photo", "照片里的页面太小"),
    "too_dark": ("part of the page is in deep shadow", "页面有一部分在很暗的阴影里"),
    "boxes_lost": ("too many answer boxes could not be found (folded or covered?)",
                   "很多答题框找不到（纸折了或被遮住？）"),
}


def _retake_problem(page_no: int, why: str) -> str:
    en, zh = _RETAKE_WHY.get(why, ("the photo cannot be read reliably", "照片无法可靠识别"))
    return (f"{en}: photograph page {page_no} again; its answers were not read / "
            f"{zh}，请重拍第 {page_no} 页，本页答案未识别")


async def _store_erased(session: AsyncSession, upload: ScanUploadRow, result: PageResult,
                        worksheet: WorksheetRow) -> PageProblem:
    # An erased student's page: kept as a problem page so the job accounts for it, but
    # without student, answers, crops or handwriting evidence.
    assert result.code is not None
    await _insert_page(session, upload_id=upload.id, page_index=result.page_index,
                       worksheet_id=worksheet.id, page_no=result.code.page, student_id=None,
                       status=ERASED_STATUS, problem=ERASED_PROBLEM,
                       alignment_error=result.alignment_error_mm)
    return PageProblem(result.page_index, ERASED_STATUS, ERASED_PROBLEM)


async def _store_duplicate(session: AsyncSession, upload: ScanUploadRow, result: PageResult,
                           worksheet: WorksheetRow, student_id: int) -> PageProblem:
    assert result.code is not None
    problem = (f"page {result.code.page} of this student's copy was already scanned; the "
               "earlier scan is kept / 该页已扫描过，保留先前的结果")
    await _insert_page(session, upload_id=upload.id, page_index=result.page_index,
                       worksheet_id=worksheet.id, page_no=result.code.page, student_id=student_id,
                       student_source="qr", status="duplicate", problem=problem,
                       alignment_error=result.alignment_error_mm)
    return PageProblem(result.page_index, "duplicate", problem)


async def _store_answers(session: AsyncSession, storage: LocalStorage, upload: ScanUploadRow,
                         result: PageResult, page: _StoredPage, question_ids: dict[str, int],
                         schedule: ScheduleSettings | None) -> None:
    crops = {crop_key(upload.id, result.page_index, a.question_id, a.blank): a.crop_png
             for a in result.answers if a.crop_png}

    await to_thread.run_sync(storage.put_many, crops)
    assert page.worksheet_id is not None
    # Table inserts, not mapped rows: a page's answers and grades are a few dozen rows
    # that nothing in this unit of work reads back as objects, and the ORM's bookkeeping
    # for them was about a third of the service's CPU per page.
    rows: list[dict[str, Any]] = []
    first: dict[str, int] = {}  # question → the index of its first blank's row
    for a in sorted(result.answers, key=lambda a: (a.question_id, a.blank)):
        qid = question_ids.get(a.question_id)
        if qid is None:
            continue
        key = crop_key(upload.id, result.page_index, a.question_id, a.blank)
        first.setdefault(a.question_id, len(rows))
        rows.append({"page_id": page.id, "worksheet_id": page.worksheet_id,
                     "student_id": page.student_id, "question_id": qid, "blank": a.blank,
                     "status": a.status, "text": a.text or None, "confidence": a.confidence,
                     "alternatives": [{"text": t, "confidence": p} for t, p in a.alternatives],
                     "marks": [a.marks.as_json()] if a.marks else [],
                     "crop_key": key if key in crops else None})
    if not rows:
        return
    ids = (await session.execute(
        insert(_RESPONSES).returning(_RESPONSES.c.id, sort_by_parameter_order=True), rows
    )).scalars().all()
    grades = [(g.question_id, grade_values(ids[first[g.question_id]],
                                           rows[first[g.question_id]]["question_id"],
                                           g.grade.model_dump(mode="json")))
              for g in result.grades if g.question_id in first]
    if grades:
        await session.execute(insert(_GRADES), [values for _, values in grades])
    graded = dict(grades)  # the last grade of a question is its current one, as when read
    # Mastery and error-book entries commit with the grades or not at all.
    facts = await new_answer_facts(
        session, [NewAnswer(ids[i], rows[i]["question_id"], graded.get(q))
                  for q, i in first.items()],
        school_id=upload.school_id, worksheet_id=page.worksheet_id, student_id=page.student_id,
        page_status=page.status, at=upload.created_at)
    await sync_new_answers(session, facts, schedule)


def grade_row(response: ResponseRow, grade: dict[str, Any], *, source: str = "auto",
              graded_by: int | None = None) -> GradeRow:
    """A grade row from a serialised :class:`grading.grade.Grade` (multi-blank questions
    are graded once, on the response of their first blank)."""
    return GradeRow(**grade_values(response.id, response.question_id, grade, source=source,
                                   graded_by=graded_by))


def grade_values(response_id: int, question_id: int, grade: dict[str, Any], *,
                 source: str = "auto", graded_by: int | None = None) -> dict[str, Any]:
    """A grade row's column values (see :func:`grade_row`)."""
    verdict = str(grade["verdict"])
    review = verdict == "needs_review"
    score = grade.get("score")
    return {"response_id": response_id, "question_id": question_id,
            "key_revision": int(grade["key_revision"]), "verdict": verdict,
            "score": float(score) if score is not None else 0.0,
            "max_score": float(grade["max_score"]), "cause": grade.get("cause"),
            "confidence": float(grade.get("confidence") or 0.0),
            "reason_zh": grade.get("reason_zh") or "", "reason_en": grade.get("reason_en") or "",
            "source": source, "graded_by": graded_by, "is_current": True, "needs_review": review,
            "review_reason": _review_reason(grade) if review else None,
            "normalised": grade.get("normalized_answer")}


def _review_reason(grade: dict[str, Any]) -> str:
    suggested = grade.get("suggested_verdict")
    return "uncertain_reading" if suggested else "unreadable"
