"""Printed error books (错题本): one student's, or a class set in one file."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from service.api.deps import ActorDep, SessionDep, SettingsDep
from service.mastery.exports import (
    class_books_pdf,
    class_key_pdf,
    student_book_data,
    student_book_pdf,
)
from service.schemas.errorbooks import ErrorBookOut
from service.storage import LocalStorage

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["error books"])

KeyPlacement = Annotated[Literal["end", "none"], Query(
    description="answer key on a separate page at the end of each book, or left out "
                "(print the teacher copy separately)")]
Duplex = Annotated[bool, Query(
    description="pad for two-sided printing: practice pages on sheets of their own and, in "
                "a class set, every book starting on a front page; false leaves every "
                "padding page out (one-sided printing)")]


def _pdf(data: bytes, name: str) -> Response:
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


def _storage(request: Request) -> LocalStorage:
    storage: LocalStorage = request.app.state.storage
    return storage


@router.get("/students/{student_id}/errorbook")
async def student_errorbook_json(student_id: int, request: Request, session: SessionDep,
                                 actor: ActorDep, settings: SettingsDep) -> ErrorBookOut:
    """The student's current error book as data: the entries it reviews and its practice
    sheet (worksheet id, each item's question with its key, the entry it practises and
    why it was chosen). Builds the book exactly as the PDF does (and reuses it)."""
    return await student_book_data(session, actor, _storage(request), student_id,
                                   settings.mastery)


@router.get("/students/{student_id}/errorbook.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
async def student_errorbook(student_id: int, request: Request, session: SessionDep,
                            actor: ActorDep, settings: SettingsDep,
                            answer_key: KeyPlacement = "end", duplex: Duplex = True
                            ) -> Response:
    """The student's error book: each open entry (question, the student's own answer cut
    from the scan, the right answer, explanation, error cause, knowledge point and mastery),
    then a practice sheet of similar and variant questions with answer boxes, markers and a
    QR per page, so the redone sheet scans back through normal ingestion and updates
    mastery and resolution. An unchanged set of entries reprints the same sheet."""
    return _pdf(*await student_book_pdf(session, actor, _storage(request), student_id,
                                        settings.mastery, answer_key, duplex=duplex,
                                        language=settings.school_language))


@router.get("/classes/{class_id}/errorbooks.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
async def class_errorbooks(class_id: int, request: Request, session: SessionDep,
                           actor: ActorDep, settings: SettingsDep,
                           answer_key: KeyPlacement = "end", duplex: Duplex = True
                           ) -> Response:
    """Every student's error book in one file: a cover sheet with the class summary, then
    a section per student, each starting on a right-hand page (duplex-safe) unless
    ``duplex=false``, which adds no blank page anywhere."""
    return _pdf(*await class_books_pdf(session, actor, _storage(request), class_id,
                                       settings.mastery, answer_key, duplex=duplex,
                                       language=settings.school_language))


@router.get("/classes/{class_id}/errorbooks-key.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
async def class_errorbooks_key(class_id: int, request: Request, session: SessionDep,
                               actor: ActorDep, settings: SettingsDep) -> Response:
    """The teacher's copy: every student's practice answers with why each item was
    chosen (print books with ``answer_key=none`` and keep this one)."""
    return _pdf(*await class_key_pdf(session, actor, _storage(request), class_id,
                                     settings.mastery, language=settings.school_language))
