"""Relocate: find each answer box's printed border where the photo actually shows it.

The page homography (``ocr.align``) is exact only where the paper is flat. A phone photo of
a page whose edge curls up 6 mm moves the boxes in the middle of the page one or two
millimetres from where the four corner markers put them, enough for a box border to slide
into the crop and be read as a ``1``, or for the printed stem to be read as an answer.

So every region is located again on its own: a window around where the homography puts it
is cut out, and the region's printed border (from the rendered blank page) is matched in
it. The offset found moves that region's crop; a region whose border cannot be found (no
place in the window looks like it) is never read, it goes to a teacher with the reason. A
region with nothing printed to match (a bare writing area) takes the offset its
neighbours moved by.

Every printed box is thus a control point of a piecewise (per box) correction of the
homography: the "mesh" of the page is its own layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ocr.regions import CROP_PX_PER_PT, blank_box, crop_transform, normalise_paper, warp_box
from ocr.shading import PaperLevel, flatten, paper_crop

__all__ = [
    "MIN_BOX_SCORE",
    "SEARCH_PT",
    "BoxFit",
    "locate_box",
    "locate_boxes",
    "page_is_flat",
    "shifted",
    "subpixel_peak",
]

Box = tuple[float, float, float, float]
# How far (points) around its expected place a box is looked for: 9 pt is 3.2 mm, above the
# 1-2 mm a 6 mm curl displaces a box and below the gap between two rows of boxes.
SEARCH_PT = 9.0
# A box whose best match correlates less than this with its printed border is not found.
MIN_BOX_SCORE = 0.25
# A located box further than this (points) from where its neighbours moved is distrusted
# and looked for again near them (a handwritten stroke can look like a border's edge).
_NEIGHBOUR_PT = 3.5
_NEIGHBOURS = 4
# Print darker than this (0-255 ink strength) in the blank crop is something to match on.
_PRINTED_STRENGTH = 60
# Half-width (points) of the band around printed lines that the match compares.
_BAND_PT = 4 / CROP_PX_PER_PT
# Corner patches: half their side, and how far around the box's offset they are sought.
_CORNER_PT = 8.0
_CORNER_SEARCH_PT = 3.0
# Corners found apart from their box's own match must agree this closely (points).
_CORNERS_AGREE_PT = 3.0
# The whole border is sought at half the crops' resolution (a quarter of the work), its
# corners at full resolution.
_COARSE_PX_PER_PT = CROP_PX_PER_PT / 2


@dataclass(frozen=True)
class BoxFit:
    """Where one region's printed border was found, relative to where it was expected.

    Attributes:
        dx_pt, dy_pt: the offset in page points (add to the box to crop where it is).
        score: normalised correlation of the border with the photo at that place (1 exact).
        printed: the region has a printed border to match; False leaves the offset to
            its neighbours and the score at 1.
        corners: the four corners' offsets (top-left, top-right, bottom-right,
            bottom-left) when each was found, else empty.
        edge: the best match lay on the border of the search window: the true place may
            be beyond it, so the fit is not trusted on its own.
    """

    dx_pt: float
    dy_pt: float
    score: float
    printed: bool
    corners: tuple[tuple[float, float], ...] = ()
    edge: bool = False

    @property
    def found(self) -> bool:
        return not self.printed or self.score >= MIN_BOX_SCORE

    def local(self, box: Box) -> np.ndarray:
        """The 3×3 map from the layout's page points to where the homography puts the
        printed box: through its four located corners when they were found (the box may be
        turned or stretched by the curl), else a translation by the box's offset."""
        if len(self.corners) == 4:
            x0, y0, x1, y1 = box
            src = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float32)
            dst = src + np.array(self.corners, np.float32)
            return np.asarray(cv2.getPerspectiveTransform(src, dst), np.float64)
        return np.array([[1, 0, self.dx_pt], [0, 1, self.dy_pt], [0, 0, 1]], np.float64)


def shifted(box: Box, fit: BoxFit) -> Box:
    """The box moved by a fit's offset."""
    x0, y0, x1, y1 = box
    return (x0 + fit.dx_pt, y0 + fit.dy_pt, x1 + fit.dx_pt, y1 + fit.dy_pt)


def subpixel_peak(scores: np.ndarray, x: int, y: int) -> tuple[float, float]:
    """Sub-pixel peak position by a parabola through the best score and its neighbours."""
    def offset(a: float, b: float, c: float) -> float:
        d = a - 2 * b + c
        return 0.0 if abs(d) < 1e-9 else float(np.clip(0.5 * (a - c) / d, -0.5, 0.5))
    h, w = scores.shape
    fx = offset(scores[y, x - 1], scores[y, x], scores[y, x + 1]) if 0 < x < w - 1 else 0.0
    fy = offset(scores[y - 1, x], scores[y, x], scores[y + 1, x]) if 0 < y < h - 1 else 0.0
    return x + fx, y + fy


def _match(image: np.ndarray, homography: np.ndarray, box: Box, blank_page: np.ndarray,
           blank_px_per_pt: float, paper: PaperLevel | None, margin_pt: float,
           search_pt: float, around: tuple[float, float], px_per_pt: float = CROP_PX_PER_PT
           ) -> BoxFit:
    """Match the print of ``box`` (plus margin) in a window ``search_pt`` wider, at
    ``px_per_pt``."""
    template = normalise_paper(blank_box(blank_page, blank_px_per_pt, box, margin_pt=margin_pt,
                                         px_per_pt=px_per_pt))
    if int(255 - template.min()) < _PRINTED_STRENGTH:
        return BoxFit(around[0], around[1], 1.0, printed=False)
    centre = shifted(box, BoxFit(around[0], around[1], 1.0, True))
    wide = margin_pt + search_pt
    window = warp_box(image, homography, centre, margin_pt=wide, px_per_pt=px_per_pt)
    if paper is not None and paper.flattens:
        transform = crop_transform(homography, centre, margin_pt=wide, px_per_pt=px_per_pt)
        window = flatten(window, paper_crop(paper, transform, window.shape[::-1]))
    # Only the band around the printed lines counts: the writing inside a box is no part
    # of where the box is, and would pull the match towards itself.
    printed = (255 - template >= _PRINTED_STRENGTH).astype(np.uint8)
    half = max(1, round(_BAND_PT * px_per_pt))
    band = cv2.dilate(printed, np.ones((2 * half + 1, 2 * half + 1), np.uint8))
    scores = cv2.matchTemplate(255 - normalise_paper(window), 255 - template,
                               cv2.TM_CCOEFF_NORMED, mask=band)
    scores = np.nan_to_num(scores, nan=-1.0, posinf=-1.0, neginf=-1.0)
    _, best, _, (bx, by) = cv2.minMaxLoc(scores)
    px, py = subpixel_peak(scores, bx, by)
    step = search_pt * px_per_pt
    h, w = scores.shape
    edge = bx in (0, w - 1) or by in (0, h - 1)
    return BoxFit(around[0] + (px - step) / px_per_pt, around[1] + (py - step) / px_per_pt,
                  float(best), printed=True, edge=edge)


def locate_box(image: np.ndarray, homography: np.ndarray, box: Box, blank_page: np.ndarray,
               blank_px_per_pt: float, paper: PaperLevel | None = None, *,
               margin_pt: float = 3.0, search_pt: float = SEARCH_PT,
               around: tuple[float, float] = (0.0, 0.0), corners: bool = True) -> BoxFit:
    """Find one region's printed border in the photo, then each of its corners.

    The whole border is matched first (its offset), then a patch around each corner is
    matched near it: four corners give the box's own small perspective (a curled band
    turns and stretches the boxes in it, not only moves them).

    Args:
        image: the upright page image.
        homography: page points → image pixels.
        box: the region in page points.
        blank_page: the blank page rendered at ``blank_px_per_pt``.
        blank_px_per_pt: its resolution.
        paper: the page's paper level (crops are flattened by it when it is uneven).
        margin_pt: border kept around the box in the matched template.
        search_pt: how far around the expected place (plus ``around``) to look.
        around: the offset (points) the search is centred on.
        corners: refine the box's four corners (a rectangular printed border); False for
            regions whose print is something else (a row of bubbles), which only move.

    Returns:
        The offset of the best match, its score and, when all four were found near it,
        the corners' offsets.
    """
    fit = _match(image, homography, box, blank_page, blank_px_per_pt, paper, margin_pt,
                 search_pt, around, _COARSE_PX_PER_PT)
    if not corners or not fit.printed or not fit.found:
        return fit
    found = _corners(image, homography, box, blank_page, blank_px_per_pt, paper,
                     (fit.dx_pt, fit.dy_pt), _CORNER_SEARCH_PT)
    return replace(fit, corners=found) if found else fit


def _corners(image: np.ndarray, homography: np.ndarray, box: Box, blank_page: np.ndarray,
             blank_px_per_pt: float, paper: PaperLevel | None, around: tuple[float, float],
             search_pt: float) -> tuple[tuple[float, float], ...]:
    """Each corner of a bordered box matched within ``search_pt`` of ``around``: the four
    offsets, or () when one is not found (a box that is stretched or turned matches worse
    as a whole than by its corners)."""
    x0, y0, x1, y1 = box
    c = _CORNER_PT
    found = []
    for cx, cy in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
        sub = _match(image, homography, (cx - c, cy - c, cx + c, cy + c), blank_page,
                     blank_px_per_pt, paper, 0.0, search_pt, around)
        if not sub.printed or sub.score < MIN_BOX_SCORE or sub.edge:
            return ()
        found.append((sub.dx_pt, sub.dy_pt))
    return tuple(found)


def _agree(corners: Sequence[tuple[float, float]]) -> bool:
    """Whether four corner offsets describe one box: none further than ``_CORNERS_AGREE_PT``
    from another (a box stretched or turned by curl moves its corners by a few points)."""
    pts = np.array(corners, np.float64)
    spread = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    return bool(spread.max() <= _CORNERS_AGREE_PT)


def locate_boxes(image: np.ndarray, homography: np.ndarray, boxes: Sequence[Box],
                 blank_page: np.ndarray, blank_px_per_pt: float,
                 paper: PaperLevel | None = None, *, margin_pt: float = 3.0,
                 bordered: Sequence[bool] | None = None) -> list[BoxFit]:
    """Locate every region of a page, each checked against its neighbours.

    Curl moves neighbouring boxes alike. A box found far from where its nearest located
    neighbours moved, or at the edge of its search window (a stroke of writing or another
    box's edge matched better than its own border), is looked for again in a small window
    around their offset, and is not found if it is not there; a box with nothing printed
    takes their offset (the median of its nearest found neighbours).

    Args:
        image, homography, blank_page, blank_px_per_pt, paper: as for :func:`locate_box`.
        boxes: the regions in page points.
        margin_pt: border kept around each box in the matched template.
        bordered: per box, whether its print is a rectangular border whose corners are
            refined (default: all).

    Returns:
        One fit per box, in order.
    """
    rect = list(bordered) if bordered is not None else [True] * len(boxes)
    fits = [locate_box(image, homography, b, blank_page, blank_px_per_pt, paper,
                       margin_pt=margin_pt, corners=r) for b, r in zip(boxes, rect, strict=True)]
    centres = np.array([((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in boxes], np.float64)
    good = [i for i, f in enumerate(fits) if f.printed and f.found and not f.edge]
    out = list(fits)
    for i, fit in enumerate(fits):
        others = [j for j in good if j != i]
        if not others:
            if not rect[i] and not fit.found:  # a row of light bubbles with nothing near
                out[i] = BoxFit(0.0, 0.0, fit.score, printed=False)
            continue
        d = np.hypot(*(centres[others] - centres[i]).T)
        near = [others[k] for k in np.argsort(d)[:_NEIGHBOURS]]
        mx = float(np.median([fits[j].dx_pt for j in near]))
        my = float(np.median([fits[j].dy_pt for j in near]))
        if not fit.printed or (not rect[i] and not fit.found):
            # Nothing printed to match, or only light bubbles the marks outweighed: move
            # with the neighbours.
            out[i] = BoxFit(mx, my, 1.0, printed=False)
        elif fit.edge or np.hypot(fit.dx_pt - mx, fit.dy_pt - my) > _NEIGHBOUR_PT:
            # Far from where the neighbours moved (or at the window's edge): the match
            # is not trusted; the box is sought near the neighbours, and not found (not
            # read) if it is not there. A row of bubbles moves with them.
            again = locate_box(image, homography, boxes[i], blank_page, blank_px_per_pt, paper,
                               margin_pt=margin_pt, search_pt=_NEIGHBOUR_PT / 2,
                               around=(mx, my), corners=rect[i])
            if again.found and not again.edge:
                out[i] = again
            elif not rect[i]:
                out[i] = BoxFit(mx, my, 1.0, printed=False)
            else:
                # Stretched by the curl, the border may match only corner by corner: four
                # corners found in the whole window that agree with each other (a rectangle
                # of the box's own size) are the box, wherever the neighbours moved.
                found = _corners(image, homography, boxes[i], blank_page, blank_px_per_pt,
                                 paper, (0.0, 0.0), SEARCH_PT)
                if found and _agree(found):
                    cx = float(np.mean([c[0] for c in found]))
                    cy = float(np.mean([c[1] for c in found]))
                    out[i] = BoxFit(cx, cy, MIN_BOX_SCORE, True, found)
                else:
                    out[i] = replace(again, score=min(again.score, MIN_BOX_SCORE / 2))
    return out


# A page whose probe boxes all sit within this (points) of where the homography puts them
# is flat: a copier scan's boxes lie within 0.6 pt (99th percentile on calibration scans).
_FLAT_PT = 0.75
# A photo frame holds table around the page; a scan is the page (share of its area).
_SCAN_PAGE_SHARE = 0.85


def _probes(boxes: Sequence[Box], page_size_pt: tuple[float, float]) -> list[int]:
    """The boxes nearest the page's centre and the middle of each edge: a curled edge or
    a bulge moves at least one of them."""
    w, h = page_size_pt
    centres = np.array([((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in boxes], np.float64)
    picks: list[int] = []
    for px, py in ((w / 2, h / 2), (0, h / 2), (w, h / 2), (w / 2, 0), (w / 2, h)):
        i = int(np.argmin(np.hypot(centres[:, 0] - px, centres[:, 1] - py)))
        if i not in picks:
            picks.append(i)
    return picks


def page_is_flat(image: np.ndarray, homography: np.ndarray, boxes: Sequence[Box],
                 page_size_pt: tuple[float, float], blank_page: np.ndarray,
                 blank_px_per_pt: float, paper: PaperLevel) -> bool:
    """Whether a page can be cropped by its homography alone, as a copier scan can.

    A photo (the page fills well under the frame, or its light is uneven) never is. Else
    a few probe boxes are located: the page is flat when each is found within
    ``_FLAT_PT`` of its place. Deciding this costs a few milliseconds; locating every box
    costs a hundred or more.
    """
    if not boxes or paper.flattens:
        return not boxes
    w, h = page_size_pt
    quad = cv2.perspectiveTransform(
        np.array([[[0, 0]], [[w, 0]], [[w, h]], [[0, h]]], np.float64), homography)
    share = abs(cv2.contourArea(quad.astype(np.float32))) / float(image.shape[0] * image.shape[1])
    if share < _SCAN_PAGE_SHARE:
        return False
    for i in _probes(boxes, page_size_pt):
        fit = _match(image, homography, boxes[i], blank_page, blank_px_per_pt, paper, 3.0,
                     SEARCH_PT, (0.0, 0.0), _COARSE_PX_PER_PT)
        if fit.printed and (not fit.found or np.hypot(fit.dx_pt, fit.dy_pt) > _FLAT_PT):
            return False
    return True
