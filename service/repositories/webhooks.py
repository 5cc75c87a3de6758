"""Webhook configuration per school and the delivery queue (``webhook_deliveries``).

The delivery table is the queue: a row is *due* when it is ``pending`` and its
``next_attempt_at`` has passed. A sender claims a row by pushing ``next_attempt_at`` forward
by a lease with a conditional UPDATE, so two app processes never send the same delivery at
once, and a sender that dies mid-request leaves the row to be retried when the lease lapses.
Functions here only ``flush()``; callers own the unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import JobRow, PageRow, SchoolRow, WebhookDeliveryRow
from service.errors import NotFound

__all__ = [
    "ClaimedDelivery",
    "WebhookRepository",
    "claim_due",
    "job_worksheet_ids",
    "record_attempt",
]


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery claimed for one attempt, with its school's current webhook target.

    ``url``/``secret`` are ``None`` when the school removed its webhook after the event.
    """

    id: int
    school_id: int
    event: str
    payload: dict[str, Any]
    attempts: int
    url: str | None
    secret: str | None


class WebhookRepository:
    """One school's webhook settings and delivery history (admin endpoints).

    Args:
        session: the unit of work.
        school_id: the acting school; nothing outside it is read or written.
    """

    def __init__(self, session: AsyncSession, school_id: int) -> None:
        self.session = session
        self.school_id = school_id

    async def school(self) -> SchoolRow:
        """The school row.

        Raises:
            NotFound: the school does not exist (its actor is stale).
        """
        school = await self.session.get(SchoolRow, self.school_id)
        if school is None:
            raise NotFound("no such school")
        return school

    async def configure(self, url: str, secret: str) -> SchoolRow:
        """Set (or replace) the webhook target and signing secret."""
        school = await self.school()
        school.webhook_url, school.webhook_secret = url, secret
        await self.session.flush()
        return school

    async def remove(self) -> int:
        """Remove the webhook; pending deliveries are cancelled. Returns how many."""
        school = await self.school()
        school.webhook_url = school.webhook_secret = None
        result = await self.session.execute(
            update(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.school_id == self.school_id,
                   WebhookDeliveryRow.status == "pending")
            .values(status="cancelled", last_error="webhook removed")
            .execution_options(synchronize_session=False))
        await self.session.flush()
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def recent(self, limit: int) -> Sequence[WebhookDeliveryRow]:
        """The school's most recent deliveries, newest first."""
        return (await self.session.execute(
            select(WebhookDeliveryRow).where(WebhookDeliveryRow.school_id == self.school_id)
            .order_by(WebhookDeliveryRow.id.desc()).limit(limit)
        )).scalars().all()

    async def add(self, event: str, payload: dict[str, Any]) -> WebhookDeliveryRow | None:
        """Queue an event if the school has a webhook; ``None`` when it has none."""
        school = await self.school()
        if not school.webhook_url:
            return None
        row = WebhookDeliveryRow(school_id=self.school_id, event=event, payload=payload,
                              status="pending", attempts=0)
        self.session.add(row)
        await self.session.flush()
        return row


async def job_worksheet_ids(session: AsyncSession, job: JobRow) -> list[int]:
    """Worksheets a job touched: its hint(s) from the payload plus those its pages matched."""
    ids: set[int] = set()
    payload = job.payload or {}
    hinted = payload.get("worksheet_ids") or []
    if payload.get("worksheet_id") is not None:
        hinted = [*hinted, payload["worksheet_id"]]
    ids.update(int(i) for i in hinted)
    upload_id = payload.get("upload_id")
    if upload_id is not None:
        found = (await session.execute(
            select(PageRow.worksheet_id).distinct()
            .where(PageRow.upload_id == int(upload_id), PageRow.worksheet_id.is_not(None))
        )).scalars().all()
        ids.update(int(i) for i in found if i is not None)
    return sorted(ids)


async def claim_due(session: AsyncSession, now: datetime, lease: timedelta,
                    limit: int) -> list[ClaimedDelivery]:
    """Claim up to ``limit`` due deliveries for one attempt each (flushes; caller commits).

    The claim moves ``next_attempt_at`` to ``now + lease`` only if the row is still due,
    so a row claimed by another sender in between is skipped.
    """
    due = (WebhookDeliveryRow.status == "pending") & (WebhookDeliveryRow.next_attempt_at <= now)
    rows = (await session.execute(
        select(WebhookDeliveryRow.id).where(due)
        .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id).limit(limit)
    )).scalars().all()
    claimed: list[ClaimedDelivery] = []
    for delivery_id in rows:
        result = await session.execute(
            update(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id, due)
            .values(next_attempt_at=now + lease)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue
        row = (await session.execute(
            select(WebhookDeliveryRow, SchoolRow.webhook_url, SchoolRow.webhook_secret)
            .join(SchoolRow, SchoolRow.id == WebhookDeliveryRow.school_id)
            .where(WebhookDeliveryRow.id == delivery_id)
        )).one()
        d, url, secret = row
        claimed.append(ClaimedDelivery(id=d.id, school_id=d.school_id, event=d.event,
                                       payload=dict(d.payload or {}), attempts=d.attempts,
                                       url=url, secret=secret))
    await session.flush()
    return claimed


async def record_attempt(session: AsyncSession, delivery_id: int, *, ok: bool,
                         error: str | None, now: datetime, retry_at: datetime | None,
                         give_up: bool) -> None:
    """Store one attempt's outcome: delivered, retry at ``retry_at``, or failed for good."""
    values: dict[str, Any] = {"attempts": WebhookDeliveryRow.attempts + 1, "last_error": error}
    if ok:
        values.update(status="delivered", delivered_at=now)
    elif give_up or retry_at is None:
        values.update(status="failed")
    else:
        values.update(next_attempt_at=retry_at)
    await session.execute(update(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id)
                          .values(**values).execution_options(synchronize_session=False))
    await session.flush()
