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
from service.schemas.templates import ProposedRegionOut
from service.web.templates_body import (
    EditorRegion,
    EditorState,
    build_template,
    digits_of,
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
    """The editor's regions as a teacher leaves them: the 班级 line dropped, the 姓名 and
    学号 lines marked, every other written place given an answer."""
    regions = [dict(r) for r in data["state"]["regions"]]
    header = [r for r in regions if r["box"][1] < 100]
    assert len(header) == 3, header  # 班级 / 姓名 / 学号 underlines of the title block
    regions.remove(header[0])
    header[1]["kind"] = "name"
    header[2] |= {"kind": "student_number", "digits": 5}
    for i, r in enumerate(regions):
        if r["kind"] == "written":
            r |= {"answer": str(10 + i), "kp": KP, "key_kind": "numeric"}
    return regions


async def test_upload_a_blank_edit_it_and_save_a_template(
        app: FastAPI, browser: httpx.AsyncClient, teacher: Account) -> None:
    cid, sid = await _class(app, teacher)
    listed = await browser.get("/worksheets")
    assert 'href="/worksheets/templates/new"' in listed.text
    assert "用自己的练习纸（上传空白页）" in listed.text
    blank_id, data, editor = await _upload_blank(browser)
    assert 'data-testid="template-editor"' in editor
    assert f'src="/worksheets/templates/{blank_id}/image.png"' in editor
    assert data["width_pt"] == pytest.approx(595, abs=2)
    kinds = [r["kind"] for r in data["state"]["regions"]]
    # Proposed underlines, boxes and brackets start written; 竖式 work areas not graded.
    assert kinds.count("written") >= 12
    assert "skip" in kinds
    assert all(r["kind"] == "skip" for r in data["state"]["regions"] if r["origin"] == "work")
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
        "state": json.dumps({"regions": regions})})
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
            "state": json.dumps({"regions": regions})})

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
    assert _data(r.text)["state"]["regions"][first + 1]["answer"] == regions[first + 1]["answer"]

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
    assert [p["index"] for p in problems(r)] == [None]
    # Nothing of the refused saves was kept: no worksheet, no question made from a key.
    async with client_for(app, teacher.headers) as api:
        assert (await api.get("/api/v1/worksheets")).json() == []
    async with app.state.session_factory() as s:
        made = await s.scalars(select(QuestionRow.external_id)
                               .where(QuestionRow.external_id.like("own-%")))
        assert list(made) == []


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
            "state": json.dumps({"regions": _filled(data)})})
        assert r.status_code == 404


def test_editor_state_becomes_the_template_body() -> None:
    state = EditorState(regions=[
        EditorRegion(kind="name", box=(300, 60, 400, 80)),
        EditorRegion(kind="skip", box=(50, 600, 280, 700), origin="work"),
        EditorRegion(kind="written", box=(100, 100, 160, 120), answer="12", kp=KP,
                     alternatives="12.0， 十二"),
        EditorRegion(kind="bubbles", box=(100, 200, 200, 220), key_kind="true_false",
                     answer="对", kp=KP, bubbles=[(102, 202, 115, 215), (130, 202, 143, 215)]),
        EditorRegion(kind="student_number", box=(420, 60, 520, 80), digits=4),
    ])
    built = build_template(state, 7)
    assert built.problems == []
    assert built.sent == [0, 2, 3, 4]  # the skipped work area is not sent
    page = built.page
    assert page["blank_id"] == 7
    written, bubbles = page["regions"][1], page["regions"][2]
    assert written["number"] == 1
    assert bubbles["number"] == 2
    assert written["key"] == {"kind": "numeric", "answer": "12", "alternatives": ["12.0", "十二"],
                              "knowledge_points": [KP], "score": 1.0}
    assert [b["label"] for b in bubbles["bubbles"]] == ["T", "F"]
    assert bubbles["key"]["answer"] is True
    assert page["regions"][3]["digits"] == 4
    # The body is what the API takes.
    WorksheetCreate(title="t", class_id=1, kind="template", template={"pages": [page]})


def test_proposed_places_start_as_the_kind_they_suggest() -> None:
    proposed = [ProposedRegionOut(number=1, kind="underline", box=(10, 10, 60, 30)),
                ProposedRegionOut(number=2, kind="bubbles", box=(10, 40, 90, 60),
                                  bubbles=[(12, 42, 26, 56), (40, 42, 54, 56)]),
                ProposedRegionOut(number=3, kind="work", box=(10, 70, 200, 200))]
    state = initial_state(proposed)
    assert [(r.kind, r.key_kind, r.origin) for r in state.regions] == [
        ("written", "numeric", "underline"), ("bubbles", "choice", "bubbles"),
        ("skip", "numeric", "work")]
    assert state.regions[1].bubbles == [(12, 42, 26, 56), (40, 42, 54, 56)]


def test_editor_checks_and_service_refusals_land_on_regions() -> None:
    state = EditorState(regions=[
        EditorRegion(kind="skip", box=(10, 10, 50, 50)),
        EditorRegion(kind="bubbles", box=(100, 200, 200, 220), key_kind="choice", answer="E",
                     kp=KP, bubbles=[(102, 202, 115, 215), (130, 202, 143, 215)]),
        EditorRegion(kind="written", box=(100, 100, 160, 120)),
    ])
    built = build_template(state, 1)
    assert {(p.index, p.code) for p in built.problems} == {
        (1, "answer_not_a_bubble"), (2, "no_answer"), (2, "no_knowledge_point")}
    assert build_template(EditorState(regions=[]), 1).problems[0].code == "no_answer_regions"
    refused = InvalidInput("x", error="invalid_question_bank", errors=[
        {"where": "pages[0].regions[1]", "error": "overlapping_regions", "message": "overlaps"},
        {"where": "questions[0] (id 'own-ab12cd-1-1')", "field": "knowledge_points",
         "message": "unknown knowledge point"}])
    mapped = problems_from_error(refused, built.sent)
    assert [(p.index, p.code) for p in mapped] == [(2, "overlapping_regions"),
                                                  (1, "invalid_question_bank")]
    assert digits_of(["10201", "10202", "999"]) == 5
    assert digits_of([]) == 4
