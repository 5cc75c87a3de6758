"""Per-student read-only links over HTTP (the real app, real databases): a teacher issues,
re-issues and revokes them, and prints slips; the public page a link opens shows that one
student's name, error-book entries and mastery and their error book PDF, and nothing of
anyone else; a revoked or guessed link is the plain 404 page; lookups are rate-limited;
the token is stored only as a hash and never logged."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import AsyncIterator

import httpx
import pypdfium2 as pdfium
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from service.db import StudentLinkRow
from service.mastery.sync import sync_answers
from service.web import learner
from service.web.i18n import LANGUAGES
from tests.support.auth import Account, audit_rows, client_for
from tests.support.review import Read, Sheet, make_sheet, seed_page
from tests.web.test_pages import _account, assert_translated, csrf, sign_in

OTHERS = ("王小明", "张伟", "赵敏")  # 李华's classmates



@pytest.fixture
async def owner(app: FastAPI) -> Account:
    await _account(app, "head.teacher", admin=True)
    return await _account(app, "wang.li")


@pytest.fixture
async def sheet(app: FastAPI, owner: Account) -> Sheet:
    """A graded class: 李华 and 王小明 each got different questions wrong; mastery and
    error-book entries brought in line with the grades as the scan pipeline does."""
    async with client_for(app, owner.headers) as api:
        sheet = await make_sheet(api)
        await seed_page(api, sheet, "李华", {"m3-add-001": Read("75"),
                                             "m3-add-006": Read(marked=("A",))})
        await seed_page(api, sheet, "王小明", {"m3-div-003": Read(blanks=("1", "1")),
                                               "m3-word-001": Read("100")})
    async with app.state.session_factory() as s:
        await sync_answers(s, sheet.responses.values())
        await s.commit()
    return sheet


@pytest.fixture
async def browser(app: FastAPI, owner: Account) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        assert (await sign_in(c, owner.username)).status_code == 303
        yield c


def _slip_urls(html: str) -> dict[int, str]:
    return {int(sid): url for sid, url in re.findall(
        r'data-testid="slip" data-student-id="(\d+)">.*?data-testid="slip-url">([^<]+)<',
        html, re.S)}


def _path(url: str) -> str:
    assert url.startswith("http://test/s/"), url
    return url.removeprefix("http://test")


async def _issue(browser: httpx.AsyncClient, class_id: int, student_id: int) -> str:
    page = await browser.get(f"/classes/{class_id}/links")
    r = await browser.post(f"/classes/{class_id}/links/{student_id}",
                           data={"csrf_token": csrf(page)})
    assert r.status_code == 200, r.text[:300]
    urls = _slip_urls(r.text)
    assert list(urls) == [student_id]
    return _path(urls[student_id])


async def _anonymous(app: FastAPI, path: str) -> httpx.Response:
    async with client_for(app) as c:  # a fresh browser: no session, no cookies
        return await c.get(path)


def _pdf_text(data: bytes) -> str:
    doc = pdfium.PdfDocument(data)
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def _without_csrf(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)


# ------------------------------------------------------------------ the public page


async def test_a_link_opens_only_that_students_page(app: FastAPI, browser: httpx.AsyncClient,
                                                    sheet: Sheet, owner: Account) -> None:
    li, ming = sheet.students["李华"], sheet.students["王小明"]
    page = await browser.get(f"/classes/{sheet.class_id}/links")
    assert page.status_code == 200
    assert re.findall(r'data-testid="link-row" data-student-id="\d+" data-active="(\w+)"',
                      page.text) == ["no"] * 4
    assert "重新生成会让旧链接失效" in page.text
    r = await browser.post(f"/classes/{sheet.class_id}/links/{li}",
                           data={"csrf_token": csrf(page)})
    assert r.status_code == 200
    assert r.headers["referrer-policy"] == "no-referrer"
    assert 'data-testid="slips-once"' in r.text
    assert '<svg width="' in r.text  # the QR code, inline
    path = _path(_slip_urls(r.text)[li])
    token = path.removeprefix("/s/")
    assert len(token) >= 32  # 24 random bytes: 192 bits
    # Only the token's SHA-256 is stored.
    async with app.state.session_factory() as s:
        [row] = (await s.execute(select(StudentLinkRow))).scalars().all()
    assert row.student_id == li
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(row.__dict__)
    assert row.last_used_at is None
    # A fresh browser, no session: 李华's page and nobody else's.
    view = await _anonymous(app, path)
    assert view.status_code == 200, view.text[:300]
    assert view.headers["referrer-policy"] == "no-referrer"
    assert view.headers["cache-control"] == "no-store"
    html = view.text
    assert 'data-testid="learner"' in html
    assert '<h1 data-testid="learner-name">李华</h1>' in html
    for name in OTHERS:
        assert name not in html
    assert "wang.li" not in html  # nor the teacher
    assert 'data-testid="nav"' not in html
    assert 'data-testid="sign-out"' not in html
    assert "style=" not in html
    async with client_for(app, owner.headers) as api:
        mine = (await api.get(f"/api/v1/students/{li}/progress")).json()
        theirs = (await api.get(f"/api/v1/students/{ming}/progress")).json()
        mastery = (await api.get(f"/api/v1/students/{li}/mastery")).json()
    assert mine["entries_open"] == 2
    assert theirs["entries"]
    shown = [int(i) for i in re.findall(r'data-testid="entry" data-entry-id="(\d+)"', html)]
    assert sorted(shown) == sorted(e["id"] for e in mine["entries"])
    assert not set(shown) & {e["id"] for e in theirs["entries"]}
    for e in theirs["entries"]:
        assert e["stem"] not in html
    assert re.search(r'data-testid="count-open"><span class="n">2</span>', html)
    assert re.findall(r'data-testid="kp-row" data-code="([^"]+)"', html) == \
        [k["code"] for k in mastery["knowledge_points"]]
    assert f'href="{path}/errorbook.pdf"' in html
    assert_translated(view)
    # The teacher sees that it was used.
    async with app.state.session_factory() as s:
        row = (await s.execute(select(StudentLinkRow))).scalar_one()
    assert row.last_used_at is not None
    page = await browser.get(f"/classes/{sheet.class_id}/links")
    assert "最近打开" in page.text
    assert re.search(rf'data-student-id="{li}" data-active="yes"', page.text)


async def test_the_pdf_is_that_students_error_book(app: FastAPI, browser: httpx.AsyncClient,
                                                   sheet: Sheet, owner: Account) -> None:
    li = sheet.students["李华"]
    path = await _issue(browser, sheet.class_id, li)
    r = await _anonymous(app, f"{path}/errorbook.pdf")
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert 'filename="errorbook-002.pdf"' in r.headers["content-disposition"]
    text = _pdf_text(r.content)
    assert "李华" in text
    for name in OTHERS:
        assert name not in text
    # The very book the teacher prints for 李华 without the key (the same book, reused); the
    # practice key stays with the teacher.
    async with client_for(app, owner.headers) as api:
        teachers = await api.get(f"/api/v1/students/{li}/errorbook.pdf?answer_key=none")
        with_key = await api.get(f"/api/v1/students/{li}/errorbook.pdf")
    assert teachers.status_code == 200
    assert _pdf_text(teachers.content) == text
    assert _pdf_text(with_key.content) != text
    exports = await audit_rows(app, "errorbook.export")
    assert [(e.target_type, e.target_id) for e in exports] == [("student", li)] * 3


# ------------------------------------------------------------------ revoking, re-issuing


async def test_revoking_and_reissuing_work_at_once(app: FastAPI, browser: httpx.AsyncClient,
                                                   sheet: Sheet) -> None:
    li, ming = sheet.students["李华"], sheet.students["王小明"]
    first = await _issue(browser, sheet.class_id, li)
    assert (await _anonymous(app, first)).status_code == 200
    page = await browser.get(f"/classes/{sheet.class_id}/links")
    r = await browser.post(f"/classes/{sheet.class_id}/links/{li}/revoke",
                           data={"csrf_token": csrf(page)})
    assert r.status_code == 303
    assert r.headers["location"] == f"/classes/{sheet.class_id}/links?done=revoked#student-{li}"
    for path in (first, f"{first}/errorbook.pdf"):
        gone = await _anonymous(app, path)
        assert gone.status_code == 404
        assert "李华" not in gone.text
    # Re-issuing makes a new link and stops the old one.
    second = await _issue(browser, sheet.class_id, li)
    third = await _issue(browser, sheet.class_id, li)
    assert len({first, second, third}) == 3
    assert (await _anonymous(app, second)).status_code == 404
    assert (await _anonymous(app, third)).status_code == 200
    # The whole class: only those without a working link, then everyone anew.
    page = await browser.get(f"/classes/{sheet.class_id}/links")
    r = await browser.post(f"/classes/{sheet.class_id}/links",
                           data={"mode": "missing", "csrf_token": csrf(page)})
    assert r.status_code == 200
    missing = _slip_urls(r.text)
    assert sorted(missing) == sorted(s for n, s in sheet.students.items() if n != "李华")
    assert (await _anonymous(app, third)).status_code == 200
    ming_view = await _anonymous(app, _path(missing[ming]))
    assert '<h1 data-testid="learner-name">王小明</h1>' in ming_view.text
    assert "李华" not in ming_view.text
    r = await browser.post(f"/classes/{sheet.class_id}/links",
                           data={"mode": "missing", "csrf_token": csrf(page)})
    assert _slip_urls(r.text) == {}
    assert 'data-testid="slips-none"' in r.text
    r = await browser.post(f"/classes/{sheet.class_id}/links",
                           data={"mode": "all", "csrf_token": csrf(page)})
    everyone = _slip_urls(r.text)
    assert sorted(everyone) == sorted(sheet.students.values())
    assert (await _anonymous(app, third)).status_code == 404
    assert (await _anonymous(app, _path(missing[ming]))).status_code == 404
    assert (await _anonymous(app, _path(everyone[li]))).status_code == 200
    r = await browser.post(f"/classes/{sheet.class_id}/links/revoke",
                           data={"csrf_token": csrf(page)})
    assert r.status_code == 303
    for url in everyone.values():
        assert (await _anonymous(app, _path(url))).status_code == 404
    page = await browser.get(r.headers["location"])
    assert "全班的链接都已作废" in page.text
    assert 'data-active="yes"' not in page.text
    actions = [e.action for e in await audit_rows(app) if e.action.startswith("student_link.")]
    assert actions.count("student_link.issue") == 3
    assert "student_link.revoke" in actions
    assert "student_link.revoke_class" in actions


async def test_a_guessed_or_revoked_token_is_the_plain_404_page(
        app: FastAPI, browser: httpx.AsyncClient, sheet: Sheet) -> None:
    li = sheet.students["李华"]
    revoked = await _issue(browser, sheet.class_id, li)
    page = await browser.get(f"/classes/{sheet.class_id}/links")
    await browser.post(f"/classes/{sheet.class_id}/links/{li}/revoke",
                       data={"csrf_token": csrf(page)})
    guessed = "/s/" + secrets.token_urlsafe(24)
    answers = {path: await _anonymous(app, path) for path in (
        revoked, guessed, "/s/short", "/s/" + "x" * 300, "/s/%2e%2e", f"{guessed}/errorbook.pdf")}
    for path, r in answers.items():
        assert r.status_code == 404, path
        assert 'data-testid="error-404"' in r.text
        assert 'data-testid="error-detail"' not in r.text  # no hint either way
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "李华" not in r.text
    # A revoked link and one never issued answer exactly alike.
    assert _without_csrf(answers[revoked].text).replace(revoked, "") == \
        _without_csrf(answers[guessed].text).replace(guessed, "")


# ------------------------------------------------------------------ who may issue


async def test_other_teachers_cannot_issue_or_revoke_links(app: FastAPI,
                                                           browser: httpx.AsyncClient,
                                                           sheet: Sheet) -> None:
    li = sheet.students["李华"]
    path = await _issue(browser, sheet.class_id, li)
    for who, school in (("zhao.min", None), ("far.admin", "别的学校")):
        await _account(app, who, admin=school is not None, new_school=school)
        async with client_for(app) as other:
            assert (await sign_in(other, who)).status_code == 303
            token = csrf(await other.get("/"))
            answers = [
                await other.get(f"/classes/{sheet.class_id}/links"),
                await other.post(f"/classes/{sheet.class_id}/links",
                                 data={"mode": "all", "csrf_token": token}),
                await other.post(f"/classes/{sheet.class_id}/links/{li}",
                                 data={"csrf_token": token}),
                await other.post(f"/classes/{sheet.class_id}/links/{li}/revoke",
                                 data={"csrf_token": token}),
                await other.post(f"/classes/{sheet.class_id}/links/revoke",
                                 data={"csrf_token": token}),
            ]
            # Their own class, to try the owner's student through it.
            r = await other.post("/classes", data={"name": "自己的班", "csrf_token": token})
            own = int(r.headers["location"].split("/")[2].split("?")[0])
            answers += [
                await other.post(f"/classes/{own}/links/{li}", data={"csrf_token": token}),
                await other.post(f"/classes/{own}/links/{li}/revoke",
                                 data={"csrf_token": token}),
            ]
            for r in answers:
                assert r.status_code == 404, (r.request.url, r.status_code)
                assert "李华" not in r.text
                assert "/s/" not in r.text
    # Nothing they did touched the owner's link.
    assert (await _anonymous(app, path)).status_code == 200
    async with app.state.session_factory() as s:
        rows = (await s.execute(select(StudentLinkRow))).scalars().all()
    assert [(r.student_id, r.revoked_at) for r in rows] == [(li, None)]


# ------------------------------------------------------------------ limits and logs


async def test_lookups_are_rate_limited_per_address(app: FastAPI, browser: httpx.AsyncClient,
                                                    sheet: Sheet,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(learner, "FAILED_LOOKUPS", (3, 600.0))
    path = await _issue(browser, sheet.class_id, sheet.students["李华"])
    assert (await _anonymous(app, path)).status_code == 200  # a good link is no failure
    for _ in range(3):
        assert (await _anonymous(app, "/s/" + secrets.token_urlsafe(24))).status_code == 404
    r = await _anonymous(app, path)  # even a good link, from this address, for a while
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "李华" not in r.text
    assert_translated(r)


async def test_the_token_is_never_logged(app: FastAPI, browser: httpx.AsyncClient,
                                         sheet: Sheet, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    path = await _issue(browser, sheet.class_id, sheet.students["李华"])
    token = path.removeprefix("/s/")
    assert (await _anonymous(app, path)).status_code == 200
    assert (await _anonymous(app, f"{path}/errorbook.pdf")).status_code == 200
    assert (await _anonymous(app, path + "x")).status_code == 404
    assert any(getattr(r, "link", None) == hashlib.sha256(token.encode()).hexdigest()[:8]
               for r in caplog.records)
    # uvicorn's access log line, as uvicorn writes it, goes through the redaction.
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "10.0.0.7:5000", "GET",
                                             path, "1.1", 200)
    # (The test's own HTTP client, "httpx", logs the URLs it requests: not the server.)
    server = [r for r in caplog.records if r.name != "httpx"]
    assert any("/s/[redacted]" in r.getMessage() for r in server)
    for r in server:
        assert token not in r.getMessage()
        assert token not in repr(r.__dict__)


async def test_the_pages_in_both_languages(app: FastAPI, browser: httpx.AsyncClient,
                                           sheet: Sheet) -> None:
    path = await _issue(browser, sheet.class_id, sheet.students["李华"])
    for lang in LANGUAGES:
        browser.cookies.set("lang", lang)
        page = await browser.get(f"/classes/{sheet.class_id}/links")
        assert_translated(page)
        r = await browser.post(f"/classes/{sheet.class_id}/links",
                               data={"mode": "missing", "csrf_token": csrf(page)})
        assert_translated(r)
        async with client_for(app) as c:
            c.cookies.set("lang", lang)
            view = await c.get(path)
        assert f'<html lang="{lang}">' in view.text
        assert_translated(view)
    assert "Mastery per knowledge point" in view.text
