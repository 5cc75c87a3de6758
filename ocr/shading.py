"""Shading: the paper's own brightness across a page, so a shadow is not read as ink.

A copier lights a page evenly; a phone does not. Vignetting, a lamp to one side, the slope
of a curled edge and, worst, the soft shadow of the hand holding the phone leave paper that
is half as bright in one place as in another. Every later stage judges ink as "darker than
paper", so each crop is divided by the paper's level *where the crop is* before that.

The level is estimated once per page on a copy of about 1 pixel per millimetre: a grey
morphological closing with a disc wider than any pen stroke or answer bubble removes what is
dark and small (writing, print, filled bubbles) and keeps what is dark and wide (a shadow),
and a light blur smooths its steps. Pages lit evenly (every copier scan) are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocr.align import MM_PER_PT

__all__ = ["UNEVEN_AT", "PaperLevel", "flatten", "measure_paper", "paper_crop"]

Box = tuple[float, float, float, float]
# The level image's resolution and the closing's disc: wider than a filled 4 mm answer
# bubble or a dense scribble stroke, narrower than a shadow's soft edge is long.
_LEVEL_PX_PER_MM = 1.0
_CLOSING_MM = 9
# Where the paper's brightest (95th percentile) and darkest (5th) places on the page differ
# by more than this share, the page is flattened; a copier scan differs by a few percent.
UNEVEN_AT = 0.06
# The page's outer band (markers, the page edge, the table beyond) is left out of the
# measure of unevenness.
_INSET_MM = 12.0


@dataclass(frozen=True)
class PaperLevel:
    """The paper's brightness over one page image.

    Attributes:
        level: paper brightness (float32, 0-255) at ``scale`` times the image's resolution.
        scale: level pixels per image pixel.
        uneven: 1 - (5th / 95th percentile of the level inside the page): 0 for even light.
    """

    level: np.ndarray
    scale: float
    uneven: float

    @property
    def flattens(self) -> bool:
        """Whether crops of this page are divided by the level (the light is uneven)."""
        return self.uneven > UNEVEN_AT


def measure_paper(image: np.ndarray, homography: np.ndarray, page_size_pt: tuple[float, float]
                  ) -> PaperLevel:
    """Estimate the paper's brightness across an aligned page.

    Args:
        image: the upright greyscale page image (a scan or a photo frame).
        homography: page points → image pixels.
        page_size_pt: the page's width and height in points.

    Returns:
        The level, and how uneven it is inside the page.
    """
    w_pt, h_pt = page_size_pt
    corners = cv2.perspectiveTransform(
        np.array([[[0, 0]], [[w_pt, 0]], [[w_pt, h_pt]], [[0, h_pt]]], np.float64), homography)
    side_px = float(np.linalg.norm(corners[1, 0] - corners[0, 0]))
    px_per_mm = side_px / (w_pt * MM_PER_PT)
    scale = min(1.0, _LEVEL_PX_PER_MM / max(px_per_mm, 1e-6))
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_CLOSING_MM, _CLOSING_MM))
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, disc).astype(np.float32)
    level = np.asarray(cv2.GaussianBlur(closed, (0, 0), 2.0), np.float32)
    inset = _INSET_MM / MM_PER_PT
    inner = np.array([[inset, inset], [w_pt - inset, inset], [w_pt - inset, h_pt - inset],
                      [inset, h_pt - inset]], np.float64).reshape(-1, 1, 2)
    quad = cv2.perspectiveTransform(inner, homography).reshape(-1, 2) * scale
    mask = np.zeros(small.shape, np.uint8)
    cv2.fillConvexPoly(mask, np.round(quad).astype(np.int32), 1)
    inside = level[mask.astype(bool)]
    if inside.size < 16:
        return PaperLevel(level, scale, 0.0)
    lo, hi = np.percentile(inside, [5, 95])
    return PaperLevel(level, scale, float(1.0 - lo / max(hi, 1.0)))


def paper_crop(paper: PaperLevel, crop_to_image: np.ndarray, size: tuple[int, int]
               ) -> np.ndarray:
    """The paper level under a crop.

    Args:
        paper: the page's level.
        crop_to_image: crop pixels → image pixels (3×3).
        size: the crop's (width, height).
    """
    to_level = np.diag([paper.scale, paper.scale, 1.0]) @ crop_to_image
    return np.asarray(cv2.warpPerspective(paper.level, to_level, size,
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REPLICATE))


def flatten(crop: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Divide a crop by the paper level under it: paper becomes white wherever it lies.

    Returns:
        The flattened crop (uint8).
    """
    out: np.ndarray = crop.astype(np.float32) * (255.0 / np.maximum(level, 8.0))
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)
