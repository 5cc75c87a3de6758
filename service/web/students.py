"""The teacher's page about one student (``/students/{id}``): scores over time, mastery per
knowledge point, the error book's entries by state, and the error book as a PDF in one
click (``/students/{id}/errorbook.pdf``, the API's own export). Another teacher's student
answers 404, as in the API.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from service.api.deps import SessionDep, SettingsDep
from service.mastery.exports import student_book_pdf
from service.storage import LocalStorage
from service.web.deps import RequiredUser
from service.web.render import render
from service.web.results import translator
from service.web.students_views import STATES, student_view

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/students/{student_id}")
async def student_page(student_id: int, request: Request, session: SessionDep,
                       user: RequiredUser) -> Response:
    """Scores over time, mastery per knowledge point, error-book entries, the PDF link."""
    view = await student_view(session, user.actor, student_id, translator(request))
    return render(request, "students/student.html", user=user, view=view, states=STATES)


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
                                        settings.mastery, answer_key)
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})
