"""Answer sheets (答题卡) through the real app, on SQLite and PostgreSQL: created as a kind
of worksheet, printed with the seat-number bubbles, filled, scanned, uploaded and read by
the worksheet pipeline with the real models; graded results equal what was marked, a
double mark goes to review and a blank row is blank, as for worksheet bubbles; each copy
goes to the child whose student number was bubbled in the grid."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from service.config import Settings
from service.db import PageRow
from simulation.classroom import keys_for, scan_class_set
from simulation.pages import FillOptions
from simulation.seats import mark_seats_in_pdf
from tests.support.scans import app_of, bank, thread_job_settings, wait_job

BUBBLED = ("choice", "multi_choice", "true_false")


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return thread_job_settings(tmp_path, db_url)


def _questions(n: int) -> list[dict[str, Any]]:
    """The bank's first ``n`` bubbled maths questions, every kind among them."""
    out = [q for q in bank()["questions"] if q["subject"] == "math" and q["kind"] in BUBBLED]
    picked = [q for q in out if q["kind"] == "choice"][:n - 4]
    picked += [q for q in out if q["kind"] == "multi_choice"][:2]
    picked += [q for q in out if q["kind"] == "true_false"][:2]
    return picked


def _key(q: dict[str, Any]) -> tuple[str, ...]:
    key = q["key"]
    if q["kind"] == "true_false":
        return ("T" if key["answer"] else "F",)
    if q["kind"] == "multi_choice":
        return tuple(sorted(key["answers"]))
    return (key["answer"],)


def _wrong(q: dict[str, Any], labels: tuple[str, ...]) -> tuple[str, ...]:
    """A wrong answer: the first option not in the key (the other of T/F)."""
    key = _key(q)
    return (next(lb for lb in labels if lb not in key),)


async def _class(client: httpx.AsyncClient) -> tuple[int, dict[str, int]]:
    r = await client.post("/api/v1/questions:import", json=bank())
    assert r.status_code in (200, 201), r.text
    r = await client.post("/api/v1/classes", json={"name": "三年级(3)班", "grade": 3})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await client.post(f"/api/v1/classes/{cid}/students", json=[
        {"student_no": f"2025{i:04d}", "name": f"学生{i}"} for i in (1, 12, 23)])
    assert r.status_code == 201, r.text
    students = (await client.get(f"/api/v1/classes/{cid}")).json()["students"]
    return cid, {s["student_no"]: s["id"] for s in students}


async def test_bad_answer_sheets_are_refused(client: httpx.AsyncClient) -> None:
    cid, _ = await _class(client)
    numeric = next(q["id"] for q in bank()["questions"] if q["kind"] == "numeric")
    ok = [q["id"] for q in _questions(6)]
    r = await client.post("/api/v1/worksheets", json={
        "title": "答题卡", "class_id": cid, "kind": "answer_sheet",
        "question_ids": [*ok, numeric]})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "not_a_bubble_question"
    assert body["errors"] == [{"question_id": numeric, "message": "not a choice, "
                               "multi-choice or true/false question"}]
    r = await client.post("/api/v1/worksheets", json={
        "title": "答题卡", "class_id": cid, "kind": "answer_sheet", "question_ids": []})
    assert r.status_code == 422
    r = await client.post("/api/v1/worksheets", json={
        "title": "答题卡", "class_id": cid, "kind": "answer_sheet", "question_ids": ok})
    assert r.status_code == 201, r.text
    sheet = r.json()
    assert sheet["kind"] == "answer_sheet"
    assert sheet["page_count"] == 1
    assert "print" in sheet["links"]
    listed = (await client.get("/api/v1/worksheets")).json()
    assert [w["kind"] for w in listed if w["id"] == sheet["id"]] == ["answer_sheet"]


async def test_answer_sheet_is_read_graded_and_placed_by_its_number_grid(
        client: httpx.AsyncClient) -> None:
    cid, by_seat = await _class(client)
    docs = _questions(12)
    r = await client.post("/api/v1/worksheets", json={
        "title": "第三单元 答题卡", "class_id": cid, "kind": "answer_sheet",
        "question_ids": [q["id"] for q in docs]})
    assert r.status_code == 201, r.text
    wid = r.json()["id"]
    layout = (await client.get(f"/api/v1/worksheets/{wid}/layout")).json()
    assert len(layout["pages"]) == 1
    r = await client.get(f"/api/v1/worksheets/{wid}/print.pdf",
                         params={"copies": 2, "duplex": "false"})
    assert r.status_code == 200, r.text
    seats = ["20250012", "20250023"]
    seated = await asyncio.to_thread(mark_seats_in_pdf, r.content, {wid: layout}, seats, seed=3)
    # Copy 1 answers everything right but marks two bubbles on question 2 and leaves
    # question 3 blank; copy 2 answers everything wrong. Marks go in the reader's order.
    by_id = {q["id"]: q for q in docs}
    calls: list[str] = []
    truth: dict[str, dict[str, tuple[str, ...]]] = {seat: {} for seat in seats}

    def mark_for(qid: str, labels: tuple[str, ...], rng: np.random.Generator
                 ) -> tuple[str, ...]:
        copy = len(calls) // len(docs)
        calls.append(qid)
        q = by_id[qid]
        number = [d["id"] for d in docs].index(qid) + 1
        if copy == 0:
            marks = _key(q)
            if number == 2:
                marks = (*marks, next(lb for lb in labels if lb not in marks))
            elif number == 3:
                marks = ()
        else:
            marks = _wrong(q, labels)
        truth[seats[copy]][qid] = marks
        return marks

    # Real copier degradation, but no pencil strokes so every single mark is sure.
    stack = await asyncio.to_thread(
        scan_class_set, seated.pdf, {wid: layout}, keys_for(docs), seed=3, mark_for=mark_for,
        fill=FillOptions(pencil_prob=0.0))
    r = await client.post("/api/v1/scans", files={"scan": ("sheets.pdf", stack.pdf,
                                                           "application/pdf")})
    assert r.status_code == 202, r.text
    job = await wait_job(client, r.json()["job_id"])
    assert job["status"] == "done", job
    async with app_of(client).state.session_factory() as s:
        rows = (await s.execute(select(PageRow).where(PageRow.worksheet_id == wid)
                                .order_by(PageRow.page_index))).scalars().all()
    # Each copy goes to the child whose number was bubbled (the comb and name are empty).
    assert [row.student_id for row in rows] == [by_seat[seat] for seat in seats]
    for row in rows:
        assert row.student_source == "handwriting"  # read off the page, not a QR code
        assert row.student_evidence is not None
        assert row.student_evidence["sources"] == ["seat"], row.student_evidence
    results = (await client.get(f"/api/v1/worksheets/{wid}/results")).json()
    cells = {s["student"]["id"]: {c["question_id"]: c for c in s["questions"]}
             for s in results["students"]}
    unsure: list[tuple[str, int]] = []
    for seat, marks in truth.items():
        for qid, marked in marks.items():
            cell = cells[by_seat[seat]][qid]
            number = [d["id"] for d in docs].index(qid) + 1
            if seat == seats[0] and number == 2:
                assert cell["needs_review"], cell  # a double mark is never graded alone
                assert cell["score"] is None
            elif seat == seats[0] and number == 3:
                assert cell["verdict"] == "blank", cell
                assert cell["score"] == 0.0
            else:
                # What was marked is what was read, every row; a mark the reader is unsure
                # of (a ring or a tick half over a bubble) goes to review, as on a worksheet.
                assert cell["answer"] == "".join(marked), (seat, number, cell)
                if cell["needs_review"]:
                    unsure.append((seat, number))
                    continue
                assert cell["status"] == "graded", (seat, number, cell)
                assert cell["verdict"] == ("correct" if seat == seats[0] else "incorrect"), cell
    assert len(unsure) <= 2, unsure
    # Item analysis as for any worksheet: every question listed with its score rate.
    analysis = {q["question_id"]: q for q in results["summary"]["questions"]}
    assert set(analysis) == {d["id"] for d in docs}
    first = analysis[docs[0]["id"]]
    if not unsure:
        assert (first["decided"], first["correct"], first["score_rate"]) == (2, 1, 0.5)
    # The blank row counts as decided with no score; the double mark waits for a teacher.
    assert analysis[docs[2]["id"]]["correct"] == 0
    assert analysis[docs[1]["id"]]["needs_review"] == 1
