"""A web process builds its route tables before it reports ready, so the first burst of
requests after a start does not pay for them (its database pool is opened beside this, by
:func:`service.db.engine.open_pool`)."""

from __future__ import annotations

import httpx
from starlette.types import ASGIApp

__all__ = ["warm_routes"]

# A path no route serves: finding that out walks every route of every router.
_NOWHERE = "/.well-known/markbook-warm-up"


async def warm_routes(app: ASGIApp) -> int:
    """Send the app one in-process request for a path it does not serve, and return its
    status.

    FastAPI builds each included router's table of routes (their dependencies, their
    validators) the first time a request looks through it; a request that matches
    nothing looks through all of them. Measured on a two-core box: building them here,
    with the pool opened, took the first wave of 50 uploads after a start from about a
    fifth more web-process CPU than later waves to about as much.
    """
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        return (await client.get(_NOWHERE)).status_code
