"""Response body of the job status API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["JobMissingPagesOut", "JobOut", "MissingSummaryOut"]


class JobMissingPagesOut(BaseModel):
    """One student of the job whose copy of a worksheet lacked pages when the job ended."""

    student_id: int
    student_no: str | None = Field(description="null for a device key")
    name: str | None = Field(description="the student's name; null for a device key")
    worksheet_id: int
    pages: list[int] = Field(description="worksheet pages (1-based) with no scanned page of "
                                         "this student when the job ended")
    still_missing: list[int] = Field(description="those pages still missing now (a later "
                                                 "upload may have brought some)")


class MissingSummaryOut(BaseModel):
    students: int = Field(description="students of the job with pages missing at its end")
    pages: int = Field(description="pages missing at the job's end, all students")
    still_missing: int = Field(description="of those, pages still missing now")


class JobOut(BaseModel):
    id: int
    status: str
    pages_total: int
    pages_done: int
    progress: float
    problems: list[dict[str, Any]]
    error: str | None
    upload_id: int
    filename: str
    worksheet_id: int | None
    created_at: datetime
    finished_at: datetime | None
    missing_pages: list[JobMissingPagesOut] | None = Field(
        default=None,
        description="students with a page in this job whose copy lacked other pages of the "
                    "worksheet when the job ended; null while the job is queued or running")
    missing_summary: MissingSummaryOut | None = Field(
        default=None, description="counts of missing_pages; null while the job runs")
