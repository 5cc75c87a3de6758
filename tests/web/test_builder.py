"""The worksheet pages over HTTP (the real app, SQLite and PostgreSQL): the builder without
JavaScript (every button posts the form; the state stays in the URL), its preview through
the print path, creating through the API's service function, the list with its links, the
details with the print downloads (blank copies, the class set, duplex padding on and off),
and the API's new ``duplex`` parameter."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pypdfium2 as pdfium
import pytest
from fastapi import FastAPI
from PIL import Image

from service.web.sessions import SESSION_COOKIE
from tests.support.auth import client_for, make_account
from tests.support.scans import bank

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SELECTED = re.compile(r'data-testid="selected-question" data-question-id="([^"]+)"')
_DATA_PNG = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')



class Teacher:
    """A teacher signed in to the pages (``b``) and the API (``api``), with a class of
    three students and the sample bank."""

    def __init__(self, b: httpx.AsyncClient, api: httpx.AsyncClient) -> None:
        self.b = b
        self.api = api
        self.class_id = 0

    async def csrf(self, url: str = "/worksheets/new") -> str:
        r = await self.b.get(url)
        found = _CSRF.search(r.text)
        assert found, r.text[:300]
        return found.group(1)

    async def post(self, data: dict[str, str | list[str]]) -> httpx.Response:
        return await self.b.post("/worksheets/new",
                                 data={"csrf_token": await self.csrf(), **data})


@pytest.fixture
async def teacher(app: FastAPI) -> AsyncIterator[Teacher]:
    account = await make_account(app, "sheet.teacher")
    async with client_for(app) as b, client_for(app, account.headers) as api:
        b.cookies.set(SESSION_COOKIE, account.token)
        t = Teacher(b, api)
        assert (await api.post("/api/v1/questions:import", json=bank())).status_code == 200
        r = await api.post("/api/v1/classes", json={"name": "三年级二班"})
        t.class_id = r.json()["id"]
        r = await api.post(f"/api/v1/classes/{t.class_id}/students", json=[
            {"student_no": f"00{i}", "name": name} for i, name in enumerate(("王小明", "李华", "张三"))])
        assert r.status_code == 201, r.text
        yield t


def _pick(kind: str, n: int, short: bool = True) -> list[str]:
    return [q["id"] for q in bank()["questions"]
            if q["kind"] == kind and (not short or len(q["stem"]) < 40)][:n]


def _state(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


def _pdf_pages(data: bytes) -> int:
    doc = pdfium.PdfDocument(data)
    try:
        return len(doc)
    finally:
        doc.close()


async def test_builder_without_javascript_adds_reorders_removes_and_keeps_what_was_typed(
        teacher: Teacher) -> None:
    a, b, c = _pick("arithmetic", 2) + _pick("choice", 1)
    r = await teacher.b.get("/worksheets/new")
    assert r.status_code == 200
    assert 'data-testid="selected-empty"' in r.text
    assert f'<option value="{teacher.class_id}"' in r.text
    base: dict[str, str | list[str]] = {"title": "进位加法 练习",
                                         "class_id": str(teacher.class_id), "page_size": "A4"}
    # Add three questions: each button posts the whole form and comes back to the builder.
    q: list[str] = []
    for qid in (a, b, c):
        r = await teacher.post({**base, "q": q, "op": f"add:{qid}"})
        assert r.status_code == 303
        state = _state(r.headers["location"])
        assert state["title"] == ["进位加法 练习"]  # what was typed stays
        q = state["q"]
    assert q == [a, b, c]
    page = await teacher.b.get(r.headers["location"])
    assert _SELECTED.findall(page.text) == [a, b, c]
    assert 'value="进位加法 练习"' in page.text
    # Moving: up, down, and the ends do nothing.
    r = await teacher.post({**base, "q": q, "op": f"up:{c}"})
    assert _state(r.headers["location"])["q"] == [a, c, b]
    r = await teacher.post({**base, "q": [a, c, b], "op": f"down:{a}"})
    assert _state(r.headers["location"])["q"] == [c, a, b]
    r = await teacher.post({**base, "q": [c, a, b], "op": f"up:{c}"})
    assert _state(r.headers["location"])["q"] == [c, a, b]
    r = await teacher.post({**base, "q": [c, a, b], "op": f"remove:{a}"})
    assert _state(r.headers["location"])["q"] == [c, b]
    # The first and last items' outward buttons are disabled on the page.
    page = await teacher.b.get(r.headers["location"])
    assert re.search(r'value="up:' + re.escape(c) + r'"[^>]*disabled', page.text)
    assert re.search(r'value="down:' + re.escape(b) + r'"[^>]*disabled', page.text)
    # Filtering the question list keeps the choice; chosen questions say so.
    r = await teacher.post({**base, "q": [c, b], "op": "filter", "kp": "math.add",
                            "kind": "arithmetic", "difficulty": "", "search": ""})
    page = await teacher.b.get(r.headers["location"])
    candidates = re.findall(r'data-testid="candidate" data-question-id="([^"]+)"', page.text)
    assert candidates
    expect = sorted(x["id"] for x in bank()["questions"] if x["kind"] == "arithmetic"
                    and any(k.startswith("math.add") for k in x["knowledge_points"]))
    assert candidates == expect[:10]
    assert _SELECTED.findall(page.text) == [c, b]
    if b in candidates:
        assert 'data-testid="candidate-added"' in page.text
    # Paging through the list.
    r = await teacher.post({**base, "q": [c, b], "op": "page:2", "kp": "math.add",
                            "kind": "arithmetic"})
    assert _state(r.headers["location"])["page"] == ["2"]
    page = await teacher.b.get(r.headers["location"])
    assert re.findall(r'data-testid="candidate" data-question-id="([^"]+)"',
                      page.text) == expect[10:20]


async def test_preview_is_the_printed_blank_copy_and_create_makes_the_worksheet(
        teacher: Teacher) -> None:
    ids = _pick("arithmetic", 2) + _pick("choice", 1)
    base: dict[str, str | list[str]] = {"title": "预览和创建",
                                         "class_id": str(teacher.class_id), "q": ids}
    r = await teacher.post({**base, "op": "preview"})
    assert r.status_code == 303
    assert r.headers["location"].endswith("#preview")
    page = await teacher.b.get(r.headers["location"])
    assert page.status_code == 200
    pngs = _DATA_PNG.findall(page.text)
    assert len(pngs) >= 1
    import base64
    image = Image.open(io.BytesIO(base64.b64decode(pngs[0])))
    assert image.height > image.width  # a whole portrait page
    # Nothing was stored by previewing.
    assert (await teacher.api.get("/api/v1/worksheets")).json() == []
    # Create: the same service function as POST /api/v1/worksheets.
    r = await teacher.post({**base, "op": "create"})
    assert r.status_code == 303
    wid = int(r.headers["location"].split("/")[2].split("?")[0])
    got = (await teacher.api.get(f"/api/v1/worksheets/{wid}")).json()
    assert [i["question_id"] for i in got["items"]] == ids
    assert got["title"] == "预览和创建"
    assert got["class_id"] == teacher.class_id
    assert got["page_size"] == "A4"
    # The preview had as many pages as the worksheet prints.
    assert len(pngs) == got["page_count"]
    detail = await teacher.b.get(r.headers["location"])
    assert detail.status_code == 200
    assert 'data-testid="worksheet-created"' in detail.text
    assert detail.text.count('data-testid="preview-page"') == got["page_count"]
    stored = await teacher.b.get(f"/worksheets/{wid}/pages/1.png")
    assert stored.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(stored.content)).size == image.size
    assert (await teacher.b.get(f"/worksheets/{wid}/pages/{got['page_count'] + 1}.png")
            ).status_code == 404
    # Letter paper is laid out on Letter.
    r = await teacher.post({**base, "title": "Letter 纸", "page_size": "Letter",
                            "op": "create"})
    wid2 = int(r.headers["location"].split("/")[2].split("?")[0])
    assert (await teacher.api.get(f"/api/v1/worksheets/{wid2}")).json()["page_size"] == "Letter"
    for worksheet, size in ((wid, (595, 842)), (wid2, (612, 792))):  # points, rounded
        pdf = (await teacher.b.get(f"/worksheets/{worksheet}/print.pdf")).content
        doc = pdfium.PdfDocument(pdf)
        try:
            assert tuple(round(v) for v in doc[0].get_size()) == size
        finally:
            doc.close()


async def test_working_space_for_written_calculation_is_a_builder_choice(
        teacher: Teacher) -> None:
    ids = _pick("arithmetic", 4)
    base: dict[str, str | list[str]] = {"title": "竖式", "class_id": str(teacher.class_id),
                                         "q": ids}
    # A button keeps the box ticked (the state travels in the URL).
    r = await teacher.post({**base, "scratch": "1", "op": "filter"})
    assert "scratch=1" in r.headers["location"]
    page = await teacher.b.get(r.headers["location"])
    assert re.search(r'name="scratch" value="1" checked', page.text)
    assert "留出草稿区（列竖式）" in page.text
    printed = {}
    for scratch in ("1", None):
        form = {**base, "op": "create", **({"scratch": scratch} if scratch else {})}
        r = await teacher.post(form)
        assert r.status_code == 303, r.text
        wid = int(r.headers["location"].split("/")[2].split("?")[0])
        printed[scratch] = _pdf_text(
            (await teacher.api.get(f"/api/v1/worksheets/{wid}/print.pdf")).content)
    # Every written calculation gets its working area; none without the box ticked.
    assert printed["1"].count("草稿") == len(ids)
    assert "草稿" not in printed[None]
    # Through the API too.
    r = await teacher.api.post("/api/v1/worksheets", json={
        "title": "竖式 API", "class_id": teacher.class_id, "question_ids": ids,
        "scratch_space": True})
    assert r.status_code == 201, r.text
    text = _pdf_text((await teacher.api.get(
        f"/api/v1/worksheets/{r.json()['id']}/print.pdf")).content)
    assert text.count("草稿") == len(ids)


def _pdf_text(data: bytes) -> str:
    doc = pdfium.PdfDocument(data)
    try:
        return "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


async def test_create_shows_what_is_missing_next_to_the_fields(teacher: Teacher) -> None:
    r = await teacher.post({"title": "", "class_id": "", "op": "create"})
    assert r.status_code == 422
    assert 'data-testid="error-title"' in r.text
    assert 'data-testid="error-class"' in r.text
    assert 'data-testid="error-questions"' in r.text
    assert "请给作业单起个名字" in r.text
    # A question too long for a page is refused by the layout, said in Chinese.
    doc = {"format": bank()["format"], "knowledge_points": bank()["knowledge_points"],
           "questions": [{**next(q for q in bank()["questions"] if q["kind"] == "short_answer"),
                          "id": "too-long-1", "stem": "很长的题目。" * 330}]}
    assert (await teacher.api.post("/api/v1/questions:import", json=doc)).status_code == 200
    r = await teacher.post({"title": "太长", "class_id": str(teacher.class_id),
                            "q": ["too-long-1"], "op": "create"})
    assert r.status_code == 422
    assert "一页放不下" in r.text
    assert 'value="太长"' in r.text  # kept
    assert (await teacher.api.get("/api/v1/worksheets")).json() == []
    # Without the CSRF token nothing is created.
    r = await teacher.b.post("/worksheets/new", data={
        "title": "x", "class_id": str(teacher.class_id), "q": _pick("choice", 1),
        "op": "create"})
    assert r.status_code == 403


async def _worksheet(teacher: Teacher, n: int = 3) -> tuple[int, int]:
    r = await teacher.api.post("/api/v1/worksheets", json={
        "title": "打印测试", "class_id": teacher.class_id,
        "question_ids": _pick("arithmetic", n)})
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["page_count"]


async def test_list_links_each_worksheet_to_print_upload_review_and_results(
        app: FastAPI, teacher: Teacher) -> None:
    r = await teacher.b.get("/worksheets")
    assert 'data-testid="worksheets-empty"' in r.text
    wid, _pages = await _worksheet(teacher, 4)
    r = await teacher.b.get("/worksheets")
    assert r.status_code == 200
    row = r.text[r.text.index(f'data-worksheet-id="{wid}"'):]
    row = row[:row.index("</tr>")]
    assert "打印测试" in row
    assert "三年级二班" in row
    assert '<td class="num">4</td>' in row
    for href in (f"/worksheets/{wid}#print", f"/uploads?worksheet_id={wid}",
                 f"/review?worksheet_id={wid}", f"/worksheets/{wid}/results"):
        assert f'href="{href}"' in row
    # Another teacher sees neither the worksheet nor its pages.
    other = await make_account(app, "other.teacher")
    async with client_for(app) as ob:
        ob.cookies.set(SESSION_COOKIE, other.token)
        assert 'data-testid="worksheets-empty"' in (await ob.get("/worksheets")).text
        for url in (f"/worksheets/{wid}", f"/worksheets/{wid}/pages/1.png",
                    f"/worksheets/{wid}/print.pdf"):
            assert (await ob.get(url)).status_code == 404, url


async def test_print_downloads_blank_copies_and_the_class_set_with_and_without_padding(
        teacher: Teacher) -> None:
    wid, pages = await _worksheet(teacher, 3)
    assert pages == 1  # one page: padding shows as one blank page per copy
    detail = await teacher.b.get(f"/worksheets/{wid}")
    assert 'data-testid="print-form"' in detail.text
    assert "A4" in detail.text
    url = f"/worksheets/{wid}/print.pdf"
    r = await teacher.b.get(url, params={"per_student": "false", "copies": "2",
                                         "duplex": "true"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert "attachment" in r.headers["content-disposition"]
    assert _pdf_pages(r.content) == 2 * 2
    r = await teacher.b.get(url, params={"per_student": "false", "copies": "2",
                                         "duplex": "false"})
    assert _pdf_pages(r.content) == 2
    r = await teacher.b.get(url, params={"per_student": "true", "duplex": "true"})
    assert _pdf_pages(r.content) == 3 * 2  # three students
    r = await teacher.b.get(url, params={"per_student": "true", "duplex": "false"})
    assert _pdf_pages(r.content) == 3
    # The page's PDF is the API's PDF.
    api = await teacher.api.get(f"/api/v1/worksheets/{wid}/print.pdf",
                                params={"per_student": "true", "duplex": "false"})
    assert _pdf_pages(api.content) == 3
    # A class set of an empty class is refused on the page, in Chinese.
    r = await teacher.api.post("/api/v1/classes", json={"name": "空班"})
    empty = r.json()["id"]
    r = await teacher.api.post("/api/v1/worksheets", json={
        "title": "空班作业", "class_id": empty, "question_ids": _pick("arithmetic", 1)})
    r = await teacher.b.get(f"/worksheets/{r.json()['id']}/print.pdf",
                            params={"per_student": "true"})
    assert r.status_code == 422
    assert "先导入花名册" in r.text


async def test_api_print_pads_for_duplex_by_default_and_not_when_asked(
        teacher: Teacher) -> None:
    wid, pages = await _worksheet(teacher, 3)
    assert pages % 2 == 1
    url = f"/api/v1/worksheets/{wid}/print.pdf"
    assert _pdf_pages((await teacher.api.get(url, params={"copies": 3})).content) == 6
    assert _pdf_pages((await teacher.api.get(
        url, params={"copies": 3, "duplex": "false"})).content) == 3
    assert _pdf_pages((await teacher.api.get(
        url, params={"per_student": "true", "duplex": "true"})).content) == 6


async def test_an_english_school_prints_its_page_furniture_in_english(
        app: FastAPI, teacher: Teacher, monkeypatch: pytest.MonkeyPatch) -> None:
    wid, _ = await _worksheet(teacher, 2)
    url = f"/api/v1/worksheets/{wid}/print.pdf"
    chinese = _pdf_text((await teacher.api.get(url)).content)
    assert "姓名" in chinese
    assert "Name" not in chinese
    monkeypatch.setattr(app.state.settings, "school_language", "en")
    for pdf in ((await teacher.api.get(url, params={"per_student": "true"})).content,
                (await teacher.b.get(f"/worksheets/{wid}/print.pdf")).content):
        text = _pdf_text(pdf)
        assert "Name" in text
        assert "Page 1 of" in text
        assert "姓名" not in text
        assert "页" not in text


async def test_the_worksheet_pages_read_in_english_too(teacher: Teacher) -> None:
    wid, _ = await _worksheet(teacher, 2)
    teacher.b.cookies.set("lang", "en")
    ids = _pick("arithmetic", 2)
    url = f"/worksheets/new?class_id={teacher.class_id}&title=T&q={ids[0]}&q={ids[1]}&preview=1"
    for page in (url, "/worksheets", f"/worksheets/{wid}", "/bank"):
        r = await teacher.b.get(page)
        assert r.status_code == 200, page
        assert "[[" not in r.text, (page, re.findall(r"\[\[[^\]]*\]\]", r.text))
        assert '<html lang="en">' in r.text
    assert "Print preview" in (await teacher.b.get(url)).text
