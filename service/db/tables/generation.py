"""The data generation: a counter every write that can change what teachers read bumps."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base

__all__ = ["DataGenerationRow"]


class DataGenerationRow(Base):
    """A single row, ``id`` 1 (made by the migration), whose ``n`` goes up by one in every
    transaction that changes a table a cached read depends on, and whose ``edits`` goes up in
each such transaction but those storing a running job's pages (``service.db.generation``).

    It is in the database, so every web process of a deployment sees the same count: a
    process's cached answer is served only while the count it was built at is current.
    """

    __tablename__ = "data_generation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger, default=0)
    # Like ``n``, but not moved on by the pages a running job stores (only by its end).
    edits: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
