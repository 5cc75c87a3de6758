"""Response body of ``GET /students/{id}/errorbook``: a student's error book as data."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["ErrorBookEntryOut", "ErrorBookOut", "ErrorBookSummaryOut", "PracticeItemOut"]


class ErrorBookSummaryOut(BaseModel):
    open: int
    practising: int
    resolved: int
    resolution_rate: float | None


class ErrorBookEntryOut(BaseModel):
    """One card: the question answered wrongly, what was written, and why it was wrong."""

    entry_id: int
    number: int
    question_id: str
    stem: str
    student_answer: str
    correct_answer: str
    cause_zh: str
    knowledge_point: str
    mastery: float | None
    state: str


class PracticeItemOut(BaseModel):
    """One item of the practice sheet, with its key and the entry it practises."""

    number: int
    question: dict[str, Any] = Field(description="the full question document")
    answer: str
    entry_id: int | None
    reason_zh: str


class ErrorBookOut(BaseModel):
    errorbook_id: int | None
    worksheet_id: int | None
    reused: bool
    title: str
    summary: ErrorBookSummaryOut
    entries: list[ErrorBookEntryOut]
    practice: list[PracticeItemOut]
