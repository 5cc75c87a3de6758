"""Load what a worker needs to read one worksheet, if the uploader may see it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import (
    QuestionRow,
    ScanUploadRow,
    SchoolClassRow,
    StudentRow,
    TeacherRow,
    WorksheetItemRow,
    WorksheetRow,
)
from service.jobs.pagework import QuestionInfo, WorksheetBundle

__all__ = ["load_bundle"]


async def load_bundle(session: AsyncSession, upload: ScanUploadRow, worksheet_id: int
                      ) -> tuple[WorksheetRow, WorksheetBundle, dict[str, int]] | None:
    """The worksheet's layout and current answer keys.

    Returns None when the worksheet does not exist or the uploader may not see it (another
    school, or another teacher's unless the uploader is an admin): its pages are then
    reported as unknown, never read against someone else's worksheet.
    """
    row = (await session.execute(
        select(WorksheetRow).join(SchoolClassRow, SchoolClassRow.id == WorksheetRow.class_id)
        .where(WorksheetRow.id == worksheet_id, SchoolClassRow.school_id == upload.school_id)
    )).scalar_one_or_none()
    if row is None:
        return None
    if upload.teacher_id != row.teacher_id:
        uploader = await session.get(TeacherRow, upload.teacher_id) if upload.teacher_id else None
        if uploader is None or not uploader.is_admin:
            return None
    items = (await session.execute(
        select(WorksheetItemRow, QuestionRow)
        .join(QuestionRow, QuestionRow.id == WorksheetItemRow.question_id)
        .where(WorksheetItemRow.worksheet_id == worksheet_id)
    )).all()
    questions: dict[str, QuestionInfo] = {}
    ids: dict[str, int] = {}
    for _item, q in items:
        # The current key: a teacher who fixes a wrong key wants later scans graded by the
        # fix; each grade records the revision it used.
        questions[q.external_id] = QuestionInfo(q.id, q.document, q.key_revision)
        ids[q.external_id] = q.id
    roster = (await session.execute(
        select(StudentRow.id, StudentRow.student_no, StudentRow.name)
        .where(StudentRow.class_id == row.class_id).order_by(StudentRow.student_no))).all()
    bundle = WorksheetBundle(row.id, row.layout, questions,
                             tuple((int(i), str(no), str(name)) for i, no, name in roster))
    return row, bundle, ids
