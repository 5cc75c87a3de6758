"""Cached reads (service.api.read_cache) and the data generation they are checked against
(service.db.generation), on SQLite and PostgreSQL.

The correctness rule: a cached answer is never older than any committed write it shows,
whichever process or engine made the write; and one caller never gets another's answer.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from service.api.read_cache import ReadCache
from service.db.engine import create_engine, make_session_factory
from service.db.generation import (
    Generation,
    changed_table,
    count_as_edit,
    current_generation,
    grading_writes,
)


async def _counts(url: str) -> Generation:
    engine = create_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            counts = await current_generation(session)
            assert counts is not None
            return counts
    finally:
        await engine.dispose()


async def _generation(url: str) -> int:
    return (await _counts(url)).n


async def _class_with_students(client: httpx.AsyncClient) -> int:
    r = await client.post("/api/v1/classes", json={"name": "三年级(1)班", "grade": 3})
    assert r.status_code == 201, r.text
    cid = int(r.json()["id"])
    r = await client.post(f"/api/v1/classes/{cid}/students",
                          json=[{"student_no": "001", "name": "王小明"},
                                {"student_no": "002", "name": "李华"}])
    assert r.status_code == 201, r.text
    return cid


def test_changed_table_reads_the_written_table() -> None:
    assert changed_table('INSERT INTO grades (a) VALUES (1)') == "grades"
    assert changed_table('  update "students" SET name=?') == "students"
    assert changed_table("DELETE FROM pages WHERE id = 1") == "pages"
    assert changed_table("INSERT OR REPLACE INTO kp_params VALUES (1)") == "kp_params"
    assert changed_table("SELECT * FROM grades") is None


async def test_tracked_writes_count_and_others_do_not(app: FastAPI, db_url: str) -> None:
    start = await _generation(db_url)
    engine = create_engine(db_url)
    try:
        factory = make_session_factory(engine)
        async with factory() as session:  # a tracked table: counts once per transaction
            await session.execute(text("UPDATE students SET name = name WHERE id < 0"))
            await session.execute(text("UPDATE classes SET name = name WHERE id < 0"))
            await session.commit()
        assert await _generation(db_url) == start + 1
        async with factory() as session:  # job progress: not something a cached read shows
            await session.execute(text("UPDATE jobs SET pages_done = 0 WHERE id < 0"))
            await session.commit()
        async with factory() as session:  # rolled back: nothing changed
            await session.execute(text("UPDATE students SET name = name WHERE id < 0"))
            await session.rollback()
        async with factory() as session:  # only read
            await session.execute(text("SELECT count(*) FROM students"))
            await session.commit()
        assert await _generation(db_url) == start + 1
    finally:
        await engine.dispose()


async def test_a_repeated_read_is_served_from_memory_until_a_write(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    cid = await _class_with_students(client)
    first = await client.get(f"/api/v1/classes/{cid}")
    cache: ReadCache = app.state.read_cache
    hits = cache.hits
    again = await client.get(f"/api/v1/classes/{cid}")
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["content-type"] == "application/json"
    assert cache.hits == hits + 1
    # A write through the API moves the generation on: the next read is built afresh.
    sid = first.json()["students"][0]["id"]
    r = await client.patch(f"/api/v1/classes/{cid}/students/{sid}", json={"name": "王晓明"})
    assert r.status_code == 200, r.text
    after = await client.get(f"/api/v1/classes/{cid}")
    assert after.json()["students"][0]["name"] == "王晓明"
    assert cache.hits == hits + 1


async def test_a_write_from_another_process_is_seen_at_once(
        app: FastAPI, client: httpx.AsyncClient, db_url: str) -> None:
    # Another web process or a job runner writes through its own engine: this process's
    # kept answer must not outlive that write.
    cid = await _class_with_students(client)
    assert (await client.get(f"/api/v1/classes/{cid}")).json()["students"][1]["name"] == "李华"
    assert (await client.get(f"/api/v1/classes/{cid}/progress")).status_code == 200
    engine = create_engine(db_url)
    try:
        async with make_session_factory(engine)() as session:
            await session.execute(text("UPDATE students SET name = '李小华' WHERE class_id = :c "
                                       "AND student_no = '002'"), {"c": cid})
            await session.commit()
    finally:
        await engine.dispose()
    r = await client.get(f"/api/v1/classes/{cid}")
    assert r.json()["students"][1]["name"] == "李小华"


async def test_one_teacher_never_gets_what_was_kept_for_another(
        app: FastAPI, teacher_client: httpx.AsyncClient,
        other_client: httpx.AsyncClient) -> None:
    cid = await _class_with_students(teacher_client)
    assert (await teacher_client.get(f"/api/v1/classes/{cid}")).status_code == 200
    assert (await teacher_client.get(f"/api/v1/classes/{cid}")).status_code == 200
    r = await other_client.get(f"/api/v1/classes/{cid}")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    assert (await other_client.get(f"/api/v1/classes/{cid}/progress")).status_code == 404


def _g(n: int, edits: int | None = None) -> Generation:
    return Generation(n, n if edits is None else edits)


def test_the_cache_keeps_the_newest_generation_and_stays_within_its_bytes() -> None:
    cache = ReadCache(max_bytes=1000)
    now = time.monotonic()
    cache.put(("a",), _g(5), now, b"new")
    cache.put(("a",), _g(4), now, b"old")  # a slower request built from older data
    assert cache.get(("a",), _g(5)) == b"new"
    assert cache.get(("a",), _g(6)) is None
    for i in range(10):
        cache.put((i,), _g(1), now, b"x" * 200)
    assert cache.get((0,), _g(1)) is None  # the least recently used went first
    assert cache.get((9,), _g(1)) == b"x" * 200
    cache.put(("huge",), _g(1), now, b"x" * 600)  # over a quarter of the budget: never kept
    assert cache.get(("huge",), _g(1)) is None


def test_an_answer_may_lag_a_running_jobs_pages_but_never_an_edit() -> None:
    cache = ReadCache(lag_s=2.0)
    now = time.monotonic()
    cache.put(("a",), Generation(10, 4), now, b"kept")
    assert cache.get(("a",), Generation(13, 4)) == b"kept"  # three pages stored since
    assert cache.get(("a",), Generation(11, 5)) is None  # an edit (or a job's end) since
    cache.put(("b",), Generation(10, 4), now - 2.5, b"older")
    assert cache.get(("b",), Generation(10, 4)) == b"older"  # its own generation: any age
    assert cache.get(("b",), Generation(11, 4)) is None  # past the lag
    strict = ReadCache(lag_s=0.0)
    strict.put(("a",), Generation(10, 4), now, b"kept")
    assert strict.get(("a",), Generation(11, 4)) is None


async def test_a_jobs_pages_move_only_the_generation_and_its_end_both(
        app: FastAPI, db_url: str) -> None:
    start = await _counts(db_url)
    engine = create_engine(db_url)
    try:
        factory = make_session_factory(engine)
        with grading_writes():  # a job storing a page
            async with factory() as session:
                await session.execute(text("UPDATE students SET name = name WHERE id < 0"))
                await session.commit()
        assert await _counts(db_url) == Generation(start.n + 1, start.edits)
        async with factory() as session:  # a job ending: only its own row is written
            await session.execute(text("UPDATE jobs SET pages_done = 0 WHERE id < 0"))
            await count_as_edit(session)
            await session.commit()
        assert await _counts(db_url) == Generation(start.n + 2, start.edits + 1)
        with grading_writes():  # ... and a page stored after an edit in one transaction
            async with factory() as session:
                await count_as_edit(session)
                await session.execute(text("UPDATE grades SET score = score WHERE id < 0"))
                await session.commit()
        async with factory() as session:  # anyone's edit
            await session.execute(text("UPDATE classes SET name = name WHERE id < 0"))
            await session.commit()
        async with factory() as session:  # an edit rolled back counts for nothing
            await count_as_edit(session)
            await session.rollback()
        assert await _counts(db_url) == Generation(start.n + 4, start.edits + 3)
    finally:
        await engine.dispose()


async def test_a_kept_answer_lags_a_jobs_pages_until_the_job_ends(
        app: FastAPI, client: httpx.AsyncClient, db_url: str) -> None:
    app.state.read_cache = cache = ReadCache(lag_s=60.0)
    cid = await _class_with_students(client)
    assert (await client.get(f"/api/v1/classes/{cid}")).json()["students"][1]["name"] == "李华"
    rename = text("UPDATE students SET name = '李小华' WHERE class_id = :c "
                  "AND student_no = '002'")
    engine = create_engine(db_url)
    try:
        factory = make_session_factory(engine)
        with grading_writes():  # written as a job's page would be
            async with factory() as session:
                await session.execute(rename, {"c": cid})
                await session.commit()
        hits = cache.hits
        kept = await client.get(f"/api/v1/classes/{cid}")
        assert kept.json()["students"][1]["name"] == "李华"
        assert cache.hits == hits + 1
        async with factory() as session:  # the job ends
            await count_as_edit(session)
            await session.commit()
    finally:
        await engine.dispose()
    r = await client.get(f"/api/v1/classes/{cid}")
    assert r.json()["students"][1]["name"] == "李小华"


@pytest.mark.parametrize("path", ["/api/v1/classes/{cid}", "/api/v1/classes/{cid}/progress"])
async def test_cached_answers_equal_freshly_built_ones(
        app: FastAPI, client: httpx.AsyncClient, path: str) -> None:
    cid = await _class_with_students(client)
    built = await client.get(path.format(cid=cid))
    app.state.read_cache = ReadCache()
    rebuilt = await client.get(path.format(cid=cid))
    kept = await client.get(path.format(cid=cid))
    assert built.content == rebuilt.content == kept.content
    assert app.state.read_cache.hits == 1


async def test_simultaneous_misses_wait_for_one_build(
        app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from service import classes

    cid = await _class_with_students(client)
    real = classes.get_class
    builds = 0

    async def slow_build(*args: object) -> object:
        nonlocal builds
        builds += 1
        await asyncio.sleep(0.3)  # long enough for every request below to arrive
        return await real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(classes, "get_class", slow_build)
    answers = await asyncio.gather(*(client.get(f"/api/v1/classes/{cid}") for _ in range(5)))
    assert [r.status_code for r in answers] == [200] * 5
    assert len({r.content for r in answers}) == 1
    assert builds == 1


async def test_a_failed_build_is_each_waiters_own_error(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    answers = await asyncio.gather(*(client.get("/api/v1/classes/987654")
                                     for _ in range(3)))
    assert [r.status_code for r in answers] == [404] * 3
    assert all(r.json()["error"] == "not_found" for r in answers)


async def test_writes_commit_on_a_database_without_the_generation_table(db_url: str) -> None:
    # Not migrated (or made by hand): nothing to count, and the write must still commit,
    # on PostgreSQL too, where a failed statement would end the transaction.
    engine = create_engine(db_url)
    try:
        factory = make_session_factory(engine)
        async with factory() as session:
            await session.execute(text("CREATE TABLE students_plain (id INTEGER PRIMARY KEY)"))
            await session.commit()
        async with factory() as session:
            await session.execute(text("INSERT INTO students_plain (id) VALUES (1)"))
            await session.commit()
        async with factory() as session:
            count = (await session.execute(text("SELECT count(*) FROM students_plain"))).scalar()
            assert count == 1
    finally:
        await engine.dispose()
