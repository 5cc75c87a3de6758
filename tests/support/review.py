"""A graded class for results and review tests.

The class, roster and worksheet are made through the API. The scanned pages, answers and
grades are then inserted with a session from ``app.state.session_factory``: this stands in
for the scan pipeline so each test controls exactly what was read. The grades themselves
are real: every answer is graded by the real graders and review policy and stored with the
pipeline's own ``grade_row``, so the rows look exactly like the pipeline's.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image
from pydantic import TypeAdapter
from sqlalchemy import select

from grading.questions import Question
from grading.response import Alternative, Marks, Response, ResponseStatus
from grading.review_policy import grade_response
from service.actor import Actor
from service.db import (
    PageRow,
    QuestionRow,
    ResponseRow,
    ScanUploadRow,
    SchoolClassRow,
    SchoolRow,
    StudentRow,
    TeacherRow,
)
from service.jobs.store import grade_row

ROOT = Path(__file__).resolve().parents[2]
# add (1 pt), quotient-and-remainder with two blanks (1 pt), choice (2 pt), numeric (3 pt).
QIDS = ["m3-add-001", "m3-div-003", "m3-add-006", "m3-word-001"]
ROSTER = [("001", "王小明"), ("002", "李华"), ("003", "张伟"), ("004", "赵敏")]
_QUESTION: TypeAdapter[Any] = TypeAdapter(Question)


def app_of(client: httpx.AsyncClient) -> Any:
    return client._transport.app  # type: ignore[attr-defined]


def png_bytes(shape: tuple[int, int] = (40, 120), value: int = 200) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full(shape, value, dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


@dataclass
class Read:
    """What the reader saw in one question's answer area(s)."""

    text: str | None = None
    blanks: tuple[str, ...] = ()
    status: str = "ok"
    confidence: float = 0.99
    alternatives: tuple[tuple[str, float], ...] = ()
    marked: tuple[str, ...] | None = None
    crop: bool = False


@dataclass
class Sheet:
    class_id: int
    worksheet_id: int
    students: dict[str, int]  # name -> id
    upload_id: int = 0
    pages: dict[str, int] = field(default_factory=dict)
    responses: dict[tuple[str, str], int] = field(default_factory=dict)  # (name, qid) -> id


async def make_sheet(client: httpx.AsyncClient) -> Sheet:
    bank = json.loads((ROOT / "sample_scans" / "question_bank.json").read_text("utf-8"))
    bank["questions"] = [q for q in bank["questions"] if q["id"] in QIDS]  # faster import
    r = await client.post("/api/v1/questions:import", json=bank)
    assert r.status_code == 200, r.text
    r = await client.post("/api/v1/classes", json={"name": "三年级(2)班", "grade": 3})
    cid = r.json()["id"]
    r = await client.post(f"/api/v1/classes/{cid}/students",
                          json=[{"student_no": n, "name": name} for n, name in ROSTER])
    assert r.status_code == 201, r.text
    students = {s["name"]: s["id"] for s in r.json()["students"]}
    r = await client.post("/api/v1/worksheets", json={"title": "口算与应用题", "class_id": cid,
                                                      "question_ids": QIDS})
    assert r.status_code == 201, r.text
    sheet = Sheet(cid, r.json()["id"], students)
    sheet.upload_id = await stored_upload(client)
    return sheet


async def stored_upload(client: httpx.AsyncClient) -> int:
    """An upload whose stored file is a real one-page PNG scan (for page images)."""
    app = app_of(client)
    data = png_bytes((300, 200), 180)
    key = f"uploads/test/{hashlib.sha256(data).hexdigest()}.png"
    app.state.storage.put_bytes(key, data)
    actor: Actor = app.state.local_actor
    async with app.state.session_factory() as s:
        row = ScanUploadRow(school_id=actor.school_id, teacher_id=actor.teacher_id,
                         filename="stack.png", content_type="image/png", size_bytes=len(data),
                         sha256=hashlib.sha256(data).hexdigest(), storage_key=key, page_count=1)
        s.add(row)
        await s.commit()
        return row.id


def _response(read: Read) -> Response:
    status = ResponseStatus(read.status)
    alts = tuple(Alternative(text=t, probability=p) for t, p in read.alternatives)
    if read.marked is not None:
        fill = {label: (0.9 if label in read.marked else 0.02) for label in "ABCD"}
        return Response(status=status, text="".join(read.marked), confidence=read.confidence,
                        marks=Marks(fill=fill, marked=read.marked))
    if read.blanks:
        return Response(status=status, blanks=read.blanks, confidence=read.confidence)
    # A detected blank is certain (the reader says 1.0); failures carry no confidence.
    sure = status in (ResponseStatus.OK, ResponseStatus.BLANK)
    return Response(status=status, text=read.text or "", alternatives=alts,
                    confidence=read.confidence if sure else 0.0)


async def seed_page(client: httpx.AsyncClient, sheet: Sheet, student: str | None,
                    reads: dict[str, Read], *, status: str = "graded", page_index: int | None = None,
                    label: str | None = None, worksheet: bool = True,
                    problem: str | None = None, evidence: dict[str, Any] | None = None) -> int:
    """Store one scanned page with its answers, graded like the pipeline grades them
    (``evidence``: the handwritten identity the reader kept, ``pages.student_evidence``)."""
    app = app_of(client)
    async with app.state.session_factory() as s:
        student_id = sheet.students[student] if student else None
        # Pages share the one upload; only index 0 exists in its file (page images).
        index = len(sheet.pages) if page_index is None else page_index
        page = PageRow(upload_id=sheet.upload_id, page_index=index,
                       worksheet_id=sheet.worksheet_id if worksheet else None,
                       page_no=1 if worksheet else None, student_id=student_id,
                       student_source="qr" if student_id else None, status=status,
                       problem=problem, student_evidence=evidence)
        s.add(page)
        await s.flush()
        questions = {q.external_id: q for q in (await s.execute(
            select(QuestionRow).where(QuestionRow.external_id.in_(list(reads))))).scalars()}
        for qid, read in reads.items():
            q = questions[qid]
            marked = "".join(read.marked) if read.marked is not None else None
            texts = list(read.blanks) or [marked if marked is not None else read.text]
            rows = []
            for blank, text in enumerate(texts):
                key = None
                if read.crop:
                    key = f"crops/test/{page.id}/{qid}_{blank}.png"
                    app.state.storage.put_bytes(key, png_bytes(value=10 + blank))
                row = ResponseRow(page_id=page.id, worksheet_id=sheet.worksheet_id,
                                  student_id=student_id, question_id=q.id, blank=blank,
                                  status=read.status, text=text or None,
                                  confidence=read.confidence,
                                  alternatives=[{"text": t, "confidence": p}
                                                for t, p in read.alternatives],
                                  marks=[{"status": "ok", "marked": list(read.marked)}]
                                  if read.marked is not None else [], crop_key=key)
                s.add(row)
                rows.append(row)
            await s.flush()
            grade = grade_response(_QUESTION.validate_python(q.document), _response(read),
                                   key_revision=q.key_revision)
            s.add(grade_row(rows[0], grade.model_dump(mode="json")))
            sheet.responses[(label or student or "?", qid)] = rows[0].id
        await s.commit()
        sheet.pages[label or student or "?"] = page.id
        return page.id


async def seed_class(client: httpx.AsyncClient) -> Sheet:
    """Three of four students scanned: one perfect, one with a doubtful reading, one with
    an unreadable answer and a question whose page is missing. 张伟 handed nothing in."""
    sheet = await make_sheet(client)
    await seed_page(client, sheet, "王小明", {
        "m3-add-001": Read("85", crop=True), "m3-div-003": Read(blanks=("3", "2"), crop=True),
        "m3-add-006": Read(marked=("B",)), "m3-word-001": Read("189")})
    await seed_page(client, sheet, "李华", {
        "m3-add-001": Read("75"), "m3-div-003": Read(blanks=("3", "2")),
        "m3-add-006": Read(marked=("A",)),
        "m3-word-001": Read("189", confidence=0.6, alternatives=(("139", 0.35),), crop=True)})
    await seed_page(client, sheet, "赵敏", {
        "m3-add-001": Read(status="unreadable", confidence=0.0),
        "m3-div-003": Read(blanks=("3", "2")), "m3-add-006": Read(status="blank")})
    return sheet


async def other_teacher(client: httpx.AsyncClient, *, admin: bool = False,
                        other_school: bool = False) -> Actor:
    """A second teacher made directly in the database (no account API yet)."""
    app = app_of(client)
    local: Actor = app.state.local_actor
    async with app.state.session_factory() as s:
        school_id = local.school_id
        if other_school:
            school = SchoolRow(name="另一所学校")
            s.add(school)
            await s.flush()
            school_id = school.id
        n = len((await s.execute(select(TeacherRow))).all())
        t = TeacherRow(school_id=school_id, username=f"teacher{n}", display_name="另一位老师",
                    is_admin=admin)
        s.add(t)
        await s.commit()
        return Actor(teacher_id=t.id, school_id=school_id, is_admin=admin)


async def other_class_student(client: httpx.AsyncClient) -> int:
    app = app_of(client)
    local: Actor = app.state.local_actor
    async with app.state.session_factory() as s:
        c = SchoolClassRow(school_id=local.school_id, teacher_id=local.teacher_id, name="四年级(1)班")
        s.add(c)
        await s.flush()
        st = StudentRow(class_id=c.id, student_no="900", name="别班学生")
        s.add(st)
        await s.commit()
        return st.id
