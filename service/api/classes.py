"""Classes and rosters: ``/api/v1/classes``."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request, status
from starlette.datastructures import UploadFile

from service.api.deps import SessionDep, SettingsDep, TeacherDep
from service.db import SchoolClassRow, StudentRow
from service.errors import BadRequest, Conflict, PayloadTooLarge
from service.repositories.classes import ClassRepository, NewStudent
from service.roster import parse_roster_csv
from service.schemas.common import ClassCreate, ClassOut, StudentIn, StudentOut, StudentsAdded

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/classes", tags=["classes"])

MAX_CSV_BYTES = 1024 * 1024


def _student_out(s: StudentRow) -> StudentOut:
    return StudentOut(id=s.id, student_no=s.student_no, name=s.name, pinyin=s.pinyin)


async def _class_out(repo: ClassRepository, row: SchoolClassRow) -> ClassOut:
    students = await repo.students(row.id)
    return ClassOut(id=row.id, name=row.name, grade=row.grade, subject=row.subject,
                    student_count=len(students), students=[_student_out(s) for s in students])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_class(body: ClassCreate, session: SessionDep, actor: TeacherDep) -> ClassOut:
    """Create a class owned by the calling teacher."""
    repo = ClassRepository(session, actor)
    row = await repo.create(body.name, body.grade, body.subject)
    return ClassOut(id=row.id, name=row.name, grade=row.grade, subject=row.subject,
                    student_count=0, students=[])


@router.get("/{class_id}")
async def get_class(class_id: int, session: SessionDep, actor: TeacherDep) -> ClassOut:
    """A class with its roster."""
    repo = ClassRepository(session, actor)
    return await _class_out(repo, await repo.get(class_id))


async def _add(repo: ClassRepository, class_id: int, students: Sequence[NewStudent],
               lines: Sequence[int] | None = None) -> StudentsAdded:
    await repo.get(class_id)
    taken = await repo.existing_student_nos(class_id, [s.student_no for s in students])
    if taken:
        errors = [
            {"line" if lines else "index": (lines[i] if lines else i), "student_no": s.student_no,
             "message": f"student_no {s.student_no} is already in this class"}
            for i, s in enumerate(students) if s.student_no in taken
        ]
        raise Conflict(f"{len(errors)} student number(s) already in the class: "
                       f"{', '.join(sorted(taken)[:5])}; nothing was imported",
                       error="duplicate_student", errors=errors)
    rows = await repo.add_students(class_id, students)
    return StudentsAdded(created=len(rows), students=[_student_out(s) for s in rows])


@router.post("/{class_id}/students", status_code=status.HTTP_201_CREATED)
async def add_students(class_id: int, body: list[StudentIn], session: SessionDep,
                       actor: TeacherDep, settings: SettingsDep) -> StudentsAdded:
    """Add students from a JSON list; all or nothing."""
    if not body:
        raise BadRequest("the list of students is empty", error="empty")
    if len(body) > settings.limits.max_roster_rows:
        raise PayloadTooLarge(f"at most {settings.limits.max_roster_rows} students per request")
    seen: dict[str, int] = {}
    errors = []
    for i, s in enumerate(body):
        if s.student_no in seen:
            errors.append({"index": i, "student_no": s.student_no,
                           "message": f"duplicate of item {seen[s.student_no]}"})
        seen.setdefault(s.student_no, i)
    if errors:
        raise Conflict(f"student_no {errors[0]['student_no']} appears twice; nothing was imported",
                       error="duplicate_student", errors=errors)
    students = [NewStudent(s.student_no, s.name, s.pinyin) for s in body]
    return await _add(ClassRepository(session, actor), class_id, students)


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
    students, lines = parse_roster_csv(data, max_rows=settings.limits.max_roster_rows)
    return await _add(ClassRepository(session, actor), class_id, students, lines)


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
