"""The teacher's page about one student (``/students/{id}``): scores over time, mastery per
knowledge point, the error book's entries by state, and the error book as a PDF in one
click (``/students/{id}/errorbook.pdf``, the API's own export), everything kept about the
student as a ZIP (``/students/{id}/export.zip``) and, for a school admin, the erasure of
their data (``POST /students/{id}/erase``, confirmed by typing the student number). Another
teacher's student answers 404, as in the API.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from service.api.deps import SessionDep, SettingsDep, client_ip
from service.api.students_data import erase_and_delete_files, zip_response
from service.errors import InvalidInput
from service.jobs.runner import ingest_limits
from service.mastery.exports import student_book_pdf
from service.privacy.export import export_student
from service.storage import LocalStorage
from service.web.deps import AdminFormUser, FormStr, RequiredUser, see_other
from service.web.render import render
from service.web.results import translator
from service.web.students_views import STATES, student_view

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/students/{student_id}")
async def student_page(student_id: int, request: Request, session: SessionDep,
                       user: RequiredUser,
                       erase: Annotated[Literal["mismatch"] | None, Query()] = None) -> Response:
    """Scores over time, mastery per knowledge point, error-book entries, the PDF link,
    the data export and (for an admin) the erasure form."""
    view = await student_view(session, user.actor, student_id, translator(request))
    return render(request, "students/student.html", user=user, view=view, states=STATES,
                  erase_error=erase)


@router.get("/students/{student_id}/export.zip")
async def student_export(student_id: int, request: Request, session: SessionDep,
                         settings: SettingsDep, user: RequiredUser) -> Response:
    """Everything kept about the student as a ZIP (the API's ``export``)."""
    storage: LocalStorage = request.app.state.storage
    data = await export_student(session, user.actor, storage, student_id,
                                ingest_limits(settings))
    return zip_response(data)


@router.post("/students/{student_id}/erase")
async def student_erase(student_id: int, request: Request, session: SessionDep,
                        settings: SettingsDep, user: AdminFormUser,
                        confirm: FormStr = "") -> Response:
    """Erase the student's data (admins; the student number typed again confirms), then
    go to the class; a wrong number goes back to the student's page saying so."""
    try:
        done = await erase_and_delete_files(session, user.actor, settings, student_id,
                                            confirm, client_ip(request))
    except InvalidInput as exc:
        if exc.error != "confirmation_mismatch":
            raise
        return see_other(f"/students/{student_id}?erase=mismatch#student-data")
    return see_other(f"/classes/{done.class_id}")


@router.get("/students/{student_id}/errorbook.pdf")
async def student_errorbook(
    student_id: int, request: Request, session: SessionDep, settings: SettingsDep,
    user: RequiredUser,
    answer_key: Annotated[Literal["end", "none"], Query()] = "end",
) -> Response:
    """The student's error book (the API's ``errorbook.pdf``: entries, then a practice
    sheet that scans back in), with the answer key at the end or left out."""
    storage: LocalStorage = request.app.state.storage
    data, name = await student_book_pdf(session, user.actor, storage, student_id,
                                        settings.mastery, answer_key,
                                        language=settings.school_language)
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})
