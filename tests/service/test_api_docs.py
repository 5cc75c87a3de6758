"""The API reference pages (/docs, /redoc) work offline: every asset they reference is
served by the app itself, none comes from another host."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from service.app import create_app
from service.config import Settings
from service.web.docs import install_docs

BASE = "http://markbook.test"
# src="…", href="…", and the schema URL Swagger UI's start-up script names (url: '…').
_REFERENCE = re.compile(r"""(?:\b(?:src|href)\s*=\s*|\burl:\s*|spec-url\s*=\s*)["']([^"']+)["']""")
_ABSOLUTE = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


@pytest.fixture
async def docs_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(data_dir=tmp_path / "var"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
            yield c


@pytest.mark.parametrize(("page", "script"), [("/docs", "swagger-ui-bundle.js"),
                                              ("/redoc", "redoc.standalone.js")])
async def test_docs_pages_reference_only_the_app(docs_client: httpx.AsyncClient, page: str,
                                                 script: str) -> None:
    r = await docs_client.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    foreign = [u for u in _ABSOLUTE.findall(html) if urlsplit(urljoin(BASE, u)).netloc
               != urlsplit(BASE).netloc]
    assert not foreign, f"{page} references other hosts: {foreign}"
    refs = _REFERENCE.findall(html)
    assert any(ref.endswith(script) for ref in refs), refs
    assert any(ref.endswith("/openapi.json") for ref in refs), refs
    for ref in refs:
        asset = await docs_client.get(urljoin(BASE + page, ref))
        assert asset.status_code == 200, f"{page} references {ref}: {asset.status_code}"
        assert asset.content, ref


async def test_assets_are_the_real_bundles(docs_client: httpx.AsyncClient) -> None:
    js = await docs_client.get("/docs/assets/swagger-ui-bundle.js")
    assert "javascript" in js.headers["content-type"]
    # Swagger UI 5 (the first to read OpenAPI 3.1, the version FastAPI writes).
    assert (await docs_client.get("/openapi.json")).json()["openapi"].startswith("3.1")
    assert re.search(r"""["']5\.\d+\.\d+["']""", js.text), "not a Swagger UI 5 bundle"
    css = await docs_client.get("/docs/assets/swagger-ui.css")
    assert css.headers["content-type"].startswith("text/css")
    assert ".swagger-ui" in css.text
    redoc = await docs_client.get("/docs/assets/redoc.standalone.js")
    assert "javascript" in redoc.headers["content-type"]
    assert "Redoc" in redoc.text


async def test_redoc_may_show_images_from_the_app_only(docs_client: httpx.AsyncClient) -> None:
    r = await docs_client.get("/redoc")
    assert r.headers["content-security-policy"] == "img-src 'self' data:"


async def test_oauth2_redirect_page(docs_client: httpx.AsyncClient) -> None:
    r = await docs_client.get("/docs/oauth2-redirect")
    assert r.status_code == 200
    assert "oauth2" in r.text


async def test_unknown_asset_is_404(docs_client: httpx.AsyncClient) -> None:
    assert (await docs_client.get("/docs/assets/nope.js")).status_code == 404


def test_refuses_an_app_with_fastapis_cdn_pages() -> None:
    with pytest.raises(ValueError, match="docs_url=None"):
        install_docs(FastAPI())
