"""Annotated papers: rendering speed and size for a class (30 students × 2 pages).

Data: a two-page markbook worksheet (every question kind) printed, filled with handwriting
and marks by ``simulation.pages.fill_page`` at 200 dpi (degraded like a copier), aligned
by its markers; every answer region gets a verdict (cycling through all five) and a score.
Four filled pages are made and shifted a few pixels per student so all 60 images differ
(reportlab stores identical images once, which would flatter every figure).

Measured in the same run, on the same images:
* ``annotated``: :func:`errorbook.printing.annotated.paper.render_annotated_pdf`, one PDF per student.
* ``baseline (same background)``: the same downscale + whitening + JPEG, drawn full-page
  with reportlab, no marks or text: what the marks, header and total cost on top.
* ``baseline (raw embed)``: the scans embedded as they are (reportlab, Flate), the naive
  way: what the background preparation saves in bytes (timed on three students only).

Run alone (from the repository root, the package installed with ``pip install -e .``)::

    .venv/bin/python -m bench.bench_annotate [--students 30] [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2 as pdfium
from PIL import Image
from pydantic import TypeAdapter
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from errorbook.printing.annotated.paper import (
    AnnotateOptions,
    RegionMark,
    ScanPage,
    StudentPaper,
    layout_keep_clear,
    render_annotated_class_pdf,
    render_annotated_pdf,
)
from errorbook.printing.layout import layout_worksheet
from errorbook.printing.scan_image import background_jpeg, binary_streams, draw_jpeg
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from grading.questions import Question
from ocr.align import align_with_markers
from simulation.classroom import load_glyphs
from simulation.pages import fill_page

ROOT = Path(__file__).resolve().parent.parent
# The checkout's shared handwriting datasets (the simulation library takes the folder).
DATASETS_DIR = ROOT.parent / "shared" / "datasets"

DPI = 200
VERDICTS = ("correct", "incorrect", "partially_correct", "blank", "needs_review", "correct")
SCORE = {"correct": 2.0, "incorrect": 0.0, "partially_correct": 1.0, "blank": 0.0}


def _questions() -> list[Any]:
    data = json.loads((ROOT / "sample_scans" / "question_bank.json").read_text("utf-8"))
    ta = TypeAdapter(Question)
    by_kind: dict[str, list[Any]] = {}
    for q in data["questions"]:
        by_kind.setdefault(q["kind"], []).append(ta.validate_python(q))
    out = []
    for i in range(3):
        out.extend(qs[i] for qs in by_kind.values() if len(qs) > i)
    return out


def build_papers(students: int, seed: int = 5) -> tuple[list[StudentPaper], str]:
    """The class: ``students`` papers of two scanned, aligned and graded pages each."""
    layout = layout_worksheet("三年级 综合练习", _questions())
    pages = layout.pages[:2]
    copy = PrintedCopy(tuple(f"MB1;W1;P{p.number}" for p in layout.pages), "王小明", "20250301")
    doc = pdfium.PdfDocument(render_worksheet_pdf(layout, [copy], duplex=False))
    bank, handwriting = load_glyphs(DATASETS_DIR)
    rng = np.random.default_rng(seed)
    filled: list[list[tuple[np.ndarray, tuple[float, ...]]]] = [[], []]
    for k, lp in enumerate(pages):
        printed = np.asarray(doc[k].render(scale=DPI / 72, grayscale=True).to_pil())
        while len(filled[k]) < 2:
            img = fill_page(printed, DPI, lp.regions, bank, rng).image
            al = align_with_markers(img, [(m.marker_id, m.box) for m in lp.markers])
            if al is not None and al.ok:
                filled[k].append((img, al.homography))
    papers = []
    for s in range(students):
        scan_pages = []
        for k, lp in enumerate(pages):
            img, h = filled[k][s % 2]
            marks = tuple(RegionMark(r.box, str(r.number), v, SCORE.get(v), 2.0)
                          for i, r in enumerate(lp.regions)
                          for v in [VERDICTS[(i + s) % len(VERDICTS)]])
            # A few pixels' shift per student: distinct images, same complexity.
            scan_pages.append(ScanPage(np.roll(img, 3 * (s // 2), axis=1), h, marks,
                                       layout_keep_clear(lp)))
        papers.append(StudentPaper(f"学生{s + 1}", tuple(scan_pages), f"{s + 1:08d}",
                                   layout.title, float(60 + s % 40), 100.0))
    return papers, handwriting


def baseline_same_background(paper: StudentPaper, o: AnnotateOptions) -> bytes:
    """Just the prepared backgrounds, no marks or text."""
    buf = io.BytesIO()
    with binary_streams():
        c = Canvas(buf, pageCompression=1)
        for page in paper.pages:
            img = Image.fromarray(np.asarray(page.image))
            w, h = o.page_width_pt, o.page_width_pt * img.height / img.width
            c.setPageSize((w, h))
            jpeg = background_jpeg(img, w, o.image_dpi, o.jpeg_quality, o.clean_background)
            draw_jpeg(c, jpeg, 0, 0, w, h)
            c.showPage()
        c.save()
    return buf.getvalue()


def baseline_raw(paper: StudentPaper, o: AnnotateOptions) -> bytes:
    """The scans embedded as they are (lossless), the naive way."""
    buf = io.BytesIO()
    c = Canvas(buf, pageCompression=1)
    for page in paper.pages:
        img = Image.fromarray(np.asarray(page.image))
        w, h = o.page_width_pt, o.page_width_pt * img.height / img.width
        c.setPageSize((w, h))
        c.drawImage(ImageReader(img), 0, 0, w, h)
        c.showPage()
    c.save()
    return buf.getvalue()


def _time(fns: dict[str, Callable[[StudentPaper], bytes]], papers: list[StudentPaper],
          repeats: int) -> dict[str, tuple[float, int]]:
    """Median ms per page and mean bytes per student for each renderer.

    The renderers take turns within every repeat, so a busy machine slows them alike.
    """
    runs: dict[str, list[float]] = {name: [] for name in fns}
    sizes: dict[str, list[int]] = {name: [] for name in fns}
    pages = sum(len(p.pages) for p in papers)
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            sizes[name] = [len(fn(p)) for p in papers]
            runs[name].append((time.perf_counter() - t) * 1000 / pages)
    return {name: (statistics.median(runs[name]), int(statistics.mean(sizes[name])))
            for name in fns}


def main() -> dict[str, str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=30,
                    help="students in the class (two pages each)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="timed runs of each measurement; the fastest counts")
    args = ap.parse_args()
    t = time.perf_counter()
    papers, handwriting = build_papers(args.students)
    print(f"data: {args.students} students × 2 pages at {DPI} dpi, {handwriting}; "
          f"built in {time.perf_counter() - t:.1f} s")
    o = AnnotateOptions()
    render_annotated_pdf(papers[0])  # font registration and imports out of the timing
    timed = _time({"annotated": render_annotated_pdf,
                   "baseline (same background)": lambda p: baseline_same_background(p, o)},
                  papers, args.repeats)
    # Seconds a page: three students, once, say enough.
    timed.update(_time({"baseline (raw embed, 3 students)": lambda p: baseline_raw(p, o)},
                       papers[:3], 1))
    rows = list(timed.items())
    t = time.perf_counter()
    class_pdf = render_annotated_class_pdf(papers)
    class_ms = (time.perf_counter() - t) * 1000 / (2 * len(papers))
    print("\n| renderer | ms/page (median of runs) | bytes/student (2 pages) |")
    print("| --- | ---: | ---: |")
    for name, (ms, size) in rows:
        print(f"| {name} | {ms:.1f} | {size:,} |")
    print(f"| class batch (one PDF, bookmarks) | {class_ms:.1f} | "
          f"{len(class_pdf) // len(papers):,} |")
    ann, base = rows[0][1][0], rows[1][1][0]
    print(f"\nmarks, header and total add {ann - base:.1f} ms/page "
          f"({ann / base:.2f}× the same-background baseline); class PDF "
          f"{len(class_pdf) / 1e6:.2f} MB for {2 * len(papers)} pages")
    return {"annotated ms/page": f"{ann:.1f}", "baseline ms/page": f"{base:.1f}",
            "bytes/page": f"{rows[0][1][1] // 2:,}"}


if __name__ == "__main__":
    main()
