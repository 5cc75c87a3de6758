"""The demo's last act: mastery and error books from the grades, and one book redone.

The teacher downloads the class's mastery matrix and every student's error book (and the
class set in one file, with a teacher's answer key); then the student with the most wrong
answers redoes their book's practice pages on paper, the copier scans just those pages, and
the service grades them through normal ingestion. Mastery and the entries' states before
and after are printed: the closed paper loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from service.demo.scan import Progress, follow_job, ok
from simulation.classroom import keys_for, pdf_pages, scan_class_set
from simulation.pages import FillOptions

__all__ = ["close_the_loop"]


def _key_marks(doc: dict[str, Any]) -> tuple[str, ...]:
    """The bubbles that answer a choice or true/false question rightly (none otherwise)."""
    key = doc["key"]
    if doc["kind"] == "true_false":
        return ("T" if key["answer"] else "F",)
    if doc["kind"] == "multi_choice":
        return tuple(key["answers"])
    if doc["kind"] == "choice":
        return (key["answer"],)
    return ()


def _redo_verdicts(results: dict[str, Any], student_id: int) -> dict[str, int]:
    """How the service graded the student's redone practice page (right, wrong, review)."""
    out = {"right": 0, "wrong": 0, "review": 0}
    for s in results["students"]:
        if s["student"]["id"] != student_id:
            continue
        for cell in s["questions"]:
            if cell["status"] == "not_scanned":
                continue
            if cell["needs_review"] or cell["status"] != "graded":
                out["review"] += 1
            elif cell["verdict"] == "correct":
                out["right"] += 1
            else:
                out["wrong"] += 1
    return out


def _mean_mastery(body: dict[str, Any], codes: set[str]) -> float | None:
    values = [k["p_mastery"] for k in body["knowledge_points"] if k["code"] in codes]
    return sum(values) / len(values) if values else None


async def close_the_loop(api: httpx.AsyncClient, copier: httpx.AsyncClient, class_id: int,
                         out: Path, say: Callable[[str], None],
                         progress: Progress, datasets: Path | None = None) -> dict[str, Any]:
    """Error books for the class, then one redone and scanned back.

    Args:
        api: the teacher's client.
        copier: the copier's client (device key).
        class_id: the demo class.
        out: the demo output folder.
        say: one line of output.
        progress: called with (pages done, pages total) while the redo's job runs.
        datasets: the real-handwriting datasets folder (font glyphs when None or absent).

    Returns:
        Figures for the summary.
    """
    klass = ok(await api.get(f"/api/v1/classes/{class_id}"), "class")
    matrix = ok(await api.get(f"/api/v1/classes/{class_id}/mastery"), "class mastery")
    (out / "mastery-class.json").write_text(json.dumps(matrix, ensure_ascii=False, indent=1),
                                            "utf-8")
    books = out / "errorbooks"
    books.mkdir(exist_ok=True)
    open_by_student: dict[int, int] = {}
    for s in klass["students"]:
        progress_body = ok(await api.get(f"/api/v1/students/{s['id']}/progress"), "progress")
        open_by_student[s["id"]] = progress_body["entries_open"]
        pdf = ok(await api.get(f"/api/v1/students/{s['id']}/errorbook.pdf"), "error book")
        (books / f"{s['student_no']}-{s['name']}.pdf").write_bytes(pdf)
    (out / "errorbooks-class.pdf").write_bytes(
        ok(await api.get(f"/api/v1/classes/{class_id}/errorbooks.pdf"), "class error books"))
    (out / "errorbooks-teacher-key.pdf").write_bytes(
        ok(await api.get(f"/api/v1/classes/{class_id}/errorbooks-key.pdf"), "teacher key"))
    total_open = sum(open_by_student.values())
    say(f"error books: {len(klass['students'])} students, {total_open} wrong answers to "
        "review, with similar and variant questions → errorbooks/, errorbooks-class.pdf, "
        "errorbooks-teacher-key.pdf")

    sid = max(open_by_student, key=lambda k: open_by_student[k])
    student = next(s for s in klass["students"] if s["id"] == sid)
    book = ok(await api.get(f"/api/v1/students/{sid}/errorbook"), "error book data")
    wid = book["worksheet_id"]
    docs = [item["question"] for item in book["practice"]]
    codes = {c for d in docs for c in d["knowledge_points"]}
    before = ok(await api.get(f"/api/v1/students/{sid}/mastery"), "mastery")
    layout = ok(await api.get(f"/api/v1/worksheets/{wid}/layout"), "practice layout")
    keys = keys_for(docs)

    def redo(qid: str, blank: int, rng: np.random.Generator) -> str:
        # The student corrected everything this time: every box holds its key.
        return keys.get(f"{qid}#{blank}") or keys.get(qid, "")

    def marks(qid: str, labels: tuple[str, ...], rng: np.random.Generator
              ) -> tuple[str, ...]:
        return right_marks.get(qid, ())

    right_marks = {str(d["id"]): _key_marks(d) for d in docs}
    pdf = (books / f"{student['student_no']}-{student['name']}.pdf").read_bytes()
    stack = await asyncio.to_thread(lambda: scan_class_set(
        pdf, {wid: layout}, keys, seed=7, datasets=datasets, answer_for=redo,
        mark_for=marks, write_signs=True,
        fill=FillOptions(blank_prob=0.0, unmarked_prob=0.0, multi_mark_prob=0.0)))
    practice = [p.page_index for p in stack.pages if p.worksheet_id == wid]
    scan = pdf_pages(stack.pdf, practice)
    (out / "scans" / "errorbook-redo.pdf").write_bytes(scan)
    accepted = ok(await copier.post("/api/v1/scans", files={
        "file": ("errorbook-redo.pdf", scan, "application/pdf")}), "redo upload")
    job = await follow_job(api, accepted["job_id"], progress)
    graded = _redo_verdicts(ok(await api.get(f"/api/v1/worksheets/{wid}/results"),
                               "practice results"), sid)
    unwritten = {qid for qid in {str(d["id"]) for d in docs}
                 if any(p.student_id == sid and any(q == qid for q, _ in p.not_simulated)
                        for p in stack.pages)}
    after = ok(await api.get(f"/api/v1/students/{sid}/mastery"), "mastery")
    progress_after = ok(await api.get(f"/api/v1/students/{sid}/progress"), "progress")
    m0, m1 = _mean_mastery(before, codes), _mean_mastery(after, codes)
    say(f"{student['name']} redid {len(docs)} practice questions, "
        f"{len(docs) - len(unwritten)} answered as the key"
        + (f" ({len(unwritten)} not simulated: left blank)" if unwritten else "")
        + f"; graded {graded['right']} right, {graded['wrong']} wrong, {graded['review']} "
          "to review")
    say(f"the copier scanned "
        f"{len(practice)} page(s) → job {job['status']}; mastery of the practised points "
        f"{m0:.2f} → {m1:.2f}; entries open {open_by_student[sid]} → "
        f"{progress_after['entries_open']}, practising {progress_after['entries_practising']}"
        " (resolved after right answers on later days: 1, 3, 7, 14)")
    return {"students": len(klass["students"]), "entries_open": total_open,
            "redo_student": student["name"], "redo_items": len(docs),
            "redo_written": len(docs) - len(unwritten), "redo_not_simulated": len(unwritten),
            "redo_right": graded["right"], "redo_wrong": graded["wrong"],
            "redo_review": graded["review"],
            "redo_job": job["status"], "mastery_before": m0, "mastery_after": m1,
            "open_before": open_by_student[sid], "open_after": progress_after["entries_open"],
            "practising_after": progress_after["entries_practising"]}
