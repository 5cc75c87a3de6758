"""Page workers started, and their models loaded, when the runner starts rather than at the
first job (``InProcessRunner.start(warm=True)``, ``PagePool.warm``)."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from service.config import Settings
from service.jobs.pagepool import PagePool
from service.jobs.runner import InProcessRunner
from service.storage import LocalStorage


def _note_start(folder: str) -> None:
    """A worker's initializer: leave a file named by its pid."""
    (Path(folder) / str(os.getpid())).touch()


def _fail_start() -> None:
    raise RuntimeError("the models cannot be loaded")


def test_warm_starts_every_worker_and_waits_for_its_initializer(tmp_path: Path) -> None:
    pool = PagePool(2, initializer=_note_start, initargs=(str(tmp_path),))
    try:
        pool.warm()
        started = {int(p.name) for p in tmp_path.iterdir()}
        assert len(started) == 2  # both workers, before any page was sent
        assert started == set(pool._workers)
        # A page now goes to a worker already started: no third process.
        assert pool.submit(os.getpid).result() in started
        assert {int(p.name) for p in tmp_path.iterdir()} == started
    finally:
        pool.shutdown(wait=True)


def test_warm_says_when_a_worker_dies_starting() -> None:
    pool = PagePool(1, initializer=_fail_start)
    try:
        with pytest.raises(BrokenProcessPool):
            pool.warm()
    finally:
        pool.shutdown(wait=True)


async def test_a_warmed_runner_has_its_workers_before_any_job(tmp_path: Path) -> None:
    """The real models, in real worker processes, loaded at start: the pool is up and its
    workers are alive while no job has been claimed."""
    settings = Settings(data_dir=tmp_path / "var",  # type: ignore[arg-type]
                        jobs={"executor": "process", "workers": 2, "poll_seconds": 60})
    factory: async_sessionmaker = async_sessionmaker()  # never used: no job is claimed
    runner = InProcessRunner(settings, factory, LocalStorage(tmp_path / "files"))
    runner._loop = asyncio.Event().wait  # type: ignore[method-assign]  # claims nothing
    await runner.start(warm=True)
    try:
        assert runner._warming is not None
        await asyncio.wait_for(asyncio.shield(runner._warming), 300)
        pool = runner.executor
        assert isinstance(pool, PagePool)
        workers = pool._workers
        assert len(workers) == 2
        assert all(p.is_alive() for p in workers.values())
    finally:
        await runner.stop()
    assert all(not p.is_alive() for p in workers.values())  # stopped with the runner


async def test_an_unwarmed_runner_starts_no_worker(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var",  # type: ignore[arg-type]
                        jobs={"executor": "process", "workers": 2, "poll_seconds": 60})
    runner = InProcessRunner(settings, async_sessionmaker(), LocalStorage(tmp_path / "files"))
    runner._loop = asyncio.Event().wait  # type: ignore[method-assign]
    await runner.start()
    try:
        await asyncio.sleep(0.2)
        assert runner.executor is None  # the pool is made by the first job
    finally:
        await runner.stop()


def test_a_celery_worker_starts_its_page_workers_as_it_starts(tmp_path: Path) -> None:
    from service.jobs import celery_backend

    settings = Settings(data_dir=tmp_path / "var",  # type: ignore[arg-type]
                        jobs={"executor": "process", "workers": 2})
    thread = celery_backend.start_page_pool(settings)
    pool = celery_backend._executor
    try:
        assert thread is not None
        assert isinstance(pool, PagePool)
        thread.join(300)
        assert not thread.is_alive()
        assert celery_backend._executor is pool  # kept for the first job
        assert len(pool._workers) == 2
        assert all(p.is_alive() for p in pool._workers.values())
    finally:
        celery_backend._executor = None
        if pool is not None:
            pool.shutdown(wait=True)


def test_a_celery_worker_on_threads_starts_no_pool(tmp_path: Path) -> None:
    from service.jobs import celery_backend

    settings = Settings(data_dir=tmp_path / "var",  # type: ignore[arg-type]
                        jobs={"executor": "thread", "workers": 1})
    assert celery_backend.start_page_pool(settings) is None
    assert celery_backend._executor is None
