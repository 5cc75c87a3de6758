"""SQLite writers queue in the process (service.db.sqlite_writes) instead of sleeping in
SQLite's busy handler.

The engines here set ``busy_timeout`` to 0, so a writer that finds SQLite's write lock taken
fails at once with "database is locked" instead of sleeping: a writer that never fails has
never met another one inside SQLite, which is what the queue is for.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.db import sqlite_writes
from service.db.engine import create_engine, make_session_factory


def _no_busy_wait(engine: AsyncEngine) -> AsyncEngine:
    def _pragma(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=0")
        cur.close()

    event.listen(engine.sync_engine, "connect", _pragma)
    return engine


async def _table(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))


async def _writers(engine: AsyncEngine, n: int) -> list[BaseException | None]:
    """``n`` concurrent transactions, each writing, awaiting something else, writing again
    and committing (an upload's shape: its rows, an audit entry, the commit)."""
    factory = make_session_factory(engine)

    async def one(i: int) -> None:
        async with factory() as session:
            await session.execute(text("SELECT count(*) FROM t"))
            await session.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": f"a{i}"})
            await asyncio.sleep(0.005)
            await session.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": f"b{i}"})
            await session.commit()

    return list(await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True))


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM t"))).scalar_one())


async def test_without_the_queue_concurrent_writers_meet_in_sqlite(tmp_path: Path) -> None:
    # The control: the same engine without the queue (what create_engine made before).
    engine = _no_busy_wait(create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'raw.db'}"))
    try:
        await _table(engine)
        outcomes = await _writers(engine, 20)
        assert any(isinstance(o, OperationalError) and "locked" in str(o) for o in outcomes)
    finally:
        await engine.dispose()


async def test_queued_writers_never_meet_in_sqlite_and_all_commit(tmp_path: Path) -> None:
    engine = _no_busy_wait(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}"))
    try:
        await _table(engine)
        for _ in range(3):
            outcomes = await _writers(engine, 20)
            assert outcomes == [None] * 20
        assert await _count(engine) == 3 * 20 * 2
    finally:
        await engine.dispose()


async def test_a_cancelled_writer_frees_the_queue(tmp_path: Path) -> None:
    engine = _no_busy_wait(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"))
    factory = make_session_factory(engine)
    holding = asyncio.Event()

    async def stuck() -> None:
        async with factory() as session:
            await session.execute(text("INSERT INTO t (v) VALUES ('lost')"))
            holding.set()
            await asyncio.sleep(3600)

    try:
        await _table(engine)
        task = asyncio.create_task(stuck())
        await holding.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Rolled back and released: the next writers neither wait for ever nor meet a lock.
        assert await asyncio.wait_for(_writers(engine, 5), 30) == [None] * 5
        assert await _count(engine) == 10
    finally:
        await engine.dispose()


async def test_a_task_writing_on_two_connections_does_not_wait_for_itself(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Queued on its own lock it would wait WAIT_S and only then meet SQLite's lock; it
    # must go straight on to SQLite, which refuses at once (busy_timeout 0).
    monkeypatch.setattr(sqlite_writes, "WAIT_S", 600.0)
    engine = _no_busy_wait(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"))
    factory = make_session_factory(engine)

    async def nested() -> None:
        async with factory() as first, factory() as second:
            await first.execute(text("INSERT INTO t (v) VALUES ('first')"))
            await second.execute(text("INSERT INTO t (v) VALUES ('second')"))

    try:
        await _table(engine)
        with pytest.raises(OperationalError, match="locked"):
            await asyncio.wait_for(nested(), 30)
        assert await asyncio.wait_for(_writers(engine, 3), 30) == [None] * 3
    finally:
        await engine.dispose()
