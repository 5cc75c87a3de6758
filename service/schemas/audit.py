"""Response bodies of the audit log API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

__all__ = ["AuditEventOut", "AuditPageOut"]


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
