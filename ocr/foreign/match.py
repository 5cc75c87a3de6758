"""Register a filled copy of a foreign worksheet to the teacher's blank.

A page markbook did not print has no markers and no QR code; its filled copies (copier
scans or phone photos, any of the four orientations) are matched to the blank by what it
prints. :func:`register_page` runs three steps, each cheap:

1. **coarse**: ORB features of the page, downscaled, matched to the blank's
   (:mod:`ocr.foreign.blank`) and a RANSAC homography through them. ORB is rotation
   invariant, so the page's quarter turn falls out of the homography (no four tries);
2. **refine and verify** (:mod:`ocr.foreign.patches`): the page is warped onto the blank
   at 100 dpi by that homography and each of the blank's distinctive patches is sought
   within 4 mm of its place. The patches found (normalised correlation above a floor)
   give the final homography by least squares over a RANSAC consensus; how many are
   found, how far over the page they spread and whether the page shows the blank's
   glyphs in them decide whether this is the page at all;
3. the page is turned upright and the homography (blank points → upright pixels) is
   reported with its RMS error over the patches, as :class:`ocr.align.Alignment`.

A page of another worksheet is ``not_this_page``, never a confident wrong alignment. Two
tests, both on the patches: at least ``MIN_PATCH_SHARE`` of them found in place, spread
over the page (another sheet in the same style shares its title, name line and headings,
not the rest); and the page shows every glyph the blank prints in all but
``MAX_CONTRADICTED`` of them (writing adds ink, it never takes print away; next week's
sheet made from the same template matches most patches, but its numbers are not the
blank's). A page with almost no ink is ``blank`` (the back of a sheet).

Not modelled, so not measured: a hand or a fold covering part of the page, a page partly
outside the photo. Those lose glyphs too, and are rejected rather than guessed at.

The global homography is within a millimetre or two on a curled photo;
``ocr.pipeline``'s per-box relocation takes it from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from ocr.align import Alignment
from ocr.foreign.blank import (
    COARSE_FEATURES,
    COARSE_LONG_SIDE_PX,
    BlankModel,
    blank_model,
    resize_map,
)
from ocr.foreign.patches import PatchFit, seek_patches
from ocr.identify import BLANK_INK_RATIO, ink_ratio

__all__ = ["MAX_CONTRADICTED", "MIN_PATCH_SHARE", "MIN_SPREAD", "Evidence", "Registration",
           "measure_page", "register_page"]

# ORB matches kept by Lowe's ratio test; fewer than this many coarse inliers: not this page.
_RATIO = 0.8
_MIN_COARSE_INLIERS = 12
# Coarse RANSAC threshold in coarse image pixels (~0.8 mm at 94 dpi).
_COARSE_RANSAC_PX = 3.0
# The page is the blank's worksheet when at least this share of the blank's patches is
# found in place (and at least _MIN_PATCHES of them)... Calibration (calibration writers
# and worksheets, bench_registration): copies of the blank >= 0.917; other sheets in the
# same style <= 0.53; next week's sheet from the same template up to 0.71.
MIN_PATCH_SHARE = 0.8
_MIN_PATCHES = 8
# ...spanning at least this share of the patches' extent across and down the page: a
# shared title block alone is not the page.
MIN_SPREAD = 0.6
# ...and the page lacks a glyph the blank prints in at most this share of the patches: a
# sheet made from the same template (only its numbers changed) matches most patches, but
# its numbers are not the blank's. Calibration: copies of the blank <= 0.028 (2 of 72
# patches), same-template sheets >= 0.097.
MAX_CONTRADICTED = 0.05


@dataclass(frozen=True, eq=False)
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


def _size_pt(blank: np.ndarray, blank_px_per_pt: float) -> tuple[float, float]:
    """The blank page's (width, height) in points."""
    return blank.shape[1] / blank_px_per_pt, blank.shape[0] / blank_px_per_pt


def _not_this(inliers: int, detail: str) -> Registration:
    return Registration("not_this_page", 0, None, None, inliers, detail)


def _scale(factor: float) -> np.ndarray:
    return np.diag([factor, factor, 1.0])


def _coarse(image: np.ndarray, model: BlankModel) -> tuple[np.ndarray | None, int, str]:
    """Homography blank points → image pixels from ORB features, with its inlier count."""
    scale = min(1.0, COARSE_LONG_SIDE_PX / max(image.shape[:2]))
    small = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale,
                                                   interpolation=cv2.INTER_AREA)
    orb = cv2.ORB.create(nfeatures=COARSE_FEATURES, fastThreshold=12)
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


def _rot90_matrix(shape: tuple[int, ...], k: int) -> np.ndarray:
    """Pixel map of ``np.rot90(image, k)``: image pixels → rotated pixels."""
    m = np.eye(3)
    h, w = shape[:2]
    for _ in range(k % 4):
        # np.rot90 once: (x, y) -> (y, w - 1 - x); the new width is the old height.
        m = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, w - 1.0], [0.0, 0.0, 1.0]]) @ m
        h, w = w, h
    return m


def _quarter_turns(h: np.ndarray, size_pt: tuple[float, float]) -> int:
    """``k`` for ``np.rot90(image, k)`` that brings the page's top edge to the top."""
    w, hh = size_pt
    pts = cv2.perspectiveTransform(
        np.array([[[w / 2, hh / 2]], [[w / 2, hh / 2 + 10.0]]], np.float64), h).reshape(2, 2)
    dx, dy = pts[1] - pts[0]
    # Page "down" in image pixels; rot90 (counter-clockwise) turns (dx, dy) into (dy, -dx).
    angle = np.degrees(np.arctan2(dy, dx))  # 90: already upright
    return round(float(angle - 90.0) / 90.0) % 4


@dataclass(frozen=True, eq=False)
class Evidence:
    """What matching a page to a blank measured, before any decision.

    Attributes:
        coarse_inliers: ORB matches in the coarse homography's consensus (0: none found).
        coarse: the coarse homography (blank points → image pixels), or None.
        patches: the patch search's findings, or None when no coarse homography was found.
        reason: why matching stopped early ("" when it did not).
    """

    coarse_inliers: int
    coarse: np.ndarray | None
    patches: PatchFit | None
    reason: str


def measure_page(image: np.ndarray, model: BlankModel) -> Evidence:
    """Match a page to a prepared blank and measure the evidence (no decision).

    Args:
        image: the greyscale page as captured (any orientation).
        model: the prepared blank (:func:`ocr.foreign.blank.blank_model`).

    Returns:
        The coarse and the patch evidence.
    """
    if len(model.patches) < _MIN_PATCHES:
        return Evidence(0, None, None, "the blank prints too little to register against")
    coarse, inliers, why = _coarse(image, model)
    if coarse is None:
        return Evidence(inliers, None, None, why)
    if not _plausible(coarse, model, image.shape):
        return Evidence(inliers, None, None, "the features matched describe no page")
    return Evidence(inliers, coarse, seek_patches(image, coarse, model), "")


def _verdict(fit: PatchFit) -> str:
    """Why the patches do not make the page the blank's worksheet ("" when they do)."""
    if fit.homography is None or fit.in_place < max(_MIN_PATCHES, MIN_PATCH_SHARE * fit.total):
        return f"only {fit.in_place} of the blank's {fit.total} printed patches found in place"
    if fit.spread < MIN_SPREAD:
        return "only part of the page matches the blank"
    if fit.contradicted > MAX_CONTRADICTED:
        lost = sum(v > 0 for v in fit.lost)
        return f"the page prints something else in {lost} of {len(fit.lost)} places"
    return ""


def register_page(image: np.ndarray, blank: np.ndarray, blank_px_per_pt: float, *,
                  max_error_mm: float = 1.5,
                  avoid: Sequence[tuple[float, float, float, float]] = ()) -> Registration:
    """Register a filled copy of a foreign worksheet to its blank.

    Args:
        image: the greyscale page as ingested (any of the four orientations; a copier scan
            or a phone photo with the page on a background).
        blank: the upright greyscale blank page at ``blank_px_per_pt``.
        blank_px_per_pt: the blank's scale (pixels per point).
        max_error_mm: the largest RMS error of the homography over the matched patches
            accepted as ``ok``.
        avoid: boxes of the blank (points) where children write or mark: no patch is
            taken there (:func:`ocr.foreign.blank.prepare_blank`), so a heavily marked
            bubble sheet still registers.

    Returns:
        The registration. ``not_this_page`` when the page does not match the blank (or too
        little of it could be matched); ``blank`` when it carries almost no ink.
    """
    if image.ndim != 2:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    evidence = measure_page(image, blank_model(blank, blank_px_per_pt, avoid))
    fit = evidence.patches
    why = evidence.reason if fit is None else _verdict(fit)
    if fit is None or why or fit.homography is None:
        # Only a page that is not this one may be blank: a copy no child wrote on, lightly
        # printed and blurred, can hold as little dark ink as the back of a sheet.
        if ink_ratio(image) < BLANK_INK_RATIO:
            return Registration("blank", 0, None, None, 0, "the page is blank")
        return _not_this(evidence.coarse_inliers if fit is None else fit.in_place, why)
    final = fit.homography
    k = _quarter_turns(final, _size_pt(blank, blank_px_per_pt))
    upright = np.ascontiguousarray(np.rot90(image, k)) if k else image
    to_upright = _rot90_matrix(image.shape, k) @ final
    to_upright /= to_upright[2, 2]
    ok = fit.error_mm <= max_error_mm
    alignment = Alignment("features", tuple(float(v) for v in to_upright.ravel()), fit.in_place,
                          fit.error_mm, ok)
    detail = "" if ok else f"aligned only within {fit.error_mm:.1f} mm"
    return Registration("registered", (360 - 90 * k) % 360, upright, alignment, fit.in_place,
                        detail)
