"""Load what a worker needs to read one worksheet, if the uploader may see it."""

from __future__ import annotations

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.contract import WorksheetLayout
from grading.questions import Question
from ocr.students.match import RosterEntry
from service.db import ScanUploadRow, WorksheetRow
from service.install import install_id
from service.jobs.pagework import QuestionInfo, WorksheetBundle, layout_digest
from service.repositories.jobs import JobWorkRepository
from service.repositories.pinned_keys import pinned_items
from service.repositories.templates import blanks_by_id

__all__ = ["load_bundle"]

_QUESTION: TypeAdapter[Question] = TypeAdapter(Question)


async def load_bundle(session: AsyncSession, upload: ScanUploadRow, worksheet_id: int
                      ) -> tuple[WorksheetRow, WorksheetBundle, dict[str, int]] | None:
    """The worksheet's layout, current answer keys, roster and this install's id (the
    reader refuses an ``MB2`` page printed by another install).

    Returns None when the worksheet does not exist or the uploader may not see it (another
    school, or another teacher's unless the uploader is an admin): its pages are then
    reported as unknown, never read against someone else's worksheet.
    """
    repo = JobWorkRepository(session)
    row = await repo.worksheet_in_school(worksheet_id, upload.school_id)
    if row is None:
        return None
    if upload.teacher_id != row.teacher_id and not await repo.is_admin(upload.teacher_id):
        return None
    questions: dict[str, QuestionInfo] = {}
    ids: dict[str, int] = {}
    for p in await pinned_items(session, worksheet_id):
        # The key the worksheet is pinned to: its own teacher's key fixes move it along,
        # another teacher's do not (service.repositories.pinned_keys); each grade records
        # the revision it used.
        q = p.question
        questions[q.external_id] = QuestionInfo(q.id, _QUESTION.validate_python(p.document),
                                                p.revision)
        ids[q.external_id] = q.id
    roster = tuple(RosterEntry(*member) for member in await repo.roster(row.class_id))
    blanks: tuple[tuple[int, bytes], ...] = ()
    if row.kind == "template" and row.blank_ids:
        pngs = await blanks_by_id(session, row.blank_ids)
        blanks = tuple((page, pngs[b]) for page, b in enumerate(row.blank_ids, start=1)
                       if b in pngs)
    bundle = WorksheetBundle(row.id, WorksheetLayout.from_dict(row.layout),
                             layout_digest(row.layout), questions, roster,
                             install_id=await install_id(session), blanks=blanks)
    return row, bundle, ids
