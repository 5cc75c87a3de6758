"""Async engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from service.db.generation import count_generations
from service.db.sqlite_inline import connector
from service.db.sqlite_writes import queue_sqlite_writers

__all__ = ["create_engine", "make_session_factory", "open_pool", "ping", "sqlite_file"]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # Foreign keys are off by default in SQLite; WAL lets readers run beside one writer.
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _savepoints_nest(engine: Engine) -> None:
    """Open a transaction before a savepoint that would otherwise begin one.

    The ``sqlite3`` module begins a transaction only before a write statement, so a
    savepoint taken before any write of a unit of work would begin the transaction itself,
    and releasing it would commit everything so far, apart from the rest of the unit of
    work (which could then roll back alone).
    """
    @event.listens_for(engine, "savepoint")
    def _savepoint(conn: Any, _name: str) -> None:
        dbapi = conn.connection.dbapi_connection
        driver = getattr(getattr(dbapi, "_connection", None), "_connection", None)
        if isinstance(driver, sqlite3.Connection) and not driver.in_transaction:
            cursor = dbapi.cursor()
            try:
                cursor.execute("BEGIN")
            finally:
                cursor.close()


def create_engine(url: str, *, echo: bool = False, pool_size: int = 15, max_overflow: int = 0,
                  pool_timeout_s: float = 30.0) -> AsyncEngine:
    """Create the async engine; for SQLite also create the file's folder and set pragmas.

    Args:
        url: an async SQLAlchemy URL (``sqlite+aiosqlite:///...`` or ``postgresql+asyncpg://...``).
        echo: log SQL.
        pool_size: connections kept open (PostgreSQL; SQLite keeps ``pool_size +
            max_overflow``). Kept rather than opened per burst: a PostgreSQL connection
            opened and closed again costs a forked backend each time.
        max_overflow: connections beyond ``pool_size`` opened under a burst and closed
            after it (PostgreSQL; SQLite keeps them open).
        pool_timeout_s: the wait for a free connection before ``sqlalchemy.exc.TimeoutError``
            (answered 503 ``busy`` by the app).

    Returns:
        The engine; dispose of it on shutdown. Statement parameters (children's names,
        answers) never appear in its error messages or logs (``hide_parameters``). Its
        committed writes count in the data generation (``service.db.generation``). A
        SQLite file's reads run on the calling thread (``service.db.sqlite_inline``).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        options: dict[str, Any] = {}
        database = sqlite_file(url)
        if database is not None:
            # Every connection the pool may open is kept: a SQLite connection costs no
            # server process, only a file handle, a thread and its page cache, while
            # opening one (a thread, the files, the schema read) cost a burst of uploads
            # more than their statements did when the overflow was opened and closed with
            # every burst. (An in-memory database has one connection.)
            options.update(pool_size=pool_size + max_overflow, max_overflow=0)
            database.parent.mkdir(parents=True, exist_ok=True)
            if not parsed.query:  # a plain file: its reads run on the event loop
                options["async_creator"] = connector(database, timeout=30)
        engine = _create_async_engine(url, echo=echo, connect_args={"timeout": 30},
                                      hide_parameters=True, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        queue_sqlite_writers(engine.sync_engine, database)
        _savepoints_nest(engine.sync_engine)
    else:
        engine = _create_async_engine(url, echo=echo, pool_size=pool_size,
                                      max_overflow=max_overflow, pool_timeout=pool_timeout_s,
                                      pool_pre_ping=True, hide_parameters=True)
    # Wrapped after the SQLite writers' queue: the count goes up inside the transaction,
    # before the commit that releases the queue.
    count_generations(engine.sync_engine)
    return engine


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database \
            or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (``expire_on_commit=False``)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def ping(engine: AsyncEngine) -> None:
    """Round-trip a trivial query; raises whatever the driver raises when the database is
    unreachable (the readiness probe turns any error into "not ready")."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def open_pool(engine: AsyncEngine) -> int:
    """Open every connection the pool keeps, one after the other, before the first request.

    A pool opens its connections as requests first need them, so a burst of uploads right
    after start-up (the first bell of the day) paid for opening a dozen: on SQLite each is
    a thread, the files and the schema read, on PostgreSQL a server process's start.

    Returns:
        How many were opened (the pool's size; an in-memory SQLite database has one).
    """
    size = engine.pool.size() if hasattr(engine.pool, "size") else 1
    held: list[Any] = []
    try:
        for _ in range(size):
            held.append(await engine.connect())
        for conn in held:
            await conn.execute(text("SELECT 1"))
    finally:
        for conn in held:
            await conn.close()
    return len(held)
