"""Foreign worksheet registration: regions proposed from a blank scan match the drawn ones."""

from __future__ import annotations

import cv2
import numpy as np
import pypdfium2 as pdfium

from errorbook.printing.layout import layout_worksheet
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from ocr.foreign.register import propose_layout
from tests.support.samples import sample_questions

DPI = 200
TOL_PT = 1.5 * 72 / 25.4  # 1.5 mm


def _close(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) <= TOL_PT


def test_proposes_boxes_bubbles_and_underlines() -> None:
    want = {"arithmetic": 3, "choice": 2, "true_false": 1, "text": 2, "short_answer": 1}
    qs = []
    for q in sample_questions():
        if want.get(q.kind, 0) > 0:
            want[q.kind] -= 1
            qs.append(q)
    layout = layout_worksheet("外来练习", qs)
    page = layout.pages[0]
    pdf = render_worksheet_pdf(layout, [PrintedCopy(tuple("x" for _ in layout.pages))])
    bmp = pdfium.PdfDocument(pdf)[0].render(scale=DPI / 72, grayscale=True).to_numpy()
    img = np.ascontiguousarray(bmp[..., 0] if bmp.ndim == 3 else bmp)
    # A worksheet of another publisher: no markers, no QR, and some "____" answer lines.
    for m in page.markers:
        x0, y0, x1, y1 = (int(v * DPI / 72) for v in m.box)
        img[y0 - 5:y1 + 5, x0 - 5:x1 + 5] = 255
    qx0, qy0, qx1, qy1 = (int(v * DPI / 72) for v in page.qr_box)
    img[qy0:qy1, qx0:qx1] = 255
    lines = [(300, 2050, 800), (900, 2050, 1400)]
    for x0, y, x1 in lines:
        cv2.line(img, (x0, y), (x1, y), 0, 3)
    proposed = propose_layout(img, DPI)
    boxes = [r.box for r in proposed.regions if r.kind == "box"]
    rows = [r for r in proposed.regions if r.kind == "bubbles"]
    unders = [r for r in proposed.regions if r.kind == "underline"]
    for region in page.regions:
        if region.bubbles:
            assert any(len(r.bubbles) == len(region.bubbles) and
                       all(_close(a, b.box) for a, b in zip(r.bubbles, region.bubbles, strict=True))
                       for r in rows), f"bubbles of q{region.number} not proposed"
        else:
            assert any(_close(b, region.box) for b in boxes), f"box of q{region.number} missing"
    assert len(unders) == 2
    for (x0, _, x1), u in zip(lines, sorted(unders, key=lambda r: r.box[0]), strict=True):
        assert abs(u.box[0] - x0 * 72 / DPI) < TOL_PT
        assert abs(u.box[2] - x1 * 72 / DPI) < TOL_PT
    # Nothing invented: every proposal is a drawn region, the name/number boxes or a line.
    drawn = len(page.regions) + len(page.student_no_boxes) + 1 + len(lines)
    assert len(proposed.regions) <= drawn
    assert [r.number for r in proposed.regions] == list(range(1, len(proposed.regions) + 1))
    tops = [r.box[1] for r in proposed.regions]
    assert tops[-1] > tops[0]
