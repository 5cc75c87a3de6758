"""What a web process makes ready before it says so (``service.warmup``,
``service.db.engine.open_pool``): the first burst after a start should not pay for it."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from service.db.engine import create_engine, open_pool
from service.warmup import warm_routes


async def test_the_pool_is_open_when_the_app_is_ready(app: FastAPI) -> None:
    pool = app.state.engine.pool
    # Every connection the pool keeps was opened at start-up (the app's background tasks,
    # the job runner's among them, may be using some of them right now).
    assert pool.size() >= 5
    assert pool.checkedin() + pool.checkedout() >= pool.size()


async def test_open_pool_opens_as_many_as_the_pool_keeps(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url, pool_size=3, max_overflow=2)
    try:
        assert engine.pool.checkedin() == 0
        assert await open_pool(engine) == 5  # SQLite keeps its overflow open too
        assert engine.pool.checkedin() == 5
    finally:
        await engine.dispose()


async def test_open_pool_on_a_pool_without_a_size() -> None:
    engine = create_async_engine("sqlite+aiosqlite://")  # in memory: one connection
    try:
        assert await open_pool(engine) == 1
    finally:
        await engine.dispose()


async def test_the_warm_up_request_finds_nothing_and_changes_nothing(app: FastAPI) -> None:
    async with app.state.session_factory() as session:
        before = (await session.execute(text("SELECT count(*) FROM audit_events"))).scalar()
    assert await warm_routes(app) == 404
    async with app.state.session_factory() as session:
        after = (await session.execute(text("SELECT count(*) FROM audit_events"))).scalar()
    assert after == before
