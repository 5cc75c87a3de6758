"""Liveness and readiness probes."""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from service.db.engine import ping
from service.storage import free_bytes

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz/live")
async def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/healthz/ready")
async def ready(request: Request) -> JSONResponse:
    """Ready when start-up finished (migrations, bootstrap), the database answers and the
    data folder has at least ``limits.min_free_mb`` free (below it uploads get 507: a load
    balancer should send them elsewhere; ``free_mb`` says how much is left)."""
    state = request.app.state
    if not getattr(state, "ready", False):
        return JSONResponse({"error": "not_ready", "detail": "starting up"}, status_code=503)
    try:
        await ping(state.engine)
    except Exception as exc:  # any driver error means "not ready", never a crash
        return JSONResponse({"error": "not_ready", "detail": f"database: {type(exc).__name__}"},
                            status_code=503)
    settings = state.settings
    free_mb = await to_thread.run_sync(free_bytes, settings.data_dir) // (1024 * 1024)
    if free_mb < settings.limits.min_free_mb:
        return JSONResponse({"error": "not_ready", "reason": "disk_full", "free_mb": free_mb,
                             "detail": f"disk: {free_mb} MB free in the data folder, below "
                                       f"the {settings.limits.min_free_mb} MB reserve "
                                       "(MARKBOOK_LIMITS__MIN_FREE_MB)"}, status_code=503)
    checks = {"database": "ok", "pdf_font": "ok" if state.font_error is None else "missing"}
    body: dict[str, object] = {"status": "ready", "checks": checks, "free_mb": free_mb}
    if state.font_error:
        body["detail"] = state.font_error
    return JSONResponse(body)
