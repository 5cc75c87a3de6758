"""The closed paper loop, for real: a scanned class stack → grades → mastery and error-book
entries → a printed error book → its practice pages redone, scanned and uploaded → graded
through normal ingestion → mastery and the entries move."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import numpy as np
import pypdfium2 as pdfium
from sqlalchemy import select

from service.db import ErrorAttemptRow, ErrorBookRow, PracticeItemRow, QuestionRow
from simulation.classroom import font_glyph_bank, keys_for, pdf_pages, scan_class_set
from tests.support.review import app_of
from tests.support.scans import class_and_sheet, scanned_stack, wait_job


def _text(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def _pages(pdf: bytes) -> int:
    doc = pdfium.PdfDocument(pdf)
    try:
        return len(doc)
    finally:
        doc.close()


async def _upload(client: httpx.AsyncClient, pdf: bytes, name: str) -> dict[str, Any]:
    r = await client.post("/api/v1/scans", files={"scan": (name, pdf, "application/pdf")})
    assert r.status_code == 202, r.text
    return await wait_job(client, r.json()["job_id"], limit_s=300)


async def test_error_book_redone_and_scanned_updates_mastery(client: httpx.AsyncClient) -> None:
    sheet = await class_and_sheet(client, students=3, questions=8)
    stack = await scanned_stack(client, sheet, real=False, seed=11)
    job = await _upload(client, stack.pdf, "class.pdf")
    assert job["status"] in ("done", "partially_done"), job
    progress = {}
    for sid in sheet.student_ids:
        r = await client.get(f"/api/v1/students/{sid}/progress")
        assert r.status_code == 200, r.text
        progress[sid] = r.json()
    sid = max(progress, key=lambda s: progress[s]["entries_open"])
    assert progress[sid]["entries_open"] >= 1, progress
    before = {k["code"]: k for k in (await client.get(
        f"/api/v1/students/{sid}/mastery")).json()["knowledge_points"]}

    r = await client.get(f"/api/v1/students/{sid}/recommendations?n=6")
    assert r.status_code == 200, r.text
    recs = r.json()["items"]
    assert recs
    assert all(i["reason_zh"] for i in recs)
    assert {i["kind"] for i in recs} <= {"similar", "variant"}

    r = await client.get(f"/api/v1/students/{sid}/errorbook.pdf")
    assert r.status_code == 200, r.text
    book_pdf = r.content
    text = _text(book_pdf)
    name = progress[sid]["student"]["name"]
    assert name in text
    # Cards ask for a redo with a ruled 订正 area; the answers are in the key at the back.
    assert "订正（在这里独立重做一遍）" in text
    assert "参考答案" in text
    assert "正确答案" not in text
    # Asking again with nothing changed reprints the same practice sheet; one-sided
    # (duplex=false) it is the same book without its padding pages.
    again = await client.get(f"/api/v1/students/{sid}/errorbook.pdf?duplex=false")
    assert again.status_code == 200
    padded = _text(book_pdf).count("本页空白")
    assert "本页空白" not in _text(again.content)
    assert _pages(again.content) == _pages(book_pdf) - padded
    app = app_of(client)
    async with app.state.session_factory() as s:
        books = (await s.execute(select(ErrorBookRow).where(
            ErrorBookRow.student_id == sid))).scalars().all()
        assert len(books) == 1
        assert books[0].worksheet_id is not None
        wid = books[0].worksheet_id
        items = (await s.execute(select(PracticeItemRow, QuestionRow).join(
            QuestionRow, QuestionRow.id == PracticeItemRow.question_id).where(
            PracticeItemRow.worksheet_id == wid))).all()
    assert items
    assert all(p.entry_id is not None for p, _ in items)
    docs = [q.document for _, q in items]
    assert any(q.origin == "variant" for _, q in items)  # generated 变式题 are on the sheet
    layout = (await client.get(f"/api/v1/worksheets/{wid}/layout")).json()
    keys = keys_for(docs)

    def right(qid: str, blank: int, rng: np.random.Generator) -> str:
        return keys.get(f"{qid}#{blank}") or keys[qid]

    # The student redoes the practice pages (all right); the teacher scans just those.
    redo = await asyncio.to_thread(scan_class_set, book_pdf, {wid: layout}, keys, seed=3,
                                   bank=font_glyph_bank(), handwriting="font", answer_for=right)
    practice_pages = [p.page_index for p in redo.pages if p.worksheet_id == wid]
    assert practice_pages
    job = await _upload(client, pdf_pages(redo.pdf, practice_pages), "redo.pdf")
    assert job["status"] == "done", job

    after = {k["code"]: k for k in (await client.get(
        f"/api/v1/students/{sid}/mastery")).json()["knowledge_points"]}
    practised = {c for d in docs for c in d["knowledge_points"]}
    moved = [c for c in practised & before.keys() if after[c]["attempts"] > before[c]["attempts"]]
    assert moved, "the redone practice did not reach mastery"
    assert any(after[c]["p_mastery"] > before[c]["p_mastery"] for c in moved)
    async with app.state.session_factory() as s:
        attempts = (await s.execute(select(ErrorAttemptRow))).scalars().all()
    assert attempts
    assert any(a.correct for a in attempts)
    body = (await client.get(f"/api/v1/students/{sid}/progress")).json()
    # Right answers on the same day as the mistake start the practice; resolution needs
    # right answers on later occasions (1, 3, 7, 14 days), so nothing resolves today.
    assert body["entries_practising"] >= 1
    assert body["entries_open"] < progress[sid]["entries_open"]
