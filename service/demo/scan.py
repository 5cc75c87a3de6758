"""The demo's second half: the class does the worksheet, the copier sends the stack, the
service grades it, and the teacher downloads results and annotated papers.

Everything goes through the HTTP API of a real server, as a copier and a teacher would;
the truth of what each child wrote is kept aside to measure the grading end to end.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import TypeAdapter

from grading.questions import Question
from grading.registry import grader_for
from simulation.classroom import (
    keys_for,
    not_simulated_answers,
    realistic_marks_for,
    scan_class_set,
    truth_responses,
)
from simulation.pages import FillOptions

__all__ = ["CLASS_FILL", "DemoSheet", "Progress", "follow_job", "ok", "scan_and_grade"]

Progress = Callable[[int, int], None]
# A class doing its homework: a few boxes left blank and bubbles left empty, not one in
# seven (the reader tests' rate, which stresses blanks).
CLASS_FILL = FillOptions(blank_prob=0.04)


@dataclass(frozen=True)
class DemoSheet:
    worksheet_id: int
    title: str
    layout: dict[str, Any]
    documents: list[dict[str, Any]]
    class_set_pdf: bytes


def ok(resp: httpx.Response, step: str) -> Any:
    if resp.status_code >= 400:
        raise RuntimeError(f"{step} failed: HTTP {resp.status_code} {resp.text[:300]}")
    if resp.headers.get("content-type", "").startswith("application/json"):
        return resp.json()
    return resp.content


async def follow_job(api: httpx.AsyncClient, job_id: int, progress: Progress) -> dict[str, Any]:
    """Follow the job's server-sent events until it ends (the progress bar)."""
    async with api.stream("GET", f"/api/v1/jobs/{job_id}/events") as resp:
        event = ""
        async for line in resp.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "progress":
                body = json.loads(line[5:])
                progress(body["pages_done"], body["pages_total"])
    job: dict[str, Any] = ok(await api.get(f"/api/v1/jobs/{job_id}"), "job status")
    return job


def _kind_label(doc: dict[str, Any]) -> str:
    """How the answer is given on paper, for the summary's rows."""
    kind = str(doc["kind"])
    if kind in ("choice", "multi_choice", "true_false"):
        return kind
    return "comparison" if kind == "text" else "written number"


def _is_blank(response: Any) -> bool:
    marked = response.marks.marked if response.marks is not None else ()
    return not (response.text or any(response.blanks) or marked)


def _accuracy(results: dict[str, Any], truth: dict[tuple[int, str], Any],
              documents: list[dict[str, Any]]) -> dict[str, Any]:
    """Automatic verdicts against what the children really wrote (graded as typed),
    blanks kept apart from written or marked answers, and per way of answering.

    A blank scores zero automatically when the reader is sure the box or row is empty;
    those verdicts say nothing about reading handwriting, so the accuracy of decided
    answers is reported on written and marked answers only."""
    adapter: TypeAdapter[Any] = TypeAdapter(Question)
    questions = {str(d["id"]): adapter.validate_python(d) for d in documents}
    kinds = {str(d["id"]): _kind_label(d) for d in documents}
    zero = {"answers": 0, "blank": 0, "blank_auto": 0, "blank_agree": 0, "written": 0,
            "auto": 0, "agree": 0, "review": 0}
    by_kind: dict[str, dict[str, int]] = {}
    wrong: list[str] = []
    for student in results["students"]:
        sid = student["student"]["id"]
        for cell in student["questions"]:
            response = truth.get((sid, cell["question_id"]))
            if response is None or cell["status"] == "not_scanned":
                continue
            row = by_kind.setdefault(kinds[cell["question_id"]], dict(zero))
            blank = _is_blank(response)
            row["answers"] += 1
            row["blank" if blank else "written"] += 1
            if cell["needs_review"] or cell["status"] != "graded":
                row["review"] += 1
                continue
            expected = grader_for(questions[cell["question_id"]]).grade(response, key_revision=1)
            same = expected.verdict == cell["verdict"] and expected.score == cell["score"]
            row["blank_auto" if blank else "auto"] += 1
            row["blank_agree" if blank else "agree"] += same
            if not same and len(wrong) < 10:
                wrong.append(f"{student['student']['student_no']} {cell['question_id']}: "
                             f"read {cell['answer']!r} → {cell['verdict']}, "
                             f"truth {expected.verdict.value}")
    total = {k: sum(r[k] for r in by_kind.values()) for k in zero}
    return {"answers": total["answers"], "blank": total["blank"],
            "blank_auto": total["blank_auto"], "blank_agree": total["blank_agree"],
            "written": total["written"], "auto": total["auto"], "auto_agree": total["agree"],
            "needs_review": total["review"],
            "auto_accuracy": round(total["agree"] / total["auto"], 4) if total["auto"] else None,
            "coverage": round(total["auto"] / total["written"], 4) if total["written"] else None,
            "by_kind": by_kind, "disagreements": wrong}


async def scan_and_grade(api: httpx.AsyncClient, copier: httpx.AsyncClient, sheet: DemoSheet,
                         out: Path, say: Callable[[str], None], progress: Progress,
                         seed: int = 2026, datasets: Path | None = None) -> dict[str, Any]:
    """Fill, scan, upload (as the copier), wait, then fetch results and annotated papers.

    Args:
        api: the teacher's client.
        copier: the copier's client (device key).
        sheet: the worksheet and its printed class set.
        out: the demo output folder.
        say: one line of output.
        progress: called with (pages done, pages total) while the job runs.
        seed: the simulation's randomness.
        datasets: the real-handwriting datasets folder (font glyphs when None or absent).
    """
    t = time.perf_counter()
    stack = await asyncio.to_thread(lambda: scan_class_set(
        sheet.class_set_pdf, {sheet.worksheet_id: sheet.layout}, keys_for(sheet.documents),
        seed=seed, datasets=datasets, mark_for=realistic_marks_for(sheet.documents),
        write_signs=True, fill=CLASS_FILL))
    (out / "scans").mkdir(exist_ok=True)
    (out / "scans" / "class-stack.pdf").write_bytes(stack.pdf)
    say(f"the class did worksheet {sheet.worksheet_id} ({stack.handwriting}); the copier "
        f"scanned {len(stack.pages)} pages in {time.perf_counter() - t:.0f} s → "
        "scans/class-stack.pdf")
    started = time.perf_counter()
    accepted = ok(await copier.post("/api/v1/scans", files={
        "file": ("class-stack.pdf", stack.pdf, "application/pdf")}), "copier upload")
    ack_ms = (time.perf_counter() - started) * 1000
    say(f"copier upload accepted in {ack_ms:.0f} ms: job {accepted['job_id']}")
    job = await follow_job(api, accepted["job_id"], progress)
    seconds = time.perf_counter() - started
    base = f"/api/v1/worksheets/{sheet.worksheet_id}"
    results = ok(await api.get(f"{base}/results"), "results")
    (out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), "utf-8")
    (out / "results.csv").write_bytes(ok(await api.get(f"{base}/results.csv"), "results csv"))
    (out / "results-by-question.csv").write_bytes(
        ok(await api.get(f"{base}/results.csv?by=question"), "question csv"))
    (out / "annotated-class.pdf").write_bytes(
        ok(await api.get(f"{base}/annotated.pdf"), "annotated class batch"))
    papers = out / "annotated"
    papers.mkdir(exist_ok=True)
    for student in results["students"]:
        if student["submitted"]:
            ref = student["student"]
            pdf = ok(await api.get(f"{base}/students/{ref['id']}/annotated.pdf"), "annotated")
            (papers / f"{ref['student_no']}-{ref['name']}.pdf").write_bytes(pdf)
    review = ok(await api.get(f"/api/v1/review?worksheet_id={sheet.worksheet_id}"), "review")
    accuracy = _accuracy(results, truth_responses(stack, sheet.documents), sheet.documents)
    return {
        "worksheet_id": sheet.worksheet_id, "pages": job["pages_total"],
        "job_status": job["status"], "page_problems": len(job["problems"]),
        "seconds": round(seconds, 1),
        "pages_per_min": round(job["pages_total"] / seconds * 60, 1),
        "upload_ack_ms": round(ack_ms, 1), "handwriting": stack.handwriting,
        "review_queue": review["total"], "review_by_kind": review["counts"],
        "class_mean": None if results["summary"]["mean"] is None
        else round(results["summary"]["mean"], 1),
        "not_simulated": len(not_simulated_answers(stack)), **accuracy,
    }
