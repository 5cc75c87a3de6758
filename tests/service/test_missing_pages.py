"""Missing pages through the real app and the real scan pipeline, on SQLite and PostgreSQL:
a 2-page worksheet is printed per student, filled and scanned; one student's page 2 is
left out of the first upload and brought in a second one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.config import Settings
from service.missing_pages import missing_numbers
from simulation.classroom import pdf_pages
from tests.support.scans import class_and_sheet, scanned_stack, wait_job


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},
                    jobs={"executor": "thread", "workers": 1, "poll_seconds": 0.2},
                    limits={"max_upload_mb": 20})


@pytest.fixture
def fresh_templates() -> Iterator[None]:
    """Blank templates are cached per (worksheet id, page) in the process; every test
    database numbers its worksheets from 1 (see tests/service/test_results.py)."""
    from service.jobs import pagework

    pagework.clear_templates()
    yield
    pagework.clear_templates()


def test_missing_numbers() -> None:
    assert missing_numbers(3, [2]) == [1, 3]
    assert missing_numbers(2, {1, 2}) == []
    assert missing_numbers(1, []) == [1]


async def _upload(client: httpx.AsyncClient, pdf: bytes, name: str) -> dict[str, Any]:
    r = await client.post("/api/v1/scans", files={"scan": (name, pdf, "application/pdf")})
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    await wait_job(client, job_id)
    return await _job(client, job_id)


async def _job(client: httpx.AsyncClient, job_id: int) -> dict[str, Any]:
    r = await client.get(f"/api/v1/jobs/{job_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _results(client: httpx.AsyncClient, worksheet_id: int) -> dict[str, Any]:
    r = await client.get(f"/api/v1/worksheets/{worksheet_id}/results")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _row(body: dict[str, Any], student_id: int) -> dict[str, Any]:
    return next(s for s in body["students"] if s["student"]["id"] == student_id)


async def test_a_missing_page_is_reported_then_completed(
        client: httpx.AsyncClient, device_client: httpx.AsyncClient,
        fresh_templates: None) -> None:
    sheet = await class_and_sheet(client, students=3, questions=30)
    ws = (await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}")).json()
    assert ws["page_count"] == 2
    stack = await scanned_stack(client, sheet, real=False)
    whole, partial, absent = sheet.student_ids
    index = {(p.student_id, p.page_no): p.page_index for p in stack.pages
             if p.student_id is not None}
    first = [index[(whole, 1)], index[(whole, 2)], index[(partial, 1)]]

    # The copier uploads both pages of one student and only page 1 of another.
    r = await device_client.post("/api/v1/scans", files={
        "scan": ("first.pdf", pdf_pages(stack.pdf, first), "application/pdf")})
    assert r.status_code == 202, r.text
    job1_id = r.json()["job_id"]
    await wait_job(device_client, job1_id)
    job1 = await _job(client, job1_id)
    assert job1["pages_done"] == 3
    assert job1["missing_pages"] == [{
        "student_id": partial, "student_no": "002", "name": "学生2",
        "worksheet_id": sheet.worksheet_id, "pages": [2], "still_missing": [2]}]
    assert job1["missing_summary"] == {"students": 1, "pages": 1, "still_missing": 1}
    # A device key reads the same entries without the child's number or name.
    as_device = await _job(device_client, job1_id)
    assert [(e["student_id"], e["pages"], e["student_no"], e["name"])
            for e in as_device["missing_pages"]] == [(partial, [2], None, None)]
    listed = (await client.get("/api/v1/jobs")).json()
    assert next(j for j in listed if j["id"] == job1_id)["missing_summary"]["pages"] == 1

    body = await _results(client, sheet.worksheet_id)
    assert _row(body, whole)["missing_pages"] == []
    half = _row(body, partial)
    assert half["submitted"]
    assert half["missing_pages"] == [2]
    assert not half["complete"]
    assert half["not_scanned"] > 0
    assert _row(body, absent)["missing_pages"] == []
    assert [i["student"]["id"] for i in body["incomplete"]] == [partial]
    assert body["incomplete"][0]["missing_pages"] == [2]
    assert [m["id"] for m in body["missing"]] == [absent]
    summary = body["summary"]
    assert (summary["roster"], summary["submitted"], summary["incomplete"],
            summary["missing"]) == (3, 2, 1, 1)
    csv_rows = (await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results.csv")
                ).content.decode("utf-8-sig").splitlines()
    assert csv_rows[0].endswith(",缺页")
    assert csv_rows[2].startswith("002,学生2,已提交,")
    assert csv_rows[2].endswith(",2")

    # Page 2 comes in a second upload: the copy is complete.
    job2 = await _upload(client, pdf_pages(stack.pdf, [index[(partial, 2)]]), "second.pdf")
    assert job2["pages_done"] == 1
    assert job2["missing_pages"] == []
    assert job2["missing_summary"] == {"students": 0, "pages": 0, "still_missing": 0}
    body = await _results(client, sheet.worksheet_id)
    assert _row(body, partial)["missing_pages"] == []
    assert _row(body, partial)["not_scanned"] == 0
    assert body["incomplete"] == []
    assert (body["summary"]["submitted"], body["summary"]["incomplete"],
            body["summary"]["missing"]) == (2, 0, 1)
    # The first job keeps what it lacked at its end, and says it is no longer missing.
    job1 = await _job(client, job1_id)
    assert [(e["student_id"], e["pages"], e["still_missing"])
            for e in job1["missing_pages"]] == [(partial, [2], [])]
    assert job1["missing_summary"] == {"students": 1, "pages": 1, "still_missing": 0}
