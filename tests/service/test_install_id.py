"""The install id: made once per database by its migration, shared by every process that
opens the database, remade only if its row is lost."""

from __future__ import annotations

import re

import pytest
from anyio import to_thread
from sqlalchemy import delete

from service.db import InstallationRow
from service.db.engine import create_engine, make_session_factory
from service.db.migrate import upgrade
from service.install import install_id, new_install_id

_ID = re.compile(r"^[A-Z2-7]{6}$")


async def _read(url: str) -> str:
    # A fresh engine each time: another process opening the same database.
    engine = create_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            found = await install_id(session)
            await session.commit()
            return found
    finally:
        await engine.dispose()


def test_new_ids_are_short_base32_and_random() -> None:
    ids = {new_install_id() for _ in range(200)}
    assert all(_ID.match(i) for i in ids)
    assert len(ids) == 200


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_one_id_per_database_shared_by_every_process(
        backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    await to_thread.run_sync(upgrade, url)
    first = await _read(url)
    assert _ID.match(first)
    assert await _read(url) == first
    # Migrating again (every start does) keeps it.
    await to_thread.run_sync(upgrade, url)
    assert await _read(url) == first
    # A lost row is remade once, then stable.
    engine = create_engine(url)
    async with make_session_factory(engine)() as session:
        await session.execute(delete(InstallationRow))
        await session.commit()
    await engine.dispose()
    again = await _read(url)
    assert _ID.match(again)
    assert await _read(url) == again


async def test_another_database_is_another_install(sqlite_url: str) -> None:
    other = sqlite_url.replace("markbook.db", "other.db")
    await to_thread.run_sync(upgrade, sqlite_url)
    await to_thread.run_sync(upgrade, other)
    assert await _read(sqlite_url) != await _read(other)
