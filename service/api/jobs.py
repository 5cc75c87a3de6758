"""Job status: one JSON document, and a server-sent-events stream of progress."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from service.api.deps import IngestActorDep, SessionDep
from service.db import JobRow, ScanUploadRow
from service.repositories.jobs import JobRepository

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
TERMINAL = {"done", "failed", "partially_done"}


class JobOut(BaseModel):
    id: int
    status: str
    pages_total: int
    pages_done: int
    progress: float
    problems: list[dict[str, Any]]
    error: str | None
    upload_id: int
    filename: str
    worksheet_id: int | None
    created_at: datetime
    finished_at: datetime | None


def job_out(job: JobRow, upload: ScanUploadRow) -> JobOut:
    total = max(job.pages_total, 1)
    return JobOut(id=job.id, status=job.status, pages_total=job.pages_total,
                  pages_done=job.pages_done, progress=round(min(job.pages_done / total, 1.0), 4),
                  problems=list(job.problems or []), error=job.error, upload_id=upload.id,
                  filename=upload.filename, worksheet_id=upload.worksheet_hint_id,
                  created_at=job.created_at, finished_at=job.finished_at)


@router.get("", response_model=list[JobOut])
async def list_jobs(session: SessionDep, actor: IngestActorDep) -> list[JobOut]:
    """The caller's most recent jobs, newest first."""
    return [job_out(j, u) for j, u in await JobRepository(session, actor).recent()]


@router.get("/{job_id}", response_model=JobOut)
async def get_job(job_id: int, session: SessionDep, actor: IngestActorDep) -> JobOut:
    """A job's status, progress and per-page problems (poll this, or use /events)."""
    job, upload = await JobRepository(session, actor).get(job_id)
    return job_out(job, upload)


@router.get("/{job_id}/events", response_class=StreamingResponse)
async def job_events(job_id: int, request: Request, session: SessionDep,
                     actor: IngestActorDep) -> StreamingResponse:
    """Server-sent events: a ``progress`` event whenever the job changes, then ``end``."""
    await JobRepository(session, actor).get(job_id)  # 404 before the stream starts
    factory = request.app.state.session_factory

    async def stream() -> AsyncIterator[str]:
        last = None
        while True:
            async with factory() as s:
                job, upload = await JobRepository(s, actor).get(job_id)
                body = job_out(job, upload).model_dump_json()
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
