"""Drill assignments in the browser: created from the worksheets page, uploaded from their
own page for one student (the job carries the student), never printed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from service.auth.passwords import hash_password
from service.db import JobRow, ScanUploadRow
from tests.support.auth import Account, client_for, make_account, unique_png

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(html: str) -> str:
    found = _CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


@pytest.fixture
async def teacher(app: FastAPI) -> Account:
    await make_account(app, "head.drills", admin=True,
                       password_hash=await hash_password(PASSWORD))
    return await make_account(app, "t.drills", password_hash=await hash_password(PASSWORD))


@pytest.fixture
async def browser(app: FastAPI, teacher: Account) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        form = await c.get("/login")
        r = await c.post("/login", data={"username": teacher.username, "password": PASSWORD,
                                         "csrf_token": _csrf(form.text), "next": "/"})
        assert r.status_code == 303, r.text
        yield c


async def test_create_a_drill_and_upload_one_students_pages(
        app: FastAPI, browser: httpx.AsyncClient, teacher: Account) -> None:
    async with client_for(app, teacher.headers) as api:
        cid = (await api.post("/api/v1/classes", json={"name": "二年级(1)班"})).json()["id"]
        r = await api.post(f"/api/v1/classes/{cid}/students",
                           json=[{"student_no": "2101", "name": "王小明"}])
        assert r.status_code == 201, r.text
        sid = (await api.get(f"/api/v1/classes/{cid}")).json()["students"][0]["id"]
    page = await browser.get("/worksheets")
    assert 'data-testid="drill-form"' in page.text
    # No title: the form comes back with the error, nothing created.
    r = await browser.post("/worksheets/new-drill", data={
        "csrf_token": _csrf(page.text), "title": " ", "class_id": str(cid)})
    assert r.status_code == 422
    assert 'id="drill-title-error"' in r.text
    r = await browser.post("/worksheets/new-drill", data={
        "csrf_token": _csrf(page.text), "title": "口算第3天", "class_id": str(cid)})
    assert r.status_code == 303, r.text
    detail = await browser.get(r.headers["location"])
    assert detail.status_code == 200
    assert 'data-testid="drill-upload-form"' in detail.text
    assert 'data-testid="print-card"' not in detail.text  # a drill is not printed
    assert 'data-testid="drill-no-items"' in detail.text
    assert "王小明" in detail.text
    wid = int(re.search(r'name="worksheet_id" value="(\d+)"', detail.text).group(1))  # type: ignore[union-attr]
    listed = await browser.get("/worksheets")
    assert 'data-testid="drill-tag"' in listed.text
    r = await browser.post("/uploads", data={"csrf_token": _csrf(detail.text),
                                             "worksheet_id": str(wid), "student_id": str(sid)},
                           files=[("files", ("p1.png", unique_png(), "image/png"))])
    assert r.status_code == 200, r.text
    async with app.state.session_factory() as s:
        job, upload = (await s.execute(select(JobRow, ScanUploadRow).join(
            ScanUploadRow, ScanUploadRow.job_id == JobRow.id))).one()
    assert job.payload["worksheet_id"] == wid
    assert job.payload["student_id"] == sid
    assert upload.worksheet_hint_id == wid
    # A student of no class of this assignment is refused, nothing stored.
    r = await browser.post("/uploads", data={"csrf_token": _csrf(detail.text),
                                             "worksheet_id": str(wid), "student_id": "99999"},
                           files=[("files", ("p2.png", unique_png(), "image/png"))])
    assert r.status_code == 422, r.text
    async with app.state.session_factory() as s:
        assert len((await s.execute(select(JobRow))).all()) == 1
