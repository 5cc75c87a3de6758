"""Page workers yield the CPU to requests: spawned workers run in Linux's ``SCHED_IDLE``
class (``MARKBOOK_JOBS__WORKER_IDLE_CLASS``, on by default), every thread of them, models'
threads included; the web process and thread-mode workers stay in the normal class."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from service.config import Settings
from service.jobs.pagepool import PagePool
from service.jobs.pagework import enter_idle_class, init_worker
from service.jobs.runner import InProcessRunner
from service.storage import LocalStorage

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="SCHED_IDLE is Linux's")


def _policies(pid: int) -> dict[int, int]:
    """Each thread of ``pid``: its scheduling policy (``/proc``'s ``stat`` field 41)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        out[int(task.name)] = int(fields[38])
    return out


def test_a_runners_workers_and_all_their_threads_are_idle_class(tmp_path: Path) -> None:
    """The real models in a real worker: onnxruntime's threads, started after the class
    was set, are in it too; the process that started the pool is not."""
    settings = Settings(data_dir=tmp_path / "var",
                        jobs={"executor": "process", "workers": 1})
    runner = InProcessRunner(settings, async_sessionmaker(), LocalStorage(tmp_path / "f"))
    pool = runner.page_pool()
    assert isinstance(pool, PagePool)
    try:
        pool.warm()
        (pid,) = pool._workers
        threads = _policies(pid)
        assert len(threads) > 1  # the models' threads, not only the main one
        assert set(threads.values()) == {os.SCHED_IDLE}
        assert os.getpriority(os.PRIO_PROCESS, pid) >= 5  # the nice value still applies
        assert set(_policies(os.getpid()).values()) == {os.SCHED_OTHER}
    finally:
        pool.shutdown(wait=True)


def _stub_worker(idle: bool) -> None:
    init_worker("a stub recogniser", 0, None, None, idle)


def test_workers_stay_in_the_normal_class_when_it_is_off(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var",
                        jobs={"executor": "process", "worker_idle_class": False})
    runner = InProcessRunner(settings, async_sessionmaker(), LocalStorage(tmp_path / "f"))
    assert runner._worker_args()[-1] is False
    pool = PagePool(1, initializer=_stub_worker, initargs=(False,))
    try:
        pool.warm()
        (pid,) = pool._workers
        assert set(_policies(pid).values()) == {os.SCHED_OTHER}
    finally:
        pool.shutdown(wait=True)


def test_thread_mode_workers_leave_the_process_in_the_normal_class(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread-mode worker shares the web process: the class is per process here, so
    ``init_worker`` without ``idle_class`` (as the thread pool calls it) leaves it."""
    from concurrent.futures import ThreadPoolExecutor

    from service.jobs import pagework

    monkeypatch.setattr(pagework, "_state", None)  # this process's worker state, restored
    with ThreadPoolExecutor(1, initializer=init_worker, initargs=("a stub recogniser",)) as pool:
        assert pool.submit(os.sched_getscheduler, 0).result() == os.SCHED_OTHER
    assert set(_policies(os.getpid()).values()) == {os.SCHED_OTHER}


def _idle_then_start_a_thread() -> tuple[bool, list[int], int]:
    entered = enter_idle_class()
    later: list[int] = []
    thread = threading.Thread(target=lambda: later.append(os.sched_getscheduler(0)))
    thread.start()
    thread.join()
    return entered, sorted(set(_policies(os.getpid()).values())), later[0]


def test_every_thread_of_the_process_enters_it_and_later_threads_inherit_it() -> None:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        entered, now, later = pool.submit(_idle_then_start_a_thread).result()
    assert entered
    assert now == [os.SCHED_IDLE]  # threads started before it (on import) too
    assert later == os.SCHED_IDLE
