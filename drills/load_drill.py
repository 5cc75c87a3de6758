"""Load a real service with uploads and readers at once: no error, every page graded once,
and how long acknowledgements and reads take.

Starts ``markbook serve`` on a fresh data folder with a class and a one-page worksheet
printed for every child, then for ``--minutes``:

* ``--uploaders`` clients upload at the same moment, once every ``--wave-seconds`` (a
  class bell: every teacher's stack arrives at once), each a different child's scanned
  copy, and time the acknowledgement (the ``202``);
* ``--readers`` clients read what teachers read while jobs run (a job's status, the
  worksheet's results, the class, its progress), each about once a second, and time it.

It then waits for every job to finish and checks the database: every job ``done``, every
uploaded page stored once, one current grade per answer. Any response other than the one
expected, or a failed request, is an error.

    .venv/bin/python -m drills.load_drill --minutes 5 --uploaders 50 --readers 100
    (tests/service/test_load_drill.py runs a short form in ``make test``)

With ``--broker-url`` (and ``--db-url`` of a PostgreSQL) the jobs run on a Celery worker
(``markbook worker``). The drill's own clients share the box with the service, as a
loopback drill must.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from drills.lean_http import LeanClient, LeanError
from drills.live import ROOT, Server, count_grades, drill_env, free_port, sign_in

__all__ = ["LoadResult", "run_drill"]

QUESTIONS = 8


@dataclass
class LoadResult:
    """What the clients saw and what the database holds afterwards."""

    uploads: int = 0
    pages: int = 0
    reads: int = 0
    errors: list[str] = field(default_factory=list)
    ack_ms: list[float] = field(default_factory=list)
    read_ms: dict[str, list[float]] = field(default_factory=dict)
    jobs: dict[str, int] = field(default_factory=dict)  # final status: count
    stored_pages: int = 0
    current_grades: int = 0
    expected_grades: int = 0
    graded_twice: int = 0
    drain_s: float = 0.0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (not self.errors and self.jobs == {"done": self.uploads}
                and self.stored_pages == self.pages and self.graded_twice == 0
                and self.current_grades == self.expected_grades)

    def all_reads(self) -> list[float]:
        return [ms for values in self.read_ms.values() for ms in values]

    def figures(self) -> dict[str, Any]:
        """The printed figures: counts and latency percentiles (ms)."""
        reads = self.all_reads()
        out: dict[str, Any] = {
            "uploads": self.uploads, "pages": self.pages, "reads": self.reads,
            "errors": len(self.errors), "jobs": self.jobs,
            "stored_pages": self.stored_pages, "graded_twice": self.graded_twice,
            "answers_graded": f"{self.current_grades}/{self.expected_grades}",
            "ack_p50_ms": _p(self.ack_ms, 50), "ack_p99_ms": _p(self.ack_ms, 99),
            "ack_max_ms": _p(self.ack_ms, 100),
            "read_p50_ms": _p(reads, 50), "read_p99_ms": _p(reads, 99),
            "drain_s": round(self.drain_s, 1), "seconds": round(self.seconds, 1)}
        for kind, values in sorted(self.read_ms.items()):
            out[f"read_{kind}_p99_ms"] = _p(values, 99)
        return out


def _p(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))], 1)


def _copies(api: httpx.Client, students: int, seed: int, per_upload: int = 1
            ) -> tuple[list[bytes], int, int]:
    """Every child's scanned one-page copy, ``per_upload`` children's pages to a PDF:
    (PDFs, class id, worksheet id)."""
    import pypdfium2 as pdfium

    from simulation.classroom import font_glyph_bank, keys_for, scan_class_set

    bank = json.loads((ROOT / "sample_scans" / "question_bank.json").read_text("utf-8"))
    api.post("/api/v1/questions:import", json=bank).raise_for_status()
    ids = [q["id"] for q in bank["questions"] if q["subject"] == "math"
           and q["kind"] in ("arithmetic", "choice", "true_false")
           and len(q["stem"]) <= 30][:QUESTIONS]
    cid = api.post("/api/v1/classes", json={"name": "压测班", "grade": 3}).json()["id"]
    api.post(f"/api/v1/classes/{cid}/students", json=[
        {"student_no": f"{i:04d}", "name": f"学生{i}"} for i in range(1, students + 1)
    ]).raise_for_status()
    wid = api.post("/api/v1/worksheets", json={"title": "压测", "class_id": cid,
                                                "question_ids": ids}).json()["id"]
    layout = api.get(f"/api/v1/worksheets/{wid}/layout").json()
    if len(layout["pages"]) != 1:
        raise RuntimeError("the drill's worksheet should print on one page")
    printed = api.get(f"/api/v1/worksheets/{wid}/print.pdf",
                      params={"per_student": "true", "duplex": "false"}).content
    docs = [q for q in bank["questions"] if q["id"] in ids]
    stack = scan_class_set(printed, {wid: layout}, keys_for(docs), seed=seed,
                           bank=font_glyph_bank(), handwriting="font")
    src = pdfium.PdfDocument(stack.pdf)
    out = []
    for first in range(0, len(src), per_upload):
        one = pdfium.PdfDocument.new()
        one.import_pages(src, list(range(first, min(first + per_upload, len(src)))))
        buf = io.BytesIO()
        one.save(buf)
        out.append(buf.getvalue())
    return out, int(cid), int(wid)


class _Load:
    """The clients of one run, and what they measured."""

    def __init__(self, base: str, headers: dict[str, str], result: LoadResult,
                 cid: int, wid: int, rng: random.Random) -> None:
        self.base, self.headers, self.result = base, headers, result
        self.cid, self.wid, self.rng = cid, wid, rng
        self.job_ids: list[int] = []
        self.upload_pages: list[int] = []
        self.stop = asyncio.Event()

    def error(self, what: str) -> None:
        if len(self.result.errors) < 1000:
            self.result.errors.append(what)

    async def upload(self, client: LeanClient, pdf: bytes) -> None:
        started = time.perf_counter()
        try:
            r = await client.post("/api/v1/scans", content=pdf,
                                  headers={"content-type": "application/pdf"})
        except LeanError as exc:
            self.error(f"upload: {type(exc).__name__}")
            return
        self.result.ack_ms.append((time.perf_counter() - started) * 1000)
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") \
            else {}
        if r.status_code != 202 or body.get("duplicate"):
            self.error(f"upload: {r.status_code} {body.get('error')}")
            return
        self.job_ids.append(int(body["job_id"]))
        self.upload_pages.append(int(body["pages"]))
        self.result.uploads += 1
        self.result.pages += int(body["pages"])

    def _reads(self) -> list[tuple[str, str]]:
        reads = [("results", f"/api/v1/worksheets/{self.wid}/results"),
                 ("class", f"/api/v1/classes/{self.cid}"),
                 ("progress", f"/api/v1/classes/{self.cid}/progress")]
        if self.job_ids:  # a teacher watching a job is the commonest read
            job = self.rng.choice(self.job_ids)
            reads += [("job", f"/api/v1/jobs/{job}")] * 3
        return reads

    async def reader(self, client: LeanClient) -> None:
        await asyncio.sleep(self.rng.uniform(0, 1))  # not all in step
        while not self.stop.is_set():
            kind, path = self.rng.choice(self._reads())
            started = time.perf_counter()
            try:
                r = await client.get(path)
            except LeanError as exc:
                self.error(f"read {kind}: {exc}")
            else:
                self.result.read_ms.setdefault(kind, []).append(
                    (time.perf_counter() - started) * 1000)
                self.result.reads += 1
                if r.status_code != 200:
                    self.error(f"read {kind}: {r.status_code}")
            await asyncio.sleep(self.rng.uniform(0.5, 1.5))

    async def drain(self, client: LeanClient, timeout_s: float) -> None:
        """Wait for every job to end; count their final statuses."""
        deadline = time.monotonic() + timeout_s
        pending = set(self.job_ids)
        final: dict[int, str] = {}
        while pending and time.monotonic() < deadline:
            for job_id in sorted(pending):
                try:
                    r = await client.get(f"/api/v1/jobs/{job_id}")
                except LeanError:
                    continue
                status = r.json().get("status") if r.status_code == 200 else None
                if status in ("done", "failed", "partially_done"):
                    final[job_id] = status
                    pending.discard(job_id)
            if pending:
                await asyncio.sleep(2)
        for job_id in pending:
            final[job_id] = "unfinished"
        for status in final.values():
            self.result.jobs[status] = self.result.jobs.get(status, 0) + 1


async def _drive(load: _Load, copies: list[bytes], uploaders: int, readers: int,
                 seconds: float, wave_s: float, drain_s: float, say: Callable[[str], None]
                 ) -> None:
    host, _, port = load.base.removeprefix("http://").partition(":")
    # A lean client: httpx would take a quarter of the box's two cores from the service.
    client = LeanClient(host, int(port), load.headers,
                        max_connections=uploaders + readers + 10, timeout_s=120)
    try:
        started = time.monotonic()
        tasks = [asyncio.create_task(load.reader(client)) for _ in range(readers)]
        waves = [copies[i:i + uploaders] for i in range(0, len(copies), uploaders)]
        for n, wave in enumerate(waves):
            await asyncio.sleep(max(0.0, started + n * wave_s - time.monotonic()))
            seen = len(load.result.ack_ms)
            await asyncio.gather(*(load.upload(client, pdf) for pdf in wave))
            acks = load.result.ack_ms[seen:]
            say(f"wave {n + 1}/{len(waves)}: {len(wave)} uploads, acknowledged in "
                f"{_p(acks, 50):.0f} ms (median) to {_p(acks, 100):.0f} ms; "
                f"{load.result.reads} reads, {len(load.result.errors)} errors so far")
        await asyncio.sleep(max(0.0, started + seconds - time.monotonic()))
        load.stop.set()
        await asyncio.gather(*tasks)
        drained = time.monotonic()
        await load.drain(client, drain_s)
        load.result.drain_s = time.monotonic() - drained
    finally:
        await client.aclose()


def run_drill(minutes: float, uploaders: int, readers: int, *, wave_seconds: float = 60.0,
              db_url: str | None = None, broker_url: str | None = None, seed: int = 1,
              drain_minutes: float = 30.0, say: Callable[[str], None] | None = None,
              keep_logs: Path | None = None, processes: int = 1,
              pages_per_upload: int = 1) -> LoadResult:
    """Run the drill on a fresh data folder (and ``db_url``, default SQLite in it).

    There are ``max(1, minutes * 60 // wave_seconds)`` waves of ``uploaders`` uploads, one
    child's copy each (or ``pages_per_upload`` children's copies: a teacher's stack, one job
    of that many pages); readers read from the start to the end of ``minutes``.
    """
    say = say or _say
    rng = random.Random(seed)
    result = LoadResult()
    started = time.monotonic()
    seconds = minutes * 60
    waves = max(1, int(seconds // wave_seconds))
    students = waves * uploaders * pages_per_upload
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        db = db_url or f"sqlite+aiosqlite:///{data / 'markbook.db'}"
        env = drill_env(data, db, broker_url, f"markbook.load.{os.getpid()}.{seed}", {
            "MARKBOOK_LIMITS__MAX_COPIES": str(students + 10),
            # The drill measures capacity, not the per-teacher upload limit: one account
            # stands in for every uploading teacher.
            "MARKBOOK_LIMITS__UPLOADS_PER_MINUTE": str(100 * uploaders)})
        server = Server(env, free_port(), data / "server.log", processes=processes)
        worker = Server(env, 0, data / "worker.log", ["worker"]) if broker_url else None
        server.start()
        try:
            if worker is not None:
                worker.start()
            base = f"http://127.0.0.1:{server.port}"
            headers = sign_in(base)
            with httpx.Client(base_url=base, headers=headers, timeout=300) as api:
                copies, cid, wid = _copies(api, students, seed, pages_per_upload)
            say(f"{len(copies)} copies scanned; {waves} waves of {uploaders} uploads, "
                f"{readers} readers, {seconds:.0f} s")
            load = _Load(base, headers, result, cid, wid, rng)
            asyncio.run(_drive(load, copies, uploaders, readers, seconds, wave_seconds,
                               drain_minutes * 60, say))
            uploads = list(zip(load.job_ids, load.upload_pages, strict=True))
        finally:
            if worker is not None:
                worker.stop()
            server.stop()
            if keep_logs is not None:  # the data folder goes; its logs may be wanted
                keep_logs.mkdir(parents=True, exist_ok=True)
                for log in data.glob("*.log"):
                    shutil.copy(log, keep_logs / log.name)
        result.expected_grades = sum(pages for _, pages in uploads) * QUESTIONS
        upload_ids = asyncio.run(_upload_ids(db, [job for job, _ in uploads]))
        result.stored_pages, result.current_grades, result.graded_twice = asyncio.run(
            count_grades(db, upload_ids))
    result.seconds = time.monotonic() - started
    return result


async def _upload_ids(db_url: str, job_ids: list[int]) -> list[int]:
    from sqlalchemy import select

    from service.db import JobRow
    from service.db.engine import create_engine, make_session_factory

    engine = create_engine(db_url)
    try:
        async with make_session_factory(engine)() as session:
            rows = (await session.execute(select(JobRow).where(JobRow.id.in_(job_ids))))\
                .scalars()
            return [int(row.payload["upload_id"]) for row in rows]
    finally:
        await engine.dispose()


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--uploaders", type=int, default=50)
    parser.add_argument("--readers", type=int, default=100)
    parser.add_argument("--wave-seconds", type=float, default=60.0,
                        help="the uploaders upload together once per this many seconds")
    parser.add_argument("--db-url", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--broker-url", help="run the jobs on a Celery worker over this "
                        "broker (redis://... or amqp://...)")
    parser.add_argument("--processes", type=int, default=1,
                        help="the server's web processes (markbook serve --processes)")
    parser.add_argument("--pages-per-upload", type=int, default=1,
                        help="each upload a stack of this many children's one-page copies "
                        "(one job of that many pages)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-logs", type=Path, help="copy the server's (and worker's) "
                        "log to this folder")
    args = parser.parse_args(argv)
    r = run_drill(args.minutes, args.uploaders, args.readers, wave_seconds=args.wave_seconds,
                  db_url=args.db_url, broker_url=args.broker_url, seed=args.seed,
                  keep_logs=args.keep_logs, processes=args.processes,
                  pages_per_upload=args.pages_per_upload)
    _say(json.dumps(r.figures(), ensure_ascii=False))
    for line in r.errors[:20]:
        _say(f"error: {line}")
    return 0 if r.ok else 1


if __name__ == "__main__":
    sys.exit(main())
