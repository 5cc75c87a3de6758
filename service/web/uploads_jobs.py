"""A scan job's page, and its progress as server-sent events for the page's script.

* ``GET /jobs/{job_id}``: status, a progress bar, the file's failure if it could not be
  read, and every page problem in plain words with what to do. While the job runs the page
  reloads itself every few seconds without script (``<noscript>`` refresh); with script,
  ``static/uploads.js`` follows ``/events`` and moves the bar live.
* ``GET /jobs/{job_id}/events``: the same ``progress``/``end`` events as
  ``GET /api/v1/jobs/{job_id}/events`` (which takes a bearer token only), for the signed-in
  browser, from the same :func:`service.job_status.job_status`.
* ``POST /jobs/{job_id}/retry`` (the page's "重试" button, shown when the job failed or
  left pages unread): :func:`service.jobs.recovery.retry_job`, then back to the job page.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from service.actor import Actor
from service.api.deps import SessionDep
from service.errors import Conflict
from service.job_status import TERMINAL, job_status
from service.jobs.recovery import can_retry, retry_job
from service.web.deps import FormUser, RequiredUser, see_other
from service.web.render import render
from service.web.uploads_views import job_error_view, problem_views

__all__ = ["POLL_S", "router"]

router = APIRouter(include_in_schema=False)
POLL_S = 0.5


@router.get("/jobs/{job_id}")
async def job_page(job_id: int, request: Request, user: RequiredUser,
                   session: SessionDep) -> Response:
    """One job: progress, and its page problems explained."""
    job = await job_status(session, user.actor, job_id)
    return render(request, "uploads/job.html", user=user, job=job,
                  running=job.status not in TERMINAL, problems=problem_views(job),
                  failure=job_error_view(job), retryable=can_retry(job))


@router.post("/jobs/{job_id}/retry")
async def job_retry(job_id: int, request: Request, user: FormUser,
                    session: SessionDep) -> Response:
    """Queue the job again (its stored pages are kept), and show it. A job with nothing to
    retry (the button pressed twice, or the job meanwhile queued) just shows the job."""
    response = see_other(f"/jobs/{job_id}")
    try:
        await retry_job(session, user.actor, job_id,
                        ip=request.client.host if request.client else None)
    except Conflict:
        return response  # its page says where it stands
    runner = request.app.state.runner
    if runner is not None:
        response.background = BackgroundTask(runner.notify)  # after the commit
    return response


async def _events(request: Request, actor: Actor, job_id: int) -> AsyncIterator[str]:
    factory = request.app.state.session_factory
    last = None
    while True:
        async with factory() as s:
            job = await job_status(s, actor, job_id)
        body = job.model_dump_json()
        if body != last:
            last = body
            yield f"event: progress\ndata: {body}\n\n"
        if job.status in TERMINAL:
            yield "event: end\ndata: {}\n\n"
            return
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_S)


@router.get("/jobs/{job_id}/events")
async def job_events(job_id: int, request: Request, user: RequiredUser,
                     session: SessionDep) -> StreamingResponse:
    """Server-sent events: ``progress`` (the job as JSON) whenever it changes, then ``end``."""
    await job_status(session, user.actor, job_id)  # 404 before the stream starts
    return StreamingResponse(_events(request, user.actor, job_id),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
