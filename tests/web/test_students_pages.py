"""The teacher's student page over HTTP (the real app, real databases): scores over time,
mastery per knowledge point by name, error-book entries by state, and the error book PDF
in one click (the API's export); another teacher's student is not found."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from service.mastery.sync import sync_answers
from tests.support.auth import Account, audit_rows, client_for
from tests.support.review import Sheet, seed_class
from tests.web.test_results_pages import account, assert_translated, signed_in


async def graded_class(app: FastAPI, owner: Account) -> Sheet:
    """The seeded class, with mastery and error-book entries brought in line with its
    grades as the scan pipeline does after storing a page."""
    async with client_for(app, owner.headers) as api:
        sheet = await seed_class(api)
    async with app.state.session_factory() as s:
        await sync_answers(s, sheet.responses.values())
        await s.commit()
    return sheet


@pytest.fixture
async def owner(app: FastAPI) -> Account:
    await account(app, "head", admin=True)
    return await account(app, "wang.li")


@pytest.fixture
async def sheet(app: FastAPI, owner: Account) -> Sheet:
    return await graded_class(app, owner)


@pytest.fixture
async def browser(app: FastAPI, owner: Account) -> AsyncIterator[httpx.AsyncClient]:
    c = await signed_in(app, owner.username)
    try:
        yield c
    finally:
        await c.aclose()


async def test_student_page_shows_scores_mastery_and_entries(
        app: FastAPI, browser: httpx.AsyncClient, sheet: Sheet, owner: Account) -> None:
    li = sheet.students["李华"]
    r = await browser.get(f"/students/{li}")
    assert r.status_code == 200, r.text
    html = r.text
    assert 'data-testid="student"' in html
    assert "李华 的学习情况" in html
    # Scores over time: a line chart and the worksheet's line (1 of 6 decided; 1 waits).
    scores = re.search(r'data-testid="student-scores".*?</section>', html, re.S)
    assert scores
    assert '<svg class="chart chart-line" role="img"' in scores.group(0)
    assert f'data-worksheet-id="{sheet.worksheet_id}"' in scores.group(0)
    assert "1/4" in scores.group(0)
    assert "1 题待复核" in scores.group(0)
    # Mastery by the knowledge points' names, not their codes.
    async with client_for(app, owner.headers) as api:
        mastery = (await api.get(f"/api/v1/students/{li}/mastery")).json()
        progress = (await api.get(f"/api/v1/students/{li}/progress")).json()
    assert mastery["knowledge_points"]
    chart = re.search(r'data-testid="student-mastery".*?</section>', html, re.S)
    assert chart
    labels = re.findall(r'<text class="chart-label"[^>]*>([^<]*)</text>', chart.group(0))
    assert len(labels) == len(mastery["knowledge_points"])
    for kp in mastery["knowledge_points"]:
        assert kp["code"] not in labels
    assert {k["name_zh"] for k in mastery["knowledge_points"]} & set(labels)
    # Entries grouped by state: 李华 got two questions wrong, both open.
    assert progress["entries_open"] == 2
    opened = re.search(r'data-testid="entries-open".*?</details>', html, re.S)
    assert opened
    assert [int(i) for i in re.findall(r'data-entry-id="(\d+)"', opened.group(0))] == \
        [e["id"] for e in progress["entries"] if e["state"] == "open"]
    assert re.search(r'data-testid="count-open">2<', html)
    assert 'data-testid="entries-practising"' in html
    assert 'data-testid="entries-resolved"' in html
    assert "style=" not in html
    assert_translated(r)


async def test_error_book_pdf_in_one_click(app: FastAPI, browser: httpx.AsyncClient,
                                           sheet: Sheet) -> None:
    li = sheet.students["李华"]
    html = (await browser.get(f"/students/{li}")).text
    link = re.search(r'href="([^"]+)" data-testid="student-errorbook-pdf"', html)
    assert link
    assert link.group(1) == f"/students/{li}/errorbook.pdf"
    r = await browser.get(link.group(1))
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    assert 'filename="errorbook-002.pdf"' in r.headers["content-disposition"]
    exports = await audit_rows(app, "errorbook.export")
    assert [(e.target_type, e.target_id) for e in exports] == [("student", li)]
    no_key = await browser.get(f"/students/{li}/errorbook.pdf?answer_key=none")
    assert no_key.status_code == 200
    assert no_key.content.startswith(b"%PDF")


async def test_a_student_with_nothing_yet_says_so(app: FastAPI, browser: httpx.AsyncClient,
                                                  sheet: Sheet) -> None:
    r = await browser.get(f"/students/{sheet.students['张伟']}")  # handed nothing in
    assert r.status_code == 200
    assert 'data-testid="scores-none"' in r.text
    assert "还没有作答记录" in r.text
    assert "没有待订正的错题" in r.text
    assert_translated(r)
    browser.cookies.set("lang", "en")
    r = await browser.get(f"/students/{sheet.students['李华']}")
    assert "Mastery per knowledge point" in r.text
    assert_translated(r)


async def test_another_teachers_student_is_not_found(app: FastAPI, sheet: Sheet) -> None:
    await account(app, "zhao.lei")
    other = await signed_in(app, "zhao.lei")
    try:
        for path in (f"/students/{sheet.students['李华']}",
                     f"/students/{sheet.students['李华']}/errorbook.pdf"):
            r = await other.get(path)
            assert r.status_code == 404, path
            assert "李华" not in r.text
        assert not await audit_rows(app, "errorbook.export")
    finally:
        await other.aclose()
