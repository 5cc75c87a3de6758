"""The install's identity row (``installation``): read it, or add it once."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import InstallationRow

__all__ = ["InstallRepository"]

_ROW_ID = 1


class InstallRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def install_id(self) -> str | None:
        """The stored id, None when the row is missing."""
        row = await self.session.get(InstallationRow, _ROW_ID)
        return row.install_id if row is not None else None

    async def add_if_missing(self, install_id: str) -> str:
        """Store ``install_id`` unless another process stored one first; the stored id.

        A savepoint keeps a lost race (two processes starting on a database whose row was
        removed) from spoiling the caller's unit of work.
        """
        try:
            async with self.session.begin_nested():
                self.session.add(InstallationRow(id=_ROW_ID, install_id=install_id))
        except IntegrityError:
            pass
        row = await self.session.get(InstallationRow, _ROW_ID, populate_existing=True)
        assert row is not None
        return row.install_id
