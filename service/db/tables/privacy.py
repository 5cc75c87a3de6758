"""Children's data over time: the tombstones of erased students, the files waiting to be
deleted, and which scans and answer crops the retention settings have removed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, utcnow

__all__ = ["ErasedStudentRow", "FileDeletionRow", "ImageExpiryRow"]


class ErasedStudentRow(Base):
    """A student whose data was erased. Keeps only what stops a later scan from bringing
    the data back: the former id (an old personalised page's QR names it), the class, and
    a salted hash of the class and student number (an anonymous copy's comb), never the
    number or the name."""

    __tablename__ = "erased_students"
    # The former students.id, not a new one: the lookup key of an old page's QR.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    salt: Mapped[str] = mapped_column(String(32))
    student_no_hash: Mapped[str] = mapped_column(String(64))
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    erased_by: Mapped[int | None] = mapped_column(ForeignKey("teachers.id", ondelete="SET NULL"))


class FileDeletionRow(Base):
    """A stored file to delete once the transaction that made it unreferenced committed
    (an erasure, a retention purge). Written in that transaction, so a crash or a failed
    delete leaves the row and the next start (or purge) tries again."""

    __tablename__ = "file_deletions"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Relative to the data folder: ``files/<storage key>`` or ``errorbooks/class-3.pdf``.
    path: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(16))  # erasure | retention
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))


class ImageExpiryRow(Base):
    """Images removed on purpose, so the pages answer "no longer kept" instead of a broken
    image: ``scan`` (the upload's file, so every page image of it; ``page_id`` is None) or
    ``crops`` (one page's answer crops)."""

    __tablename__ = "image_expiry"
    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int] = mapped_column(
        ForeignKey("scan_uploads.id", ondelete="CASCADE"), index=True)
    page_id: Mapped[int | None] = mapped_column(
        ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # scan | crops
    reason: Mapped[str] = mapped_column(String(16))  # retention | erasure
    expired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
