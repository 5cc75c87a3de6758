"""Missing pages on the teacher's pages (the real app, real databases): the job page names
each student whose copy lacked a page (张三 缺第 2 页) with a count at the top, and the
results page counts 未交 and 缺页 apart. The job runner is off: pages are stored directly
on an uploaded job's upload, as the pipeline stores them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from service.auth.passwords import hash_password
from service.db import JobRow, PageRow, ScanUploadRow
from service.db.base import utcnow
from tests.support.auth import Account, client_for, make_account, unique_png
from tests.support.scans import ClassSheet, class_and_sheet

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def teacher(app: FastAPI) -> Account:
    await make_account(app, "head.pages", admin=True,
                       password_hash=await hash_password(PASSWORD))
    return await make_account(app, "t.pages", password_hash=await hash_password(PASSWORD))


@pytest.fixture
async def browser(app: FastAPI, teacher: Account) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        form = await c.get("/login")
        found = _CSRF.search(form.text)
        assert found, form.text[:300]
        r = await c.post("/login", data={"username": teacher.username, "password": PASSWORD,
                                         "csrf_token": found.group(1), "next": "/"})
        assert r.status_code == 303, r.text
        yield c


@pytest.fixture
async def sheet(app: FastAPI, teacher: Account) -> ClassSheet:
    async with client_for(app, teacher.headers) as api:
        sheet = await class_and_sheet(api, students=3, questions=30)
        assert (await api.get(f"/api/v1/worksheets/{sheet.worksheet_id}")
                ).json()["page_count"] == 2
        return sheet


async def _job(app: FastAPI, browser: httpx.AsyncClient) -> tuple[int, int]:
    """One uploaded job (the runner is off) and its upload."""
    token = _CSRF.search((await browser.get("/uploads")).text)
    assert token
    r = await browser.post("/uploads", data={"csrf_token": token.group(1)},
                           files={"files": ("二页作业.png", unique_png(), "image/png")})
    assert r.status_code == 200
    async with app.state.session_factory() as s:
        job_id, upload_id = (await s.execute(
            select(JobRow.id, ScanUploadRow.id)
            .join(ScanUploadRow, ScanUploadRow.job_id == JobRow.id)
            .order_by(JobRow.id.desc()).limit(1))).one()
    return int(job_id), int(upload_id)


async def _store(app: FastAPI, upload_id: int, sheet: ClassSheet,
                 pages: list[tuple[int, int]]) -> None:
    """Store (student id, page number) pages of the upload as the pipeline does."""
    async with app.state.session_factory() as s:
        for index, (student_id, page_no) in enumerate(pages):
            s.add(PageRow(upload_id=upload_id, page_index=index, worksheet_id=sheet.worksheet_id,
                          page_no=page_no, student_id=student_id, student_source="qr",
                          status="graded"))
        await s.commit()


async def _finish(app: FastAPI, job_id: int, pages: int) -> None:
    async with app.state.session_factory() as s:
        await s.execute(update(JobRow).where(JobRow.id == job_id).values(
            status="done", pages_total=pages, pages_done=pages,
            finished_at=utcnow()))
        await s.commit()


def _no_gaps(r: httpx.Response) -> None:
    assert r.status_code == 200, r.text[:500]
    assert "[[" not in r.text, re.findall(r"\[\[[^\]]*\]\]", r.text)


async def test_the_job_and_results_pages_say_which_page_is_missing(
        app: FastAPI, browser: httpx.AsyncClient, sheet: ClassSheet) -> None:
    whole, partial, absent = sheet.student_ids
    job_id, upload_id = await _job(app, browser)
    await _store(app, upload_id, sheet, [(whole, 1), (whole, 2), (partial, 1)])

    # While the job runs nothing is said about missing pages.
    async with app.state.session_factory() as s:
        await s.execute(update(JobRow).where(JobRow.id == job_id).values(status="running"))
        await s.commit()
    r = await browser.get(f"/jobs/{job_id}")
    _no_gaps(r)
    assert 'data-testid="job-missing"' not in r.text

    await _finish(app, job_id, 3)
    r = await browser.get(f"/jobs/{job_id}")
    _no_gaps(r)
    assert "学生2 缺第 2 页" in r.text
    assert "1 位学生共缺 1 页" in r.text
    found = re.findall(r'data-testid="job-missing-student" data-student-id="(\d+)"', r.text)
    assert found == [str(partial)]
    assert 'data-testid="job-missing-completed"' not in r.text
    # The count comes before the page problems.
    assert r.text.index('data-testid="job-missing"') < r.text.index('data-testid="job-problems"')

    r = await browser.get(f"/worksheets/{sheet.worksheet_id}/results")
    _no_gaps(r)
    assert re.search(r'data-testid="summary-missing" data-count="1">1 人<', r.text)
    assert re.search(r'data-testid="summary-incomplete" data-count="1">1 人<', r.text)
    assert re.findall(r'data-testid="incomplete-student" data-student-id="(\d+)"', r.text) \
        == [str(partial)]
    assert "学生2 缺第 2 页" in r.text
    row = re.search(rf'data-student-id="{partial}" data-submitted="yes">.*?</tr>', r.text, re.S)
    assert row
    assert "缺第 2 页" in row.group(0)
    assert re.findall(r'data-testid="missing-student" data-student-id="(\d+)"', r.text) \
        == [str(absent)]

    browser.cookies.set("lang", "en")
    r = await browser.get(f"/jobs/{job_id}")
    _no_gaps(r)
    assert "学生2: page 2 missing" in r.text
    r = await browser.get(f"/worksheets/{sheet.worksheet_id}/results")
    _no_gaps(r)
    assert "Pages missing" in r.text
    browser.cookies.set("lang", "zh-CN")

    # Page 2 comes in a second upload: the results are whole, the first job says so.
    job2, upload2 = await _job(app, browser)
    await _store(app, upload2, sheet, [(partial, 2)])
    await _finish(app, job2, 1)
    r = await browser.get(f"/jobs/{job2}")
    _no_gaps(r)
    assert 'data-testid="job-missing-none"' in r.text
    r = await browser.get(f"/jobs/{job_id}")
    _no_gaps(r)
    assert "学生2 缺第 2 页" in r.text
    assert 'data-testid="job-missing-completed"' in r.text
    assert "之后已补交" in r.text
    r = await browser.get(f"/worksheets/{sheet.worksheet_id}/results")
    _no_gaps(r)
    assert re.search(r'data-testid="summary-incomplete" data-count="0">0 人<', r.text)
    assert 'data-testid="incomplete-student"' not in r.text
    assert 'data-testid="row-missing-pages"' not in r.text
