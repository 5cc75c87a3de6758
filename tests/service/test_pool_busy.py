"""A request that finds every database connection in use answers 503 ``busy`` with
Retry-After (it changed nothing and can be sent again), never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.app import create_app
from service.config import Settings

pytestmark = pytest.mark.postgres


async def test_an_exhausted_pool_answers_busy_then_recovers(tmp_path: Path, pg_url: str) -> None:
    from service.inprocess import local_token
    from tests.support.auth import client_for

    settings = Settings(data_dir=tmp_path / "var",  # type: ignore[arg-type]
                        db={"url": pg_url, "pool_size": 1, "max_overflow": 0,
                            "pool_timeout_s": 0.3})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        headers = {"Authorization": f"Bearer {await local_token(app)}"}
        async with client_for(app, headers) as client:
            assert (await client.get("/api/v1/classes")).status_code == 200
            async with app.state.engine.connect() as held:  # the only connection
                await held.exec_driver_sql("SELECT 1")
                r = await client.get("/api/v1/classes")
                assert r.status_code == 503, r.text
                assert r.json()["error"] == "busy"
                assert int(r.headers["Retry-After"]) > 0
                r = await client.post("/api/v1/classes", json={"name": "三班", "grade": 3})
                assert r.status_code == 503, r.text
            # Nothing was half-done: the refused class does not exist, and a retry works.
            r = await client.get("/api/v1/classes")
            assert r.status_code == 200
            assert all(c["name"] != "三班" for c in r.json())
            assert (await client.post("/api/v1/classes",
                                      json={"name": "三班", "grade": 3})).status_code == 201


async def test_a_burst_reuses_the_connections_the_last_one_opened(tmp_path: Path,
                                                                  pg_url: str) -> None:
    """With the default pool, the connections a burst opens are kept for the next one:
    each one opened and closed again is a PostgreSQL backend forked for it."""
    import asyncio

    from sqlalchemy import text

    settings = Settings(data_dir=tmp_path / "var", db={"url": pg_url})  # type: ignore[arg-type]
    app = create_app(settings)

    async def burst(n: int) -> set[int]:
        engine = app.state.engine
        holding: list[int] = []
        all_held, gate = asyncio.Event(), asyncio.Event()

        async def one() -> int:
            async with engine.connect() as conn:  # all n held at once
                pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                holding.append(pid)
                if len(holding) == n:
                    all_held.set()
                await gate.wait()
                return int(pid)

        tasks = [asyncio.create_task(one()) for _ in range(n)]
        await all_held.wait()
        gate.set()
        return set(await asyncio.gather(*tasks))

    async with app.router.lifespan_context(app):
        size = settings.db.pool_size + settings.db.max_overflow
        assert size >= 12
        first = await burst(12)
        second = await burst(12)
        assert len(first) == 12
        assert len(second) == 12
        # Every backend either burst used is one the pool keeps: none was opened for the
        # first burst, closed, and another opened for the second.
        kept = app.state.engine.pool.size()
        assert len(first | second) <= max(12, kept), "connections opened again per burst"
