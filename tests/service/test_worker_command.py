"""``markbook worker`` on the embedded backend: a web process that runs no jobs, and a
separate runner that claims them from the shared database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from service.config import Settings
from service.jobs.standalone import run_standalone
from tests.support.scans import class_and_sheet, scanned_stack, wait_job


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},  # type: ignore[arg-type]
                    jobs={"run_in_app": False, "executor": "thread", "workers": 1,
                          "poll_seconds": 0.2})


async def test_a_separate_worker_grades_what_the_web_process_queued(
        client: httpx.AsyncClient, settings: Settings) -> None:
    sheet = await class_and_sheet(client, students=2, questions=4)
    stack = await scanned_stack(client, sheet, real=False)
    r = await client.post("/api/v1/scans", content=stack.pdf,
                          headers={"content-type": "application/pdf"})
    job_id = r.json()["job_id"]
    await asyncio.sleep(1.0)
    queued = (await client.get(f"/api/v1/jobs/{job_id}")).json()
    assert queued["status"] == "queued"  # the web process leaves it to the workers
    stop = asyncio.Event()
    worker = asyncio.create_task(run_standalone(settings, stop))
    try:
        job = await wait_job(client, job_id, limit_s=120)
    finally:
        stop.set()
        await worker
    assert job["status"] == "done", job
    assert job["pages_done"] == job["pages_total"]
