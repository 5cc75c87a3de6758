"""Benchmark: drill pages (口算) through the service, upload to every grade stored.

A class's stack of drill sheets with no markbook code (``simulation.drill_pages``: printed
in the CJK font, answers handwritten from the handwriting ``test`` split (``--split calib``
while choosing settings), ~20% wrong, ~10% blank, scanned at 200/250/300 dpi with skew, blur, noise and JPEG; one page in four of
column arithmetic, 竖式) is posted as one upload against a drill assignment to the real
app (its lifespan, SQLite, file storage, the job runner with ``--workers`` spawned page
processes); the drill reader reads every page in the workers and the job stores every
item as a question, response and grade. The figures are read back from what was stored:

* pages/min from the upload's first byte to the job's end, after a warm-up upload (models
  load once per worker);
* items found (of those printed), written results read exactly, automatic coverage;
* wrong verdicts graded without review per 1,000 items decided (target ≤ 2);
* pages with no items found (each a page problem, never a silent zero), and items not
  found on their page per 1,000 (the silent misses: absent from the page's results);
* with ``--long-division``, a quarter as many pages again of long division (除法竖式, the
  ``long_division`` layout: quotient above the bracket, working and remainder below), made
  from a stream of their own after the others, so the other pages stay the same; their
  items have their own line (``long division``) in the breakdown by type;
* whose page: a class of 30 (numbers 3101-3130, names with shared surnames and pinyin
  homophones), each page's writer wrote their name at the top (``simulation.names``, a
  synthetic hand far tidier than a child's) and, on two pages in three, their number:
  pages given a student, and how many of them wrongly (target 0).

Run (from the repository root)::

    .venv/bin/python -m bench.bench_drill_service [--pages 24] [--workers 2] [--split test] \
        [--long-division]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
from PIL import Image
from sqlalchemy import select

from service.config import Settings
from service.db import GradeRow, PageRow, QuestionRow, ResponseRow
from service.inprocess import inprocess_client
from simulation.drill_pages import DrillPage, DrillPageOptions, make_drill_page
from simulation.handwriting import GlyphBank, Split
from simulation.names import class_names

ROOT = Path(__file__).resolve().parent.parent
DATASETS_DIR = ROOT.parent / "shared" / "datasets"


STUDENTS = 30


def student_no(i: int) -> str:
    """The class's student numbers: 3101, 3102, … (neighbours one digit apart, as real
    class numbers are)."""
    return f"31{i + 1:02d}"


def class_of(seed: int) -> list[str]:
    """The class's names (shared surnames, pinyin homophones: ``simulation.names``)."""
    return class_names(STUDENTS, np.random.default_rng(seed + 1))


def layout_of(i: int) -> Literal["horizontal", "vertical"]:
    """The layout of the *i*-th page made: one in four of column arithmetic (竖式)."""
    return "vertical" if i % 4 == 3 else "horizontal"


def item_kind(t: Any, column: bool, long_division: bool = False) -> str:
    """A printed item's type for the breakdown: long division, column arithmetic, a
    remainder division, fractions, decimals, or whole numbers."""
    if long_division:
        return "long division"
    if column:
        return "column (竖式)"
    if "……" in t.key:
        return "remainder"
    return "fraction" if "/" in t.expression else "decimal" if "." in t.expression \
        else "whole"


def make_pages(n: int, seed: int, split: Split = "test",
               long_divisions: int = 0) -> list[DrillPage]:
    """``n`` drill pages, one in four of column arithmetic, then ``long_divisions`` pages
    of long division; page *i* is written by student *i* (of ``STUDENTS``), who wrote
    their name after the printed 姓名 and, on two pages in three, their number after the
    printed 学号; answers in the hands of the handwriting ``split``. The long divisions
    come from a random stream of their own: the first ``n`` pages are the same with or
    without them."""
    bank = GlyphBank.load(split, DATASETS_DIR)
    rng = np.random.default_rng(seed)
    names = class_of(seed)

    def options(i: int, layout: Any) -> DrillPageOptions:
        return DrillPageOptions(layout=layout,
                                student_no=student_no(i % STUDENTS) if i % 3 else "",
                                name=names[i % STUDENTS], name_distort=0.05)

    pages = [make_drill_page(bank, rng, options(i, layout_of(i))) for i in range(n)]
    rng = np.random.default_rng([seed, 17])
    return pages + [make_drill_page(bank, rng, options(i, "long_division"))
                    for i in range(n, n + long_divisions)]


def zipped(pages: list[DrillPage], tag: str) -> bytes:
    """The pages as JPEG photos in one ZIP (a phone's or copier's batch), in page order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for i, p in enumerate(pages):
            buf = io.BytesIO()
            Image.fromarray(p.image).save(buf, format="JPEG", quality=90, dpi=(p.dpi, p.dpi))
            z.writestr(f"{tag}-p{i + 1:03d}.jpg", buf.getvalue())
    return out.getvalue()


async def _wait(api: Any, job_id: int) -> dict[str, Any]:
    while True:
        job: dict[str, Any] = (await api.get(f"/api/v1/jobs/{job_id}")).json()
        if job["status"] in ("done", "failed", "partially_done"):
            return job
        await asyncio.sleep(0.2)


async def run(pages: list[DrillPage], warm: list[DrillPage], workers: int,
              names: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="markbook-bench-drill-") as tmp:
        settings = Settings(data_dir=Path(tmp), jobs={"workers": workers},
                            limits={"max_upload_mb": 400, "uploads_per_minute": 1000})
        async with inprocess_client(settings) as api:
            cid = (await api.post("/api/v1/classes", json={"name": "三年级(4)班",
                                                           "grade": 3})).json()["id"]
            await api.post(f"/api/v1/classes/{cid}/students", json=[
                {"student_no": student_no(i), "name": name}
                for i, name in enumerate(names)])
            roster = (await api.get(f"/api/v1/classes/{cid}")).json()["students"]
            ids = {s["student_no"]: s["id"] for s in roster}
            r = await api.post("/api/v1/worksheets", json={"title": "口算", "class_id": cid,
                                                           "kind": "drill"})
            wid = r.json()["id"]
            r = await api.post("/api/v1/scans", params={"worksheet_id": wid},
                               files={"scan": ("warm.zip", zipped(warm, "warm"),
                                               "application/zip")})
            await _wait(api, r.json()["job_id"])
            body = zipped(pages, "class")
            started = time.perf_counter()
            r = await api.post("/api/v1/scans", params={"worksheet_id": wid},
                               files={"scan": ("class.zip", body, "application/zip")})
            assert r.status_code == 202, r.text
            upload_id = r.json()["upload_id"]
            job = await _wait(api, r.json()["job_id"])
            wall = time.perf_counter() - started
            stored = await _stored(api, upload_id)
            owners = await _owners(api, upload_id)
    # The warm-up took the first pages made: page i of the timed upload is page
    # len(warm) + i, written by that student.
    expected = {i: ids[student_no((len(warm) + i) % STUDENTS)] for i in range(len(pages))}
    return {"job": job, "wall_s": wall, "stored": stored, "owners": owners,
            "expected": expected}


async def _owners(api: Any, upload_id: int) -> dict[int, int | None]:
    """Page index → the student the service gave the page (None: waits in review)."""
    app = api._transport.app
    async with app.state.session_factory() as s:
        rows = await s.execute(select(PageRow.page_index, PageRow.student_id)
                               .where(PageRow.upload_id == upload_id))
        return dict(rows.all())


Stored = tuple[str, list[int], str, str, bool]


async def _stored(api: Any, upload_id: int) -> dict[int, list[Stored]]:
    """Page index → (stem, where the answer was found, reading, verdict, needs review) of
    every stored item."""
    app = api._transport.app  # the app behind the in-process client
    out: dict[int, list[Stored]] = {}
    async with app.state.session_factory() as s:
        rows = await s.execute(
            select(PageRow.page_index, QuestionRow.stem, ResponseRow.region, ResponseRow.text,
                   ResponseRow.status, GradeRow.verdict, GradeRow.needs_review)
            .join(ResponseRow, ResponseRow.page_id == PageRow.id)
            .join(QuestionRow, QuestionRow.id == ResponseRow.question_id)
            .join(GradeRow, GradeRow.response_id == ResponseRow.id)
            .where(PageRow.upload_id == upload_id, GradeRow.is_current.is_(True)))
        for index, stem, region, text, status, verdict, review in rows.all():
            reading = "" if status == "blank" else (text or "?")
            out.setdefault(index, []).append((stem, list(region or (0, 0, 0, 0)), reading,
                                              verdict, bool(review)))
    return out


def _at(truths: tuple[Any, ...], region: list[int], taken: set[int]) -> int | None:
    """The printed item whose answer area holds the centre of where an answer was found."""
    cx, cy = (region[0] + region[2]) / 2, (region[1] + region[3]) / 2
    for i, t in enumerate(truths):
        x0, y0, x1, y1 = t.answer_box
        pad = (y1 - y0) * 0.6
        if i not in taken and x0 - pad <= cx <= x1 + pad and y0 - pad <= cy <= y1 + pad:
            return i
    return None


def score(pages: list[DrillPage], result: dict[str, Any],
          columns: set[int] | None = None,
          long_divisions: set[int] | None = None) -> tuple[Counter[str], list[str]]:
    """Compare what was stored with each page's truth, item by item where it was found;
    returns the counts (``kind:<type>:<count>`` per :func:`item_kind` for the pages
    indexed in ``columns``, in ``long_divisions`` and the others) and the wrong automatic
    verdicts, described."""
    c: Counter[str] = Counter()
    columns = columns or set()
    long_divisions = long_divisions or set()
    wrong: list[str] = []
    for index, page in enumerate(pages):
        c["printed"] += len(page.items)
        items = result["stored"].get(index, [])
        c["found"] += len(items)
        long_division = index in long_divisions
        for t in page.items:
            c[f"kind:{item_kind(t, index in columns, long_division)}:printed"] += 1
        taken: set[int] = set()
        for stem, region, reading, verdict, review in items:
            at = _at(page.items, region, taken)
            if at is None:
                c["unmatched"] += 1
                continue
            taken.add(at)
            t = page.items[at]
            c["matched"] += 1
            expression = stem.removesuffix("……").removesuffix("=").strip().rstrip("= ")
            c["expression_exact"] += expression == t.expression
            kind = f"kind:{item_kind(t, index in columns, long_division)}:"
            c[kind + "matched"] += 1
            if t.written:
                c["written"] += 1
                c["read_exact"] += reading == t.written
                c[kind + "written"] += 1
                c[kind + "read_exact"] += reading == t.written
                c[kind + "misread, expression misread"] += reading != t.written \
                    and expression != t.expression
            if not review:
                c["auto"] += 1
                c[kind + "auto"] += 1
                if (verdict == "correct") != t.correct:
                    c["auto_wrong"] += 1
                    wrong.append(f"page {index}: {t.stem} (read {expression!r}) written "
                                 f"{t.written!r} read {reading!r}: {verdict}")
        c["missed"] += len(page.items) - len(taken)
        c["no_items_pages"] += index not in result["stored"]
        owner = result["owners"].get(index)
        c["identified"] += owner is not None
        c["identified_wrong"] += owner is not None and owner != result["expected"][index]
    return c, wrong


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--split", choices=("calib", "test"), default="test",
                        help="handwriting split (choose settings on calib; report test)")
    parser.add_argument("--long-division", action="store_true",
                        help="add a quarter as many pages of long division (除法竖式)")
    args = parser.parse_args(argv)
    if not (DATASETS_DIR / "mnist-dev.npz").is_file():
        print(f"skipped: the handwriting datasets are not at {DATASETS_DIR}")
        return {"status": "skipped: no handwriting datasets"}
    t = time.perf_counter()
    extra = args.pages // 4 if args.long_division else 0
    pages = make_pages(args.pages + 2, args.seed, cast(Split, args.split), extra)
    warm, pages = pages[:2], pages[2:]
    made_s = time.perf_counter() - t
    result = asyncio.run(run(pages, warm, args.workers, class_of(args.seed)))
    columns = {i for i in range(len(pages)) if layout_of(i + len(warm)) == "vertical"}
    long_divisions = set(range(args.pages, args.pages + extra))
    c, wrong = score(pages, result, columns, long_divisions)
    job = result["job"]
    problems = Counter(p["status"] for p in job["problems"])
    per_min = len(pages) / result["wall_s"] * 60
    print(f"drill pages through the service: {len(pages)} pages ({args.pages // 4} of column "
          f"arithmetic, {extra} of long division), {args.workers} workers, seed {args.seed}, {args.split} split "
          f"(pages made in {made_s:.0f} s)")
    print(f"  job: {job['status']}, {job['pages_done']}/{job['pages_total']} pages stored, "
          f"problems {dict(problems)}")
    print(f"  pages/min (upload to every grade stored): {per_min:.1f}")
    print(f"  whose page (name written at the top, and 学号 on 2 pages in 3; class of {STUDENTS}"
          f" numbered 3101-31{STUDENTS}):"
          f" {c['identified']}/{len(pages)} given a student, {c['identified_wrong']} wrong; "
          "the rest wait in review")
    print(f"  items found: {c['found']} of {c['printed']} printed "
          f"({c['found'] / max(1, c['printed']):.1%}); matched to the truth: {c['matched']}")
    print(f"  expressions read exactly: {c.get('expression_exact', 0)}/{c.get('matched', 0)}")
    print(f"  written results read exactly: {c['read_exact']}/{c['written']} "
          f"({c['read_exact'] / max(1, c['written']):.1%})")
    print(f"  graded without review (coverage): {c['auto']}/{c['matched']} "
          f"({c['auto'] / max(1, c['matched']):.1%})")
    print(f"  wrong verdicts graded without review: {c['auto_wrong']} "
          f"({1000 * c['auto_wrong'] / max(1, c['auto']):.1f} per 1,000; target ≤ 2)")
    print(f"  pages with no items found: {c['no_items_pages']} (each a page problem: "
          f"{problems.get('no_items', 0)}); items not found on their page: {c['missed']} "
          f"({1000 * c['missed'] / max(1, c['printed']):.1f} per 1,000)")
    print("  by item type: written read exactly (misread with the expression misread), "
          "coverage")
    for kind in sorted({k.split(":")[1] for k in c if k.startswith("kind:")}):
        k = f"kind:{kind}:"
        print(f"    {kind:14s} found {c[k + 'matched']}/{c[k + 'printed']}, "
              f"read {c[k + 'read_exact']}/{c[k + 'written']} "
              f"({c[k + 'read_exact'] / max(1, c[k + 'written']):.1%}; "
              f"{c[k + 'misread, expression misread']} of the misread had the expression "
              f"misread), coverage {c[k + 'auto']}/{c[k + 'matched']} "
              f"({c[k + 'auto'] / max(1, c[k + 'matched']):.1%})")
    for line in wrong:
        print("    wrong without review:", line)
    per_1000 = 1000 * c["auto_wrong"] / max(1, c["auto"])
    misses = [f"wrong without review {per_1000:.1f}/1000"] if per_1000 > 2 else []
    misses += [f"{c['identified_wrong']} pages given the wrong student"] \
        if c["identified_wrong"] else []
    return {"pages per min (2 workers)": f"{per_min:.1f}",
            "items found": f"{c['found']}/{c['printed']}",
            "written results read exactly": f"{c['read_exact'] / max(1, c['written']):.1%}",
            "graded without review": f"{c['auto'] / max(1, c['matched']):.1%}",
            "wrong verdicts without review per 1,000": f"{per_1000:.1f}",
            "pages given a student": f"{c['identified']}/{len(pages)}, "
                                     f"{c['identified_wrong']} wrong",
            "status": "target not met: " + "; ".join(misses) if misses else "ok"}


if __name__ == "__main__":
    main()
