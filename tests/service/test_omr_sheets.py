"""A school's own bubble answer sheet (答题卡), imported from its OMRChecker ``template.json``,
through the HTTP API on SQLite and PostgreSQL.

The sheet is drawn from the layout (``tests/ocr/data/omr/school_sheet.json``: 20 four-choice
questions, five true/false, a six-digit bubbled student number) with its title and labels,
uploaded as the blank; the layout is imported onto it; keys are added and the template
made; copies marked for two students, scanned through the copier model, are uploaded as one
class stack with no student named: each copy goes to the child whose number is bubbled,
and its grades equal what was marked.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from errorbook.printing.fonts import find_cjk_font
from ocr.foreign.omrchecker import OmrSheet, parse_template
from service.config import Settings
from simulation.pages import FillOptions, degrade_page
from tests.support.scans import bank, thread_job_settings, wait_job

LAYOUT = Path(__file__).parents[1] / "ocr" / "data" / "omr" / "school_sheet.json"
DPI = 200
S = DPI / 72
NUMBERS = ("410023", "410057")
KP = "math.add.carry"


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return thread_job_settings(tmp_path, db_url)


@lru_cache(maxsize=1)
def _sheet() -> OmrSheet:
    return parse_template(LAYOUT.read_bytes(), page_width_pt=595.0, page_height_pt=842.0)


def _px(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    return (round(box[0] * S), round(box[1] * S), round(box[2] * S), round(box[3] * S))


@lru_cache(maxsize=1)
def _blank() -> np.ndarray:
    """The sheet as the school prints it: title, instructions, numbered rows of lettered
    bubbles and the student-number grid."""
    img = Image.new("L", (round(595 * S), round(842 * S)), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(find_cjk_font()), 40)
    small = ImageFont.truetype(str(find_cjk_font()), 17)
    draw.text((120, 90), "三年级数学 期中测试 答题卡", font=font, fill=0)
    draw.text((120, 170), "注意：用2B铅笔把所选答案涂黑，修改时用橡皮擦干净。", font=small, fill=0)
    draw.text((120, 210), "姓名______________  班级__________", font=small, fill=0)
    draw.rectangle((100, 70, 1554, 2260), outline=0, width=3)
    for field in _sheet().fields:
        bubbles = [b for c in field.columns for b in c.bubbles] or list(field.bubbles)
        if not field.columns:
            x0, y0, _, _ = _px(field.box)
            draw.text((x0 - 70, y0), field.label.upper(), font=small, fill=0)
        else:
            x0, y0, _, _ = _px(field.box)
            draw.text((x0, y0 - 40), "学 号", font=small, fill=0)
        for value, box in bubbles:
            x0, y0, x1, y1 = _px(box)
            draw.ellipse((x0, y0, x1, y1), outline=0, width=2)
            draw.text(((x0 + x1) / 2 - 5, y0 + 2), value[:1], font=small, fill=90)
    return np.asarray(img, dtype=np.uint8).copy()


def _png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", dpi=(DPI, DPI))
    return out.getvalue()


def _answers(seed: int) -> dict[str, str]:
    rng = np.random.default_rng(seed)
    out = {}
    for field in _sheet().fields:
        if not field.columns:
            out[field.label] = str(rng.choice([v for v, _ in field.bubbles]))
    return out


KEYS = _answers(1)


def _copy(number: str, answers: dict[str, str], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    page = _blank().copy()
    marks: list[tuple[float, float, float, float]] = []
    for field in _sheet().fields:
        if field.columns:
            for digit, column in zip(number, field.columns, strict=True):
                marks += [b for v, b in column.bubbles if v == digit]
        else:
            marks += [b for v, b in field.bubbles if v == answers[field.label]]
    for box in marks:
        x0, y0, x1, y1 = _px(box)
        cx, cy = (x0 + x1) / 2 + rng.normal(0, 1.5), (y0 + y1) / 2 + rng.normal(0, 1.5)
        cv2.ellipse(page, (round(cx), round(cy)), (round((x1 - x0) / 2.3), round((y1 - y0) / 2.3)),
                    0, 0, 360, int(rng.integers(30, 70)), -1)
    return degrade_page(page.astype(np.float32) / 255.0, rng, FillOptions())


def _regions(imported: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in imported:
        if r["kind"] == "bubbles":
            value = KEYS[r["label"]]
            label = next((lb for lb, v in r["values"].items() if v == value), value)
            kind = "true_false" if {b["label"] for b in r["bubbles"]} == {"T", "F"} else "choice"
            answer: Any = label == "T" if kind == "true_false" else label
            r = {k: v for k, v in r.items() if k not in ("label", "values", "grid")}
            out.append({**r, "key": {"kind": kind, "answer": answer, "knowledge_points": [KP]}})
        else:
            out.append({k: v for k, v in r.items()
                        if k not in ("label", "values", "bubbles", "number")})
    return out


async def test_omr_sheet_imported_and_graded_end_to_end(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/questions:import", json=bank())
    assert r.status_code in (200, 201), r.text
    cid = (await client.post("/api/v1/classes", json={"name": "三(5)班", "grade": 3})).json()["id"]
    r = await client.post(f"/api/v1/classes/{cid}/students", json=[
        {"student_no": n, "name": f"学生{i}"} for i, n in enumerate(NUMBERS)])
    assert r.status_code == 201, r.text
    ids = {s["student_no"]: s["id"] for s in (await client.get(f"/api/v1/classes/{cid}")).json()["students"]}

    r = await client.post("/api/v1/templates/blanks",
                          files={"file": ("sheet.png", _png(_blank()), "image/png")})
    assert r.status_code == 201, r.text
    blank = r.json()
    r = await client.post(f"/api/v1/templates/blanks/{blank['id']}/omr",
                          content=LAYOUT.read_bytes(),
                          headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    imported = r.json()
    assert imported["skipped"] == []
    assert imported["preprocessors"] == ["CropPage"]
    kinds = [x["kind"] for x in imported["regions"]]
    assert kinds.count("bubbles") == 25
    assert kinds.count("number_grid") == 1

    r = await client.post("/api/v1/worksheets", json={
        "title": "期中测试", "class_id": cid, "kind": "template",
        "template": {"pages": [{"blank_id": blank["id"],
                                "regions": _regions(imported["regions"])}]}})
    assert r.status_code == 201, r.text
    wid = r.json()["id"]

    # One child all right, the other with every third answer changed.
    second = dict(KEYS)
    for i, label in enumerate(sorted(second)):
        if i % 3 == 0:
            field = next(f for f in _sheet().fields if f.label == label)
            second[label] = next(v for v, _ in field.bubbles if v != KEYS[label])
    copies = [_copy(NUMBERS[0], KEYS, 5), _copy(NUMBERS[1], second, 6)]
    r = await client.post("/api/v1/scans", params={"worksheet_id": wid}, files=[
        ("scan", (f"p{i}.png", _png(c), "image/png")) for i, c in enumerate(copies)])
    assert r.status_code == 202, r.text
    job = await wait_job(client, r.json()["job_id"], limit_s=300)
    assert job["status"] == "done", job["problems"]
    assert not job["problems"], job

    results = (await client.get(f"/api/v1/worksheets/{wid}/results")).json()
    labels = [x["label"] for x in imported["regions"] if x["kind"] == "bubbles"]
    for number, marked in ((NUMBERS[0], KEYS), (NUMBERS[1], second)):
        row = next(s for s in results["students"] if s["student"]["id"] == ids[number])
        assert row["submitted"], row
        cells = {labels[c["position"] - 1]: c for c in row["questions"]}
        assert all(c["status"] == "graded" for c in cells.values()), cells
        for label, c in cells.items():
            assert (c["verdict"] == "correct") == (marked[label] == KEYS[label]), (label, c)


async def test_omr_import_refuses_bad_layouts(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/templates/blanks",
                          files={"file": ("sheet.png", _png(_blank()), "image/png")})
    blank_id = r.json()["id"]
    url = f"/api/v1/templates/blanks/{blank_id}/omr"
    r = await client.post(url, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"] == "bad_omr_template"
    r = await client.post(url, content=b'{"pageDimensions": [100, 100]}',
                          headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert "bubbleDimensions" in r.json()["detail"]
    r = await client.post(url, params={"frame": "1,2,3"}, content=LAYOUT.read_bytes(),
                          headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"] == "bad_frame"
    r = await client.post(f"/api/v1/templates/blanks/{blank_id + 99}/omr",
                          content=LAYOUT.read_bytes(),
                          headers={"content-type": "application/json"})
    assert r.status_code == 404
