"""Answer sheets (答题卡) through the service: a class fills them, the stack is read.

A class of 20 gets blank copies of a 60-question answer sheet (choice, multi-choice and
true/false, two A4 pages) printed with the student-number grid. Each
child fills their 8-digit number in the grid and every row as a class does (``simulation.classroom.realistic_marks_for``: mostly the key, some tempting
wrong options, now and then nothing or two marks; strokes from solid fills to ticks,
rings, pencil and erased first choices); the sheets are degraded like a copier scan
(``simulation.pages.degrade_page``) and uploaded to the real app (SQLite, in process).
Nothing is written in the comb or the name box: the grid alone places each sheet.

Printed: sheets placed with their child (and with another: must be 0), rows whose reading
equals what was marked, rows graded without review (coverage) and rows graded without
review whose reading is not what was marked (must be 0).

Run (from the repository root)::

    .venv/bin/python -m bench.bench_answer_sheets [--students 20] [--questions 60]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from service.config import Settings
from service.db import PageRow
from service.inprocess import inprocess_client
from simulation.classroom import font_glyph_bank, keys_for, realistic_marks_for, scan_class_set
from simulation.seats import mark_seats_in_pdf
from tests.support.scans import bank

BUBBLED = ("choice", "multi_choice", "true_false")


def sheet_questions(n: int) -> list[dict[str, Any]]:
    """``n`` bubbled questions: the sample bank's, cycled with fresh ids (``as-001``...)."""
    src = [q for q in bank()["questions"] if q["kind"] in BUBBLED]
    return [{**src[i % len(src)], "id": f"as-{i + 1:03d}"} for i in range(n)]


async def _wait(api: Any, job_id: int) -> dict[str, Any]:
    while True:
        job: dict[str, Any] = (await api.get(f"/api/v1/jobs/{job_id}")).json()
        if job["status"] in ("done", "failed", "partially_done"):
            return job
        await asyncio.sleep(0.2)


async def run(students: int, questions: int, seed: int) -> dict[str, Any]:
    docs = sheet_questions(questions)
    numbers = [f"2025{i:04d}" for i in range(1, students + 1)]
    with tempfile.TemporaryDirectory(prefix="markbook-bench-sheets-") as tmp:
        settings = Settings(data_dir=Path(tmp), jobs={"workers": 1},
                            limits={"max_upload_mb": 200})
        async with inprocess_client(settings) as api:
            r = await api.post("/api/v1/questions:import",
                               json={**bank(), "questions": [*bank()["questions"], *docs]})
            assert r.status_code in (200, 201), r.text
            cid = (await api.post("/api/v1/classes", json={"name": "三年级(5)班",
                                                           "grade": 3})).json()["id"]
            await api.post(f"/api/v1/classes/{cid}/students", json=[
                {"student_no": n, "name": f"学生{n[-2:]}"} for n in numbers])
            roster = (await api.get(f"/api/v1/classes/{cid}")).json()["students"]
            by_seat = {s["student_no"]: s["id"] for s in roster}
            r = await api.post("/api/v1/worksheets", json={
                "title": "第三单元 答题卡", "class_id": cid, "kind": "answer_sheet",
                "question_ids": [d["id"] for d in docs]})
            assert r.status_code == 201, r.text
            wid = r.json()["id"]
            layout = (await api.get(f"/api/v1/worksheets/{wid}/layout")).json()
            r = await api.get(f"/api/v1/worksheets/{wid}/print.pdf",
                              params={"copies": students, "duplex": "false"})
            seats = numbers
            seated = await asyncio.to_thread(mark_seats_in_pdf, r.content, {wid: layout},
                                             seats, seed=seed)
            stack = await asyncio.to_thread(
                scan_class_set, seated.pdf, {wid: layout}, keys_for(docs), seed=seed,
                bank=font_glyph_bank(), handwriting="font",
                mark_for=realistic_marks_for(docs))
            started = time.perf_counter()
            r = await api.post("/api/v1/scans", files={"scan": ("sheets.pdf", stack.pdf,
                                                                "application/pdf")})
            assert r.status_code == 202, r.text
            job = await _wait(api, r.json()["job_id"])
            wall = time.perf_counter() - started
            results = (await api.get(f"/api/v1/worksheets/{wid}/results")).json()
            owners = await _owners(api, r.json()["upload_id"])
    # Copy k (pages k*n .. k*n+n-1 of n a copy, no padding) was filled by child k.
    n = len(layout["pages"])
    truth: dict[int, dict[str, tuple[str, ...]]] = {}
    for p in stack.pages:
        truth.setdefault(by_seat[seats[p.page_index // n]], {}).update(p.marked)
    expected = {p.page_index: by_seat[seats[p.page_index // n]] for p in stack.pages}
    return {"job": job, "wall_s": wall, "results": results, "truth": truth,
            "pages": len(layout["pages"]), "owners": owners, "expected": expected,
            "kinds": {d["id"]: d["kind"] for d in docs}}


async def _owners(api: Any, upload_id: int) -> dict[int, int | None]:
    """Page index → the student the service gave the page (None: waits in review)."""
    app = api._transport.app  # the app behind the in-process client
    async with app.state.session_factory() as s:
        rows = await s.execute(select(PageRow.page_index, PageRow.student_id)
                               .where(PageRow.upload_id == upload_id))
        return dict(rows.all())


def score(result: dict[str, Any]) -> dict[str, int]:
    """Counts of sheets and rows against what was marked."""
    owners, expected = result["owners"], result["expected"]
    c = {"sheets": len(expected), "placed": sum(owners.get(i) == s for i, s in expected.items()),
         "misplaced": sum(owners.get(i) not in (None, s) for i, s in expected.items()),
         "rows": 0, "read": 0, "auto": 0,
         "auto_misread": 0, "double": 0}
    for student in result["results"]["students"]:
        marked = result["truth"].get(student["student"]["id"])
        if marked is None or not student["submitted"]:
            continue
        for cell in student["questions"]:
            want = "".join(sorted(marked.get(cell["question_id"], ())))
            got = "".join(sorted(cell["answer"] or ""))
            c["rows"] += 1
            c["read"] += got == want
            auto = not cell["needs_review"] and cell["status"] == "graded"
            c["auto"] += auto
            c["auto_misread"] += auto and got != want
            # Two marks on a one-answer question: review by design, never a guess.
            c["double"] += not auto and len(want) > 1 and \
                result["kinds"][cell["question_id"]] != "multi_choice"
    return c


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.students, args.questions, args.seed))
    c = score(result)
    job = result["job"]
    rows = max(1, c["rows"])
    print(f"answer sheets through the service: {len(result['truth'])} children, "
          f"{args.questions} rows on {result['pages']} pages each, seed {args.seed}, {result['wall_s']:.0f} s to read")
    print(f"  job: {job['status']}, {job['pages_done']}/{job['pages_total']} pages, "
          f"{len(job['problems'])} problems")
    for problem in job["problems"]:
        print(f"    {problem.get('status')}: {str(problem.get('problem', ''))[:100]}")
    print(f"  pages placed by the number grid alone: {c['placed']}/{c['sheets']} "
          f"(placed with the wrong child: {c['misplaced']})")
    print(f"  rows read as marked: {c['read']}/{c['rows']} ({c['read'] / rows:.1%})")
    print(f"  rows graded without review: {c['auto']}/{c['rows']} ({c['auto'] / rows:.1%}); "
          f"of the {c['rows'] - c['auto']} reviewed, {c['double']} are two marks on a "
          f"one-answer question")
    print(f"  graded without review but not as marked: {c['auto_misread']}")
    return {"pages placed": f"{c['placed']}/{c['sheets']}",
            "rows read as marked": f"{c['read'] / rows:.1%}",
            "rows graded without review": f"{c['auto'] / rows:.1%}",
            "graded without review, misread": str(c["auto_misread"]),
            "status": "ok" if c["auto_misread"] == 0 and c["misplaced"] == 0
            else "target not met"}


if __name__ == "__main__":
    main()
