"""Bodies for renaming a class and editing a student (``PATCH`` routes of
:mod:`service.api.classes`): only the fields sent change."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ClassUpdate", "StudentUpdate"]


class _Patch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ClassUpdate(_Patch):
    """A class's new name (and grade or subject); fields left out stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=100,
                             examples=["三年级(3)班"])
    grade: int | None = Field(default=None, ge=1, le=12)
    subject: str | None = Field(default=None, max_length=32)


class StudentUpdate(_Patch):
    """A student's corrected name, student number or pinyin; fields left out stay."""

    student_no: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
    name: str | None = Field(default=None, min_length=1, max_length=64)
    pinyin: str | None = Field(default=None, max_length=128)
