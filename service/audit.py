"""The school's audit log as the API shows it (admins only).

Routers in :mod:`service.api.audit` call this; the query is
:func:`service.repositories.audit.list_events`.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.repositories.audit import list_events
from service.schemas.audit import AuditEventOut, AuditPageOut

__all__ = ["audit_page"]


async def audit_page(session: AsyncSession, actor: Actor, *, action: str | None, limit: int,
                     offset: int) -> AuditPageOut:
    """One page of the school's events, newest first; ``action`` matches exactly, or as a
    prefix when it ends in ``.``."""
    page = await list_events(session, actor, action=action, limit=limit, offset=offset)
    return AuditPageOut(total=page.total, limit=limit, offset=offset, items=[
        AuditEventOut(id=e.id, at=e.at, actor_kind=e.actor_kind, actor_id=e.actor_id,
                      action=e.action, target_type=e.target_type, target_id=e.target_id,
                      ip=e.ip, detail=e.detail or {}) for e in page.events])
