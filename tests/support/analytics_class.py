"""A class with weeks of graded worksheets, for the analytics benchmark, browser test and
screenshot: ``students`` × ``worksheets``, two worksheets a week, from the sample bank.

The class, roster and worksheets are made through the API; pages, answers and grades are
stored directly (as ``tests.support.review`` does) and graded by the real graders and review
policy, then mastery and the error books are brought in line by the pipeline's own
``sync_answers``, worksheet by worksheet in time order. Each student has an ability that
grows a little every week; a wrong answer is a plausible slip (a digit off, a ten off, a
distractor), and the graders name its cause. Questions come back in later worksheets, so
error-book entries get redone and some are resolved.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
from pydantic import TypeAdapter
from sqlalchemy import select, update

from errorbook.printing.key_text import key_answer_text
from grading.questions import Question
from grading.response import Marks, Response, ResponseStatus
from grading.review_policy import grade_response
from service.db import PageRow, QuestionRow, ResponseRow, ScanUploadRow, WorksheetRow
from service.jobs.store import grade_row
from service.mastery.sync import sync_answers
from tests.support.review import ROOT, png_bytes

__all__ = ["KPS", "SeededClass", "seed_analytics_class"]

KPS = ("math.add.carry", "math.sub.borrow", "math.mul.table", "math.mul.multidigit",
       "math.div.exact", "math.units.length", "math.word.add_sub", "math.units.money")
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = ("小明", "华", "伟", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟",
          "涛", "超", "秀英", "桂英", "浩然", "子涵", "梓萱", "一诺", "欣怡", "宇轩", "思远")
_QUESTION: TypeAdapter[Any] = TypeAdapter(Question)


@dataclass
class SeededClass:
    """What was made: the class, its students (name -> id) and worksheets in time order."""

    class_id: int
    students: dict[str, int]
    worksheets: list[int] = field(default_factory=list)


def _pool(bank: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for q in bank["questions"]:
        kps = set(q["knowledge_points"])
        if q["kind"] not in ("arithmetic", "numeric", "choice") or not kps <= set(KPS):
            continue
        out.append(q)
    return out


def _right(q: dict[str, Any]) -> str | None:
    if q["kind"] == "choice":
        return str(q["key"]["answer"])
    if q["kind"] == "numeric":
        return str(q["key"]["value"])
    text = key_answer_text(_QUESTION.validate_python(q))
    return None if "…" in text else text  # a remainder takes two blanks


def _wrong(q: dict[str, Any], right: str, rng: np.random.Generator) -> str:
    if q["kind"] == "choice":
        labels = [o["label"] for o in q["options"] if o["label"] != right]
        return str(rng.choice(labels))
    try:
        value = float(right)
    except ValueError:
        return right + "0"
    slip = [value + 10, value - 10, value + 1, value - 1, value * 10]
    out = slip[int(rng.integers(0, len(slip)))]
    return f"{out:g}"


def _names(n: int) -> list[str]:
    combos = [a + b for b in _GIVEN for a in _SURNAMES]
    order = np.random.default_rng(2026).permutation(len(combos))
    return [combos[int(i)] for i in order[:n]]


def _response(q: dict[str, Any], text: str | None) -> Response:
    if text is None:
        return Response(status=ResponseStatus.BLANK, text="", confidence=1.0)
    if q["kind"] == "choice":
        fill = {o["label"]: (0.9 if o["label"] == text else 0.02) for o in q["options"]}
        return Response(status=ResponseStatus.OK, text=text, confidence=0.99,
                        marks=Marks(fill=fill, marked=(text,)))
    return Response(status=ResponseStatus.OK, text=text, confidence=0.99)


async def seed_analytics_class(api: httpx.AsyncClient, state: Any, *, students: int = 50,
                               worksheets: int = 10, per_sheet: int = 8, seed: int = 7,
                               start: datetime | None = None,
                               name: str = "四年级(3)班") -> SeededClass:
    """Make the class and its graded weeks (see the module docstring).

    Args:
        api: a client of the app as a teacher (the class's owner).
        state: the app's ``state`` (``session_factory``, ``storage``, ``local_actor``).
        students: roster size.
        worksheets: how many worksheets, two a week.
        per_sheet: questions per worksheet.
        seed: the random seed (the same class every run).
        start: the first worksheet's date (default: ten weeks before now, a Monday).
        name: the class's name.
    """
    rng = np.random.default_rng(seed)
    bank = json.loads((ROOT / "sample_scans" / "question_bank.json").read_text("utf-8"))
    pool = [q for q in _pool(bank) if _right(q) is not None]
    bank["questions"] = pool
    assert (await api.post("/api/v1/questions:import", json=bank)).status_code == 200
    r = await api.post("/api/v1/classes", json={"name": name, "grade": 4})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    names = _names(students)
    r = await api.post(f"/api/v1/classes/{cid}/students", json=[
        {"student_no": f"{i + 1:02d}", "name": n} for i, n in enumerate(names)])
    assert r.status_code == 201, r.text
    ids = {s["name"]: s["id"] for s in r.json()["students"]}
    made = SeededClass(cid, ids)
    ability = {sid: float(rng.normal(1.4, 0.9)) for sid in ids.values()}
    now = datetime.now(UTC)
    first = start or (now - timedelta(weeks=worksheets // 2 + 1,
                                      days=now.weekday())).replace(hour=9, minute=0)
    actor = state.local_actor
    for w in range(worksheets):
        chosen = [pool[int(i)] for i in rng.choice(len(pool), size=min(per_sheet, len(pool)),
                                                   replace=False)]
        r = await api.post("/api/v1/worksheets", json={
            "title": f"第{w // 2 + 1}周练习{'一二'[w % 2]}", "class_id": cid,
            "question_ids": [q["id"] for q in chosen]})
        assert r.status_code == 201, r.text
        wid = r.json()["id"]
        made.worksheets.append(wid)
        when = first + timedelta(days=7 * (w // 2) + 3 * (w % 2))
        primaries: list[int] = []
        async with state.session_factory() as s:
            await s.execute(update(WorksheetRow).where(WorksheetRow.id == wid)
                            .values(created_at=when))
            data = png_bytes((300, 200), 100 + w)
            digest = hashlib.sha256(data + f"{cid}-{w}".encode()).hexdigest()
            key = f"uploads/analytics/{digest}.png"
            state.storage.put_bytes(key, data)
            upload = ScanUploadRow(school_id=actor.school_id, teacher_id=actor.teacher_id,
                                   filename=f"week{w}.png", content_type="image/png",
                                   size_bytes=len(data), sha256=digest, storage_key=key,
                                   page_count=students, created_at=when)
            s.add(upload)
            await s.flush()
            rows = {q.external_id: q for q in (await s.execute(select(QuestionRow).where(
                QuestionRow.external_id.in_([q["id"] for q in chosen])))).scalars()}
            for n, (_name, sid) in enumerate(ids.items()):
                if rng.random() < 0.05:
                    continue  # did not hand it in
                page = PageRow(upload_id=upload.id, page_index=n, worksheet_id=wid, page_no=1,
                               student_id=sid, student_source="qr", status="graded",
                               created_at=when)
                s.add(page)
                await s.flush()
                for q in chosen:
                    right = _right(q)
                    assert right is not None
                    p = 1 / (1 + math.exp(-(ability[sid] + 0.2 * w - 0.3 * q["difficulty"])))
                    roll = rng.random()
                    text = right if roll < p else (None if roll > 0.97 else
                                                   _wrong(q, right, rng))
                    qrow = rows[q["id"]]
                    resp = ResponseRow(page_id=page.id, worksheet_id=wid, student_id=sid,
                                       question_id=qrow.id, blank=0,
                                       status="blank" if text is None else "ok", text=text,
                                       confidence=0.99, alternatives=[], marks=[],
                                       created_at=when)
                    s.add(resp)
                    await s.flush()
                    grade = grade_response(_QUESTION.validate_python(qrow.document),
                                           _response(q, text), key_revision=qrow.key_revision)
                    s.add(grade_row(resp, grade.model_dump(mode="json")))
                    primaries.append(resp.id)
            await s.commit()
        async with state.session_factory() as s:
            await sync_answers(s, primaries)
            await s.commit()
    return made
