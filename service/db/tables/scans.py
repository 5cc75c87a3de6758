"""Scans and what is read and graded from them; jobs that do the work.

These tables are filled by the ingestion and grading pipeline; they exist from the first
migration so the domain is whole and later migrations only add.
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
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, BatchInserts, JSONType, TimestampMixin, utcnow

__all__ = ["GradeRow", "JobRow", "PageRow", "ResponseRow", "ScanUploadRow", "WebhookDeliveryRow"]


class JobRow(TimestampMixin, Base):
    """The source of truth for background work: queued → running → done|failed|partially_done."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    pages_total: Mapped[int] = mapped_column(Integer, default=0)
    pages_done: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # Per-page problems (unreadable QR, misaligned, duplicate page...) summarised for the API.
    problems: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    # A runner holds a job while its lease is live; an expired lease means the runner died
    # and the job may be claimed again (pages already stored are skipped, never redone).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ScanUploadRow(TimestampMixin, Base):
    """One received file. Content-addressed per school: the same bytes are one upload, so a
    copier re-sending a scan never grades a page twice."""

    __tablename__ = "scan_uploads"
    __table_args__ = (UniqueConstraint("school_id", "sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device_keys.id"), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), index=True)
    page_count: Mapped[int | None] = mapped_column(Integer)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    worksheet_hint_id: Mapped[int | None] = mapped_column(ForeignKey("worksheets.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_key: Mapped[str] = mapped_column(String(255))


class PageRow(TimestampMixin, Base):
    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("upload_id", "page_index"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int] = mapped_column(
        ForeignKey("scan_uploads.id", ondelete="CASCADE"), index=True
    )
    page_index: Mapped[int] = mapped_column(Integer)
    worksheet_id: Mapped[int | None] = mapped_column(ForeignKey("worksheets.id"), index=True)
    page_no: Mapped[int | None] = mapped_column(Integer)
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    problem: Mapped[str | None] = mapped_column(Text)
    alignment_error: Mapped[float | None] = mapped_column(Float)
    # How the student was decided: qr | handwriting | teacher (review assignment).
    student_source: Mapped[str | None] = mapped_column(String(16))
    # The page→image homography (3×3, row-major) so crops and annotations can be redrawn.
    homography: Mapped[list[Any] | None] = mapped_column(JSONType)
    image_key: Mapped[str | None] = mapped_column(String(255))
    # An anonymous copy's handwritten identity as read: what the comb (and seat bubbles,
    # name) said and every roster student's log-score, kept for the stack's placement at
    # the end of the upload and for the review queue's candidates.
    student_evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class ResponseRow(BatchInserts, TimestampMixin, Base):
    """One recognised answer region of one page."""

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("page_id", "question_id", "blank"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    worksheet_id: Mapped[int] = mapped_column(ForeignKey("worksheets.id"), index=True)
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    blank: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    alternatives: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    marks: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    crop_key: Mapped[str | None] = mapped_column(String(255))
    # A drill item's answer area, (x0, y0, x1, y1) in pixels of the page as ingested; None
    # for a worksheet's answers (its layout places them).
    region: Mapped[list[Any] | None] = mapped_column(JSONType)


class GradeRow(BatchInserts, TimestampMixin, Base):
    """A grade of one response, with the answer-key revision it used. Teacher overrides add
    a new current row; earlier ones stay for the audit trail."""

    __tablename__ = "grades"
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    key_revision: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(24))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    cause: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    reason_zh: Mapped[str] = mapped_column(Text, default="")
    reason_en: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="auto")
    graded_by: Mapped[int | None] = mapped_column(ForeignKey("teachers.id"))
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    review_reason: Mapped[str | None] = mapped_column(String(64))
    normalised: Mapped[str | None] = mapped_column(Text)


class WebhookDeliveryRow(TimestampMixin, Base):
    """One event to POST to a school's webhook, retried with backoff until delivered."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(48))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
