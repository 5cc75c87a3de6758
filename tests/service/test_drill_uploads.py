"""Drill pages (口算) through the HTTP API, end to end, on SQLite and PostgreSQL.

Synthetic drill sheets (printed in the CJK font, answers in real handwriting from the
handwriting sets' test split) are uploaded against a drill assignment; the real job runner
reads them with the real drill models and stores items as questions of the assignment.
Results, the review queue, mastery and annotated pages then work as for worksheets.
"""

from __future__ import annotations

import io
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from grading.questions import QUESTION_ID_PATTERN
from service.config import Settings
from service.jobs.drillstore import drill_question_id
from simulation.drill_pages import DrillPage, DrillPageOptions, make_drill_page
from tests.support.datasets import DATASETS_DIR, have_datasets
from tests.support.scans import app_of, thread_job_settings, wait_job


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return thread_job_settings(tmp_path, db_url)


@lru_cache(maxsize=1)
def _pages() -> tuple[DrillPage, ...]:
    from simulation.handwriting import GlyphBank

    bank = GlyphBank.load("test", DATASETS_DIR)
    rng = np.random.default_rng(2024)
    pages = [make_drill_page(bank, rng) for _ in range(2)]
    # The third child wrote a 学号 at the top: the first class's second student's.
    pages.append(make_drill_page(bank, rng, DrillPageOptions(student_no=_number(1, 2))))
    return tuple(pages)


def _number(class_id: int, i: int) -> str:
    """Student numbers of a class, two digits apart from each other."""
    return f"3{class_id}{5 if i == 1 else 18}"


@pytest.fixture
def drill_pages() -> tuple[DrillPage, ...]:
    if not have_datasets():
        pytest.skip(f"handwriting datasets not found at {DATASETS_DIR}")
    return _pages()


def _png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG")
    return out.getvalue()


def _text_page() -> bytes:
    """A page of printed Chinese prose: ink, but no arithmetic item anywhere."""
    from errorbook.printing.fonts import FONT_CANDIDATES

    font_file = next(str(p) for p in map(Path, FONT_CANDIDATES) if p.is_file())
    img = Image.new("L", (1654, 2339), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(font_file, 48)
    for i in range(12):
        draw.text((150, 200 + i * 120), "春天来了，小草发芽了，我们去公园看花。", font=font, fill=0)
    return _png(np.asarray(img))


async def _class(client: httpx.AsyncClient, name: str = "三年级(2)班") -> tuple[int, list[int]]:
    r = await client.post("/api/v1/classes", json={"name": name, "grade": 3})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await client.post(f"/api/v1/classes/{cid}/students", json=[
        {"student_no": _number(cid, i), "name": f"学生{i}"} for i in (1, 2)])
    assert r.status_code == 201, r.text
    students = (await client.get(f"/api/v1/classes/{cid}")).json()["students"]
    ids = {s["student_no"]: s["id"] for s in students}
    return cid, [ids[_number(cid, i)] for i in (1, 2)]


async def _drill(client: httpx.AsyncClient, class_id: int) -> dict[str, Any]:
    r = await client.post("/api/v1/worksheets", json={"title": "口算练习（二）",
                                                      "class_id": class_id, "kind": "drill"})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def _upload(client: httpx.AsyncClient, data: bytes, **params: Any) -> httpx.Response:
    return await client.post("/api/v1/scans", params=params,
                             files={"scan": ("drill.png", data, "image/png")})


def _truth(page: DrillPage) -> dict[str, Any]:
    """Bank id → the item's truth (first occurrence of each expression on the page)."""
    out: dict[str, Any] = {}
    for t in page.items:
        out.setdefault(drill_question_id(t.expression), t)
    return out


async def test_drill_page_per_student_upload_end_to_end(
        client: httpx.AsyncClient, drill_pages: tuple[DrillPage, ...]) -> None:
    cid, (alice, _bob) = await _class(client)
    drill = await _drill(client, cid)
    wid = drill["id"]
    assert drill["kind"] == "drill"
    assert drill["items"] == []
    assert drill["page_count"] == 0
    listed = (await client.get("/api/v1/worksheets", params={"class_id": cid})).json()
    assert [w["kind"] for w in listed] == ["drill"]
    # markbook does not print a drill assignment: a clear 4xx, never a PDF of nothing.
    r = await client.get(f"/api/v1/worksheets/{wid}/print.pdf")
    assert r.status_code == 422
    assert r.json()["error"] == "drill_not_printed"

    page = drill_pages[0]
    r = await _upload(client, _png(page.image), worksheet_id=wid, student_id=alice)
    assert r.status_code == 202, r.text
    job = await wait_job(client, r.json()["job_id"], limit_s=300)
    assert job["pages_done"] == 1, job
    # Only items whose printed expression could not be read may be reported.
    assert {p["status"] for p in job["problems"]} <= {"drill_items_unread"}, job

    body = (await client.get(f"/api/v1/worksheets/{wid}/results")).json()
    row = next(s for s in body["students"] if s["student"]["id"] == alice)
    assert row["submitted"]
    cells = row["questions"]
    truth = _truth(page)
    # Items are known by their expression, not by the id that spells it (drill-7m5).
    labels = {q["question_id"]: q["label"] for q in body["summary"]["questions"]}
    assert all(not label.startswith("drill-") for label in labels.values()), labels
    # The printed item as the stem has it ("27 ÷ 5 = ……"), up to its "=".
    shown = {q: lb.replace(" ", "").split("=")[0] for q, lb in labels.items()}
    assert all(shown[q] == truth[q].expression.replace(" ", "") for q in shown if q in truth), \
        [(shown[q], truth[q].expression) for q in shown
         if q in truth and shown[q] != truth[q].expression.replace(" ", "")]
    assert len(cells) >= 0.8 * len(page.items)
    matched = [(c, truth[c["question_id"]]) for c in cells if c["question_id"] in truth]
    assert len(matched) >= 0.8 * len(cells)
    decided = [(c, t) for c, t in matched if c["status"] == "graded"]
    # The key is the expression's value: every automatic verdict agrees with the truth.
    wrong = [(c["question_id"], c["answer"], c["verdict"], t.written, t.key)
             for c, t in decided if (c["verdict"] == "correct") != t.correct]
    assert not wrong, wrong
    assert len(decided) >= 0.7 * len(matched)
    assert row["total"] == pytest.approx(sum(c["score"] for c, _ in decided))
    # A blank is decided (zero), never skipped.
    blanks = [c for c, t in decided if not t.written]
    assert all(c["score"] == 0 for c in blanks)

    # The review queue holds exactly the cells the results say wait for a teacher.
    queue = (await client.get("/api/v1/review", params={"worksheet_id": wid})).json()
    assert queue["counts"]["response"] == row["pending_review"]
    # A teacher's decision regrades against the key computed from the printed expression.
    # (This seeded page has items waiting: the test fails if it ever has none.)
    pending = [c for c in cells if c["needs_review"] and c["question_id"] in truth]
    assert pending, "the seeded page no longer has an item waiting for review"
    cell = pending[0]
    r = await client.post(f"/api/v1/review/responses/{cell['response_ids'][0]}",
                          json={"action": "correct", "text": truth[cell["question_id"]].key})
    assert r.status_code == 200, r.text
    after = (await client.get(f"/api/v1/worksheets/{wid}/results")).json()
    row2 = next(s for s in after["students"] if s["student"]["id"] == alice)
    decided = next(c for c in row2["questions"] if c["question_id"] == cell["question_id"])
    assert decided["verdict"] == "correct"
    assert decided["source"] == "teacher"
    assert row2["pending_review"] == row["pending_review"] - 1
    # Every stored item has a crop of the printed item with its answer.
    crop = await client.get(next(c["crop_url"] for c in cells if c["crop_url"]))
    assert crop.status_code == 200
    assert Image.open(io.BytesIO(crop.content)).size[0] > 20

    # Mastery is kept per knowledge point inferred from each operation.
    mastery = (await client.get(f"/api/v1/students/{alice}/mastery")).json()
    codes = {k["code"] for k in mastery["knowledge_points"]}
    ops = {t.expression for t in page.items}
    if any("×" in e for e in ops):
        assert codes & {"math.mul.table", "math.mul.multidigit"}, codes
    if any("+" in e and "/" not in e and "." not in e for e in ops):
        assert codes & {"math.add.carry", "math.add.nocarry", "math.mixed.order"}, codes

    # Annotated pages mark the drill items on the scan.
    r = await client.get(f"/api/v1/worksheets/{wid}/students/{alice}/annotated.pdf")
    assert r.status_code == 200
    assert r.content.startswith(b"%PDF")

    # The same drill items on a second student's page reuse the assignment's questions.
    items_before = len((await client.get(f"/api/v1/worksheets/{wid}")).json()["items"])
    assert items_before == len(cells)


async def test_drill_class_upload_without_student_waits_for_assignment(
        client: httpx.AsyncClient, drill_pages: tuple[DrillPage, ...]) -> None:
    cid, (_alice, bob) = await _class(client)
    wid = (await _drill(client, cid))["id"]
    r = await _upload(client, _png(drill_pages[1].image), worksheet_id=wid)
    assert r.status_code == 202, r.text
    job = await wait_job(client, r.json()["job_id"], limit_s=300)
    unknown = [p for p in job["problems"] if p["status"] == "unknown_student"]
    assert len(unknown) == 1, job
    assert "student_id" in unknown[0]["problem"]
    queue = (await client.get("/api/v1/review", params={"worksheet_id": wid})).json()
    page = next(i for i in queue["items"] if i["page_status"] == "unknown_student")
    assert "student_id" in page["problem"]
    r = await client.post(f"/api/v1/review/pages/{page['page_id']}/assign",
                          json={"student_id": bob})
    assert r.status_code == 200, r.text
    body = (await client.get(f"/api/v1/worksheets/{wid}/results")).json()
    row = next(s for s in body["students"] if s["student"]["id"] == bob)
    assert row["submitted"]
    assert row["questions"]


async def test_drill_page_names_its_student_by_the_number_written_on_it(
        client: httpx.AsyncClient, drill_pages: tuple[DrillPage, ...]) -> None:
    cid, (_alice, bob) = await _class(client)
    assert cid == 1  # the page was written with this class's second number
    wid = (await _drill(client, cid))["id"]
    r = await _upload(client, _png(drill_pages[2].image), worksheet_id=wid)
    assert r.status_code == 202, r.text
    job = await wait_job(client, r.json()["job_id"], limit_s=300)
    assert not [p for p in job["problems"] if p["status"] == "unknown_student"], job
    body = (await client.get(f"/api/v1/worksheets/{wid}/results")).json()
    row = next(s for s in body["students"] if s["student"]["id"] == bob)
    assert row["submitted"]
    assert len(row["questions"]) >= 0.8 * len(drill_pages[2].items)
    from sqlalchemy import select

    from service.db import PageRow

    async with app_of(client).state.session_factory() as s:
        page = (await s.execute(select(PageRow))).scalar_one()
    assert page.student_id == bob
    assert page.student_source == "handwriting"


async def test_drill_bad_input(client: httpx.AsyncClient) -> None:
    cid, (alice, _) = await _class(client)
    other_cid, (stranger, _) = await _class(client, "三年级(3)班")
    wid = (await _drill(client, cid))["id"]
    png = _text_page()
    # An assignment that does not exist (or is not the caller's): 404.
    r = await _upload(client, png, worksheet_id=99999, student_id=alice)
    assert r.status_code == 404, r.text
    # A student of another class: 422, nothing stored.
    r = await _upload(client, png, worksheet_id=wid, student_id=stranger)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "student_not_in_class"
    # A student without a drill assignment: 422.
    r = await _upload(client, png, student_id=alice)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "student_without_drill"
    r = await _upload(client, png, worksheet_id=wid, student_id="abc")
    assert r.status_code == 422, r.text
    # A drill assignment takes no questions; a worksheet needs some.
    r = await client.post("/api/v1/worksheets", json={"title": "x", "class_id": cid,
                                                      "kind": "drill", "question_ids": ["a"]})
    assert r.status_code == 422, r.text
    r = await client.post("/api/v1/worksheets", json={"title": "x", "class_id": cid})
    assert r.status_code == 422, r.text
    # A page with ink but no arithmetic item: a page problem, never a grade.
    r = await _upload(client, png, worksheet_id=wid, student_id=alice)
    assert r.status_code == 202, r.text
    job = await wait_job(client, r.json()["job_id"], limit_s=300)
    assert [p["status"] for p in job["problems"]] == ["no_items"], job
    body = (await client.get(f"/api/v1/worksheets/{wid}/results")).json()
    assert all(not s["questions"] for s in body["students"])
    assert other_cid != cid


def test_drill_question_ids_are_bank_ids() -> None:
    for key in ("37+48", "6×7#2", "17÷5", "2.5+1.3", "1/5+2/5", "25+36-18", "1" * 80 + "+1"):
        ident = drill_question_id(key)
        assert re.fullmatch(QUESTION_ID_PATTERN, ident), ident
    assert drill_question_id("37+48") == "drill-37a48"
    assert drill_question_id("6×7#2") == "drill-6m7-2"
    # A repeat never takes the id of a decimal expression.
    assert drill_question_id("6×7#2") != drill_question_id("6×7.2")


async def test_a_drill_reader_failure_leaves_the_page_unread_for_a_retry(
        client: httpx.AsyncClient, drill_pages: tuple[DrillPage, ...],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A detector that crashes is no page with no items: nothing is stored or graded, the
    job says why, and a retry with a working reader grades the page."""
    import dataclasses

    from ocr.drill.detect import FakeDetector
    from service.jobs import drillwork

    real = drillwork.drill_engines()
    monkeypatch.setattr(drillwork, "_engines",
                        dataclasses.replace(real, detector=FakeDetector(fault="raise")))
    cid, (alice, _) = await _class(client)
    wid = (await _drill(client, cid))["id"]
    r = await _upload(client, _png(drill_pages[0].image), worksheet_id=wid, student_id=alice)
    job = await wait_job(client, r.json()["job_id"], limit_s=300)
    assert [p["status"] for p in job["problems"]] == ["engine_error"], job
    assert job["pages_done"] == 0
    assert job["status"] == "partially_done", job  # a page left unread: retryable
    body = (await client.get(f"/api/v1/worksheets/{wid}/results")).json()
    assert all(not s["submitted"] for s in body["students"])
    monkeypatch.setattr(drillwork, "_engines", real)
    r = await client.post(f"/api/v1/jobs/{job['id']}:retry")
    assert r.status_code == 202, r.text
    job = await wait_job(client, job["id"], limit_s=300)
    assert job["pages_done"] == 1, job
    # The failure's problem went with the retry: only what the page itself has is left.
    assert {p["status"] for p in job["problems"]} <= {"drill_items_unread"}, job
    body = (await client.get(f"/api/v1/worksheets/{wid}/results")).json()
    assert next(s for s in body["students"] if s["student"]["id"] == alice)["submitted"]
