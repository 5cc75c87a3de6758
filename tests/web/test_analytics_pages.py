"""The analytics pages over HTTP (the real app, real databases): each renders its charts
and figures, every figure links to the answers behind it, the answers page lists them, the
PDF downloads, English works, and another teacher's class is not found."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.support.auth import Account, client_for
from tests.support.review import Sheet
from tests.web.test_results_pages import account, assert_translated, signed_in
from tests.web.test_students_pages import graded_class


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


def _links(html: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="(/analytics/answers\?[^"]+)"',
                                                        html)]


async def test_worksheet_page_charts_and_links(browser: httpx.AsyncClient,
                                               sheet: Sheet) -> None:
    r = await browser.get(f"/worksheets/{sheet.worksheet_id}/analytics")
    assert r.status_code == 200, r.text
    assert_translated(r)
    html = r.text
    assert 'class="chart chart-columns"' in html
    assert "成绩分布" in html
    assert "选择题选项分析" in html
    assert "进位遗漏" in html  # the wrong answer 75's error cause
    assert 'data-facility="50%"' in html
    links = _links(html)
    assert links
    # Every link from the page answers, and the wrong answer's lists 李华's 75.
    wrong = next(u for u in links if "answer=75" in u)
    page = await browser.get(wrong)
    assert page.status_code == 200
    assert 'data-count="1"' in page.text
    assert "李华" in page.text
    assert f'/review/responses/{sheet.responses[("李华", "m3-add-001")]}?back=' in page.text
    for url in set(links):
        assert (await browser.get(url)).status_code == 200, url


async def test_class_page_heatmap_trends_attention_and_pdf(browser: httpx.AsyncClient,
                                                           sheet: Sheet) -> None:
    r = await browser.get(f"/classes/{sheet.class_id}/analytics")
    assert r.status_code == 200, r.text
    assert_translated(r)
    html = r.text
    assert 'data-testid="an-heatmap-table"' in html
    assert 'class="chart chart-trend"' in html
    assert "进位加法" in html
    assert "math.add.carry</td>" not in html
    assert re.search(r'class="heat-0" data-code="math.add.carry"><a href="/analytics/answers\?'
                     r'student_id=\d+&amp;kp=math.add.carry"', html)
    assert 'data-reason="missing_work"' in html
    assert 'data-reason="low_scores"' in html
    for url in set(_links(html)):
        assert (await browser.get(url)).status_code == 200, url
    pdf = await browser.get(f"/classes/{sheet.class_id}/report.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")


async def test_student_portrait_page(browser: httpx.AsyncClient, sheet: Sheet) -> None:
    r = await browser.get(f"/students/{sheet.students['李华']}/analytics")
    assert r.status_code == 200, r.text
    assert_translated(r)
    assert 'data-testid="an-weaknesses"' in r.text
    assert r.text.count('data-testid="an-entry"') == 2
    assert 'class="chart chart-trend"' in r.text
    browser.cookies.set("lang", "en")
    en = await browser.get(f"/students/{sheet.students['李华']}/analytics")
    assert_translated(en)
    assert "Weaknesses" in en.text


async def test_other_teacher_gets_404(app: FastAPI, sheet: Sheet) -> None:
    await account(app, "zhao.min")
    other = await signed_in(app, "zhao.min")
    try:
        for url in (f"/worksheets/{sheet.worksheet_id}/analytics",
                    f"/classes/{sheet.class_id}/analytics",
                    f"/students/{sheet.students['李华']}/analytics",
                    f"/analytics/answers?class_id={sheet.class_id}"):
            assert (await other.get(url)).status_code == 404, url
    finally:
        await other.aclose()


async def test_worksheet_page_shows_a_review_decision_at_once(
        app: FastAPI, browser: httpx.AsyncClient, sheet: Sheet, owner: Account) -> None:
    url = f"/worksheets/{sheet.worksheet_id}/analytics"
    before = (await browser.get(url)).text
    assert 'data-question-id="m3-word-001" data-facility="100%"' in before  # 1 of 1 decided
    again = (await browser.get(url)).text  # the kept page, the same figures
    assert again == before
    # 李华's doubtful 189 is decided wrong: the kept page must not be shown any more.
    async with client_for(app, owner.headers) as api:
        r = await api.post(f"/api/v1/review/responses/{sheet.responses[('李华', 'm3-word-001')]}",
                           json={"action": "set", "verdict": "incorrect", "score": 0})
        assert r.status_code == 200, r.text
    after = (await browser.get(url)).text
    assert 'data-question-id="m3-word-001" data-facility="50%"' in after


async def test_class_page_follows_a_review_decision(
        app: FastAPI, browser: httpx.AsyncClient, sheet: Sheet, owner: Account) -> None:
    url = f"/classes/{sheet.class_id}/analytics"
    li = sheet.students["李华"]
    cell = re.compile(rf'<tr data-student-id="{li}"><th scope="row">(?:(?!</tr>).)*?'
                      r'data-code="math.word.add_sub">(.*?)</td>', re.S)
    before = cell.search((await browser.get(url)).text)
    assert before is not None
    assert before.group(1) == ""  # waiting for review: no answer counted yet
    async with client_for(app, owner.headers) as api:
        r = await api.post(f"/api/v1/review/responses/{sheet.responses[('李华', 'm3-word-001')]}",
                           json={"action": "set", "verdict": "correct", "score": 3})
        assert r.status_code == 200, r.text
    after = cell.search((await browser.get(url)).text)
    assert after is not None
    assert ">100%</a>" in after.group(1)
