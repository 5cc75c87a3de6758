"""Mastery, item difficulty, error-book entries and printed error books.

The source of truth for mastery is ``mastery_events``: one observation per (graded answer,
knowledge point), holding the credit and the item difficulty used when it was applied.
``mastery_states`` is the fold of those events (kept current in O(1) per new answer), so a
teacher's override replays the affected events and lands on exactly the state a fresh
computation would give.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, BatchInserts, JSONType, TimestampMixin, utcnow

__all__ = [
    "ErrorAttemptRow",
    "ErrorBookRow",
    "ErrorEntryRow",
    "ItemDifficultyRow",
    "KpParamsRow",
    "MasteryEventRow",
    "MasteryStateRow",
    "PracticeItemRow",
]


class MasteryEventRow(BatchInserts, Base):
    """One graded answer seen by one knowledge point's model."""

    __tablename__ = "mastery_events"
    __table_args__ = (UniqueConstraint("response_id", "knowledge_point_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    knowledge_point_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_points.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    credit: Mapped[float] = mapped_column(Float)
    difficulty: Mapped[float] = mapped_column(Float)
    # When the student answered (the page's scan), not when it was graded: replay order.
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class MasteryStateRow(Base):
    __tablename__ = "mastery_states"
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    knowledge_point_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_points.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    p_mastery: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    correct: Mapped[float] = mapped_column(Float, default=0.0)
    last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    history: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    # Id of the last event folded in: a new event later than it is applied in O(1).
    last_event_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KpParamsRow(Base):
    """Per-school, per-knowledge-point BKT parameters (defaults until fitted)."""

    __tablename__ = "kp_params"
    __table_args__ = (UniqueConstraint("school_id", "knowledge_point_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    knowledge_point_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_points.id", ondelete="CASCADE"), index=True
    )
    prior: Mapped[float] = mapped_column(Float)
    learn: Mapped[float] = mapped_column(Float)
    guess: Mapped[float] = mapped_column(Float)
    slip: Mapped[float] = mapped_column(Float)
    fitted: Mapped[bool] = mapped_column(Boolean, default=False)
    n_answers: Mapped[int] = mapped_column(Integer, default=0)
    n_students: Mapped[int] = mapped_column(Integer, default=0)
    log_likelihood: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(String(200), default="")
    fitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ItemDifficultyRow(Base):
    """An Elo-style difficulty learned from the school's own scans (logits, 0 = average)."""

    __tablename__ = "item_difficulty"
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    rating: Mapped[float] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ErrorEntryRow(BatchInserts, TimestampMixin, Base):
    """A question the student got wrong, and its way to resolution (open → practising →
    resolved). The schedule columns are the fold of its attempts (``error_attempts``)."""

    __tablename__ = "errorbook_entries"
    __table_args__ = (UniqueConstraint("student_id", "question_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    wrong_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cause: Mapped[str | None] = mapped_column(String(64))
    times_wrong: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    step: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ErrorAttemptRow(BatchInserts, Base):
    """A later try at an entry: the same question again, or a practice item for it."""

    __tablename__ = "error_attempts"
    __table_args__ = (UniqueConstraint("entry_id", "response_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("errorbook_entries.id", ondelete="CASCADE"), index=True
    )
    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    correct: Mapped[bool] = mapped_column(Boolean)


class ErrorBookRow(TimestampMixin, Base):
    """One printed error book: the entries it reviewed and its practice worksheet."""

    __tablename__ = "errorbooks"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    worksheet_id: Mapped[int | None] = mapped_column(
        ForeignKey("worksheets.id", ondelete="SET NULL"), index=True
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("teachers.id"))
    entry_ids: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    # Digest of the entry set and their states: an unchanged book is reused, not reprinted.
    digest: Mapped[str] = mapped_column(String(64), index=True)


class PracticeItemRow(BatchInserts, Base):
    """A question on an error book's practice worksheet and the entry it practises."""

    __tablename__ = "practice_items"
    __table_args__ = (UniqueConstraint("worksheet_id", "question_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    errorbook_id: Mapped[int] = mapped_column(
        ForeignKey("errorbooks.id", ondelete="CASCADE"), index=True
    )
    worksheet_id: Mapped[int] = mapped_column(
        ForeignKey("worksheets.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("errorbook_entries.id", ondelete="SET NULL"), index=True
    )
    reason_zh: Mapped[str] = mapped_column(String(300), default="")
    reason_en: Mapped[str] = mapped_column(String(300), default="")
