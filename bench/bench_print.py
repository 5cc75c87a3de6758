"""Printing speed: layout and PDF rendering of a class set, against a plain-text baseline.

Baseline (same run, same machine): reportlab drawing the same stems as plain text lines,
one page per copy page, with no markers, QR codes or answer regions. The ratio says what the
print/read contract (markers, QR, boxes, font fallback) costs on top of bare text output.

Run alone (from the repository root, the package installed with ``pip install -e .``)::

    .venv/bin/python -m bench.bench_print
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

from pydantic import TypeAdapter
from reportlab.pdfgen.canvas import Canvas

from errorbook.contract import PageCode, format_page_code, page_layout_hash
from errorbook.printing.fonts import register_cjk_font
from errorbook.printing.layout import layout_worksheet
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from grading.questions import Question

SAMPLES = Path(__file__).resolve().parent.parent / "sample_scans"
STUDENTS = 30
REPEATS = 3
BENCH_INSTALL = "BENCH2"


def _questions() -> list:
    bank = json.loads((SAMPLES / "question_bank.json").read_text(encoding="utf-8"))
    ta = TypeAdapter(Question)
    return [ta.validate_python(q) for q in bank["questions"] if q["subject"] == "math"][:20]


def _baseline(stem_pages: list[list[str]], copies: int) -> bytes:
    font = register_cjk_font()
    buf = io.BytesIO()
    c = Canvas(buf, initialFontName=font)
    for _ in range(copies):
        for lines in stem_pages:
            c.setFont(font, 11)
            y = 780.0
            for line in lines:
                c.drawString(60, y, line)
                y -= 20
            c.showPage()
    c.save()
    return buf.getvalue()


def _best(fn, repeats: int = REPEATS) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> dict[str, str]:
    questions = _questions()
    register_cjk_font()
    layout_s = _best(lambda: layout_worksheet("三年级数学 综合练习", questions))
    layout = layout_worksheet("三年级数学 综合练习", questions)
    # The service's page codes: MB2, with an install id and each page's layout hash.
    hashes = {p.number: page_layout_hash(p) for p in layout.pages}
    copies = [PrintedCopy(tuple(format_page_code(PageCode(1, p.number, 1000 + i,
                                                          install=BENCH_INSTALL,
                                                          layout=hashes[p.number]))
                                for p in layout.pages), f"学生{i:02d}", f"202503{i:02d}", "三年级(2)班")
              for i in range(STUDENTS)]
    render_s = _best(lambda: render_worksheet_pdf(layout, copies))
    pdf = render_worksheet_pdf(layout, copies)
    pages = STUDENTS * (len(layout.pages) + len(layout.pages) % 2)
    stem_pages = [[line for b in p.blocks for line in b.stem_lines] for p in layout.pages]
    base_s = _best(lambda: _baseline(stem_pages, STUDENTS))
    per_page_ms = render_s / pages * 1000
    print(f"worksheet: {len(questions)} questions, {len(layout.pages)} pages; class of {STUDENTS}")
    print(f"layout (once per worksheet):      {layout_s * 1000:8.1f} ms")
    print(f"class set render ({pages} pages):  {render_s * 1000:8.1f} ms  "
          f"({per_page_ms:.1f} ms/page, {len(pdf) / 1024:.0f} KiB)")
    print(f"baseline plain-text render:       {base_s * 1000:8.1f} ms")
    print(f"ratio markbook / baseline:        {render_s / base_s:8.2f}x")
    return {"class set pages/s": f"{pages / render_s:.0f}",
            "ms per printed page": f"{per_page_ms:.1f}",
            "ratio vs plain-text baseline": f"{render_s / base_s:.2f}x",
            "layout ms": f"{layout_s * 1000:.1f}"}


if __name__ == "__main__":
    main()
