"""Paper integrity through the real service: a page printed by another install, or from
another layout of a worksheet with the same id, is reported ``foreign_page`` and never
graded; an old MB1 print still grades; a named copy whose printed name and number are
another child's goes to review.

Each test prints through the API (or renders as an old or another install's print would),
fills the copies with font handwriting, scans them into a PDF and uploads it; page work
runs in threads on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlalchemy import func, select, update

from errorbook.contract import (
    PageCode,
    WorksheetLayout,
    format_page_code,
    page_layout_hash,
    parse_page_code,
)
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from service.config import Settings
from service.db import GradeRow, InstallationRow, PageRow, WorksheetRow
from service.schemas.jobs import JobOut
from service.web.i18n import load_catalogue
from service.web.uploads_views import problem_views
from simulation.classroom import font_glyph_bank, keys_for, scan_class_set
from tests.support.scans import (
    ClassSheet,
    app_of,
    bank,
    class_and_sheet,
    scanned_stack,
    thread_job_settings,
    wait_job,
)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return thread_job_settings(tmp_path, db_url)


async def _scalar(client: httpx.AsyncClient, stmt: Any) -> Any:
    async with app_of(client).state.session_factory() as s:
        return (await s.execute(stmt)).scalar_one()


async def _execute(client: httpx.AsyncClient, stmt: Any) -> None:
    async with app_of(client).state.session_factory() as s:
        await s.execute(stmt)
        await s.commit()


async def _upload(client: httpx.AsyncClient, pdf: bytes) -> dict[str, Any]:
    r = await client.post("/api/v1/scans", content=pdf, headers={"content-type": "application/pdf"})
    assert r.status_code == 202, r.text
    return await wait_job(client, r.json()["job_id"])


async def _grades(client: httpx.AsyncClient) -> int:
    return int(await _scalar(client, select(func.count()).select_from(GradeRow)))


async def _scan(sheet: ClassSheet, printed: bytes) -> bytes:
    """Fill and scan a PDF printed outside the API (as an old or another install would)."""
    docs = [q for q in bank()["questions"] if q["id"] in sheet.question_ids]
    stack = await asyncio.to_thread(scan_class_set, printed, {sheet.worksheet_id: sheet.layout},
                                    keys_for(docs), seed=3, bank=font_glyph_bank(),
                                    handwriting="font")
    return stack.pdf


async def _roster(client: httpx.AsyncClient, sheet: ClassSheet) -> list[dict[str, Any]]:
    students: list[dict[str, Any]] = (await client.get(f"/api/v1/classes/{sheet.class_id}")
                                      ).json()["students"]
    return students


async def test_prints_carry_the_install_and_the_page_layout(client: httpx.AsyncClient) -> None:
    sheet = await class_and_sheet(client, students=1, questions=4)
    ours = await _scalar(client, select(InstallationRow.install_id))
    layout = WorksheetLayout.from_dict(sheet.layout)
    for query in ("per_student=true", "copies=1"):
        r = await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/print.pdf?{query}")
        assert r.status_code == 200
        doc = pdfium.PdfDocument(r.content)
        img = np.asarray(doc[0].render(scale=150 / 72, grayscale=True).to_pil())
        found = zxingcpp.read_barcodes(img)
        assert len(found) == 1
        assert found[0].text.startswith("MB2")
        code = parse_page_code(found[0].text)
        assert (code.install, code.layout) == (ours, page_layout_hash(layout.pages[0]))
        assert code.student_id == (sheet.student_ids[0] if query.startswith("per") else None)


async def test_pages_printed_by_another_install_are_foreign(client: httpx.AsyncClient) -> None:
    sheet = await class_and_sheet(client, students=2, questions=4)
    stack = await scanned_stack(client, sheet, real=False)  # printed MB2 by this install
    ours = await _scalar(client, select(InstallationRow.install_id))
    assert len(ours) == 6
    # The server is reinstalled on a fresh database that happens to give the worksheet
    # and the students the same ids: its install id is another one.
    await _execute(client, update(InstallationRow).values(
        install_id="AAAAAA" if ours != "AAAAAA" else "BBBBBB"))
    job = await _upload(client, stack.pdf)
    sheets = [t for t in stack.pages if t.worksheet_id is not None]
    assert len(sheets) == 2
    assert job["status"] == "partially_done", job
    problems = [p for p in job["problems"] if p["status"] == "foreign_page"]
    assert [p["page_index"] for p in problems] == [t.page_index for t in sheets]
    assert all("这页不是本系统打印的" in p["problem"] for p in problems)
    # Stored as unidentified pages (they wait in review), nothing graded.
    pages = await _scalar(client, select(func.count()).select_from(PageRow).where(
        PageRow.status == "unidentified", PageRow.worksheet_id.is_(None)))
    assert pages == 2
    assert await _grades(client) == 0
    # The job page explains it in Chinese and sends the teacher to the unidentified pages.
    views = problem_views(JobOut.model_validate(job))
    foreign = [v for v in views if v.status == "foreign_page"]
    assert len(foreign) == 2
    zh = load_catalogue().languages["zh-CN"]
    assert zh[foreign[0].title_key] == "这页不是本系统打印的"
    assert foreign[0].review_url == "/review?kind=unidentified"


async def test_a_relaid_out_worksheet_refuses_pages_of_its_old_layout(
        client: httpx.AsyncClient) -> None:
    sheet = await class_and_sheet(client, students=1, questions=4)
    stack = await scanned_stack(client, sheet, real=False)
    # The worksheet's stored layout changes under the same id (an answer box moved 1 mm).
    layout = copy.deepcopy(sheet.layout)
    async with app_of(client).state.session_factory() as s:
        row = await s.get(WorksheetRow, sheet.worksheet_id)
        stored = copy.deepcopy(row.layout)
        box = stored["pages"][0]["regions"][0]["box"]
        stored["pages"][0]["regions"][0]["box"] = [box[0] + 2.83, box[1], box[2] + 2.83, box[3]]
        row.layout = stored
        await s.commit()
    assert stored != layout
    job = await _upload(client, stack.pdf)
    problems = [p for p in job["problems"] if p["status"] == "foreign_page"]
    assert len(problems) == 1, job
    assert "layout" in problems[0]["problem"]
    assert await _grades(client) == 0


async def test_an_old_mb1_print_still_grades(client: httpx.AsyncClient) -> None:
    sheet = await class_and_sheet(client, students=2, questions=4)
    layout = WorksheetLayout.from_dict(sheet.layout)
    roster = await _roster(client, sheet)
    copies = [PrintedCopy(tuple(format_page_code(PageCode(sheet.worksheet_id, p.number, s["id"]))
                                for p in layout.pages), s["name"], s["student_no"])
              for s in roster]
    assert copies[0].page_codes[0].startswith("MB1;")
    printed = await asyncio.to_thread(render_worksheet_pdf, layout, copies)
    job = await _upload(client, await _scan(sheet, printed))
    assert job["status"] == "done", job
    graded = await _scalar(client, select(func.count()).select_from(PageRow).where(
        PageRow.status == "graded"))
    assert graded == 2
    assert await _grades(client) == 2 * 4


async def test_a_named_copy_with_another_childs_name_and_number_goes_to_review(
        client: httpx.AsyncClient) -> None:
    sheet = await class_and_sheet(client, students=3, questions=4)
    layout = WorksheetLayout.from_dict(sheet.layout)
    first, second, _ = await _roster(client, sheet)
    # The code names the first child; the name and number printed are the second's (an
    # MB1 copy printed elsewhere for a class whose ids collide with ours).
    codes = tuple(format_page_code(PageCode(sheet.worksheet_id, p.number, first["id"]))
                  for p in layout.pages)
    printed = await asyncio.to_thread(render_worksheet_pdf, layout, [
        PrintedCopy(codes, second["name"], second["student_no"])])
    job = await _upload(client, await _scan(sheet, printed))
    problems = [p for p in job["problems"] if p["status"] == "unknown_student"]
    assert len(problems) == 1, job
    assert "不一致" in problems[0]["problem"]
    async with app_of(client).state.session_factory() as s:
        page = (await s.execute(select(PageRow).where(PageRow.status == "unknown_student"))
                ).scalar_one()
    assert page.student_id is None  # not graded for the code's child
    evidence = page.student_evidence or {}
    assert evidence["conflict"] is True  # never placed automatically
    assert evidence["candidates"][0]["student_id"] == second["id"]
