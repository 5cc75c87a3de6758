"""Mastery and error-book benchmark on the real service stack (embedded SQLite by default).

A class of 50 answered a 30-question arithmetic worksheet; each got ``--wrong`` of them
wrong. Pages, answers and grades are stored the way the scan pipeline stores them (real
graders, ``grade_row``), then, printed in one run:

* mastery update throughput: answers/s through ``sync_answers`` (events, O(1) BKT updates,
  Elo item difficulty, error-book entries), against storing the same pages and grades
  alone (the baseline, same run);
* recommendation latency p50/p99 for one student (``GET /students/{id}/recommendations``
  through the in-process ASGI app), warm, and the first call that builds the bank index;
* the class's error books (≈10 entries + 20 similar/variant questions each) as one PDF:
  seconds for the first request (plans practice, generates and verifies variants, lays out
  and stores 50 practice worksheets, renders) and for a reprint, against rendering 50
  copies of a plain worksheet of the same page count (baseline, same run).

Run (from the repository root, the package installed with ``pip install -e .``)::

    .venv/bin/python -m bench.bench_errorbooks [--students 50] [--db-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pypdfium2 as pdfium
from fastapi import FastAPI
from pydantic import TypeAdapter
from sqlalchemy import select

from errorbook.contract import WorksheetLayout
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from grading.arithmetic_stem import parse_arithmetic_stem
from grading.questions import Question
from grading.response import Response
from grading.review_policy import grade_response
from service.app import create_app
from service.config import Settings
from service.db import PageRow, QuestionRow, ResponseRow, ScanUploadRow
from service.inprocess import local_token
from service.jobs.store import grade_row
from service.mastery.sync import sync_answers

ROOT = Path(__file__).resolve().parent.parent

_Q: TypeAdapter[Question] = TypeAdapter(Question)


def _bank() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "sample_scans" / "question_bank.json")
                                      .read_text("utf-8"))
    return data


@contextlib.asynccontextmanager
async def _service(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The started app and a client signed in as its local admin (as ``inprocess_client``
    builds it); the bench stores pages through the app's own session factory."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        headers = {"Authorization": f"Bearer {await local_token(app)}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://markbook.local", headers=headers,
                                     timeout=120) as client:
            yield app, client


async def _seed(app: Any, class_id: int, worksheet_id: int, students: list[int],
                qids: list[str], wrong: int, with_sync: bool, round_: int) -> tuple[int, float]:
    """Store one page per student; return (answers, seconds spent in the measured part)."""
    actor = app.state.local_actor
    answers, spent = 0, 0.0
    async with app.state.session_factory() as s:
        rows = {q.external_id: q for q in (await s.execute(
            select(QuestionRow).where(QuestionRow.external_id.in_(qids)))).scalars()}
        await s.commit()
    for n, sid in enumerate(students):
        started = time.perf_counter()
        async with app.state.session_factory() as s:
            up = ScanUploadRow(school_id=actor.school_id, teacher_id=actor.teacher_id,
                            filename="b.pdf", content_type="application/pdf", size_bytes=1,
                            sha256=f"{round_:04d}{sid:060d}", storage_key=f"u/{round_}/{sid}",
                            page_count=1)
            s.add(up)
            await s.flush()
            page = PageRow(upload_id=up.id, page_index=0, worksheet_id=worksheet_id,
                           page_no=1, student_id=sid, student_source="qr", status="graded")
            s.add(page)
            await s.flush()
            primaries = []
            for i, qid in enumerate(qids):
                q = rows[qid]
                key = parse_arithmetic_stem(q.stem).answer_text()
                bad = (i + n) % len(qids) < wrong
                text = str(int(key) + 10) if bad and key.isdigit() else ("0" if bad else key)
                r = ResponseRow(page_id=page.id, worksheet_id=worksheet_id, student_id=sid,
                                question_id=q.id, blank=0, status="ok", text=text,
                                confidence=0.99)
                s.add(r)
                await s.flush()
                g = grade_response(_Q.validate_python(q.document),
                                   Response(text=text, confidence=0.99),
                                   key_revision=q.key_revision)
                s.add(grade_row(r, g.model_dump(mode="json")))
                primaries.append(r.id)
            await s.flush()
            if with_sync:
                await sync_answers(s, primaries)
            await s.commit()
        spent += time.perf_counter() - started
        answers += len(qids)
    return answers, spent


async def run(students: int, db_url: str | None, rec_calls: int) -> None:
    bank = _bank()
    arith = [q for q in bank["questions"] if q["kind"] == "arithmetic"
             and "……" not in q["stem"] and "(" not in q["stem"]][:30]
    qids = [q["id"] for q in arith]
    with tempfile.TemporaryDirectory() as tmp:
        db = {"url": db_url} if db_url else {}
        settings = Settings.model_validate({
            "data_dir": Path(tmp), "db": db, "jobs": {"run_in_app": False},
            "webhooks": {"enabled": False}})
        async with _service(settings) as (app, api):
            assert (await api.post("/api/v1/questions:import", json=bank)).status_code == 200
            cid = (await api.post("/api/v1/classes", json={"name": "三年级(1)班"})).json()["id"]
            roster = [{"student_no": f"{i:03d}", "name": f"学生{i:02d}"}
                      for i in range(1, students + 1)]
            r = await api.post(f"/api/v1/classes/{cid}/students", json=roster)
            ids = [s["id"] for s in r.json()["students"]]
            r = await api.post("/api/v1/worksheets", json={"title": "口算", "class_id": cid,
                                                           "question_ids": qids})
            wid = r.json()["id"]
            # Baseline first (grades alone), then the same pages with mastery.
            base_n, base_s = await _seed(app, cid, wid, ids, qids, 10, False, 0)
            n, secs = await _seed(app, cid, wid, ids, qids, 10, True, 1)
            print(f"answers stored: {n} ({students} pages of {len(qids)})")
            print(f"  grades only (baseline):  {base_n / base_s:8.0f} answers/s")
            print(f"  grades + mastery + book: {n / secs:8.0f} answers/s "
                  f"(x{(n / secs) / (base_n / base_s):.2f} of baseline)")
            # The first call after start-up (or a bank change) builds the school's
            # similar-question index; it is reported apart from the warm calls.
            t = time.perf_counter()
            r = await api.get(f"/api/v1/students/{ids[0]}/recommendations?n=10")
            cold = (time.perf_counter() - t) * 1000
            assert r.status_code == 200, r.text
            lat = []
            for i in range(rec_calls):
                t = time.perf_counter()
                r = await api.get(f"/api/v1/students/{ids[i % len(ids)]}/recommendations?n=10")
                lat.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
            lat.sort()
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            print(f"recommendations (n=10, {rec_calls} warm calls): p50 "
                  f"{statistics.median(lat):.1f} ms, p99 {p99:.1f} ms; first call {cold:.0f} ms")
            t = time.perf_counter()
            r = await api.get(f"/api/v1/classes/{cid}/errorbooks.pdf")
            first = time.perf_counter() - t
            assert r.status_code == 200, r.text
            pages = len(pdfium.PdfDocument(r.content))
            t = time.perf_counter()
            r2 = await api.get(f"/api/v1/classes/{cid}/errorbooks.pdf")
            again = time.perf_counter() - t
            layout = WorksheetLayout.from_dict(
                (await api.get(f"/api/v1/worksheets/{wid}/layout")).json())
            per_copy = max(1, round(pages / students))
            copies = [PrintedCopy(page_codes=tuple(f"MB1;W1;P{p.number}" for p in layout.pages),
                                  student_name=f"学生{i}")
                      for i in range(max(1, pages // max(1, len(layout.pages))))]
            t = time.perf_counter()
            render_worksheet_pdf(layout, copies)
            base = time.perf_counter() - t
            print(f"class error books: {students} students, {pages} pages (~{per_copy}/student)")
            print(f"  first request (plan + variants + worksheets + render): {first:6.2f} s")
            print(f"  reprint (same entries, sheets reused):                 {again:6.2f} s "
                  f"({len(r2.content) // 1024} KiB)")
            print(f"  baseline: {len(copies) * len(layout.pages)} plain worksheet pages: "
                  f"{base:6.2f} s (first request x{first / base:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50,
                        help="students in the class")
    parser.add_argument("--db-url", help="e.g. postgresql+asyncpg://postgres@127.0.0.1/test")
    parser.add_argument("--rec-calls", type=int, default=300,
                        help="recommendation requests timed for the latency percentiles")
    args = parser.parse_args()
    asyncio.run(run(args.students, args.db_url, args.rec_calls))


if __name__ == "__main__":
    main()
