"""The audit log: who did what, when, from where.

:func:`record` adds an :class:`AuditEvent` to the caller's unit of work, so an action and
its audit row commit together or not at all. Record at least: logins (ok and failed),
device keys created and revoked, accounts created, uploads, grade overrides, exports and
deletions.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import AuditEventRow
from service.policy import scoped

__all__ = ["AuditPage", "event_row", "insert_events", "list_events", "record"]

_EVENTS = cast(Table, AuditEventRow.__table__)
_INSERT = insert(_EVENTS)


def event_row(actor: Actor | None, action: str, target_type: str | None = None,
              target_id: int | None = None, ip: str | None = None,
              detail: dict[str, Any] | None = None, *,
              school_id: int | None = None) -> dict[str, Any]:
    """The columns of one audit event (the arguments are :func:`record`'s)."""
    if actor is None:
        kind, actor_id = ("anonymous" if ip else "system"), None
    elif actor.is_device:
        kind, actor_id = "device", actor.device_id
    else:
        kind, actor_id = "teacher", actor.teacher_id
    return {"school_id": school_id if school_id is not None else (
                actor.school_id if actor else None),
            "actor_kind": kind, "actor_id": actor_id, "action": action[:48],
            "target_type": target_type, "target_id": target_id,
            "ip": (ip or None) and ip[:64], "detail": detail or {}}


async def record(session: AsyncSession, actor: Actor | None, action: str,
                 target_type: str | None = None, target_id: int | None = None,
                 ip: str | None = None, detail: dict[str, Any] | None = None, *,
                 school_id: int | None = None) -> None:
    """Add one audit event to the unit of work (flush only: the session is flushed first,
    as it always was, so what the caller added before is written before its audit row).

    Args:
        session: the unit of work the action itself runs in.
        actor: who did it; ``None`` for the system (CLI) or an anonymous caller.
        action: a dotted verb such as ``auth.login``, ``device.create``, ``scan.upload``.
        target_type: what it was done to (``teacher``, ``device``, ``job``...).
        target_id: that object's id.
        ip: the client's address, when the action came over HTTP.
        detail: small JSON-able facts (never secrets: no passwords, keys or tokens).
        school_id: the school, when there is no actor (e.g. a failed login for a known
            username); defaults to the actor's.
    """
    await session.flush()
    await insert_events(session, [event_row(actor, action, target_type, target_id, ip,
                                            detail, school_id=school_id)])


async def insert_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Write audit events given as :func:`event_row` columns (no flush)."""
    # A table insert built once, not mapped rows: every upload and sign-in writes one, and
    # nothing reads the row back in the same request.
    await session.execute(_INSERT, rows[0] if len(rows) == 1 else rows)


class AuditPage:
    """One page of events, newest first, and the total matching."""

    def __init__(self, events: list[AuditEventRow], total: int) -> None:
        self.events = events
        self.total = total


async def list_events(session: AsyncSession, actor: Actor, *, action: str | None = None,
                      limit: int = 100, offset: int = 0) -> AuditPage:
    """The school's events the actor may read (admins only; others get none).

    Args:
        session: the unit of work.
        actor: the caller.
        action: only this action, or actions under this prefix when it ends with ``.``.
        limit: page size.
        offset: events to skip.

    Returns:
        The page.
    """
    q = scoped(select(AuditEventRow), AuditEventRow, actor)
    if action:
        q = q.where(AuditEventRow.action.startswith(action, autoescape=True)
                    if action.endswith(".") else AuditEventRow.action == action)
    total = await session.scalar(select(func.count()).select_from(q.subquery()))
    rows = await session.execute(q.order_by(AuditEventRow.id.desc()).limit(limit).offset(offset))
    return AuditPage(list(rows.scalars()), int(total or 0))
