"""Text-line detection: the engine interface, PP-OCR's DB detector on onnxruntime, and a fake.

:class:`PPOCRDetector` runs the PP-OCR detection model (a DB, "differentiable
binarisation", network: it outputs a per-pixel text probability map) on an injected
onnxruntime session opened once by the caller with :func:`models.loader.open_session`.
Post-processing follows the DB recipe: threshold the map, take each connected region's
contour, fit a rotated rectangle, score it by the mean probability inside, and grow
("unclip") it by ``area * ratio / perimeter``, because the network is trained to predict a
shrunk kernel of each text line.

Pages are scaled down so their longer side is at most ``max_side`` pixels (a multiple of the
network's stride of 32): detection needs far less resolution than recognition, and the
cost grows with the pixel count. Pages of the same scaled size are batched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import cv2
import numpy as np

from ocr.reading.preprocess import to_gray

__all__ = [
    "DetectionError",
    "DetectorOptions",
    "FakeDetector",
    "PPOCRDetector",
    "TextBox",
    "TextDetector",
    "boxes_from_probability",
    "sort_reading_order",
]

Quad = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]


class DetectionError(RuntimeError):
    """The detection engine failed on a page (a model or runtime fault, not bad input)."""


@dataclass(frozen=True)
class TextBox:
    """One detected text line, in the pixel space of the image given to the detector.

    Attributes:
        quad: The rotated rectangle's four corners, clockwise from the top-left.
        box: Its axis-aligned bounding box ``(x0, y0, x1, y1)``, clipped to the image.
        score: Mean text probability inside the box (0..1).
        angle: Rotation of the box's long side in degrees (small for a scanned page).
    """

    quad: Quad
    box: tuple[int, int, int, int]
    score: float
    angle: float = 0.0

    @property
    def height(self) -> int:
        """Height of the axis-aligned box in pixels."""
        return self.box[3] - self.box[1]


class TextDetector(Protocol):
    """Finds text lines on page images.

    Implementations return one list of boxes per page, in order; a page without text
    gives an empty list. An engine fault raises :class:`DetectionError` (the caller turns
    it into a page status), never an empty list, so "no text" and "failed" stay apart.
    """

    def detect(self, images: Sequence[np.ndarray]) -> list[list[TextBox]]:
        """Detect text lines.

        Args:
            images: uint8 grayscale or BGR page images.

        Returns:
            Per image, its text boxes in reading order (top to bottom, left to right).

        Raises:
            DetectionError: If the engine failed.
        """
        ...


@dataclass(frozen=True)
class DetectorOptions:
    """Settings of :class:`PPOCRDetector`.

    Attributes:
        max_side: Longer side of the scaled page fed to the network, in pixels. 960 on
            an A4 page is ~82 dpi: printed digits 3-3.8 mm tall are still 10-12 px tall,
            enough for the detector, and the network costs 0.56x what 1280 did (item
            recall and expression reading unchanged on the drill benchmark's pages; the
            expressions are read from the full-resolution page, not from this one).
        thresh: Probability above which a pixel is text.
        box_thresh: Minimum mean probability of a kept box.
        unclip_ratio: How far the shrunk kernel is grown back (DB's ``r``).
        min_size: Shorter side (network pixels) below which a region is noise.
        max_candidates: Most regions examined per page.
        dilate: Dilate the binary map by 2x2 first, joining strokes of one line.
        max_batch: Pages per model call.
    """

    max_side: int = 960
    thresh: float = 0.3
    box_thresh: float = 0.5
    unclip_ratio: float = 1.6
    min_size: float = 3.0
    max_candidates: int = 1000
    dilate: bool = True
    max_batch: int = 2


def _prepare(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float, float]:
    gray = to_gray(image)
    h, w = gray.shape
    scale = min(1.0, max_side / max(h, w))
    nh = max(32, round(h * scale / 32) * 32)
    nw = max(32, round(w * scale / 32) * 32)
    resized = cv2.resize(gray, (nw, nh), interpolation=cv2.INTER_AREA)
    # The network expects 3 channels normalised to [-1, 1]; grey is repeated.
    return resized.astype(np.float32) / 127.5 - 1.0, w / nw, h / nh


def _order_quad(pts: np.ndarray) -> np.ndarray:
    # Sort by x, then split left/right pairs by y: robust for near-axis-aligned boxes.
    xs = pts[np.argsort(pts[:, 0])]
    left, right = xs[:2], xs[2:]
    tl, bl = left[np.argsort(left[:, 1])]
    tr, br = right[np.argsort(right[:, 1])]
    return np.array([tl, tr, br, bl], np.float32)


def _box_score(prob: np.ndarray, contour: np.ndarray) -> float:
    h, w = prob.shape
    x, y, bw, bh = cv2.boundingRect(contour)
    x1, y1 = min(x + bw, w), min(y + bh, h)
    mask = np.zeros((y1 - y, x1 - x), np.uint8)
    cv2.fillPoly(mask, [contour.reshape(-1, 2) - np.array([x, y])], 1)
    if not mask.any():
        return 0.0
    return float(cv2.mean(prob[y:y1, x:x1], mask)[0])


def boxes_from_probability(
    prob: np.ndarray, scale_x: float, scale_y: float, size: tuple[int, int], o: DetectorOptions
) -> list[TextBox]:
    """DB post-processing of one probability map.

    Args:
        prob: (H, W) float text probability from the network.
        scale_x: Original pixels per network pixel, horizontally.
        scale_y: The same, vertically.
        size: The original image's (width, height), for clipping.
        o: Thresholds.

    Returns:
        Boxes in the original image's pixel space, in reading order.
    """
    binary = np.asarray(prob > o.thresh, np.uint8)
    if o.dilate:
        binary = np.asarray(cv2.dilate(binary, np.ones((2, 2), np.uint8)), np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    out: list[TextBox] = []
    width, height = size
    for contour in contours[: o.max_candidates]:
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if min(rw, rh) < o.min_size:
            continue
        score = _box_score(prob, contour)
        if score < o.box_thresh:
            continue
        # Offsetting a rectangle outward by d adds 2d to each side; d = A * r / L.
        d = rw * rh * o.unclip_ratio / max(2.0 * (rw + rh), 1e-6)
        grown = ((cx, cy), (rw + 2 * d, rh + 2 * d), angle)
        if min(rw, rh) + 2 * d < o.min_size + 2:
            continue
        pts = np.asarray(cv2.boxPoints(grown), np.float64)
        pts[:, 0] *= scale_x
        pts[:, 1] *= scale_y
        quad = _order_quad(pts)
        x0 = int(np.clip(np.floor(quad[:, 0].min()), 0, width))
        x1 = int(np.clip(np.ceil(quad[:, 0].max()), 0, width))
        y0 = int(np.clip(np.floor(quad[:, 1].min()), 0, height))
        y1 = int(np.clip(np.ceil(quad[:, 1].max()), 0, height))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        dx, dy = quad[1] - quad[0]
        q = tuple((float(px), float(py)) for px, py in quad)
        out.append(
            TextBox(q, (x0, y0, x1, y1), score, float(np.degrees(np.arctan2(dy, dx))))  # type: ignore[arg-type]
        )
    return sort_reading_order(out)


def sort_reading_order(boxes: Sequence[TextBox]) -> list[TextBox]:
    """Sort boxes top to bottom, then left to right within a line.

    Args:
        boxes: Text boxes.

    Returns:
        The boxes, boxes whose vertical centres lie within half a line height of each
        other counted as one line.
    """
    rest = sorted(boxes, key=lambda b: (b.box[1] + b.box[3]) / 2)
    out: list[TextBox] = []
    while rest:
        first = rest[0]
        centre = (first.box[1] + first.box[3]) / 2
        line = [b for b in rest if abs((b.box[1] + b.box[3]) / 2 - centre) < first.height / 2]
        out.extend(sorted(line, key=lambda b: b.box[0]))
        rest = [b for b in rest if b not in line]
    return out


class PPOCRDetector:
    """PP-OCR DB text detector.

    Args:
        session: An onnxruntime ``InferenceSession`` of the PP-OCR det model.
        options: Scaling, thresholds and batching.
    """

    def __init__(self, session: Any, options: DetectorOptions | None = None) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self.options = options or DetectorOptions()

    def probability_maps(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Run the network.

        Args:
            images: uint8 grayscale or BGR pages.

        Returns:
            Per page, the (H', W') probability map at the scaled size.

        Raises:
            DetectionError: If the engine failed.
        """
        prepared = [_prepare(img, self.options.max_side) for img in images]
        out: list[np.ndarray | None] = [None] * len(images)
        groups: dict[tuple[int, int], list[int]] = {}
        for i, (arr, _, _) in enumerate(prepared):
            groups.setdefault((arr.shape[0], arr.shape[1]), []).append(i)
        for shape, members in groups.items():
            for start in range(0, len(members), self.options.max_batch):
                chunk = members[start : start + self.options.max_batch]
                batch = np.empty((len(chunk), 3, *shape), np.float32)
                for j, i in enumerate(chunk):
                    batch[j] = prepared[i][0][None]
                try:
                    maps = self._session.run(None, {self._input: batch})[0]
                except Exception as exc:  # any runtime fault is a DetectionError
                    raise DetectionError(f"{type(exc).__name__}: {exc}") from exc
                for j, i in enumerate(chunk):
                    out[i] = np.asarray(maps[j, 0], np.float32)
        return [m for m in out if m is not None]

    def detect(self, images: Sequence[np.ndarray]) -> list[list[TextBox]]:
        """Detect text lines (see :meth:`TextDetector.detect`).

        Args:
            images: uint8 grayscale or BGR pages.

        Returns:
            Per page, its boxes in reading order.

        Raises:
            DetectionError: If the engine failed.
        """
        maps = self.probability_maps(images)
        result = []
        for img, prob in zip(images, maps, strict=True):
            h, w = img.shape[:2]
            sx, sy = w / prob.shape[1], h / prob.shape[0]
            result.append(boxes_from_probability(prob, sx, sy, (w, h), self.options))
        return result


@dataclass
class FakeDetector:
    """Scripted detector for tests, with fault injection.

    Args:
        script: Boxes returned for every page, or a callable from page index to boxes.
        fault: ``None`` or ``"raise"`` (the engine crashes with :class:`DetectionError`).
    """

    script: Sequence[TextBox] | Callable[[int], Sequence[TextBox]] = field(default_factory=tuple)
    fault: Literal["raise"] | None = None
    calls: int = 0

    def detect(self, images: Sequence[np.ndarray]) -> list[list[TextBox]]:
        """Return the scripted boxes (see :meth:`TextDetector.detect`).

        Args:
            images: Pages (only their count matters).

        Returns:
            Per page, the scripted boxes.

        Raises:
            DetectionError: When ``fault="raise"``.
        """
        self.calls += 1
        if self.fault == "raise":
            raise DetectionError("injected crash")
        if callable(self.script):
            return [list(self.script(i)) for i in range(len(images))]
        return [list(self.script) for _ in images]
