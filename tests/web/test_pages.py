"""The pages over HTTP (the real app, real databases): sign-in sessions and their cookie,
CSRF, the first-run page, home scoped to the teacher, the language switch and the message
catalogue. Browser-level tests (Playwright) are in ``tests/browser``."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from service.auth.passwords import hash_password
from service.db import JobRow
from service.job_status import TERMINAL
from service.web.i18n import LANGUAGES, Translator, load_catalogue
from service.web.render import TEMPLATE_DIR
from tests.support.auth import Account, audit_rows, client_for, make_account, unique_png
from tests.support.review import seed_class

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')



async def _account(app: FastAPI, username: str, *, admin: bool = False,
                   new_school: str | None = None, active: bool = True) -> Account:
    return await make_account(app, username, admin=admin, new_school=new_school, active=active,
                              password_hash=await hash_password(PASSWORD))


@pytest.fixture
async def admin(app: FastAPI) -> Account:
    """An admin who can sign in (so the sign-in form, not the first-run page, shows)."""
    return await _account(app, "head.teacher", admin=True)


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps cookies, as a browser does, over http."""
    async with client_for(app) as c:
        yield c


def csrf(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, f"no csrf_token field in {page.text[:500]}"
    return found.group(1)


async def sign_in(c: httpx.AsyncClient, username: str, password: str = PASSWORD,
                  next: str = "/") -> httpx.Response:
    form = await c.get("/login")
    assert form.status_code == 200
    return await c.post("/login", data={"username": username, "password": password,
                                        "csrf_token": csrf(form), "next": next})


def set_cookie(r: httpx.Response, name: str) -> str | None:
    return next((h for h in r.headers.get_list("set-cookie") if h.startswith(f"{name}=")), None)


def assert_translated(r: httpx.Response) -> None:
    assert "[[" not in r.text, re.findall(r"\[\[[^\]]*\]\]", r.text)


# ------------------------------------------------------------------ sign in and out


async def test_sign_in_sets_an_httponly_samesite_lax_session_cookie(
        app: FastAPI, browser: httpx.AsyncClient, admin: Account) -> None:
    r = await sign_in(browser, admin.username)
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    cookie = set_cookie(r, "markbook_session")
    assert cookie is not None
    attributes = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=lax"
    assert attributes["path"] == "Path=/"
    assert "secure" not in attributes  # plain http (a LAN without TLS) must still work
    home = await browser.get("/")
    assert home.status_code == 200
    assert 'data-testid="home"' in home.text
    assert "head.teacher 老师" in home.text  # the display name in the header
    assert [e.actor_id for e in await audit_rows(app, "auth.login")] == [admin.teacher_id]


async def test_session_cookie_is_secure_over_https(app: FastAPI, admin: Account) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="https://test") as c:
        r = await sign_in(c, admin.username)
    assert r.status_code == 303
    cookie = set_cookie(r, "markbook_session")
    assert cookie is not None
    assert "secure" in cookie.lower()


async def test_cookie_secure_setting_overrides_the_scheme(
        app: FastAPI, browser: httpx.AsyncClient) -> None:
    # Behind a TLS proxy the service sees plain http: auth.cookie_secure=true marks the
    # cookies Secure all the same.
    assert "secure" not in str(set_cookie(await browser.get("/login"), "markbook_csrf")).lower()
    app.state.settings.auth.cookie_secure = True
    try:
        browser.cookies.clear()
        cookie = set_cookie(await browser.get("/login"), "markbook_csrf")
    finally:
        app.state.settings.auth.cookie_secure = None
    assert cookie is not None
    assert "secure" in cookie.lower()


async def test_wrong_password_shows_an_error_and_sets_no_cookie(
        app: FastAPI, browser: httpx.AsyncClient, admin: Account) -> None:
    r = await sign_in(browser, admin.username, "not the password")
    assert r.status_code == 200
    assert 'data-testid="login-error"' in r.text
    assert "用户名或密码错误" in r.text
    assert set_cookie(r, "markbook_session") is None
    assert "markbook_session" not in browser.cookies
    assert admin.username in r.text  # the username is kept in the form
    assert (await browser.get("/")).status_code == 303
    failed = await audit_rows(app, "auth.login_failed")
    assert [e.detail["reason"] for e in failed] == ["bad_credentials"]


async def test_disabled_account_cannot_sign_in(browser: httpx.AsyncClient,
                                               admin: Account, app: FastAPI) -> None:
    gone = await _account(app, "gone", active=False)
    r = await sign_in(browser, gone.username)
    assert r.status_code == 403
    assert 'data-testid="login-error"' in r.text
    assert set_cookie(r, "markbook_session") is None


async def test_repeated_failures_are_rate_limited_like_the_api(
        app: FastAPI, browser: httpx.AsyncClient, admin: Account) -> None:
    # The web form and the API share one failure count per username and address.
    for _ in range(10):
        r = await browser.post("/api/v1/auth/token",
                               data={"username": admin.username, "password": "wrong" * 3})
        assert r.status_code == 401
    r = await sign_in(browser, admin.username)  # even the right password, for a while
    assert r.status_code == 429
    assert set_cookie(r, "markbook_session") is None
    assert "retry-after" in r.headers


async def test_post_without_a_valid_csrf_token_is_refused(app: FastAPI,
                                                          browser: httpx.AsyncClient,
                                                          admin: Account) -> None:
    form = await browser.get("/login")
    data = {"username": admin.username, "password": PASSWORD}
    for token in (None, "", "0" * 64, csrf(form)[:-1] + "x"):
        r = await browser.post("/login", data=data if token is None
                               else {**data, "csrf_token": token})
        assert r.status_code == 403
        assert 'data-testid="csrf-refused"' in r.text
        assert set_cookie(r, "markbook_session") is None
    # A token made for another browser does not work in this one.
    async with client_for(app) as other:
        theirs = csrf(await other.get("/login"))
    r = await browser.post("/login", data={**data, "csrf_token": theirs})
    assert r.status_code == 403
    # Signed in, the forms' tokens are bound to the session: the signed-out one is refused.
    old = csrf(form)
    assert (await sign_in(browser, admin.username)).status_code == 303
    r = await browser.post("/logout", data={"csrf_token": old})
    assert r.status_code == 403
    assert (await browser.get("/")).status_code == 200  # still signed in
    r = await browser.post("/lang", data={"lang": "en", "next": "/"})
    assert r.status_code == 403
    assert "lang" not in browser.cookies


async def test_logout_ends_the_session(browser: httpx.AsyncClient, admin: Account) -> None:
    assert (await sign_in(browser, admin.username)).status_code == 303
    home = await browser.get("/")
    r = await browser.post("/logout", data={"csrf_token": csrf(home)})
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    cookie = set_cookie(r, "markbook_session")
    assert cookie is not None
    assert "max-age=0" in cookie.lower() or "expires=thu, 01 jan 1970" in cookie.lower()
    assert "markbook_session" not in browser.cookies
    r = await browser.get("/")
    assert r.status_code == 303
    assert r.headers["location"] == "/login"


async def test_a_session_cookie_does_not_open_the_api(browser: httpx.AsyncClient,
                                                      admin: Account) -> None:
    assert (await sign_in(browser, admin.username)).status_code == 303
    r = await browser.get("/api/v1/classes")
    assert r.status_code == 401
    assert r.json()["error"] == "not_authenticated"


async def test_a_bearer_token_does_not_open_the_pages(app: FastAPI, admin: Account) -> None:
    async with client_for(app, admin.headers) as c:
        r = await c.get("/")
    assert r.status_code == 303
    assert r.headers["location"] == "/login"


# ------------------------------------------------------------------ redirects


async def test_signed_out_pages_redirect_to_sign_in_and_back(browser: httpx.AsyncClient,
                                                             admin: Account) -> None:
    r = await browser.get("/")
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    r = await browser.get("/?tab=jobs")
    assert r.headers["location"] == "/login?next=/%3Ftab%3Djobs"
    form = await browser.get(r.headers["location"])
    assert 'name="next" value="/?tab=jobs"' in form.text
    r = await browser.post("/login", data={"username": admin.username, "password": PASSWORD,
                                           "csrf_token": csrf(form), "next": "/?tab=jobs"})
    assert r.status_code == 303
    assert r.headers["location"] == "/?tab=jobs"
    # Signed in, the sign-in page sends the teacher on.
    r = await browser.get("/login?next=/%3Ftab%3Djobs")
    assert r.status_code == 303
    assert r.headers["location"] == "/?tab=jobs"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "evil", "/%0d%0aSet-Cookie:x=1"])
async def test_sign_in_never_redirects_off_site(browser: httpx.AsyncClient, admin: Account,
                                                target: str) -> None:
    r = await sign_in(browser, admin.username, next=target)
    assert r.status_code == 303
    location = r.headers["location"]
    assert location in ("/", target)
    assert location.startswith("/")
    assert not location.startswith(("//", "/\\"))
    assert "\n" not in location
    assert "\r" not in location


# ------------------------------------------------------------------ first run


async def test_first_run_page_when_no_admin_can_sign_in(app: FastAPI,
                                                        browser: httpx.AsyncClient) -> None:
    # Only the password-less local admin and a teacher exist: nobody can administer.
    await _account(app, "teacher.only")
    r = await browser.get("/login")
    assert r.status_code == 200
    assert 'data-testid="first-run"' in r.text
    assert "markbook admin create --username" in r.text
    assert "--password-stdin" in r.text
    assert 'name="password"' not in r.text  # nothing else: no sign-in form
    assert_translated(r)
    r = await browser.post("/login", data={"username": "teacher.only", "password": PASSWORD,
                                           "csrf_token": csrf(r)})
    assert 'data-testid="first-run"' in r.text
    assert set_cookie(r, "markbook_session") is None
    assert (await browser.get("/")).headers["location"] == "/login"
    await _account(app, "first.admin", admin=True)
    r = await browser.get("/login")
    assert 'name="password"' in r.text


# ------------------------------------------------------------------ home


async def test_home_shows_only_my_classes(app: FastAPI, browser: httpx.AsyncClient,
                                          admin: Account) -> None:
    me = await _account(app, "wang.li")
    colleague = await make_account(app, "zhao.min")
    far = await make_account(app, "far.admin", admin=True, new_school="别的学校")
    for who, name in ((me, "三年级(2)班"), (colleague, "同事的班"), (far, "别校的班")):
        async with client_for(app, who.headers) as api:
            r = await api.post("/api/v1/classes", json={"name": name})
            assert r.status_code == 201
            if who is me:
                r = await api.post(f"/api/v1/classes/{r.json()['id']}/students", json=[
                    {"student_no": "001", "name": "王小明"}, {"student_no": "002", "name": "李华"}])
                assert r.status_code == 201
    assert (await sign_in(browser, "wang.li")).status_code == 303
    home = await browser.get("/")
    classes = home.text[home.text.index('data-testid="classes"'):]
    classes = classes[:classes.index("</section>")]
    assert "三年级(2)班" in classes
    assert re.search(r'class="num">2</td>', classes)
    assert "同事的班" not in home.text
    assert "别校的班" not in home.text
    assert_translated(home)


async def test_home_shows_jobs_and_what_waits_for_review(app: FastAPI,
                                                         browser: httpx.AsyncClient,
                                                         admin: Account) -> None:
    me = await _account(app, "wang.li")
    async with client_for(app, me.headers) as api:
        sheet = await seed_class(api)
        r = await api.post(f"/api/v1/scans?worksheet_id={sheet.worksheet_id}",
                           files={"scan": ("第一叠.png", unique_png(), "image/png")})
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        queue = (await api.get("/api/v1/review", params={
            "worksheet_id": sheet.worksheet_id, "kind": "response"})).json()
    assert queue["total"] > 0
    assert (await sign_in(browser, "wang.li")).status_code == 303
    home = (await browser.get("/")).text
    for region in ("home", "classes", "jobs", "review-counts", "shortcuts"):
        assert f'data-testid="{region}"' in home
    row = re.search(rf'data-testid="review-worksheet" data-worksheet-id="{sheet.worksheet_id}">'
                    r'<td><a href="(.*?)">(.*?)</a></td><td>(.*?)</td><td class="num">(\d+)</td>',
                    home)
    assert row, home
    assert row.groups() == (f"/review?worksheet_id={sheet.worksheet_id}", "口算与应用题",
                            "三年级(2)班", str(queue["total"]))
    job = re.search(rf'data-testid="job-row" data-job-id="{job_id}" data-status="queued">'
                    r".*?</tr>", home, re.S)
    assert job
    assert "第一叠.png" in job.group(0)
    assert "排队中" in job.group(0)
    assert "0/1 页" in job.group(0)
    assert '<meta http-equiv="refresh"' in home  # progress moves without a script
    # Every job state has its words, in both languages.
    for status in ("queued", "running", "done", "partially_done", "failed"):
        async with app.state.session_factory() as s:
            await s.execute(update(JobRow).where(JobRow.id == job_id).values(status=status))
            await s.commit()
        for lang in LANGUAGES:
            browser.cookies.set("lang", lang)
            page = await browser.get("/")
            assert f'data-status="{status}"' in page.text
            assert ('http-equiv="refresh"' in page.text) == (status not in TERMINAL)
            assert_translated(page)


async def test_an_empty_home_says_so(browser: httpx.AsyncClient, admin: Account) -> None:
    assert (await sign_in(browser, admin.username)).status_code == 303
    home = await browser.get("/")
    assert "还没有班级" in home.text
    assert "还没有上传过扫描件" in home.text
    assert "没有需要复核的内容" in home.text


# ------------------------------------------------------------------ language


async def test_chinese_by_default_and_english_after_switching(browser: httpx.AsyncClient,
                                                               admin: Account) -> None:
    r = await browser.get("/login")
    assert '<html lang="zh-CN">' in r.text
    assert "<h1>登录</h1>" in r.text
    r = await browser.post("/lang", data={"lang": "en", "next": "/login",
                                          "csrf_token": csrf(r)})
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    r = await browser.get("/login")
    assert '<html lang="en">' in r.text
    assert "<h1>Sign in</h1>" in r.text
    assert (await sign_in(browser, admin.username)).status_code == 303
    home = await browser.get("/")
    assert "My classes" in home.text
    assert "Sign out" in home.text
    r = await browser.post("/lang", data={"lang": "zh-CN", "next": "/", "csrf_token": csrf(home)})
    assert r.headers["location"] == "/"
    assert "我的班级" in (await browser.get("/")).text
    # An unknown language changes nothing; an off-site next goes home.
    r = await browser.post("/lang", data={"lang": "xx", "next": "//evil.example",
                                          "csrf_token": csrf(home)})
    assert r.headers["location"] == "/"
    assert browser.cookies["lang"] == "zh-CN"


async def test_no_untranslated_message_on_any_page(app: FastAPI, browser: httpx.AsyncClient,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="service.web.i18n")
    for lang in LANGUAGES:
        browser.cookies.clear()
        browser.cookies.set("lang", lang)
        pages = [await browser.get("/login")]  # first run
        pages.append(await browser.post("/login", data={"username": "x"}))  # 403
        await _account(app, f"admin-{lang.lower()}", admin=True)
        form = await browser.get("/login")
        pages.append(form)
        for password in ("", "wrong password"):
            pages.append(await browser.post("/login", data={
                "username": f"admin-{lang.lower()}", "password": password,
                "csrf_token": csrf(form)}))
        await sign_in(browser, f"admin-{lang.lower()}")
        pages.append(await browser.get("/"))
        for page in pages:
            assert f'<html lang="{lang}">' in page.text
            assert_translated(page)
    assert not [r for r in caplog.records if "untranslated" in r.getMessage()]


def test_a_missing_translation_is_visible_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="service.web.i18n")
    _ = Translator("en", {"known": "Known {n}"})
    assert _("known", n=3) == "Known 3"
    assert _("nope.key") == "[[nope.key]]"
    assert any("nope.key" in r.getMessage() for r in caplog.records)


def test_every_language_has_every_message_the_pages_use() -> None:
    catalogue = load_catalogue()
    keys = {lang: set(messages) for lang, messages in catalogue.languages.items()}
    assert keys["zh-CN"] == keys["en"]
    used = set()
    for template in TEMPLATE_DIR.glob("**/*.html"):  # every area's templates
        # Literal keys; a prefix such as "job.status." ~ status is expanded below.
        used |= {k for k in re.findall(r'_\(["\']([a-z0-9_.\-]+)["\']',
                                       template.read_text("utf-8"))
                 if not k.endswith((".", "_"))}
    pages = (TEMPLATE_DIR.parent / "pages.py").read_text("utf-8")
    used |= set(re.findall(r'"(login\.error\.[a-z_]+)"', pages))
    used |= {f"lang.{tag}" for tag in LANGUAGES}
    used |= {f"job.status.{s}" for s in ("queued", "running", "done", "partially_done", "failed")}
    used |= {f"home.review.pages.{k}" for k in ("unknown_student", "unidentified", "duplicate")}
    assert used - keys["zh-CN"] == set()


# ------------------------------------------------------------------ assets and headers


async def test_pages_load_only_our_own_assets(browser: httpx.AsyncClient,
                                              admin: Account) -> None:
    r = await browser.get("/login")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    assert not re.search(r'(?:src|href)="(?:https?:)?//', r.text)
    css = await browser.get("/static/markbook.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "@import" not in css.text
    assert "url(" not in css.text
    assert (await browser.get("/static/favicon.svg")).status_code == 200


# ------------------------------------------------------------------ error pages


async def test_a_missing_page_answers_a_404_page_and_the_api_stays_json(
        browser: httpx.AsyncClient, admin: Account) -> None:
    assert (await sign_in(browser, admin.username)).status_code == 303
    r = await browser.get("/no-such-page")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "找不到这个页面" in r.text
    assert_translated(r)
    api = await browser.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/json")


async def test_a_service_error_on_a_page_is_a_page_in_the_readers_language(
        app: FastAPI, browser: httpx.AsyncClient, admin: Account) -> None:
    from fastapi import APIRouter

    from service.errors import Conflict

    router = APIRouter()

    @router.get("/test-conflict")
    async def conflict() -> None:
        raise Conflict("that name is taken")

    app.include_router(router)
    assert (await sign_in(browser, admin.username)).status_code == 303
    browser.cookies.set("lang", "en")
    r = await browser.get("/test-conflict")
    assert r.status_code == 409
    assert "This conflicts with existing data" in r.text
    assert "that name is taken" in r.text
    assert "409 conflict" in r.text
    assert_translated(r)


# ------------------------------------------------------------------ session lifetime


def _session_token(r: httpx.Response) -> str:
    cookie = set_cookie(r, "markbook_session")
    assert cookie is not None, r.headers
    return cookie.split(";")[0].split("=", 1)[1]


async def test_a_signed_out_session_cookie_opens_nothing_even_when_replayed(
        app: FastAPI, browser: httpx.AsyncClient, admin: Account) -> None:
    token = _session_token(await sign_in(browser, admin.username))
    home = await browser.get("/")
    assert home.status_code == 200
    r = await browser.post("/logout", data={"csrf_token": csrf(home)})
    assert r.status_code == 303
    async with client_for(app) as thief:  # a copy of the cookie taken before sign-out
        thief.cookies.set("markbook_session", token)
        r = await thief.get("/")
    assert r.status_code == 303
    assert r.headers["location"] == "/login"


async def _session_cookie(app: FastAPI, admin: Account, *, issued_minutes_ago: float,
                          started_hours_ago: float) -> str:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    signer = app.state.tokens
    return str(signer.mint(admin.teacher_id, 0, now=now - timedelta(minutes=issued_minutes_ago),
                           session_id="session-under-test",
                           session_started=now - timedelta(hours=started_hours_ago)))


async def test_a_session_in_use_is_renewed_and_its_forms_stay_valid(
        app: FastAPI, browser: httpx.AsyncClient, admin: Account) -> None:
    signer = app.state.tokens
    old = await _session_cookie(app, admin, issued_minutes_ago=20, started_hours_ago=1)
    browser.cookies.set("markbook_session", old)
    r = await browser.get("/")
    assert r.status_code == 200
    new = _session_token(r)
    assert new != old
    old_claims, new_claims = signer.check(old), signer.check(new)
    assert new_claims.session_id == old_claims.session_id == "session-under-test"
    assert new_claims.session_started == old_claims.session_started
    assert new_claims.expires_at > old_claims.expires_at
    # A form rendered before the renewal still posts under the renewed cookie.
    browser.cookies.set("markbook_session", new)
    r2 = await browser.post("/lang", data={"lang": "en", "csrf_token": csrf(r), "next": "/"})
    assert r2.status_code == 303
    # A fresh token is not renewed on every page view.
    assert set_cookie(await browser.get("/"), "markbook_session") is None


async def test_a_session_is_not_renewed_past_its_longest_life(
        app: FastAPI, browser: httpx.AsyncClient, admin: Account) -> None:
    hours = app.state.settings.auth.session_hours
    old = await _session_cookie(app, admin, issued_minutes_ago=20, started_hours_ago=hours + 1)
    browser.cookies.set("markbook_session", old)
    r = await browser.get("/")
    assert r.status_code == 200  # still valid until the token expires
    assert set_cookie(r, "markbook_session") is None


@pytest.mark.parametrize(("path", "section"), [
    ("/", "/"), ("/classes", "/classes"), ("/classes/3/links", "/classes"),
    ("/students/7", "/classes"), ("/jobs/12", "/uploads"), ("/worksheets/new", "/worksheets"),
    ("/worksheets/4/results", "/results"), ("/review", "/review"), ("/login", ""),
    ("/classesx", ""),
])
def test_each_page_highlights_its_menu_entry(path: str, section: str) -> None:
    from service.web.render import section_of

    assert section_of(path) == section
