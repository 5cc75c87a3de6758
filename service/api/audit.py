"""The audit log for school admins: ``GET /api/v1/audit``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from service.api.deps import AdminDep, SessionDep
from service.repositories.audit import list_events

__all__ = ["AuditEventOut", "AuditPageOut", "router"]

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor_kind: str
    actor_id: int | None
    action: str
    target_type: str | None
    target_id: int | None
    ip: str | None
    detail: dict[str, Any]


class AuditPageOut(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[AuditEventOut]


@router.get("", response_model=AuditPageOut)
async def audit_log(
    actor: AdminDep, session: SessionDep,
    action: Annotated[str | None, Query(max_length=48, description="exact action, or a prefix "
                                        "ending in '.' such as 'auth.'")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPageOut:
    """The school's audit events, newest first (admins only)."""
    page = await list_events(session, actor, action=action, limit=limit, offset=offset)
    return AuditPageOut(total=page.total, limit=limit, offset=offset, items=[
        AuditEventOut(id=e.id, at=e.at, actor_kind=e.actor_kind, actor_id=e.actor_id,
                      action=e.action, target_type=e.target_type, target_id=e.target_id,
                      ip=e.ip, detail=e.detail or {}) for e in page.events])
