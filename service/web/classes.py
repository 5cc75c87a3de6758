"""Pages of the ``classes`` area: my classes and a new class (``/classes``); a class's
roster with adding a student, importing a roster CSV (every bad line listed, nothing
imported until all are good), renaming the class and correcting a student
(``/classes/{class_id}``).

Every page calls the same functions of :mod:`service.classes` as ``/api/v1/classes`` with
the signed-in teacher's actor, so another teacher's class is a 404 here as there. A form
that worked redirects (post/redirect/get) back to the roster with ``?done=<what>``; one
that did not re-renders the page with the problem beside the field, keeping what was typed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError

from service import classes
from service.api.classes import MAX_CSV_BYTES
from service.api.deps import SessionDep, SettingsDep
from service.errors import Conflict, MarkbookError
from service.schemas.common import ClassCreate, StudentIn
from service.schemas.roster_edits import ClassUpdate, StudentUpdate
from service.web.classes_import import ImportProblem, import_problems
from service.web.deps import FormStr, FormUser, RequiredUser, see_other
from service.web.render import render
from service.web.sessions import PageUser

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

DONE = ("created", "added", "imported", "renamed", "edited")


def _field_errors(exc: ValidationError) -> dict[str, str]:
    """Which fields were refused, as message keys (``classes.invalid.<field>``)."""
    return {str(e["loc"][0]): f"classes.invalid.{e['loc'][0]}" for e in exc.errors()
            if e.get("loc")}


def _grade(text: str) -> int | str | None:
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text


@router.get("/classes")
async def class_list(request: Request, session: SessionDep, user: RequiredUser) -> Response:
    """My classes (a school admin: the school's), with their student counts, and the form
    to create one."""
    return render(request, "classes/list.html", user=user,
                  classes=await classes.list_classes(session, user.actor),
                  form={"name": "", "grade": ""}, errors={})


@router.post("/classes")
async def create_class(request: Request, session: SessionDep, user: FormUser,
                       name: FormStr = "", grade: FormStr = "") -> Response:
    """Create a class owned by the teacher, then show its (empty) roster."""
    try:
        body = ClassCreate(name=name, grade=_grade(grade))
    except ValidationError as exc:
        return render(request, "classes/list.html", user=user, status_code=422,
                      classes=await classes.list_classes(session, user.actor),
                      form={"name": name, "grade": grade}, errors=_field_errors(exc))
    created = await classes.create_class(session, user.actor, body)
    return see_other(f"/classes/{created.id}?done=created")


async def _roster(request: Request, session: SessionDep, user: PageUser, class_id: int, *,
                  status_code: int = 200, **state: Any) -> Response:
    cls = await classes.get_class(session, user.actor, class_id)
    done = request.query_params.get("done", "")
    context: dict[str, Any] = {
        "done": done if done in DONE and request.method == "GET" else "",
        "count": request.query_params.get("n", ""),
        "add": {"student_no": "", "name": ""}, "add_errors": {},
        "problems": [], "import_name": "",
        "rename": {"name": cls.name}, "rename_errors": {},
        "edit_id": None, "edit": {}, "edit_errors": {},
    }
    context.update(state)
    return render(request, "classes/roster.html", user=user, status_code=status_code,
                  cls=cls, **context)


@router.get("/classes/{class_id}")
async def roster(class_id: int, request: Request, session: SessionDep,
                 user: RequiredUser) -> Response:
    """A class's roster (学号, 姓名; each name links to the student's page) with the forms
    to add a student, import a roster CSV, rename the class and correct a student."""
    return await _roster(request, session, user, class_id)


@router.post("/classes/{class_id}/students")
async def add_student(class_id: int, request: Request, session: SessionDep,
                      settings: SettingsDep, user: FormUser, student_no: FormStr = "",
                      name: FormStr = "") -> Response:
    """Add one student by hand."""
    typed = {"student_no": student_no, "name": name}
    try:
        body = StudentIn(student_no=student_no, name=name)
    except ValidationError as exc:
        return await _roster(request, session, user, class_id, status_code=422, add=typed,
                             add_errors=_field_errors(exc))
    try:
        await classes.add_students(session, user.actor, class_id, [body],
                                   max_rows=settings.limits.max_roster_rows)
    except Conflict:
        return await _roster(request, session, user, class_id, status_code=409, add=typed,
                             add_errors={"student_no": "classes.invalid.taken"})
    return see_other(f"/classes/{class_id}?done=added&n=1")


@router.post("/classes/{class_id}/students/import")
async def import_roster(class_id: int, request: Request, session: SessionDep,
                        settings: SettingsDep, user: FormUser,
                        file: Annotated[UploadFile | None, File()] = None) -> Response:
    """Import a roster CSV (学号,姓名[,拼音]; UTF-8 or GBK as Excel and WPS save it): all
    rows or none; every bad line is listed with what is wrong with it."""
    await classes.get_class(session, user.actor, class_id)  # another's class: 404 first
    data = b"" if file is None else await file.read(MAX_CSV_BYTES + 1)
    filename = (file.filename or "") if file is not None else ""
    problems: list[ImportProblem]
    if len(data) > MAX_CSV_BYTES:
        problems = [ImportProblem("classes.import.problem.too_large")]
    elif not data.strip():
        problems = [ImportProblem("classes.import.problem.empty")]
    else:
        try:
            added = await classes.import_roster(session, user.actor, class_id, data,
                                                max_rows=settings.limits.max_roster_rows)
        except MarkbookError as exc:
            if exc.status_code >= 500 or exc.error == "not_found":
                raise
            problems = import_problems(exc, data)
        else:
            return see_other(f"/classes/{class_id}?done=imported&n={added.created}")
    return await _roster(request, session, user, class_id, status_code=422,
                         problems=problems, import_name=filename[:200])


@router.post("/classes/{class_id}/rename")
async def rename_class(class_id: int, request: Request, session: SessionDep, user: FormUser,
                       name: FormStr = "") -> Response:
    """Rename the class."""
    try:
        body = ClassUpdate(name=name)
    except ValidationError as exc:
        return await _roster(request, session, user, class_id, status_code=422,
                             rename={"name": name}, rename_errors=_field_errors(exc))
    await classes.update_class(session, user.actor, class_id, body)
    return see_other(f"/classes/{class_id}?done=renamed")


@router.post("/classes/{class_id}/students/{student_id}")
async def edit_student(class_id: int, student_id: int, request: Request, session: SessionDep,
                       user: FormUser, student_no: FormStr = "", name: FormStr = "") -> Response:
    """Correct a student's name and student number."""
    typed = {"student_no": student_no, "name": name}
    try:
        body = StudentUpdate(student_no=student_no, name=name)
    except ValidationError as exc:
        errors = _field_errors(exc)
    else:
        try:
            await classes.update_student(session, user.actor, class_id, student_id, body)
        except Conflict:
            errors = {"student_no": "classes.invalid.taken"}
        else:
            return see_other(f"/classes/{class_id}?done=edited#student-{student_id}")
    return await _roster(request, session, user, class_id,
                         status_code=409 if "student_no" in errors
                         and errors["student_no"] == "classes.invalid.taken" else 422,
                         edit_id=student_id, edit=typed, edit_errors=errors)
