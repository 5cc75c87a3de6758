"""School administration: the school's webhook and its delivery history (admins only)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from service.actor import Actor
from service.api.deps import ActorDep, SessionDep
from service.errors import Forbidden, InvalidInput
from service.repositories.webhooks import WebhookRepository

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/school", tags=["school"])

MIN_SECRET = 16
MAX_SECRET = 128  # the column's width
MAX_URL = 500


def _admin(actor: Actor) -> Actor:
    if not actor.is_admin:
        raise Forbidden("only a school administrator may do this", error="admin_only")
    return actor


class WebhookIn(BaseModel):
    url: str = Field(description="http(s) URL that receives signed JSON events")
    secret: str | None = Field(default=None, description=f"signing secret, {MIN_SECRET}-"
                               f"{MAX_SECRET} characters; omit to have one generated")


class WebhookOut(BaseModel):
    url: str | None
    configured: bool
    secret: str | None = Field(default=None, description="only when markbook generated it: "
                               "shown this once, store it now")


class DeliveryOut(BaseModel):
    id: int
    event: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    payload: dict[str, Any]


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


@router.get("/webhook", response_model=WebhookOut)
async def get_webhook(session: SessionDep, actor: ActorDep) -> WebhookOut:
    """The configured webhook URL (the secret is never shown again)."""
    school = await WebhookRepository(session, _admin(actor).school_id).school()
    return WebhookOut(url=school.webhook_url, configured=bool(school.webhook_url))


@router.put("/webhook", response_model=WebhookOut, response_model_exclude_none=True)
async def put_webhook(body: WebhookIn, session: SessionDep, actor: ActorDep) -> WebhookOut:
    """Set the school's webhook. A generated secret is returned in this response only."""
    repo = WebhookRepository(session, _admin(actor).school_id)
    url = _check_url(body.url)
    secret, generated = _check_secret(body.secret)
    await repo.configure(url, secret)
    return WebhookOut(url=url, configured=True, secret=secret if generated else None)


@router.delete("/webhook", status_code=204)
async def delete_webhook(session: SessionDep, actor: ActorDep) -> Response:
    """Remove the webhook; deliveries still pending are cancelled."""
    await WebhookRepository(session, _admin(actor).school_id).remove()
    return Response(status_code=204)


@router.get("/webhook/deliveries", response_model=list[DeliveryOut])
async def list_deliveries(
    session: SessionDep, actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeliveryOut]:
    """The most recent deliveries, newest first (status, attempts, last error)."""
    rows = await WebhookRepository(session, _admin(actor).school_id).recent(limit)
    return [DeliveryOut(id=r.id, event=r.event, status=r.status, attempts=r.attempts,
                        next_attempt_at=r.next_attempt_at, last_error=r.last_error,
                        delivered_at=r.delivered_at, created_at=r.created_at,
                        payload=dict(r.payload or {})) for r in rows]
