"""Per-student read-only links (a student or a parent opens the error book without an
account). Only the SHA-256 of each link's token is stored: a lost link is re-issued, never
shown again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, TimestampMixin

__all__ = ["StudentLinkRow"]


class StudentLinkRow(TimestampMixin, Base):
    """One issued link: the hash of its token, whose student it opens, who issued it, and
    whether it still works (``revoked_at`` is ``None``)."""

    __tablename__ = "student_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"),
                                            index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("teachers.id", ondelete="SET NULL"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
