"""Declarative base with a constraint naming convention (so migrations are stable)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, orm_insert_sentinel

__all__ = ["Base", "BatchInserts", "JSONType", "TimestampMixin", "utcnow"]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BatchInserts:
    """A table whose rows are added many at a time: one ``INSERT`` for the lot on SQLite.

    The ORM needs each new row's id back in the order it sent them. SQLite gives no order
    for ``RETURNING`` and no other way to tie a server-made id to its row, so SQLAlchemy
    inserts such rows one statement at a time there (a page's answers, grades and mastery
    events were a hundred statements). A sentinel column, numbered by the client in each
    batch and returned with the ids, ties them back; it means nothing after the insert.
    """

    insert_sentinel: Mapped[int | None] = orm_insert_sentinel()
