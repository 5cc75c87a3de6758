"""Annotated papers (批改痕迹) from stored scans and current grades.

Page images are re-read from the stored upload (pages are streamed, and each is kept only
as a downscaled JPEG until rendering), the homography stored with each page places the
marks, and the current grades (teacher overrides included) decide them. Rendering runs in
a worker thread so the event loop stays free.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.contract import WorksheetLayout
from errorbook.printing.annotated.paper import (
    AnnotateOptions,
    RegionMark,
    ScanPage,
    StudentPaper,
    layout_keep_clear,
    render_annotated_class_pdf,
)
from errorbook.printing.language import PrintLanguage
from ocr.ingest import IngestLimits, iter_pages
from service.actor import Actor
from service.db import GradeRow, PageRow, ResponseRow, StudentRow, WorksheetRow
from service.errors import NotFound
from service.repositories import audit
from service.repositories.annotated import AnnotatedRepository
from service.repositories.worksheets import WorksheetRepository
from service.storage import LocalStorage

__all__ = ["annotated_pdf", "export_annotated"]

BACKGROUND_DPI = 150.0
_SHOWN = ("graded", "misaligned")


@dataclass(frozen=True)
class _PageJob:
    page: PageRow
    upload_key: str
    marks: tuple[RegionMark, ...]
    keep_clear: tuple[tuple[float, float, float, float], ...]


def _marks(layout: WorksheetLayout, page_no: int, questions: dict[int, tuple[str, float]],
           graded: list[tuple[ResponseRow, GradeRow | None]]) -> tuple[RegionMark, ...]:
    pages = [p for p in layout.pages if p.number == page_no]
    if not pages:
        return ()
    regions = {(r.question_id, r.blank): r for r in pages[0].regions}
    marks = []
    for response, grade in graded:
        if grade is None:
            continue  # a later blank of a multi-blank question: marked once, on blank 0
        ext = questions.get(response.question_id, ("", 0.0))[0]
        region = regions.get((ext, response.blank))
        if region is None:
            continue
        review = grade.needs_review
        marks.append(RegionMark(region.box, str(region.number),
                                "needs_review" if review else grade.verdict,  # type: ignore[arg-type]
                                None if review else grade.score, grade.max_score))
    return tuple(marks)


def _drill_marks(graded: list[tuple[ResponseRow, GradeRow | None]]) -> tuple[RegionMark, ...]:
    """A drill page's marks: each item's answer area as found on the page (its
    ``region``, in pixels of the page as ingested: the page's homography is the identity)."""
    placed: list[tuple[tuple[float, float, float, float], GradeRow]] = []
    for response, grade in graded:
        if grade is not None and response.region and len(response.region) == 4:
            x0, y0, x1, y1 = (float(v) for v in response.region)
            placed.append(((x0, y0, x1, y1), grade))
    placed.sort(key=lambda bg: (bg[0][1], bg[0][0]))  # reading order, top to bottom
    marks = []
    for n, (box, grade) in enumerate(placed, start=1):
        review = grade.needs_review
        marks.append(RegionMark(box, str(n),
                                "needs_review" if review else grade.verdict,  # type: ignore[arg-type]
                                None if review else grade.score, grade.max_score))
    return tuple(marks)


def _load_images(path: Path, wanted: set[int]) -> dict[int, tuple[bytes, float]]:
    """Re-read the wanted pages of an upload as downscaled JPEGs (and the scale used)."""
    out: dict[int, tuple[bytes, float]] = {}
    for page in iter_pages(path, IngestLimits(max_pages=100_000)):
        if page.index in wanted:
            dpi = page.dpi or 200.0
            scale = min(1.0, BACKGROUND_DPI / dpi)
            img = page.image
            if scale < 1.0:
                img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
            if ok:
                out[page.index] = (data.tobytes(), scale)
            if len(out) == len(wanted):
                break
    return out


def _scaled(h: Sequence[float] | None, scale: float) -> tuple[float, ...] | None:
    if h is None:
        return None
    m = np.diag([scale, scale, 1.0]) @ np.array(h, dtype=np.float64).reshape(3, 3)
    return tuple(float(v) for v in m.ravel())


async def annotated_pdf(session: AsyncSession, storage: LocalStorage, worksheet: WorksheetRow,
                        student_ids: Sequence[int] | None = None,
                        language: PrintLanguage = "zh") -> bytes:
    """The annotated papers of a worksheet: one student's, or the class batch.

    Args:
        session: the request's session (the caller has checked access to ``worksheet``).
        storage: stored uploads.
        worksheet: the worksheet.
        student_ids: the students to include (roster order); None for everyone scanned.
        language: the school's language (``Settings.school_language``) for the paper's
            own words.

    Raises:
        NotFound: no graded pages for these students.
    """
    repo = AnnotatedRepository(session)
    rows = await repo.scanned_pages(worksheet.id, _SHOWN, student_ids)
    if not rows:
        raise NotFound("no scanned pages to annotate for this worksheet and student(s)",
                       error="no_scanned_pages")
    layout = WorksheetLayout.from_dict(worksheet.layout)
    questions = await repo.questions(worksheet.id)
    max_total = sum(score for _, score in questions.values())
    graded = await repo.graded_responses([p.id for p, _, _ in rows])
    by_student: dict[int, tuple[StudentRow, list[_PageJob]]] = {}
    for page, key, student in rows:
        page_layout = [p for p in layout.pages if p.number == page.page_no]
        jobs = by_student.setdefault(student.id, (student, []))[1]
        if worksheet.kind == "drill":  # no layout: the items' regions place the marks
            jobs.append(_PageJob(page, key, _drill_marks(graded.get(page.id, [])), ()))
            continue
        jobs.append(_PageJob(page, key, _marks(layout, page.page_no or 0, questions,
                                               graded.get(page.id, [])),
                             layout_keep_clear(page_layout[0]) if page_layout else ()))
    totals = {sid: _total(graded, [j.page.id for j in jobs])
              for sid, (_, jobs) in by_student.items()}
    return await to_thread.run_sync(_render, storage, worksheet.title, by_student, totals,
                                    max_total, language)


async def export_annotated(session: AsyncSession, actor: Actor, storage: LocalStorage,
                           worksheet_id: int, student_id: int | None = None,
                           language: PrintLanguage = "zh") -> tuple[bytes, str]:
    """The class's (or one student's) annotated papers of a worksheet the actor may see,
    recorded in the audit log, with the PDF's file name.

    Raises:
        NotFound: no such worksheet for the actor, or nothing scanned to annotate.
    """
    worksheet = await WorksheetRepository(session, actor).get(worksheet_id)
    if student_id is None:
        data = await annotated_pdf(session, storage, worksheet, language=language)
        await audit.record(session, actor, "annotated.export", "worksheet", worksheet_id)
        return data, f"worksheet-{worksheet_id}-annotated.pdf"
    data = await annotated_pdf(session, storage, worksheet, [student_id], language)
    await audit.record(session, actor, "annotated.export", "worksheet", worksheet_id,
                       detail={"student_id": student_id})
    return data, f"worksheet-{worksheet_id}-student-{student_id}.pdf"


def _total(graded: dict[int, list[tuple[ResponseRow, GradeRow | None]]],
           page_ids: list[int]) -> float | None:
    total = 0.0
    for pid in page_ids:
        for _, grade in graded.get(pid, []):
            if grade is None:
                continue
            if grade.needs_review:
                return None  # not final until the teacher has decided
            total += grade.score
    return total


def _render(storage: LocalStorage, title: str,
            by_student: dict[int, tuple[StudentRow, list[_PageJob]]],
            totals: dict[int, float | None], max_total: float,
            language: PrintLanguage = "zh") -> bytes:
    wanted: dict[str, set[int]] = defaultdict(set)
    for _, jobs in by_student.values():
        for job in jobs:
            wanted[job.upload_key].add(job.page.page_index)
    images: dict[tuple[str, int], tuple[bytes, float]] = {}
    for key, indices in wanted.items():
        for index, image in _load_images(storage.path(key), indices).items():
            images[(key, index)] = image
    papers: list[StudentPaper] = []
    for sid, (student, jobs) in by_student.items():
        pages: list[Any] = []
        for job in jobs:
            found = images.get((job.upload_key, job.page.page_index))
            if found is None:
                continue
            data, scale = found
            pages.append(ScanPage(data, _scaled(job.page.homography, scale), job.marks,
                                  job.keep_clear))
        if pages:
            papers.append(StudentPaper(student.name, tuple(pages), student.student_no, title,
                                       totals[sid], max_total))
    if not papers:
        raise NotFound("the scans behind these pages are no longer stored",
                       error="scan_missing")
    return render_annotated_class_pdf(papers, AnnotateOptions(language=language),
                                      duplex=len(papers) > 1,
                                      bookmarks=len(papers) > 1)
