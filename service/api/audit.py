"""The audit log for school admins: ``GET /api/v1/audit``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.api.deps import AdminDep, SessionDep
from service.audit import audit_page
from service.schemas.audit import AuditEventOut, AuditPageOut

__all__ = ["AuditEventOut", "AuditPageOut", "router"]

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=AuditPageOut)
async def audit_log(
    actor: AdminDep, session: SessionDep,
    action: Annotated[str | None, Query(max_length=48, description="exact action, or a prefix "
                                        "ending in '.' such as 'auth.'")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPageOut:
    """The school's audit events, newest first (admins only)."""
    return await audit_page(session, actor, action=action, limit=limit, offset=offset)
