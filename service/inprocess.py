"""Talk to the real app in-process over HTTP semantics (CLI commands and the demo)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from service.app import create_app
from service.config import Settings

__all__ = ["inprocess_client"]


@asynccontextmanager
async def inprocess_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app (lifespan included) and yield a client bound to it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://markbook.local",
                                     timeout=120) as client:
            yield client
