"""The short form of ``drills.ingest_fuzz``: damaged scans uploaded through the API are
refused with a 4xx or become typed job problems, never a 5xx or ``internal_error``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from drills.ingest_fuzz import fuzz_uploads
from service.config import Settings


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},  # type: ignore[arg-type]
                    jobs={"executor": "thread", "workers": 1, "poll_seconds": 0.2},
                    limits={"uploads_per_minute": 10_000})


async def test_damaged_uploads_are_typed_problems(client: httpx.AsyncClient) -> None:
    report = await fuzz_uploads(client, files=40, seed=3)
    assert report.errors == [], "\n".join(report.errors[:10])
    assert sum(report.uploads.values()) == 40
    assert report.uploads[202] > 0  # some damage is only found by the job
    assert report.jobs["failed"] + report.jobs["partially_done"] > 0
