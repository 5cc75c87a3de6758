"""Register a filled copy of a foreign worksheet to the teacher's blank.

A page markbook did not print has no markers and no QR code; its filled copies (copier
scans or phone photos, any of the four orientations) are matched to the blank by what it
prints. :func:`register_page` runs three steps, each cheap:

1. **coarse**: ORB features of the page, downscaled, matched to the blank's
   (:mod:`ocr.foreign.blank`) and a RANSAC homography through them. ORB is rotation
   invariant, so the page's quarter turn falls out of the homography (no four tries);
2. **refine and verify**: the page is warped onto the blank at 100 dpi by that homography
   and each of the blank's distinctive patches is sought within 4 mm of its place. The
   patches found (normalised correlation above a floor) give the final homography by
   least squares over a RANSAC consensus; how many are found, and how far over the page
   they spread, decides whether this is the page at all;
3. the page is turned upright and the homography (blank points → upright pixels) is
   reported with its RMS error over the patches, as :class:`ocr.align.Alignment`.

A page of another worksheet is ``not_this_page``, never a confident wrong alignment: its
title, name line and question numbers may match, the rest of its print does not. A page
with almost no ink is ``blank`` (the back of a sheet).

The global homography is within a millimetre or two on a curled photo;
``ocr.pipeline``'s per-box relocation takes it from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from ocr.align import MM_PER_PT, Alignment
from ocr.foreign.blank import (
    COARSE_LONG_SIDE_PX,
    REFINE_PX_PER_PT,
    SEARCH_MM,
    BlankModel,
    blank_model,
    resize_map,
)
from ocr.identify import BLANK_INK_RATIO, ink_ratio

__all__ = ["MIN_PATCH_NCC", "MIN_PATCH_SHARE", "Registration", "register_page"]

# ORB matches kept by Lowe's ratio test; fewer than this many coarse inliers: not this page.
_RATIO = 0.8
_MIN_COARSE_INLIERS = 12
# Coarse RANSAC threshold in coarse image pixels (~0.8 mm at 94 dpi).
_COARSE_RANSAC_PX = 3.0
# A patch is found when its best place correlates at least this well with the blank.
MIN_PATCH_NCC = 0.6
# The page is this worksheet when at least this share of the blank's patches is found at
# places one homography explains, and at least _MIN_PATCHES of them.
MIN_PATCH_SHARE = 0.5
_MIN_PATCHES = 8
# ...and the patches found span at least this share of the spread of all patches (in each
# direction): a shared title block alone is not the page.
_MIN_SPAN = 0.6
# Patch RANSAC threshold (mm of page): above a copier's error, within a curl's.
_PATCH_RANSAC_MM = 1.5
# The refine warp reads a copy of the page at about this many times the refine scale.
_MID_OVERSAMPLE = 1.25


@dataclass(frozen=True)
class Registration:
    """Where a filled copy lies relative to its blank, or why it could not be placed.

    Attributes:
        status: ``registered``; ``not_this_page`` (it does not match the blank: another
            sheet, or too few features); ``blank`` (almost no ink).
        rotation: degrees (0, 90, 180, 270), as in :func:`ocr.identify.identify_page`: the
            page was turned upright with ``np.rot90(image, ((360 - rotation) % 360) // 90)``.
        upright: the upright greyscale image (None unless registered).
        alignment: blank points → upright pixels (``ok`` when its RMS error is within the
            allowed maximum); None unless registered.
        inliers: patches (registered) or coarse features (otherwise) that supported it.
        detail: a human reason when not registered (or not ``ok``), else "".
    """

    status: Literal["registered", "not_this_page", "blank"]
    rotation: int
    upright: np.ndarray | None
    alignment: Alignment | None
    inliers: int
    detail: str


def _not_this(inliers: int, detail: str) -> Registration:
    return Registration("not_this_page", 0, None, None, inliers, detail)


def _scale(factor: float) -> np.ndarray:
    return np.diag([factor, factor, 1.0])




def _coarse(image: np.ndarray, model: BlankModel) -> tuple[np.ndarray | None, int, str]:
    """Homography blank points → image pixels from ORB features, with its inlier count."""
    scale = min(1.0, COARSE_LONG_SIDE_PX / max(image.shape[:2]))
    small = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale,
                                                   interpolation=cv2.INTER_AREA)
    orb = cv2.ORB.create(nfeatures=2500, fastThreshold=12)
    kps, des = orb.detectAndCompute(small, None)
    if des is None or model.descriptors is None or len(kps) < _MIN_COARSE_INLIERS:
        return None, 0, "too few features on the page"
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(model.descriptors, des, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < _RATIO * p[1].distance]
    if len(good) < _MIN_COARSE_INLIERS:
        return None, len(good), "too few features match the blank"
    src = model.keypoints[[m.queryIdx for m in good]] * model.coarse_px_per_pt
    dst = np.array([kps[m.trainIdx].pt for m in good], np.float32)
    h, mask = cv2.findHomography(src, dst, cv2.RANSAC, _COARSE_RANSAC_PX, maxIters=4000,
                                 confidence=0.999)
    inliers = int(mask.sum()) if mask is not None else 0
    if h is None or inliers < _MIN_COARSE_INLIERS:
        return None, inliers, "too few features match the blank consistently"
    # blank points -> coarse blank px -> small image px -> image px
    full = np.linalg.inv(resize_map(scale)) @ h @ _scale(model.coarse_px_per_pt)
    return full, inliers, ""


def _plausible(h: np.ndarray, model: BlankModel, shape: tuple[int, ...]) -> bool:
    """The page maps to a convex quadrilateral of a sensible size inside the frame."""
    w, hh = model.size_pt
    quad = cv2.perspectiveTransform(
        np.array([[[0, 0]], [[w, 0]], [[w, hh]], [[0, hh]]], np.float64), h).reshape(4, 2)
    if not np.isfinite(quad).all() or not cv2.isContourConvex(quad.astype(np.float32)):
        return False
    area = abs(cv2.contourArea(quad.astype(np.float32)))
    frame = float(shape[0] * shape[1])
    return 0.1 * frame <= area <= 2.0 * frame


def _peak(scores: np.ndarray, x: int, y: int) -> tuple[float, float]:
    def offset(a: float, b: float, c: float) -> float:
        d = a - 2 * b + c
        return 0.0 if abs(d) < 1e-9 else float(np.clip(0.5 * (a - c) / d, -0.5, 0.5))
    h, w = scores.shape
    fx = offset(scores[y, x - 1], scores[y, x], scores[y, x + 1]) if 0 < x < w - 1 else 0.0
    fy = offset(scores[y - 1, x], scores[y, x], scores[y + 1, x]) if 0 < y < h - 1 else 0.0
    return x + fx, y + fy


def _refine(image: np.ndarray, coarse: np.ndarray, model: BlankModel
            ) -> tuple[np.ndarray | None, int, float, str]:
    """Seek the blank's patches on the page warped by ``coarse``; return the refined
    homography (blank points → image pixels), its patch inliers and RMS error (mm)."""
    n = len(model.patches)
    if n < _MIN_PATCHES:
        return None, 0, 0.0, "the blank prints too little to register against"
    # Read the page from a copy a little finer than the refine scale (a photo's 12 MP
    # frame need not be warped at full size).
    cx, cy = model.size_pt[0] / 2, model.size_pt[1] / 2
    probe = cv2.perspectiveTransform(
        np.array([[[cx, cy]], [[cx + 1.0, cy]], [[cx, cy + 1.0]]], np.float64), coarse)
    (ax, ay), (bx, by) = probe[1, 0] - probe[0, 0], probe[2, 0] - probe[0, 0]
    jac = abs(float(ax * by - ay * bx))
    mid_scale = min(1.0, _MID_OVERSAMPLE * REFINE_PX_PER_PT / max(float(np.sqrt(jac)), 1e-6))
    mid = image if mid_scale >= 0.9 else cv2.resize(image, None, fx=mid_scale, fy=mid_scale,
                                                     interpolation=cv2.INTER_AREA)
    if mid is image:
        mid_scale = 1.0
    # refine px -> points -> image px -> mid px
    to_mid = resize_map(mid_scale) @ coarse @ model.refine_to_pt
    rh, rw = model.refine.shape
    warped = cv2.warpPerspective(mid, to_mid, (rw, rh), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                 borderMode=cv2.BORDER_REPLICATE)
    search = round(SEARCH_MM / MM_PER_PT * REFINE_PX_PER_PT)
    side = model.patch_px
    src: list[tuple[float, float]] = []
    dst: list[tuple[float, float]] = []
    for x, y in model.patches:
        x0, y0 = max(0, x - search), max(0, y - search)
        window = warped[y0:y + side + search, x0:x + side + search]
        if window.shape[0] < side or window.shape[1] < side:
            continue
        patch = model.refine[y:y + side, x:x + side]
        scores = np.nan_to_num(cv2.matchTemplate(window, patch, cv2.TM_CCOEFF_NORMED), nan=0.0)
        _, best, _, (bx, by) = cv2.minMaxLoc(scores)
        if best < MIN_PATCH_NCC:
            continue
        px, py = _peak(scores, bx, by)
        c = side / 2
        src.append((x + c, y + c))
        dst.append((x0 + px + c, y0 + py + c))
    if len(src) < _MIN_PATCHES:
        return None, len(src), 0.0, f"only {len(src)} of {n} printed patches found"
    s, d = np.array(src, np.float32), np.array(dst, np.float32)
    thresh = _PATCH_RANSAC_MM / MM_PER_PT * REFINE_PX_PER_PT
    delta, mask = cv2.findHomography(s, d, cv2.RANSAC, thresh, maxIters=2000, confidence=0.999)
    if delta is None or mask is None:
        return None, 0, 0.0, "the patches found fit no single page"
    keep = mask.ravel().astype(bool)
    inliers = int(keep.sum())
    if inliers < max(_MIN_PATCHES, MIN_PATCH_SHARE * n):
        return None, inliers, 0.0, f"only {inliers} of {n} printed patches found in place"
    span_all = np.ptp(model.patches, axis=0).astype(np.float64)
    span = np.ptp(s[keep], axis=0).astype(np.float64)
    if (span < _MIN_SPAN * span_all).any():
        return None, inliers, 0.0, "only part of the page matches the blank"
    # Least squares over the consensus (RANSAC's own fit is from a minimal sample's refit).
    delta, _ = cv2.findHomography(s[keep], d[keep], 0)
    if delta is None:
        return None, inliers, 0.0, "the patches found fit no single page"
    fit = cv2.perspectiveTransform(s[keep].reshape(-1, 1, 2), delta).reshape(-1, 2)
    rms_px = float(np.sqrt(((fit - d[keep]) ** 2).sum(axis=1).mean()))
    err_mm = rms_px / REFINE_PX_PER_PT * MM_PER_PT
    # points -> refine px -> (delta) warped px -> image px
    final = coarse @ model.refine_to_pt @ delta @ np.linalg.inv(model.refine_to_pt)
    return final, inliers, err_mm, ""


def _rot90_matrix(shape: tuple[int, ...], k: int) -> np.ndarray:
    """Pixel map of ``np.rot90(image, k)``: image pixels → rotated pixels."""
    m = np.eye(3)
    h, w = shape[:2]
    for _ in range(k % 4):
        # np.rot90 once: (x, y) -> (y, w - 1 - x); the new width is the old height.
        m = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, w - 1.0], [0.0, 0.0, 1.0]]) @ m
        h, w = w, h
    return m


def _quarter_turns(h: np.ndarray, model: BlankModel) -> int:
    """``k`` for ``np.rot90(image, k)`` that brings the page's top edge to the top."""
    w, hh = model.size_pt
    pts = cv2.perspectiveTransform(
        np.array([[[w / 2, hh / 2]], [[w / 2, hh / 2 + 10.0]]], np.float64), h).reshape(2, 2)
    dx, dy = pts[1] - pts[0]
    # Page "down" in image pixels; rot90 (counter-clockwise) turns (dx, dy) into (dy, -dx).
    angle = np.degrees(np.arctan2(dy, dx))  # 90: already upright
    return round(float(angle - 90.0) / 90.0) % 4


def register_page(image: np.ndarray, blank: np.ndarray, blank_px_per_pt: float, *,
                  max_error_mm: float = 1.5) -> Registration:
    """Register a filled copy of a foreign worksheet to its blank.

    Args:
        image: the greyscale page as ingested (any of the four orientations; a copier scan
            or a phone photo with the page on a background).
        blank: the upright greyscale blank page at ``blank_px_per_pt``.
        blank_px_per_pt: the blank's scale (pixels per point).
        max_error_mm: the largest RMS error of the homography over the matched patches
            accepted as ``ok``.

    Returns:
        The registration. ``not_this_page`` when the page does not match the blank (or too
        little of it could be matched); ``blank`` when it carries almost no ink.
    """
    if image.ndim != 2:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if ink_ratio(image) < BLANK_INK_RATIO:
        return Registration("blank", 0, None, None, 0, "the page is blank")
    model = blank_model(blank, blank_px_per_pt)
    coarse, coarse_inliers, why = _coarse(image, model)
    if coarse is None:
        return _not_this(coarse_inliers, why)
    if not _plausible(coarse, model, image.shape):
        return _not_this(coarse_inliers, "the features matched describe no page")
    final, inliers, err_mm, why = _refine(image, coarse, model)
    if final is None:
        return _not_this(inliers, why)
    k = _quarter_turns(final, model)
    upright = np.ascontiguousarray(np.rot90(image, k)) if k else image
    to_upright = _rot90_matrix(image.shape, k) @ final
    to_upright /= to_upright[2, 2]
    ok = err_mm <= max_error_mm
    alignment = Alignment("features", tuple(float(v) for v in to_upright.ravel()), inliers,
                          err_mm, ok)
    detail = "" if ok else f"aligned only within {err_mm:.1f} mm"
    return Registration("registered", (360 - 90 * k) % 360, upright, alignment, inliers, detail)
