"""Signed-out browser sessions: what sign-out writes and every page view checks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.base import utcnow
from service.db.tables.access import RevokedSessionRow

__all__ = ["is_revoked", "revoke"]


async def is_revoked(session: AsyncSession, session_id: str) -> bool:
    """Whether the browser session was signed out (one primary-key lookup)."""
    found = await session.execute(
        select(RevokedSessionRow.session_id).where(RevokedSessionRow.session_id == session_id))
    return found.first() is not None


async def revoke(session: AsyncSession, session_id: str, until: datetime) -> None:
    """Sign the session out until ``until`` (after which it could not be renewed anyway);
    rows past their time are purged on the way, so the table stays small."""
    await session.execute(delete(RevokedSessionRow).where(RevokedSessionRow.expires_at < utcnow()))
    if not await is_revoked(session, session_id):
        session.add(RevokedSessionRow(session_id=session_id, expires_at=until))
    await session.flush()
