"""The API reference pages, offline: Swagger UI at ``/docs`` and ReDoc at ``/redoc``.

FastAPI's own pages load their scripts and styles from a public CDN (ReDoc its fonts from
Google too), so on a school network without internet they come up blank. These pages are
the same, with every asset served by the app: the scripts and styles ship inside the
``fastapi-offline`` wheel (Swagger UI 5, which reads the OpenAPI 3.1 FastAPI writes, and
ReDoc), and are served from :data:`ASSETS_URL`. Nothing is fetched at run time.

Use: create the app with ``docs_url=None, redoc_url=None`` (else FastAPI's CDN pages answer
first), then call :func:`install_docs`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_URL", "DOCS_URL", "REDOC_URL", "install_docs"]

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
# swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js and favicon.png, as installed.
_ASSETS_DIR = Path(str(resources.files("fastapi_offline") / "static"))
# ReDoc's sidebar shows its maker's logo from their CDN (hidden when it fails to load, as it
# does offline): the browser is told not to fetch images from anywhere but the app.
_REDOC_IMAGES = "img-src 'self' data:"


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` (with its OAuth2 redirect page), ``/redoc`` and their assets.

    Args:
        app: the app, created with ``docs_url=None`` and ``redoc_url=None``; one without
            an OpenAPI schema (``openapi_url=None``) gets no pages.

    Raises:
        ValueError: the app still has FastAPI's own (CDN) docs pages.
    """
    if app.docs_url is not None or app.redoc_url is not None:
        raise ValueError("create the app with docs_url=None and redoc_url=None: FastAPI's "
                         "own docs pages load their assets from a CDN")
    openapi_url = app.openapi_url
    if openapi_url is None:
        return
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url
    app.mount(ASSETS_URL, StaticFiles(directory=_ASSETS_DIR), name="docs-assets")

    # Plain routes, as FastAPI adds its own docs pages: outside the schema and the API.
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} API",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=f"{root}{oauth2_redirect_url}" if oauth2_redirect_url else None,
            init_oauth=app.swagger_ui_init_oauth,
            # No badge that sends the schema to the public validator service.
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        )

    async def swagger_ui_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} API",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = _REDOC_IMAGES
        return page

    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    if oauth2_redirect_url:
        app.add_route(oauth2_redirect_url, swagger_ui_redirect, include_in_schema=False)
    app.add_route(REDOC_URL, redoc, include_in_schema=False)
