"""School administration: the school's webhook and its delivery history (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from service import school
from service.api.deps import ActorDep, SessionDep
from service.schemas.school import DeliveryOut, WebhookIn, WebhookOut

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/school", tags=["school"])


@router.get("/webhook", response_model=WebhookOut)
async def get_webhook(session: SessionDep, actor: ActorDep) -> WebhookOut:
    """The configured webhook URL (the secret is never shown again)."""
    return await school.get_webhook(session, actor)


@router.put("/webhook", response_model=WebhookOut, response_model_exclude_none=True)
async def put_webhook(body: WebhookIn, session: SessionDep, actor: ActorDep) -> WebhookOut:
    """Set the school's webhook. A generated secret is returned in this response only."""
    return await school.configure_webhook(session, actor, body)


@router.delete("/webhook", status_code=204)
async def delete_webhook(session: SessionDep, actor: ActorDep) -> Response:
    """Remove the webhook; deliveries still pending are cancelled."""
    await school.remove_webhook(session, actor)
    return Response(status_code=204)


@router.get("/webhook/deliveries", response_model=list[DeliveryOut])
async def list_deliveries(
    session: SessionDep, actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeliveryOut]:
    """The most recent deliveries, newest first (status, attempts, last error)."""
    return await school.recent_deliveries(session, actor, limit)
