"""The CPU work of one page of a template upload, run in a worker process.

A template upload names a template (a worksheet of kind ``template``: a teacher's own
page, its answer regions drawn on an uploaded blank). Its pages carry no markbook code: each
is registered to the template's blank pages by the print they share
(:func:`ocr.foreign.match.register_page`), then read and graded exactly as a markbook page
(:func:`ocr.pipeline.read_aligned`, :func:`service.jobs.pagework.page_result`). A page
that matches none of the blanks is ``not_this_page``: stored unidentified, never graded. A
markbook page among them is read as any upload's page.

The student is the upload's (a per-student upload) or, on a template with a name or
student-number region, read from the handwriting there and placed with the rest of the
stack, as an anonymous markbook copy is.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from errorbook.contract import PageCode, PageLayout
from ocr.identify import Identification, identify_page, ink_ratio
from ocr.ingest import PageImage
from service.jobs.pagework import (
    NeedWorksheet,
    PageResult,
    WorksheetBundle,
    page_result,
    process_page,
    reading_template,
    worker_recognizer,
)
from service.jobs.store import NOT_THIS_PAGE

__all__ = ["TemplateTarget", "process_template_page"]


@dataclass(frozen=True)
class TemplateTarget:
    """The template an upload was made against.

    Attributes:
        worksheet_id: The template (a worksheet of kind ``template``).
        student_id: The student the upload is for (a per-student upload), else None.
    """

    worksheet_id: int
    student_id: int | None = None


# Around each place a child writes or marks: a written answer or a filled bubble spills
# a little past the printed region.
_AVOID_MARGIN_PT = 4.0


def _written_on(page: PageLayout) -> tuple[tuple[float, float, float, float], ...]:
    """The boxes of a template page children write or mark in (answers, bubbles, name and
    number), widened a little: registration takes none of its patches there."""
    m = _AVOID_MARGIN_PT
    boxes = [r.box for r in page.regions] + [page.name_box, *page.student_no_boxes] \
        + [b for _, _, b in page.seat_bubbles]
    return tuple((x0 - m, y0 - m, x1 + m, y1 + m) for x0, y0, x1, y1 in boxes
                 if x1 > x0 and y1 > y0)


def process_template_page(page: PageImage, bundles: Mapping[int, WorksheetBundle],
                          target: TemplateTarget) -> PageResult | NeedWorksheet:
    """Register, read and grade one page of a template upload.

    Args:
        page: The ingested page.
        bundles: The worksheets this upload may touch (the template among them).
        target: The template and the upload's student.

    Returns:
        The page's result: ``read`` (or ``misaligned`` / ``retake``) with its answers and
        grades, ``blank``, or ``not_this_page``.
    """
    from ocr.foreign.match import register_page
    from ocr.pipeline import read_aligned

    t = time.perf_counter()
    ident, _ = identify_page(page.image)
    timings = {"identify": (time.perf_counter() - t) * 1000}
    if ident.status == "identified":
        return process_page(page, bundles)  # a markbook page: read as such
    # A page with almost no ink is still tried: a lightly printed copy nobody wrote on is
    # a copy with every answer empty, not the back of a sheet.
    bundle = bundles[target.worksheet_id]
    t = time.perf_counter()
    best = None
    for layout_page in bundle.layout.pages:
        template = reading_template(bundle, layout_page.number)
        if template is None:
            continue
        reg = register_page(page.image, template.blank, template.blank_px_per_pt,
                            avoid=_written_on(layout_page))
        if reg.status == "registered" and (best is None or reg.inliers > best[1].inliers):
            best = (template, reg)
    timings["align"] = (time.perf_counter() - t) * 1000
    if best is None:
        status = "blank" if ident.status == "blank" else NOT_THIS_PAGE
        return PageResult(page.index, status, None, 0, None, None, timings_ms=timings)
    template, reg = best
    assert reg.upright is not None
    code = PageCode(target.worksheet_id, template.page, target.student_id)
    ident = Identification("identified", code, None, reg.rotation, ink_ratio(reg.upright))
    read = read_aligned(page.index, ident, reg.upright, template, reg.alignment,
                        worker_recognizer(), timings=timings)
    return page_result(page, read, bundles, named_copies=False)
