"""``markbook demo``: the teacher's first steps on a fresh embedded database.

Imports the sample bank and a class of 30, builds a maths and a Chinese worksheet, and
writes blank and personalised PDFs to the output folder — all through the HTTP API, as
a client would. Later issues extend it into the full scan → grade → error-book loop.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from service.config import Settings
from service.inprocess import inprocess_client

__all__ = ["DemoError", "pick_questions", "run_demo"]

class DemoError(RuntimeError):
    """A demo step failed; the message says which and why."""


def _samples_dir() -> Path:
    """The checkout's sample_scans/ (development), else ./sample_scans (e.g. the image)."""
    for candidate in (Path(__file__).resolve().parent.parent / "sample_scans",
                      Path.cwd() / "sample_scans"):
        if (candidate / "question_bank.json").is_file():
            return candidate
    raise DemoError("sample_scans/question_bank.json not found; run the demo from the "
                    "markbook checkout (or the image's /app)")


def _check(resp: httpx.Response, step: str) -> Any:
    if resp.status_code >= 400:
        raise DemoError(f"{step} failed: HTTP {resp.status_code} {resp.text[:500]}")
    return resp.json() if resp.headers.get("content-type", "").startswith("application/json") \
        else resp.content


def pick_questions(bank: dict[str, Any], subject: str, n: int) -> list[str]:
    """Pick ``n`` questions of a subject, round-robin over kinds so every kind shows."""
    by_kind: dict[str, list[str]] = {}
    for q in bank["questions"]:
        if q["subject"] == subject:
            by_kind.setdefault(q["kind"], []).append(q["id"])
    picked: list[str] = []
    while len(picked) < n and any(by_kind.values()):
        for ids in by_kind.values():
            if ids and len(picked) < n:
                picked.append(ids.pop(0))
    return picked


async def _api_steps(settings: Settings, bank: dict[str, Any], roster: bytes,
                     say: Callable[[str], None]) -> dict[str, bytes]:
    """The teacher's steps over the HTTP API; returns output files by name."""
    files: dict[str, bytes] = {}
    async with inprocess_client(settings) as api:
        imported = _check(await api.post("/api/v1/questions:import", json=bank), "bank import")
        say(f"imported {imported['created']} questions and "
            f"{imported['knowledge_points_created']} knowledge points")
        klass = _check(await api.post("/api/v1/classes", json={"name": "三年级(2)班", "grade": 3}),
                       "create class")
        added = _check(await api.post(f"/api/v1/classes/{klass['id']}/students:import",
                                      content=roster, headers={"content-type": "text/csv"}),
                       "roster import")
        say(f"class {klass['name']} with {added['created']} students")
        sheets = [("三年级数学 · 综合练习", pick_questions(bank, "math", 20)),
                  ("三年级语文 · 基础练习", pick_questions(bank, "chinese", 12))]
        for title, ids in sheets:
            ws = _check(await api.post("/api/v1/worksheets", json={
                "title": title, "class_id": klass["id"], "question_ids": ids}), "create worksheet")
            wid = ws["id"]
            base = f"/api/v1/worksheets/{wid}"
            files[f"worksheet-{wid}-blank.pdf"] = _check(
                await api.get(f"{base}/print.pdf?copies=1"), "print blank copy")
            files[f"worksheet-{wid}-class-set.pdf"] = _check(
                await api.get(f"{base}/print.pdf?per_student=true"), "print class set")
            layout = _check(await api.get(f"{base}/layout"), "layout")
            files[f"worksheet-{wid}-layout.json"] = json.dumps(
                layout, ensure_ascii=False, indent=1).encode("utf-8")
            regions = sum(len(p["regions"]) for p in layout["pages"])
            say(f"worksheet {wid} '{title}': {len(ids)} questions, {ws['page_count']} page(s), "
                f"{regions} answer regions")
    return files


def run_demo(out_dir: Path, data_dir: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Run the demo on a fresh database; returns a summary (also in ``summary.json``)."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data_dir)
    samples = _samples_dir()
    bank = json.loads((samples / "question_bank.json").read_text(encoding="utf-8"))
    roster = (samples / "class_roster.csv").read_bytes()
    started = time.perf_counter()
    files = asyncio.run(_api_steps(settings, bank, roster, say))
    for name, data in files.items():
        (out_dir / name).write_bytes(data)
    summary: dict[str, Any] = {"database": settings.database_url, "files": list(files),
                               "seconds": round(time.perf_counter() - started, 2)}
    (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1),
                                          encoding="utf-8")
    return summary
