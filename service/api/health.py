"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from service.db.engine import ping

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz/live")
async def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/healthz/ready")
async def ready(request: Request) -> JSONResponse:
    """Ready when start-up finished (migrations, bootstrap) and the database answers."""
    state = request.app.state
    if not getattr(state, "ready", False):
        return JSONResponse({"error": "not_ready", "detail": "starting up"}, status_code=503)
    try:
        await ping(state.engine)
    except Exception as exc:  # any driver error means "not ready", never a crash
        return JSONResponse({"error": "not_ready", "detail": f"database: {type(exc).__name__}"},
                            status_code=503)
    checks = {"database": "ok", "pdf_font": "ok" if state.font_error is None else "missing"}
    body: dict[str, object] = {"status": "ready", "checks": checks}
    if state.font_error:
        body["detail"] = state.font_error
    return JSONResponse(body)
