"""The blank of a foreign worksheet, prepared once for registering its filled copies.

A filled copy of a page markbook did not print carries no markers, so it is matched to
the teacher's blank by what the page itself prints. Two things are prepared from the blank,
once per blank (they are cached by its content, so a class stack pays for them once):

- **coarse features**: ORB keypoints of the blank at about 94 dpi. They find the page in a
  scan or photo at any of the four orientations and any in-plane turn, and give a first
  homography (a millimetre or so off, more where the paper curls);
- **patches**: 12 mm squares of the blank at 100 dpi where it prints something that only
  fits in one place (text, box corners, a figure; not a bare line, which slides along
  itself). Each is sought again near where the coarse homography puts it. The patches found
  give the final homography, and how many are found decides whether the page is this
  worksheet at all: another worksheet in the same style may share its title, name line
  and numbering, but not what is printed across the rest of the page.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "COARSE_LONG_SIDE_PX",
    "PATCH_MM",
    "REFINE_PX_PER_PT",
    "SEARCH_MM",
    "BlankModel",
    "blank_model",
    "prepare_blank",
    "resize_map",
]

MM_PER_PT = 25.4 / 72.0
# The coarse match works on images whose longer side is about this (an A4 page at ~94 dpi:
# its print stays legible to ORB, and detection and matching cost ~20 ms).
COARSE_LONG_SIDE_PX = 1100
# ORB keypoints per image: a page of print and handwriting yields thousands of corners; the
# strongest few thousand, spread over the page, are enough for RANSAC.
COARSE_FEATURES = 2500
# Patches are matched at 100 dpi (0.25 mm a pixel; sub-pixel peaks give ~0.1 mm).
REFINE_PX_PER_PT = 100.0 / 72.0
# A patch's side and how far around its coarse place it is sought (both mm).
PATCH_MM = 12.0
SEARCH_MM = 4.0
# A patch whose print covers less than this share of it has too little to match on.
_MIN_PATCH_INK = 0.03
# A patch that matches itself this well somewhere else within the search window (a line,
# a row of identical boxes) cannot say where it is.
_SELF_SIMILAR = 0.8
# ...where "somewhere else" is further than this (mm) from its own place.
_SELF_EXCLUDE_MM = 1.5
# At most this many patches per blank (spread over the page; more cost time, not accuracy).
_MAX_PATCHES = 72
# Fewest patches kept away from the ``avoid`` boxes before they are ignored (the decision
# in ocr.foreign.match needs 8).
_MIN_KEPT = 12
_CACHE_SIZE = 8
# Print this much darker (0-255) than the paper around it is a stroke every copy shows.
_PRINT_CONTRAST = 40


@dataclass(frozen=True, eq=False)
class BlankModel:
    """A blank page prepared for registration.

    Attributes:
        size_pt: the page's (width, height) in points.
        coarse_px_per_pt: the coarse image's scale.
        keypoints: ORB keypoint positions on the coarse blank, in points (N×2 float32).
        descriptors: their ORB descriptors (N×32 uint8).
        refine: the blank at ``REFINE_PX_PER_PT`` (uint8).
        patches: each patch's top-left corner in ``refine`` pixels (M×2 int32).
        patch_px: a patch's side in ``refine`` pixels.
        refine_to_pt: 3×3 map from ``refine`` pixels to points.
        refine_print: where ``refine`` clearly prints (bool): the strokes a copy of this
            page must show too (writing adds ink, it never takes print away).
    """

    size_pt: tuple[float, float]
    coarse_px_per_pt: float
    keypoints: np.ndarray
    descriptors: np.ndarray | None
    refine: np.ndarray
    patches: np.ndarray
    patch_px: int
    refine_to_pt: np.ndarray
    refine_print: np.ndarray


def resize_map(factor: float) -> np.ndarray:
    """Pixel map of ``cv2.resize`` by ``factor`` (pixel centres, not corners, scale)."""
    shift = 0.5 * factor - 0.5
    return np.array([[factor, 0.0, shift], [0.0, factor, shift], [0.0, 0.0, 1.0]])


def _orb() -> cv2.ORB:
    return cv2.ORB.create(nfeatures=COARSE_FEATURES, fastThreshold=12)


def _ink(gray: np.ndarray) -> np.ndarray:
    """Print as a boolean mask (darker than the local paper by a clear margin)."""
    return cv2.adaptiveThreshold(gray, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV,
                                 25, 20).astype(bool)


def _patches(refine: np.ndarray, avoid: Sequence[tuple[int, int, int, int]] = ()
             ) -> tuple[np.ndarray, int]:
    """Distinctive patches on a grid over the page (top-left corners, side), none of them
    touching an ``avoid`` box (refine pixels)."""
    side = round(PATCH_MM / MM_PER_PT * REFINE_PX_PER_PT)
    search = round(SEARCH_MM / MM_PER_PT * REFINE_PX_PER_PT)
    exclude = round(_SELF_EXCLUDE_MM / MM_PER_PT * REFINE_PX_PER_PT)
    h, w = refine.shape
    ink = _ink(refine)
    found: list[tuple[int, int]] = []
    for y in range(search, h - side - search, side):
        for x in range(search, w - side - search, side):
            patch = refine[y:y + side, x:x + side]
            if ink[y:y + side, x:x + side].mean() < _MIN_PATCH_INK:
                continue
            if any(x < ax1 and ax0 < x + side and y < ay1 and ay0 < y + side
                   for ax0, ay0, ax1, ay1 in avoid):
                continue
            window = refine[y - search:y + side + search, x - search:x + side + search]
            scores = cv2.matchTemplate(window, patch, cv2.TM_CCOEFF_NORMED)
            scores = np.nan_to_num(scores, nan=0.0)
            near = slice(search - exclude, search + exclude + 1)
            scores[near, near] = -1
            if float(scores.max()) >= _SELF_SIMILAR:
                continue
            found.append((x, y))
    if len(found) > _MAX_PATCHES:
        keep = np.linspace(0, len(found) - 1, _MAX_PATCHES).round().astype(int)
        found = [found[i] for i in keep]
    return np.array(found, np.int32).reshape(-1, 2), side


def prepare_blank(blank: np.ndarray, blank_px_per_pt: float,
                  avoid: Sequence[tuple[float, float, float, float]] = ()) -> BlankModel:
    """Prepare a blank page for :func:`ocr.foreign.match.register_page`.

    Args:
        blank: the upright greyscale blank, rendered or scanned at ``blank_px_per_pt``.
        blank_px_per_pt: its scale (pixels per point).
        avoid: boxes (points) where children write or mark (answer regions, bubbles, the
            name line): no refinement patch is taken there, since a filled bubble or a
            written answer changes the patch beyond recognition while the page is this
            one. Ignored when it would leave fewer than ``_MIN_KEPT`` patches.

    Returns:
        Its coarse features and refinement patches.
    """
    h, w = blank.shape[:2]
    size_pt = (w / blank_px_per_pt, h / blank_px_per_pt)
    coarse_scale = COARSE_LONG_SIDE_PX / max(h, w)
    coarse = cv2.resize(blank, None, fx=coarse_scale, fy=coarse_scale,
                        interpolation=cv2.INTER_AREA)
    kps, des = _orb().detectAndCompute(coarse, None)
    coarse_px_per_pt = blank_px_per_pt * coarse_scale
    # Blank pixel centres are at ``px / blank_px_per_pt`` points (as ocr.align has them).
    pts = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
    pts = ((pts + 0.5) / coarse_scale - 0.5) / blank_px_per_pt
    refine_scale = REFINE_PX_PER_PT / blank_px_per_pt
    refine = cv2.resize(blank, None, fx=refine_scale, fy=refine_scale,
                        interpolation=cv2.INTER_AREA if refine_scale < 1 else cv2.INTER_LINEAR)
    avoid_px = [tuple(round(v * REFINE_PX_PER_PT) for v in box) for box in avoid]
    patches, side = _patches(refine, avoid_px)  # type: ignore[arg-type]
    if avoid_px and len(patches) < _MIN_KEPT:
        patches, side = _patches(refine)
    to_pt = np.diag([1 / blank_px_per_pt, 1 / blank_px_per_pt, 1.0]) @ np.linalg.inv(
        resize_map(refine_scale))
    strokes = cv2.adaptiveThreshold(refine, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV,
                                    15, _PRINT_CONTRAST).astype(bool)
    return BlankModel(size_pt, coarse_px_per_pt, pts.astype(np.float32), des, refine, patches,
                      side, to_pt, strokes)


_cache: OrderedDict[tuple[object, ...], BlankModel] = OrderedDict()
_lock = threading.Lock()


def blank_model(blank: np.ndarray, blank_px_per_pt: float,
                avoid: Sequence[tuple[float, float, float, float]] = ()) -> BlankModel:
    """:func:`prepare_blank`, cached by the blank's content and ``avoid`` (a class stack
    shares one)."""
    digest = hashlib.blake2b(np.ascontiguousarray(blank).data, digest_size=16).hexdigest()
    key = (blank.shape, round(blank_px_per_pt, 6), digest,
           tuple(tuple(round(v, 1) for v in b) for b in avoid))
    with _lock:
        model = _cache.get(key)
        if model is not None:
            _cache.move_to_end(key)
            return model
    model = prepare_blank(blank, blank_px_per_pt, avoid)
    with _lock:
        _cache[key] = model
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return model
