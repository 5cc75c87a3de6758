"""Job status: one JSON document, and a server-sent-events stream of progress."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from service.api.deps import IngestActorDep, SessionDep
from service.job_status import TERMINAL, job_status, recent_jobs
from service.schemas.jobs import JobOut

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


@router.get("", response_model=list[JobOut])
async def list_jobs(session: SessionDep, actor: IngestActorDep) -> list[JobOut]:
    """The caller's most recent jobs, newest first."""
    return await recent_jobs(session, actor)


@router.get("/{job_id}", response_model=JobOut)
async def get_job(job_id: int, session: SessionDep, actor: IngestActorDep) -> JobOut:
    """A job's status, progress and per-page problems (poll this, or use /events)."""
    return await job_status(session, actor, job_id)


@router.get("/{job_id}/events", response_class=StreamingResponse)
async def job_events(job_id: int, request: Request, session: SessionDep,
                     actor: IngestActorDep) -> StreamingResponse:
    """Server-sent events: a ``progress`` event whenever the job changes, then ``end``."""
    await job_status(session, actor, job_id)  # 404 before the stream starts
    factory = request.app.state.session_factory

    async def stream() -> AsyncIterator[str]:
        last = None
        while True:
            async with factory() as s:
                body = (await job_status(s, actor, job_id)).model_dump_json()
            if body != last:
                last = body
                yield f"event: progress\ndata: {body}\n\n"
            if json.loads(body)["status"] in TERMINAL:
                yield "event: end\ndata: {}\n\n"
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.5)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})
