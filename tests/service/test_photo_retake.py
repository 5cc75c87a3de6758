"""A photo below the capture floors is not read: the job asks for the page again.

A class copy is printed through the API, filled and scanned, then "photographed" far too
small (the page under half its size in a larger frame, about 3.5 pixels a millimetre) and
uploaded as a JPEG. The page is kept for review, nothing on it is graded automatically,
and the job names the page to photograph again, in Chinese on the job page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pypdfium2 as pdfium
import pytest
from sqlalchemy import select

from service.config import Settings
from service.db import GradeRow, PageRow
from service.schemas.jobs import JobOut
from service.web.i18n import load_catalogue
from service.web.uploads_views import problem_views
from tests.support.scans import class_and_sheet, scanned_stack, thread_job_settings, wait_job


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return thread_job_settings(tmp_path, db_url)


def _tiny_photo(pdf: bytes) -> bytes:
    page = pdfium.PdfDocument(pdf)[0].render(scale=200 / 72, grayscale=True).to_numpy()
    grey = np.ascontiguousarray(page[..., 0] if page.ndim == 3 else page)
    small = cv2.resize(grey, None, fx=0.45, fy=0.45, interpolation=cv2.INTER_AREA)
    h, w = small.shape
    frame = np.full((int(h * 1.6), int(w * 1.6)), 80, np.uint8)
    frame[h // 4:h // 4 + h, w // 4:w // 4 + w] = small
    ok, jpg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return jpg.tobytes()


async def test_a_photo_too_small_to_read_is_asked_for_again(client: httpx.AsyncClient) -> None:
    sheet = await class_and_sheet(client, students=1, questions=4)
    stack = await scanned_stack(client, sheet, real=False, copies=1)
    r = await client.post("/api/v1/scans", content=_tiny_photo(stack.pdf),
                          headers={"content-type": "image/jpeg"})
    assert r.status_code == 202, r.text
    job: dict[str, Any] = await wait_job(client, r.json()["job_id"])
    problems = [p for p in job["problems"] if p["status"] == "retake"]
    assert len(problems) == 1, job["problems"]
    assert "请重拍第 1 页" in problems[0]["problem"]
    app = client._transport.app  # type: ignore[attr-defined]
    async with app.state.session_factory() as s:
        pages = (await s.execute(select(PageRow))).scalars().all()
        grades = (await s.execute(select(GradeRow))).scalars().all()
    # Kept for the teacher (the copy is handed in), nothing scored without a human.
    assert [p.status for p in pages] == ["misaligned"]
    assert pages[0].student_id == sheet.student_ids[0]
    assert grades
    assert all(g.needs_review for g in grades)
    view = next(v for v in problem_views(JobOut.model_validate(job)) if v.status == "retake")
    zh = load_catalogue().languages["zh-CN"]
    assert zh[view.title_key] == "照片不清楚，请重拍这一页"
    assert view.review_url == "/review"


async def test_a_photo_too_blurred_for_its_code_asks_for_it_again(
        client: httpx.AsyncClient) -> None:
    sheet = await class_and_sheet(client, students=1, questions=4)
    stack = await scanned_stack(client, sheet, real=False, copies=1)
    page = pdfium.PdfDocument(stack.pdf)[0].render(scale=200 / 72, grayscale=True).to_numpy()
    grey = np.ascontiguousarray(page[..., 0] if page.ndim == 3 else page)
    ok, jpg = cv2.imencode(".jpg", cv2.GaussianBlur(grey, (0, 0), 9))
    assert ok
    r = await client.post("/api/v1/scans", content=jpg.tobytes(),
                          headers={"content-type": "image/jpeg"})
    assert r.status_code == 202, r.text
    job: dict[str, Any] = await wait_job(client, r.json()["job_id"])
    assert [p["status"] for p in job["problems"]] == ["unidentified"]
    assert "照片模糊" in job["problems"][0]["problem"]
