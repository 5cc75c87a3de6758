"""Job status: one JSON document, a server-sent-events stream of progress, and retrying a
job that failed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import StreamingResponse

from service.api.deps import IngestActorDep, SessionDep
from service.job_status import TERMINAL, job_status, recent_jobs
from service.jobs.recovery import retry_job
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


@router.post("/{job_id}:retry", response_model=JobOut, status_code=202,
             responses={409: {"description": "nothing to retry (job_not_retryable)"}})
async def retry(job_id: int, request: Request, background: BackgroundTasks,
                session: SessionDep, actor: IngestActorDep) -> JobOut:
    """Queue a job again that ended ``failed``, or ``partially_done`` with pages not stored
    (e.g. a page skipped because it kept crashing the worker). Pages already stored are
    kept and never read again; only the rest are read. For the job's uploader or an admin;
    409 ``job_not_retryable`` when the job is queued, running, done, or has every page
    stored."""
    out = await retry_job(session, actor, job_id,
                          ip=request.client.host if request.client else None)
    runner = request.app.state.runner
    if runner is not None:
        background.add_task(runner.notify, job_id)  # after the commit, so it finds the job queued
    return out


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
