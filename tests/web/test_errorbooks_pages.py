"""The error-books page over HTTP (the real app, real databases): one click builds the
class's set in the background with its progress shown, a second click while it builds
starts nothing, the PDF and the teacher's key are offered when done, a failure or a build
lost to a restart offers a retry, and another teacher's class is not found."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pypdfium2 as pdfium
import pytest
from fastapi import FastAPI

import service.errorbook_builds as builds_module
from service.errorbook_builds import ErrorBookBuilds
from tests.support.auth import Account, audit_rows, client_for
from tests.support.review import Sheet
from tests.web.test_results_pages import account, assert_translated, signed_in
from tests.web.test_students_pages import owner, sheet

__all__ = ["owner", "sheet"]  # the fixtures: a teacher and their graded class

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def browser(app: FastAPI, owner: Account) -> AsyncIterator[httpx.AsyncClient]:
    c = await signed_in(app, owner.username)
    try:
        yield c
    finally:
        manager = getattr(app.state, "errorbook_builds", None)
        if manager is not None:  # no build outlives the test's app
            for class_id in list(manager._tasks):
                await manager.wait(class_id)
        await c.aclose()


def section(html: str, class_id: int) -> str:
    found = re.search(rf'<section class="card class-books" id="class-{class_id}".*?</section>',
                      html, re.S)
    assert found, html[:3000]
    return found.group(0)


async def click_build(c: httpx.AsyncClient, class_id: int, **form: str) -> httpx.Response:
    page = await c.get("/errorbooks")
    token = _CSRF.search(section(page.text, class_id))
    assert token
    return await c.post(f"/errorbooks/classes/{class_id}/build",
                        data={"csrf_token": token.group(1), **form})


def manager_of(app: FastAPI) -> ErrorBookBuilds:
    found: ErrorBookBuilds = app.state.errorbook_builds
    return found


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Builds wait for this event before they start (to see one in progress)."""
    opened = asyncio.Event()
    real: Callable[..., Awaitable[Any]] = builds_module.class_books_pdf

    async def held(*args: Any, **kwargs: Any) -> Any:
        await opened.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(builds_module, "class_books_pdf", held)
    return opened


async def test_one_click_builds_the_class_set_with_progress_then_offers_it(
        app: FastAPI, browser: httpx.AsyncClient, sheet: Sheet, gate: asyncio.Event) -> None:
    cid = sheet.class_id
    page = await browser.get("/errorbooks")
    assert page.status_code == 200
    mine = section(page.text, cid)
    assert 'data-state="none"' in mine
    assert "一键生成全班错题本" in mine
    assert 'data-testid="download-class-books"' not in mine
    # Per student: their page and their own book.
    li = sheet.students["李华"]
    assert f'href="/students/{li}"' in mine
    assert f'href="/students/{li}/errorbook.pdf"' in mine
    assert_translated(page)

    r = await click_build(browser, cid)
    assert r.status_code == 303
    assert r.headers["location"] == f"/errorbooks#class-{cid}"
    building = await browser.get("/errorbooks")
    mine = section(building.text, cid)
    assert 'data-state="building"' in mine
    assert "正在生成…" in mine
    assert 'data-testid="build-progress"' in mine
    assert 'data-testid="build-class"' not in mine  # no second button while it builds
    refresh = re.search(r'<meta http-equiv="refresh" content="2; url=([^"]+)">', building.text)
    assert refresh
    assert re.fullmatch(rf"/errorbooks\?t=\d+#class-{cid}", refresh.group(1))
    status = (await browser.get(f"/errorbooks/classes/{cid}/status")).json()
    assert status["state"] == "building"
    # A second click while it builds starts nothing.
    first = json.loads((manager_of(app).root / f"class-{cid}.json").read_text())
    token = _CSRF.search(building.text)
    assert token
    again = await browser.post(f"/errorbooks/classes/{cid}/build",
                               data={"csrf_token": token.group(1)})
    assert again.status_code == 303
    assert json.loads((manager_of(app).root / f"class-{cid}.json").read_text()) == first
    assert len(manager_of(app)._tasks) == 1

    gate.set()
    await manager_of(app).wait(cid)
    status = (await browser.get(f"/errorbooks/classes/{cid}/status")).json()
    assert status["state"] == "done", status
    assert status["students_done"] == status["students_total"] == 4
    assert status["pages"] >= 4
    done = await browser.get("/errorbooks")
    mine = section(done.text, cid)
    assert 'data-state="done"' in mine
    assert "http-equiv" not in done.text
    assert "重新生成全班错题本" in mine
    books = await browser.get(f"/errorbooks/classes/{cid}/errorbooks.pdf")
    assert books.status_code == 200
    assert books.headers["content-type"] == "application/pdf"
    assert books.content.startswith(b"%PDF")
    assert "attachment" in books.headers["content-disposition"]
    key = await browser.get(f"/errorbooks/classes/{cid}/errorbooks-key.pdf")
    assert key.status_code == 200
    assert key.content.startswith(b"%PDF")
    assert 'data-testid="download-class-key"' in mine
    # The build ran the API's exports, as the teacher who clicked.
    exports = await audit_rows(app, "errorbook.export")
    assert [(e.target_type, e.target_id) for e in exports] == [("class", cid), ("class", cid)]
    assert_translated(done)


async def test_a_one_sided_build_has_no_padding_pages(app: FastAPI,
                                                      browser: httpx.AsyncClient,
                                                      sheet: Sheet) -> None:
    cid = sheet.class_id
    pages = {}
    for duplex in ("false", "true"):
        assert (await click_build(browser, cid, duplex=duplex)).status_code == 303
        await manager_of(app).wait(cid)
        status = (await browser.get(f"/errorbooks/classes/{cid}/status")).json()
        assert status["state"] == "done", status
        assert status["duplex"] is (duplex == "true")
        pages[duplex] = status["pages"]
        books = (await browser.get(f"/errorbooks/classes/{cid}/errorbooks.pdf")).content
        blanks = sum("本页空白" in page.get_textpage().get_text_range()
                     for page in pdfium.PdfDocument(books))
        assert (blanks == 0) is (duplex == "false"), (duplex, blanks)
        # The page offers the last build's choice again.
        mine = section((await browser.get("/errorbooks")).text, cid)
        checked = re.search(r'<input[^>]*checked[^>]*data-testid="build-duplex-(on|off)"', mine)
        assert checked
        assert checked.group(1) == ("on" if duplex == "true" else "off")
    # Four students, each book padded to whole sheets (and the cover): more pages.
    assert pages["true"] > pages["false"]
    assert pages["true"] - pages["false"] == blanks


async def test_an_english_school_gets_english_books(app: FastAPI, browser: httpx.AsyncClient,
                                                    sheet: Sheet,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.state.settings, "school_language", "en")
    cid = sheet.class_id
    assert (await click_build(browser, cid)).status_code == 303
    await manager_of(app).wait(cid)
    books = (await browser.get(f"/errorbooks/classes/{cid}/errorbooks.pdf")).content
    text = "\n".join(p.get_textpage().get_text_range() for p in pdfium.PdfDocument(books))
    assert "Error books" in text
    assert "Topics most of the class got wrong" in text
    assert "Page 1 of" in text
    for chinese in ("错题本", "第 1 /", "全班错得最多的知识点", "订正", "你的答案", "参考答案"):
        assert chinese not in text, chinese
    key = (await browser.get(f"/errorbooks/classes/{cid}/errorbooks-key.pdf")).content
    key_text = "\n".join(p.get_textpage().get_text_range() for p in pdfium.PdfDocument(key))
    assert "Error-book answers (for the teacher)" in key_text
    one = await browser.get(f"/students/{next(iter(sheet.students.values()))}/errorbook.pdf")
    assert one.status_code == 200
    assert "Page 1 of" in pdfium.PdfDocument(one.content)[0].get_textpage().get_text_range()


async def test_nothing_to_download_before_a_build(browser: httpx.AsyncClient,
                                                  sheet: Sheet) -> None:
    for name in ("errorbooks.pdf", "errorbooks-key.pdf"):
        r = await browser.get(f"/errorbooks/classes/{sheet.class_id}/{name}")
        assert r.status_code == 303
        assert r.headers["location"] == f"/errorbooks#class-{sheet.class_id}"


async def test_a_failed_build_says_so_and_offers_a_retry(
        app: FastAPI, browser: httpx.AsyncClient, sheet: Sheet,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the printer font went missing")

    monkeypatch.setattr(builds_module, "class_books_pdf", broken)
    assert (await click_build(browser, sheet.class_id)).status_code == 303
    await manager_of(app).wait(sheet.class_id)
    mine = section((await browser.get("/errorbooks")).text, sheet.class_id)
    assert 'data-state="failed"' in mine
    assert 'data-testid="build-failed"' in mine
    assert "the printer font went missing" in mine
    assert "重新生成全班错题本" in mine  # the retry button


async def test_a_build_lost_to_a_restart_is_stale_not_building_forever(
        app: FastAPI, browser: httpx.AsyncClient, sheet: Sheet) -> None:
    cid = sheet.class_id
    await browser.get("/errorbooks")
    manager = manager_of(app)
    manager.root.mkdir(parents=True, exist_ok=True)
    status_file = manager.root / f"class-{cid}.json"
    # Written by a server process that is gone (pid 0 is never a live build).
    status_file.write_text(json.dumps({
        "state": "building", "started_at": "2026-01-05T08:00:00+00:00", "pid": 0,
        "boot": "a-server-that-stopped"}))
    page = await browser.get("/errorbooks")
    mine = section(page.text, cid)
    assert 'data-state="stale"' in mine
    assert 'data-testid="build-stale"' in mine
    assert "http-equiv" not in page.text  # nothing to wait for
    # Ours, just started, but with no task behind it (the server restarted with the
    # same boot id is impossible; a task lost in this process is the same case).
    status_file.write_text(json.dumps({
        "state": "building", "started_at": "2099-01-01T00:00:00+00:00", "pid": 1,
        "boot": manager.boot}))
    assert (await browser.get(f"/errorbooks/classes/{cid}/status")).json()["state"] == "stale"
    # The retry button starts a fresh build that finishes.
    assert (await click_build(browser, cid)).status_code == 303
    await manager.wait(cid)
    assert (await browser.get(f"/errorbooks/classes/{cid}/status")).json()["state"] == "done"


async def test_another_teachers_class_is_not_found(app: FastAPI, sheet: Sheet,
                                                   browser: httpx.AsyncClient) -> None:
    await account(app, "zhao.lei")
    other = await signed_in(app, "zhao.lei")
    try:
        page = await other.get("/errorbooks")
        assert page.status_code == 200
        assert "三年级(2)班" not in page.text
        token = _CSRF.search(page.text)
        assert token
        r = await other.post(f"/errorbooks/classes/{sheet.class_id}/build",
                             data={"csrf_token": token.group(1)})
        assert r.status_code == 404
        for path in ("status", "errorbooks.pdf", "errorbooks-key.pdf"):
            r = await other.get(f"/errorbooks/classes/{sheet.class_id}/{path}")
            assert r.status_code == 404, path
        assert getattr(app.state, "errorbook_builds", None) is None or \
            not manager_of(app)._tasks
    finally:
        await other.aclose()
    # And a form without its CSRF token does nothing.
    r = await browser.post(f"/errorbooks/classes/{sheet.class_id}/build", data={})
    assert r.status_code == 403
    assert getattr(app.state, "errorbook_builds", None) is None or not manager_of(app)._tasks


async def test_the_page_reads_in_english_too(browser: httpx.AsyncClient, sheet: Sheet) -> None:
    browser.cookies.set("lang", "en")
    r = await browser.get("/errorbooks")
    assert r.status_code == 200
    assert '<html lang="en">' in r.text
    assert "Build the class&#39;s error books" in section(r.text, sheet.class_id)
    assert_translated(r)


async def test_a_class_with_nothing_to_practise_gets_books_but_no_key(
        app: FastAPI, browser: httpx.AsyncClient, owner: Account) -> None:
    async with client_for(app, owner.headers) as api:
        r = await api.post("/api/v1/classes", json={"name": "一年级(1)班"})
        cid = r.json()["id"]
        r = await api.post(f"/api/v1/classes/{cid}/students",
                           json=[{"student_no": "001", "name": "刘一"}])
        assert r.status_code == 201, r.text
    assert (await click_build(browser, cid)).status_code == 303
    await manager_of(app).wait(cid)
    mine = section((await browser.get("/errorbooks")).text, cid)
    assert 'data-state="done"' in mine
    assert 'data-testid="download-class-books"' in mine
    assert 'data-testid="download-class-key"' not in mine
    assert 'data-testid="no-key"' in mine
    r = await browser.get(f"/errorbooks/classes/{cid}/errorbooks-key.pdf")
    assert r.status_code == 303


async def test_shutting_down_stops_a_build_and_it_shows_as_stopped(
        app: FastAPI, browser: httpx.AsyncClient, sheet: Sheet, gate: asyncio.Event) -> None:
    cid = sheet.class_id
    assert (await click_build(browser, cid)).status_code == 303
    manager = manager_of(app)
    task = manager._tasks[cid]
    assert not task.done()
    await manager.close()  # what the app's shutdown does
    assert task.cancelled()
    assert not manager.pdf_path(cid).exists()
    # The next server (a new boot) sees it as stopped, with a retry.
    after = ErrorBookBuilds(manager.root, manager.session_factory, manager.storage,
                            manager.settings)
    status = after.status(cid)
    assert status.state == "failed"
    assert "server stopped" in status.message


async def test_a_class_build_commits_each_students_book_as_it_goes(
        app: FastAPI, browser: httpx.AsyncClient, sheet: Sheet,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Another connection sees each book as soon as it is stored: the build never holds the
    # write lock (SQLite's, which grading also needs) for the whole class.
    from sqlalchemy import func, select

    from service.db import ErrorBookRow

    seen: list[int] = []
    real: Callable[..., Awaitable[Any]] = builds_module.class_books_pdf

    async def watched(*args: Any, checkpoint: Callable[[], Awaitable[None]], **kwargs: Any
                      ) -> Any:
        async def check() -> None:
            await checkpoint()
            async with app.state.session_factory() as other:
                seen.append(int(await other.scalar(
                    select(func.count()).select_from(ErrorBookRow)) or 0))
        return await real(*args, checkpoint=check, **kwargs)

    monkeypatch.setattr(builds_module, "class_books_pdf", watched)
    assert (await click_build(browser, sheet.class_id)).status_code == 303
    await manager_of(app).wait(sheet.class_id)
    assert manager_of(app).status(sheet.class_id).state == "done"
    async with app.state.session_factory() as after:
        books = int(await after.scalar(select(func.count()).select_from(ErrorBookRow)) or 0)
    assert books > 0
    # One look per student, each seeing every book stored so far (students with nothing
    # wrong get none), the last one all of them.
    assert len(seen) == len(sheet.students)
    assert seen == sorted(seen)
    assert seen[-1] == books
