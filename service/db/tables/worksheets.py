"""Worksheets, their ordered items and per-student copies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, JSONType, TimestampMixin

__all__ = ["TemplateBlankRow", "WorksheetCopyRow", "WorksheetItemRow", "WorksheetRow"]


class WorksheetRow(TimestampMixin, Base):
    """A worksheet with its frozen page layout (the print/read contract)."""

    __tablename__ = "worksheets"
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    page_size: Mapped[str] = mapped_column(String(16), default="A4")
    page_count: Mapped[int] = mapped_column(Integer)
    layout: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # "worksheet" (printed by markbook, read against its layout), "answer_sheet" (a
    # markbook 答题卡), "drill" (free-form 口算 pages read by the drill reader: no layout,
    # items added as they are found) or "template" (a teacher's own page: its layout
    # was drawn on an uploaded blank, and copies are registered to that blank).
    kind: Mapped[str] = mapped_column(String(16), default="worksheet",
                                      server_default="worksheet")
    # A template's blank pages (``template_blanks`` ids), page 1 first; None otherwise.
    blank_ids: Mapped[list[int] | None] = mapped_column(JSONType, nullable=True)


class WorksheetItemRow(Base):
    __tablename__ = "worksheet_items"
    __table_args__ = (UniqueConstraint("worksheet_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    worksheet_id: Mapped[int] = mapped_column(
        ForeignKey("worksheets.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    question_revision: Mapped[int] = mapped_column(Integer)


class WorksheetCopyRow(TimestampMixin, Base):
    """A personalised copy: the worksheet printed for one student (QR names the student)."""

    __tablename__ = "worksheet_copies"
    __table_args__ = (UniqueConstraint("worksheet_id", "student_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    worksheet_id: Mapped[int] = mapped_column(
        ForeignKey("worksheets.id", ondelete="CASCADE"), index=True
    )
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )


class TemplateBlankRow(TimestampMixin, Base):
    """A blank page a teacher uploaded to make a template (their own worksheet or a
    workbook page): the image copies are registered to, greyscale PNG at ``px_per_pt``.

    A blank belongs to a school and the teacher who uploaded it; several templates (one
    per class, say) may use the same blank.
    """

    __tablename__ = "template_blanks"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"),
                                           index=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id"), index=True)
    png: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    px_per_pt: Mapped[float] = mapped_column(Float)
    width_pt: Mapped[float] = mapped_column(Float)
    height_pt: Mapped[float] = mapped_column(Float)
    # The answer places found on it when it was uploaded (``ocr.foreign.register``).
    proposed: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
