"""The upload and job pages over HTTP (the real app, real databases): several files in one
form through the API's ingestion function, the photos one job in file-name order and each
other file its own; a bad file refused alone, a bad photo refusing its group by name, with
a Chinese message; HEIC photos; duplicates linked to the earlier job; the JSON answer the page's script
gets; the job page's progress and page problems explained; the session's event stream.
Browser-level tests are in ``tests/browser/test_uploads.py``."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import pillow_heif
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import select, update

from service.auth.passwords import hash_password
from service.db import JobRow, ScanUploadRow
from service.db.base import utcnow
from service.web import uploads_views
from service.web.i18n import load_catalogue
from service.web.render import TEMPLATE_DIR
from service.web.uploads_views import FileOutcome, error_key
from tests.support.auth import Account, client_for, make_account, unique_png
from tests.support.scans import class_and_sheet

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')



async def _teacher(app: FastAPI, username: str) -> Account:
    return await make_account(app, username, password_hash=await hash_password(PASSWORD))


@pytest.fixture
async def teacher(app: FastAPI) -> Account:
    # An admin who can sign in exists, so /login shows the form (not the first-run page).
    await make_account(app, "head.uploads", admin=True,
                       password_hash=await hash_password(PASSWORD))
    return await _teacher(app, "t.uploads")


@pytest.fixture
async def browser(app: FastAPI, teacher: Account) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as ``teacher``."""
    async with client_for(app) as c:
        await _sign_in(c, teacher.username)
        yield c


async def _sign_in(c: httpx.AsyncClient, username: str) -> None:
    form = await c.get("/login")
    r = await c.post("/login", data={"username": username, "password": PASSWORD,
                                     "csrf_token": _csrf(form.text), "next": "/"})
    assert r.status_code == 303, r.text


def _csrf(html: str) -> str:
    found = _CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


async def _token(c: httpx.AsyncClient) -> str:
    return _csrf((await c.get("/uploads")).text)


def _png_with_ink() -> bytes:
    """A real image with ink but no markbook code (the reader calls it unidentified)."""
    img = Image.new("L", (400, 300), 255)
    for x in range(40, 360):
        for y in (60, 61, 150, 151, 240, 241):
            img.putpixel((x, y), 0)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


async def _jobs(app: FastAPI) -> list[tuple[JobRow, ScanUploadRow]]:
    async with app.state.session_factory() as s:
        rows = await s.execute(select(JobRow, ScanUploadRow)
                               .join(ScanUploadRow, ScanUploadRow.job_id == JobRow.id)
                               .order_by(JobRow.id))
        return [(j, u) for j, u in rows.all()]


async def _set_job(app: FastAPI, job_id: int, **values: Any) -> None:
    async with app.state.session_factory() as s:
        await s.execute(update(JobRow).where(JobRow.id == job_id).values(**values))
        await s.commit()


def _results(html: str) -> list[str]:
    return re.findall(r'<li class="file-result[^"]*"[^>]*>(.*?)</li>', html, re.S)


# ------------------------------------------------------------------ the upload page


async def test_upload_page_lists_my_worksheets_and_preselects_one(
        app: FastAPI, browser: httpx.AsyncClient, teacher: Account) -> None:
    async with client_for(app, teacher.headers) as api:
        sheet = await class_and_sheet(api, students=1, questions=2)
    r = await browser.get("/uploads")
    assert r.status_code == 200
    assert 'data-testid="uploads"' in r.text
    assert re.search(r'<input id="files" name="files" type="file" multiple', r.text)
    assert 'enctype="multipart/form-data"' in r.text
    assert "自动识别" in r.text
    assert "口算练习" in r.text
    assert f'<option value="{sheet.worksheet_id}">' in r.text  # not preselected
    assert "[[" not in r.text
    r = await browser.get(f"/uploads?worksheet_id={sheet.worksheet_id}")
    assert f'<option value="{sheet.worksheet_id}" selected>' in r.text
    # pillow-heif is a dependency: the picker offers HEIC (and ZIP), no JPEG way out needed.
    assert 'data-testid="heic-note"' not in r.text
    assert ".heic,.heif,image/heic" in r.text
    assert ".zip" in r.text
    assert "HEIC" in r.text


async def test_signed_out_upload_page_goes_to_sign_in(app: FastAPI) -> None:
    async with client_for(app) as c:
        r = await c.get("/uploads")
        assert r.status_code == 303
        assert r.headers["location"].startswith("/login")
        r = await c.post("/uploads", files={"files": ("a.png", unique_png(), "image/png")})
        assert r.status_code == 303
    assert await _jobs(app) == []


def _photo_names(app: FastAPI, upload: ScanUploadRow) -> list[str]:
    with zipfile.ZipFile(app.state.storage.path(upload.storage_key)) as z:
        return [i.filename for i in z.infolist()]


async def test_photos_are_one_job_and_a_bad_file_is_refused_alone(
        app: FastAPI, browser: httpx.AsyncClient, teacher: Account) -> None:
    token = await _token(browser)
    files = [("files", ("第一页.png", unique_png(), "image/png")),
             ("files", ("notes.pdf", b"this is not a scan at all", "application/pdf")),
             ("files", ("class.pdf", _pdf(), "application/pdf")),
             ("files", ("第二页.png", unique_png(), "image/png"))]
    r = await browser.post("/uploads", data={"csrf_token": token, "worksheet_id": ""},
                           files=files)
    assert r.status_code == 200, r.text
    results = _results(r.text)
    assert len(results) == 3
    assert "第一页.png +1" in results[0]
    assert "已收到 2 张照片，合成一份作业" in results[0]
    assert "notes.pdf" in results[1]
    assert "这不是扫描件" in results[1]
    assert 'data-ok="false"' in r.text
    assert "class.pdf" in results[2]
    assert "已收到" in results[2]
    jobs = await _jobs(app)
    assert [u.filename for _, u in jobs] == ["第一页.png +1", "class.pdf"]
    assert [j.pages_total for j, _ in jobs] == [2, 1]
    assert _photo_names(app, jobs[0][1]) == ["0001-第一页.png", "0002-第二页.png"]
    assert all(j.status == "queued" and u.teacher_id == teacher.teacher_id for j, u in jobs)
    for job, _ in jobs:
        assert f'href="/jobs/{job.id}"' in r.text
    # The same jobs through the API: the page used the same ingestion.
    async with client_for(app, teacher.headers) as api:
        listed = (await api.get("/api/v1/jobs")).json()
    assert sorted(j["id"] for j in listed) == sorted(j.id for j, _ in jobs)


def _pdf() -> bytes:
    out = io.BytesIO()
    Image.new("L", (300, 400), 255).save(out, format="PDF")
    return out.getvalue()


async def test_photos_are_in_file_name_order_not_the_order_sent(
        app: FastAPI, browser: httpx.AsyncClient) -> None:
    token = await _token(browser)
    names = ["IMG_10.png", "IMG_9.png", "IMG_2.png", "img_100.png"]
    r = await browser.post("/uploads", data={"csrf_token": token},
                           files=[("files", (n, unique_png(), "image/png")) for n in names],
                           headers={"Accept": "application/json"})
    assert r.status_code == 202, r.text
    (f,) = r.json()["files"]
    assert f["files"] == 4
    assert f["filename"] == "IMG_2.png +3"
    (_, upload), = await _jobs(app)
    assert _photo_names(app, upload) == ["0001-IMG_2.png", "0002-IMG_9.png", "0003-IMG_10.png",
                                         "0004-img_100.png"]


async def test_too_many_files_at_once(app: FastAPI, browser: httpx.AsyncClient) -> None:
    token = await _token(browser)
    r = await browser.post("/uploads", data={"csrf_token": token},
                           files=[("files", (f"p{i}.png", b"x", "image/png"))
                                  for i in range(201)],
                           headers={"Accept": "application/json"})
    assert r.status_code == 400, r.text
    assert "more than 200 files at once" in r.text, r.text[:2000]
    assert await _jobs(app) == []


async def test_a_duplicate_says_so_and_links_to_the_earlier_job(
        app: FastAPI, browser: httpx.AsyncClient) -> None:
    token = await _token(browser)
    png = unique_png()
    first = await browser.post("/uploads", data={"csrf_token": token},
                               files={"files": ("scan.png", png, "image/png")})
    assert first.status_code == 200
    (job, _), = await _jobs(app)
    again = await browser.post("/uploads", data={"csrf_token": token},
                               files={"files": ("again.png", png, "image/png")})
    assert again.status_code == 200
    (result,) = _results(again.text)
    assert "之前已经上传过" in result
    assert f'href="/jobs/{job.id}"' in result
    assert len(await _jobs(app)) == 1


async def test_the_scripts_per_file_request_gets_json(
        app: FastAPI, browser: httpx.AsyncClient) -> None:
    token = await _token(browser)
    ok = await browser.post("/uploads", data={"csrf_token": token},
                            files={"files": ("a.png", unique_png(), "image/png")},
                            headers={"Accept": "application/json"})
    assert ok.status_code == 202, ok.text
    (f,) = ok.json()["files"]
    assert f["ok"] is True
    assert f["job_url"] == f"/jobs/{f['job_id']}"
    assert f["message"].startswith("已收到")
    bad = await browser.post("/uploads", data={"csrf_token": token},
                             files={"files": ("a.txt", b"just some text, not a scan", "x/y")},
                             headers={"Accept": "application/json"})
    assert bad.status_code == 415
    (f,) = bad.json()["files"]
    assert f["ok"] is False
    assert f["error"] == "unsupported_file"
    assert f["job_id"] is None
    assert "PDF、TIFF、JPEG、PNG" in f["message"]
    empty = await browser.post("/uploads", data={"csrf_token": token},
                               files={"files": ("empty.pdf", b"", "application/pdf")},
                               headers={"Accept": "application/json"})
    assert empty.status_code == 400
    assert empty.json()["files"][0]["error"] == "empty_file"


def _heic() -> bytes:
    pillow_heif.register_heif_opener()
    page = np.full((400, 300, 3), 255, np.uint8)
    page[40:120, 40:120] = 0
    out = io.BytesIO()
    Image.fromarray(page).save(out, format="HEIF", quality=90)
    return out.getvalue()


async def test_heic_photos_are_accepted_and_a_corrupt_one_is_named(
        app: FastAPI, browser: httpx.AsyncClient) -> None:
    heic = _heic()
    token = await _token(browser)
    r = await browser.post("/uploads", data={"csrf_token": token},
                           files=[("files", ("IMG_0001.HEIC", heic, "image/heic")),
                                  ("files", ("IMG_0002.png", unique_png(), "image/png"))])
    assert r.status_code == 200
    (result,) = _results(r.text)
    assert "已收到 2 张照片" in result
    (job, upload), = await _jobs(app)
    assert job.pages_total == 2
    assert upload.content_type == "application/zip"
    # A photo that says it is HEIC but cannot be read: the group is refused, naming it.
    broken = heic[:40] + b"\x07" * 400
    r = await browser.post("/uploads", data={"csrf_token": token},
                           files=[("files", ("IMG_0003.png", unique_png(), "image/png")),
                                  ("files", ("IMG_0004.HEIC", broken, "image/heic"))])
    assert r.status_code == 422
    (result,) = _results(r.text)
    assert "文件已损坏" in result
    assert "出问题的是第 2 个文件“IMG_0004.HEIC”" in result
    assert "都没有保存" in result
    assert len(await _jobs(app)) == 1
    assert list((app.state.storage.root / "tmp").glob("*")) == []


async def test_a_file_over_the_limit_is_refused_alone(
        app: FastAPI, browser: httpx.AsyncClient) -> None:
    app.state.settings.limits.max_upload_mb = 1
    token = await _token(browser)
    big = b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10)
    r = await browser.post("/uploads", data={"csrf_token": token},
                           files=[("files", ("big.pdf", big, "application/pdf")),
                                  ("files", ("ok.png", unique_png(), "image/png"))])
    assert r.status_code == 200
    big_result, ok_result = _results(r.text)
    assert "文件太大" in big_result
    assert "已收到" in ok_result
    assert [u.filename for _, u in await _jobs(app)] == ["ok.png"]


async def test_no_file_chosen_says_so(browser: httpx.AsyncClient) -> None:
    token = await _token(browser)
    r = await browser.post("/uploads", data={"csrf_token": token},
                           files={"files": ("", b"", "application/octet-stream")})
    assert r.status_code == 400
    assert 'data-testid="no-files"' in r.text


async def test_without_the_csrf_token_nothing_is_stored(
        app: FastAPI, browser: httpx.AsyncClient) -> None:
    r = await browser.post("/uploads", data={"csrf_token": "forged"},
                           files={"files": ("a.png", unique_png(), "image/png")})
    assert r.status_code == 403
    assert await _jobs(app) == []
    async with app.state.session_factory() as s:
        assert (await s.execute(select(ScanUploadRow))).first() is None


async def test_another_teachers_worksheet_is_not_found(
        app: FastAPI, browser: httpx.AsyncClient) -> None:
    other = await _teacher(app, "t.other")
    async with client_for(app, other.headers) as api:
        sheet = await class_and_sheet(api, students=1, questions=2)
    token = await _token(browser)
    r = await browser.post("/uploads", data={"csrf_token": token,
                                             "worksheet_id": str(sheet.worksheet_id)},
                           files={"files": ("a.png", unique_png(), "image/png")})
    assert r.status_code == 404
    assert "口算练习" not in r.text
    assert await _jobs(app) == []


# ------------------------------------------------------------------ the job pages


async def _one_job(browser: httpx.AsyncClient, app: FastAPI) -> int:
    token = await _token(browser)
    r = await browser.post("/uploads", data={"csrf_token": token},
                           files={"files": ("班级作业.png", _png_with_ink(), "image/png")})
    assert r.status_code == 200
    (job, _), = await _jobs(app)
    return job.id


async def test_a_running_job_refreshes_itself_without_script(
        app: FastAPI, browser: httpx.AsyncClient) -> None:
    job_id = await _one_job(browser, app)
    await _set_job(app, job_id, status="running", pages_total=4, pages_done=1)
    r = await browser.get(f"/jobs/{job_id}")
    assert r.status_code == 200
    assert 'data-testid="job"' in r.text
    assert "班级作业.png" in r.text
    assert "处理中" in r.text
    assert re.search(r'<progress[^>]*data-testid="job-bar"[^>]*max="4" value="1"', r.text)
    assert "1/4 页" in r.text
    assert '<noscript><meta http-equiv="refresh"' in r.text
    assert "data-live" in r.text
    listing = await browser.get("/uploads")
    assert '<noscript><meta http-equiv="refresh"' in listing.text
    await _set_job(app, job_id, status="done", pages_done=4, finished_at=utcnow())
    r = await browser.get(f"/jobs/{job_id}")
    assert 'http-equiv="refresh"' not in r.text
    assert 'data-testid="no-problems"' in r.text


async def test_page_problems_are_explained_with_what_to_do(
        app: FastAPI, browser: httpx.AsyncClient) -> None:
    job_id = await _one_job(browser, app)
    problems = [
        {"page_index": 2, "status": "unknown_student",
         "problem": "the page names student 9, who is not on this class's roster"},
        {"page_index": 0, "status": "unidentified", "problem": "no readable page code (QR)"},
        {"page_index": 1, "status": "duplicate", "problem": "page 1 was already scanned"},
    ]
    await _set_job(app, job_id, status="partially_done", pages_total=3, pages_done=3,
                   problems=problems, finished_at=utcnow())
    r = await browser.get(f"/jobs/{job_id}")
    assert r.status_code == 200
    found = re.findall(r'data-testid="problem" data-status="(\w+)" data-page="(\d+)"', r.text)
    assert found == [("unidentified", "1"), ("duplicate", "2"), ("unknown_student", "3")]
    assert "没有找到作业二维码" in r.text
    assert "重新扫描" in r.text
    assert "这一页重复了" in r.text
    assert "学生不在名单上" in r.text
    assert 'href="/review?kind=unknown_student"' in r.text
    assert 'href="/review?kind=unidentified"' in r.text
    assert "[[" not in r.text
    listing = await browser.get("/uploads")
    assert "3 页需处理" in listing.text


async def test_a_file_that_failed_to_read_is_explained(
        app: FastAPI, browser: httpx.AsyncClient) -> None:
    job_id = await _one_job(browser, app)
    await _set_job(app, job_id, status="failed", error="corrupt_file: the PDF cannot be read",
                   finished_at=utcnow())
    r = await browser.get(f"/jobs/{job_id}")
    assert 'data-testid="job-failure"' in r.text
    assert "文件已损坏" in r.text


async def test_the_event_stream_follows_the_job_for_the_session(
        app: FastAPI, browser: httpx.AsyncClient) -> None:
    job_id = await _one_job(browser, app)
    await _set_job(app, job_id, status="done", pages_total=1, pages_done=1,
                   finished_at=utcnow())
    r = await browser.get(f"/jobs/{job_id}/events")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert f'event: progress\ndata: {{"id":{job_id},"status":"done"' in r.text
    assert r.text.endswith("event: end\ndata: {}\n\n")


async def test_another_teachers_job_is_not_found(
        app: FastAPI, browser: httpx.AsyncClient) -> None:
    job_id = await _one_job(browser, app)
    other = await _teacher(app, "t.nosy")
    async with client_for(app) as c:
        await _sign_in(c, other.username)
        for url in (f"/jobs/{job_id}", f"/jobs/{job_id}/events"):
            r = await c.get(url)
            assert r.status_code == 404, url
            assert "班级作业" not in r.text
        assert "班级作业" not in (await c.get("/uploads")).text


# ------------------------------------------------------------------ messages


def test_every_uploads_message_exists_in_both_languages() -> None:
    catalogue = load_catalogue()
    zh, en = (set(catalogue.languages[lang]) for lang in ("zh-CN", "en"))
    used = set()
    for template in (TEMPLATE_DIR / "uploads").glob("*.html"):
        used |= {k for k in re.findall(r'_\([\'"]([a-z_.\-]+)[\'"]', template.read_text("utf-8"))
                 if not k.endswith(".")}
    # Keys built from data: every error code and page problem the views can name.
    used |= {error_key(code, "") for code in uploads_views._KNOWN_ERRORS}
    used |= {error_key("unsupported_file", "HEIC support is not installed"),
             error_key("some_new_code", ""), "uploads.job.error.internal",
             FileOutcome("a").message_key, FileOutcome("a", duplicate=True).message_key,
             FileOutcome("a", files=2).message_key}
    for status in (*uploads_views._PROBLEMS, "other"):
        used |= {f"uploads.problem.{status}.title", f"uploads.problem.{status}.todo"}
    # Every key used is there in both languages, and no key of the area is left unused.
    assert used - zh == set()
    assert used - en == set()
    assert {k for k in zh if k.startswith("uploads.")} - used == set()


async def test_the_pages_in_english(app: FastAPI, browser: httpx.AsyncClient) -> None:
    job_id = await _one_job(browser, app)
    await _set_job(app, job_id, status="partially_done", finished_at=utcnow(), problems=[
        {"page_index": 0, "status": "unidentified", "problem": "no code"}])
    browser.cookies.set("lang", "en")
    r = await browser.get("/uploads")
    assert "Upload scans" in r.text
    assert "[[" not in r.text
    r = await browser.get(f"/jobs/{job_id}")
    assert "No markbook code found" in r.text
    assert "[[" not in r.text
