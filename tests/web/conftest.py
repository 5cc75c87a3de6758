"""Fixtures shared by the page tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import Settings


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """The app's settings for page tests: no job runner (uploaded jobs stay queued and the
    tests set their state) and no webhook delivery loop (the tests look at what is stored)."""
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},  # type: ignore[arg-type]
                    jobs={"run_in_app": False}, webhooks={"enabled": False})
