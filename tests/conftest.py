"""Shared fixtures: real SQLite and real PostgreSQL databases, the real app, sample data.

API clients are signed in with bearer tokens: ``client`` as the built-in ``local`` admin
(``app.state.local_actor``, the identity every request had before accounts existed),
``teacher_client`` as an ordinary teacher (``teacher1``), ``other_client`` as a second
ordinary teacher of the same school, ``admin_client`` as another school admin,
``device_client`` with a device key created by ``client``; ``anon_client`` has no
credentials. All share one app and database per test.

PostgreSQL tests run against ``MARKBOOK_TEST_PG_URL`` (default: the local server at
127.0.0.1:5432, database ``test``). Each test gets a fresh database created from it. Without
a server they skip, unless ``MARKBOOK_REQUIRE_SERVICES=1`` (CI), where they fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from service.app import create_app
from service.config import Settings
from tests.support.auth import client_for, make_account
from tests.support.samples import SAMPLES

PG_URL = os.environ.get("MARKBOOK_TEST_PG_URL",
                        "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REQUIRE_SERVICES = os.environ.get("MARKBOOK_REQUIRE_SERVICES") == "1"


def service_missing(what: str) -> None:
    """Skip locally, fail in CI, when a service a test needs is not there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (MARKBOOK_REQUIRE_SERVICES=1) but unavailable")
    pytest.skip(f"{what} unavailable")


async def _pg_admin_async(sql: str) -> None:
    import asyncpg

    url = make_url(PG_URL)
    conn = await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username,
                                 password=url.password, database=url.database, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_admin(sql: str) -> None:
    # Own loop in a helper thread: callable from sync fixtures while a test loop runs.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _pg_admin_async(sql)).result()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    name = f"markbook_t_{uuid.uuid4().hex[:12]}"
    try:
        _pg_admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # refused connection, auth, missing driver: "unavailable"
        service_missing(f"PostgreSQL at {PG_URL} ({type(exc).__name__}: {exc})")
    yield str(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'markbook.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each API test runs on real SQLite and on real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'markbook.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", db={"url": db_url})  # type: ignore[arg-type]


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The real app with its lifespan running (migrations, bootstrap)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as the ``local`` admin (what ``markbook`` CLI commands use)."""
    from service.inprocess import local_token

    async with client_for(app, {"Authorization": f"Bearer {await local_token(app)}"}) as c:
        yield c


@pytest.fixture
async def teacher_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as ``teacher1``, an ordinary teacher of the default school."""
    account = await make_account(app, "teacher1")
    async with client_for(app, account.headers) as c:
        yield c


@pytest.fixture
async def other_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second ordinary teacher of the same school (``teacher2``)."""
    account = await make_account(app, "teacher2")
    async with client_for(app, account.headers) as c:
        yield c


@pytest.fixture
async def admin_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An admin of the default school (``admin1``)."""
    account = await make_account(app, "admin1", admin=True)
    async with client_for(app, account.headers) as c:
        yield c


@pytest.fixture
async def anon_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client without credentials."""
    async with client_for(app) as c:
        yield c


@pytest.fixture
async def device_key(client: httpx.AsyncClient) -> str:
    """A device key created by ``client`` (the local admin) over the API."""
    r = await client.post("/api/v1/devices", json={"name": "staff-room copier"})
    assert r.status_code == 201, r.text
    key: str = r.json()["key"]
    return key


@pytest.fixture
async def device_client(app: FastAPI, device_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A copier using ``teacher1``'s device key as a Bearer token."""
    async with client_for(app, {"Authorization": f"Bearer {device_key}"}) as c:
        yield c


@pytest.fixture(scope="session")
def sample_bank() -> dict[str, Any]:
    return json.loads((SAMPLES / "question_bank.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def sample_roster() -> bytes:
    return (SAMPLES / "class_roster.csv").read_bytes()


@pytest.fixture
def tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path
