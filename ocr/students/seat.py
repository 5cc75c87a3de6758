"""Whose anonymous copy is it: the seat-number bubbles (座号) in the page's footer.

An anonymous copy printed with ``seat_bubbles`` carries one row of bubbles in its footer
strip: ten for the seat number's tens, ten for its units (the seat number is the last two
digits of the student number). A child fills one bubble in each group, which a bubble
reader decides far more surely than a handwritten comb.

The reader cuts the row out of the aligned page and removes what is printed there. The
service's blank page is rendered from the layout without the bubbles (the same blank
serves copies printed with and without them), so the bubbles' print is drawn onto the
blank crop here from the layout's geometry: each ring, and the rectangle its small digit
fills. The crop is registered on that print (:func:`ocr.regions.register_blank`), every
printed pixel is masked, the digits included even under a pen (a binarising copier turns
a grey digit black, and a 3.2 mm disc leaves no room to tell it from a mark), and each
bubble is scored on the rest of its disc (:func:`ocr.marks.score_bubbles`).

An answer sheet carries a student-number grid in the same field (a column of ten
bubbles per digit of the number, ``errorbook.contract.number_grid_boxes``): each column
is a place, read exactly as a place of the row is, and the places read in order give the
number. A child whose number is shorter than the grid fills the first columns and leaves
the rest blank; blank columns are allowed only after the last filled one.

Whether the row was printed at all is read from the page, not assumed: the copy may have
been printed without it. Each bubble's drawn ring, once registered, lies on the printed
ring where the row is printed and on paper where it is not (bar the page number, which
then sits over a few bubbles' places). The measure is the median over the 20 bubbles of
the share of ring pixels with ink (pixels a pen mark's strength darker than paper, widened
by one pixel since the printed ring is thinner than the drawn one), less the same share
on the windows' bare paper: measured on 150 simulated copier pages each way, 0.92-1.0
where the row is printed and 0.0 where it is not, so :data:`PRINTED_RING_INK` is 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from ocr.align import Alignment
from ocr.marks import BubbleScore, decide_marks, page_fill_threshold, score_bubbles
from ocr.regions import (
    CROP_PX_PER_PT,
    blank_box,
    masked_print,
    normalise_paper,
    register_blank,
)
from ocr.relocate import BoxFit, locate_box
from ocr.students.capture import COPIER, Capture, cut, homography_of

__all__ = ["PRINTED_RING_INK", "SeatRead", "SeatStatus", "read_seat", "seat_of"]

Box = tuple[float, float, float, float]
SeatBubble = tuple[int, int, Box]
SeatStatus = Literal["absent", "blank", "read", "unclear"]

MARGIN_PT = 8.0
# How far a group of ten may sit from where the alignment puts it (crop pixels, 3 per pt):
# a curled page's footer can be 1-2 mm off in a phone photo. Under half the bubble pitch
# (about 36 px), so a group never locks onto its neighbour's rings.
_GROUP_SHIFT_PX = 16
# Ink strength that counts as a mark (the choice reader's, ``score_bubbles``' default).
MARK_STRENGTH = 60
# The row counts as printed when the median bubble's ring holds this much more ink than
# bare paper (see the module docstring: printed 0.92-1.0, not printed 0.0).
PRINTED_RING_INK = 0.5
# Drawn print: the ring's tone (dark: it steers the registration) and the digit's
# rectangle (light: it is masked, but should not pull the registration off the rings).
_RING_TONE = 40
_DIGIT_TONE = 190
# The printed digit (6 pt) spans about 3.3 x 4.3 pt around the bubble's centre.
_DIGIT_HALF_W_PT = 1.9
_DIGIT_HALF_H_PT = 2.5
_RING_PT = 0.7
# Masking widens print by one pixel each way (a 3 px kernel), like the choice reader.
_MASK_PX = 3
# What each bubble's own registration may still move its print (pixels at 3 px/pt).
_REFINE_PX = 3
# How far (points) a place's row is sought on a photo: under half the rings' pitch
# (11.9 pt), so a row never locks onto itself shifted by one bubble.
_PLACE_SEARCH_PT = 5.0


@dataclass(frozen=True)
class SeatRead:
    """The seat-number bubbles as read.

    Attributes:
        status: ``absent`` (the row is not printed on this page, or the layout has none),
            ``blank`` (printed, nothing filled), ``read`` (exactly one bubble filled in
            each place; on a number grid, in each place up to the last filled one) or
            ``unclear`` (a place with two marks, a place left out between filled ones or,
            on the row, with none while the other has one, or a fill too near the
            threshold: a teacher decides).
        seat: the digits when ``read`` (two on the seat row, the number on a grid), else
            None.
        fills: per place (tens, units; a grid's columns), the ten digits' fill shares
            (review evidence); empty when ``absent``.
        ring_ink: the printed-row evidence (median ring ink minus paper ink).
        confidence: the least sure place's distance from its threshold, 0.5-1
            (``ocr.marks.decide_marks``); 0 unless ``read`` or ``blank``.
    """

    status: SeatStatus
    seat: str | None = None
    fills: tuple[tuple[float, ...], ...] = ()
    ring_ink: float = 0.0
    confidence: float = 0.0


def seat_of(student_no: str) -> str | None:
    """A student's seat number: the last two digits of their student number.

    Returns:
        Two digits, or None for a number with fewer than two digits.
    """
    digits = "".join(ch for ch in student_no if ch.isdigit())
    return digits[-2:] if len(digits) >= 2 else None


def _strip(bubbles: Sequence[SeatBubble]) -> Box:
    return (min(b[0] for _, _, b in bubbles), min(b[1] for _, _, b in bubbles),
            max(b[2] for _, _, b in bubbles), max(b[3] for _, _, b in bubbles))


def _px(x: float, y: float, origin: tuple[float, float], k: float = CROP_PX_PER_PT
        ) -> tuple[float, float]:
    return (x - origin[0]) * k, (y - origin[1]) * k


def _draw_print(blank: np.ndarray, bubbles: Sequence[SeatBubble], origin: tuple[float, float],
                k: float = CROP_PX_PER_PT, *, normalise: bool = True) -> np.ndarray:
    """The blank crop (``k`` pixels per point, its top-left at ``origin``) with the
    bubbles' rings and digits drawn where the layout puts them (onto a copy; its paper made
    white first unless ``normalise`` is False)."""
    out = normalise_paper(blank).copy() if normalise else blank.copy()
    shift = 4  # sub-pixel circle centres
    for _, _, (x0, y0, x1, y1) in bubbles:
        cx, cy = _px((x0 + x1) / 2, (y0 + y1) / 2, origin, k)
        w, h = _DIGIT_HALF_W_PT * k, _DIGIT_HALF_H_PT * k
        cv2.rectangle(out, (round(cx - w), round(cy - h)), (round(cx + w), round(cy + h)),
                      _DIGIT_TONE, -1)
        cv2.circle(out, (round(cx * 2 ** shift), round(cy * 2 ** shift)),
                   round((x1 - x0) / 2 * k * 2 ** shift), _RING_TONE,
                   # A binarising copier thickens the 0.6 pt ring to about 1 pt.
                   max(3, round(_RING_PT * k)), cv2.LINE_AA, shift)
    return out


def _locate_places(upright: np.ndarray, alignment: Alignment | np.ndarray,
                   blank_page: np.ndarray, blank_px_per_pt: float,
                   seat_bubbles: Sequence[SeatBubble], strips: Sequence[Box], capture: Capture
                   ) -> list[BoxFit | None]:
    """Where each place's row of rings lies on a photo (a curled footer moves it).

    The blank page has no rings (see the module docstring), so they are drawn onto a copy of
    it and the row is located by them (``ocr.relocate.locate_box``, no corners: a row of
    rings only moves), within :data:`_PLACE_SEARCH_PT`. None for a place not found (a row
    not printed, a thumb over it): that place is cut where the homography puts it, as on a
    scan.
    """
    if not capture.relocate:
        return [None] * len(strips)
    # Only the rings and digits are matched: drawn on bare paper the page's size.
    drawn = _draw_print(np.full(blank_page.shape[:2], 255, np.uint8), seat_bubbles, (0.0, 0.0),
                        blank_px_per_pt, normalise=False)
    homography = homography_of(alignment)
    out: list[BoxFit | None] = []
    for strip in strips:
        fit = locate_box(upright, homography, strip, drawn, blank_px_per_pt, capture.paper,
                         margin_pt=2.0, search_pt=_PLACE_SEARCH_PT, corners=False)
        out.append(fit if fit.printed and fit.found else None)
    return out


@dataclass(frozen=True)
class _Bubble:
    """One bubble cut out with its print: the cleaned ink, what is visible, its ring."""

    score: BubbleScore
    ring_ink: float
    paper_ink: float


def _bubble(scan: np.ndarray, drawn: np.ndarray, origin: tuple[float, float], digit: int,
            box: Box) -> _Bubble:
    """Score one bubble in its own window, the print registered again on just that window.

    The place's strip is registered as a whole first; this takes out what is left over
    its 42 mm (a copier's stretch, a page that is not flat): measured, up to 3 px at the
    far end of a group on a binarised page, enough to push a thickened ring into the disc.
    """
    x0, y0, x1, y1 = box
    r = (x1 - x0) / 2
    cx, cy = _px((x0 + x1) / 2, (y0 + y1) / 2, origin)
    half = round((1.6 * r + 2.0) * CROP_PX_PER_PT)  # the circled-mark band and a margin
    ys = slice(max(0, round(cy) - half), round(cy) + half + 1)
    xs = slice(max(0, round(cx) - half), round(cx) + half + 1)
    win_scan = scan[ys, xs]
    win_drawn = register_blank(win_scan, drawn[ys, xs], max_shift_px=_REFINE_PX)
    win_origin = (origin[0] + xs.start / CROP_PX_PER_PT, origin[1] + ys.start / CROP_PX_PER_PT)
    # Every printed pixel is masked, the digits too (``guide_level`` above any tone).
    masked = masked_print(win_scan, win_drawn, tolerance_px=_MASK_PX, guide_level=256)
    ink = win_scan.copy()
    ink[masked] = 255
    score = score_bubbles(ink, [(str(digit), box)], origin_pt=win_origin,
                          px_per_pt=CROP_PX_PER_PT, visible=~masked)[0]
    # A printed ring is thinner than the drawn one (about 2 px against 3): widened by a
    # pixel, it covers the drawn ring's core whenever it is there.
    dark = cv2.dilate(((255 - win_scan.astype(np.int16)) >= MARK_STRENGTH).astype(np.uint8),
                      np.ones((3, 3), np.uint8)).astype(bool)
    ring = win_drawn < _RING_TONE + 20  # the drawn ring's core, not its soft edge
    bare = ~cv2.dilate((win_drawn < 250).astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    return _Bubble(score, float(dark[ring].mean()) if ring.any() else 0.0,
                   float(dark[bare].mean()) if bare.any() else 0.0)


def _decide_place(scores: Sequence[BubbleScore]) -> tuple[str, str | None, float]:
    """One place's digit: (``blank``/``read``/``unclear``, the digit, confidence)."""
    reading = decide_marks(scores, threshold=page_fill_threshold([s.fill for s in scores]))
    if reading.status == "ambiguous" or reading.multiple:
        return "unclear", None, 0.0
    if not reading.marked:
        return "blank", None, reading.confidence
    # One mark passed this place's own threshold; the other nine must also be clear of
    # the reader's default one, so a light second fill is never silently dropped.
    rest = decide_marks([s for s in scores if s.label != reading.marked[0]])
    if rest.status != "blank":
        return "unclear", None, 0.0
    return "read", reading.marked[0], min(reading.confidence, rest.confidence)


def read_seat(upright: np.ndarray, alignment: Alignment, blank_page: np.ndarray,
              blank_px_per_pt: float, seat_bubbles: Sequence[SeatBubble], *,
              printed: bool | None = None, capture: Capture = COPIER) -> SeatRead:
    """Read the seat-number bubbles of one aligned page.

    Args:
        upright: the page image, turned upright (greyscale uint8).
        alignment: its page-space → pixel alignment.
        blank_page: the blank page rendered at ``blank_px_per_pt``, with or without the
            seat row (its print is drawn from ``seat_bubbles`` either way).
        blank_px_per_pt: that rendering's resolution.
        seat_bubbles: the page layout's ``(place, digit, box)`` bubbles
            (``PageLayout.seat_bubbles``).
        printed: whether the copy was printed with the row, when the caller knows;
            None decides it from the image (the rings are there or not).
        capture: How the page's boxes are cut (``ocr.students.capture``): on a photo
            each place's row is located again by its rings, and its crop divided by the
            paper's level under it, so a shadow over the footer is paper, not a fill.

    Returns:
        The reading; ``absent`` when the layout has no seat row or the page does not
        show one.
    """
    places = [[b for b in seat_bubbles if b[0] == p] for p in sorted({b[0] for b in
                                                                       seat_bubbles} | {0, 1})]
    if not all(len(p) == 10 for p in places):
        return SeatRead("absent")
    read: list[list[_Bubble]] = []
    ordered_places = [sorted(place, key=lambda b: b[1]) for place in places]
    strips = [_strip(ordered) for ordered in ordered_places]
    fits = _locate_places(upright, alignment, blank_page, blank_px_per_pt, seat_bubbles, strips,
                          capture)
    for ordered, strip, fit in zip(ordered_places, strips, fits, strict=True):
        origin = (strip[0] - MARGIN_PT, strip[1] - MARGIN_PT)
        crop = cut(upright, alignment, strip, capture, margin_pt=MARGIN_PT, fit=fit)
        blank = blank_box(blank_page, blank_px_per_pt, strip, margin_pt=MARGIN_PT)
        drawn = register_blank(crop, _draw_print(blank, seat_bubbles, origin),
                               max_shift_px=_GROUP_SHIFT_PX)
        scan = normalise_paper(crop)
        read.append([_bubble(scan, drawn, origin, d, box) for _, d, box in ordered])
    everything = [b for place in read for b in place]
    ring_ink = float(np.median([b.ring_ink for b in everything])
                     - np.median([b.paper_ink for b in everything]))
    if not (ring_ink >= PRINTED_RING_INK if printed is None else printed):
        return SeatRead("absent", ring_ink=ring_ink)
    results = [_decide_place([b.score for b in place]) for place in read]
    fills = tuple(tuple(round(b.score.fill, 4) for b in place) for place in read)
    statuses = {r[0] for r in results}
    if len(results) > 2:
        # A number grid: a shorter number leaves the columns after its last digit blank.
        filled = [r for r in results if r[0] != "blank"]
        if filled and "unclear" not in statuses and results[:len(filled)] == filled:
            return SeatRead("read", "".join(str(r[1]) for r in filled), fills, ring_ink,
                            min(r[2] for r in results))
    if statuses == {"read"}:
        return SeatRead("read", "".join(str(r[1]) for r in results), fills, ring_ink,
                        min(r[2] for r in results))
    if statuses == {"blank"}:
        return SeatRead("blank", None, fills, ring_ink, min(r[2] for r in results))
    return SeatRead("unclear", None, fills, ring_ink, 0.0)
