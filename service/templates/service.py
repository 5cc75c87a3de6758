"""Templates as the API offers them: upload a blank, look at it, make an assignment of it.

Routers in :mod:`service.api.templates` (blanks) and :mod:`service.api.worksheets`
(``kind: "template"``) call these; blank queries live in
:mod:`service.repositories.templates`.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from ocr.errors import ScanFileError
from service.actor import Actor
from service.config import Settings
from service.db import TemplateBlankRow, WorksheetRow
from service.errors import InvalidInput
from service.ingestion import client_error
from service.jobs.runner import ingest_limits
from service.questions import import_bank
from service.repositories.classes import ClassRepository
from service.repositories.questions import QuestionRepository, question_from_row
from service.repositories.templates import TemplateBlankRepository
from service.repositories.worksheets import WorksheetRepository
from service.schemas.common import WorksheetCreate
from service.schemas.templates import BlankOut, OmrImportOut, ProposedRegionOut
from service.templates.blanks import BlankRefused, read_blank
from service.templates.layout import BlankSize, TemplateError, plan_template
from service.uploads import ReceivedBatch, ReceivedFile

__all__ = ["blank_out", "blank_png", "create_blank", "create_template", "get_blank",
           "import_omr_layout"]

# A class without a grade gets its questions filed under this one.
_DEFAULT_GRADE = 3


def blank_out(row: TemplateBlankRow) -> BlankOut:
    base = f"/api/v1/templates/blanks/{row.id}"
    return BlankOut(id=row.id, width_pt=row.width_pt, height_pt=row.height_pt,
                    proposed=[ProposedRegionOut(number=p["number"], kind=p["kind"],
                                                box=tuple(p["box"]),
                                                bubbles=[tuple(b) for b in p["bubbles"]])
                              for p in row.proposed],
                    links={"self": base, "image": f"{base}/image.png"})


async def create_blank(session: AsyncSession, actor: Actor, settings: Settings,
                       received: ReceivedFile | ReceivedBatch, page_size: str) -> BlankOut:
    """Read an uploaded blank page and keep it (flush only).

    Raises:
        InvalidInput: several files, several pages, a page with no print, or a file that
            is no readable scan (with its code, as a scan upload would say).
    """
    if isinstance(received, ReceivedBatch):
        raise InvalidInput("a blank is one file of one page", error="one_page_only")
    try:
        blank = await to_thread.run_sync(read_blank, received.path, ingest_limits(settings),
                                         page_size)
    except ScanFileError as exc:
        raise client_error(exc) from None
    except BlankRefused as exc:
        raise InvalidInput(str(exc), error=exc.error) from None
    row = await TemplateBlankRepository(session, actor).create(
        png=blank.png, sha256=received.sha256, px_per_pt=blank.px_per_pt,
        width_pt=blank.width_pt, height_pt=blank.height_pt, proposed=blank.proposed)
    return blank_out(row)


async def get_blank(session: AsyncSession, actor: Actor, blank_id: int) -> BlankOut:
    """Raises: NotFound: no such blank, or not the actor's."""
    return blank_out(await TemplateBlankRepository(session, actor).get(blank_id))


async def blank_png(session: AsyncSession, actor: Actor, blank_id: int) -> bytes:
    """The blank's image as kept (greyscale PNG). Raises: NotFound."""
    row = await TemplateBlankRepository(session, actor).get(blank_id)
    return bytes(row.png)


async def import_omr_layout(session: AsyncSession, actor: Actor, blank_id: int,
                            template_json: bytes,
                            frame_pt: tuple[float, float, float, float] | None) -> OmrImportOut:
    """An OMRChecker ``template.json`` read as regions of one of the actor's blanks.

    Args:
        blank_id: the sheet's blank (its size scales the layout's pixels).
        template_json: the file as sent.
        frame_pt: where the layout's ``pageDimensions`` lie on the blank (its markers'
            centres, for ``CropOnMarkers``); the whole page when None.

    Raises:
        NotFound: no such blank, or not the actor's.
        InvalidInput: ``bad_omr_template`` (the message says what and where), or a frame
            that is not inside the page (``bad_frame``).
    """
    from ocr.foreign.omrchecker import OmrTemplateError, parse_template
    from service.templates.omr import regions_of_sheet

    row = await TemplateBlankRepository(session, actor).get(blank_id)
    try:
        sheet = await to_thread.run_sync(lambda: parse_template(
            template_json, page_width_pt=row.width_pt, page_height_pt=row.height_pt,
            frame_pt=frame_pt))
    except OmrTemplateError as exc:
        raise InvalidInput(f"the OMRChecker template cannot be imported: {exc}",
                           error="bad_omr_template") from None
    except ValueError as exc:
        raise InvalidInput(f"frame: {exc}", error="bad_frame") from None
    regions, skipped = regions_of_sheet(sheet)
    return OmrImportOut(blank_id=blank_id, regions=regions, skipped=skipped,
                        preprocessors=list(sheet.preprocessors))


async def create_template(session: AsyncSession, actor: Actor, body: WorksheetCreate, *,
                          max_questions: int) -> WorksheetRow:
    """Make a template assignment: its questions go into the school's bank (a bank import:
    validated and audited like one), its layout is frozen (flush only).

    Raises:
        InvalidInput: the template's problems (``errors`` lists each with where it is),
            or its keys' (``invalid_question_bank``).
        NotFound: the class is not the actor's.
    """
    assert body.template is not None
    school_class = await ClassRepository(session, actor).get(body.class_id)
    template = body.template
    blanks = await TemplateBlankRepository(session, actor).visible(
        p.blank_id for p in template.pages)
    wanted = [r.question_id for p in template.pages for r in p.regions if r.question_id]
    rows = await QuestionRepository(session, actor).by_external_ids(wanted) if wanted else {}
    bank = {qid: question_from_row(r) for qid, r in rows.items()}
    answers = sum(1 for p in template.pages for r in p.regions
                  if r.kind in ("written", "bubbles"))
    if answers > max_questions:
        raise InvalidInput(f"a template holds at most {max_questions} answer regions",
                           error="too_many")
    try:
        plan = await to_thread.run_sync(lambda: plan_template(
            template, body.title, body.page_size, school_class.grade or _DEFAULT_GRADE,
            {i: BlankSize(b.width_pt, b.height_pt) for i, b in blanks.items()}, bank))
    except TemplateError as exc:
        raise InvalidInput(str(exc), error=exc.error, errors=exc.errors) from None
    if plan.bank is not None:
        await import_bank(session, actor, plan.bank, max_questions)
    found = await QuestionRepository(session, actor).by_external_ids(plan.question_ids)
    for q in plan.bank["questions"] if plan.bank is not None else ():
        # A template's own questions ("第3周练习 第7题") stay out of the school's bank
        # listings, export and practice sources, as drill items do.
        found[q["id"]].origin = "template"
    layout: dict[str, Any] = plan.layout.to_dict()
    repo = WorksheetRepository(session, actor)
    row = await repo.create(title=body.title, class_id=body.class_id, page_size=body.page_size,
                            layout=layout, questions=[found[q] for q in plan.question_ids],
                            kind="template")
    row.blank_ids = [p.blank_id for p in template.pages]
    await session.flush()
    return row
