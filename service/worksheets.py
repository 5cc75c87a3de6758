"""Worksheets: create one from bank questions (its layout frozen with it), describe it, and
print it (blank copies or a named class set).

Routers in :mod:`service.api.worksheets` parse requests and call these; queries live in the
worksheet, class and question repositories; layout and PDF rendering run in worker threads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.contract import WorksheetLayout
from errorbook.printing.answer_sheet import AnswerSheetError, layout_answer_sheet
from errorbook.printing.fonts import FontNotFoundError
from errorbook.printing.layout import DEFAULT_SCRATCH_MM, LayoutError, layout_worksheet
from service.actor import Actor
from service.db import QuestionRow, WorksheetRow
from service.errors import InvalidInput, NotReady
from service.install import install_id
from service.printing import CopyRequest, preview_pngs, render_copies
from service.repositories import audit
from service.repositories.builder_pages import BuilderPageRepository
from service.repositories.classes import ClassRepository
from service.repositories.pinned_keys import repin_worksheet
from service.repositories.questions import QuestionRepository, question_from_row
from service.repositories.worksheets import WorksheetRepository
from service.schemas.common import (
    WorksheetCreate,
    WorksheetItemOut,
    WorksheetOut,
    WorksheetSummaryOut,
)

__all__ = ["Printout", "WorksheetReviewCount", "create_worksheet", "get_worksheet",
           "list_worksheets", "preview_draft", "preview_worksheet", "print_worksheet",
           "question_counts", "worksheet_created_at", "worksheet_layout"]


@dataclass(frozen=True)
class Printout:
    """A rendered PDF and the name to offer it under."""

    data: bytes
    worksheet_id: int
    filename: str


@dataclass(frozen=True)
class WorksheetReviewCount:
    """How many answers of one worksheet wait for review."""

    worksheet_id: int
    title: str
    class_name: str
    count: int


def _links(worksheet_id: int, kind: str = "worksheet") -> dict[str, str]:
    base = f"/api/v1/worksheets/{worksheet_id}"
    if kind in ("drill", "template"):  # not printed by markbook: pages are uploaded to it
        links = {"self": base, "upload": f"/api/v1/scans?worksheet_id={worksheet_id}",
                 "results": f"/api/v1/worksheets/{worksheet_id}/results"}
        if kind == "template":
            links["layout"] = f"{base}/layout"
        return links
    return {"self": base, "layout": f"{base}/layout", "print": f"{base}/print.pdf",
            "print_per_student": f"{base}/print.pdf?per_student=true"}


def _not_printed(row: WorksheetRow) -> None:
    """A drill assignment has no layout and a template is the teacher's own page: markbook
    neither prints nor previews them."""
    if row.kind == "drill":
        raise InvalidInput("a drill assignment is not printed by markbook: upload its pages "
                           "with worksheet_id (and student_id for one student's pages)",
                           error="drill_not_printed")
    if row.kind == "template":
        raise InvalidInput("a template is the teacher's own page, printed as they print it: "
                           "upload the class's pages with worksheet_id",
                           error="template_not_printed")


async def _out(repo: WorksheetRepository, row: WorksheetRow) -> WorksheetOut:
    items = await repo.items(row.id)
    return WorksheetOut(
        id=row.id, title=row.title, class_id=row.class_id, kind=row.kind,
        page_size=row.page_size,
        page_count=row.page_count,
        items=[WorksheetItemOut(position=i.position, question_id=q.external_id,
                                key_revision=i.question_revision) for i, q in items],
        links=_links(row.id, row.kind),
    )


async def _checked_layout(session: AsyncSession, actor: Actor, body: WorksheetCreate, *,
                         max_questions: int) -> tuple[list[QuestionRow], WorksheetLayout]:
    """The questions and the layout of a worksheet to be (or as it would be) created.

    Raises:
        InvalidInput: too many or repeated questions, unknown question ids, a layout that
            cannot be made.
        NotFound: the class is not the actor's.
        NotReady: the configured font is missing.
    """
    if len(body.question_ids) > max_questions:
        raise InvalidInput(f"a worksheet holds at most {max_questions} questions",
                           error="too_many")
    if len(set(body.question_ids)) != len(body.question_ids):
        dup = next(q for q in body.question_ids if body.question_ids.count(q) > 1)
        raise InvalidInput(f"question '{dup}' is listed twice", error="duplicate_question")
    await ClassRepository(session, actor).get(body.class_id)
    found = await QuestionRepository(session, actor).by_external_ids(body.question_ids)
    unknown = [q for q in body.question_ids if q not in found]
    if unknown:
        raise InvalidInput(f"unknown question id(s): {', '.join(unknown[:10])}",
                           error="unknown_question",
                           errors=[{"question_id": q, "message": "not in the bank"}
                                   for q in unknown])
    rows = [found[q] for q in body.question_ids]
    questions = [question_from_row(r) for r in rows]
    try:
        if body.kind == "answer_sheet":
            layout = await to_thread.run_sync(
                lambda: layout_answer_sheet(body.title, questions, body.page_size))
        else:
            layout = await to_thread.run_sync(
                lambda: layout_worksheet(body.title, questions, body.page_size,
                                         scratch_mm=DEFAULT_SCRATCH_MM if body.scratch_space
                                         else 0))
    except AnswerSheetError as exc:
        raise InvalidInput(str(exc), error="not_a_bubble_question",
                           errors=[{"question_id": q, "message": "not a choice, multi-choice "
                                    "or true/false question"} for q in exc.question_ids]
                           ) from exc
    except LayoutError as exc:
        raise InvalidInput(str(exc), error="layout_error") from exc
    except FontNotFoundError as exc:
        raise NotReady(str(exc), error="font_missing") from exc
    return rows, layout


async def create_worksheet(session: AsyncSession, actor: Actor, body: WorksheetCreate, *,
                           max_questions: int) -> WorksheetOut:
    """Create a worksheet for one of the actor's classes (flush only).

    Raises:
        InvalidInput: too many or repeated questions, unknown question ids, a layout that
            cannot be made.
        NotFound: the class is not the actor's.
        NotReady: the configured font is missing.
    """
    repo = WorksheetRepository(session, actor)
    if body.kind == "drill":
        await ClassRepository(session, actor).get(body.class_id)
        empty = WorksheetLayout(body.title, body.page_size, ())
        row = await repo.create(title=body.title, class_id=body.class_id,
                                page_size=body.page_size, layout=empty.to_dict(), questions=[],
                                kind="drill")
        return await _out(repo, row)
    if body.kind == "template":
        from service.templates.service import create_template

        row = await create_template(session, actor, body, max_questions=max_questions)
        return await _out(repo, row)
    rows, layout = await _checked_layout(session, actor, body, max_questions=max_questions)
    row = await repo.create(title=body.title, class_id=body.class_id, page_size=body.page_size,
                            layout=layout.to_dict(), questions=rows, kind=body.kind)
    return await _out(repo, row)


async def preview_draft(session: AsyncSession, actor: Actor, body: WorksheetCreate, *,
                        max_questions: int) -> list[bytes]:
    """The pages of a worksheet not created yet, as PNGs of its blank copy: the same checks,
    layout and renderer as :func:`create_worksheet` and :func:`print_worksheet`, nothing
    stored.

    Raises:
        InvalidInput, NotFound, NotReady: as :func:`create_worksheet`.
    """
    _, layout = await _checked_layout(session, actor, body, max_questions=max_questions)
    school_class = await ClassRepository(session, actor).get(body.class_id)
    return await _preview(layout.to_dict(), 0, school_class.name)


async def preview_worksheet(session: AsyncSession, actor: Actor, worksheet_id: int
                            ) -> list[bytes]:
    """A stored worksheet's blank copy, page by page, as PNGs (cached by layout).

    Raises:
        NotFound: no such worksheet, or not the actor's.
        NotReady: the configured font is missing.
    """
    row = await WorksheetRepository(session, actor).get(worksheet_id)
    _not_printed(row)
    school_class = await ClassRepository(session, actor).get(row.class_id)
    return await _preview(row.layout, row.id, school_class.name)


async def _preview(layout: dict[str, Any], worksheet_id: int, class_name: str) -> list[bytes]:
    try:
        pngs = await to_thread.run_sync(preview_pngs, json.dumps(layout, sort_keys=True),
                                        worksheet_id, class_name)
    except FontNotFoundError as exc:
        raise NotReady(str(exc), error="font_missing") from exc
    return list(pngs)


async def list_worksheets(session: AsyncSession, actor: Actor, *, class_id: int | None = None,
                          limit: int = 100) -> list[WorksheetSummaryOut]:
    """The worksheets the actor may see, newest first.

    Args:
        session: the unit of work.
        actor: the caller (a teacher sees their own; an admin the school's).
        class_id: only this class's worksheets.
        limit: at most this many.

    Raises:
        NotFound: ``class_id`` names no class the actor may see.
    """
    if class_id is not None:
        await ClassRepository(session, actor).get(class_id)
    rows = await WorksheetRepository(session, actor).summaries(class_id=class_id, limit=limit)
    return [WorksheetSummaryOut(id=r.id, title=r.title, class_id=r.class_id,
                                class_name=r.class_name, page_size=r.page_size,
                                page_count=r.page_count, created_at=r.created_at,
                                kind=r.kind, links=_links(r.id, r.kind)) for r in rows]


async def get_worksheet(session: AsyncSession, actor: Actor, worksheet_id: int) -> WorksheetOut:
    """The worksheet with its items and links.

    Raises:
        NotFound: no such worksheet, or not the actor's.
    """
    repo = WorksheetRepository(session, actor)
    return await _out(repo, await repo.get(worksheet_id))


async def use_current_keys(session: AsyncSession, actor: Actor, worksheet_id: int
                           ) -> WorksheetOut:
    """Move the worksheet to the current answer key of every question on it (a key another
    teacher changed in the shared bank reaches this worksheet only this way). Scans and
    review decisions from now on use the new keys; grades already given keep theirs.

    Raises:
        NotFound: no such worksheet, or not the actor's (an admin may move any).
    """
    repo = WorksheetRepository(session, actor)
    row = await repo.get(worksheet_id)
    before = {i.question_id: i.question_revision for i, _ in await repo.items(row.id)}
    moved = await repin_worksheet(session, row.id)
    if moved:
        after = {i.question_id: i.question_revision for i, _ in await repo.items(row.id)}
        await audit.record(session, actor, "worksheet.use_current_keys", "worksheet", row.id,
                           detail={"questions": {str(q): [before[q], r]
                                                 for q, r in after.items() if before[q] != r}})
    return await _out(repo, row)


async def worksheet_layout(session: AsyncSession, actor: Actor, worksheet_id: int
                           ) -> dict[str, Any]:
    """Every page's size, markers, QR and answer regions (PDF points, top-left origin)."""
    row = await WorksheetRepository(session, actor).get(worksheet_id)
    pages = [{k: v for k, v in page.items() if k != "blocks"} for page in row.layout["pages"]]
    return {"worksheet_id": row.id, "title": row.title, "page_size": row.page_size,
            "units": "pt", "origin": "top-left", "pages": pages}


async def print_worksheet(session: AsyncSession, actor: Actor, worksheet_id: int, *,
                          copies: int, per_student: bool, max_copies: int,
                          duplex: bool = True, seat_bubbles: bool = False,
                          language: str = "zh") -> Printout:
    """``copies`` blank copies, or the class set with each student's name and id.

    The page furniture (labels, page numbers, the marking instruction) is in ``language``,
    the school's (``Settings.school_language``).

    Every copy is padded to an even page count for two-sided printing unless ``duplex`` is
    ``False``. With ``seat_bubbles`` the blank copies carry the seat-number bubbles (座号,
    the student number's last two digits) in their footer; a class set never does. The
    paper size is the worksheet's own (chosen when it was created: the layout, and so what
    the scan reader expects, depends on it).

    Raises:
        InvalidInput: too many copies, or a class set of an empty class.
        NotReady: the configured font is missing.
    """
    if copies > max_copies:
        raise InvalidInput(f"at most {max_copies} copies", error="too_many")
    repo = WorksheetRepository(session, actor)
    row = await repo.get(worksheet_id)
    _not_printed(row)
    classes = ClassRepository(session, actor)
    school_class = await classes.get(row.class_id)
    if per_student:
        students = await classes.students(row.class_id)
        if not students:
            raise InvalidInput("the class has no students yet; import a roster first",
                               error="empty_class")
        await repo.ensure_copies(row.id, [s.id for s in students])
        requests = [CopyRequest(s.id, s.name, s.student_no) for s in students]
    else:
        requests = [CopyRequest()] * copies
    try:
        pdf = await render_copies(row.layout, row.id, school_class.name, requests,
                                 install=await install_id(session), duplex=duplex,
                                 seat_bubbles=seat_bubbles, language=language)
    except FontNotFoundError as exc:
        raise NotReady(str(exc), error="font_missing") from exc
    suffix = "class-set" if per_student else "blank"
    return Printout(pdf, row.id, f"{row.title}-{suffix}.pdf")


async def question_counts(session: AsyncSession, actor: Actor, worksheet_ids: list[int]
                          ) -> dict[int, int]:
    """How many questions each of the actor's worksheets among ``worksheet_ids`` holds."""
    return await BuilderPageRepository(session, actor).item_counts(worksheet_ids)


async def worksheet_created_at(session: AsyncSession, actor: Actor, worksheet_id: int
                               ) -> datetime:
    """When the worksheet was created.

    Raises:
        NotFound: no such worksheet, or not the actor's.
    """
    return (await WorksheetRepository(session, actor).get(worksheet_id)).created_at
