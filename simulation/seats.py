"""Children filling the seat-number bubbles (座号) of anonymous copies (tests, benchmarks).

A child fills one bubble for the seat number's tens and one for its units, with the pen
strokes the choice-bubble simulation uses (:func:`simulation.pages._mark`): mostly a solid
fill, sometimes pencil, sometimes only part of the disc, sometimes over an erased first
choice. The marks go on the printed page before :func:`simulation.pages.fill_page` writes
the answers and degrades the page like a copier, so they are scanned like everything else.
:func:`mark_seats_in_pdf` does this to a whole printed stack, ready for
:func:`simulation.classroom.scan_class_set`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import pypdfium2 as pdfium
from PIL import Image

from errorbook.contract import WorksheetLayout
from ocr.identify import identify_page

# The choice simulation's own pen strokes and erasures.
from simulation.pages import _mark as mark_bubble_ink
from simulation.pages import _smudge as smudge

__all__ = ["SEAT_STYLES", "SeatStack", "SeatTruth", "mark_seat", "mark_seat_bubble",
           "mark_seats_in_pdf"]

Box = tuple[float, float, float, float]
SeatBubble = tuple[int, int, Box]
# How a child fills one place's bubble; "partial" covers only part of the disc (a hurried
# stroke or two), "refill" fills over an erased first choice in the same place.
SEAT_STYLES = ("fill", "fill", "fill", "fill", "fill", "pencil", "partial", "refill")
DPI = 200


@dataclass(frozen=True)
class SeatTruth:
    """What a child filled: the seat (None when left blank) and each place's style."""

    seat: str | None
    styles: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeatStack:
    """A printed stack with seats filled: the PDF and, per page index, what was filled."""

    pdf: bytes
    seats: dict[int, SeatTruth]


def _partial(page: np.ndarray, box: Box, s: float, rng: np.random.Generator) -> None:
    """Two or three strokes over one side of the disc: about a third to half of it."""
    x0, y0, x1, y1 = (v * s for v in box)
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    pen = max(2, round(0.45 * s * 72 / 25.4))
    ink = np.zeros(page.shape, np.float32)
    side = 1 if rng.random() < 0.5 else -1
    for k in np.linspace(0.15, 0.7, int(rng.integers(2, 4))):
        half = r * np.sqrt(max(0.0, 1 - k * k)) * rng.uniform(0.7, 1.0)
        y = cy + side * k * r + rng.normal(0, r * 0.06)
        cv2.line(ink, (int(cx - half), int(y)), (int(cx + half), int(y)), 1.0, pen + 1)
    page *= 1.0 - rng.uniform(0.8, 1.0) * ink


def mark_seat_bubble(page: np.ndarray, dpi: float, seat_bubbles: Sequence[SeatBubble],
                     place: int, digit: int, rng: np.random.Generator, style: str = "fill"
                     ) -> None:
    """Mark one seat bubble on a float page (0-1, modified in place).

    Args:
        page: the page as float32 in 0-1 at ``dpi``.
        dpi: its resolution.
        seat_bubbles: the layout page's ``(place, digit, box)`` bubbles.
        place: 0 (tens) or 1 (units).
        digit: 0-9.
        rng: the only source of randomness.
        style: one of :data:`SEAT_STYLES`.
    """
    s = dpi / 72.0
    boxes = {(p, d): b for p, d, b in seat_bubbles}
    box = boxes[(place, digit)]
    if style == "refill":
        others = [d for d in range(10) if d != digit]
        smudge(page, boxes[(place, int(rng.choice(others)))], s, rng)
        style = "fill"
    if style == "partial":
        _partial(page, box, s, rng)
    else:
        mark_bubble_ink(page, box, s, style, rng)


def mark_seat(printed: np.ndarray, dpi: float, seat_bubbles: Sequence[SeatBubble],
              seat: str | None, rng: np.random.Generator,
              styles: tuple[str, ...] | None = None) -> tuple[np.ndarray, SeatTruth]:
    """Fill a child's seat number on a printed page (or, on an answer sheet's number grid,
    their student number, from the first column on).

    Args:
        printed: the printed page, greyscale uint8 at ``dpi``.
        dpi: its resolution.
        seat_bubbles: the layout page's bubbles.
        seat: two digits (a grid: up to one digit a column), or None to leave it blank.
        rng: the only source of randomness.
        styles: each place's style (default: drawn from :data:`SEAT_STYLES`).

    Returns:
        The marked page (uint8) and the truth.
    """
    if seat is None:
        return printed.copy(), SeatTruth(None)
    places = len({p for p, _, _ in seat_bubbles})
    if not seat.isdigit() or not (len(seat) == 2 if places <= 2 else len(seat) <= places):
        raise ValueError(f"{seat!r} does not fit {places} places of bubbles")
    chosen = styles or tuple(str(rng.choice(SEAT_STYLES)) for _ in seat)
    page = printed.astype(np.float32) / 255.0
    for place, (digit, style) in enumerate(zip(seat, chosen, strict=True)):
        mark_seat_bubble(page, dpi, seat_bubbles, place, int(digit), rng, style)
    out = np.clip(page * 255.0, 0, 255).astype(np.uint8)
    return out, SeatTruth(seat, tuple(chosen))


def mark_seats_in_pdf(printed_pdf: bytes, layouts: dict[int, dict[str, Any]],
                      seats: Sequence[str | None], *, seed: int = 0, dpi: float = DPI
                      ) -> SeatStack:
    """Fill the seat rows of every anonymous copy in a printed stack.

    Pages are rasterised at ``dpi`` and bound again (JPEG quality 95); pass the result to
    :func:`simulation.classroom.scan_class_set` as the printed stack, which fills the
    answers and degrades each page. Personalised pages and pages without a markbook code
    pass through unmarked.

    Args:
        printed_pdf: the stack as printed (anonymous copies with seat bubbles).
        layouts: worksheet id → stored layout (``WorksheetLayout.to_dict``).
        seats: the seat each copy's child fills, one per copy in print order (a copy
            starts at its page 1); None leaves that copy's row blank.
        seed: the only source of randomness.
        dpi: the rasterisation resolution (the class simulation's).

    Returns:
        The marked stack and, per page index, the truth.
    """
    parsed = {wid: WorksheetLayout.from_dict(data) for wid, data in layouts.items()}
    rng = np.random.default_rng(seed)
    doc = pdfium.PdfDocument(printed_pdf)
    images: list[Image.Image] = []
    truths: dict[int, SeatTruth] = {}
    copy = -1
    try:
        for i in range(len(doc)):
            bmp = doc[i].render(scale=dpi / 72, grayscale=True).to_numpy()
            page = np.ascontiguousarray(bmp[..., 0] if bmp.ndim == 3 else bmp)
            code = identify_page(page)[0].code
            layout = parsed.get(code.worksheet_id) if code else None
            found = [p for p in layout.pages if code and p.number == code.page] if layout else []
            if code is not None and found and code.student_id is None and seats:
                copy += code.page == 1
                page, truth = mark_seat(page, dpi, found[0].seat_bubbles,
                                        seats[copy % len(seats)], rng)
                truths[i] = truth
            images.append(Image.fromarray(page))
    finally:
        doc.close()
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=dpi,
                   quality=95)
    return SeatStack(buf.getvalue(), truths)
