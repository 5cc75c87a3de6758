"""The unit-of-work methods a repository that stages rows shares.

A repository here flushes, never commits: whoever opened the session (a request or a
job) decides when to commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["StagingRepository"]


class StagingRepository:
    """A repository over one session that stages new rows and deletions for the caller.

    Attributes:
        session: The caller's session; its transaction belongs to the caller.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Any) -> None:
        """Stage a new row (written at the next flush)."""
        self.session.add(row)

    async def delete(self, row: Any) -> None:
        """Delete a row (at the next flush)."""
        await self.session.delete(row)

    async def flush(self) -> None:
        """Write staged changes (the caller's unit of work commits)."""
        await self.session.flush()
