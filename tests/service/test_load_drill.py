"""The short form of ``drills.load_drill``: uploads in waves while clients read, against a
real ``markbook serve``; no error, every job done, every page graded once. (Latencies are
the long form's figures, printed, not asserted here: a shared test box cannot hold them.)"""

from __future__ import annotations

import socket

from drills.load_drill import LoadResult, run_drill


def _check(result: LoadResult, pages: int = 9) -> None:
    assert result.errors == []
    assert result.uploads == 9
    assert result.pages == pages
    assert result.reads > 20  # the readers did read meanwhile
    assert result.jobs == {"done": 9}
    assert result.stored_pages == result.pages
    assert result.graded_twice == 0
    assert result.current_grades == result.expected_grades > 0
    assert result.ok


def test_uploads_and_readers_together_on_sqlite() -> None:
    _check(run_drill(0.2, uploaders=3, readers=6, wave_seconds=4, seed=2,
                     drain_minutes=5, say=lambda _line: None))


def test_stacks_of_several_pages_on_sqlite() -> None:
    # Each upload a teacher's stack: three children's copies, one job of three pages.
    _check(run_drill(0.2, uploaders=3, readers=6, wave_seconds=4, seed=4,
                     drain_minutes=5, say=lambda _line: None, pages_per_upload=3), pages=27)


def test_the_same_with_a_celery_worker_on_postgresql(pg_url: str) -> None:
    from tests.conftest import service_missing

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError:
        service_missing("Redis at 127.0.0.1:6379")
    _check(run_drill(0.2, uploaders=3, readers=6, wave_seconds=4, seed=3, db_url=pg_url,
                     broker_url="redis://127.0.0.1:6379/12", drain_minutes=5,
                     say=lambda _line: None))


def test_the_same_with_two_web_processes_and_the_runner_beside_them_on_sqlite() -> None:
    # markbook serve --processes 2: the web processes share the port and the SQLite file
    # with the runner process, which grades every page once.
    _check(run_drill(0.2, uploaders=3, readers=6, wave_seconds=4, seed=4,
                     drain_minutes=5, say=lambda _line: None, processes=2))


def test_the_same_with_two_web_processes_on_postgresql(pg_url: str) -> None:
    _check(run_drill(0.2, uploaders=3, readers=6, wave_seconds=4, seed=5, db_url=pg_url,
                     drain_minutes=5, say=lambda _line: None, processes=2))
