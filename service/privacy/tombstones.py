"""Tombstones: what is kept of an erased student so their old pages are not read back.

A tombstone keeps the former student id (an old personalised page's QR names it), the
class, and a salted SHA-256 of the class and the student number (what a child writes in
an anonymous copy's comb). Student numbers are short, so the hash does not make the
number secret against someone holding the database; it keeps it out of the table and out
of backups read in passing, and it is enough to recognise the number when it is written
again.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ErasedStudentRow, SchoolClassRow, StudentRow, WorksheetRow
from service.repositories.erased import ErasedRepository

__all__ = ["ERASED_PROBLEM", "ERASED_STATUS", "erased_page", "number_hash", "tombstone_for"]

ERASED_STATUS = "erased_student"
ERASED_PROBLEM = ("the page belongs to a student whose data was erased; its answers are not "
                  "kept / 该学生的数据已删除，本页的答案不予保存")


def _utc(at: datetime) -> datetime:
    # SQLite gives back naive datetimes (stored as UTC); PostgreSQL aware ones.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def number_hash(salt: str, class_id: int, student_no: str) -> str:
    """The salted hash of a class and a student number (hex SHA-256)."""
    return hashlib.sha256(f"{salt}:{class_id}:{student_no.strip()}".encode()).hexdigest()


def tombstone_for(student: StudentRow, school_class: SchoolClassRow,
                  erased_by: int | None) -> ErasedStudentRow:
    """The tombstone to write when ``student`` is erased (not added to any session)."""
    salt = secrets.token_hex(16)
    return ErasedStudentRow(id=student.id, school_id=school_class.school_id,
                            class_id=school_class.id, salt=salt,
                            student_no_hash=number_hash(salt, school_class.id, student.student_no),
                            erased_by=erased_by)


async def erased_page(session: AsyncSession, worksheet: WorksheetRow, student_id: int | None,
                      number_read: str | None) -> bool:
    """Whether a scanned page of ``worksheet`` is an erased student's.

    Args:
        session: the unit of work storing the page.
        worksheet: the worksheet the page's code names.
        student_id: the student its QR names (a personalised copy), or None.
        number_read: the student number read from an anonymous copy's comb, if any.

    Returns:
        True for a personalised page naming an erased student (unless the id was given to
        a new student and the worksheet is newer than the erasure: only they can have that
        copy), or an anonymous page whose written number is an erased student's of the
        class and no current student's.
    """
    repo = ErasedRepository(session)
    if student_id is not None:
        stone = await repo.tombstone(student_id)
        if stone is None:
            return False
        # SQLite may give a freed id to a new student; a worksheet made after the erasure
        # cannot have been printed for the erased child.
        current = await repo.student(student_id)
        return current is None or _utc(worksheet.created_at) <= _utc(stone.erased_at)
    number = (number_read or "").strip()
    if not number:
        return False
    stones = await repo.class_tombstones(worksheet.class_id)
    if not any(number_hash(s.salt, s.class_id, number) == s.student_no_hash for s in stones):
        return False
    return not await repo.number_on_roster(worksheet.class_id, number)
