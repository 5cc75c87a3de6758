"""The data generation: one number that changes whenever what a teacher reads may change.

A class's results, roster and progress are costly to build (a class of 200 is a few
thousand answers) and are read far more often than they change. A web process may keep an
answer it built (:mod:`service.api.read_cache`) and serve it again while the database's
generation is still the one it was built at; every transaction that wrote to a table such
a read depends on adds one to ``data_generation.n`` just before it commits, in the same
transaction, so the count and the data always change together, for every process on the
database.

It is done at the connection, not in the ORM: every write is seen, whether it came from a
flush, a bulk ``update()``, a ``text()`` statement or a raw connection. A write to a table
in :data:`UNTRACKED` (job progress, uploads, the audit log, sessions, device check-ins,
webhook and deletion queues) changes nothing a cached read shows, and does not count: a job
storing its progress every page would otherwise end every cached answer at once. A table
not listed counts, so a new table is safe by default.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["UNTRACKED", "count_generations", "current_generation"]

UNTRACKED = frozenset({
    "jobs", "scan_uploads", "audit_events", "revoked_sessions", "device_keys",
    "webhook_deliveries", "file_deletions", "image_expiry", "installation",
    "data_generation"})
_WRITE = re.compile(r'\s*(?:insert\s+(?:or\s+\w+\s+)?into|update|delete\s+from|replace\s+into)'
                    r'\s+"?(\w+)', re.IGNORECASE)
_BUMP = "UPDATE data_generation SET n = n + 1 WHERE id = 1"
# Whether the table is there (a database made without the migrations, or one not yet
# migrated, has none: its writes must still commit). Asked without an error, which on
# PostgreSQL would end the transaction.
_EXISTS = {"sqlite": "SELECT 1 FROM sqlite_master WHERE type = 'table' "
                     "AND name = 'data_generation'",
           "postgresql": "SELECT to_regclass('data_generation') IS NOT NULL"}


def changed_table(statement: str) -> str | None:
    """The table a write statement changes, or None for anything else."""
    found = _WRITE.match(statement)
    return found.group(1).lower() if found else None


def count_generations(engine: Engine) -> None:
    """Make every committed transaction of ``engine`` (an async engine's sync side) that
    wrote to a tracked table add one to the data generation."""
    dialect = engine.dialect
    # The driver connections whose open transaction wrote to a tracked table. (The
    # dialect is handed the pool's proxy of a connection, the events the connection
    # itself: both name the same driver connection.)
    changed: set[int] = set()
    found = False  # the table exists (once seen, it stays)

    def _key(connection: Any) -> int:
        return id(getattr(connection, "dbapi_connection", connection))

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any,
                _many: bool) -> None:
        table = changed_table(statement)
        if table is not None and table not in UNTRACKED:
            changed.add(_key(conn.connection))

    commit, rollback = dialect.do_commit, dialect.do_rollback

    def _commit(dbapi_connection: Any) -> None:
        nonlocal found
        key = _key(dbapi_connection)
        if key in changed:
            changed.discard(key)
            cursor = dbapi_connection.cursor()
            try:
                if not found:
                    cursor.execute(_EXISTS.get(dialect.name, _EXISTS["postgresql"]))
                    row = cursor.fetchone()
                    found = bool(row and row[0])
                if found:
                    cursor.execute(_BUMP)
            finally:
                cursor.close()
        commit(dbapi_connection)

    def _rollback(dbapi_connection: Any) -> None:
        changed.discard(_key(dbapi_connection))
        rollback(dbapi_connection)

    @event.listens_for(engine, "close")
    def _closed(dbapi_connection: Any, _record: Any) -> None:
        changed.discard(_key(dbapi_connection))

    dialect.do_commit = _commit  # type: ignore[method-assign]
    dialect.do_rollback = _rollback  # type: ignore[method-assign]


async def current_generation(session: AsyncSession) -> int | None:
    """The data generation now (read first: an answer built after it can only be newer);
    None when the row is missing (a database made without the migrations)."""
    row = (await session.execute(text("SELECT n FROM data_generation WHERE id = 1"))).first()
    return int(row[0]) if row is not None else None
