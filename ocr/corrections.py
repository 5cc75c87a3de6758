"""Corrections on paper: crossed-out answers and stains in a written answer box.

A child who changes an answer scribbles over the first one (hatching, a tight scrawl, a
filled block) and writes the new one beside or above it in the same box; a page that sat
under a cup or was rubbed with a dirty eraser carries soft grey marks that are no writing
at all. Both reach the reader as "ink". :func:`find_corrections` runs on the cleaned crop
(``ocr.regions.remove_print``'s output, 3 px per point) before the box is measured and
read:

1. **Stains and smudges** are broad, smooth and light: what survives a grey opening with a
   disc wider than any pen stroke (``stain_disc_mm``), is much lighter than the pen strokes
   of the same crop (or, with no strokes, light outright), and is shaped like a stain, not
   like a bold light stroke: it fades in (soft edges) and is flat inside, where a pencil or
   faint pen stroke, however wide, rises and falls steeply across its width. Only what is
   clearly stain-like is subtracted (doubtful ink stays), so strokes written across a stain
   keep their own contrast.
2. **A crossed-out mass** is ink far denser than handwriting: solid over an area a disc
   wider than any pen stroke can sweep, of at least a digit's size (hatching, a scrawl,
   a filled block), where handwriting is strokes with paper between them. The mass, its hull and the
   strokes mostly inside it are erased; what remains, if it is enough ink to be an answer,
   is the rewritten answer (``corrected``), else the box was crossed out with nothing
   written instead.

A crop with neither is returned unchanged (the same array), so normal answers read
exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocr.regions import CROP_PX_PER_PT, has_ink, measure_ink

__all__ = [
    "CORRECTED_CONFIDENCE",
    "CORRECTED_DETAIL",
    "CROSSED_OUT_DETAIL",
    "CorrectionOptions",
    "Corrections",
    "corrected_detail",
    "find_corrections",
]

CROSSED_OUT_DETAIL = "crossed out, nothing rewritten: check it"
CORRECTED_DETAIL = "corrected: crossed out and rewritten beside it"
# A corrected reading's confidence is at most this, below the review policy's acceptance:
# a piece of the crossed-out answer left beside the new one reads as an extra digit (2 of
# 86 rewritten answers on HARD calibration photos were read so, sure of it), so a teacher
# confirms every correction; the reading is the suggestion.
CORRECTED_CONFIDENCE = 0.3
_MM_PER_PT = 25.4 / 72.0


@dataclass(frozen=True)
class CorrectionOptions:
    """Thresholds of :func:`find_corrections` (lengths in millimetres at print scale).

    Attributes:
        px_per_pt: the crop's resolution.
        stains: subtract stains and smudges too. Off here: what is erased is judged by
            its shape alone, and a light stroke taken for a smudge changes the answer
            (``12`` read ``2``), so a caller that turns it on must check the result;
            ``ocr.pipeline`` does (``ReadOptions.stains``, on), reading such a box again
            as scanned and asking a teacher when the two readings differ. A crossed-out
            mass is safe to erase by default: the reading it leaves is flagged corrected
            and goes to a teacher.
        ink_level: darker-than-paper level (0-255) that counts as ink
            (``ocr.regions.measure_ink``'s).
        shape_level: shapes are judged on the ink at least this share of the crop's pen
            strength (the 90th percentile of its ink).
        solid_mm: a crossed-out mass is solid ink (gaps of a pen's width closed) that a
            disc of this radius sweeps; no handwritten stroke is that wide, though a
            bold writer's filled loop may be.
        min_mass_mm: the smallest side of a crossed-out mass (a digit is 3.5 mm or more).
        min_mass_mm2: the smallest area of a crossed-out mass; on calibration pages a
            bold writer's filled loops reach about 10 mm², a scribbled-over digit about 12.
        cover_share: a stroke with at least this share of its pixels under the crossed-out
            zone is part of the crossed-out answer and goes with it.
        fragment_share: a stroke touching the zone and smaller than this share of the
            largest stroke left is a piece of the crossed-out answer.
        stain_disc_mm: disc of the grey opening that keeps only broad marks.
        stain_floor: broad marks lighter than this are ignored (paper tone).
        stain_min_mm2: the smallest stain.
        stain_ratio: a broad mark is a stain when its level is at most this share of the
            crop's pen strokes away from it.
        stain_alone: with no pen stroke in the crop, a broad mark up to this level is a
            stain (pencil is darker; a light pencil block is the limit).
        stain_rough: a broad mark whose strokes stand out of it by more than this share of
            its level on average is hatching, not a stain.
        halo_band_mm, halo_share: a broad mark with more than ``halo_share`` of its area in
            a band ``halo_band_mm`` wide around the pen's dark strokes is their halo (a
            blurred photo, a soft pencil), not a stain.
        stain_smooth: a stain is smooth inside: the mean slope of its ink more than
            ``stain_core_mm`` inside its outline, as a share of its peak per millimetre, is
            under this. A bold pencil stroke's is higher even at 2 mm wide (calibration
            writers, bold and pencil: 0.37 and up; stains: mostly 0.2-0.35).
        stain_soft: a stain fades in: the median slope of its outline (where its ink is at
            half its peak), as a share of its peak per millimetre, is under this. A stroke's
            edge is as steep as the pen and the scan make it (calibration: 1.24 and up on
            copier pages; on photos a few blurred strokes reach 1.1, kept by their inside;
            eraser smears about 0.5, coffee rims up to 1.6).
        stain_core_mm: how far inside a broad mark's outline its core starts.
    """

    px_per_pt: float = CROP_PX_PER_PT
    stains: bool = False
    ink_level: int = 35
    shape_level: float = 0.55
    solid_mm: float = 1.2
    min_mass_mm: float = 3.0
    min_mass_mm2: float = 12.0
    cover_share: float = 0.5
    fragment_share: float = 0.5
    stain_disc_mm: float = 1.3
    stain_floor: int = 22
    stain_min_mm2: float = 3.0
    stain_ratio: float = 0.5
    stain_alone: int = 95
    stain_rough: float = 0.5
    halo_band_mm: float = 1.0
    halo_share: float = 0.5
    stain_smooth: float = 0.4
    stain_soft: float = 1.2
    stain_core_mm: float = 0.3


@dataclass(frozen=True)
class Corrections:
    """What :func:`find_corrections` found in one crop.

    Attributes:
        ink: the crop with crossed-out masses and stains erased (the input array itself
            when nothing was found).
        crossed_out: a crossed-out mass was found and erased.
        corrected: ... and enough ink remains to be the rewritten answer.
        stains: how many stains or smudges were erased.
    """

    ink: np.ndarray
    crossed_out: bool = False
    corrected: bool = False
    stains: int = 0

    @property
    def nothing_rewritten(self) -> bool:
        """Crossed out with no answer written instead: a teacher looks (never blank)."""
        return self.crossed_out and not self.corrected


def corrected_detail(detail: str) -> str:
    """A corrected reading's detail: :data:`CORRECTED_DETAIL`, then the reader's own."""
    return CORRECTED_DETAIL + (f"; {detail}" if detail else "")


def _px(mm: float, o: CorrectionOptions) -> float:
    return mm / _MM_PER_PT * o.px_per_pt


def _disc(diameter: int) -> np.ndarray:
    d = max(3, diameter | 1)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (d, d))


def _slopes(strength: np.ndarray, o: CorrectionOptions) -> np.ndarray:
    """The ink's slope (strength per millimetre) at each pixel, lightly smoothed so a
    scan's grain does not count as slope."""
    px_mm = _px(1.0, o)
    smooth = cv2.GaussianBlur(strength.astype(np.float32), (0, 0), 0.15 * px_mm)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    return np.asarray(np.hypot(gx, gy) * (px_mm / 8.0), np.float32)


def _stain_shaped(region: np.ndarray, strength: np.ndarray, slopes: np.ndarray,
                  o: CorrectionOptions) -> bool:
    """Whether a broad mark is shaped like a stain (soft edged, flat inside) rather than a
    bold light stroke (steep edges, a ridge along its middle): see ``stain_smooth``."""
    peak = max(float(np.percentile(strength[region], 95)), 1.0)
    depth = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 5)
    core = depth > _px(o.stain_core_mm, o)
    if not core.any() or float(slopes[core].mean()) / peak >= o.stain_smooth:
        return False
    # The outline at half the peak, near the mark, off the crop's border (a mark the
    # crop cuts through has a straight, steep edge there that is no edge of its own).
    near = cv2.dilate(region.astype(np.uint8), _disc(round(_px(2 * o.stain_core_mm, o)))) > 0
    half = (cv2.GaussianBlur(strength, (0, 0), 0.15 * _px(1.0, o)) >= 0.5 * peak) & near
    rim = half & ~(cv2.erode(half.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    rim[:2, :] = rim[-2:, :] = rim[:, :2] = rim[:, -2:] = False
    if not rim.any():
        return False
    return float(np.median(slopes[rim])) / peak < o.stain_soft


def _erase_stains(strength: np.ndarray, o: CorrectionOptions) -> tuple[np.ndarray, int]:
    """The strength with stains and smudges subtracted, and how many there were."""
    broad = cv2.morphologyEx(strength, cv2.MORPH_OPEN, _disc(round(_px(o.stain_disc_mm, o))))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(
        (broad >= o.stain_floor).astype(np.uint8), connectivity=8)
    mm2_per_px = (_MM_PER_PT / o.px_per_pt) ** 2
    regions = [k for k in range(1, n) if stats[k, cv2.CC_STAT_AREA] * mm2_per_px
               >= o.stain_min_mm2]
    if not regions:
        return strength, 0
    inside = np.isin(labels, regions)
    residue = strength.astype(np.int16) - broad.astype(np.int16)
    # The pen: strokes away from every broad mark and its fringe (a stain's sharp rim,
    # narrower than the disc, is as light as the stain and lies next to it).
    near = cv2.dilate(inside.astype(np.uint8), _disc(9)) > 0
    pen_px = strength[~near & (strength >= o.ink_level)]
    pen = float(np.percentile(pen_px, 90)) if pen_px.size >= 30 else None
    # A blurred or soft stroke's grey halo is broad and light too, but hugs the stroke;
    # a stain lies mostly away from the writing.
    dark = strength >= max(o.ink_level, o.stain_ratio * pen) if pen is not None else None
    hugs = cv2.dilate(dark.astype(np.uint8), _disc(round(_px(o.halo_band_mm, o)))) > 0 \
        if dark is not None else None
    slopes = _slopes(strength, o)
    stains = []
    for k in regions:
        region = labels == k
        level = float(np.median(broad[region]))
        if level > (o.stain_alone if pen is None else o.stain_ratio * pen):
            continue
        if hugs is not None and float(hugs[region].mean()) > o.halo_share:
            continue
        rough = float(np.mean(np.clip(residue[region], 0, None))) / max(level, 1.0)
        if rough > o.stain_rough:
            continue
        if not _stain_shaped(region, strength, slopes, o):
            continue
        stains.append(k)
    if not stains:
        return strength, 0
    # With no writing beside it, the stain's sharp rim (narrower than the disc) goes too.
    grow = _disc(5 if pen is not None else 13)
    zone = cv2.dilate(np.isin(labels, stains).astype(np.uint8), grow) > 0
    under = cv2.dilate(np.where(zone, broad, 0).astype(np.uint8), grow).astype(np.int16)
    out = strength.copy()
    left = np.clip(strength.astype(np.int16) - under, 0, 255)
    # What stands out of a stain by less than the pen's half is its own rim, not writing.
    keep = max(o.ink_level, 0.5 * pen) if pen is not None else 256
    out[zone] = np.where(left[zone] >= keep, left[zone], 0).astype(np.uint8)
    return out, len(stains)


def _crossed_out_zone(strength: np.ndarray, o: CorrectionOptions) -> np.ndarray | None:
    """The crossed-out masses' zone (boolean), or None when the crop has none."""
    # Judge shapes at half the pen's strength: a scan's soft stroke edges, counted from
    # the faintest ink level, fill a handwritten loop into a blob.
    inked = strength[strength >= o.ink_level]
    pen = float(np.percentile(inked, 90)) if inked.size >= 30 else 255.0
    mask = cv2.morphologyEx((strength >= max(o.ink_level, o.shape_level * pen)).astype(np.uint8),
                            cv2.MORPH_CLOSE, _disc(5))
    solid = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _disc(round(2 * _px(o.solid_mm, o))))
    if not solid.any():
        return None
    n, labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    mm2_per_px = (_MM_PER_PT / o.px_per_pt) ** 2
    zone = np.zeros(strength.shape, np.uint8)
    for k in range(1, n):
        if stats[k, cv2.CC_STAT_AREA] * mm2_per_px < o.min_mass_mm2:
            continue
        pts = cv2.findNonZero((labels == k).astype(np.uint8))
        (_, _), (rw, rh), _ = cv2.minAreaRect(pts)
        if min(rw, rh) < _px(o.min_mass_mm, o):
            continue
        cv2.fillConvexPoly(zone, cv2.convexHull(pts), 1)
    if not zone.any():
        return None
    return cv2.dilate(zone, _disc(5)) > 0


def _drop_fragments(strength: np.ndarray, zone: np.ndarray, o: CorrectionOptions) -> None:
    """Erase, in place, what the crossed-out answer left poking out of its zone.

    A stroke that touches the zone and is under ``fragment_share`` of the largest stroke
    left is a piece of the old answer (or the scribble's end), not the rewritten one.
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(
        (strength >= o.ink_level).astype(np.uint8), connectivity=8)
    if n <= 1:
        return
    near = np.zeros(n, bool)
    near[np.unique(labels[cv2.dilate(zone.astype(np.uint8), _disc(7)) > 0])] = True
    areas = stats[:, cv2.CC_STAT_AREA]
    largest = int(areas[1:].max())
    drop = [k for k in range(1, n) if near[k] and areas[k] < o.fragment_share * largest]
    if drop:
        strength[np.isin(labels, drop)] = 0


def find_corrections(ink: np.ndarray, options: CorrectionOptions | None = None
                     ) -> Corrections:
    """Find crossed-out answers and stains in a cleaned answer crop and erase them.

    Args:
        ink: the cleaned crop (``ocr.regions.remove_print``: white paper, ink dark).
        options: thresholds.

    Returns:
        The crop without them and what was found; ``ink`` itself, untouched, when the crop
        holds neither.
    """
    o = options or CorrectionOptions()
    strength = (255 - ink).astype(np.uint8)
    cleaned, stains = _erase_stains(strength, o) if o.stains else (strength, 0)
    zone = _crossed_out_zone(cleaned, o)
    if zone is None:
        if not stains:
            return Corrections(ink)
        return Corrections((255 - cleaned).astype(np.uint8), stains=stains)
    strokes = (cleaned >= o.ink_level).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(strokes, connectivity=8)
    covered = np.bincount(labels[zone], minlength=n)
    whole = stats[:, cv2.CC_STAT_AREA]
    gone = [k for k in range(1, n) if covered[k] >= o.cover_share * whole[k]]
    out = cleaned.copy()
    out[zone | np.isin(labels, gone)] = 0
    _drop_fragments(out, zone, o)
    rest = (255 - out).astype(np.uint8)
    return Corrections(rest, crossed_out=True, corrected=has_ink(measure_ink(rest)),
                       stains=stains)
