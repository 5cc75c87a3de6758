"""Request and response bodies of API v1 (pydantic)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.schemas.templates import TemplateIn

__all__ = [
    "ClassCreate",
    "ClassOut",
    "ClassSummaryOut",
    "ImportResult",
    "QuestionOut",
    "StudentIn",
    "StudentOut",
    "StudentsAdded",
    "WorksheetCreate",
    "WorksheetItemOut",
    "WorksheetOut",
    "WorksheetSummaryOut",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ClassCreate(_In):
    name: str = Field(min_length=1, max_length=100, examples=["三年级(2)班"])
    grade: int | None = Field(default=None, ge=1, le=12)
    subject: str | None = Field(default=None, max_length=32)


class StudentIn(_In):
    student_no: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
    name: str = Field(min_length=1, max_length=64)
    pinyin: str | None = Field(default=None, max_length=128)


class StudentOut(BaseModel):
    id: int
    student_no: str
    name: str
    pinyin: str | None


class ClassOut(BaseModel):
    id: int
    name: str
    grade: int | None
    subject: str | None
    student_count: int
    students: list[StudentOut]


class ClassSummaryOut(BaseModel):
    """A class in a list: no roster, just how many students it has."""

    id: int
    name: str
    grade: int | None
    subject: str | None
    student_count: int


class StudentsAdded(BaseModel):
    created: int
    students: list[StudentOut]


class ImportResult(BaseModel):
    created: int
    updated: int
    unchanged: int
    knowledge_points_created: int
    created_ids: list[str]
    updated_ids: list[str]


class QuestionOut(BaseModel):
    id: str = Field(description="the bank id")
    kind: str
    subject: str
    grade: int
    stem: str
    difficulty: int
    score: float
    key_revision: int
    knowledge_points: list[str]
    question: dict[str, Any] = Field(description="the full question document")


class WorksheetCreate(_In):
    """A worksheet (``kind: "worksheet"``, printed by markbook from bank questions), an
    answer sheet (``kind: "answer_sheet"``, 答题卡: only numbered bubble rows for bank
    choice, multi-choice and true/false questions, printed and read as a worksheet) or a
    drill assignment (``kind: "drill"``: 口算 pages from anywhere, no questions given:
    the items are found on the uploaded pages) or a template (``kind: "template"``: a
    teacher's own worksheet or a workbook page, its answer regions drawn on an uploaded
    blank, given in ``template``)."""

    title: str = Field(min_length=1, max_length=200)
    class_id: int
    kind: Literal["worksheet", "answer_sheet", "drill", "template"] = Field(
        default="worksheet", description="worksheet (printed by markbook), answer_sheet "
                                         "(答题卡: bubble rows only, for choice, "
                                         "multi-choice and true/false questions), drill "
                                         "(口算 pages from anywhere, graded from the page "
                                         "alone) or template (a teacher's own page, "
                                         "registered to its uploaded blank)")
    question_ids: list[str] = Field(default_factory=list,
                                    description="bank ids, in printed order (a worksheet "
                                                "needs at least one; a drill none)")
    page_size: Literal["A4", "Letter"] = "A4"
    scratch_space: bool = Field(
        default=False, description="leave a blank working area (竖式) under each written "
                                   "arithmetic question and maths word problem (the sheet "
                                   "gets longer; drawn, never read)")
    template: TemplateIn | None = Field(
        default=None, description="kind template: its pages (each an uploaded blank) and "
                                  "their regions with keys")

    @model_validator(mode="after")
    def _questions_fit_kind(self) -> WorksheetCreate:
        if self.kind in ("worksheet", "answer_sheet") and not self.question_ids:
            raise ValueError(f"question_ids: a {self.kind.replace('_', ' ')} needs at least "
                             f"one question")
        if self.kind == "drill" and self.question_ids:
            raise ValueError("question_ids: a drill assignment takes no questions (its "
                             "items are read from the uploaded pages)")
        if self.kind == "template":
            if self.template is None:
                raise ValueError("template: a template needs its pages and regions")
            if self.question_ids:
                raise ValueError("question_ids: a template's questions are given by its "
                                 "regions")
        elif self.template is not None:
            raise ValueError(f"template: only for kind template, not {self.kind}")
        return self


class WorksheetItemOut(BaseModel):
    position: int
    question_id: str
    key_revision: int


class WorksheetOut(BaseModel):
    id: int
    title: str
    class_id: int
    kind: str = Field(default="worksheet", description="worksheet, answer_sheet, drill or template")
    page_size: str
    page_count: int
    items: list[WorksheetItemOut]
    links: dict[str, str]


class WorksheetSummaryOut(BaseModel):
    """A worksheet in a list: no items or layout (``links.self`` has them)."""

    id: int
    title: str
    class_id: int
    kind: str = Field(default="worksheet", description="worksheet, answer_sheet, drill or template")
    class_name: str
    page_size: str
    page_count: int
    created_at: datetime
    links: dict[str, str]
