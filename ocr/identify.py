"""Identify: which worksheet, page and student a scanned page is, and which way up it is.

The page's QR code (see :mod:`errorbook.contract`) says worksheet, page and (for personalised
copies) student; its orientation gives the page's rotation in steps of 90°. A page with no
markbook code is classed as blank (almost no ink) or unidentified, for the caller to match
against registered blanks or to ask a teacher.

Both code versions are read: ``MB2`` (every current print) also carries the printing
install's id and the page's layout hash, which only the caller can check against its own
(``service.jobs.pageident.foreign_reason``); an ``MB1`` code (older prints) carries
neither. Identifying a page never decides whether it is ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import zxingcpp

from errorbook.contract import PageCode, PageCodeError, parse_page_code

__all__ = ["BLANK_INK_RATIO", "Identification", "identify_page", "ink_ratio"]

# Share of dark pixels below which a page counts as blank.
BLANK_INK_RATIO = 0.002
_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


@dataclass(frozen=True)
class Identification:
    """What the page is.

    Attributes:
        status: ``identified`` (a markbook code), ``foreign_code`` (someone else's QR),
            ``blank`` (no code, almost no ink) or ``no_code`` (ink but no readable code).
        code: the parsed page code when identified.
        qr_text: the raw QR text when a QR code was read.
        rotation: degrees (0, 90, 180, 270) the scan was turned to make it upright.
        ink_ratio: share of dark pixels on the page.
    """

    status: Literal["identified", "foreign_code", "blank", "no_code"]
    code: PageCode | None
    qr_text: str | None
    rotation: int
    ink_ratio: float


# A page image narrower than this holds no readable page code.
MIN_SIDE_PX = 64


def ink_ratio(image: np.ndarray) -> float:
    """Share of clearly dark pixels (Otsu on a downscaled copy; robust to grey paper)."""
    if min(image.shape[:2]) < 4:
        small = image
    else:
        small = cv2.resize(image, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    thresh, _ = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # On a nearly empty page Otsu splits paper noise; never call paper-grey "ink".
    thresh = min(thresh, 128)
    return float((small < thresh).mean())


def _read_qr_in(image: np.ndarray) -> list[zxingcpp.Result]:
    h, w = image.shape[:2]
    # The code sits in a corner; look in the four corner regions before the whole page.
    ch, cw = h // 4, w // 3
    corners = [(0, w - cw), (0, 0), (h - ch, 0), (h - ch, w - cw)]
    if min(h, w) < MIN_SIDE_PX:  # no code fits (and the decoder refuses empty views)
        return []
    for y, x in corners:
        region = np.ascontiguousarray(image[y:y + ch, x:x + cw])
        found = zxingcpp.read_barcodes(region, formats=_QR_ONLY)
        if found:
            return list(found)
    return list(zxingcpp.read_barcodes(image, formats=_QR_ONLY))


def _read_qr(image: np.ndarray) -> list[zxingcpp.Result]:
    found = _read_qr_in(image)
    if found:
        return found
    # A copier that binarises a blurred scan bloats dark modules into their neighbours
    # (a 200 dpi QR has modules of ~5 px); a light or thin print loses them. Retry with
    # the dark strokes thinned by one or two pixels, then thickened by one: this costs
    # time only on pages that had no readable code at all.
    for op, size in ((cv2.dilate, 2), (cv2.dilate, 3), (cv2.erode, 2)):
        found = _read_qr_in(op(image, np.ones((size, size), np.uint8)))
        if found:
            return found
    return []


def identify_page(image: np.ndarray) -> tuple[Identification, np.ndarray]:
    """Read the page's code and turn the page upright.

    Args:
        image: a greyscale page (uint8, H×W), any rotation.

    Returns:
        The identification and the upright image (the input itself when not rotated).
    """
    results = _read_qr(image)
    ours = []
    for r in results:
        try:
            ours.append((parse_page_code(r.text), r))
        except PageCodeError:
            continue
    if ours:
        code, result = ours[0]
        steps = round(result.orientation / 90.0) % 4
        upright = np.ascontiguousarray(np.rot90(image, steps)) if steps else image
        rotation = (360 - steps * 90) % 360
        return Identification("identified", code, result.text, rotation, ink_ratio(upright)), \
            upright
    ratio = ink_ratio(image)
    if results:
        return Identification("foreign_code", None, results[0].text, 0, ratio), image
    status: Literal["blank", "no_code"] = "blank" if ratio < BLANK_INK_RATIO else "no_code"
    return Identification(status, None, None, 0, ratio), image
