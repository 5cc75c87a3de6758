"""A database error's message (and so every traceback logged) never carries the values."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.db.engine import create_engine


async def test_database_errors_do_not_show_the_statements_values(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as caught:
                await conn.execute(text("SELECT * FROM no_such_table WHERE name = :name"),
                                   {"name": "王小明"})
    finally:
        await engine.dispose()
    assert "王小明" not in str(caught.value)
    assert "hidden" in str(caught.value)
