"""Webhooks: signatures, the admin endpoints, and real deliveries to a real local HTTP server.

Delivery tests drive :func:`deliver_due` step by step with an explicit clock (the lifespan
loop is switched off for them); one test leaves the loop on and lets it deliver by itself.
All run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from service.actor import Actor, current_actor
from service.config import Settings, WebhookSettings
from service.db import JobRow, WebhookDeliveryRow
from service.db.base import utcnow
from service.jobs.runner import finish_job
from service.webhooks import deliver_due, retry_delay, sign, verify_signature
from tests.support.waiting import wait_until

SECRET = "s3cret-s3cret-s3cret"


# --- signatures ---------------------------------------------------------------------------

def test_signature_round_trip_and_tamper_detection() -> None:
    body = b'{"event":"job.finished","id":1}'
    header = sign(SECRET, body, 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert len(header.split("v1=")[1]) == 64
    assert verify_signature(SECRET, header, body, now=1_700_000_010)
    assert not verify_signature(SECRET, header, body + b" ", now=1_700_000_010)
    assert not verify_signature("another-secret-16chars", header, body, now=1_700_000_010)
    forged = header.replace("t=1700000000", "t=1700000005")
    assert not verify_signature(SECRET, forged, body, now=1_700_000_010)
    assert not verify_signature(SECRET, None, body)
    assert not verify_signature(SECRET, "garbage", body)
    assert not verify_signature(SECRET, "t=1700000000", body, now=1_700_000_000)


def test_stale_or_future_timestamp_is_rejected() -> None:
    body = b"{}"
    header = sign(SECRET, body, 1_700_000_000)
    assert verify_signature(SECRET, header, body, tolerance_s=300, now=1_700_000_299)
    assert not verify_signature(SECRET, header, body, tolerance_s=300, now=1_700_000_301)
    assert not verify_signature(SECRET, header, body, tolerance_s=300, now=1_699_999_600)


def test_rotated_secret_any_v1_matches() -> None:
    body = b"{}"
    old = sign("old-secret-0123456789", body, 100).split("v1=")[1]
    new = sign(SECRET, body, 100)
    assert verify_signature(SECRET, f"{new},v1={old}", body, now=100)
    assert verify_signature("old-secret-0123456789", f"{new},v1={old}", body, now=100)


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    s = WebhookSettings(backoff_base_seconds=10, backoff_max_seconds=3600)
    assert retry_delay(1, s, lambda: 0.5) == pytest.approx(10)
    assert retry_delay(2, s, lambda: 0.5) == pytest.approx(20)
    assert retry_delay(4, s, lambda: 0.0) == pytest.approx(80 * 0.8)
    assert retry_delay(4, s, lambda: 0.999) == pytest.approx(80 * 1.1996)
    assert retry_delay(30, s, lambda: 0.999) == 3600


# --- a real receiver ----------------------------------------------------------------------

class Receiver:
    """A stdlib HTTP server on a free loopback port answering with scripted statuses."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver([]) as r:
        yield r


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"  # nothing listens there any more


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},  # type: ignore[arg-type]
                    jobs={"run_in_app": False},
                    webhooks={"enabled": False, "max_attempts": 3, "timeout_seconds": 2})


def _app(client: httpx.AsyncClient) -> Any:
    return client._transport.app  # type: ignore[attr-defined]


async def _finish_a_job(client: httpx.AsyncClient, worksheet_id: int | None = None) -> int:
    """A job reaching its end through the runner's own ``finish_job`` (the real hook)."""
    app = _app(client)
    async with app.state.session_factory() as s:
        job = JobRow(school_id=app.state.local_actor.school_id, kind="scan", status="running",
                  payload={"upload_id": 999_999, "worksheet_id": worksheet_id}, pages_total=0,
                  problems=[])
        s.add(job)
        await s.flush()
        await finish_job(s, job)
        await s.commit()
        return job.id


async def _deliveries(client: httpx.AsyncClient) -> list[WebhookDeliveryRow]:
    async with _app(client).state.session_factory() as s:
        return list((await s.execute(select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id)))
                    .scalars())


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite drops the zone


# --- admin endpoints ----------------------------------------------------------------------

async def test_configure_webhook_validates_and_generates_secret(
        client: httpx.AsyncClient) -> None:
    r = await client.put("/api/v1/school/webhook", json={"url": "ftp://x.example/hook"})
    assert r.status_code == 422
    assert r.json()["error"] == "bad_webhook_url"
    r = await client.put("/api/v1/school/webhook", json={"url": "not a url"})
    assert r.status_code == 422
    assert r.json()["error"] == "bad_webhook_url"
    r = await client.put("/api/v1/school/webhook",
                         json={"url": "https://lms.example/hook", "secret": "short"})
    assert r.status_code == 422
    assert r.json()["error"] == "weak_webhook_secret"
    r = await client.put("/api/v1/school/webhook", json={"url": "https://lms.example/hook"})
    assert r.status_code == 200, r.text
    generated = r.json()["secret"]
    assert len(generated) >= 32
    assert r.json()["configured"]
    r = await client.get("/api/v1/school/webhook")
    assert r.json() == {"url": "https://lms.example/hook", "configured": True, "secret": None}
    r = await client.put("/api/v1/school/webhook",
                         json={"url": "http://10.0.0.5:9000/in", "secret": SECRET})
    assert r.status_code == 200
    assert "secret" not in r.json()
    await _finish_a_job(client)
    r = await client.get("/api/v1/school/webhook/deliveries")
    assert r.status_code == 200
    assert len(r.json()) == 1
    assert SECRET not in r.text
    assert generated not in r.text
    assert r.json()[0]["status"] == "pending"
    r = await client.delete("/api/v1/school/webhook")
    assert r.status_code == 204
    assert (await client.get("/api/v1/school/webhook")).json()["configured"] is False
    assert [d.status for d in await _deliveries(client)] == ["cancelled"]
    await _finish_a_job(client)  # no webhook now: nothing queued
    assert len(await _deliveries(client)) == 1


async def test_webhook_endpoints_are_admin_only(client: httpx.AsyncClient) -> None:
    app = _app(client)
    local = app.state.local_actor
    app.dependency_overrides[current_actor] = lambda: Actor(local.teacher_id, local.school_id,
                                                           is_admin=False)
    try:
        for method, path in (("PUT", "/api/v1/school/webhook"), ("GET", "/api/v1/school/webhook"),
                             ("DELETE", "/api/v1/school/webhook"),
                             ("GET", "/api/v1/school/webhook/deliveries")):
            r = await client.request(method, path, json={"url": "https://x.example/h"})
            assert r.status_code == 403, (method, path)
            assert r.json()["error"] == "admin_only"
    finally:
        app.dependency_overrides.clear()


# --- deliveries ---------------------------------------------------------------------------

async def test_job_finished_is_delivered_signed(client: httpx.AsyncClient,
                                               receiver: Receiver) -> None:
    r = await client.put("/api/v1/school/webhook", json={"url": receiver.url, "secret": SECRET})
    assert r.status_code == 200
    job_id = await _finish_a_job(client, worksheet_id=7)
    async with httpx.AsyncClient() as http:
        sent = await deliver_due(_app(client).state.session_factory, http,
                                 WebhookSettings(max_attempts=3))
    assert sent == 1
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert headers["content-type"] == "application/json"
    assert headers["x-markbook-event"] == "job.finished"
    assert verify_signature(SECRET, headers["x-markbook-signature"], body)
    assert not verify_signature("wrong-secret-0123456789", headers["x-markbook-signature"], body)
    doc = json.loads(body)
    assert headers["x-markbook-delivery"] == str(doc["id"])
    assert doc["event"] == "job.finished"
    data = doc["data"]
    assert data["job_id"] == job_id
    assert data["status"] == "done"
    assert data["pages_total"] == 0
    assert data["problems"] == 0
    assert data["finished_at"]
    assert data["worksheet_ids"] == [7]
    [d] = await _deliveries(client)
    assert d.status == "delivered"
    assert d.attempts == 1
    assert d.delivered_at is not None
    # Nothing is due any more: a second pass sends nothing.
    async with httpx.AsyncClient() as http:
        assert await deliver_due(_app(client).state.session_factory, http,
                                 WebhookSettings()) == 0
    assert len(receiver.requests) == 1


async def test_server_error_then_ok_is_retried_and_counted(client: httpx.AsyncClient,
                                                          receiver: Receiver) -> None:
    receiver.statuses[:] = [500, 503]
    await client.put("/api/v1/school/webhook", json={"url": receiver.url, "secret": SECRET})
    await _finish_a_job(client)
    factory = _app(client).state.session_factory
    ws = WebhookSettings(max_attempts=5, backoff_base_seconds=10)
    now = utcnow()
    async with httpx.AsyncClient() as http:
        assert await deliver_due(factory, http, ws, now=now, rand=lambda: 0.5) == 1
        [d] = await _deliveries(client)
        assert d.status == "pending"
        assert d.attempts == 1
        assert d.last_error == "HTTP 500"
        assert _aware(d.next_attempt_at) == pytest.approx(now + timedelta(seconds=10),
                                                          abs=timedelta(milliseconds=1))
        # Not due yet: nothing is sent.
        assert await deliver_due(factory, http, ws, now=now + timedelta(seconds=9)) == 0
        now += timedelta(seconds=11)
        assert await deliver_due(factory, http, ws, now=now, rand=lambda: 0.5) == 1
        [d] = await _deliveries(client)
        assert d.attempts == 2
        assert d.last_error == "HTTP 503"
        assert _aware(d.next_attempt_at) == pytest.approx(now + timedelta(seconds=20),
                                                          abs=timedelta(milliseconds=1))
        assert await deliver_due(factory, http, ws, now=now + timedelta(seconds=21)) == 1
    [d] = await _deliveries(client)
    assert d.status == "delivered"
    assert d.attempts == 3
    assert len(receiver.requests) == 3
    # The body is the same bytes on every attempt; each attempt is signed afresh.
    assert len({body for _, body in receiver.requests}) == 1
    assert all(verify_signature(SECRET, h["x-markbook-signature"], b)
               for h, b in receiver.requests)
    listed = (await client.get("/api/v1/school/webhook/deliveries")).json()
    assert listed[0]["attempts"] == 3
    assert listed[0]["status"] == "delivered"


async def test_unreachable_backs_off_then_fails(client: httpx.AsyncClient) -> None:
    await client.put("/api/v1/school/webhook", json={"url": _dead_url(), "secret": SECRET})
    await _finish_a_job(client)
    factory = _app(client).state.session_factory
    ws = WebhookSettings(max_attempts=3, backoff_base_seconds=10, timeout_seconds=2)
    now = utcnow()
    delays = []
    async with httpx.AsyncClient() as http:
        for attempt in range(1, 4):
            assert await deliver_due(factory, http, ws, now=now, rand=lambda: 0.0) == 1
            [d] = await _deliveries(client)
            assert d.attempts == attempt
            assert "ConnectError" in (d.last_error or "")
            if attempt < 3:
                assert d.status == "pending"
                delays.append((_aware(d.next_attempt_at) - now).total_seconds())
                now = _aware(d.next_attempt_at) + timedelta(seconds=1)
    assert delays == pytest.approx([8.0, 16.0])  # 10 s × 2^n with the lowest jitter (×0.8)
    assert d.status == "failed"
    assert d.delivered_at is None
    async with httpx.AsyncClient() as http:  # failed for good: never tried again
        assert await deliver_due(factory, http, ws, now=now + timedelta(days=1)) == 0


async def test_claimed_delivery_is_not_sent_twice(client: httpx.AsyncClient,
                                                  receiver: Receiver) -> None:
    await client.put("/api/v1/school/webhook", json={"url": receiver.url, "secret": SECRET})
    await _finish_a_job(client)
    await _finish_a_job(client)
    factory = _app(client).state.session_factory
    async with httpx.AsyncClient() as http:
        counts = await asyncio.gather(deliver_due(factory, http, WebhookSettings()),
                                      deliver_due(factory, http, WebhookSettings()))
    assert sum(counts) == 2
    assert len(receiver.requests) == 2
    ids = {h["x-markbook-delivery"] for h, _ in receiver.requests}
    assert len(ids) == 2


async def test_lifespan_loop_delivers_by_itself(tmp_path: Path, db_url: str,
                                                receiver: Receiver) -> None:
    from service.app import create_app

    settings = Settings(data_dir=tmp_path / "var2", db={"url": db_url},  # type: ignore[arg-type]
                        jobs={"run_in_app": False},
                        webhooks={"enabled": True, "poll_seconds": 0.05})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        from service.inprocess import local_token

        transport = httpx.ASGITransport(app=app)
        auth = {"Authorization": f"Bearer {await local_token(app)}"}  # the local admin
        async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                     headers=auth) as c:
            r = await c.put("/api/v1/school/webhook", json={"url": receiver.url,
                                                           "secret": SECRET})
            assert r.status_code == 200, r.text
            await _finish_a_job(c)
            await wait_until(lambda: receiver.requests, timeout_s=30, what="a webhook request")
            assert len(receiver.requests) == 1

            async def delivered() -> bool:
                return (await _deliveries(c))[0].status == "delivered"

            await wait_until(delivered, timeout_s=30, what="the delivery marked delivered")
            assert (await _deliveries(c))[0].status == "delivered"
