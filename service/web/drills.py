"""Drill assignments (口算) in the browser: create one for a class from the worksheets
page; its page (``/worksheets/{id}``) then offers an upload of drill pages, for the class
or for one student, instead of printing (:mod:`service.web.builder` renders it).

Creation goes through the API's service function (:func:`service.worksheets.create_worksheet`
with ``kind = "drill"``); the upload form posts to ``/uploads`` like every upload, with the
assignment and the student as form fields.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from service.api.deps import SessionDep, SettingsDep
from service.classes import list_classes
from service.errors import InvalidInput
from service.schemas.common import WorksheetCreate
from service.web.bank import translator
from service.web.deps import FormUser, see_other
from service.web.render import render
from service.worksheets import create_worksheet, list_worksheets, question_counts

__all__ = ["router"]

router = APIRouter()


@router.post("/worksheets/new-drill")
async def create_drill(request: Request, session: SessionDep, settings: SettingsDep,
                       user: FormUser) -> Response:
    """Create a drill assignment from the worksheets page's form (title and class).

    Raises:
        NotFound: the class is not the caller's.
    """
    form = await request.form()
    title = str(form.get("title") or "").strip()
    class_id = str(form.get("class_id") or "")
    _ = translator(request)
    errors: dict[str, str] = {}
    if not title:
        errors["drill_title"] = _("worksheets.error.no_title")
    if not class_id.isdigit():
        errors["drill_class"] = _("worksheets.error.no_class")
    if not errors:
        try:
            body = WorksheetCreate(title=title[:200], class_id=int(class_id), kind="drill")
            created = await create_worksheet(
                session, user.actor, body,
                max_questions=settings.limits.max_questions_per_worksheet)
            return see_other(f"/worksheets/{created.id}?created=1")
        except (InvalidInput, ValidationError):
            errors["drill_title"] = _("worksheets.error.no_title")
        # A class the caller may not see is a 404, as the builder's (NotFound propagates).
    rows = await list_worksheets(session, user.actor, limit=200)
    return render(request, "worksheets/list.html", user=user, status_code=422,
                  worksheets=rows, counts=await question_counts(session, user.actor,
                                                                [w.id for w in rows]),
                  classes=await list_classes(session, user.actor), drill_errors=errors,
                  drill_title=title)
