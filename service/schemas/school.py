"""Request and response bodies of the school administration API (the school's webhook)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["MAX_SECRET", "MIN_SECRET", "DeliveryOut", "WebhookIn", "WebhookOut"]

MIN_SECRET = 16
MAX_SECRET = 128  # the column's width


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
