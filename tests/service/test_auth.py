"""Sign-in, tokens, device keys, admin-only routes and the audit log, on SQLite and
PostgreSQL through the real app."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from service.auth.passwords import hash_password
from service.auth.tokens import TokenSigner
from service.db import DeviceKeyRow
from tests.support.auth import audit_rows, client_for, make_account, set_teacher, unique_png

PASSWORD = "correct horse battery"


async def _login(c: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await c.post("/api/v1/auth/token", data={"username": username, "password": password})


async def test_login_issues_a_working_short_lived_token(app: FastAPI,
                                                         anon_client: httpx.AsyncClient) -> None:
    await make_account(app, "wang", password_hash=await hash_password(PASSWORD))
    r = await _login(anon_client, "Wang ", PASSWORD)  # usernames are case-insensitive
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 30 * 60
    assert r.headers["cache-control"] == "no-store"
    me = await anon_client.get("/api/v1/me",
                               headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "wang"
    assert me.json()["is_admin"] is False
    [event] = await audit_rows(app, "auth.login")
    assert event.actor_kind == "teacher"
    assert event.actor_id == me.json()["id"]
    assert event.ip  # the client address is recorded


async def test_wrong_password_and_unknown_user_look_the_same(
        app: FastAPI, anon_client: httpx.AsyncClient) -> None:
    await make_account(app, "li", password_hash=await hash_password(PASSWORD))
    wrong = await _login(anon_client, "li", "not the password")
    unknown = await _login(anon_client, "nobody", PASSWORD)
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert r.json() == {"error": "invalid_credentials", "detail": "wrong username or password"}
        assert "access_token" not in r.text
    failed = await audit_rows(app, "auth.login_failed")
    assert [e.detail["username"] for e in failed] == ["li", "nobody"]
    assert failed[0].target_id is not None
    assert failed[1].target_id is None
    assert all(PASSWORD not in str(e.detail) for e in failed)  # never a password in the log


async def test_local_account_cannot_sign_in(anon_client: httpx.AsyncClient) -> None:
    r = await _login(anon_client, "local", "")
    assert r.status_code in (401, 422)
    r = await _login(anon_client, "local", "anything-at-all")
    assert r.status_code == 401


async def test_inactive_teacher_is_refused(app: FastAPI, anon_client: httpx.AsyncClient) -> None:
    account = await make_account(app, "zhao", password_hash=await hash_password(PASSWORD))
    assert (await anon_client.get("/api/v1/me", headers=account.headers)).status_code == 200
    await set_teacher(app, account.teacher_id, is_active=False)
    r = await _login(anon_client, "zhao", PASSWORD)
    assert r.status_code == 403
    assert r.json()["error"] == "account_disabled"
    r = await anon_client.get("/api/v1/me", headers=account.headers)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"


async def test_failed_logins_are_rate_limited_per_username_and_address(
        app: FastAPI, anon_client: httpx.AsyncClient) -> None:
    await make_account(app, "chen", password_hash=await hash_password(PASSWORD))
    await make_account(app, "sun", password_hash=await hash_password(PASSWORD))
    for _ in range(10):
        assert (await _login(anon_client, "chen", "wrong password!")).status_code == 401
    r = await _login(anon_client, "chen", PASSWORD)  # even the right password waits now
    assert r.status_code == 429
    assert r.json()["error"] == "rate_limited"
    assert 1 <= int(r.headers["retry-after"]) <= 300
    assert await audit_rows(app, "auth.login_rate_limited")
    # Another account from the same address is not locked out by chen's failures.
    assert (await _login(anon_client, "sun", PASSWORD)).status_code == 200


async def test_success_resets_the_failure_count(app: FastAPI,
                                                anon_client: httpx.AsyncClient) -> None:
    await make_account(app, "he", password_hash=await hash_password(PASSWORD))
    for _ in range(9):
        await _login(anon_client, "he", "wrong password!")
    assert (await _login(anon_client, "he", PASSWORD)).status_code == 200
    for _ in range(9):
        assert (await _login(anon_client, "he", "wrong password!")).status_code == 401


async def test_no_credentials_is_401_with_challenges(anon_client: httpx.AsyncClient) -> None:
    r = await anon_client.get("/api/v1/classes/1")
    assert r.status_code == 401
    assert r.json()["error"] == "not_authenticated"
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    assert 'Basic realm="markbook"' in challenge
    r = await anon_client.get("/api/v1/me", headers={"Authorization": "Digest abc"})
    assert r.status_code == 401
    assert r.json()["error"] == "not_authenticated"


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
async def test_malformed_tokens_are_invalid(anon_client: httpx.AsyncClient, token: str) -> None:
    r = await anon_client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json()["error"] == ("not_authenticated" if not token else "invalid_token")


async def test_expired_foreign_and_superseded_tokens(app: FastAPI,
                                                     anon_client: httpx.AsyncClient) -> None:
    account = await make_account(app, "qian")
    signer: TokenSigner = app.state.tokens
    expired = signer.mint(account.teacher_id, 0, now=datetime.now(UTC) - timedelta(hours=1))
    r = await anon_client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    assert "expired" in r.json()["detail"]
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    forged = TokenSigner("x" * 48, timedelta(minutes=5)).mint(account.teacher_id, 0)
    r = await anon_client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    # Bumping token_version signs the teacher out everywhere; a fresh token works.
    await set_teacher(app, account.teacher_id, token_version=1)
    r = await anon_client.get("/api/v1/me", headers=account.headers)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    fresh = signer.mint(account.teacher_id, 1)
    r = await anon_client.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"})
    assert r.status_code == 200


async def test_device_key_lifecycle(app: FastAPI, teacher_client: httpx.AsyncClient,
                                    other_client: httpx.AsyncClient) -> None:
    r = await teacher_client.post("/api/v1/devices", json={"name": "复印机 3F"})
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    assert key.startswith("mbk_")
    assert len(key) >= 40
    assert key.startswith(created["key_prefix"])
    async with app.state.session_factory() as s:
        row = (await s.execute(select(DeviceKeyRow).where(DeviceKeyRow.id == created["id"]))).scalar_one()
    assert key not in (row.key_hash, row.key_prefix)
    assert len(row.key_hash) == 64
    listed = (await teacher_client.get("/api/v1/devices")).json()
    assert [d["id"] for d in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert (await other_client.get("/api/v1/devices")).json() == []

    bearer = client_for(app, {"Authorization": f"Bearer {key}"})
    basic = client_for(app, {"Authorization": "Basic " + base64.b64encode(
        f"scanner:{key}".encode()).decode()})
    async with bearer, basic:
        up = await bearer.post("/api/v1/scans", content=unique_png(),
                               headers={"content-type": "image/png"})
        assert up.status_code == 202, up.text
        job_id = up.json()["job_id"]
        assert (await bearer.get(f"/api/v1/jobs/{job_id}")).status_code == 200
        # Basic auth, any username, the key as password: what many copiers can do.
        up2 = await basic.post("/api/v1/documents/post_document/",
                               files={"document": ("scan.png", unique_png(), "image/png")})
        assert up2.status_code == 202, up2.text
        jobs = (await basic.get("/api/v1/jobs")).json()
        assert {j["id"] for j in jobs} == {job_id, up2.json()["job_id"]}
        # The uploads belong to the teacher who made the key.
        assert {j["id"] for j in (await teacher_client.get("/api/v1/jobs")).json()} >= {job_id}
        r = await bearer.get("/api/v1/classes/1")
        assert r.status_code == 403
        assert r.json()["error"] == "forbidden_for_device"
        assert (await bearer.post("/api/v1/devices", json={"name": "x"})).status_code == 403
        listed = (await teacher_client.get("/api/v1/devices")).json()
        assert listed[0]["last_used_at"] is not None

        assert (await other_client.delete(f"/api/v1/devices/{created['id']}")).status_code == 404
        assert (await teacher_client.delete(f"/api/v1/devices/{created['id']}")).status_code == 204
        assert (await teacher_client.delete(f"/api/v1/devices/{created['id']}")).status_code == 204
        for c in (bearer, basic):
            r = await c.get("/api/v1/jobs")
            assert r.status_code == 401
            assert r.json()["error"] == "invalid_token"
    assert (await teacher_client.get("/api/v1/devices")).json()[0]["revoked_at"] is not None
    assert len(await audit_rows(app, "device.create")) == 1
    assert len(await audit_rows(app, "device.revoke")) == 2


async def test_basic_auth_needs_a_device_key(app: FastAPI, anon_client: httpx.AsyncClient) -> None:
    await make_account(app, "zhou", password_hash=await hash_password(PASSWORD))
    for raw in (f"zhou:{PASSWORD}".encode(), b"no-colon", b"\xff\xfe:mbk_x"):
        r = await anon_client.get("/api/v1/jobs", headers={
            "Authorization": "Basic " + base64.b64encode(raw).decode()})
        assert r.status_code == 401
        assert r.json()["error"] == "invalid_token"
    r = await anon_client.get("/api/v1/jobs", headers={"Authorization": "Basic !!!"})
    assert r.status_code == 401
    r = await anon_client.get("/api/v1/jobs", headers={"Authorization": "Bearer mbk_unknown"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"


async def test_device_of_an_inactive_teacher_stops_working(
        app: FastAPI, client: httpx.AsyncClient, device_client: httpx.AsyncClient) -> None:
    assert (await device_client.get("/api/v1/jobs")).status_code == 200
    me = (await client.get("/api/v1/me")).json()
    await set_teacher(app, me["id"], is_active=False)
    assert (await device_client.get("/api/v1/jobs")).status_code == 401


async def test_admin_creates_teachers(app: FastAPI, admin_client: httpx.AsyncClient,
                                      teacher_client: httpx.AsyncClient,
                                      anon_client: httpx.AsyncClient) -> None:
    body = {"username": "Liu.Yang", "display_name": "刘老师", "password": PASSWORD}
    r = await teacher_client.post("/api/v1/teachers", json=body)
    assert r.status_code == 403
    assert r.json()["error"] == "admin_only"
    r = await admin_client.post("/api/v1/teachers", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["username"] == "liu.yang"
    assert r.json()["is_admin"] is False
    assert "password" not in r.text
    assert (await admin_client.post("/api/v1/teachers", json=body)).json()["error"] == \
        "username_taken"
    r = await admin_client.post("/api/v1/teachers", json={**body, "username": "x2",
                                                          "password": "short"})
    assert r.status_code == 422
    assert r.json()["error"] == "weak_password"
    r = await admin_client.post("/api/v1/teachers", json={**body, "username": "bad name!"})
    assert r.status_code == 422
    assert r.json()["error"] == "bad_username"
    assert (await _login(anon_client, "liu.yang", PASSWORD)).status_code == 200
    [event] = await audit_rows(app, "teacher.create")
    assert event.detail["username"] == "liu.yang"
    assert event.actor_kind == "teacher"


async def test_admin_sees_the_whole_school(teacher_client: httpx.AsyncClient,
                                           admin_client: httpx.AsyncClient,
                                           other_client: httpx.AsyncClient) -> None:
    cid = (await teacher_client.post("/api/v1/classes", json={"name": "一班"})).json()["id"]
    assert (await admin_client.get(f"/api/v1/classes/{cid}")).status_code == 200
    assert (await other_client.get(f"/api/v1/classes/{cid}")).status_code == 404


async def test_audit_log_is_admin_only_and_paginated(app: FastAPI,
                                                     teacher_client: httpx.AsyncClient,
                                                     admin_client: httpx.AsyncClient,
                                                     anon_client: httpx.AsyncClient) -> None:
    for i in range(3):
        r = await teacher_client.post("/api/v1/devices", json={"name": f"d{i}"})
        assert r.status_code == 201
    await _login(anon_client, "teacher1", "wrong password!")
    r = await teacher_client.get("/api/v1/audit")
    assert r.status_code == 403
    assert r.json()["error"] == "admin_only"
    page = (await admin_client.get("/api/v1/audit?limit=2")).json()
    assert page["total"] == 4
    assert len(page["items"]) == 2
    assert page["items"][0]["action"] == "auth.login_failed"  # newest first
    rest = (await admin_client.get("/api/v1/audit?limit=2&offset=2")).json()["items"]
    assert [e["action"] for e in rest] == ["device.create", "device.create"]
    only = (await admin_client.get("/api/v1/audit?action=device.create")).json()
    assert only["total"] == 3
    assert (await admin_client.get("/api/v1/audit?action=auth.")).json()["total"] == 1


async def test_uploads_are_rate_limited_per_actor(tmp_path: object, db_url: str) -> None:
    from pathlib import Path

    from service.app import create_app
    from service.config import Settings

    settings = Settings(data_dir=Path(str(tmp_path)) / "var", db={"url": db_url},  # type: ignore[arg-type]
                        jobs={"run_in_app": False}, limits={"uploads_per_minute": 2})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        a = await make_account(app, "up1")
        b = await make_account(app, "up2")
        async with client_for(app, a.headers) as ca, client_for(app, b.headers) as cb:
            for _ in range(2):
                r = await ca.post("/api/v1/scans", content=unique_png(),
                                  headers={"content-type": "image/png"})
                assert r.status_code == 202, r.text
            r = await ca.post("/api/v1/scans", content=unique_png(),
                              headers={"content-type": "image/png"})
            assert r.status_code == 429
            assert r.json()["error"] == "rate_limited"
            assert 1 <= int(r.headers["retry-after"]) <= 60
            r = await cb.post("/api/v1/scans", content=unique_png(),
                              headers={"content-type": "image/png"})
            assert r.status_code == 202  # another teacher has their own budget


async def test_parallel_sign_ins_cannot_slip_past_the_limit(
        app: FastAPI, anon_client: httpx.AsyncClient) -> None:
    # Every attempt is counted before its password is hashed: of 40 sign-ins sent at once,
    # at most the limit (10) get an answer about the password, the rest wait; the right
    # password among them does not get through.
    import asyncio

    await make_account(app, "guo", password_hash=await hash_password(PASSWORD))
    guesses = [f"wrong password {i}" for i in range(39)] + [PASSWORD]
    answers = await asyncio.gather(*(_login(anon_client, "guo", g) for g in guesses))
    codes = [r.status_code for r in answers]
    assert codes.count(429) >= 30, codes
    assert codes.count(401) + codes.count(200) <= 10, codes
    assert codes[-1] != 200 or codes.count(401) < 10  # the right one only if within the limit


async def test_a_username_is_limited_across_addresses_and_an_address_across_usernames(
        app: FastAPI, anon_client: httpx.AsyncClient) -> None:
    from service.ratelimit import ADDRESS_FACTOR, USERNAME_FACTOR

    await make_account(app, "xu", password_hash=await hash_password(PASSWORD))
    # One username from many addresses (a rotating or forged X-Forwarded-For).
    for i in range(10 * USERNAME_FACTOR):
        async with client_for(app) as c:
            c._transport.client = (f"10.0.{i // 250}.{i % 250 + 1}", 4000)  # type: ignore[attr-defined]
            assert (await _login(c, "xu", "wrong password!")).status_code == 401
    async with client_for(app) as fresh:
        fresh._transport.client = ("10.9.9.9", 4000)  # type: ignore[attr-defined]
        r = await _login(fresh, "xu", PASSWORD)
    assert r.status_code == 429
    # Many usernames from one address (spraying): the address stops after its share.
    codes = [(await _login(anon_client, f"spray{i}", "wrong password!")).status_code
             for i in range(10 * ADDRESS_FACTOR + 1)]
    assert codes[:10 * ADDRESS_FACTOR] == [401] * (10 * ADDRESS_FACTOR)
    assert codes[-1] == 429


async def test_sign_ins_from_one_school_address_do_not_add_up(
        app: FastAPI, anon_client: httpx.AsyncClient) -> None:
    # A school behind one address signs every teacher in: successes are not failures.
    from service.ratelimit import ADDRESS_FACTOR

    for i in range(10 * ADDRESS_FACTOR + 5):
        await make_account(app, f"teacher{i}", password_hash=await hash_password(PASSWORD))
        assert (await _login(anon_client, f"teacher{i}", PASSWORD)).status_code == 200
