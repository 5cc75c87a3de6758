"""Classes and rosters: ``/api/v1/classes``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from starlette.datastructures import UploadFile

from service import classes
from service.api.deps import SessionDep, SettingsDep, TeacherDep
from service.api.read_cache import cached_json
from service.errors import BadRequest, PayloadTooLarge
from service.schemas.common import (
    ClassCreate,
    ClassOut,
    ClassSummaryOut,
    StudentIn,
    StudentOut,
    StudentsAdded,
)
from service.schemas.roster_edits import ClassUpdate, StudentUpdate

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/classes", tags=["classes"])

MAX_CSV_BYTES = 1024 * 1024


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_class(body: ClassCreate, session: SessionDep, actor: TeacherDep) -> ClassOut:
    """Create a class owned by the calling teacher."""
    return await classes.create_class(session, actor, body)


@router.get("")
async def list_classes(session: SessionDep, actor: TeacherDep) -> list[ClassSummaryOut]:
    """The caller's classes (an admin: the school's), oldest first, with student counts."""
    return await classes.list_classes(session, actor)


@router.get("/{class_id}", response_model=ClassOut)
async def get_class(class_id: int, request: Request, session: SessionDep,
                    actor: TeacherDep) -> Response:
    """A class with its roster."""
    return await cached_json(request, session, actor,
                             lambda: classes.get_class(session, actor, class_id))


@router.patch("/{class_id}")
async def update_class(class_id: int, body: ClassUpdate, session: SessionDep,
                       actor: TeacherDep) -> ClassOut:
    """Rename a class (or change its grade or subject); fields left out stay."""
    return await classes.update_class(session, actor, class_id, body)


@router.patch("/{class_id}/students/{student_id}")
async def update_student(class_id: int, student_id: int, body: StudentUpdate,
                         session: SessionDep, actor: TeacherDep) -> StudentOut:
    """Correct a student's name, student number or pinyin; fields left out stay. A number
    another student of the class has is a 409 ``duplicate_student``."""
    return await classes.update_student(session, actor, class_id, student_id, body)


@router.post("/{class_id}/students", status_code=status.HTTP_201_CREATED)
async def add_students(class_id: int, body: list[StudentIn], session: SessionDep,
                       actor: TeacherDep, settings: SettingsDep) -> StudentsAdded:
    """Add students from a JSON list; all or nothing."""
    return await classes.add_students(session, actor, class_id, body,
                                      max_rows=settings.limits.max_roster_rows)


@router.post("/{class_id}/students:import", status_code=status.HTTP_201_CREATED,
             openapi_extra={"requestBody": {"content": {
                 "text/csv": {"schema": {"type": "string"}},
                 "multipart/form-data": {"schema": {"type": "object", "properties": {
                     "file": {"type": "string", "format": "binary"}}}}}}})
async def import_students(class_id: int, request: Request, session: SessionDep,
                          actor: TeacherDep, settings: SettingsDep) -> StudentsAdded:
    """Import a roster CSV (header ``student_no,name[,pinyin]``; UTF-8 with/without BOM or
    GBK), sent as the raw body or as a multipart file. All rows or none."""
    data = await _read_csv_body(request)
    return await classes.import_roster(session, actor, class_id, data,
                                       max_rows=settings.limits.max_roster_rows)


async def _read_csv_body(request: Request) -> bytes:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        files = [v for v in form.values() if isinstance(v, UploadFile)]
        if not files:
            raise BadRequest("the multipart body has no file", error="no_file")
        data = await files[0].read(MAX_CSV_BYTES + 1)
    else:
        data = b""
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_CSV_BYTES:
                break
    if len(data) > MAX_CSV_BYTES:
        raise PayloadTooLarge(f"the roster is larger than {MAX_CSV_BYTES // 1024} KiB")
    if not data.strip():
        raise BadRequest("the body is empty; send the CSV file", error="empty")
    return data
