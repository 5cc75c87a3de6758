"""Signed webhooks: queue an event when a job finishes, deliver it with retries.

Events are rows in ``webhook_deliveries``, written in the same unit of work as the change
they announce (so an event exists if and only if the job's final state was committed).
:func:`run_deliveries` (started from the app lifespan) POSTs due rows to the school's URL::

    POST <school.webhook_url>
    Content-Type: application/json
    X-Markbook-Event: job.finished
    X-Markbook-Delivery: 42
    X-Markbook-Signature: t=1718000000,v1=<hex HMAC-SHA256(secret, "1718000000." + body)>

A 2xx answer marks the delivery ``delivered``; anything else (another status, a timeout, a
refused connection, a redirect) schedules a retry after ``base × 2^(attempt-1)`` seconds
(capped, with ±20 % jitter so a receiver coming back is not hit by every retry at once),
and after ``max_attempts`` the delivery is ``failed``. Delivery is at-least-once: receivers
deduplicate by ``X-Markbook-Delivery``. Receivers check signatures with
:func:`verify_signature`; secrets are never logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import anyio
import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.config import WebhookSettings
from service.db import JobRow
from service.db.base import utcnow
from service.repositories.webhooks import (
    ClaimedDelivery,
    WebhookRepository,
    claim_due,
    job_worksheet_ids,
    record_attempt,
)

__all__ = [
    "SIGNATURE_HEADER",
    "deliver_due",
    "delivery_body",
    "enqueue_job_event",
    "retry_delay",
    "run_deliveries",
    "sign",
    "verify_signature",
]

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Markbook-Signature"
USER_AGENT = "markbook-webhooks/0.1"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp``.

    Args:
        secret: the school's webhook secret.
        body: the exact bytes sent.
        timestamp: Unix seconds; signed together with the body so a captured request
            cannot be replayed later.

    Returns:
        ``t=<timestamp>,v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``.
    """
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(secret: str, header: str | None, body: bytes, tolerance_s: float = 300,
                     *, now: float | None = None) -> bool:
    """Check an ``X-Markbook-Signature`` header (for receivers and our tests).

    Args:
        secret: the webhook secret the receiver shares with markbook.
        header: the header value, ``t=<ts>,v1=<hex>`` (several ``v1`` are allowed: any match
            counts, which lets a secret be rotated without downtime).
        body: the raw request body, exactly as received (not re-serialised JSON).
        tolerance_s: how old (or how far in the future) the timestamp may be.
        now: the current Unix time; defaults to the clock.

    Returns:
        True only if the timestamp is fresh and a signature matches.
    """
    if not header:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).rpartition("v1=")[2]
    # compare_digest on every candidate: no early exit that would leak timing.
    return any([hmac.compare_digest(expected, c) for c in candidates])  # noqa: C419


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def enqueue_job_event(session: AsyncSession, job: JobRow) -> None:
    """Queue ``job.finished`` for the job's school, if it has a webhook (flush only).

    Called by the job runner in the unit of work that stores the job's final state.

    Args:
        session: that unit of work.
        job: the finished job (status, counts and ``finished_at`` already set).
    """
    repo = WebhookRepository(session, job.school_id)
    if not (await repo.school()).webhook_url:
        return  # the common case: no webhook, no extra queries
    payload: dict[str, Any] = {
        "job_id": job.id,
        "status": job.status,
        "pages_total": job.pages_total,
        "pages_done": job.pages_done,
        "problems": len(job.problems or []),
        "error": job.error,
        "finished_at": _iso(job.finished_at),
        "upload_id": (job.payload or {}).get("upload_id"),
        "worksheet_ids": await job_worksheet_ids(session, job),
    }
    row = await repo.add("job.finished", payload)
    if row is not None:
        log.info("webhook delivery %s queued: job.finished for job %s", row.id, job.id)


def delivery_body(delivery: ClaimedDelivery | Any) -> bytes:
    """The JSON body of a delivery: the same bytes on every attempt.

    Shape: ``{"id": <delivery id>, "event": ..., "school_id": ..., "data": {...}}``.
    """
    document = {"id": delivery.id, "event": delivery.event, "school_id": delivery.school_id,
                "data": delivery.payload}
    return json.dumps(document, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode()


def retry_delay(attempts: int, settings: WebhookSettings,
                rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (1-based), jitter included."""
    base = settings.backoff_base_seconds * 2.0 ** max(attempts - 1, 0)
    capped = min(base, settings.backoff_max_seconds)
    return min(capped * (0.8 + 0.4 * rand()), settings.backoff_max_seconds)


async def _attempt(http: httpx.AsyncClient, delivery: ClaimedDelivery,
                   timeout_s: float) -> str | None:
    """POST one delivery; ``None`` on a 2xx, else a short reason (never the secret)."""
    if not delivery.url or not delivery.secret:
        return "webhook removed"
    body = delivery_body(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Markbook-Event": delivery.event,
        "X-Markbook-Delivery": str(delivery.id),
        SIGNATURE_HEADER: sign(delivery.secret, body, int(time.time())),
    }
    try:
        resp = await http.post(delivery.url, content=body, headers=headers, timeout=timeout_s,
                               follow_redirects=False)
    except httpx.TimeoutException:
        return "timed out"
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    except Exception as exc:  # e.g. httpx.InvalidURL: count the attempt, never wedge the row
        return f"{type(exc).__name__}"
    if 200 <= resp.status_code < 300:
        return None
    return f"HTTP {resp.status_code}"


async def deliver_due(factory: async_sessionmaker[AsyncSession], http: httpx.AsyncClient,
                      settings: WebhookSettings, *, now: datetime | None = None,
                      limit: int = 50, rand: Callable[[], float] = random.random) -> int:
    """Claim the due deliveries, attempt each once, store the outcomes.

    Args:
        factory: database sessions (one to claim, one per outcome).
        http: the client that sends (tests may pass one bound to a mock transport).
        settings: attempts, timeout, backoff and concurrency.
        now: the current time (tests move it forward to make retries due).
        limit: most deliveries claimed in this pass.
        rand: jitter source in [0, 1).

    Returns:
        How many deliveries were attempted.
    """
    start = now or utcnow()
    # The lease outlasts the request, so nobody else picks the row up while it is in flight.
    lease = timedelta(seconds=settings.timeout_seconds * 2 + 30)
    async with factory() as session:
        claimed = await claim_due(session, start, lease, limit)
        await session.commit()
    if not claimed:
        return 0
    gate = asyncio.Semaphore(settings.concurrency)

    async def one(delivery: ClaimedDelivery) -> None:
        async with gate:
            error = await _attempt(http, delivery, settings.timeout_seconds)
        attempts = delivery.attempts + 1
        at = now or utcnow()
        give_up = error == "webhook removed" or attempts >= settings.max_attempts
        retry_at = None if error is None or give_up else \
            at + timedelta(seconds=retry_delay(attempts, settings, rand))
        async with factory() as session:
            await record_attempt(session, delivery.id, ok=error is None, error=error, now=at,
                                 retry_at=retry_at, give_up=give_up)
            await session.commit()
        if error is None:
            log.info("webhook delivery %s (%s, school %s) delivered on attempt %s",
                     delivery.id, delivery.event, delivery.school_id, attempts)
        elif give_up:
            log.warning("webhook delivery %s (school %s) failed for good after %s attempts: %s",
                        delivery.id, delivery.school_id, attempts, error)
        else:
            log.info("webhook delivery %s (school %s) attempt %s failed (%s); retry at %s",
                     delivery.id, delivery.school_id, attempts, error, _iso(retry_at))

    async with anyio.create_task_group() as group:
        for delivery in claimed:
            group.start_soon(one, delivery)
    return len(claimed)


async def run_deliveries(factory: async_sessionmaker[AsyncSession], http: httpx.AsyncClient,
                         *, stop: anyio.Event | asyncio.Event,
                         settings: WebhookSettings | None = None) -> None:
    """Deliver due webhooks until ``stop`` is set (the app lifespan runs this as a task).

    Args:
        factory: database sessions.
        http: the sending client (no redirects followed; timeout per request from settings).
        stop: set to end the loop after the current pass.
        settings: the ``webhooks`` settings group; defaults apply when omitted.
    """
    settings = settings or WebhookSettings()
    while not stop.is_set():
        try:
            sent = await deliver_due(factory, http, settings)
        except Exception:  # a database hiccup must not end the loop for good
            log.exception("webhook delivery pass failed")
            sent = 0
        if sent:
            continue  # more may be due right now
        with anyio.move_on_after(settings.poll_seconds):
            await stop.wait()
