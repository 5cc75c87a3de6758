"""Templates in the browser (server side): upload a teacher's own blank page, the editor
with the places found on it, saving the editor's state as a template worksheet, a refused
save shown on the regions it names, the worksheet's page offering uploads, and another
teacher kept out. The editor's state to template body mapping is tested on its own too."""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import select

from service.auth.passwords import hash_password
from service.db import JobRow, QuestionRow
from service.errors import InvalidInput
from service.schemas.common import WorksheetCreate
from service.schemas.templates import (
    BubbleIn,
    GridBubbleIn,
    ImportedRegionOut,
    ProposedRegionOut,
)
from service.web.templates_body import (
    EditorPage,
    EditorRegion,
    EditorState,
    GridCell,
    build_template,
    digits_of,
    imported_regions,
    initial_state,
    problems_from_error,
)
from simulation.teacher_sheets import teacher_sheet
from tests.support.auth import Account, client_for, make_account, unique_png
from tests.support.scans import bank

PASSWORD = "correct horse battery"
KP = "math.add.carry"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_DATA = re.compile(r'<script type="application/json" id="template-data">(.*?)</script>', re.S)


def _csrf(text: str) -> str:
    found = _CSRF.search(text)
    assert found, text[:500]
    return found.group(1)


def _data(text: str) -> dict[str, Any]:
    found = _DATA.search(text)
    assert found, text[:500]
    data: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return data


def _png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", dpi=(200, 200))
    return out.getvalue()


@pytest.fixture
async def teacher(app: FastAPI) -> Account:
    await make_account(app, "head.templates", admin=True,
                       password_hash=await hash_password(PASSWORD))
    return await make_account(app, "t.templates", password_hash=await hash_password(PASSWORD))


async def _sign_in(c: httpx.AsyncClient, account: Account) -> None:
    form = await c.get("/login")
    r = await c.post("/login", data={"username": account.username, "password": PASSWORD,
                                     "csrf_token": _csrf(form.text), "next": "/"})
    assert r.status_code == 303, r.text


@pytest.fixture
async def browser(app: FastAPI, teacher: Account) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        await _sign_in(c, teacher)
        yield c


async def _class(app: FastAPI, teacher: Account) -> tuple[int, int]:
    async with client_for(app, teacher.headers) as api:
        r = await api.post("/api/v1/questions:import", json=bank())
        assert r.status_code in (200, 201), r.text
        cid = (await api.post("/api/v1/classes", json={"name": "一年级(2)班"})).json()["id"]
        r = await api.post(f"/api/v1/classes/{cid}/students",
                           json=[{"student_no": "10201", "name": "李小红"}])
        assert r.status_code == 201, r.text
        sid = (await api.get(f"/api/v1/classes/{cid}")).json()["students"][0]["id"]
    return cid, sid


async def _upload_blank(browser: httpx.AsyncClient) -> tuple[int, dict[str, Any], str]:
    page = await browser.get("/worksheets/templates/new")
    assert page.status_code == 200
    assert 'data-testid="template-upload-form"' in page.text
    r = await browser.post("/worksheets/templates/new",
                           data={"csrf_token": _csrf(page.text), "page_size": "A4"},
                           files={"file": ("blank.png", _png(teacher_sheet(11).image),
                                           "image/png")})
    assert r.status_code == 303, r.text
    blank_id = int(r.headers["location"].rsplit("/", 1)[1])
    editor = await browser.get(r.headers["location"])
    assert editor.status_code == 200
    return blank_id, _data(editor.text), editor.text


def _filled(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The first page's regions as a teacher leaves them: the title block as proposed (its
    姓名 and 学号 lines marked, the 班级 line left out), the 学号's digits given, every
    written place given an answer."""
    regions = [dict(r) for r in data["state"]["pages"][0]["regions"]]
    header = [r for r in regions if r["box"][1] < 100]
    # The title block's lines, told apart by their printed labels.
    assert [r["kind"] for r in header] == ["name", "student_number"], header
    header[1]["digits"] = 5
    for i, r in enumerate(regions):
        if r["kind"] == "written":
            r |= {"answer": str(10 + i), "kp": KP, "key_kind": "numeric"}
    return regions


def _state(blank_id: int, regions: list[dict[str, Any]], *more: tuple[int, list[dict[str, Any]]]
           ) -> str:
    pages = [{"blank_id": blank_id, "regions": regions}]
    pages += [{"blank_id": b, "regions": r} for b, r in more]
    return json.dumps({"pages": pages})


async def test_upload_a_blank_edit_it_and_save_a_template(
        app: FastAPI, browser: httpx.AsyncClient, teacher: Account) -> None:
    cid, sid = await _class(app, teacher)
    listed = await browser.get("/worksheets")
    assert 'href="/worksheets/templates/new"' in listed.text
    assert "用自己的练习纸（上传空白页）" in listed.text
    blank_id, data, editor = await _upload_blank(browser)
    assert 'data-testid="template-editor"' in editor
    assert f'src="/worksheets/templates/{blank_id}/image.png"' in editor
    assert data["pages"][0]["width_pt"] == pytest.approx(595, abs=2)
    kinds = [r["kind"] for r in data["state"]["pages"][0]["regions"]]
    # Proposed underlines, boxes and brackets start written; 竖式 work areas not graded.
    assert kinds.count("written") >= 12
    assert "skip" in kinds
    assert all(r["kind"] == "skip" for r in data["state"]["pages"][0]["regions"]
               if r["origin"] == "work")
    assert kinds.count("name") == kinds.count("student_number") == 1  # the title block
    assert data["pages"] == [{"blank_id": blank_id, "width_pt": pytest.approx(595, abs=2),
                              "height_pt": pytest.approx(842, abs=2),
                              "image": f"/worksheets/templates/{blank_id}/image.png",
                              "proposed": len(kinds)}]
    assert KP in [k["code"] for k in data["kps"]]
    assert f'<option value="{cid}" data-digits="5"' in editor  # the roster's 学号 length
    browser.cookies.set("lang", "en")
    english = await browser.get(f"/worksheets/templates/{blank_id}")
    browser.cookies.delete("lang")
    assert "Check the answer places" in english.text
    assert "[[" not in english.text
    assert "[[" not in json.dumps(_data(english.text)["text"])
    image = await browser.get(f"/worksheets/templates/{blank_id}/image.png")
    assert image.status_code == 200
    assert image.content.startswith(b"\x89PNG")

    regions = _filled(data)
    written = sum(1 for r in regions if r["kind"] == "written")
    r = await browser.post(f"/worksheets/templates/{blank_id}", data={
        "csrf_token": _csrf(editor), "title": "第10周课堂练习", "class_id": str(cid),
        "state": _state(blank_id, regions)})
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("?created=1")
    wid = int(r.headers["location"].split("/worksheets/")[1].split("?")[0])
    async with client_for(app, teacher.headers) as api:
        ws = (await api.get(f"/api/v1/worksheets/{wid}")).json()
        layout = (await api.get(f"/api/v1/worksheets/{wid}/layout")).json()
    assert ws["kind"] == "template"
    assert len(ws["items"]) == written
    page = layout["pages"][0]
    assert [g["number"] for g in page["regions"]] == list(range(1, written + 1))
    assert page["name_box"] != [0, 0, 0, 0]
    assert len(page["student_no_boxes"]) == 5

    detail = await browser.get(r.headers["location"])
    assert detail.status_code == 200
    assert 'data-testid="worksheet-created"' in detail.text
    assert 'data-testid="template-upload-form"' in detail.text
    assert 'data-testid="print-card"' not in detail.text
    assert f'/worksheets/{wid}/template/1.png' in detail.text
    preview = await browser.get(f"/worksheets/{wid}/template/1.png")
    assert preview.status_code == 200
    assert preview.headers["content-type"] == "image/png"
    assert (await browser.get(f"/worksheets/{wid}/template/2.png")).status_code == 404
    listed = await browser.get("/worksheets")
    assert 'data-testid="template-tag"' in listed.text
    assert f'href="/worksheets/{wid}#template-upload"' in listed.text

    # One student's pages, uploaded from the worksheet's page, carry the student.
    r = await browser.post("/uploads", data={"csrf_token": _csrf(detail.text),
                                             "worksheet_id": str(wid), "student_id": str(sid)},
                           files=[("files", ("copy.png", unique_png(), "image/png"))])
    assert r.status_code == 200, r.text
    async with app.state.session_factory() as s:
        job = (await s.execute(select(JobRow))).scalar_one()
    assert job.payload["worksheet_id"] == wid
    assert job.payload["student_id"] == sid


async def test_a_refused_save_shows_each_problem_on_its_region(
        app: FastAPI, browser: httpx.AsyncClient, teacher: Account) -> None:
    cid, _ = await _class(app, teacher)
    blank_id, data, editor = await _upload_blank(browser)
    regions = _filled(data)

    async def save(regions: list[dict[str, Any]], title: str = "练习") -> httpx.Response:
        return await browser.post(f"/worksheets/templates/{blank_id}", data={
            "csrf_token": _csrf(editor), "title": title, "class_id": str(cid),
            "state": _state(blank_id, regions)})

    def problems(r: httpx.Response) -> list[dict[str, Any]]:
        assert r.status_code == 422, r.text
        assert 'data-testid="template-problems"' in r.text
        found: list[dict[str, Any]] = _data(r.text)["problems"]
        return found

    first = next(i for i, r in enumerate(regions) if r["kind"] == "written")
    # Checked on the page: a missing answer, on the region it belongs to.
    empty = [dict(r) for r in regions]
    empty[first]["answer"] = ""
    r = await save(empty)
    found = problems(r)
    assert [(p["index"], p["where"]) for p in found] == [(first, "第1题")]
    assert "请填写这道题的答案" in r.text
    # The posted state comes back as posted (the teacher's work is not lost).
    assert (_data(r.text)["state"]["pages"][0]["regions"][first + 1]["answer"]
            == regions[first + 1]["answer"])

    # Checked by the service: two regions over the same ink; the one its where names.
    last = max(i for i, r in enumerate(regions) if r["kind"] == "written")
    overlapping = [dict(r) for r in regions]
    overlapping[last] = {**overlapping[last],
                         "box": [v + 1 for v in overlapping[first]["box"]]}
    r = await save(overlapping)
    found = problems(r)
    assert found[0]["index"] in (first, last)
    assert "重叠" in found[0]["message"]
    assert found[0]["detail"]  # the service's own message is shown too

    # A knowledge point the bank does not know: the bank import names the made question.
    unknown = [dict(r) for r in regions]
    unknown[last] = {**unknown[last], "kp": "math.nowhere"}
    found = problems(await save(unknown))
    assert [p["index"] for p in found] == [last]

    # No title, and a state that is no JSON at all.
    r = await save(regions, title=" ")
    assert r.status_code == 422
    assert 'id="tpl-title-error"' in r.text
    r = await browser.post(f"/worksheets/templates/{blank_id}", data={
        "csrf_token": _csrf(editor), "title": "练习", "class_id": str(cid), "state": "{"})
    assert [(p["page"], p["index"]) for p in problems(r)] == [(None, None)]
    # Nothing of the refused saves was kept: no worksheet, no question made from a key.
    async with client_for(app, teacher.headers) as api:
        assert (await api.get("/api/v1/worksheets")).json() == []
    async with app.state.session_factory() as s:
        made = await s.scalars(select(QuestionRow.external_id)
                               .where(QuestionRow.external_id.like("own-%")))
        assert list(made) == []


async def test_more_pages_are_added_from_the_editor_and_saved_together(
        app: FastAPI, browser: httpx.AsyncClient, teacher: Account) -> None:
    cid, _ = await _class(app, teacher)
    blank_id, data, editor = await _upload_blank(browser)
    token = _csrf(editor)

    async def add(files: list[tuple[str, tuple[str, bytes, str]]],
                  csrf: str = token) -> httpx.Response:
        return await browser.post(f"/worksheets/templates/{blank_id}/pages",
                                  data={"csrf_token": csrf, "page_size": "A4"}, files=files)

    r = await add([("file", ("p2.png", _png(teacher_sheet(12).image), "image/png"))])
    assert r.status_code == 201, r.text
    second = r.json()
    page2 = second["page"]["blank_id"]
    assert page2 != blank_id
    assert second["page"]["image"] == f"/worksheets/templates/{page2}/image.png"
    assert second["page"]["proposed"] == len(second["regions"]) > 5
    # A refused page says why in the page's words, with its code.
    white = np.full((2339, 1654), 255, np.uint8)
    r = await add([("file", ("white.png", _png(white), "image/png"))])
    assert r.status_code == 422
    assert r.json()["error"] == "blank_without_print"
    assert "几乎是空白的" in r.json()["message"]
    r = await add([])  # no file: no multipart form either
    assert (r.status_code, r.json()["error"]) == (400, "bad_multipart")
    assert r.json()["message"]
    assert (await add([("file", ("a.png", unique_png(), "image/png"))],
                      csrf="forged")).status_code == 403

    first = _filled(data)
    regions2 = [dict(r) for r in second["regions"]]
    header = [r for r in regions2 if r["box"][1] < 100]
    assert [r["kind"] for r in header] == ["name", "student_number"]
    for h in header:  # the child writes their name once, on page 1
        regions2.remove(h)
    for i, region in enumerate(regions2):
        if region["kind"] == "written":
            region |= {"answer": str(50 + i), "kp": KP}

    async def save(*pages: tuple[int, list[dict[str, Any]]]) -> httpx.Response:
        return await browser.post(f"/worksheets/templates/{blank_id}", data={
            "csrf_token": token, "title": "两页练习", "class_id": str(cid),
            "state": _state(pages[0][0], pages[0][1], *pages[1:])})

    # A problem on page 2 is shown on page 2's region, named with its page.
    broken = [dict(r) for r in regions2]
    k = next(i for i, r in enumerate(broken) if r["kind"] == "written")
    broken[k]["answer"] = ""
    r = await save((blank_id, first), (page2, broken))
    assert r.status_code == 422
    shown = _data(r.text)
    assert [(p["page"], p["index"]) for p in shown["problems"]] == [(1, k)]
    assert [p["blank_id"] for p in shown["pages"]] == [blank_id, page2]
    assert len(shown["state"]["pages"]) == 2  # both pages come back as posted
    assert f'data-page="1" data-region="{k}"' in r.text
    # An empty page is refused on that page.
    r = await save((blank_id, first), (page2, []))
    assert [(p["page"], p["index"]) for p in _data(r.text)["problems"]] == [(1, None)]
    assert "第2页" in r.text

    r = await save((blank_id, first), (page2, regions2))
    assert r.status_code == 303, r.text
    wid = int(r.headers["location"].split("/worksheets/")[1].split("?")[0])
    async with client_for(app, teacher.headers) as api:
        ws = (await api.get(f"/api/v1/worksheets/{wid}")).json()
        layout = (await api.get(f"/api/v1/worksheets/{wid}/layout")).json()
    written = [sum(1 for r in rs if r["kind"] == "written") for rs in (first, regions2)]
    assert len(ws["items"]) == sum(written)
    assert [len(p["regions"]) for p in layout["pages"]] == written
    # Numbered on across the pages.
    assert layout["pages"][1]["regions"][0]["number"] == written[0] + 1
    assert (await browser.get(f"/worksheets/{wid}/template/2.png")).status_code == 200

    # Another teacher's blank cannot be a page of this one.
    other = await make_account(app, "t.pages", password_hash=await hash_password(PASSWORD))
    async with client_for(app) as stranger:
        await _sign_in(stranger, other)
        page = await stranger.get("/worksheets/templates/new")
        r = await stranger.post(f"/worksheets/templates/{blank_id}/pages",
                                data={"csrf_token": _csrf(page.text)},
                                files=[("file", ("p.png", unique_png(), "image/png"))])
        assert r.status_code == 404


OMR_LAYOUT = Path(__file__).parents[1] / "ocr" / "data" / "omr" / "school_sheet.json"


async def test_a_schools_omr_template_is_imported_in_the_editor(
        app: FastAPI, browser: httpx.AsyncClient, teacher: Account) -> None:
    blank_id, _, editor = await _upload_blank(browser)
    token = _csrf(editor)

    async def omr(body: bytes, csrf: str = token) -> httpx.Response:
        return await browser.post(f"/worksheets/templates/{blank_id}/omr",
                                  data={"csrf_token": csrf},
                                  files=[("file", ("template.json", body, "application/json"))])

    r = await omr(OMR_LAYOUT.read_bytes())
    assert r.status_code == 200, r.text
    out = r.json()
    kinds = [x["kind"] for x in out["regions"]]
    assert kinds.count("bubbles") == 25
    assert kinds.count("number_grid") == 1
    assert out["skipped"] == []
    grid = next(x for x in out["regions"] if x["kind"] == "number_grid")
    assert len({g["place"] for g in grid["grid"]}) == 6
    # Taken back as editor state (what the page posts on save).
    EditorRegion.model_validate(grid)
    assert {x["key_kind"] for x in out["regions"] if x["kind"] == "bubbles"} == {
        "choice", "true_false"}

    # Refused files are explained in Chinese, the code kept.
    r = await omr(b"{not json")
    assert r.status_code == 422
    assert r.json()["error"] == "bad_omr_template"
    assert "OMRChecker" in r.json()["message"]
    assert "template.json" in r.json()["message"]
    outside = json.loads(OMR_LAYOUT.read_text())
    outside["pageDimensions"] = [1200, 1600]  # the fields lie past the page it gives
    r = await omr(json.dumps(outside).encode())
    assert r.status_code == 422
    assert r.json()["error"] == "bad_omr_template"
    assert "outside the page" in r.json()["detail"]
    assert (await omr(OMR_LAYOUT.read_bytes(), csrf="forged")).status_code == 403
    r = await browser.post(f"/worksheets/templates/{blank_id}/omr",
                           data={"csrf_token": token},
                           files=[("file", ("t.json", b"x" * (1 << 20 + 1), "application/json"))])
    assert r.status_code in (413, 422)
    assert (await browser.post(f"/worksheets/templates/{blank_id + 999}/omr",
                               data={"csrf_token": token},
                               files=[("file", ("t.json", OMR_LAYOUT.read_bytes(),
                                                "application/json"))])).status_code == 404


async def test_refused_blanks_are_explained_in_chinese(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/worksheets/templates/new")
    token = _csrf(page.text)

    async def upload(files: list[tuple[str, tuple[str, bytes, str]]]) -> httpx.Response:
        return await browser.post("/worksheets/templates/new", data={"csrf_token": token},
                                  files=files)

    white = np.full((2339, 1654), 255, np.uint8)
    r = await upload([("file", ("white.png", _png(white), "image/png"))])
    assert r.status_code == 422
    assert "几乎是空白的" in r.text
    assert "blank" in r.text  # the service's message, under the explanation
    r = await upload([("file", ("x.png", b"not an image at all", "image/png"))])
    assert r.status_code in (415, 422)
    assert 'data-testid="template-upload-error"' in r.text
    assert "这不是扫描件" in r.text
    r = await upload([("file", ("a.png", unique_png(), "image/png")),
                      ("file", ("b.png", unique_png(), "image/png"))])
    assert r.status_code == 422
    assert "一页一页上传" in r.text
    r = await browser.post("/worksheets/templates/new", data={"csrf_token": "forged"},
                           files=[("file", ("a.png", unique_png(), "image/png"))])
    assert r.status_code == 403


async def test_another_teachers_blank_is_not_found(
        app: FastAPI, browser: httpx.AsyncClient, teacher: Account) -> None:
    cid, _ = await _class(app, teacher)
    blank_id, data, _editor = await _upload_blank(browser)
    other = await make_account(app, "t.other", password_hash=await hash_password(PASSWORD))
    async with client_for(app) as stranger:
        await _sign_in(stranger, other)
        assert (await stranger.get(f"/worksheets/templates/{blank_id}")).status_code == 404
        r = await stranger.get(f"/worksheets/templates/{blank_id}/image.png")
        assert r.status_code == 404
        page = await stranger.get("/worksheets/templates/new")
        r = await stranger.post(f"/worksheets/templates/{blank_id}", data={
            "csrf_token": _csrf(page.text), "title": "t", "class_id": str(cid),
            "state": _state(blank_id, _filled(data))})
        assert r.status_code == 404


def test_editor_state_becomes_the_template_body() -> None:
    state = EditorState(pages=[EditorPage(blank_id=7, regions=[
        EditorRegion(kind="name", box=(300, 60, 400, 80)),
        EditorRegion(kind="skip", box=(50, 600, 280, 700), origin="work"),
        EditorRegion(kind="written", box=(100, 100, 160, 120), answer="12", kp=KP,
                     alternatives="12.0， 十二"),
        EditorRegion(kind="bubbles", box=(100, 200, 200, 220), key_kind="true_false",
                     answer="对", kp=KP, bubbles=[(102, 202, 115, 215), (130, 202, 143, 215)]),
        EditorRegion(kind="student_number", box=(420, 60, 520, 80), digits=4),
    ]), EditorPage(blank_id=8, regions=[
        EditorRegion(kind="written", box=(100, 100, 160, 120), answer="3", kp=KP),
        EditorRegion(kind="number_grid", box=(400, 100, 440, 200), label="Roll", grid=[
            GridCell(place=p, digit=d, box=(400 + 12 * p, 100 + 9 * d, 410 + 12 * p,
                                            108 + 9 * d))
            for p in range(3) for d in range(10)]),
    ])])
    built = build_template(state)
    assert built.problems == []
    assert built.sent == [[0, 2, 3, 4], [0, 1]]  # the skipped work area is not sent
    page, second = built.pages
    assert page["blank_id"] == 7
    written, bubbles = page["regions"][1], page["regions"][2]
    assert written["number"] == 1
    assert bubbles["number"] == 2
    assert written["key"] == {"kind": "numeric", "answer": "12", "alternatives": ["12.0", "十二"],
                              "knowledge_points": [KP], "score": 1.0}
    assert [b["label"] for b in bubbles["bubbles"]] == ["T", "F"]
    assert bubbles["key"]["answer"] is True
    assert page["regions"][3]["digits"] == 4
    # Questions are numbered on across the pages; the bubbled 学号 goes as its grid.
    assert second["blank_id"] == 8
    assert second["regions"][0]["number"] == 3
    assert len(second["regions"][1]["grid"]) == 30
    # The body is what the API takes.
    WorksheetCreate(title="t", class_id=1, kind="template", template={"pages": built.pages})


def test_proposed_places_start_as_the_kind_they_suggest() -> None:
    proposed = [ProposedRegionOut(number=1, kind="name", box=(60, 60, 140, 84)),
                ProposedRegionOut(number=2, kind="student_number", box=(200, 60, 280, 84)),
                ProposedRegionOut(number=3, kind="underline", box=(10, 100, 60, 120)),
                ProposedRegionOut(number=4, kind="bubbles", box=(10, 140, 90, 160),
                                  bubbles=[(12, 142, 26, 156), (40, 142, 54, 156)]),
                ProposedRegionOut(number=5, kind="work", box=(10, 170, 200, 300))]
    regions = initial_state(proposed)
    assert [(r.kind, r.key_kind, r.origin) for r in regions] == [
        ("name", "numeric", "name"), ("student_number", "numeric", "student_number"),
        ("written", "numeric", "underline"), ("bubbles", "choice", "bubbles"),
        ("skip", "numeric", "work")]
    assert regions[3].bubbles == [(12, 142, 26, 156), (40, 142, 54, 156)]


def test_imported_sheet_regions_become_the_editors() -> None:
    imported = [
        ImportedRegionOut(label="q1", kind="bubbles", box=(60, 100, 160, 114), number=1,
                          bubbles=[BubbleIn(label=lb, box=(62 + 25 * i, 101, 74 + 25 * i, 113))
                                   for i, lb in enumerate("ABCD")]),
        ImportedRegionOut(label="tf1", kind="bubbles", box=(60, 120, 110, 134), number=1,
                          bubbles=[BubbleIn(label=lb, box=(62 + 25 * i, 121, 74 + 25 * i, 133))
                                   for i, lb in enumerate("FT")]),
        ImportedRegionOut(label="Roll", kind="number_grid", box=(400, 100, 440, 200),
                          grid=[GridBubbleIn(place=p, digit=d, box=(400 + 12 * p, 100 + 9 * d,
                                                                    410 + 12 * p, 108 + 9 * d))
                                for p in range(3) for d in range(10)]),
    ]
    regions = imported_regions(imported)
    assert [(r.kind, r.key_kind, r.label) for r in regions] == [
        ("bubbles", "choice", "q1"), ("bubbles", "true_false", "tf1"),
        ("number_grid", "numeric", "Roll")]
    assert len(regions[0].bubbles) == 4
    assert regions[1].bubbles == [(87, 121, 99, 133), (62, 121, 74, 133)]  # T first
    assert [r.sheet_number for r in regions] == [1, 2, None]  # the layout's order
    assert regions[2].grid[11] == GridCell(place=1, digit=1, box=(412, 109, 422, 117))


def test_editor_checks_and_service_refusals_land_on_regions() -> None:
    state = EditorState(pages=[EditorPage(blank_id=1, regions=[
        EditorRegion(kind="skip", box=(10, 10, 50, 50)),
        EditorRegion(kind="bubbles", box=(100, 200, 200, 220), key_kind="choice", answer="E",
                     kp=KP, bubbles=[(102, 202, 115, 215), (130, 202, 143, 215)]),
        EditorRegion(kind="written", box=(100, 100, 160, 120)),
    ]), EditorPage(blank_id=2, regions=[
        EditorRegion(kind="skip", box=(10, 10, 50, 50)),
        EditorRegion(kind="written", box=(100, 100, 160, 120), answer="5", kp=KP),
    ]), EditorPage(blank_id=3, regions=[EditorRegion(kind="skip", box=(10, 10, 50, 50))])])
    built = build_template(state)
    assert {(p.page, p.index, p.code) for p in built.problems} == {
        (0, 1, "answer_not_a_bubble"), (0, 2, "no_answer"), (0, 2, "no_knowledge_point"),
        (2, None, "empty_page")}
    empty = build_template(EditorState(pages=[EditorPage(blank_id=1)]))
    assert [(p.page, p.code) for p in empty.problems] == [(0, "empty_page"),
                                                          (None, "no_answer_regions")]
    refused = InvalidInput("x", error="invalid_question_bank", errors=[
        {"where": "pages[0].regions[1]", "error": "overlapping_regions", "message": "overlaps"},
        {"where": "pages[1].regions[0]", "error": "region_too_small", "message": "small"},
        {"where": "questions[0] (id 'own-ab12cd-1-1')", "field": "knowledge_points",
         "message": "unknown knowledge point"},
        {"where": "questions[1] (id 'own-ab12cd-2-1')", "field": "knowledge_points",
         "message": "unknown knowledge point"},
        {"where": "pages[1]", "error": "duplicate_identity", "message": "two names"}])
    mapped = problems_from_error(refused, built.sent)
    assert [(p.page, p.index, p.code) for p in mapped] == [
        (0, 2, "overlapping_regions"), (1, 1, "region_too_small"),
        (0, 1, "invalid_question_bank"), (1, 1, "invalid_question_bank"),
        (1, None, "duplicate_identity")]
    assert digits_of(["10201", "10202", "999"]) == 5
    assert digits_of([]) == 4


def test_the_page_as_graded_shows_a_bubbled_student_number() -> None:
    from service.web.templates_editor import PREVIEW_WIDTH_PX, _graded_page

    out = io.BytesIO()
    Image.new("L", (1654, 2339), 255).save(out, format="PNG")
    seat = [400.0, 100.0, 420.0, 120.0]
    png = _graded_page(out.getvalue(), 200 / 72, {"regions": [], "seat_bubbles": [[0, 0, seat]]})
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    k = PREVIEW_WIDTH_PX / 1654 * 200 / 72
    inside = image[round(110 * k), round(410 * k)]
    assert tuple(inside) != (255, 255, 255)  # tinted where the child bubbles a digit
    assert tuple(image[round(300 * k), round(300 * k)]) == (255, 255, 255)
