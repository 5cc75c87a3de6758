"""Align: map worksheet page space (PDF points, top-left origin) onto scan pixels.

Primary method: the four ArUco markers printed in the page corners, searched in the corner
regions only (fast), giving 16 point pairs for a homography and its reprojection error.
Fallback for damaged markers (or worksheets markbook did not print): ORB feature matching
against the rendered blank page. A page whose alignment error is too large is reported
as such, never guessed at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

__all__ = [
    "MM_PER_PT",
    "Alignment",
    "align_with_features",
    "align_with_markers",
    "detect_markers",
]

MM_PER_PT = 25.4 / 72.0
Box = tuple[float, float, float, float]

_DETECTOR = cv2.aruco.ArucoDetector(
    cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50), cv2.aruco.DetectorParameters()
)


@dataclass(frozen=True)
class Alignment:
    """A page-space → pixel homography and how good it is.

    Attributes:
        method: ``markers`` or ``features``.
        homography: row-major 3×3 matrix (a tuple, so results stay small and picklable).
        points: how many point pairs supported it.
        error_mm: RMS reprojection error in millimetres of page space.
        ok: error within the allowed maximum.
    """

    method: Literal["markers", "features"]
    homography: tuple[float, ...]
    points: int
    error_mm: float
    ok: bool

    def matrix(self) -> np.ndarray:
        return np.array(self.homography, dtype=np.float64).reshape(3, 3)


def detect_markers(image: np.ndarray, *, corner_fraction: float = 0.22
                   ) -> dict[int, np.ndarray]:
    """Find ArUco markers on an upright page: its four corner regions first, then the frame.

    A scan's markers lie in its corners, where a small search finds them fast. A phone
    photo holds the page somewhere inside a larger frame (a table around it), so when the
    corners give fewer than four markers the whole frame is searched, at half size when it
    is large, and the corners found there are refined at full resolution.

    Returns:
        marker id -> its four corners (TL, TR, BR, BL) in full-page pixel coordinates.
    """
    h, w = image.shape[:2]
    ch, cw = int(h * corner_fraction), int(w * corner_fraction)
    found: dict[int, np.ndarray] = {}
    for y0, x0 in ((0, 0), (0, w - cw), (h - ch, w - cw), (h - ch, 0)):
        region = np.ascontiguousarray(image[y0:y0 + ch, x0:x0 + cw])
        corners, ids, _ = _DETECTOR.detectMarkers(region)
        if ids is None:
            continue
        for marker_id, c in zip(ids.ravel(), corners, strict=True):
            found.setdefault(int(marker_id), c.reshape(4, 2) + np.array([x0, y0], np.float32))
    if len(found) < 4:
        for seen_id, pts in _search_frame(image).items():
            found.setdefault(seen_id, pts)
    return found


# Frames with a longer side than this are searched at half size (a 12 MP photo's markers
# are 80-150 px wide, still 40-75 px at half size; the search costs a quarter).
_FULL_SEARCH_MAX_PX = 2200
_SUBPIX = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 30, 0.01)


def _search_frame(image: np.ndarray) -> dict[int, np.ndarray]:
    scale = 0.5 if max(image.shape[:2]) > _FULL_SEARCH_MAX_PX else 1.0
    small = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale,
                                                   interpolation=cv2.INTER_AREA)
    corners, ids, _ = _DETECTOR.detectMarkers(small)
    if ids is None:
        return {}
    out: dict[int, np.ndarray] = {}
    for marker_id, c in zip(ids.ravel(), corners, strict=True):
        pts = (c.reshape(4, 2) / scale).astype(np.float32)
        if scale != 1.0:
            cv2.cornerSubPix(image, pts.reshape(-1, 1, 2), (5, 5), (-1, -1), _SUBPIX)
        out[int(marker_id)] = pts.reshape(4, 2)
    return out


def _fit(src_pt: np.ndarray, dst_px: np.ndarray, method: Literal["markers", "features"],
         max_error_mm: float, ransac: bool) -> Alignment | None:
    if len(src_pt) < 4:
        return None
    h, mask = cv2.findHomography(src_pt, dst_px, cv2.RANSAC if ransac else 0, 3.0)
    if h is None:
        return None
    inliers = mask.ravel().astype(bool) if mask is not None else np.ones(len(src_pt), bool)
    try:
        back = cv2.perspectiveTransform(dst_px[inliers].reshape(-1, 1, 2), np.linalg.inv(h))
    except np.linalg.LinAlgError:
        return None
    err_pt = float(np.sqrt(((back.reshape(-1, 2) - src_pt[inliers]) ** 2).sum(axis=1).mean()))
    err_mm = err_pt * MM_PER_PT
    return Alignment(method, tuple(float(v) for v in h.ravel()), int(inliers.sum()), err_mm,
                     err_mm <= max_error_mm)


def align_with_markers(image: np.ndarray, markers: Sequence[tuple[int, Box]], *,
                       max_error_mm: float = 0.8) -> Alignment | None:
    """Align an upright page by its printed markers.

    Args:
        image: the upright greyscale page.
        markers: (marker id, box in page points) from the worksheet layout.
        max_error_mm: the largest RMS reprojection error accepted as ``ok``.

    Returns:
        The alignment, or None when fewer than three markers were found (too few to trust).
    """
    found = detect_markers(image)
    src: list[tuple[float, float]] = []
    dst: list[np.ndarray] = []
    for marker_id, (x0, y0, x1, y1) in markers:
        if marker_id in found:
            src.extend([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
            dst.extend(found[marker_id])
    if len(src) < 12:
        return None
    return _fit(np.array(src, np.float32), np.array(dst, np.float32), "markers", max_error_mm,
                ransac=False)


def align_with_features(image: np.ndarray, blank: np.ndarray, blank_px_per_pt: float, *,
                        max_error_mm: float = 1.5, features: int = 4000) -> Alignment | None:
    """Align a page to its rendered blank by ORB features (no markers needed).

    Args:
        image: the upright greyscale scan.
        blank: the blank page rendered at ``blank_px_per_pt`` pixels per point.
        blank_px_per_pt: the blank's scale.
        max_error_mm: the largest RMS error (over RANSAC inliers) accepted as ``ok``.
        features: ORB keypoints per image.

    Returns:
        The alignment, or None when too few features match.
    """
    orb = cv2.ORB.create(nfeatures=features)
    kp_b, des_b = orb.detectAndCompute(blank, None)
    kp_s, des_s = orb.detectAndCompute(image, None)
    if des_b is None or des_s is None or len(kp_b) < 10 or len(kp_s) < 10:
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(des_b, des_s, k=2)
    good = [m for m, *rest in pairs if rest and m.distance < 0.75 * rest[0].distance]
    if len(good) < 12:
        return None
    src = np.array([kp_b[m.queryIdx].pt for m in good], np.float32) / blank_px_per_pt
    dst = np.array([kp_s[m.trainIdx].pt for m in good], np.float32)
    return _fit(src, dst, "features", max_error_mm, ransac=True)
