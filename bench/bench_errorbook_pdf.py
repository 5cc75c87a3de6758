"""Error books: rendering a class set (50 students × 10 cards with crops + 20 practice items).

Data (:mod:`simulation.books`, deterministic): each student's ten review cards are drawn
from ``sample_scans/question_bank.json`` (every kind; arithmetic and numeric ones carry a
400×120 px greyscale answer crop of handwriting-like digits, unique per card); the practice
sheet is 20 arithmetic items laid out by ``layout_worksheet`` with a QR code per page.
Building the data (PNG encoding of the crops, the layouts) is not timed.

Measured in the same run:
* ``class set``: :func:`errorbook.printing.book.pdf.render_class_books`, one PDF for the class
  (cover, then every book, duplex-padded);
* ``one book each``: :func:`errorbook.printing.book.pdf.render_student_book` per student;
* ``baseline``: :func:`errorbook.printing.worksheet.render_worksheet_pdf` printing the same
  number of plain worksheet pages (a 20-item arithmetic sheet) in one PDF, with no
  duplex padding: what a page costs with no cards, crops or summaries. The ratio
  compares ms per page.

Run alone (from the repository root, the package installed with ``pip install -e .``)::

    .venv/bin/python -m bench.bench_errorbook_pdf [--students 50] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from pydantic import TypeAdapter

from errorbook.printing.book.model import StudentBook
from errorbook.printing.book.pdf import render_class_books, render_student_book
from errorbook.printing.layout import layout_worksheet
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from grading.questions import ArithmeticQuestion, Question
from simulation.books import demo_book

ROOT = Path(__file__).resolve().parent.parent


def _bank() -> tuple[list[Any], dict[str, str]]:
    data = json.loads((ROOT / "sample_scans" / "question_bank.json").read_text("utf-8"))
    ta = TypeAdapter(Question)
    kps = {k["code"]: k["name_zh"] for k in data["knowledge_points"]}
    return [ta.validate_python(q) for q in data["questions"]], kps


def build_books(students: int, entries: int = 10, practice: int = 20) -> list[StudentBook]:
    """The class's books (deterministic)."""
    bank, kps = _bank()
    return [demo_book(bank, student_index=i, seed=11, entries=entries, practice=practice,
                      kp_names=kps) for i in range(students)]


def _timed(fn: Callable[[], bytes], repeats: int) -> tuple[float, bytes]:
    runs = []
    out = b""
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), out


def main() -> dict[str, str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=50,
                    help="students in the class (one error book each)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="timed runs of each measurement; the fastest counts")
    args = ap.parse_args()
    t = time.perf_counter()
    books = build_books(args.students)
    print(f"data: {args.students} students × 10 cards (crops 400×120 px) + 20 practice items;"
          f" built in {time.perf_counter() - t:.1f} s")
    render_student_book(books[0])  # font registration and imports out of the timing

    class_s, class_pdf = _timed(
        lambda: render_class_books(books, class_name="三年级(2)班"), args.repeats)
    pages = len(pdfium.PdfDocument(class_pdf))

    def each() -> bytes:
        return b"".join(render_student_book(b) for b in books)

    each_s, _ = _timed(each, args.repeats)
    each_pages = sum(len(pdfium.PdfDocument(render_student_book(b))) for b in books)
    blank = sum("本页空白" in doc[i].get_textpage().get_text_range()
                for doc in [pdfium.PdfDocument(class_pdf)] for i in range(len(doc)))

    bank, _ = _bank()
    arith = [q for q in bank if isinstance(q, ArithmeticQuestion)][:20]
    layout = layout_worksheet("巩固练习", arith)
    copies = [PrintedCopy(tuple(f"MB1;W9;P{p.number};S{i}" for p in layout.pages),
                          student_name=f"学生{i}", student_no=f"{i:08d}")
              for i in range(-(-pages // len(layout.pages)))]
    base_s, base_pdf = _timed(lambda: render_worksheet_pdf(layout, copies, duplex=False),
                              args.repeats)
    base_pages = len(pdfium.PdfDocument(base_pdf))

    class_ms = class_s * 1000 / pages
    base_ms = base_s * 1000 / base_pages
    print("\n| renderer | seconds (median) | pages | pages/s | ms/page | MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(f"| class set (one PDF) | {class_s:.2f} | {pages} | {pages / class_s:.0f} | "
          f"{class_ms:.1f} | {len(class_pdf) / 1e6:.2f} |")
    print(f"| one book per student | {each_s:.2f} | {each_pages} | "
          f"{each_pages / each_s:.0f} | {each_s * 1000 / each_pages:.1f} | — |")
    print(f"| baseline: plain worksheet pages | {base_s:.2f} | {base_pages} | "
          f"{base_pages / base_s:.0f} | {base_ms:.1f} | {len(base_pdf) / 1e6:.2f} |")
    print(f"\nclass set: {class_s:.2f} s for {args.students} students ({pages} pages, of "
          f"which {blank} duplex padding; {class_ms / base_ms:.2f}× the baseline's ms/page)")
    return {"class set s": f"{class_s:.2f}", "pages": str(pages),
            "pages/s": f"{pages / class_s:.0f}", "ratio to baseline": f"{class_ms / base_ms:.2f}"}


if __name__ == "__main__":
    main()
