"""The crash rule with real page worker processes: the pool says which worker died, how,
and what it was reading; a crash (segfault, abort, exit) is charged to that page and
skips it after two, a kill from outside (SIGKILL) weighs half, the pool's own clean-up and
the pages waiting beside it are charged nothing."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from service.config import Settings
from service.db import JobRow
from service.inprocess import inprocess_client
from service.jobs import runner as runner_module
from service.jobs.pagepool import PagePool
from service.jobs.recovery import (
    IDLE,
    MAX_PAGE_CRASHES,
    MAX_PAGE_KILLS,
    MAX_POOL_BREAKS,
    POOL_KILL_BACKOFF_MAX_S,
    STARTING,
    WorkerDeath,
    charge_crash,
    page_spent,
    restart_delay,
)
from service.jobs.runner import InProcessRunner
from tests.support.page_faults import fault_then_read, fault_value
from tests.support.scans import class_and_sheet, scanned_stack

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="signals and exit codes of Linux processes")

SEGV, ABRT, KILL, TERM = (-int(s) for s in (signal.SIGSEGV, signal.SIGABRT, signal.SIGKILL,
                                              signal.SIGTERM))


# -- the rule itself ---------------------------------------------------------------------

def _job(**payload: Any) -> JobRow:
    return JobRow(payload={"upload_id": 1, **payload}, pages_done=0)


def test_weights_and_bounds() -> None:
    assert not page_spent(1, 0)
    assert page_spent(MAX_PAGE_CRASHES, 0)
    assert not page_spent(0, MAX_PAGE_KILLS - 1)
    assert page_spent(0, MAX_PAGE_KILLS)
    assert not page_spent(1, 1)
    assert page_spent(1, 2)  # a crash weighs two kills


def test_only_the_dead_workers_page_is_charged_and_by_how_it_died() -> None:
    job = _job()
    # Page 7 crashed its worker; page 8's worker was stopped by the pool's clean-up; pages
    # 9 and 10 were only waiting: nothing for them.
    give_up = charge_crash(job, frozenset({7, 8, 9, 10}),
                           [WorkerDeath(100, SEGV, 7), WorkerDeath(101, TERM, 8)])
    assert not give_up
    assert job.payload["page_crashes"] == {"7": 1}
    assert "page_kills" not in job.payload
    charge_crash(job, frozenset({7, 3}), [WorkerDeath(102, KILL, 3),
                                          WorkerDeath(103, TERM, 7)])
    assert job.payload["page_crashes"] == {"7": 1}
    assert job.payload["page_kills"] == {"3": 1}
    assert "pool_breaks" not in job.payload
    assert "pool_kills" not in job.payload


def test_when_the_pool_cannot_say_every_page_in_flight_is_charged_a_crash() -> None:
    job = _job()
    charge_crash(job, frozenset({1, 2}))
    assert job.payload["page_crashes"] == {"1": 1, "2": 1}


def test_crashes_with_no_page_end_the_job_kills_only_delay_it() -> None:
    job = _job()
    delays = []
    for n in range(1, 12):  # kills while starting never fail the job...
        assert not charge_crash(job, frozenset({4}), [WorkerDeath(n, KILL, STARTING)])
        delays.append(restart_delay(job))
    # ... but each one with no page stored since doubles the wait before the next start.
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0]
    assert delays[-1] == POOL_KILL_BACKOFF_MAX_S
    assert job.payload["pool_kills"] == 11
    assert "page_crashes" not in job.payload  # the pages waiting are not charged
    job.pages_done = 1  # a page stored: no wait, and the count starts afresh
    assert restart_delay(job) == 0.0
    assert not charge_crash(job, frozenset(), [WorkerDeath(99, KILL, IDLE)])
    assert job.payload["pool_kills"] == 1
    assert restart_delay(job) == 1.0
    crashing = _job()
    results = [charge_crash(crashing, frozenset(), [WorkerDeath(n, ABRT, STARTING)])
               for n in range(MAX_POOL_BREAKS)]
    assert results == [False] * (MAX_POOL_BREAKS - 1) + [True]
    assert "page_crashes" not in crashing.payload
    assert restart_delay(crashing) == 0.0


# -- the pool: real processes ------------------------------------------------------------

def _break(pool: PagePool, fn: Any, pages: int = 6) -> dict[int, Any]:
    futures = {i: pool.submit_page(i, fn, i) for i in range(pages)}
    out: dict[int, Any] = {}
    for i, fut in futures.items():
        try:
            out[i] = fut.result(timeout=60)
        except BrokenProcessPool as exc:
            out[i] = exc
    pool.shutdown()
    return out


@pytest.mark.parametrize(("how", "code"), [("segv", SEGV), ("abort", ABRT), ("exit", 3)])
def test_the_pool_names_a_crashing_page_and_how_it_crashed(how: str, code: int) -> None:
    pool = PagePool(2)
    out = _break(pool, functools.partial(fault_value, bad=3, how=how))
    assert isinstance(out[3], BrokenProcessPool)
    dead = [d for d in pool.deaths() if d.how != "stopped"]
    assert dead == [WorkerDeath(dead[0].pid, code, 3)]
    assert dead[0].how == "crashed"
    assert not pool.notes.exists()  # the notes go with the pool


def test_the_pool_names_a_page_whose_worker_was_killed(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    pool = PagePool(2)
    futures = [pool.submit_page(i, functools.partial(fault_value, bad=2, how="wait",
                                                     marker=str(marker)), i)
               for i in range(4)]
    deadline = time.monotonic() + 60
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(int(marker.read_text()), signal.SIGKILL)
    with pytest.raises(BrokenProcessPool):
        futures[2].result(timeout=60)
    pool.shutdown()
    dead = [d for d in pool.deaths() if d.how != "stopped"]
    assert [(d.how, d.page) for d in dead] == [("killed", 2)]


def test_a_worker_killed_while_idle_names_no_page() -> None:
    pool = PagePool(1)
    assert pool.submit_page(0, fault_value, 0, -1, "segv").result(timeout=60) == 0
    (pid,) = list(pool._workers)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not pool.deaths():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    pool.shutdown()
    assert [(d.how, d.page) for d in pool.deaths()] == [("killed", IDLE)]


# -- the runner: a real job, a real pool, one faulty page ---------------------------------

def _settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},
                    jobs={"executor": "process", "workers": 2, "run_in_app": False,
                          "lease_seconds": 30.0}, webhooks={"enabled": False})


async def _run_job(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, how: str,
                   times: int) -> tuple[dict[str, Any], int, JobRow, int]:
    """Upload a stack, make page 1 fault ``times`` times (``wait``: killed by us), run the
    runner until idle; returns the job, the number of runs, the row and the page count."""
    marker = str(tmp_path / "fault")
    monkeypatch.setattr(runner_module, "process_page", functools.partial(
        fault_then_read, bad=1, how=how, marker=marker, times=times))
    settings = _settings(tmp_path, db_url)
    async with inprocess_client(settings) as api:
        sheet = await class_and_sheet(api, students=3, questions=3)
        stack = await scanned_stack(api, sheet, real=False)
        r = await api.post("/api/v1/scans", content=stack.pdf,
                           headers={"content-type": "application/pdf"})
        job_id = r.json()["job_id"]
        app = api._transport.app  # type: ignore[attr-defined]
        runner = InProcessRunner(settings, app.state.session_factory, app.state.storage)

        def kill_waiting() -> None:
            pid_file = Path(marker)
            if pid_file.exists() and pid_file.read_text():
                pid = int(pid_file.read_text())
                pid_file.unlink()
                os.kill(pid, signal.SIGKILL)

        async def killer() -> None:  # the drill, or the OOM killer
            while True:
                await asyncio.to_thread(kill_waiting)
                await asyncio.sleep(0.05)

        kills = asyncio.create_task(killer())
        runs = 0
        try:
            while runs < 10 and await runner._loop_once_for_tests():
                runs += 1
        finally:
            kills.cancel()
            await runner.stop()
        job = (await api.get(f"/api/v1/jobs/{job_id}")).json()
        async with app.state.session_factory() as s:
            row = await s.get(JobRow, job_id)
            assert row is not None
    return job, runs, row, len(stack.pages)


async def test_a_page_that_segfaults_every_time_is_skipped_after_two(
        tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    job, runs, row, n_pages = await _run_job(tmp_path, db_url, monkeypatch, "segv", 1_000)
    assert runs == MAX_PAGE_CRASHES + 1  # two crashes, then the rest is read without it
    assert job["status"] == "partially_done", job
    assert job["pages_done"] == n_pages - 1
    assert [p["page_index"] for p in job["problems"] if p["status"] == "worker_crash"] == [1]
    assert row.payload["page_crashes"] == {"1": MAX_PAGE_CRASHES}  # nothing else charged


async def test_a_page_killed_from_outside_twice_is_read_the_third_time(
        tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two SIGKILLs of its reader would have skipped the page under a rule that cannot tell
    # a kill from a crash; a kill weighs half a crash, so it is read and the job is done.
    job, runs, row, n_pages = await _run_job(tmp_path, db_url, monkeypatch, "wait", 2)
    assert runs == 3
    assert job["status"] == "done", job
    assert job["pages_done"] == n_pages
    assert job["problems"] == []
    assert row.payload["page_kills"] == {"1": 2}
    assert "page_crashes" not in row.payload


async def test_a_page_whose_reader_is_killed_every_time_is_still_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'kills.db'}"
    job, runs, row, n_pages = await _run_job(tmp_path, db_url, monkeypatch, "wait", 1_000)
    assert runs == MAX_PAGE_KILLS + 1  # bounded: the OOM killer's poison page ends too
    assert job["status"] == "partially_done", job
    assert job["pages_done"] == n_pages - 1
    assert [p["page_index"] for p in job["problems"] if p["status"] == "worker_crash"] == [1]
    assert row.payload["page_kills"] == {"1": MAX_PAGE_KILLS}


def test_notes_of_a_killed_service_are_swept(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f"markbook-pages-{gone}-abc"
    stale.mkdir()
    (stale / "123").write_bytes(b"\0" * 8)
    live = tmp_path / f"markbook-pages-{os.getpid()}-def"
    live.mkdir()
    pool = PagePool(1)
    try:
        assert not stale.exists()  # its service is gone: nobody else would remove it
        assert live.exists()  # a pool of a running service is left alone
        assert pool.notes.parent == tmp_path
    finally:
        pool.shutdown()
    assert not pool.notes.exists()
