"""The question bank: knowledge points, questions and their key revisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, JSONType, TimestampMixin, utcnow

__all__ = ["KnowledgePointRow", "QuestionKnowledgePointRow", "QuestionRevisionRow", "QuestionRow"]


class KnowledgePointRow(TimestampMixin, Base):
    __tablename__ = "knowledge_points"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(128), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("knowledge_points.id"), index=True)


class QuestionRow(TimestampMixin, Base):
    """A bank question. ``document`` is the validated question JSON (the source of truth);
    the other columns are copies for querying. ``key_revision`` bumps whenever the key or
    score changes, and every grade records the revision it used."""

    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("school_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(String(32), index=True)
    grade: Mapped[int] = mapped_column(Integer)
    stem: Mapped[str] = mapped_column(Text)
    difficulty: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    key_revision: Mapped[int] = mapped_column(Integer, default=1)
    # "bank" (imported by a teacher), "variant" (generated for an error book), "drill" (an
    # item found on a drill page) or "template" (made from a template's key): all but
    # "bank" are graded like any question but stay out of bank listings and exports.
    origin: Mapped[str] = mapped_column(String(16), default="bank", server_default="bank",
                                        index=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class QuestionRevisionRow(TimestampMixin, Base):
    """Every key revision a question ever had, so old grades stay explainable."""

    __tablename__ = "question_revisions"
    __table_args__ = (UniqueConstraint("question_id", "revision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    revision: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)


class QuestionKnowledgePointRow(Base):
    __tablename__ = "question_knowledge_points"
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    knowledge_point_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_points.id", ondelete="CASCADE"), primary_key=True, index=True
    )
