"""Failed-sign-in limits shared by several web processes through a real Redis."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from service.app import create_app
from service.auth.passwords import hash_password
from service.config import Settings
from tests.conftest import service_missing
from tests.support.auth import client_for, make_account

PASSWORD = "correct horse battery"


@pytest.fixture
def redis_url() -> str:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            pass
    except OSError:
        service_missing("Redis at 127.0.0.1:6379")
    url = "redis://127.0.0.1:6379/14"  # a database kept for these tests: emptied each time

    async def flush() -> None:
        from redis.asyncio import Redis

        client = Redis.from_url(url)
        await client.flushdb()
        await client.aclose()

    asyncio.run(flush())
    return url


@pytest.fixture
async def two_apps(tmp_path: Path, pg_url: str, redis_url: str
                   ) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """Two web processes on one PostgreSQL and one Redis (the limits' keys are this test's
    own: a fresh username)."""
    apps = []
    for name in ("a", "b"):
        settings = Settings(data_dir=tmp_path / name, db={"url": pg_url},  # type: ignore[arg-type]
                            limits={"redis_url": redis_url},
                            auth={"login_rate": "10/5min"})
        apps.append(create_app(settings))
    async with apps[0].router.lifespan_context(apps[0]), \
            apps[1].router.lifespan_context(apps[1]):
        yield apps[0], apps[1]


async def _login(c: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await c.post("/api/v1/auth/token", data={"username": username, "password": password})


async def test_failures_on_one_process_count_on_the_other(
        two_apps: tuple[FastAPI, FastAPI]) -> None:
    a, b = two_apps
    user = f"zhao{uuid.uuid4().hex[:6]}"
    await make_account(a, user, password_hash=await hash_password(PASSWORD))
    async with client_for(a) as ca, client_for(b) as cb:
        guesses = [_login(ca if i % 2 else cb, user, f"wrong {i}") for i in range(40)]
        codes = [r.status_code for r in await asyncio.gather(*guesses)]
        # The ten allowed attempts are shared: the other thirty are refused on both.
        assert codes.count(401) == 10, codes
        assert codes.count(429) == 30, codes
        r = await _login(cb, user, PASSWORD)
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1


async def test_a_success_forgives_the_username_everywhere(
        two_apps: tuple[FastAPI, FastAPI]) -> None:
    a, b = two_apps
    user = f"qian{uuid.uuid4().hex[:6]}"
    await make_account(a, user, password_hash=await hash_password(PASSWORD))
    async with client_for(a) as ca, client_for(b) as cb:
        for i in range(9):
            assert (await _login(ca, user, f"wrong {i}")).status_code == 401
        assert (await _login(cb, user, PASSWORD)).status_code == 200
        for i in range(9):  # the count started again
            assert (await _login(ca, user, f"again {i}")).status_code == 401
