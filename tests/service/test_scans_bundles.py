"""Uploads the way phones send them, through the real app: several files in one request
(one job, pages in upload order), a ZIP of scans, HEIC photos; a bad file among good ones
and ZIP bombs refused with 4xx naming the file, nothing stored."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pillow_heif
import pytest
from PIL import Image
from sqlalchemy import select

from ocr.ingest import iter_pages
from service.config import Settings
from service.db import AuditEventRow, JobRow, PageRow, ScanUploadRow
from service.uploads import MAX_FILES
from simulation.classroom import PageTruth
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


def _encode(page: np.ndarray, fmt: str) -> bytes:
    """A page as a phone or scanner would save it; JPEG and HEIC stored sideways with the
    EXIF orientation that turns it upright (as a phone held upright stores it)."""
    buf = io.BytesIO()
    if fmt == "PNG":
        Image.fromarray(page).save(buf, format="PNG")
        return buf.getvalue()
    if fmt == "HEIF":
        pillow_heif.register_heif_opener()
    exif = Image.Exif()
    exif[0x0112] = 6
    sensor = Image.fromarray(np.ascontiguousarray(np.rot90(page, 1))).convert("RGB")
    sensor.save(buf, format=fmt, exif=exif.tobytes(), quality=92)
    return buf.getvalue()


def _pages(pdf: bytes, tmp_path: Path) -> list[np.ndarray]:
    path = tmp_path / "stack.pdf"
    path.write_bytes(pdf)
    return [p.image for p in iter_pages(path)]


async def _stored_pages(client: httpx.AsyncClient, job_id: int) -> list[tuple[Any, ...]]:
    async with app_of(client).state.session_factory() as s:
        upload_id = (await s.execute(select(ScanUploadRow.id)
                                     .where(ScanUploadRow.job_id == job_id))).scalar_one()
        rows = (await s.execute(select(PageRow.page_index, PageRow.worksheet_id,
                                       PageRow.page_no, PageRow.student_id)
                                .where(PageRow.upload_id == upload_id)
                                .order_by(PageRow.page_index))).all()
    return [tuple(r) for r in rows]


def _expected(truths: list[PageTruth]) -> list[tuple[Any, ...]]:
    return [(i, t.worksheet_id, t.page_no, t.student_id) for i, t in enumerate(truths)]


async def _jobs(client: httpx.AsyncClient) -> int:
    async with app_of(client).state.session_factory() as s:
        return len((await s.execute(select(JobRow.id))).all())


def _no_leftovers(client: httpx.AsyncClient) -> None:
    assert list((app_of(client).state.storage.root / "tmp").glob("*")) == []


async def test_several_files_are_one_job_with_pages_in_upload_order(
        client: httpx.AsyncClient, tmp_path: Path) -> None:
    sheet = await class_and_sheet(client, students=2, questions=4)
    stack = await scanned_stack(client, sheet, real=False)
    images = _pages(stack.pdf, tmp_path)
    assert len(images) == len(stack.pages) >= 4
    order = list(reversed(range(len(images))))  # not the stack's order: upload order wins
    formats = ["HEIF", "JPEG", "PNG"]
    files = [("files", (f"page{n}.{formats[k % 3].lower()}", _encode(images[n], formats[k % 3]),
                        "application/octet-stream")) for k, n in enumerate(order)]
    r = await client.post("/api/v1/scans", files=files)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["pages"] == len(images)
    assert not body["duplicate"]
    job = await wait_job(client, body["job_id"])
    assert job["pages_done"] == job["pages_total"] == len(images), job
    assert job["filename"] == f"page{order[0]}.heif +{len(images) - 1}"
    assert await _stored_pages(client, body["job_id"]) == _expected(
        [stack.pages[n] for n in order])
    graded = await _stored_pages(client, body["job_id"])
    assert {row[3] for row in graded if row[3] is not None} == set(sheet.student_ids)
    async with app_of(client).state.session_factory() as s:
        upload = (await s.execute(select(ScanUploadRow)
                                  .where(ScanUploadRow.job_id == body["job_id"]))).scalar_one()
        audit = (await s.execute(select(AuditEventRow)
                                 .where(AuditEventRow.action == "scan.upload"))).scalar_one()
    assert upload.content_type == "application/zip"
    assert upload.storage_key.endswith(".zip")
    assert audit.detail["files"] == len(images)
    # The same files in the same order are the same upload; another order is another.
    again = await client.post("/api/v1/scans", files=files)
    assert again.status_code == 202
    assert again.json()["job_id"] == body["job_id"]
    assert again.json()["duplicate"] is True
    other = await client.post("/api/v1/scans", files=list(reversed(files)))
    assert other.status_code == 202
    assert other.json()["duplicate"] is False
    await wait_job(client, other.json()["job_id"])
    assert await _stored_pages(client, other.json()["job_id"]) == _expected(
        [stack.pages[n] for n in reversed(order)])
    _no_leftovers(client)


async def test_a_zip_of_scans_is_one_job_in_natural_name_order(
        client: httpx.AsyncClient, tmp_path: Path) -> None:
    sheet = await class_and_sheet(client, students=1, questions=4)
    stack = await scanned_stack(client, sheet, real=False)
    images = _pages(stack.pdf, tmp_path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("scans/", b"")
        for n in reversed(range(len(images))):  # stored out of order: names decide
            z.writestr(f"scans/IMG_{n + 8}.heic", _encode(images[n], "HEIF"))
            z.writestr(f"__MACOSX/scans/._IMG_{n + 8}.heic", b"\0\5\26\7 resource fork")
        z.writestr("scans/.DS_Store", b"junk")
    r = await client.post("/api/v1/scans", files={"file": ("class.zip", buf.getvalue(),
                                                           "application/zip")})
    assert r.status_code == 202, r.text
    assert r.json()["pages"] == len(images)
    job = await wait_job(client, r.json()["job_id"])
    assert job["pages_done"] == len(images), job
    # IMG_8, IMG_9, IMG_10… in that order (natural, not IMG_10 before IMG_8).
    assert await _stored_pages(client, r.json()["job_id"]) == _expected(stack.pages)
    _no_leftovers(client)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _png() -> bytes:
    page = np.full((400, 300), 255, np.uint8)
    page[20:80, 20:80] = 0
    return _encode(page, "PNG")


@pytest.mark.parametrize(("files", "status", "code", "says"), [
    # A ZIP bomb: 21 MB of zeros in a 21 KB ZIP; refused from the sizes it declares.
    ([("class.zip", _zip({"a.png": b"\0" * (21 * 2**20)}))], 413, "limit_exceeded",
     "unpacked"),
    ([("class.zip", _zip({f"p{i}.png": b"x" for i in range(MAX_FILES + 1)}))], 413,
     "limit_exceeded", f"the limit is {MAX_FILES}"),
    ([("p1.png", _png()), ("notes.txt", b"not a scan"), ("p3.png", _png())], 415,
     "unsupported_file", '"notes.txt" (file 2)'),
    ([("p1.png", _png()), ("IMG_2.HEIC", b"\0\0\0\x18ftypheic" + b"\7" * 300)], 422,
     "corrupt_file", '"IMG_2.HEIC" (file 2)'),
    ([("p1.png", _png()), ("blank.jpg", b"")], 400, "empty_file", '"blank.jpg" (file 2)'),
    ([("p1.png", _png()), ("more.zip", _zip({"a.png": _png(), "b.pdf": b"%PDF-1.7 cut"}))],
     422, "corrupt_file", '"more.zip/b.pdf" (file 3)'),
])
async def test_a_bad_file_refuses_the_request_naming_it(
        client: httpx.AsyncClient, files: list[tuple[str, bytes]], status: int, code: str,
        says: str) -> None:
    r = await client.post("/api/v1/scans",
                          files=[("files", (n, d, "application/octet-stream")) for n, d in files])
    assert r.status_code == status, r.text
    assert r.json()["error"] == code
    assert says in r.json()["detail"]
    assert await _jobs(client) == 0
    _no_leftovers(client)
    stored = list((app_of(client).state.storage.root / "uploads").rglob("*"))
    assert [p for p in stored if p.is_file()] == []


async def test_too_many_files_in_one_request(client: httpx.AsyncClient) -> None:
    png = _png()
    files = [("files", (f"p{i}.png", png, "image/png")) for i in range(MAX_FILES + 1)]
    r = await client.post("/api/v1/scans", files=files)
    assert r.status_code == 400
    assert r.json()["error"] == "too_many_files"
    assert await _jobs(client) == 0
    _no_leftovers(client)


async def test_the_body_limit_is_for_all_the_files_together(client: httpx.AsyncClient) -> None:
    chunk = b"\xff\xd8\xff" + b"\0" * (8 * 2**20)
    files = [("files", (f"p{i}.jpg", chunk, "image/jpeg")) for i in range(3)]
    r = await client.post("/api/v1/scans", files=files)
    assert r.status_code == 413
    assert r.json()["error"] == "file_too_large"
    assert "together" in r.json()["detail"]
    _no_leftovers(client)


async def test_a_heic_photo_is_read_and_graded(client: httpx.AsyncClient,
                                               tmp_path: Path) -> None:
    sheet = await class_and_sheet(client, students=1, questions=4)
    stack = await scanned_stack(client, sheet, real=False)
    images = _pages(stack.pdf, tmp_path)
    r = await client.post("/api/v1/scans",
                          files={"file": ("IMG_0001.HEIC", _encode(images[0], "HEIF"),
                                          "image/heic")})
    assert r.status_code == 202, r.text
    job = await wait_job(client, r.json()["job_id"])
    assert job["status"] == "done", job
    rows = await _stored_pages(client, r.json()["job_id"])
    assert rows == _expected(stack.pages[:1])
    assert rows[0][3] == sheet.student_ids[0]
