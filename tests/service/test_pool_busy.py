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
