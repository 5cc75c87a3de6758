"""Scan ingestion end to end through the real app: upload → job → pages read and graded.

Runs on SQLite and PostgreSQL with the real OCR models; page work runs in threads here
(one process-pool test below covers the spawned workers).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import func, select

from service.config import Settings
from service.db import AuditEventRow, GradeRow, JobRow, PageRow, ResponseRow
from tests.support.scans import (
    app_of,
    class_and_sheet,
    scanned_stack,
    thread_job_settings,
    wait_job,
)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return thread_job_settings(tmp_path, db_url)


async def _count(client: httpx.AsyncClient, model: Any, *where: Any) -> int:
    async with app_of(client).state.session_factory() as s:
        return int((await s.execute(select(func.count()).select_from(model).where(*where)))
                   .scalar_one())


async def test_class_stack_is_read_graded_and_stored(client: httpx.AsyncClient) -> None:
    sheet = await class_and_sheet(client, students=3, questions=8)
    stack = await scanned_stack(client, sheet)
    r = await client.post("/api/v1/scans", files={"scan": ("class.pdf", stack.pdf,
                                                           "application/pdf")})
    assert r.status_code == 202, r.text
    body = r.json()
    assert r.headers["location"] == f"/api/v1/jobs/{body['job_id']}"
    assert body["pages"] == len(stack.pages)
    assert not body["duplicate"]
    job = await wait_job(client, body["job_id"])
    assert job["status"] == "done", job
    assert job["pages_done"] == job["pages_total"] == len(stack.pages)
    graded = [t for t in stack.pages if t.student_id is not None]
    assert await _count(client, PageRow, PageRow.status == "graded") == len(graded)
    # One current grade per question per student, nothing graded twice.
    assert await _count(client, GradeRow, GradeRow.is_current.is_(True)) == 3 * 8
    # Students come from the QR codes of their personalised copies.
    async with app_of(client).state.session_factory() as s:
        students = set((await s.execute(select(PageRow.student_id)
                                        .where(PageRow.status == "graded"))).scalars())
    assert students == set(sheet.student_ids)


async def test_raw_body_upload_and_duplicate_detection(client: httpx.AsyncClient) -> None:
    sheet = await class_and_sheet(client, students=1, questions=4)
    stack = await scanned_stack(client, sheet, real=False)
    r = await client.post("/api/v1/scans", content=stack.pdf,
                          headers={"content-type": "application/pdf"})
    assert r.status_code == 202, r.text
    first = r.json()
    await wait_job(client, first["job_id"])
    # The same bytes again, by another route and under another name: the same job.
    again = await client.post("/api/v1/documents/post_document/",
                              files={"document": ("rescan.pdf", stack.pdf, "application/pdf")})
    assert again.status_code == 202
    assert again.json()["job_id"] == first["job_id"]
    assert again.json()["duplicate"] is True
    assert await _count(client, JobRow) == 1
    assert await _count(client, PageRow) == len(stack.pages)
    # One upload, one audit entry: the duplicate created nothing.
    assert await _count(client, AuditEventRow, AuditEventRow.action == "scan.upload") == 1
    r = await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results.csv")
    assert r.status_code == 200
    assert await _count(client, AuditEventRow, AuditEventRow.action == "results.export") == 1


async def test_idempotency_key(client: httpx.AsyncClient) -> None:
    sheet = await class_and_sheet(client, students=1, questions=4)
    stack = await scanned_stack(client, sheet, real=False)
    h = {"Idempotency-Key": "copier-42-0001", "content-type": "application/pdf"}
    a = await client.post("/api/v1/scans", content=stack.pdf, headers=h)
    b = await client.post("/api/v1/scans", content=stack.pdf, headers=h)
    assert a.status_code == b.status_code == 202
    assert a.json()["job_id"] == b.json()["job_id"]
    other = stack.pdf + b"\n% another scan\n"
    c = await client.post("/api/v1/scans", content=other, headers=h)
    assert c.status_code == 422
    assert c.json()["error"] == "idempotency_key_reused"
    assert await _count(client, JobRow) == 1


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.pdf", b"\0" * 20_000_000)
    return buf.getvalue()


@pytest.mark.parametrize(("body", "ctype", "status", "code"), [
    (b"", "application/pdf", 400, "empty_file"),
    (b"hello, this is not a scan", "application/pdf", 415, "unsupported_file"),
    (_zip_bomb(), "application/pdf", 415, "unsupported_file"),
    (b"%PDF-1.7\n1 0 obj<<>>\ntruncated", "application/pdf", 422, "corrupt_file"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "image/png", 422, "corrupt_file"),
])
async def test_bad_uploads_are_4xx_and_create_no_job(client: httpx.AsyncClient, body: bytes,
                                                     ctype: str, status: int, code: str) -> None:
    r = await client.post("/api/v1/scans", files={"f": ("scan.pdf", body, ctype)})
    assert r.status_code == status, r.text
    assert r.json()["error"] == code
    assert await _count(client, JobRow) == 0
    leftovers = list((app_of(client).state.storage.root / "tmp").glob("*"))
    assert leftovers == []  # spooled bodies of refused uploads are removed


async def test_oversized_upload_is_413(client: httpx.AsyncClient) -> None:
    big = b"%PDF-1.7\n" + b"0" * (21 * 1024 * 1024)
    r = await client.post("/api/v1/scans", content=big, headers={"content-type": "application/pdf"})
    assert r.status_code == 413
    assert r.json()["error"] == "file_too_large"

    async def chunks() -> Any:  # no Content-Length: stopped while streaming
        for _ in range(22):
            yield b"0" * (1024 * 1024)

    r = await client.post("/api/v1/scans", content=chunks(),
                          headers={"content-type": "application/pdf"})
    assert r.status_code == 413
    assert await _count(client, JobRow) == 0


async def test_malformed_multipart_and_two_bad_files(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/scans", content=b"--x\r\nnonsense",
                          headers={"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 400
    # Two files are one upload (tests/service/test_scans_bundles.py); the first bad one is
    # named and nothing is kept.
    r = await client.post("/api/v1/scans", files=[("a", ("a.pdf", b"%PDF-1", "application/pdf")),
                                                  ("b", ("b.pdf", b"%PDF-2", "application/pdf"))])
    assert r.status_code == 422
    assert r.json()["error"] == "corrupt_file"
    assert r.json()["detail"].startswith('"a.pdf" (file 1): ')
    assert await _count(client, JobRow) == 0
    r = await client.post("/api/v1/scans", data={"worksheet_id": "1"}, files={})
    assert r.status_code in (400, 415)


async def test_unknown_worksheet_hint_is_404(client: httpx.AsyncClient) -> None:
    sheet = await class_and_sheet(client, students=1, questions=4)
    stack = await scanned_stack(client, sheet, real=False)
    r = await client.post("/api/v1/scans?worksheet_id=999", content=stack.pdf,
                          headers={"content-type": "application/pdf"})
    assert r.status_code == 404
    assert await _count(client, JobRow) == 0


async def test_anonymous_copies_wait_for_a_student(client: httpx.AsyncClient) -> None:
    sheet = await class_and_sheet(client, students=2, questions=4)
    stack = await scanned_stack(client, sheet, per_student=False, real=False)
    r = await client.post("/api/v1/scans", content=stack.pdf,
                          headers={"content-type": "application/pdf"})
    job = await wait_job(client, r.json()["job_id"])
    assert job["status"] == "partially_done"
    statuses = {p["status"] for p in job["problems"]}
    assert statuses == {"unknown_student"}
    sheets = [t for t in stack.pages if t.worksheet_id is not None]
    assert len(job["problems"]) == len(sheets) == 2  # duplex padding pages are no problem
    assert await _count(client, PageRow, PageRow.status == "blank") == len(stack.pages) - 2
    # Their answers are kept, waiting for a student to be assigned in review.
    assert await _count(client, ResponseRow, ResponseRow.student_id.is_(None)) > 0


async def test_job_events_stream(client: httpx.AsyncClient) -> None:
    sheet = await class_and_sheet(client, students=1, questions=4)
    stack = await scanned_stack(client, sheet, real=False)
    r = await client.post("/api/v1/scans", content=stack.pdf,
                          headers={"content-type": "application/pdf"})
    job_id = r.json()["job_id"]
    events = []
    async with client.stream("GET", f"/api/v1/jobs/{job_id}/events") as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        async for line in resp.aiter_lines():
            if line.startswith("event:"):
                events.append(line.split(":", 1)[1].strip())
    assert events[0] == "progress"
    assert events[-1] == "end"
    assert (await client.get("/api/v1/jobs/424242")).status_code == 404


async def test_handwritten_student_numbers_identify_anonymous_copies(
        client: httpx.AsyncClient) -> None:
    sheet = await class_and_sheet(client, students=8, questions=4)
    numbers = ["003", "001", "004", "002", "008", "006", "005", "007"]
    stack = await scanned_stack(client, sheet, per_student=False, numbers=numbers, seed=5,
                                copies=8)
    r = await client.post("/api/v1/scans", content=stack.pdf,
                          headers={"content-type": "application/pdf"})
    await wait_job(client, r.json()["job_id"])
    by_no = {f"{i:03d}": sid for i, sid in enumerate(sheet.student_ids, start=1)}
    async with app_of(client).state.session_factory() as s:
        rows = (await s.execute(select(PageRow).where(PageRow.worksheet_id.is_not(None))
                                .order_by(PageRow.page_index))).scalars().all()
    sheets = [t for t in stack.pages if t.worksheet_id is not None]
    assert len(rows) == len(sheets)
    assigned = 0
    for row, truth in zip(rows, sheets, strict=True):
        written = truth.written[("__student_no__", 0)]
        if row.student_id is not None:
            # Never a silent wrong assignment: a matched page is the writer's.
            assert row.student_source == "handwriting"
            assert row.student_id == by_no[written], (row.problem, written)
            assigned += 1
        else:
            assert (row.status == "unknown_student" and "candidates" in (row.problem or "")) \
                or "read as" in (row.problem or "")
    assert assigned >= 2, "real handwritten numbers should mostly be read"


async def test_a_whole_anonymous_class_stack_is_placed(client: httpx.AsyncClient) -> None:
    """Twenty blank copies printed with the seat row, each child writing their number in
    the comb (real handwriting) and filling their seat (座号 = the number's last two
    digits), shuffled: every page goes to its writer, none to review, none to anyone else."""
    sheet = await class_and_sheet(client, students=20, questions=4)
    rng = np.random.default_rng(11)
    order = [int(i) for i in rng.permutation(20)]
    numbers = [f"{i + 1:03d}" for i in order]
    stack = await scanned_stack(client, sheet, per_student=False, numbers=numbers, seed=11,
                                copies=20, seats=[n[-2:] for n in numbers])
    r = await client.post("/api/v1/scans", content=stack.pdf,
                          headers={"content-type": "application/pdf"})
    job = await wait_job(client, r.json()["job_id"])
    assert job["status"] == "done", job["problems"]
    by_no = {f"{i:03d}": sid for i, sid in enumerate(sheet.student_ids, start=1)}
    async with app_of(client).state.session_factory() as s:
        rows = (await s.execute(select(PageRow).where(PageRow.worksheet_id.is_not(None))
                                .order_by(PageRow.page_index))).scalars().all()
    sheets = [t for t in stack.pages if t.worksheet_id is not None]
    assert len(rows) == len(sheets) == 20
    for row, truth in zip(rows, sheets, strict=True):
        assert row.student_source == "handwriting", row.problem
        assert row.student_id == by_no[truth.written[("__student_no__", 0)]]
    # Their answers count for them: every child has a submitted copy in the results.
    results = (await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results")).json()
    assert all(s["submitted"] for s in results["students"])


async def test_annotated_papers(client: httpx.AsyncClient) -> None:
    import pypdfium2 as pdfium

    sheet = await class_and_sheet(client, students=2, questions=6)
    stack = await scanned_stack(client, sheet)
    r = await client.post("/api/v1/scans", content=stack.pdf,
                          headers={"content-type": "application/pdf"})
    await wait_job(client, r.json()["job_id"])
    sid = sheet.student_ids[0]
    one = await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/students/{sid}/annotated.pdf")
    assert one.status_code == 200
    assert one.headers["content-type"] == "application/pdf"
    pages = [t for t in stack.pages if t.student_id == sid]
    doc = pdfium.PdfDocument(one.content)
    assert len(doc) == len(pages)
    text = doc[0].get_textpage().get_text_range()
    assert "学生1" in text
    assert "口算练习" in text
    batch = await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/annotated.pdf")
    assert batch.status_code == 200
    assert len(pdfium.PdfDocument(batch.content)) >= 2 * len(pages)
    missing = await client.get(
        f"/api/v1/worksheets/{sheet.worksheet_id}/students/999999/annotated.pdf")
    assert missing.status_code == 404
    assert missing.json()["error"] == "no_scanned_pages"
    assert (await client.get("/api/v1/worksheets/424242/annotated.pdf")).status_code == 404


async def test_same_file_from_another_teacher_reveals_nothing(
        teacher_client: httpx.AsyncClient, other_client: httpx.AsyncClient) -> None:
    sheet = await class_and_sheet(teacher_client, students=1, questions=4)
    stack = await scanned_stack(teacher_client, sheet, real=False)
    mine = await teacher_client.post("/api/v1/scans", content=stack.pdf,
                                     headers={"content-type": "application/pdf"})
    assert mine.status_code == 202
    theirs = await other_client.post("/api/v1/scans", content=stack.pdf,
                                     headers={"content-type": "application/pdf"})
    assert theirs.status_code == 409
    assert theirs.json()["error"] == "uploaded_by_another_teacher"
    assert "job" not in theirs.text.lower() or str(mine.json()["job_id"]) not in theirs.text
