"""SQLite reads run on the event loop's thread, and anything that can wait on the driver's
(service.db.sqlite_inline)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from service.db.engine import create_engine
from service.db.sqlite_inline import InlineReads, connector, runs_inline


def test_which_driver_calls_run_inline(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "rules.db")
    cur = conn.cursor()
    for call in (cur.fetchall, cur.fetchone, cur.fetchmany, cur.close, conn.cursor):
        assert runs_inline(call, ())
    assert runs_inline(cur.execute, ("SELECT 1",))
    assert runs_inline(cur.execute, ("  select id from t",))
    assert not runs_inline(cur.executemany, ("SELECT 1", []))
    for statement in ("INSERT INTO t VALUES (1)", "update t set v = 1", "DELETE FROM t"):
        assert not runs_inline(cur.execute, (statement,))  # may meet another's lock
        assert runs_inline(cur.execute, (statement,), writer=True)
    assert runs_inline(cur.executemany, ("INSERT INTO t VALUES (?)", []), writer=True)
    for statement in ("SAVEPOINT a", "RELEASE SAVEPOINT a", "PRAGMA journal_mode=WAL",
                      "WITH a AS (SELECT 1) DELETE FROM t", "BEGIN", "COMMIT"):
        assert not runs_inline(cur.execute, (statement,), writer=True)
    assert not runs_inline(conn.close, ())
    assert runs_inline(conn.commit, ())
    assert runs_inline(conn.rollback, ())
    conn.execute("CREATE TABLE t (v)")
    conn.execute("INSERT INTO t VALUES (1)")
    assert conn.in_transaction
    assert not runs_inline(conn.commit, ())
    assert not runs_inline(conn.rollback, ())
    conn.close()


async def test_reads_and_a_queued_writers_writes_run_on_the_loop(tmp_path: Path) -> None:
    """Reads, and the writes of a transaction holding the writers' lock that every markbook
    process queues on, run on the loop; commits on the driver's thread."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        seen: list[tuple[bool, str]] = []
        loop_thread = threading.get_ident()
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert isinstance(driver, InlineReads)
            # Not the generation's lookups, nor the busy timeout set around a first write.
            driver._conn.set_trace_callback(lambda sql: "sqlite_master" in sql
                                            or "data_generation" in sql
                                            or sql.startswith("PRAGMA") or seen.append(
                (threading.get_ident() == loop_thread, sql.split()[0])))
            await conn.execute(text("SELECT count(*) FROM t"))
            await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
            await conn.execute(text("INSERT INTO t (v) VALUES ('b')"))
            rows = (await conn.execute(text("SELECT v FROM t ORDER BY id"))).all()
            await conn.commit()
            await conn.execute(text("INSERT INTO t (v) VALUES ('c')"))  # a new transaction
            await conn.commit()
            driver._conn.set_trace_callback(None)
            busy_ms = (await conn.execute(text("PRAGMA busy_timeout"))).scalar()
        assert [r[0] for r in rows] == ["a", "b"]
        # (on the loop?, statement): each commit on the driver's thread (it syncs the log);
        # the implicit BEGIN goes with its first write.
        assert seen == [(True, "SELECT"), (True, "BEGIN"), (True, "INSERT"),
                        (True, "INSERT"), (True, "SELECT"), (False, "COMMIT"),
                        (True, "BEGIN"), (True, "INSERT"), (False, "COMMIT")]
        assert busy_ms == 10000  # put back after each first write tried without waiting
    finally:
        await engine.dispose()


async def test_a_write_waiting_for_another_process_leaves_the_loop_free(tmp_path: Path) -> None:
    """A connection outside markbook's writers' queue (the sqlite3 shell, say) holds the
    write lock: the write waits in SQLite's busy handler on the driver's thread while the
    event loop goes on answering."""
    path = tmp_path / "shell.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        shell = sqlite3.connect(path, isolation_level=None)
        shell.execute("BEGIN IMMEDIATE")
        asyncio.get_running_loop().call_later(0.5, shell.execute, "COMMIT")
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        started = time.monotonic()
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (v) VALUES ('after the shell')"))
        waited = time.monotonic() - started
        ticker.cancel()
        shell.close()
        assert waited >= 0.4  # it did wait for the shell's transaction
        assert ticks >= 10  # and the loop ran meanwhile (blocked, it would not tick at all)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT v FROM t"))).scalar() == "after the shell"
            # The first try, on the loop, gave up at once and put the busy timeout back.
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 10000
    finally:
        await engine.dispose()


async def test_a_call_whose_caller_went_away_is_waited_for(tmp_path: Path) -> None:
    """A request cancelled while its write waits on the driver's thread (its client went
    away) leaves that call running: the connection's next read must queue behind it on the
    thread, not use the ``sqlite3`` connection at the same time from the loop."""
    path = tmp_path / "cancelled.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE t (v)")
    setup.close()
    driver = await connector(path, timeout=10)()
    shell = sqlite3.connect(path, isolation_level=None)
    try:
        shell.execute("BEGIN IMMEDIATE")
        loop_thread = threading.get_ident()
        seen: list[tuple[bool, str]] = []
        driver._conn.set_trace_callback(
            lambda sql: seen.append((threading.get_ident() == loop_thread, sql.split()[0])))
        cursor = await driver.cursor()  # as SQLAlchemy reads: a cursor, then its execute
        write = asyncio.create_task(driver.execute("INSERT INTO t VALUES (1)"))
        await asyncio.sleep(0.2)  # the INSERT now sleeps in SQLite's busy handler
        write.cancel()
        read = asyncio.create_task(cursor.execute("SELECT count(*) FROM t"))
        await asyncio.sleep(0.2)
        assert not read.done()  # it waits for the INSERT, which waits for the shell
        shell.execute("COMMIT")
        await asyncio.wait_for(read, 5)
        assert (await cursor.fetchone()) == (1,)  # it saw the INSERT that went before it
        assert write.cancelled()
        assert seen == [(False, "BEGIN"), (False, "INSERT"), (False, "SELECT")]
    finally:
        shell.close()
        await driver.close()


@pytest.mark.parametrize("url", ["sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"])
async def test_an_in_memory_database_keeps_the_plain_driver(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert not isinstance(driver, InlineReads)
            assert (await conn.execute(text("SELECT 41 + 1"))).scalar() == 42
    finally:
        await engine.dispose()
