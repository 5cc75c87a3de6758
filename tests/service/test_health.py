"""Liveness, readiness and the OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from service.app import ConfigurationError, check_configured_font, create_app
from service.config import Settings


async def test_live_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz/live")).json() == {"status": "ok"}
    r = await client.get("/healthz/ready")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "pdf_font": "ok"}


async def test_not_ready_before_startup(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/healthz/ready")
    assert r.status_code == 503
    assert r.json()["error"] == "not_ready"


async def test_openapi_lists_the_v1_routes(client: httpx.AsyncClient) -> None:
    paths = set((await client.get("/openapi.json")).json()["paths"])
    assert {"/api/v1/classes", "/api/v1/classes/{class_id}", "/api/v1/classes/{class_id}/students",
            "/api/v1/classes/{class_id}/students:import", "/api/v1/questions:import",
            "/api/v1/questions", "/api/v1/worksheets", "/api/v1/worksheets/{worksheet_id}/layout",
            "/api/v1/worksheets/{worksheet_id}/print.pdf", "/healthz/live",
            "/healthz/ready"} <= paths


async def test_unknown_route_is_404_json(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nope")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_a_configured_font_that_is_missing_is_bad_configuration(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"MARKBOOK_CJK_FONT=.*no such font file"):
        Settings(data_dir=tmp_path, cjk_font=tmp_path / "missing.ttc")


async def test_a_configured_font_that_cannot_be_embedded_stops_start_up(tmp_path: Path) -> None:
    bogus = tmp_path / "fake.ttf"
    bogus.write_bytes(b"not a font")
    settings = Settings(data_dir=tmp_path, cjk_font=bogus)
    with pytest.raises(ConfigurationError, match=r"MARKBOOK_CJK_FONT=.*fake\.ttf"):
        check_configured_font(settings)
    app = create_app(settings)
    with pytest.raises(ConfigurationError, match=r"MARKBOOK_CJK_FONT=.*fake\.ttf"):
        async with app.router.lifespan_context(app):
            pass  # pragma: no cover - start-up must fail
