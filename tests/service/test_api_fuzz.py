"""The short form of ``drills.api_fuzz``: fuzzed requests to every operation of the API,
on SQLite and PostgreSQL, and not one answered with a 5xx."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from drills.api_fuzz import fuzz_app
from service.inprocess import local_token


async def test_no_fuzzed_request_is_a_server_error(app: FastAPI) -> None:
    token = await local_token(app)

    def client_for(headers: dict[str, str]) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url="http://fuzz",
                                 headers=headers, timeout=60)

    report = await fuzz_app(app, client_for, {"Authorization": f"Bearer {token}"},
                            requests=800, seed=7)
    assert report.requests == 800
    assert report.errors == [], "\n".join(report.errors[:10])
    # The fuzzer reached past validation: objects were made and read back.
    assert report.statuses[200] > 50
    assert report.statuses[201] > 0
