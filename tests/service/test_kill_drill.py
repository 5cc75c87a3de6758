"""The short form of ``drills.kill_drill``: SIGKILL the page workers and the server while a
real ``markbook serve`` grades a stack; nothing is lost or graded twice."""

from __future__ import annotations

import sys

import pytest

from drills.kill_drill import run_drill

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="finds the page workers through /proc")


def test_killed_workers_and_server_lose_nothing() -> None:
    result = run_drill(40, worker_kills=3, server_kills=1, seed=2, server_first=True,
                       say=lambda _line: None)
    assert result.server_kills == 1
    assert result.worker_kills >= 1
    assert result.ok, result


def test_the_same_on_postgresql(pg_url: str) -> None:
    result = run_drill(40, worker_kills=3, server_kills=1, seed=3, server_first=True,
                       db_url=pg_url, say=lambda _line: None)
    assert result.server_kills == 1
    assert result.ok, result


def test_the_same_with_a_celery_worker_on_postgresql(pg_url: str) -> None:
    import socket

    from tests.conftest import service_missing

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError:
        service_missing("Redis at 127.0.0.1:6379")
    result = run_drill(40, worker_kills=3, server_kills=1, seed=4, server_first=True,
                       db_url=pg_url, broker_url="redis://127.0.0.1:6379/13",
                       say=lambda _line: None)
    assert result.server_kills == 1  # the Celery worker, killed and restarted
    assert result.ok, result
