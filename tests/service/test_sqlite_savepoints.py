"""On SQLite a savepoint stays inside its unit of work (service.db.engine): one taken before
any write no longer begins the transaction itself, so releasing it commits nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db.engine import create_engine, make_session_factory


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'savepoints.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (v INTEGER)"))
    yield engine
    await engine.dispose()


def _committed(engine: AsyncEngine) -> list[int]:
    """What another connection sees: only committed rows."""
    database = engine.url.database
    assert database is not None
    with sqlite3.connect(database) as other:
        return [v for (v,) in other.execute("SELECT v FROM t ORDER BY v")]


async def test_a_released_savepoint_commits_only_with_its_unit_of_work(
        engine: AsyncEngine) -> None:
    factory = make_session_factory(engine)
    async with factory() as session:
        await session.execute(text("SELECT count(*) FROM t"))  # a read first, as requests do
        async with session.begin_nested():
            await session.execute(text("INSERT INTO t VALUES (1)"))
        assert _committed(engine) == []  # released, not committed
        await session.execute(text("INSERT INTO t VALUES (2)"))
        await session.rollback()
    assert _committed(engine) == []  # the whole unit of work rolled back, savepoint and all
    async with factory() as session:
        async with session.begin_nested():
            await session.execute(text("INSERT INTO t VALUES (3)"))
        await session.commit()
    assert _committed(engine) == [3]


async def test_a_savepoint_rolled_back_keeps_the_rest(engine: AsyncEngine) -> None:
    factory = make_session_factory(engine)
    async with factory() as session:

        async def lose_a_race() -> None:
            async with session.begin_nested():
                await session.execute(text("INSERT INTO t VALUES (1)"))
                raise ValueError("lost a race")

        with pytest.raises(ValueError, match="lost a race"):
            await lose_a_race()
        await session.execute(text("INSERT INTO t VALUES (2)"))
        await session.commit()
    assert _committed(engine) == [2]
