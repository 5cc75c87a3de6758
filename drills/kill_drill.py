"""Kill the service while it grades: no page lost, none graded twice, the job finishes.

Starts ``markbook serve`` (its job runner and page workers inside) on a fresh data folder,
uploads a class stack, and while the job runs kills a random page worker process with
SIGKILL (``--worker-kills`` times) and the server itself (``--server-kills`` times,
restarting it each time), then checks the database: every page of the upload stored
once, one current grade per answer, the job ``done``.

    .venv/bin/python -m drills.kill_drill --pages 300 --worker-kills 50 --server-kills 10
    (tests/service/test_kill_drill.py runs a short form in ``make test``)

With ``--broker-url`` (and ``--db-url`` of a PostgreSQL) the jobs run on a Celery worker
(``markbook worker``), and the "server" kills take that worker instead.

Linux only (page workers are found through /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from drills.live import ROOT, Server, count_grades, drill_env, free_port, page_workers, sign_in

__all__ = ["DrillResult", "run_drill"]



@dataclass
class DrillResult:
    """What happened and what the database holds afterwards."""

    pages: int = 0
    job: dict[str, Any] = field(default_factory=dict)
    worker_kills: int = 0
    server_kills: int = 0
    stored_pages: int = 0
    current_grades: int = 0
    expected_grades: int = 0
    graded_twice: int = 0
    seconds: float = 0.0
    # Where the worker kills landed (from the job's crash counts): on a page being read,
    # or elsewhere (a worker starting or idle); and crashes charged (none expected).
    kills_landed: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (self.job.get("status") == "done" and self.stored_pages == self.pages
                and self.graded_twice == 0 and self.current_grades == self.expected_grades)


def _stack(api: httpx.Client, pages: int) -> tuple[bytes, int, int]:
    """A class stack of about ``pages`` pages: (pdf, worksheet id, answers expected)."""
    from simulation.classroom import font_glyph_bank, keys_for, scan_class_set

    bank = json.loads((ROOT / "sample_scans" / "question_bank.json").read_text("utf-8"))
    api.post("/api/v1/questions:import", json=bank).raise_for_status()
    ids = [q["id"] for q in bank["questions"] if q["subject"] == "math"
           and q["kind"] in ("arithmetic", "choice", "true_false") and len(q["stem"]) <= 30][:8]
    cid = api.post("/api/v1/classes", json={"name": "演练班", "grade": 3}).json()["id"]
    api.post(f"/api/v1/classes/{cid}/students", json=[
        {"student_no": f"{i:04d}", "name": f"学生{i}"} for i in range(1, pages + 1)
    ]).raise_for_status()
    wid = api.post("/api/v1/worksheets", json={"title": "演练", "class_id": cid,
                                                "question_ids": ids}).json()["id"]
    layout = api.get(f"/api/v1/worksheets/{wid}/layout").json()
    per_copy = len(layout["pages"])
    printed = api.get(f"/api/v1/worksheets/{wid}/print.pdf",
                      params={"per_student": "true", "duplex": "false"}).content
    docs = [q for q in bank["questions"] if q["id"] in ids]
    stack = scan_class_set(printed, {wid: layout}, keys_for(docs), seed=5,
                           bank=font_glyph_bank(), handwriting="font")
    students = len(stack.pages) // per_copy
    return stack.pdf, wid, students * len(ids)


def run_drill(pages: int, worker_kills: int, server_kills: int, *, db_url: str | None = None,
              seed: int = 1, say: Any = None, server_first: bool = False,
              broker_url: str | None = None, mid_page: bool = True) -> DrillResult:
    """Run the drill on a fresh data folder (and ``db_url``, default SQLite in it).

    With ``mid_page`` a worker is killed only once the job has stored a page since the
    last worker kill: the pool is up and reading, so the kill lands on a page, not on a
    fresh worker still loading its models (on a busy box starting takes longer than the
    drill's pause between kills).

    With ``broker_url`` the jobs run on a Celery worker (``markbook worker``): the
    "server" kills are then kills of that worker, restarted each time, and the worker
    kills hit its page processes.
    """
    say = say or _say
    rng = random.Random(seed)
    result = DrillResult()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        db = db_url or f"sqlite+aiosqlite:///{data / 'markbook.db'}"
        env = drill_env(data, db, broker_url, f"markbook.drill.{os.getpid()}.{seed}", {
            "MARKBOOK_JOBS__LEASE_SECONDS": "10", "MARKBOOK_JOBS__POLL_SECONDS": "0.5",
            "MARKBOOK_LIMITS__MAX_COPIES": str(pages + 10)})
        server = Server(env, free_port(), data / "server.log")
        server.start()
        # The process whose page workers and whose own life the drill takes.
        target = Server(env, 0, data / "worker.log", ["worker"]) if broker_url else server
        if broker_url:
            target.start()
        base = f"http://127.0.0.1:{server.port}"
        headers = sign_in(base)
        try:
            with httpx.Client(base_url=base, headers=headers, timeout=120) as api:
                pdf, _wid, result.expected_grades = _stack(api, pages)
                r = api.post("/api/v1/scans", content=pdf,
                             headers={"content-type": "application/pdf"})
                r.raise_for_status()
                job_id, result.pages = int(r.json()["job_id"]), int(r.json()["pages"])
                say(f"uploaded {result.pages} pages; job {job_id}")
            plan = ["worker"] * worker_kills + ["server"] * server_kills
            rng.shuffle(plan)
            done_at_kill = -1
            if server_first:  # the plan is taken from its end
                plan.sort(key=lambda kind: kind == "server")
            while True:
                time.sleep(rng.uniform(0.5, 2.5))
                try:
                    job = httpx.get(f"{base}/api/v1/jobs/{job_id}", headers=headers,
                                    timeout=30).json()
                except httpx.HTTPError:
                    continue
                if job["status"] in ("done", "failed", "partially_done"):
                    break
                if not plan:
                    continue
                assert target.proc is not None
                if plan[-1] == "server":
                    target.kill()
                    result.server_kills += 1
                    plan.pop()
                    target.start()
                    continue
                if mid_page and int(job.get("pages_done") or 0) <= done_at_kill:
                    continue
                workers = page_workers(target.proc.pid)
                if workers:
                    os.kill(rng.choice(workers), signal.SIGKILL)
                    result.worker_kills += 1
                    done_at_kill = int(job.get("pages_done") or 0)
                    plan.pop()
            result.job = job
        finally:
            if target is not server:
                target.stop()
            server.stop()
        upload_id = int(result.job.get("upload_id") or 1)
        result.stored_pages, result.current_grades, result.graded_twice = asyncio.run(
            count_grades(db, [upload_id]))
        result.kills_landed = asyncio.run(_kills_landed(db, int(result.job.get("id") or 1),
                                                        result.worker_kills))
    result.seconds = time.monotonic() - started
    return result


async def _kills_landed(db_url: str, job_id: int, kills: int) -> dict[str, int]:
    """Where the worker kills landed, from the crash counts in the job's payload: on a
    page being read (charged to it), or elsewhere (a worker starting or idle)."""
    from service.db import JobRow
    from service.db.engine import create_engine, make_session_factory
    from service.jobs.recovery import page_crashes, page_kills

    engine = create_engine(db_url)
    try:
        async with make_session_factory(engine)() as session:
            job = await session.get(JobRow, job_id)
            payload = job.payload if job is not None else {}
    finally:
        await engine.dispose()
    on_pages = sum(page_kills(payload).values())
    return {"reading": on_pages, "elsewhere": kills - on_pages,
            "crashes_charged": sum(page_crashes(payload).values())}


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--worker-kills", type=int, default=50)
    parser.add_argument("--server-kills", type=int, default=10)
    parser.add_argument("--db-url", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--broker-url", help="run the jobs on a Celery worker over this "
                        "broker (redis://... or amqp://...) and kill that worker")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--any-time", action="store_true", help="kill a worker whenever "
                        "there is one, even one still starting (default: only once a page "
                        "was stored since the last kill)")
    args = parser.parse_args(argv)
    r = run_drill(args.pages, args.worker_kills, args.server_kills, db_url=args.db_url,
                  seed=args.seed, broker_url=args.broker_url, mid_page=not args.any_time)
    _say(f"job {r.job.get('status')}: {r.stored_pages}/{r.pages} pages stored, "
          f"{r.current_grades}/{r.expected_grades} answers graded, {r.graded_twice} graded "
          f"twice; {r.worker_kills} worker kills (landed: {r.kills_landed}), "
          f"{r.server_kills} server kills; "
          f"{r.seconds:.0f} s; problems: {r.job.get('problems')}")
    return 0 if r.ok else 1


if __name__ == "__main__":
    sys.exit(main())
