"""Crop and clean: cut answer regions out of an aligned page and keep only the student's ink.

A region is warped straight from the scan into a canonical crop (``CROP_PX_PER_PT`` pixels
per point, about 216 dpi), whatever the scan's resolution or skew. The same region of the
rendered blank page then masks out everything printed (widened a little), so box borders,
bubble letters and stems vanish even when alignment is a fraction of a millimetre off or
the copier turned grey print black, and only what the student wrote remains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ocr.align import Alignment

__all__ = [
    "CROP_PX_PER_PT",
    "InkStats",
    "blank_box",
    "crop_transform",
    "has_faint_trace",
    "has_ink",
    "masked_print",
    "measure_ink",
    "normalise_paper",
    "percentile_u8",
    "register_blank",
    "remove_print",
    "warp_box",
]

CROP_PX_PER_PT = 3.0
Box = tuple[float, float, float, float]


def _crop_size(box: Box, margin_pt: float, px_per_pt: float) -> tuple[int, int]:
    x0, y0, x1, y1 = box
    return (round((x1 - x0 + 2 * margin_pt) * px_per_pt),
            round((y1 - y0 + 2 * margin_pt) * px_per_pt))


def crop_transform(homography: np.ndarray, box: Box, *, margin_pt: float = 3.0,
                   px_per_pt: float = CROP_PX_PER_PT) -> np.ndarray:
    """The 3×3 map from a box's canonical crop pixels to image pixels.

    Args:
        homography: page points → image pixels.
        box: the region in page points.
        margin_pt: border kept around the box.
        px_per_pt: the crop's resolution.
    """
    x0, y0, _, _ = box
    crop_to_page = np.array([[1 / px_per_pt, 0, x0 - margin_pt],
                             [0, 1 / px_per_pt, y0 - margin_pt],
                             [0, 0, 1]], np.float64)
    return np.asarray(homography @ crop_to_page)


def warp_box(image: np.ndarray, alignment: Alignment | np.ndarray, box: Box, *,
             margin_pt: float = 3.0, px_per_pt: float = CROP_PX_PER_PT) -> np.ndarray:
    """Cut ``box`` (page points) plus a margin out of the scan into a canonical crop.

    Args:
        image: the upright greyscale scan.
        alignment: its page-space → pixel homography (an alignment or its 3×3 matrix).
        box: the region in page points.
        margin_pt: extra border kept around the box (ink often strays over the lines).
        px_per_pt: output resolution.

    Returns:
        The crop (uint8), white where the scan has no data.
    """
    matrix = alignment.matrix() if isinstance(alignment, Alignment) else alignment
    crop_to_scan = crop_transform(matrix, box, margin_pt=margin_pt, px_per_pt=px_per_pt)
    size = _crop_size(box, margin_pt, px_per_pt)
    return cv2.warpPerspective(image, crop_to_scan, size,
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def blank_box(blank_page: np.ndarray, blank_px_per_pt: float, box: Box, *,
              margin_pt: float = 3.0, px_per_pt: float = CROP_PX_PER_PT) -> np.ndarray:
    """The same region cut from the blank page rendered at ``blank_px_per_pt``."""
    x0, y0, _, _ = box
    s = px_per_pt / blank_px_per_pt
    m = np.array([[s, 0, -(x0 - margin_pt) * px_per_pt],
                  [0, s, -(y0 - margin_pt) * px_per_pt]], np.float64)
    return cv2.warpAffine(blank_page, m, _crop_size(box, margin_pt, px_per_pt),
                          flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def register_blank(scan_crop: np.ndarray, blank_crop: np.ndarray, *, max_shift_px: int = 8
                   ) -> np.ndarray:
    """Shift the blank crop onto the scan crop by matching their printed lines.

    The page homography leaves up to about half a millimetre locally (paper that is not
    flat, lens or feed distortion); a translation search over ``±max_shift_px`` on the crop
    itself takes that out before print is masked.

    Returns:
        The blank crop moved to where its print lies in the scan (same size).
    """
    m = max_shift_px
    h, w = blank_crop.shape
    if h <= 2 * m + 4 or w <= 2 * m + 4:
        return blank_crop
    template = 255 - normalise_paper(blank_crop)[m:h - m, m:w - m]
    if int(template.max()) < 60:  # nothing printed to match on
        return blank_crop
    scores = cv2.matchTemplate(255 - normalise_paper(scan_crop), template, cv2.TM_CCORR_NORMED)
    _, _, _, (bx, by) = cv2.minMaxLoc(scores)
    dx, dy = bx - m, by - m
    if dx == 0 and dy == 0:
        return blank_crop
    shift = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    return cv2.warpAffine(blank_crop, shift, (w, h), borderMode=cv2.BORDER_CONSTANT,
                          borderValue=255)


def percentile_u8(img: np.ndarray, q: float) -> float:
    """``np.percentile(img, q)`` (linear interpolation) of a uint8 image, from its
    histogram: the same value to the bit, without sorting the pixels (several hundred crops
    a page are normalised; the sort was a quarter of an answer sheet's reading time).

    Args:
        img: a non-empty uint8 array.
        q: the percentile, 0-100.
    """
    n = img.size
    position = (n - 1) * np.true_divide(q, 100)
    below = min(math.floor(position), n - 1)
    above = min(below + 1, n - 1)
    gamma = float(position - below) if below < n - 1 else 0.0
    if n < 2**24:  # float32 counts are exact
        counts = cv2.calcHist([np.ascontiguousarray(img)], [0], None, [256], [0, 256]).ravel()
        cumulative = np.cumsum(counts.astype(np.int64))
    else:
        cumulative = np.cumsum(np.bincount(img.ravel(), minlength=256))
    # The k-th smallest value (0-based) is the first level whose cumulative count passes k.
    a = float(np.searchsorted(cumulative, below, side="right"))
    b = float(np.searchsorted(cumulative, above, side="right"))
    # numpy's interpolation, term for term, so the result is the same float.
    return a + (b - a) * gamma if gamma < 0.5 else b - (b - a) * (1 - gamma)


def normalise_paper(img: np.ndarray) -> np.ndarray:
    """Scale a grayscale crop so that its paper (the 90th percentile) is white.

    Returns:
        The scaled crop as uint8, or ``img`` itself when its paper is darker than 40.
    """
    # Copiers print grey paper and vary exposure: stretch so the paper is white.
    paper = percentile_u8(img, 90) if img.dtype == np.uint8 and img.size \
        else float(np.percentile(img, 90))
    if paper < 40:
        return img
    scaled = img.astype(np.float32) * (255.0 / paper)
    np.clip(scaled, 0, 255, out=scaled)
    return scaled.astype(np.uint8)


def remove_print(scan_crop: np.ndarray, blank_crop: np.ndarray | None, *,
                 tolerance_px: int = 7, printed_level: int = 215, overprint: int = 90
                 ) -> np.ndarray:
    """Keep only the ink the student added.

    Where the blank page has print (widened by ``tolerance_px`` to absorb residual
    misalignment) the scan is masked to paper, since a binarising copier even turns grey
    print black, unless it is ``overprint`` levels darker than the print there: a pen mark
    over a light (dropout) guide such as a bubble's letter or ✗. Elsewhere the scan is
    kept as it is, with its paper tone normalised to white.

    Args:
        scan_crop: the canonical crop of the scan.
        blank_crop: the same region of the blank page, or None (nothing printed there).
        tolerance_px: how far (pixels) printed strokes are widened before masking.
        printed_level: blank pixels darker than this count as print.

    Returns:
        An image of the same size: white paper, the student's ink dark (ink strength =
        255 - value).
    """
    scan = normalise_paper(scan_crop)
    if blank_crop is None:
        return scan
    out = scan.copy()
    out[masked_print(scan, blank_crop, tolerance_px=tolerance_px,
                     printed_level=printed_level, overprint=overprint)] = 255
    return out


def masked_print(scan: np.ndarray, blank_crop: np.ndarray, *, tolerance_px: int = 7,
                 printed_level: int = 215, overprint: int = 90, guide_level: int = 150
                 ) -> np.ndarray:
    """The pixels :func:`remove_print` turns to paper (boolean image): print, not ink.

    Dark print (borders, stems: tone below ``guide_level``) is always masked, since a
    binarising copier makes it as black as any pen; light guides are masked unless the
    scan is ``overprint`` levels darker there.
    """
    kernel = np.ones((tolerance_px, tolerance_px), np.uint8)
    tone = cv2.erode(normalise_paper(blank_crop), kernel).astype(np.int16)
    printed = tone < printed_level
    marked_over_guide = (tone >= guide_level) & (scan.astype(np.int16) < tone - overprint)
    return np.asarray(printed & ~marked_over_guide)


@dataclass(frozen=True)
class InkStats:
    """How much ink a cleaned crop holds.

    Attributes:
        area_mm2: area of significant ink strokes.
        components: number of ink strokes (connected components) kept.
        bbox: their bounding box in crop pixels, or None.
        strength: median strength (0-255) of the kept ink; low for light pencil.
        trace_mm2: area of every ink fragment above scanner-noise size, the kept strokes
            included. A light pencil answer on a page the copier binarised can break
            into fragments each too small to count as a stroke: that box is blank to
            :func:`has_ink` but not empty (:func:`has_faint_trace`).
    """

    area_mm2: float
    components: int
    bbox: tuple[int, int, int, int] | None
    strength: float
    trace_mm2: float = 0.0


def measure_ink(ink: np.ndarray, *, px_per_pt: float = CROP_PX_PER_PT, min_strength: int = 35,
                min_stroke_mm2: float = 0.12, min_trace_mm2: float = 0.03) -> InkStats:
    """Measure the ink in a cleaned crop, ignoring specks (dust, copier noise).

    Args:
        ink: the output of :func:`remove_print`.
        px_per_pt: the crop's resolution.
        min_strength: darker-than-paper level (0-255) that counts as ink; light pencil
            on a copier is around 40-80.
        min_stroke_mm2: connected components smaller than this are noise.
        min_trace_mm2: fragments smaller than this (two or three pixels at 200 dpi) are
            not counted in ``trace_mm2`` either.
    """
    strength = 255 - ink.astype(np.int16)
    mask = (strength >= min_strength).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    mm2_per_px = (25.4 / 72.0 / px_per_pt) ** 2
    areas = stats[1:, cv2.CC_STAT_AREA] * mm2_per_px
    trace = float(areas[areas >= min_trace_mm2].sum())
    keep = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] * mm2_per_px >= min_stroke_mm2]
    if not keep:
        return InkStats(0.0, 0, None, 0.0, trace)
    area = sum(int(stats[i, cv2.CC_STAT_AREA]) for i in keep)
    xs0 = min(int(stats[i, cv2.CC_STAT_LEFT]) for i in keep)
    ys0 = min(int(stats[i, cv2.CC_STAT_TOP]) for i in keep)
    xs1 = max(int(stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH]) for i in keep)
    ys1 = max(int(stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT]) for i in keep)
    kept = np.isin(labels, keep)
    return InkStats(area * mm2_per_px, len(keep), (xs0, ys0, xs1, ys1),
                    float(np.median(strength[kept])), trace)


def has_ink(stats: InkStats, *, min_area_mm2: float = 0.6) -> bool:
    """Whether a region was written in (a single digit ``1`` is about 1-2 mm² of ink)."""
    return stats.area_mm2 >= min_area_mm2


def has_faint_trace(stats: InkStats, *, min_trace_mm2: float = 0.25) -> bool:
    """Whether a region :func:`has_ink` calls blank still holds a trace of writing.

    The middle band between blank and written: too little ink to read, too much to be
    sure nothing was written (a light pencil answer the copier binarised into fragments).
    Such a blank is not certain, so it goes to a teacher. The default was measured on
    calibration-split pages (docs/decisions/0006-repair-ink-the-copier-thinned.md): it
    flags 2 of 1,072 truly blank boxes, eraser smudges included, and 5 of the 7 written
    answers that read as blank.
    """
    return not has_ink(stats) and stats.trace_mm2 >= min_trace_mm2
