"""How the identity readers cut their boxes out of a page: as a copier scan, or as a photo.

A copier lights a page evenly and keeps it flat, so a box is cut where the page's
homography puts it. A phone photo does neither (``ocr.shading``, ``ocr.relocate``): the
hand's shadow or a lamp to one side leaves paper half as bright in one place as in another,
and a curled edge moves the boxes near it a millimetre or two from where the corner markers
put them, enough for a comb box's border to slide into its crop and be read as a ``1``.

So the readers take a :class:`Capture`, decided once per page (:func:`capture_of`), the
same way the answer boxes are read (``ocr.pipeline``): each crop is divided by the paper's
level under it when the light is uneven (:func:`cut`), and on a page that is not flat each
box is located again by its printed border and corners before it is cut
(:func:`locate`). A box whose border is not found is not read (no evidence, never a guess).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ocr.align import Alignment
from ocr.regions import crop_transform, warp_box
from ocr.relocate import BoxFit, locate_boxes, page_is_flat
from ocr.shading import PaperLevel, flatten, measure_paper, paper_crop

__all__ = ["COPIER", "Capture", "capture_of", "cut", "homography_of", "locate"]

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Capture:
    """How one page's boxes are cut.

    Attributes:
        paper: the paper's level over the page image; crops are divided by it when its
            light is uneven (``paper.flattens``). None: cut as they are.
        relocate: the page is not flat (a photo): each box is located again by its
            printed border before it is cut.
    """

    paper: PaperLevel | None = None
    relocate: bool = False


# A copier scan: boxes cut where the homography puts them, as they are.
COPIER = Capture()


def homography_of(alignment: Alignment | np.ndarray) -> np.ndarray:
    """The page-points → image-pixels 3×3 of an alignment (or the matrix itself)."""
    return alignment.matrix() if isinstance(alignment, Alignment) else np.asarray(alignment)


def capture_of(upright: np.ndarray, alignment: Alignment | np.ndarray, blank_page: np.ndarray,
               blank_px_per_pt: float, probes: Sequence[Box],
               paper: PaperLevel | None = None) -> Capture:
    """Decide how a page's identity boxes are cut (a few milliseconds; the paper level is
    measured on a 1 px/mm copy when not given).

    Args:
        upright: the page image, turned upright.
        alignment: its page-space → pixel alignment.
        blank_page: the blank page rendered at ``blank_px_per_pt`` (its size is the page's).
        blank_px_per_pt: that rendering's resolution.
        probes: printed boxes whose place tells whether the page is flat (the comb, the
            name box: ``ocr.relocate.page_is_flat``).
        paper: the page's paper level when already measured.

    Returns:
        The capture: a photo (unevenly lit, or the page well inside a larger frame, or its
        boxes off their places) is relocated; paper is flattened when uneven.
    """
    homography = homography_of(alignment)
    bh, bw = blank_page.shape[:2]
    size = (bw / blank_px_per_pt, bh / blank_px_per_pt)
    if paper is None:
        paper = measure_paper(upright, homography, size)
    flat = page_is_flat(upright, homography, list(probes), size, blank_page, blank_px_per_pt,
                        paper)
    return Capture(paper, not flat)


def locate(upright: np.ndarray, alignment: Alignment | np.ndarray, boxes: Sequence[Box],
           blank_page: np.ndarray, blank_px_per_pt: float, capture: Capture, *,
           margin_pt: float = 3.0, bordered: bool = True) -> list[BoxFit] | None:
    """Where each box's printed border lies on a page that is not flat.

    Args:
        upright, alignment, blank_page, blank_px_per_pt: as for :func:`capture_of`.
        boxes: the boxes in page points.
        capture: the page's capture.
        margin_pt: print kept around each box in the matched template.
        bordered: the boxes are rectangles whose corners are refined (False for a row of
            bubbles, which only moves).

    Returns:
        One fit per box (``ocr.relocate.locate_boxes``), or None on a flat page (cut
        every box where the homography puts it).
    """
    if not capture.relocate or not boxes:
        return None
    return locate_boxes(upright, homography_of(alignment), boxes, blank_page, blank_px_per_pt,
                        capture.paper, margin_pt=margin_pt, bordered=[bordered] * len(boxes))


def cut(upright: np.ndarray, alignment: Alignment | np.ndarray, box: Box, capture: Capture,
        *, margin_pt: float, fit: BoxFit | None = None) -> np.ndarray:
    """A box's canonical crop (``ocr.regions.warp_box``), moved by its fit and divided by
    the paper's level under it on an unevenly lit page.

    Args:
        upright: the page image, turned upright.
        alignment: its page-space → pixel alignment.
        box: the box in page points.
        capture: the page's capture.
        margin_pt: border kept around the box (negative: cut inside it).
        fit: where the box was located (:func:`locate`), or None: where the homography
            puts it.
    """
    homography = homography_of(alignment)
    if fit is not None:
        homography = homography @ fit.local(box)
    crop = warp_box(upright, homography, box, margin_pt=margin_pt)
    paper = capture.paper
    if paper is None or not paper.flattens:
        return crop
    transform = crop_transform(homography, box, margin_pt=margin_pt)
    return flatten(crop, paper_crop(paper, transform, (crop.shape[1], crop.shape[0])))
