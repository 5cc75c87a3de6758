"""Seek a blank's distinctive patches on a page: the fine fit and the proof of identity.

Given a first homography (blank points → image pixels, a millimetre or two off), the page
is warped onto the blank's 100 dpi grid and each patch prepared by
:mod:`ocr.foreign.blank` is sought within ``SEARCH_MM`` of its place by normalised
correlation. The patches found whose places one homography explains (a RANSAC consensus)
give the refined homography, by least squares over them.

What is measured here is also what says whether the page is the blank's worksheet at all
(:func:`ocr.foreign.match.register_page` decides): the share of the blank's patches found
in place, and how far across the page they reach. Writing covers some patches (answer
places), a shadow or a fold spoils a few; another worksheet's page matches only what the
two share (a title block, a name line, numbering).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocr.foreign.blank import REFINE_PX_PER_PT, SEARCH_MM, BlankModel, resize_map
from ocr.relocate import subpixel_peak

__all__ = ["MIN_PATCH_NCC", "PatchFit", "seek_patches"]

MM_PER_PT = 25.4 / 72.0
# A patch is found where its best place correlates at least this well with the blank.
MIN_PATCH_NCC = 0.7
# Patch RANSAC threshold (mm of page): above a copier's error, within a curl's.
_RANSAC_MM = 1.5
# The warp reads a copy of the page at about this many times the refine scale (a photo's
# 12 MP frame need not be warped at full size; a finer copy would only cost time).
_OVERSAMPLE = 1.25
_MIN_FIT = 8
# Page ink: this much darker (0-255) than the paper around it.
_INK_CONTRAST = 12


@dataclass(frozen=True, eq=False)
class PatchFit:
    """What the blank's patches said about one page.

    Attributes:
        total: the blank's patches sought.
        found: patches whose best place correlated at least ``MIN_PATCH_NCC``.
        in_place: found patches in one homography's consensus.
        spread: the smaller (over x and y) share of the blank's patch extent that the
            patches in place span (1: corner to corner).
        homography: refined blank points → image pixels (None when fewer than 8 in place).
        error_mm: RMS distance (mm of page) of the patches in place from that homography.
        lost: per patch sought, the share of the blank's printed glyphs in it that the
            page does not show at the patch's best place (more than half a glyph's strokes
            missing): 0 on a copy of this page (writing only adds ink), more where another
            page prints other words or numbers.
        ncc: per patch sought, its best correlation.
    """

    total: int
    found: int
    in_place: int
    spread: float
    homography: np.ndarray | None
    error_mm: float
    lost: tuple[float, ...] = ()
    ncc: tuple[float, ...] = ()

    @property
    def contradicted(self) -> float:
        """Share of the patches sought where the page lacks a glyph the blank prints."""
        return sum(v > 0 for v in self.lost) / len(self.lost) if self.lost else 0.0

    @property
    def share(self) -> float:
        """Share of the blank's patches found in place."""
        return self.in_place / self.total if self.total else 0.0


def _warp(image: np.ndarray, coarse: np.ndarray, model: BlankModel) -> np.ndarray:
    """The page seen through ``coarse`` on the blank's refine grid."""
    cx, cy = model.size_pt[0] / 2, model.size_pt[1] / 2
    probe = cv2.perspectiveTransform(
        np.array([[[cx, cy]], [[cx + 1.0, cy]], [[cx, cy + 1.0]]], np.float64), coarse)
    (ax, ay), (bx, by) = probe[1, 0] - probe[0, 0], probe[2, 0] - probe[0, 0]
    px_per_pt = float(np.sqrt(abs(float(ax * by - ay * bx))))
    scale = min(1.0, _OVERSAMPLE * REFINE_PX_PER_PT / max(px_per_pt, 1e-6))
    if scale >= 0.9:
        scale, mid = 1.0, image
    else:
        mid = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    # refine px -> points -> image px -> mid px
    to_mid = resize_map(scale) @ coarse @ model.refine_to_pt
    rh, rw = model.refine.shape
    return cv2.warpPerspective(mid, to_mid, (rw, rh),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REPLICATE)


def seek_patches(image: np.ndarray, coarse: np.ndarray, model: BlankModel) -> PatchFit:
    """Seek the blank's patches near where ``coarse`` puts them and refit the homography.

    Args:
        image: the greyscale page as captured.
        coarse: blank points → image pixels, within a few millimetres.
        model: the prepared blank.

    Returns:
        The patches' evidence and, when at least eight were found in place, the refined
        homography (blank points → image pixels).
    """
    total = len(model.patches)
    warped = _warp(image, coarse, model)
    search = round(SEARCH_MM / MM_PER_PT * REFINE_PX_PER_PT)
    side = model.patch_px
    # The page's ink, a pixel wider (0.25 mm: resampling and blur move an edge that much).
    ink = cv2.adaptiveThreshold(warped, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV,
                                15, _INK_CONTRAST)
    ink = cv2.dilate(ink, np.ones((3, 3), np.uint8)).astype(bool)
    src: list[tuple[float, float]] = []
    dst: list[tuple[float, float]] = []
    gone: list[float] = []
    ncc: list[float] = []
    for x, y in model.patches:
        x0, y0 = max(0, x - search), max(0, y - search)
        window = warped[y0:y + side + search, x0:x + side + search]
        if window.shape[0] < side or window.shape[1] < side:
            continue
        patch = model.refine[y:y + side, x:x + side]
        scores = np.nan_to_num(cv2.matchTemplate(window, patch, cv2.TM_CCOEFF_NORMED), nan=0.0)
        _, best, _, (bx, by) = cv2.minMaxLoc(scores)
        strokes = model.refine_print[y:y + side, x:x + side]
        shown = ink[y0 + by:y0 + by + side, x0 + bx:x0 + bx + side]
        n, labels = cv2.connectedComponents(strokes.astype(np.uint8), connectivity=8)
        size = np.bincount(labels.ravel(), minlength=n)
        lost_px = np.bincount(labels[strokes > shown], minlength=n)
        big = size[1:] >= 4
        gone.append(float((lost_px[1:][big] > 0.5 * size[1:][big]).sum()) / max(int(big.sum()), 1))
        ncc.append(float(best))
        if best < MIN_PATCH_NCC:
            continue
        px, py = subpixel_peak(scores, bx, by)
        c = side / 2
        src.append((x + c, y + c))
        dst.append((x0 + px + c, y0 + py + c))
    found = len(src)
    lost, scores_ = tuple(gone), tuple(ncc)
    if found < _MIN_FIT:
        return PatchFit(total, found, 0, 0.0, None, 0.0, lost, scores_)
    s, d = np.array(src, np.float32), np.array(dst, np.float32)
    thresh = _RANSAC_MM / MM_PER_PT * REFINE_PX_PER_PT
    delta, mask = cv2.findHomography(s, d, cv2.RANSAC, thresh, maxIters=2000, confidence=0.999)
    if delta is None or mask is None:
        return PatchFit(total, found, 0, 0.0, None, 0.0, lost, scores_)
    keep = mask.ravel().astype(bool)
    in_place = int(keep.sum())
    extent = np.maximum(np.ptp(model.patches, axis=0).astype(np.float64), 1.0)
    spread = float((np.ptp(s[keep], axis=0) / extent).min()) if in_place else 0.0
    if in_place < _MIN_FIT:
        return PatchFit(total, found, in_place, spread, None, 0.0, lost, scores_)
    # Least squares over the consensus (RANSAC's own fit is a minimal sample's refit).
    refit, _ = cv2.findHomography(s[keep], d[keep], 0)
    delta = refit if refit is not None else delta
    fit = cv2.perspectiveTransform(s[keep].reshape(-1, 1, 2), delta).reshape(-1, 2)
    rms_px = float(np.sqrt(((fit - d[keep]) ** 2).sum(axis=1).mean()))
    error_mm = rms_px / REFINE_PX_PER_PT * MM_PER_PT
    # points -> refine px -> (delta) warped px -> image px
    homography = coarse @ model.refine_to_pt @ delta @ np.linalg.inv(model.refine_to_pt)
    return PatchFit(total, found, in_place, spread, homography / homography[2, 2], error_mm,
                    lost, scores_)
