"""Classes and rosters: create a class, show it, add students (a JSON list or a roster CSV;
all or nothing).

Routers in :mod:`service.api.classes` parse requests and call these; queries live in
:class:`service.repositories.classes.ClassRepository`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import SchoolClassRow, StudentRow
from service.errors import BadRequest, Conflict, PayloadTooLarge
from service.repositories import audit
from service.repositories.classes import ClassRepository, NewStudent
from service.repositories.roster_edits import student_in_class, student_no_taken
from service.roster import parse_roster_csv
from service.schemas.common import (
    ClassCreate,
    ClassOut,
    ClassSummaryOut,
    StudentIn,
    StudentOut,
    StudentsAdded,
)
from service.schemas.roster_edits import ClassUpdate, StudentUpdate

__all__ = ["add_students", "create_class", "get_class", "import_roster", "list_classes",
           "update_class", "update_student"]


def _student_out(s: StudentRow) -> StudentOut:
    return StudentOut(id=s.id, student_no=s.student_no, name=s.name, pinyin=s.pinyin)


async def _class_out(repo: ClassRepository, row: SchoolClassRow) -> ClassOut:
    students = await repo.students(row.id)
    return ClassOut(id=row.id, name=row.name, grade=row.grade, subject=row.subject,
                    student_count=len(students), students=[_student_out(s) for s in students])


async def create_class(session: AsyncSession, actor: Actor, body: ClassCreate) -> ClassOut:
    """A new, empty class owned by the actor (flush only)."""
    row = await ClassRepository(session, actor).create(body.name, body.grade, body.subject)
    return ClassOut(id=row.id, name=row.name, grade=row.grade, subject=row.subject,
                    student_count=0, students=[])


async def list_classes(session: AsyncSession, actor: Actor) -> list[ClassSummaryOut]:
    """The classes the actor may see (a teacher's own; an admin's whole school), oldest
    first, with their student counts."""
    rows = await ClassRepository(session, actor).list_with_counts()
    return [ClassSummaryOut(id=row.id, name=row.name, grade=row.grade, subject=row.subject,
                            student_count=n) for row, n in rows]


async def get_class(session: AsyncSession, actor: Actor, class_id: int) -> ClassOut:
    """A class with its roster.

    Raises:
        NotFound: no such class for the actor.
    """
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


async def add_students(session: AsyncSession, actor: Actor, class_id: int,
                       body: Sequence[StudentIn], *, max_rows: int) -> StudentsAdded:
    """Add students from a JSON list; all or nothing.

    Raises:
        BadRequest: an empty list.
        PayloadTooLarge: more than ``max_rows`` students.
        Conflict: ``duplicate_student`` for a number listed twice or already in the class.
    """
    if not body:
        raise BadRequest("the list of students is empty", error="empty")
    if len(body) > max_rows:
        raise PayloadTooLarge(f"at most {max_rows} students per request")
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


async def import_roster(session: AsyncSession, actor: Actor, class_id: int, data: bytes, *,
                        max_rows: int) -> StudentsAdded:
    """Add students from a roster CSV (see :func:`service.roster.parse_roster_csv`); all or
    nothing, errors naming CSV lines."""
    students, lines = parse_roster_csv(data, max_rows=max_rows)
    return await _add(ClassRepository(session, actor), class_id, students, lines)


async def update_class(session: AsyncSession, actor: Actor, class_id: int,
                       body: ClassUpdate) -> ClassOut:
    """Rename a class (or change its grade or subject): only the fields sent change;
    audited as ``class.update``.

    Raises:
        NotFound: no such class for the actor.
        BadRequest: ``empty`` when no field was sent, or the name was sent as null.
    """
    changes = body.model_dump(include=body.model_fields_set)
    if not changes:
        raise BadRequest("nothing to change: send name, grade or subject", error="empty")
    if "name" in changes and changes["name"] is None:
        raise BadRequest("a class needs a name", error="empty")
    repo = ClassRepository(session, actor)
    row = await repo.get(class_id)
    for field, value in changes.items():
        setattr(row, field, value)
    await session.flush()
    await audit.record(session, actor, "class.update", "class", row.id,
                       detail={"fields": sorted(changes)})
    return await _class_out(repo, row)


async def update_student(session: AsyncSession, actor: Actor, class_id: int, student_id: int,
                         body: StudentUpdate) -> StudentOut:
    """Correct a student's name, student number or pinyin: only the fields sent change;
    audited as ``student.update`` (the names themselves stay out of the log).

    Raises:
        NotFound: no such student in that class for the actor.
        BadRequest: ``empty`` when no field was sent, or the name or number sent as null.
        Conflict: ``duplicate_student`` when another student of the class has the number.
    """
    changes = body.model_dump(include=body.model_fields_set)
    if not changes:
        raise BadRequest("nothing to change: send student_no, name or pinyin", error="empty")
    if any(changes.get(f, "") is None for f in ("name", "student_no")):
        raise BadRequest("a student needs a name and a student number", error="empty")
    await ClassRepository(session, actor).get(class_id)
    row = await student_in_class(session, actor, class_id, student_id)
    no = changes.get("student_no")
    if no and no != row.student_no and await student_no_taken(session, actor, class_id, no,
                                                              row.id):
        raise Conflict(f"student_no {no} is already in this class", error="duplicate_student",
                       errors=[{"student_no": no, "message": "already in this class"}])
    for field, value in changes.items():
        setattr(row, field, value)
    await session.flush()
    await audit.record(session, actor, "student.update", "student", row.id,
                       detail={"fields": sorted(changes)})
    return _student_out(row)
