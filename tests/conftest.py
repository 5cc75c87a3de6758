"""Shared fixtures: real SQLite and real PostgreSQL databases, the real app, sample data.

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
from sqlalchemy.engine import make_url

from service.app import create_app
from service.config import Settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_scans"
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
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound to the real app (lifespan run: migrations, bootstrap)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


@pytest.fixture(scope="session")
def sample_bank() -> dict[str, Any]:
    return json.loads((SAMPLES / "question_bank.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def sample_roster() -> bytes:
    return (SAMPLES / "class_roster.csv").read_bytes()


@pytest.fixture
def tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path
