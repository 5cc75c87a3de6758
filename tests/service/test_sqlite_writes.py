"""SQLite writers queue in the process (service.db.sqlite_writes) instead of sleeping in
SQLite's busy handler.

The engines here set ``busy_timeout`` to 0, so a writer that finds SQLite's write lock taken
fails at once with "database is locked" instead of sleeping: a writer that never fails has
never met another one inside SQLite, which is what the queue is for.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sys
import time
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


# Another markbook process on the same file: it begins a write, says so, and commits when
# told (a line on stdin).
_OTHER_PROCESS = """
import asyncio, sys
from sqlalchemy import text
from service.db.engine import create_engine, make_session_factory

async def main():
    engine = create_engine(sys.argv[1])
    async with make_session_factory(engine)() as session:
        await session.execute(text("INSERT INTO t (v) VALUES ('other')"))
        print("holding", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await session.commit()
    await engine.dispose()

asyncio.run(main())
"""


async def _other_process_writing(url: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _OTHER_PROCESS, url, cwd=Path(__file__).parents[2],
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    assert line.strip() == b"holding"
    return proc


async def _let_go(proc: asyncio.subprocess.Process) -> None:
    assert proc.stdin is not None
    proc.stdin.write(b"commit\n")
    await proc.stdin.drain()
    assert await asyncio.wait_for(proc.wait(), 60) == 0


async def test_a_writer_waits_for_another_process_instead_of_meeting_its_lock(
        tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    engine = _no_busy_wait(create_engine(url))
    try:
        await _table(engine)
        other = await _other_process_writing(url)
        mine = asyncio.create_task(_writers(engine, 3))
        await asyncio.sleep(0.5)
        assert not mine.done()  # queued behind the other process, not failed in SQLite
        started = time.monotonic()
        await _let_go(other)
        assert await asyncio.wait_for(mine, 30) == [None] * 3
        assert time.monotonic() - started < 5
        assert await _count(engine) == 1 + 3 * 2
        # Released: anyone may take the lock now.
        fd = os.open(tmp_path / "p.db-writers", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    finally:
        await engine.dispose()


async def test_a_writer_gives_up_queueing_behind_another_process_after_wait_s(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Past WAIT_S it goes on to SQLite, which refuses at once (busy_timeout 0); after the
    # other process commits, the abandoned wait leaves the lock free.
    monkeypatch.setattr(sqlite_writes, "WAIT_S", 0.3)
    url = f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"
    engine = _no_busy_wait(create_engine(url))
    try:
        await _table(engine)
        other = await _other_process_writing(url)
        outcomes = await asyncio.wait_for(_writers(engine, 1), 30)
        assert isinstance(outcomes[0], OperationalError)
        assert "locked" in str(outcomes[0])
        await _let_go(other)
        assert await asyncio.wait_for(_writers(engine, 2), 30) == [None] * 2
    finally:
        await engine.dispose()


async def test_a_writer_cancelled_while_another_process_writes_leaves_the_lock_free(
        tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    engine = _no_busy_wait(create_engine(url))
    try:
        await _table(engine)
        other = await _other_process_writing(url)
        waiting = asyncio.create_task(_writers(engine, 1))
        await asyncio.sleep(0.3)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await _let_go(other)
        assert await asyncio.wait_for(_writers(engine, 2), 30) == [None] * 2
        other = await _other_process_writing(url)  # the file lock is not kept by this one
        await _let_go(other)
    finally:
        await engine.dispose()
