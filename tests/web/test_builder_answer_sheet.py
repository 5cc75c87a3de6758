"""The builder makes answer sheets (答题卡) too, over HTTP without JavaScript (the real app,
SQLite and PostgreSQL): the box keeps its state in the URL, an answer sheet is created
with kind ``answer_sheet``, prints numbers and bubbles but no stems, is tagged in the
list, and a question of another kind is refused next to the form in the page's words."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pypdfium2 as pdfium
import pytest
from fastapi import FastAPI

from service.web.sessions import SESSION_COOKIE
from tests.support.auth import client_for, make_account
from tests.support.scans import bank

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def pages(app: FastAPI) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, int]]:
    """The signed-in pages client, the API client and a class of the sample bank's teacher."""
    account = await make_account(app, "sheet.teacher")
    async with client_for(app) as b, client_for(app, account.headers) as api:
        b.cookies.set(SESSION_COOKIE, account.token)
        assert (await api.post("/api/v1/questions:import", json=bank())).status_code == 200
        cid = (await api.post("/api/v1/classes", json={"name": "三年级二班"})).json()["id"]
        yield b, api, cid


async def _post(b: httpx.AsyncClient, data: dict[str, str | list[str]]) -> httpx.Response:
    found = _CSRF.search((await b.get("/worksheets/new")).text)
    assert found
    return await b.post("/worksheets/new", data={"csrf_token": found.group(1), **data})


def _text(data: bytes) -> str:
    doc = pdfium.PdfDocument(data)
    try:
        return "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


async def test_the_builder_makes_an_answer_sheet(
        pages: tuple[httpx.AsyncClient, httpx.AsyncClient, int]) -> None:
    b, api, cid = pages
    questions = [q for q in bank()["questions"] if q["kind"] in ("choice", "true_false")][:6]
    base: dict[str, str | list[str]] = {"title": "第一单元答题卡", "class_id": str(cid),
                                         "q": [q["id"] for q in questions]}
    r = await _post(b, {**base, "answer_sheet": "1", "op": "filter"})
    assert "answer_sheet=1" in r.headers["location"]
    page = await b.get(r.headers["location"])
    assert re.search(r'name="answer_sheet" value="1" checked', page.text)
    assert "只印答题卡" in page.text
    r = await _post(b, {**base, "answer_sheet": "1", "op": "create"})
    assert r.status_code == 303, r.text
    wid = int(r.headers["location"].split("/")[2].split("?")[0])
    sheet = (await api.get(f"/api/v1/worksheets/{wid}")).json()
    assert sheet["kind"] == "answer_sheet"
    detail = await b.get(f"/worksheets/{wid}")
    assert "打印学号填涂区" in detail.text  # the print form names the grid, not the seat row
    assert "打印座号填涂区" not in detail.text
    text = _text((await api.get(f"/api/v1/worksheets/{wid}/print.pdf")).content)
    assert "6." in text
    assert questions[0]["stem"][:8] not in text  # numbers and bubbles, no stems
    listing = await b.get("/worksheets")
    assert 'data-testid="answer-sheet-tag"' in listing.text
    assert "答题卡</span>" in listing.text
    # A written question cannot go on an answer sheet: said next to the form.
    numeric = next(q["id"] for q in bank()["questions"] if q["kind"] == "numeric")
    r = await _post(b, {**base, "q": [questions[0]["id"], numeric], "answer_sheet": "1",
                        "op": "create"})
    assert r.status_code == 422
    assert "答题卡只能放选择题、多选题和判断题" in r.text
