"""Templates (a teacher's own worksheet, from one uploaded blank) through the HTTP API, end
to end, on SQLite and PostgreSQL.

A teacher-made page (``simulation.teacher_sheets``: no markers, no QR) is uploaded as the
blank; the answer places found on it come back; a template is made of its places with
numeric keys; copies filled in real handwriting (the handwriting sets' test split) and
scanned through the copier model are uploaded per student; the real runner registers each
to the blank, reads and grades it with the real models. Another teacher-made page in the
same stack is never graded.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from service.config import Settings
from simulation.teacher_sheets import AnswerPlace, TeacherSheet, teacher_sheet
from tests.support.datasets import DATASETS_DIR, have_datasets
from tests.support.scans import bank, thread_job_settings, wait_job

KP = "math.add.carry"


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return thread_job_settings(tmp_path, db_url)


def _png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", dpi=(200, 200))
    return out.getvalue()


def _places(sheet: TeacherSheet) -> list[AnswerPlace]:
    return [p for p in sheet.places if p.kind != "work"]


def _keys(sheet: TeacherSheet) -> dict[str, str]:
    rng = np.random.default_rng(7)
    return {p.question_id: str(int(rng.integers(10, 99))) for p in _places(sheet)}


@lru_cache(maxsize=1)
def _copies() -> tuple[TeacherSheet, TeacherSheet, tuple[Any, ...]]:
    """The template's sheet, another teacher-made sheet, and three filled copies: all
    right, half wrong, and the other sheet filled."""
    from simulation.handwriting import GlyphBank
    from simulation.pages import fill_page

    glyphs = GlyphBank.load("test", DATASETS_DIR)
    sheet, other = teacher_sheet(11), teacher_sheet(12)
    keys = _keys(sheet)
    rng = np.random.default_rng(2026)

    def right(qid: str, _blank: int, _rng: np.random.Generator) -> str:
        return keys[qid]

    def half(qid: str, _blank: int, _rng: np.random.Generator) -> str:
        return keys[qid] if int(qid) % 2 else str(int(keys[qid]) + 1)

    filled = (fill_page(sheet.image, sheet.dpi, _places(sheet), glyphs, rng, answer_for=right),
              fill_page(sheet.image, sheet.dpi, _places(sheet), glyphs, rng, answer_for=half),
              fill_page(other.image, other.dpi, _places(other), glyphs, rng))
    return sheet, other, filled


@pytest.fixture
def copies() -> tuple[TeacherSheet, TeacherSheet, tuple[Any, ...]]:
    if not have_datasets():
        pytest.skip(f"handwriting datasets not found at {DATASETS_DIR}")
    return _copies()


async def _class(client: httpx.AsyncClient) -> tuple[int, list[int]]:
    r = await client.post("/api/v1/questions:import", json=bank())
    assert r.status_code in (200, 201), r.text
    r = await client.post("/api/v1/classes", json={"name": "三年级(4)班", "grade": 3})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await client.post(f"/api/v1/classes/{cid}/students", json=[
        {"student_no": f"40{i}", "name": f"学生{i}"} for i in (1, 2)])
    assert r.status_code == 201, r.text
    students = (await client.get(f"/api/v1/classes/{cid}")).json()["students"]
    return cid, [s["id"] for s in sorted(students, key=lambda s: s["student_no"])]


async def _blank(client: httpx.AsyncClient, sheet: TeacherSheet) -> dict[str, Any]:
    r = await client.post("/api/v1/templates/blanks",
                          files={"file": ("blank.png", _png(sheet.image), "image/png")})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _regions(sheet: TeacherSheet) -> list[dict[str, Any]]:
    keys = _keys(sheet)
    return [{"kind": "written", "box": list(p.box), "number": int(p.question_id),
             "key": {"kind": "numeric", "answer": keys[p.question_id],
                     "knowledge_points": [KP]}} for p in _places(sheet)]


async def _template(client: httpx.AsyncClient, cid: int, blank_id: int,
                    regions: list[dict[str, Any]]) -> int:
    """Make a one-page template of these regions; its worksheet id."""
    r = await client.post("/api/v1/worksheets", json={
        "title": "第3周课堂练习", "class_id": cid, "kind": "template",
        "template": {"pages": [{"blank_id": blank_id, "regions": regions}]}})
    assert r.status_code == 201, r.text
    wid: int = r.json()["id"]
    return wid


async def test_template_from_a_blank_grades_copies_end_to_end(
        client: httpx.AsyncClient, copies: tuple[TeacherSheet, TeacherSheet, tuple[Any, ...]]
) -> None:
    sheet, _other, (right, half, stranger) = copies
    cid, (alice, bob) = await _class(client)
    blank = await _blank(client, sheet)
    assert blank["width_pt"] == pytest.approx(595, abs=2)
    assert blank["height_pt"] == pytest.approx(842, abs=2)
    # The answer places found on the blank include most of the drawn ones.
    found = blank["proposed"]
    assert found
    image = await client.get(blank["links"]["image"])
    assert image.status_code == 200
    assert image.content.startswith(b"\x89PNG")
    assert "no-store" in image.headers["cache-control"]

    r = await client.post("/api/v1/worksheets", json={
        "title": "第3周课堂练习", "class_id": cid, "kind": "template",
        "template": {"pages": [{"blank_id": blank["id"], "regions": _regions(sheet)}]}})
    assert r.status_code == 201, r.text
    ws = r.json()
    wid = ws["kind"] == "template" and ws["id"]
    assert len(ws["items"]) == len(_places(sheet))
    assert "print" not in ws["links"]
    assert ws["links"]["upload"].endswith(f"={wid}")
    # Its made questions stay out of the school's bank listing and export.
    listed = (await client.get("/api/v1/questions:export")).json()["questions"]
    assert not [q for q in listed if q["id"].startswith("own-")]
    r = await client.get(f"/api/v1/worksheets/{wid}/print.pdf")
    assert r.status_code == 422
    assert r.json()["error"] == "template_not_printed"

    for student, page in ((alice, right), (bob, half)):
        r = await client.post("/api/v1/scans", params={"worksheet_id": wid,
                                                       "student_id": student},
                              files={"scan": ("copy.png", _png(page.image), "image/png")})
        assert r.status_code == 202, r.text
        job = await wait_job(client, r.json()["job_id"], limit_s=300)
        assert job["status"] == "done", job
        assert job["pages_done"] == 1
        assert not job["problems"], job

    results = (await client.get(f"/api/v1/worksheets/{wid}/results")).json()
    # Questions are known by the number printed beside them, not by their made bank id.
    assert [q["label"] for q in results["summary"]["questions"]] == \
        [f"第{p.question_id}题" for p in _places(sheet)]
    keys = _keys(sheet)
    for student, page in ((alice, right), (bob, half)):
        row = next(s for s in results["students"] if s["student"]["id"] == student)
        assert row["submitted"]
        # Items are in region order: position k is the k-th place.
        cells = {_places(sheet)[c["position"] - 1].question_id: c for c in row["questions"]}
        assert len(cells) == len(keys)
        decided = {q: c for q, c in cells.items() if c["status"] == "graded"}
        assert len(decided) >= 0.8 * len(cells), cells
        for q, c in decided.items():
            assert (c["verdict"] == "correct") == (page.written[(q, 0)] == keys[q]), c

    # Another worksheet in the stack is never graded against this template.
    r = await client.post("/api/v1/scans", params={"worksheet_id": wid},
                          files={"scan": ("other.png", _png(stranger.image), "image/png")})
    job = await wait_job(client, r.json()["job_id"], limit_s=300)
    assert [p["status"] for p in job["problems"]] == ["not_this_page"], job


async def test_template_copy_without_a_student_waits_for_one(
        client: httpx.AsyncClient, copies: tuple[TeacherSheet, TeacherSheet, tuple[Any, ...]]
) -> None:
    sheet, _other, (right, _half, _stranger) = copies
    cid, (alice, _bob) = await _class(client)
    blank = await _blank(client, sheet)
    wid = await _template(client, cid, blank["id"], _regions(sheet))
    r = await client.post("/api/v1/scans", params={"worksheet_id": wid},
                          files={"scan": ("copy.png", _png(right.image), "image/png")})
    job = await wait_job(client, r.json()["job_id"], limit_s=300)
    unknown = [p for p in job["problems"] if p["status"] == "unknown_student"]
    assert len(unknown) == 1, job
    queue = (await client.get("/api/v1/review", params={"worksheet_id": wid})).json()
    page = next(i for i in queue["items"] if i["page_status"] == "unknown_student")
    r = await client.post(f"/api/v1/review/pages/{page['page_id']}/assign",
                          json={"student_id": alice})
    assert r.status_code == 200, r.text
    results = (await client.get(f"/api/v1/worksheets/{wid}/results")).json()
    row = next(s for s in results["students"] if s["student"]["id"] == alice)
    assert row["submitted"]
    assert row["questions"]


async def test_template_bad_input_is_a_clear_4xx(client: httpx.AsyncClient,
                                                 other_client: httpx.AsyncClient) -> None:
    cid, _ = await _class(client)
    sheet = teacher_sheet(11)
    blank = await _blank(client, sheet)
    regions = _regions(sheet)

    async def make(pages: list[dict[str, Any]], c: httpx.AsyncClient = client
                   ) -> httpx.Response:
        return await c.post("/api/v1/worksheets", json={
            "title": "t", "class_id": cid, "kind": "template", "template": {"pages": pages}})

    overlapping = [*regions, {**regions[0], "box": [v + 2 for v in regions[0]["box"]]}]
    r = await make([{"blank_id": blank["id"], "regions": overlapping}])
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "overlapping_regions"
    assert r.json()["errors"][0]["where"] == f"pages[0].regions[{len(regions)}]"
    outside = [{**regions[0], "box": [500, 800, 700, 900]}]
    r = await make([{"blank_id": blank["id"], "regions": outside}])
    assert r.status_code == 422
    assert r.json()["error"] == "region_outside_page"
    r = await make([{"blank_id": blank["id"] + 1000, "regions": regions}])
    assert r.status_code == 422
    assert r.json()["error"] == "unknown_blank"
    unknown_kp = [{**regions[0], "key": {"kind": "numeric", "answer": "3",
                                         "knowledge_points": ["math.nowhere"]}}]
    r = await make([{"blank_id": blank["id"], "regions": unknown_kp}])
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_question_bank"
    bubble_text = [{"kind": "bubbles", "box": [100, 100, 200, 120],
                    "bubbles": [{"label": "A", "box": [102, 102, 115, 115]},
                                {"label": "B", "box": [130, 102, 143, 115]}],
                    "key": {"kind": "numeric", "answer": "3", "knowledge_points": [KP]}}]
    r = await make([{"blank_id": blank["id"], "regions": bubble_text}])
    assert r.status_code == 422
    assert r.json()["error"] == "key_does_not_fit"
    # Neither key nor question: refused by the schema.
    r = await make([{"blank_id": blank["id"], "regions": [{"kind": "written",
                                                           "box": [100, 100, 200, 130]}]}])
    assert r.status_code == 422
    # Another teacher cannot use this teacher's blank, nor see it.
    r = await other_client.get(f"/api/v1/templates/blanks/{blank['id']}")
    assert r.status_code == 404
    # Blanks: one page with print on it.
    white = np.full((2339, 1654), 255, np.uint8)
    r = await client.post("/api/v1/templates/blanks",
                          files={"file": ("white.png", _png(white), "image/png")})
    assert r.status_code == 422
    assert r.json()["error"] == "blank_without_print"
    r = await client.post("/api/v1/templates/blanks",
                          files={"file": ("x.png", b"not an image at all", "image/png")})
    assert r.status_code in (415, 422), r.text
    r = await client.post("/api/v1/templates/blanks", files=[
        ("file", ("a.png", _png(sheet.image), "image/png")),
        ("file", ("b.png", _png(sheet.image), "image/png"))])
    assert r.status_code == 422
    assert r.json()["error"] == "one_page_only"


async def test_template_stack_in_roster_order(
        client: httpx.AsyncClient, copies: tuple[TeacherSheet, TeacherSheet, tuple[Any, ...]]
) -> None:
    sheet, _other, (right, half, _stranger) = copies
    cid, (alice, bob) = await _class(client)
    blank = await _blank(client, sheet)
    wid = await _template(client, cid, blank["id"], _regions(sheet))
    # One copy for a class of two: not given by order, and the job says why.
    r = await client.post("/api/v1/scans", params={"worksheet_id": wid, "in_roster_order": "true"},
                          files={"scan": ("one.png", _png(half.image), "image/png")})
    assert r.status_code == 202, r.text
    job = await wait_job(client, r.json()["job_id"], limit_s=300)
    assert "roster_order" in [p["status"] for p in job["problems"]], job
    # The class's stack in roster order: the first copy is the first student's.
    r = await client.post("/api/v1/scans", params={"worksheet_id": wid, "in_roster_order": "true"},
                          files=[("scan", ("a.png", _png(right.image), "image/png")),
                                 ("scan", ("b.png", _png(half.image), "image/png"))])
    assert r.status_code == 202, r.text
    job = await wait_job(client, r.json()["job_id"], limit_s=300)
    assert job["status"] == "done", job
    assert not job["problems"], job
    results = (await client.get(f"/api/v1/worksheets/{wid}/results")).json()
    keys = _keys(sheet)
    for student, page in ((alice, right), (bob, half)):
        row = next(s for s in results["students"] if s["student"]["id"] == student)
        cells = {_places(sheet)[c["position"] - 1].question_id: c for c in row["questions"]}
        decided = {q: c for q, c in cells.items() if c["status"] == "graded"}
        assert len(decided) >= 0.8 * len(cells)
        assert all((c["verdict"] == "correct") == (page.written[(q, 0)] == keys[q])
                   for q, c in decided.items())
    # The option is for templates only.
    r = await client.post("/api/v1/scans", params={"in_roster_order": "true"},
                          files={"scan": ("x.png", _png(right.image), "image/png")})
    assert r.status_code == 422
    assert r.json()["error"] == "order_without_template"


COMB = tuple((420.0 + 22 * k, 770.0, 442.0 + 22 * k, 794.0) for k in range(4))


def _with_comb(sheet: TeacherSheet) -> TeacherSheet:
    """The sheet with a 学号 comb of four boxes drawn at its foot, as many teachers add."""
    from PIL import ImageDraw, ImageFont

    from errorbook.printing.fonts import find_cjk_font

    img = Image.fromarray(sheet.image)
    draw = ImageDraw.Draw(img)
    s = sheet.dpi / 72
    for x0, y0, x1, y1 in COMB:
        draw.rectangle((x0 * s, y0 * s, x1 * s, y1 * s), outline=0, width=3)
    draw.text((370 * s, 774 * s), "学号", font=ImageFont.truetype(str(find_cjk_font()), 44),
              fill=0)
    return TeacherSheet(np.asarray(img).copy(), sheet.dpi, sheet.places, sheet.title)


async def test_template_copies_go_to_the_child_whose_number_is_written(
        client: httpx.AsyncClient) -> None:
    if not have_datasets():
        pytest.skip(f"handwriting datasets not found at {DATASETS_DIR}")
    from simulation.handwriting import GlyphBank
    from simulation.pages import FillOptions, fill_page

    sheet = _with_comb(teacher_sheet(11))
    r = await client.post("/api/v1/questions:import", json=bank())
    assert r.status_code in (200, 201), r.text
    cid = (await client.post("/api/v1/classes", json={"name": "三(6)班", "grade": 3})).json()["id"]
    r = await client.post(f"/api/v1/classes/{cid}/students", json=[
        {"student_no": no, "name": f"学生{no}"} for no in ("4101", "4125")])
    assert r.status_code == 201, r.text
    students = (await client.get(f"/api/v1/classes/{cid}")).json()["students"]
    by_no = {s["student_no"]: s["id"] for s in students}
    numbers = {by_no["4101"]: "4101", by_no["4125"]: "4125"}
    blank = await _blank(client, sheet)
    regions = [*_regions(sheet), {"kind": "student_number", "box": [420, 770, 508, 794],
                                  "digits": 4}]
    wid = await _template(client, cid, blank["id"], regions)
    glyphs = GlyphBank.load("test", DATASETS_DIR)
    rng = np.random.default_rng(31)
    cells = [AnswerPlace(f"n{k}", "box", box) for k, box in enumerate(COMB)]
    pages = []
    for sid, number in numbers.items():
        digits = {f"n{k}": d for k, d in enumerate(number)}
        filled = fill_page(sheet.image, sheet.dpi, [*_places(sheet), *cells], glyphs, rng,
                           FillOptions(blank_prob=0.0),
                           answer_for=lambda q, _b, _r, d=digits: d.get(q, "12"))
        pages.append((sid, filled))
    r = await client.post("/api/v1/scans", params={"worksheet_id": wid}, files=[
        ("scan", (f"p{i}.png", _png(p.image), "image/png")) for i, (_, p) in enumerate(pages)])
    assert r.status_code == 202, r.text
    job = await wait_job(client, r.json()["job_id"], limit_s=300)
    assert job["status"] == "done", job["problems"]
    results = (await client.get(f"/api/v1/worksheets/{wid}/results")).json()
    submitted = {s["student"]["id"] for s in results["students"] if s["submitted"]}
    assert submitted == set(numbers)


async def test_an_unfilled_copy_is_graded_blank_and_a_back_side_is_skipped(
        client: httpx.AsyncClient) -> None:
    sheet = teacher_sheet(11)
    cid, (alice, _bob) = await _class(client)
    blank = await _blank(client, sheet)
    wid = await _template(client, cid, blank["id"], _regions(sheet))
    # The copy as printed, lightly (nothing written), then a duplex scan's empty back.
    light = (255 - (255 - sheet.image.astype(np.int32)) * 0.35).astype(np.uint8)
    white = np.full_like(sheet.image, 250)
    r = await client.post("/api/v1/scans", params={"worksheet_id": wid, "student_id": alice},
                          files=[("scan", ("copy.png", _png(light), "image/png")),
                                 ("scan", ("back.png", _png(white), "image/png"))])
    job = await wait_job(client, r.json()["job_id"], limit_s=300)
    assert job["status"] == "done", job["problems"]
    results = (await client.get(f"/api/v1/worksheets/{wid}/results")).json()
    row = next(s for s in results["students"] if s["student"]["id"] == alice)
    assert row["submitted"]
    assert {c["verdict"] for c in row["questions"] if c["status"] == "graded"} <= {"blank"}
