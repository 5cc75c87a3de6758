"""Benchmark: a teacher's own worksheet (a template) through the service, upload to every
grade stored.

A teacher-made worksheet (``simulation.teacher_sheets``: no markers, no QR; answers on
underlines, in brackets and in boxes) is uploaded blank to the real app (its lifespan,
SQLite, file storage, the job runner with ``--workers`` spawned page processes) and made a
template with a numeric key per answer place (its 竖式 work areas left out). A class of 30
fills it in handwriting from the handwriting sets' ``test`` split (each answer the key 75%
of the time, a wrong number 20%, left blank 5%); the stack is captured twice, through the
copier model (``simulation.pages.degrade_page``) and as phone photos (``simulation.camera``,
tilt up to 20°, curl and a hand's shadow as in its HARD preset, every photo at a random
quarter turn), each capture posted as one upload in roster order (``in_roster_order``) with
a page of another teacher-made worksheet slipped in, which must come back
``not_this_page``. Figures, read back through the results API:

* pages registered (of the class's), the stranger page refused, copies given the right child;
* written answers read exactly, blanks read blank, automatic coverage;
* wrong verdicts graded without review and wrong readings graded without review, per
  1,000 answers;
* pages/min from the upload's first byte to the job's end (after a warm-up upload: models
  load once per worker).

Issue 24's registration target is >= 99% of foreign pages on copier scans and phone photos
at <= 20° tilt (``bench_registration`` measures the registration itself on more pages).

Run (from the repository root)::

    .venv/bin/python -m bench.bench_templates_service [--students 30] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
import time
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from service.config import Settings
from service.inprocess import inprocess_client
from simulation.camera import HARD, photo_jpeg
from simulation.handwriting import GlyphBank
from simulation.pages import FilledPage, fill_page
from simulation.teacher_sheets import AnswerPlace, TeacherSheet, teacher_sheet
from tests.support.scans import bank

ROOT = Path(__file__).resolve().parent.parent
DATASETS_DIR = ROOT.parent / "shared" / "datasets"
SHEET_SEED, STRANGER_SEED = 11, 12
KP = "math.add.carry"
PHOTO = replace(HARD, tilt_deg=(0.0, 20.0))
STRANGER_AT = 3  # the other worksheet's page, slipped in after the third copy


def _places(sheet: TeacherSheet) -> list[AnswerPlace]:
    return [p for p in sheet.places if p.kind != "work"]


def _png(image: np.ndarray, dpi: float) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()


def _jpeg(image: np.ndarray, dpi: float) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=90, dpi=(dpi, dpi))
    return out.getvalue()


def make_class(students: int, seed: int
               ) -> tuple[TeacherSheet, dict[str, str], dict[str, list[FilledPage]],
                          dict[str, list[bytes]], bytes, bytes]:
    """The sheet, its keys, each capture's filled pages (what each child wrote) and files,
    and the stranger page's two captures. Each capture is its own filling of the class's
    answers (the simulation leaves its own blanks), so each is scored by its own truth."""
    glyphs = GlyphBank.load("test", DATASETS_DIR)
    sheet, stranger = teacher_sheet(SHEET_SEED), teacher_sheet(STRANGER_SEED)
    rng = np.random.default_rng(seed)
    keys = {p.question_id: str(int(rng.integers(10, 200))) for p in _places(sheet)}

    def answer(qid: str, _blank: int, r: np.random.Generator) -> str:
        u = r.random()
        if u < 0.05:
            return ""
        if u < 0.25:
            return str(int(keys[qid]) + int(r.choice([-10, -2, -1, 1, 2, 10])))
        return keys[qid]

    filled: dict[str, list[FilledPage]] = {"copier": [], "photo": []}
    files: dict[str, list[bytes]] = {"copier": [], "photo": []}
    for _ in range(students):
        scanned = fill_page(sheet.image, sheet.dpi, _places(sheet), glyphs, rng,
                            answer_for=answer)
        filled["copier"].append(scanned)
        files["copier"].append(_jpeg(np.rot90(scanned.image, int(rng.integers(4))).copy(),
                                     sheet.dpi))
        flat = fill_page(sheet.image, sheet.dpi, _places(sheet), glyphs, rng,
                         answer_for=answer, degrade=False)
        filled["photo"].append(flat)
        files["photo"].append(photo_jpeg(np.rot90(flat.image, int(rng.integers(4))).copy(),
                                         sheet.dpi, rng, PHOTO))
    other = fill_page(stranger.image, stranger.dpi, _places(stranger), glyphs, rng)
    other_photo = photo_jpeg(fill_page(stranger.image, stranger.dpi, _places(stranger),
                                       glyphs, rng, degrade=False).image,
                             stranger.dpi, rng, PHOTO)
    return sheet, keys, filled, files, _jpeg(other.image, stranger.dpi), other_photo


def _zip(files: list[bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for i, data in enumerate(files):
            z.writestr(f"p{i + 1:03d}.jpg", data)
    return out.getvalue()


async def _wait(api: Any, job_id: int) -> dict[str, Any]:
    while True:
        job: dict[str, Any] = (await api.get(f"/api/v1/jobs/{job_id}")).json()
        if job["status"] in ("done", "failed", "partially_done"):
            return job
        await asyncio.sleep(0.2)


async def run(sheet: TeacherSheet, keys: dict[str, str], stacks: dict[str, list[bytes]],
              workers: int, students: int) -> dict[str, Any]:
    """Make the template and post each stack (the stranger page after its third copy)."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="markbook-bench-templates-") as tmp:
        settings = Settings(data_dir=Path(tmp), jobs={"workers": workers},
                            limits={"max_upload_mb": 400, "uploads_per_minute": 1000,
                                    "max_pages": 500})
        async with inprocess_client(settings) as api:
            await api.post("/api/v1/questions:import", json=bank())
            for capture in stacks:
                cid = (await api.post("/api/v1/classes", json={
                    "name": f"三年级({capture})班", "grade": 3})).json()["id"]
                numbers = [f"41{i + 1:02d}" for i in range(students)]
                await api.post(f"/api/v1/classes/{cid}/students", json=[
                    {"student_no": n, "name": f"学生{n}"} for n in numbers])
                roster = (await api.get(f"/api/v1/classes/{cid}")).json()["students"]
                ids = {s["student_no"]: s["id"] for s in roster}
                r = await api.post("/api/v1/templates/blanks", files={
                    "file": ("blank.png", _png(sheet.image, sheet.dpi), "image/png")})
                blank = r.json()
                regions = [{"kind": "written", "box": list(p.box), "number": int(p.question_id),
                            "key": {"kind": "numeric", "answer": keys[p.question_id],
                                    "knowledge_points": [KP]}} for p in _places(sheet)]
                r = await api.post("/api/v1/worksheets", json={
                    "title": "第3周课堂练习", "class_id": cid, "kind": "template",
                    "template": {"pages": [{"blank_id": blank["id"], "regions": regions}]}})
                assert r.status_code == 201, r.text
                wid = r.json()["id"]
                files = stacks[capture]
                if not out:  # warm-up: the workers load their models once
                    r = await api.post("/api/v1/scans", params={"worksheet_id": wid},
                                       files={"scan": ("warm.zip", _zip(files[-2:-1]),
                                                       "application/zip")})
                    await _wait(api, r.json()["job_id"])
                started = time.perf_counter()
                r = await api.post("/api/v1/scans",
                                   params={"worksheet_id": wid, "in_roster_order": "true"},
                                   files={"scan": (f"{capture}.zip", _zip(files),
                                                   "application/zip")})
                assert r.status_code == 202, r.text
                job = await _wait(api, r.json()["job_id"])
                wall = time.perf_counter() - started
                results = (await api.get(f"/api/v1/worksheets/{wid}/results")).json()
                out[capture] = {"job": job, "wall_s": wall, "results": results,
                                "ids": [ids[n] for n in numbers], "pages": len(files)}
    return out


def score(sheet: TeacherSheet, keys: dict[str, str], filled: list[FilledPage],
          run: dict[str, Any]) -> dict[str, Any]:
    places = _places(sheet)
    rows = {s["student"]["id"]: s for s in run["results"]["students"]}
    c: dict[str, Any] = {"submitted": 0, "answers": 0, "written": 0, "read_exact": 0, "blank": 0,
         "blank_exact": 0, "auto": 0, "auto_wrong_verdict": 0, "auto_wrong_reading": 0,
         "wrong": []}
    for student, page in zip(run["ids"], filled, strict=True):
        row = rows.get(student)
        if row is None or not row["submitted"]:
            continue
        c["submitted"] += 1
        for cell in row["questions"]:
            qid = places[cell["position"] - 1].question_id
            written = page.written[(qid, 0)]
            read = (cell.get("answer") or "").strip()
            c["answers"] += 1
            if written:
                c["written"] += 1
                c["read_exact"] += read == written
            else:
                c["blank"] += 1
                c["blank_exact"] += read == ""
            if cell["status"] == "graded":
                c["auto"] += 1
                c["auto_wrong_verdict"] += (cell["verdict"] == "correct") != (written == keys[qid])
                c["auto_wrong_reading"] += read != written
                if read != written:
                    c["wrong"].append(f"{written or '(blank)'!r} read {read or '(blank)'!r}, "
                                      f"graded {cell['verdict']}")
    return c


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    if not (DATASETS_DIR / "mnist-dev.npz").is_file():
        print(f"skipped: the handwriting datasets are not at {DATASETS_DIR}")
        return {"status": "skipped: no handwriting datasets"}
    t = time.perf_counter()
    sheet, keys, filled, files, stranger, stranger_photo = make_class(args.students, args.seed)
    at = STRANGER_AT
    stacks = {"copier": [*files["copier"][:at], stranger, *files["copier"][at:]],
              "photo": [*files["photo"][:at], stranger_photo, *files["photo"][at:]]}
    print(f"template through the service: {args.students} students x {len(_places(sheet))} "
          f"answers, {args.workers} workers, seed {args.seed} "
          f"(pages made in {time.perf_counter() - t:.0f} s)")
    runs = asyncio.run(run(sheet, keys, stacks, args.workers, args.students))
    summary: dict[str, Any] = {}
    misses: list[str] = []
    for capture, r in runs.items():
        job = r["job"]
        problems = [p["status"] for p in job["problems"]]
        lost = [p["page_index"] for p in job["problems"] if p["status"] == "not_this_page"]
        refused = int(STRANGER_AT in lost)
        registered = args.students - (len(lost) - refused)
        c = score(sheet, keys, filled[capture], r)
        per_min = r["pages"] / r["wall_s"] * 60
        per_1000 = 1000 * c["auto_wrong_verdict"] / max(1, c["answers"])
        misread = 1000 * c["auto_wrong_reading"] / max(1, c["answers"])
        print(f"  {capture}: job {job['status']}, problems {problems or 'none'}")
        print(f"    copies registered: {registered}/{args.students}; given their child by "
              f"roster order: {c['submitted']}/{args.students}; the other worksheet's page "
              f"refused: {refused}/1")
        print(f"    written answers read exactly: {c['read_exact']}/{c['written']} "
              f"({c['read_exact'] / max(1, c['written']):.1%}); blanks read blank: "
              f"{c['blank_exact']}/{c['blank']}")
        print(f"    graded without review: {c['auto']}/{c['answers']} "
              f"({c['auto'] / max(1, c['answers']):.1%}); wrong verdicts without review: "
              f"{c['auto_wrong_verdict']} ({per_1000:.1f} per 1,000); wrong readings without "
              f"review: {c['auto_wrong_reading']} ({misread:.1f} per 1,000)")
        print(f"    pages/min (upload to every grade stored): {per_min:.1f}")
        for line in c["wrong"]:
            print(f"      read wrong without review: {line}")
        summary[f"{capture}: registered"] = f"{registered}/{args.students}"
        summary[f"{capture}: other worksheet refused"] = f"{refused}/1"
        summary[f"{capture}: read exactly"] = f"{c['read_exact'] / max(1, c['written']):.1%}"
        summary[f"{capture}: graded without review"] = f"{c['auto'] / max(1, c['answers']):.1%}"
        summary[f"{capture}: wrong verdicts without review per 1,000"] = f"{per_1000:.1f}"
        summary[f"{capture}: pages/min"] = f"{per_min:.1f}"
        summary[f"{capture}: given their child"] = f"{c['submitted']}/{args.students}"
        if registered < 0.99 * args.students:
            misses.append(f"{capture}: registered {registered}/{args.students}")
        if refused != 1:
            misses.append(f"{capture}: the other worksheet's page was not refused")
    summary["status"] = "target not met: " + "; ".join(misses) if misses else "ok"
    return summary


if __name__ == "__main__":
    main()
