"""Capture quality: how well a page was photographed, and when to ask for it again.

A copier's page is sharp, evenly lit and 200-600 dpi everywhere; a phone's may be none of
those. Four things are measured per page, all on what the page itself prints, so they mean
the same on every worksheet:

- **resolution** on the answer boxes: image pixels per millimetre of page where each box
  lies (from the homography; a tilted photo has fewer at its far edge);
- **blur**: how wide the printed box borders' edges are spread, in millimetres (the paper
  to line rise of a sharp print is a pixel or two of a 200 dpi scan);
- **light**: how uneven the paper's level is (``ocr.shading``) and how dark its darkest
  part: a page half in deep shadow has too little contrast there to read;
- **boxes lost**: answer boxes whose printed border was not found (``ocr.relocate``).

A page below any floor is not read at all: the teacher is asked to photograph it again,
with the reason. The floors were set on the calibration photos (calibration writers,
their own camera draws), below every photo there that was read as well as a scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ocr.align import MM_PER_PT
from ocr.regions import CROP_PX_PER_PT
from ocr.shading import PaperLevel

__all__ = [
    "MAX_EDGE_MM",
    "MIN_PAPER_LEVEL",
    "MIN_PX_PER_MM",
    "UNREAD_BLUR_PX",
    "CaptureQuality",
    "blurred_frame",
    "edge_width_mm",
    "frame_edge_px",
    "judge_capture",
    "px_per_mm_at",
]

Box = tuple[float, float, float, float]
# Below 4 pixels a millimetre (about 100 dpi) a written digit is 15-20 pixels tall: the
# readers were never shown that little.
MIN_PX_PER_MM = 4.0
# Printed edges spread wider than this are too blurred to read digits from.
MAX_EDGE_MM = 0.6
# Paper darker than this (0-255) somewhere on the page (deep shadow) leaves too little
# contrast for pencil.
MIN_PAPER_LEVEL = 45.0
# More than this share of a page's boxes not found: the page as a whole is not trusted.
MAX_LOST_SHARE = 0.25
# Print darker than this (ink strength) in the blank crop is a border to measure.
_PRINTED_STRENGTH = 60
# A frame whose sharpest edges are spread wider than this (pixels) is blurred: on the
# calibration photos sharp frames measured 2.5-5.0 px, and every frame blurred by a
# Gaussian of 4 px (none of whose codes read) 7.0 px or more.
UNREAD_BLUR_PX = 7.0


@dataclass(frozen=True)
class CaptureQuality:
    """How one page was captured.

    Attributes:
        photo: the page was not cropped by its homography alone (a photo, or curled).
        px_per_mm: the lowest resolution over its answer boxes.
        edge_mm: the median width of its printed edges (blur).
        paper_low: the paper's darkest level on the page (5th percentile, 0-255).
        uneven: how uneven the paper's light was (0 even).
        boxes_lost: answer boxes whose printed border was not found.
        retake: why the page should be captured again (``blurred``, ``low_resolution``,
            ``too_dark``, ``boxes_lost``), or "" when it is good enough to read.
    """

    photo: bool
    px_per_mm: float
    edge_mm: float
    paper_low: float
    uneven: float
    boxes_lost: int = 0
    retake: str = ""


def px_per_mm_at(homography: np.ndarray, point_pt: tuple[float, float]) -> float:
    """Image pixels per millimetre of page at a page point (the homography's local scale)."""
    x, y = point_pt
    pts = np.array([[[x, y]], [[x + 1, y]], [[x, y + 1]]], np.float64)
    px = cv2.perspectiveTransform(pts, homography).reshape(3, 2)
    (ax, ay), (bx, by) = px[1] - px[0], px[2] - px[0]
    area = abs(float(ax * by - ay * bx))
    return float(np.sqrt(area)) / MM_PER_PT


def edge_width_mm(crop: np.ndarray, blank_crop: np.ndarray) -> float | None:
    """How wide a crop's printed edges are spread (contrast over steepest slope), in mm.

    Args:
        crop: a region's canonical crop (flattened where the light was uneven).
        blank_crop: the same region of the blank page, registered onto it.

    Returns:
        The width, or None when the region prints nothing to measure.
    """
    printed = (255 - blank_crop.astype(np.int16)) >= _PRINTED_STRENGTH
    if printed.sum() < 20:
        return None
    band = cv2.dilate(printed.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    img = crop.astype(np.float32)
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    slope = float(np.percentile(np.hypot(gx, gy)[band], 97))
    paper = float(np.percentile(img, 90))
    line = float(np.percentile(img[band], 3))
    contrast = paper - line
    if contrast < 20 or slope <= 0:
        return None
    return contrast / slope / CROP_PX_PER_PT * MM_PER_PT


def judge_capture(photo: bool, homography: np.ndarray, boxes: Sequence[Box],
                  edges_mm: Sequence[float], paper: PaperLevel, boxes_lost: int
                  ) -> CaptureQuality:
    """Put a page's measures together and decide whether it must be captured again.

    Args:
        photo: whether the page needed relocating (``ocr.relocate.page_is_flat`` False).
        homography: page points → image pixels.
        boxes: the page's answer boxes.
        edges_mm: the edge widths measured on its boxes (:func:`edge_width_mm`).
        paper: the page's paper level.
        boxes_lost: boxes whose border was not found.

    Returns:
        The quality, with ``retake`` set when a floor is crossed (the first one found, in
        the order blur, resolution, light, lost boxes).
    """
    centres = [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in boxes]
    res = min((px_per_mm_at(homography, c) for c in centres), default=0.0)
    edge = float(np.median(edges_mm)) if len(edges_mm) else 0.0
    low = float(np.percentile(paper.level, 5)) if paper.level.size else 255.0
    # The level image covers the whole frame; its dark 5% may be the table, so the page's
    # own darkest paper is read from its unevenness against its brightest.
    page_high = float(np.percentile(paper.level, 99)) if paper.level.size else 255.0
    low = max(low, page_high * (1.0 - paper.uneven))
    reason = ""
    if edge > MAX_EDGE_MM:
        reason = "blurred"
    elif res < MIN_PX_PER_MM:
        reason = "low_resolution"
    elif low < MIN_PAPER_LEVEL:
        reason = "too_dark"
    elif boxes and boxes_lost > MAX_LOST_SHARE * len(boxes):
        reason = "boxes_lost"
    return CaptureQuality(photo, round(res, 2), round(edge, 3), round(low, 1),
                          round(paper.uneven, 3), boxes_lost, reason)


def frame_edge_px(image: np.ndarray) -> float:
    """How wide a whole frame's sharpest edges are spread, in its own pixels.

    Used where no page could be found (its code did not read), so nothing printed is
    known to measure on: the contrast between the frame's dark and light (1st and 99th
    percentiles) over its steepest slopes (99.9th percentile).
    """
    img = image.astype(np.float32)
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    slope = float(np.percentile(np.hypot(gx, gy), 99.9))
    lo, hi = np.percentile(img, [1, 99])
    return float(hi - lo) / max(slope, 1e-3)


def blurred_frame(image: np.ndarray) -> CaptureQuality | None:
    """The capture of a frame whose page code did not read, when blur is why.

    Returns:
        A quality whose ``retake`` is ``blurred``, or None when the frame is sharp enough
        (then the page is simply not a markbook page, or its code is damaged).
    """
    edge = frame_edge_px(image)
    if edge <= UNREAD_BLUR_PX:
        return None
    return CaptureQuality(True, 0.0, 0.0, 0.0, 0.0, 0, "blurred")
