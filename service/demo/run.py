"""``markbook demo``: the whole paper loop on a fresh embedded database.

Starts the service on a free loopback port, imports the sample bank and a class of 30,
builds a maths and a Chinese worksheet and prints them; the class fills the maths sheet
with real handwriting (the ``MARKBOOK_DATASETS_DIR`` setting; font glyphs when it is unset
or absent), a copier
scans the stack and posts it with its device key, and the teacher downloads results, CSVs
and annotated papers, mastery and every student's error book — all through the HTTP API.
One student redoes their error book's practice pages and the copier scans them back. A
summary compares the automatic verdicts with what the children really wrote.
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
from service.demo.loop import close_the_loop
from service.demo.scan import DemoSheet, Progress, ok, scan_and_grade
from service.inprocess import local_token
from service.localserver import serve_locally
from simulation.classroom import simulated

__all__ = ["DemoError", "pick_questions", "run_demo"]

class DemoError(RuntimeError):
    """A demo step failed; the message says which and why."""


def _samples_dir() -> Path:
    """The checkout's sample_scans/ (development), else ./sample_scans (e.g. the image)."""
    for candidate in (Path(__file__).resolve().parents[2] / "sample_scans",
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


def pick_questions(bank: dict[str, Any], subject: str, n: int,
                   keep: Callable[[dict[str, Any]], bool] | None = None) -> list[str]:
    """Pick ``n`` questions of a subject, round-robin over kinds so every kind shows
    (only those ``keep`` accepts, when given)."""
    by_kind: dict[str, list[str]] = {}
    for q in bank["questions"]:
        if q["subject"] == subject and (keep is None or keep(q)):
            by_kind.setdefault(q["kind"], []).append(q["id"])
    picked: list[str] = []
    while len(picked) < n and any(by_kind.values()):
        for ids in by_kind.values():
            if ids and len(picked) < n:
                picked.append(ids.pop(0))
    return picked


async def _api_steps(api: httpx.AsyncClient, bank: dict[str, Any], roster: bytes,
                     say: Callable[[str], None]) -> tuple[dict[str, bytes], list[DemoSheet]]:
    """The teacher's steps over the HTTP API; returns output files by name and the
    worksheets printed."""
    files: dict[str, bytes] = {}
    sheets: list[DemoSheet] = []
    imported = _check(await api.post("/api/v1/questions:import", json=bank), "bank import")
    say(f"imported {imported['created']} questions and "
        f"{imported['knowledge_points_created']} knowledge points")
    klass = _check(await api.post("/api/v1/classes", json={"name": "三年级(2)班", "grade": 3}),
                   "create class")
    added = _check(await api.post(f"/api/v1/classes/{klass['id']}/students:import",
                                  content=roster, headers={"content-type": "text/csv"}),
                   "roster import")
    say(f"class {klass['name']} with {added['created']} students")
    docs = {q["id"]: q for q in bank["questions"]}
    # The class fills the maths sheet: it holds every kind the simulated children can
    # answer on paper (numbers, comparison signs, bubbles); the Chinese sheet is printed
    # only (its answers are Chinese handwriting, which the simulation cannot write).
    for title, ids in (("三年级数学 · 综合练习", pick_questions(bank, "math", 20, simulated)),
                       ("三年级语文 · 基础练习", pick_questions(bank, "chinese", 12))):
        ws = _check(await api.post("/api/v1/worksheets", json={
            "title": title, "class_id": klass["id"], "question_ids": ids}), "create worksheet")
        wid = ws["id"]
        base = f"/api/v1/worksheets/{wid}"
        files[f"worksheet-{wid}-blank.pdf"] = _check(
            await api.get(f"{base}/print.pdf?copies=1"), "print blank copy")
        class_set = _check(await api.get(f"{base}/print.pdf?per_student=true"),
                           "print class set")
        files[f"worksheet-{wid}-class-set.pdf"] = class_set
        layout = _check(await api.get(f"{base}/layout"), "layout")
        files[f"worksheet-{wid}-layout.json"] = json.dumps(
            layout, ensure_ascii=False, indent=1).encode("utf-8")
        regions = sum(len(p["regions"]) for p in layout["pages"])
        say(f"worksheet {wid} '{title}': {len(ids)} questions, {ws['page_count']} page(s), "
            f"{regions} answer regions")
        sheets.append(DemoSheet(wid, title, layout, [docs[i] for i in ids], class_set))
    return files, sheets


async def _demo(settings: Settings, bank: dict[str, Any], roster: bytes, out: Path,
                say: Callable[[str], None], progress: Progress) -> tuple[list[str], Any]:
    """Run the service on a free loopback port and drive it as a teacher and a copier."""
    async with serve_locally(settings) as (base, app):
        say(f"markbook is serving on {base}")
        auth = {"Authorization": f"Bearer {await local_token(app)}"}
        async with httpx.AsyncClient(base_url=base, headers=auth, timeout=600) as api:
            files, sheets = await _api_steps(api, bank, roster, say)
            for name, data in files.items():
                (out / name).write_bytes(data)
            device = _check(await api.post("/api/v1/devices", json={"name": "教学楼复印机"}),
                            "register the copier")
            say(f"registered the copier '{device['name']}' (device key shown once; it uses "
                "Basic auth, as copiers do)")
            async with httpx.AsyncClient(base_url=base, auth=("copier", device["key"]),
                                         timeout=600) as copier:
                graded = await scan_and_grade(api, copier, sheets[0], out, say, progress,
                                              datasets=settings.datasets_dir)
                class_id = ok(await api.get(f"/api/v1/worksheets/{sheets[0].worksheet_id}"),
                              "worksheet")["class_id"]
                loop = await close_the_loop(api, copier, class_id, out, say, progress,
                                            settings.datasets_dir)
    return list(files), {**graded, "loop": loop}


def summary_table(g: dict[str, Any]) -> str:
    """The demo's figures as Markdown: the run, the answers by how they were given
    (blanks apart from written and marked answers), and the error-book loop."""
    rows = [
        ("pages scanned and read", g["pages"]),
        ("job status", f"{g['job_status']} ({g['page_problems']} page problems)"),
        ("upload acknowledged in", f"{g['upload_ack_ms']:.0f} ms"),
        ("upload → all grades stored", f"{g['seconds']:.1f} s ({g['pages_per_min']:.1f} "
                                        "pages/min)"),
        ("handwriting", g["handwriting"]),
        ("answers (scanned students × questions)", g["answers"]),
        ("left blank by the children", f"{g['blank']} ({g['blank_auto']} decided as blank, "
                                       f"{g['blank_agree']} of them rightly)"),
        ("written or marked", g["written"]),
        ("written or marked, decided automatically", f"{g['auto']} ({_pct(g['coverage'])} "
                                                     "coverage)"),
        ("automatic verdicts on written or marked answers that match what was written",
         f"{g['auto_agree']} ({_pct(g['auto_accuracy'])})"),
        ("left for the teacher (review queue items)", f"{g['needs_review']} answers; "
         f"{g['review_queue']} queue items"),
        ("class mean (complete papers)", "n/a" if g["class_mean"] is None
         else f"{g['class_mean']:.1f}"),
        ("not simulated", g.get("not_simulated_note", "")),
    ]
    lines = ["| figure | value |", "| --- | --- |"] + [f"| {k} | {v} |" for k, v in rows]
    kinds = g.get("by_kind") or {}
    if kinds:
        lines += ["", "| answered by | answers | blank | written or marked | decided "
                      "automatically | matching what was written | to review |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for kind, r in sorted(kinds.items()):
            lines.append(f"| {kind} | {r['answers']} | {r['blank']} | {r['written']} | "
                         f"{r['auto']} | {r['agree']} | {r['review']} |")
    loop = g.get("loop")
    if loop:
        redo = (f"{loop['redo_student']}: {loop['redo_items']} practice questions, "
                f"{loop['redo_written']} answered as the key"
                + (f", {loop['redo_not_simulated']} not simulated (left blank)"
                   if loop["redo_not_simulated"] else "")
                + f"; graded {loop['redo_right']} right, {loop['redo_wrong']} wrong, "
                  f"{loop['redo_review']} to review (job {loop['redo_job']})")
        lines += ["", "| error-book loop | value |", "| --- | --- |"] + [f"| {k} | {v} |" for k, v in (
            ("error books printed", f"{loop['students']} students, {loop['entries_open']} "
             "wrong answers with similar and variant questions"),
            ("error book redone and scanned back", redo),
            ("mastery of the practised points", f"{loop['mastery_before']:.2f} → "
             f"{loop['mastery_after']:.2f}"),
            ("that student's entries open → practising", f"{loop['open_before']} → "
             f"{loop['open_after']} open, {loop['practising_after']} practising"),
        )]
    return "\n".join(lines) + "\n"


def _not_simulated_note(bank: dict[str, Any], boxes: int) -> str:
    """What the simulated class could not answer, said plainly."""
    left: dict[str, int] = {}
    for q in bank["questions"]:
        if q["subject"] == "math" and not simulated(q):
            left[q["kind"]] = left.get(q["kind"], 0) + 1
    kinds = ", ".join(f"{k} ({n} in the bank)" for k, n in sorted(left.items()))
    note = (f"maths questions left off the scanned sheet: {kinds}: the simulated children "
            "write digits, signs and bubble marks, not letters or Chinese; the Chinese sheet "
            "is printed, not filled") if kinds else "the Chinese sheet is printed, not filled"
    return note + (f"; {boxes} boxes on the scanned pages left empty for that reason"
                   if boxes else "")


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def run_demo(out_dir: Path, data_dir: Path, say: Callable[[str], None],
             progress: Progress | None = None) -> dict[str, Any]:
    """Run the demo on a fresh database; returns a summary (also in ``summary.json`` and,
    as a table, ``summary.md``)."""
    progress = progress or (lambda done, total: None)
    if data_dir.exists():
        shutil.rmtree(data_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # The service's own log lines would break up the demo's narration: warnings only.
    settings = Settings(data_dir=data_dir, log={"level": "WARNING"})
    samples = _samples_dir()
    bank = json.loads((samples / "question_bank.json").read_text(encoding="utf-8"))
    roster = (samples / "class_roster.csv").read_bytes()
    started = time.perf_counter()
    files, graded = asyncio.run(_demo(settings, bank, roster, out_dir, say, progress))
    graded["not_simulated_note"] = _not_simulated_note(bank, graded["not_simulated"])
    summary: dict[str, Any] = {"database": settings.database_url, "files": list(files),
                               "grading": graded,
                               "seconds": round(time.perf_counter() - started, 2)}
    (out_dir / "summary.md").write_text(summary_table(graded), encoding="utf-8")
    (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1),
                                          encoding="utf-8")
    return summary
