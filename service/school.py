"""School administration (admins only): the school's webhook and its delivery history.

Routers in :mod:`service.api.school` call these; queries live in
:class:`service.repositories.webhooks.WebhookRepository`; delivery is :mod:`service.webhooks`.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.errors import Forbidden, InvalidInput
from service.repositories.webhooks import WebhookRepository
from service.schemas.school import MAX_SECRET, MIN_SECRET, DeliveryOut, WebhookIn, WebhookOut

__all__ = ["configure_webhook", "get_webhook", "recent_deliveries", "remove_webhook"]

MAX_URL = 500


def _admin(actor: Actor) -> Actor:
    if not actor.is_admin:
        raise Forbidden("only a school administrator may do this", error="admin_only")
    return actor


def _check_url(url: str) -> str:
    url = url.strip()
    if len(url) > MAX_URL:
        raise InvalidInput(f"the URL is longer than {MAX_URL} characters", error="bad_webhook_url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a bad port
    except ValueError:
        raise InvalidInput("the webhook URL is malformed", error="bad_webhook_url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the webhook URL must be an absolute http:// or https:// URL",
                           error="bad_webhook_url")
    if any(c.isspace() for c in url):
        raise InvalidInput("the webhook URL contains spaces", error="bad_webhook_url")
    return url


def _check_secret(secret: str | None) -> tuple[str, bool]:
    if secret is None or secret == "":
        return secrets.token_urlsafe(32), True
    if not MIN_SECRET <= len(secret) <= MAX_SECRET:
        raise InvalidInput(f"the secret must be {MIN_SECRET} to {MAX_SECRET} characters "
                           "(or omit it and markbook generates one)", error="weak_webhook_secret")
    return secret, False


async def get_webhook(session: AsyncSession, actor: Actor) -> WebhookOut:
    """The configured webhook URL (the secret is never shown again).

    Raises:
        Forbidden: ``admin_only``.
    """
    school = await WebhookRepository(session, _admin(actor).school_id).school()
    return WebhookOut(url=school.webhook_url, configured=bool(school.webhook_url))


async def configure_webhook(session: AsyncSession, actor: Actor, body: WebhookIn) -> WebhookOut:
    """Set the school's webhook; a generated secret is returned this once.

    Raises:
        Forbidden: ``admin_only``.
        InvalidInput: ``bad_webhook_url`` or ``weak_webhook_secret``.
    """
    repo = WebhookRepository(session, _admin(actor).school_id)
    url = _check_url(body.url)
    secret, generated = _check_secret(body.secret)
    await repo.configure(url, secret)
    return WebhookOut(url=url, configured=True, secret=secret if generated else None)


async def remove_webhook(session: AsyncSession, actor: Actor) -> None:
    """Remove the webhook, cancelling pending deliveries.

    Raises:
        Forbidden: ``admin_only``.
    """
    await WebhookRepository(session, _admin(actor).school_id).remove()


async def recent_deliveries(session: AsyncSession, actor: Actor, limit: int
                            ) -> list[DeliveryOut]:
    """The most recent deliveries, newest first.

    Raises:
        Forbidden: ``admin_only``.
    """
    rows = await WebhookRepository(session, _admin(actor).school_id).recent(limit)
    return [DeliveryOut(id=r.id, event=r.event, status=r.status, attempts=r.attempts,
                        next_attempt_at=r.next_attempt_at, last_error=r.last_error,
                        delivered_at=r.delivered_at, created_at=r.created_at,
                        payload=dict(r.payload or {})) for r in rows]
