"""Shared steps for scan tests: a class, a worksheet, a printed and scanned class set."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx

from service.config import Settings
from simulation.classroom import ScannedStack, font_glyph_bank, keys_for, scan_class_set
from simulation.seats import mark_seats_in_pdf
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
TERMINAL = {"done", "failed", "partially_done"}


@lru_cache(maxsize=1)
def bank() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "sample_scans" / "question_bank.json")
                                      .read_text("utf-8"))
    return data


def math_ids(n: int) -> list[str]:
    out = []
    for q in bank()["questions"]:
        if q["subject"] == "math" and q["kind"] in ("arithmetic", "choice", "true_false") \
                and len(q["stem"]) <= 30:
            out.append(q["id"])
        if len(out) == n:
            break
    return out


@dataclass
class ClassSheet:
    class_id: int
    worksheet_id: int
    student_ids: list[int]
    layout: dict[str, Any]
    question_ids: list[str]


async def class_and_sheet(client: httpx.AsyncClient, students: int = 3,
                          questions: int = 8) -> ClassSheet:
    r = await client.post("/api/v1/questions:import", json=bank())
    assert r.status_code in (200, 201), r.text
    r = await client.post("/api/v1/classes", json={"name": "三年级(1)班", "grade": 3})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await client.post(f"/api/v1/classes/{cid}/students", json=[
        {"student_no": f"{i:03d}", "name": f"学生{i}"} for i in range(1, students + 1)])
    assert r.status_code == 201, r.text
    ids = math_ids(questions)
    r = await client.post("/api/v1/worksheets", json={"title": "口算练习", "class_id": cid,
                                                      "question_ids": ids})
    assert r.status_code == 201, r.text
    wid = r.json()["id"]
    layout = (await client.get(f"/api/v1/worksheets/{wid}/layout")).json()
    students_out = (await client.get(f"/api/v1/classes/{cid}")).json()["students"]
    return ClassSheet(cid, wid, [s["id"] for s in students_out], layout, ids)


async def scanned_stack(client: httpx.AsyncClient, sheet: ClassSheet, *, per_student: bool = True,
                        seed: int = 1, real: bool = True,
                        numbers: list[str] | None = None, copies: int = 2,
                        seats: list[str | None] | None = None) -> ScannedStack:
    """Print the worksheet, have the class fill it and scan it.

    ``numbers``: what each anonymous copy's child writes in the comb; ``seats``: the seat
    bubbles each fills (the copies are then printed with the seat row).
    """
    query = "per_student=true" if per_student else f"copies={copies}"
    if seats is not None:
        query += "&seat_bubbles=true"
    r = await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/print.pdf?{query}")
    assert r.status_code == 200, r.text
    printed = r.content
    if seats is not None:
        marked = await asyncio.to_thread(mark_seats_in_pdf, printed,
                                         {sheet.worksheet_id: sheet.layout}, seats, seed=seed)
        printed = marked.pdf
    docs = [q for q in bank()["questions"] if q["id"] in sheet.question_ids]
    glyphs = None if real else font_glyph_bank()
    return await asyncio.to_thread(scan_class_set, printed, {sheet.worksheet_id: sheet.layout},
                                   keys_for(docs), seed=seed, bank=glyphs,
                                   handwriting="" if real else "font",
                                   anonymous_numbers=numbers)


async def wait_job(client: httpx.AsyncClient, job_id: int, limit_s: float = 180) -> dict[str, Any]:
    """The job's final state, polled until it is terminal (``limit_s`` bounds a hang)."""
    last: dict[str, Any] = {}

    async def finished() -> dict[str, Any] | None:
        r = await client.get(f"/api/v1/jobs/{job_id}")
        assert r.status_code == 200, r.text
        last.clear()
        last.update(r.json())
        return dict(last) if last["status"] in TERMINAL else None

    return await wait_until(finished, timeout_s=limit_s, interval_s=0.2,
                            what=lambda: f"job {job_id} still {last.get('status')}: {last}")


def thread_job_settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings for upload tests: page work in one thread, polled every 0.2 s, 20 MB uploads."""
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},  # type: ignore[arg-type]
                    jobs={"executor": "thread", "workers": 1, "poll_seconds": 0.2},
                    limits={"max_upload_mb": 20})


def app_of(client: httpx.AsyncClient) -> Any:
    """The app behind a test client (for its session factory)."""
    return client._transport.app  # type: ignore[attr-defined]
