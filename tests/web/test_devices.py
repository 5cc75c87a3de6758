"""The copiers-and-scanners pages over HTTP (the real app, real databases): device keys
created (shown once), listed, revoked after a confirmation, and proved to work against
``/api/v1/scans`` with HTTP Basic and Bearer until revoked; the setup text; the school's
webhook for admins only. Browser-level tests are in ``tests/browser/test_devices.py``."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from service.auth.devicekeys import key_prefix
from service.auth.passwords import hash_password
from service.db import DeviceKeyRow, WebhookDeliveryRow
from service.web.i18n import load_catalogue
from service.web.render import TEMPLATE_DIR
from tests.support.auth import Account, audit_rows, client_for, make_account, unique_png

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')



async def _account(app: FastAPI, username: str, *, admin: bool = False) -> Account:
    return await make_account(app, username, admin=admin,
                              password_hash=await hash_password(PASSWORD))


@pytest.fixture
async def admin(app: FastAPI) -> Account:
    return await _account(app, "head.devices", admin=True)


@pytest.fixture
async def teacher(app: FastAPI, admin: Account) -> Account:
    return await _account(app, "t.devices")


async def _browser(app: FastAPI, username: str) -> httpx.AsyncClient:
    c = client_for(app)
    form = await c.get("/login")
    r = await c.post("/login", data={"username": username, "password": PASSWORD,
                                     "csrf_token": _csrf(form.text), "next": "/"})
    assert r.status_code == 303, r.text
    return c


@pytest.fixture
async def browser(app: FastAPI, teacher: Account) -> AsyncIterator[httpx.AsyncClient]:
    c = await _browser(app, teacher.username)
    yield c
    await c.aclose()


@pytest.fixture
async def admin_browser(app: FastAPI, admin: Account) -> AsyncIterator[httpx.AsyncClient]:
    c = await _browser(app, admin.username)
    yield c
    await c.aclose()


def _csrf(html: str) -> str:
    found = _CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


async def _create(c: httpx.AsyncClient, name: str) -> tuple[httpx.Response, str]:
    token = _csrf((await c.get("/devices")).text)
    r = await c.post("/devices", data={"csrf_token": token, "name": name})
    assert r.status_code == 201, r.text
    key = re.search(r'value="(mbk_[^"]+)" data-testid="device-key"', r.text)
    assert key, r.text
    return r, key.group(1)


async def _upload(app: FastAPI, headers: dict[str, str]) -> httpx.Response:
    async with client_for(app, headers) as device:
        return await device.post("/api/v1/scans",
                                 files={"file": ("scan.png", unique_png(), "image/png")})


def _basic(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def test_devices_page_shows_setup_for_this_server(
        browser: httpx.AsyncClient) -> None:
    r = await browser.get("/devices")
    assert r.status_code == 200
    assert 'data-testid="devices"' in r.text
    assert '<pre class="command" data-testid="scan-url">http://test/api/v1/scans</pre>' in r.text
    assert "http://test/api/v1/documents/post_document/" in r.text
    assert "基本认证" in r.text
    assert "Authorization: Bearer" in r.text
    assert "markbook watch" in r.text
    assert "--url http://test" in r.text
    assert "二维码" in r.text  # how a dropped file's worksheet is found
    assert "还没有设备密钥" in r.text
    assert 'data-testid="webhook-link"' not in r.text  # not an admin
    assert "[[" not in r.text


async def test_a_key_is_shown_once_and_works_until_revoked(
        app: FastAPI, browser: httpx.AsyncClient, teacher: Account) -> None:
    created, key = await _create(browser, "三楼复印机")
    assert "只显示这一次" in created.text
    assert f"curl -u scanner:{key} -F file=@scan.pdf http://test/api/v1/scans" in created.text
    listing = await browser.get("/devices")
    assert key not in listing.text
    assert "三楼复印机" in listing.text
    assert f"<code>{key_prefix(key)}…</code>" in listing.text
    async with app.state.session_factory() as s:
        (row,) = (await s.execute(select(DeviceKeyRow))).scalars()
    assert row.teacher_id == teacher.teacher_id
    assert [e.actor_id for e in await audit_rows(app, "device.create")] == [teacher.teacher_id]
    # Basic with any user name and the key as password, and Bearer, both upload.
    assert (await _upload(app, _basic("scanner", key))).status_code == 202
    assert (await _upload(app, _basic("", key))).status_code == 202
    assert (await _upload(app, {"Authorization": f"Bearer {key}"})).status_code == 202
    # The key as the user name is not how it works (stated on the page: the password).
    assert (await _upload(app, _basic(key, "x"))).status_code == 401
    # Revoke: a confirmation first, then the POST.
    confirm = await browser.get(f"/devices/{row.id}/revoke")
    assert confirm.status_code == 200
    assert "三楼复印机" in confirm.text
    r = await browser.post(f"/devices/{row.id}/revoke",
                           data={"csrf_token": _csrf(confirm.text)})
    assert r.status_code == 303
    assert r.headers["location"] == f"/devices?revoked={row.id}"
    after = await browser.get(r.headers["location"])
    assert 'data-testid="revoked-notice"' in after.text
    assert 'data-revoked="true"' in after.text
    assert (await _upload(app, _basic("scanner", key))).status_code == 401
    assert (await _upload(app, {"Authorization": f"Bearer {key}"})).status_code == 401


async def test_a_name_is_required(app: FastAPI, browser: httpx.AsyncClient) -> None:
    token = _csrf((await browser.get("/devices")).text)
    r = await browser.post("/devices", data={"csrf_token": token, "name": "   "})
    assert r.status_code == 422
    assert 'data-testid="device-name-error"' in r.text
    r = await browser.post("/devices", data={"csrf_token": token, "name": "长" * 101})
    assert r.status_code == 422
    assert "长" * 101 in r.text  # kept in the form
    async with app.state.session_factory() as s:
        assert (await s.execute(select(DeviceKeyRow))).first() is None


async def test_create_without_csrf_does_nothing(app: FastAPI,
                                                browser: httpx.AsyncClient) -> None:
    r = await browser.post("/devices", data={"name": "copier"})
    assert r.status_code == 403
    async with app.state.session_factory() as s:
        assert (await s.execute(select(DeviceKeyRow))).first() is None


async def test_another_teachers_key_cannot_be_seen_or_revoked(
        app: FastAPI, browser: httpx.AsyncClient, admin: Account) -> None:
    _, key = await _create(browser, "我的扫描仪")
    async with app.state.session_factory() as s:
        (row,) = (await s.execute(select(DeviceKeyRow))).scalars()
    other = await _account(app, "t.other")
    c = await _browser(app, other.username)
    try:
        page = await c.get("/devices")
        assert "我的扫描仪" not in page.text
        assert (await c.get(f"/devices/{row.id}/revoke")).status_code == 404
        r = await c.post(f"/devices/{row.id}/revoke", data={"csrf_token": _csrf(page.text)})
        assert r.status_code == 404
    finally:
        await c.aclose()
    assert (await _upload(app, _basic("scanner", key))).status_code == 202


# ------------------------------------------------------------------ webhook (admins)


async def test_webhook_pages_are_for_admins_only(browser: httpx.AsyncClient) -> None:
    token = _csrf((await browser.get("/devices")).text)
    assert (await browser.get("/devices/webhook")).status_code == 403
    r = await browser.post("/devices/webhook", data={"csrf_token": token,
                                                     "url": "https://example.org/hook"})
    assert r.status_code == 403
    r = await browser.post("/devices/webhook/remove", data={"csrf_token": token})
    assert r.status_code == 403


async def test_admin_sets_the_webhook_sees_the_secret_once_and_turns_it_off(
        app: FastAPI, admin_browser: httpx.AsyncClient, admin: Account) -> None:
    devices = await admin_browser.get("/devices")
    assert 'data-testid="webhook-link"' in devices.text
    page = await admin_browser.get("/devices/webhook")
    assert page.status_code == 200
    assert "未启用" in page.text
    token = _csrf(page.text)
    bad = await admin_browser.post("/devices/webhook", data={"csrf_token": token,
                                                             "url": "ftp://nope"})
    assert bad.status_code == 422
    assert "地址不对" in bad.text
    assert 'value="ftp://nope"' in bad.text
    r = await admin_browser.post("/devices/webhook", data={
        "csrf_token": token, "url": "https://hooks.example.org/markbook"})
    assert r.status_code == 200
    secret = re.search(r'value="([^"]+)" data-testid="webhook-secret"', r.text)
    assert secret
    assert len(secret.group(1)) >= 32
    async with client_for(app, admin.headers) as api:
        got = (await api.get("/api/v1/school/webhook")).json()
    assert got == {"url": "https://hooks.example.org/markbook", "configured": True,
                   "secret": None}
    again = await admin_browser.get("/devices/webhook")
    assert secret.group(1) not in again.text
    assert "已启用" in again.text
    # An own secret: nothing to show, so post/redirect/get.
    r = await admin_browser.post("/devices/webhook", data={
        "csrf_token": token, "url": "https://hooks.example.org/v2", "secret": "s" * 20})
    assert r.status_code == 303
    assert r.headers["location"] == "/devices/webhook?saved=1"
    # Recent deliveries with their status.
    async with app.state.session_factory() as s:
        s.add(WebhookDeliveryRow(school_id=admin.school_id, event="job.finished",
                                 payload={"job_id": 1}, status="failed", attempts=12,
                                 last_error="HTTP 500"))
        await s.commit()
    page = await admin_browser.get("/devices/webhook")
    assert 'data-testid="delivery-row" data-status="failed"' in page.text
    assert "发送失败" in page.text
    assert "HTTP 500" in page.text
    r = await admin_browser.post("/devices/webhook/remove", data={"csrf_token": token})
    assert r.status_code == 303
    async with client_for(app, admin.headers) as api:
        assert (await api.get("/api/v1/school/webhook")).json()["configured"] is False


# ------------------------------------------------------------------ messages


def test_every_devices_message_exists_in_both_languages() -> None:
    catalogue = load_catalogue()
    zh, en = (set(catalogue.languages[lang]) for lang in ("zh-CN", "en"))
    used = set()
    for template in (TEMPLATE_DIR / "devices").glob("*.html"):
        used |= {k for k in re.findall(r'_\([\'"]([a-z_.\-]+)[\'"]', template.read_text("utf-8"))
                 if not k.endswith(".")}
    # Keys built from data: the service's webhook errors and the delivery states.
    used |= {f"devices.webhook.error.{c}" for c in ("bad_webhook_url", "weak_webhook_secret")}
    used |= {f"devices.webhook.delivery.{s}"
             for s in ("pending", "delivered", "failed", "cancelled")}
    used.add("devices.create.name_invalid")
    assert used - zh == set()
    assert used - en == set()
    assert {k for k in zh if k.startswith("devices.")} - used == set()


async def test_the_devices_pages_in_english(admin_browser: httpx.AsyncClient) -> None:
    admin_browser.cookies.set("lang", "en")
    for url in ("/devices", "/devices/webhook"):
        r = await admin_browser.get(url)
        assert r.status_code == 200
        assert "[[" not in r.text
    assert "Copiers and scanners" in (await admin_browser.get("/devices")).text
