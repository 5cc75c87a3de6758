"""Migrations run up and down on real SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from anyio import to_thread
from sqlalchemy import inspect

from service.db import Base
from service.db.engine import create_engine
from service.db.migrate import current_revision, downgrade, head_revision, upgrade

EXPECTED_TABLES = {
    "schools", "teachers", "classes", "students", "knowledge_points", "questions",
    "question_revisions", "question_knowledge_points", "worksheets", "worksheet_items",
    "worksheet_copies", "scan_uploads", "pages", "responses", "grades", "jobs",
    "device_keys", "audit_events", "webhook_deliveries",
    "mastery_events", "mastery_states", "kp_params", "item_difficulty", "errorbook_entries",
    "error_attempts", "errorbooks", "practice_items", "student_links", "revoked_sessions",
    "erased_students", "file_deletions", "image_expiry", "installation", "template_blanks",
    "data_generation",
}


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    return names - {"alembic_version"}


async def _diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_up_down_up(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    await to_thread.run_sync(upgrade, url)
    assert await _tables(url) == EXPECTED_TABLES
    engine = create_engine(url)
    assert await current_revision(engine) == head_revision()
    await engine.dispose()
    # The migrated schema is exactly what the models declare.
    assert await _diff(url) == []
    await to_thread.run_sync(downgrade, url, "base")
    assert await _tables(url) == set()
    await to_thread.run_sync(upgrade, url)
    assert await _tables(url) == EXPECTED_TABLES
