"""A template's blank page: read from an uploaded file, brought to the reader's scale, its
answer places proposed (:func:`ocr.foreign.register.propose_layout`; the title block's
姓名 / 学号 / 班级 lines told apart by their printed labels, :mod:`service.templates.headers`).

The blank is what every copy is registered to, so it should be a scan or a flat, cropped
photo (a scanner app's) of the page as handed out, before anyone writes on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from errorbook.printing.geometry import PAGE_SIZES
from ocr.errors import ScanFileError
from ocr.foreign.register import propose_layout
from ocr.identify import ink_ratio
from ocr.ingest import IngestLimits, count_pages, iter_pages

# Blanks are kept at the scale the worksheet reader renders its own blanks at.
from service.jobs.pagework import BLANK_DPI
from service.templates.headers import header_fields, label_lines

__all__ = ["BlankImage", "BlankRefused", "read_blank"]

# A scan's own resolution is trusted when it puts the page between A6 and A3 size; a
# photo's (72 dpi, or none) is not: its width is then taken to be the paper's.
_MIN_SIDE_PT, _MAX_SIDE_PT = 290.0, 1200.0
# Less print than this is no worksheet: a blank sheet of paper or a failed scan.
_MIN_PRINT = 0.004


class BlankRefused(ValueError):
    """The file is readable but is no usable blank; ``error`` is the code."""

    def __init__(self, message: str, error: str) -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class BlankImage:
    """A blank as kept: greyscale PNG at ``px_per_pt``, its size and proposed regions."""

    png: bytes
    px_per_pt: float
    width_pt: float
    height_pt: float
    proposed: list[dict[str, Any]]


def _scale(image: np.ndarray, dpi: float, page_size: str) -> float:
    """Points per pixel of the uploaded image."""
    h, w = image.shape[:2]
    if dpi and dpi > 0:
        pt = 72.0 / dpi
        if _MIN_SIDE_PT <= w * pt <= _MAX_SIDE_PT and _MIN_SIDE_PT <= h * pt <= _MAX_SIDE_PT:
            return pt
    paper_w, paper_h = PAGE_SIZES[page_size]
    return (paper_w if h >= w else paper_h) / w


def read_blank(path: Path, limits: IngestLimits, page_size: str = "A4") -> BlankImage:
    """Read an uploaded blank page.

    Args:
        path: the uploaded file (PDF, TIFF, JPEG, PNG or HEIC with one page).
        limits: the upload limits.
        page_size: the paper the page is on, for a photo whose resolution says nothing.

    Raises:
        ScanFileError: the file cannot be read (the caller answers it like a bad scan).
        BlankRefused: more than one page, or no print on it.
    """
    pages = count_pages(path, limits)
    if pages != 1:
        raise BlankRefused(f"a blank is one page; this file has {pages}: upload each page "
                           "of the worksheet as its own blank", "one_page_only")
    page = next(iter_pages(path, limits))
    image = page.image
    pt_per_px = _scale(image, page.dpi, page_size)
    factor = (BLANK_DPI / 72.0) * pt_per_px
    if abs(factor - 1.0) > 0.01:
        image = cv2.resize(image, None, fx=factor, fy=factor,
                           interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)
    if ink_ratio(image) < _MIN_PRINT:
        raise BlankRefused("the page has almost no print on it: upload the worksheet as "
                           "handed out, before anyone writes on it", "blank_without_print")
    px_per_pt = BLANK_DPI / 72.0
    layout = propose_layout(image, BLANK_DPI)
    proposed = [{"number": r.number, "kind": r.kind, "box": [round(v, 2) for v in r.box],
                 "bubbles": [[round(v, 2) for v in b] for b in r.bubbles]}
                for r in layout.regions]
    # The title block's 姓名 / 学号 lines become identity regions, 班级 / 日期 lines none.
    proposed = header_fields(image, px_per_pt, proposed, label_lines())
    ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise ScanFileError("the page could not be stored")
    h, w = image.shape[:2]
    return BlankImage(data.tobytes(), px_per_pt, w / px_per_pt, h / px_per_pt, proposed)

