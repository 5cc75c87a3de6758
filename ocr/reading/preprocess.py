"""Answer-box crop preparation for the line recogniser.

PP-OCR was trained on tight, dark-on-light text lines. An answer-box crop is not that: it
has the printed box border around it, a lot of empty paper, uneven paper tone, and pencil
answers that are barely darker than the paper. :func:`prepare_crop` turns a crop into an
ink map (1 = ink), erases the printed border's straight lines, trims to the ink with a
margin, and redraws it as clean black-on-white at the recogniser's input height.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from ocr.reading.dashes import bridge_leading_dash

__all__ = [
    "FAINT_LEVEL",
    "INK_LEVEL",
    "RAW",
    "PrepOptions",
    "PreparedCrop",
    "clean_ink",
    "ink_components",
    "ink_map",
    "prepare_crop",
    "prepare_ink",
    "to_gray",
]


@dataclass(frozen=True)
class PrepOptions:
    """How crops are prepared.

    Attributes:
        height: Output height in pixels (the recogniser's input height).
        pad: Margin around the ink bounding box, as a fraction of the ink height.
        remove_border: Erase long straight lines near the crop's edges (the printed box).
        tight: Trim to the ink bounding box; False keeps the whole crop.
        min_ink_fraction: Below this fraction of ink pixels the box counts as blank.
        raw: Only resize the crop to ``height`` (the baseline a generic OCR call sees);
            the other settings are ignored and no crop is ever reported blank.
        bridge_dashes: Redraw a leading minus the scan broke into specks
            (``ocr.reading.dashes.bridge_leading_dash``).
    """

    height: int = 48
    pad: float = 0.25
    remove_border: bool = True
    tight: bool = True
    min_ink_fraction: float = 0.0015
    raw: bool = False
    bridge_dashes: bool = True


RAW = PrepOptions(raw=True)


@dataclass(frozen=True)
class PreparedCrop:
    """A crop ready for the recogniser.

    Attributes:
        image: uint8 grayscale, ``height`` rows; None when the box is blank.
        ink_fraction: Fraction of crop pixels that are ink after border removal.
    """

    image: np.ndarray | None
    ink_fraction: float


def to_gray(crop: np.ndarray) -> np.ndarray:
    """Convert a crop to uint8 grayscale.

    Args:
        crop: (H, W) or (H, W, 3) BGR uint8 image.

    Returns:
        (H, W) uint8.

    Raises:
        ValueError: If the array is not an image.
    """
    if crop.ndim == 3 and crop.shape[2] == 3:
        return cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    if crop.ndim == 2:
        return crop.astype(np.uint8, copy=False)
    raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {crop.shape}")


def ink_map(gray: np.ndarray) -> npt.NDArray[np.float32]:
    """Estimate ink coverage per pixel from the paper tone.

    Args:
        gray: uint8 grayscale crop.

    Returns:
        float32 darkness in 0..1 relative to the paper (1 = black on white paper).
    """
    g = gray.astype(np.float32)
    paper = max(float(np.percentile(g, 75)), 1.0)
    darkness = (paper - g) / paper
    np.clip(darkness, 0.0, 1.0, out=darkness)
    return darkness


def _rule_band(mask: np.ndarray, pixels: np.ndarray, origin: tuple[int, int], along: str,
               spread: int) -> None:
    """Mark the band a straight printed rule covers, not everything touching it.

    A digit written against the box (a leading ``1`` on the left side, a ``2`` sitting on
    the bottom rule) joins the rule's connected run; erasing the whole run erased the
    digit. The rule's outer edge is found per row (per column for a horizontal rule) on
    the side it borders, a straight line is fitted through it, and only the rule's own
    thickness, widened by ``spread`` for blur and JPEG, is marked.

    Args:
        mask: uint8 mask to mark (255), the whole crop.
        pixels: bool image of the rule's run, cut to its bounding box.
        origin: (x, y) of that box in the crop.
        along: ``"v"`` for a side rule, ``"h"`` for a top or bottom rule.
        spread: Pixels added on each side of the rule's own thickness.
    """
    h, w = mask.shape
    x0, y0 = origin
    # Work with rows along the rule and columns across it: transpose a horizontal rule.
    sub = pixels if along == "v" else pixels.T
    offset_along, offset_across = (y0, x0) if along == "v" else (x0, y0)
    size_across = w if along == "v" else h
    n_across = sub.shape[1]
    outer_low = offset_across + n_across / 2 < size_across / 2  # left or top rule
    if not outer_low:
        sub = sub[:, ::-1]  # measure from the outer (right or bottom) side
    rows = np.flatnonzero(sub.any(axis=1))
    sub = sub[rows]
    first = sub.argmax(axis=1)
    cols = np.arange(n_across)[None, :]
    gap = ~sub & (cols >= first[:, None])
    # The run from the outer edge inwards is the rule's thickness in that row.
    runs = np.where(gap.any(axis=1), gap.argmax(axis=1), n_across) - first
    edge = first.astype(np.float64)
    fit = _straight_line(rows, edge)
    near = np.abs(fit[0] * rows + fit[1] - edge) <= 2.0
    if near.sum() > 1:  # refit without the rows where handwriting reached the edge
        fit = _straight_line(rows[near], edge[near])
    # Handwriting touching the rule only ever lengthens a row's run: take a low quantile.
    thick = float(np.percentile(runs[near] if near.any() else runs, 20))
    span = np.arange(int(rows.min()) - spread, int(rows.max()) + spread + 1)
    lo = fit[0] * span + fit[1] - spread  # from the outer side, in the flipped frame
    hi = lo + thick + 2 * spread
    if outer_low:
        a, b = offset_across + lo, offset_across + hi
    else:
        a, b = offset_across + n_across - hi, offset_across + n_across - lo
    keep = (span + offset_along >= 0) & (span + offset_along < (h if along == "v" else w))
    span, a, b = span[keep] + offset_along, a[keep], b[keep]
    if span.size == 0:
        return
    across = np.arange(size_across)[None, :]
    band = (across >= np.floor(a)[:, None]) & (across < np.ceil(b)[:, None])
    if along == "v":
        mask[span[0]:span[-1] + 1][band] = 255
    else:
        mask[:, span[0]:span[-1] + 1][band.T] = 255


def _straight_line(t: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """Least-squares ``v = slope * t + intercept`` (np.polyfit costs 20x more here)."""
    tm, vm = float(t.mean()), float(v.mean())
    var = float(((t - tm) ** 2).sum())
    slope = float(((t - tm) * (v - vm)).sum()) / var if var > 0 else 0.0
    return slope, vm - slope * tm


def _line_mask(binary: np.ndarray) -> np.ndarray:
    h, w = binary.shape
    mask = np.zeros_like(binary)
    # Blur and JPEG spread a rule's edges; at 300 dpi that is wider than at 150 dpi.
    spread = 2 if h < 120 else 3
    # Short structuring elements tolerate the +-3 degree page skew: a tilted 2 px rule
    # still has horizontal runs of ~40 px; whether it is a rule is decided by the length
    # of the connected run afterwards, not by the kernel.
    for kernel, along in (((max(8, w // 16), 1), "h"), ((1, max(8, h // 10)), "v")):
        opened = cv2.morphologyEx(binary, cv2.MORPH_OPEN, np.ones(kernel[::-1], np.uint8))
        n, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
        # The horizontal rules alone, where side rules meet them (read in the "v" pass).
        across = mask.copy() if along == "v" else mask
        for k in range(1, n):
            x, y, bw, bh = stats[k, :4]
            if along == "h":
                is_rule = bw >= 0.3 * w
            else:
                # A handwritten "1" is vertical too; only tall runs hugging a side qualify.
                cx = x + bw / 2
                near_side = cx < 0.15 * w or cx > 0.85 * w
                hugging = cx < 0.06 * w or cx > 0.94 * w
                # A cropper that cut into the box leaves only part of a side rule.
                # It is straight, too: a side rule skewed 3 degrees is barely wider than
                # its stroke, a written "1" usually leans.
                is_rule = (bh >= 0.55 * h and near_side) or (
                    bh >= 0.3 * h and hugging and bw <= 0.08 * bh + 6)
                # A side rule ends at a corner of the box or runs off the crop; a "1"
                # written against the side ends in the open.
                is_rule = is_rule and (
                    y <= 2 or y + bh >= h - 2
                    or bool(across[max(y - 4, 0):y + 5, x:x + bw].any())
                    or bool(across[max(y + bh - 5, 0):y + bh + 4, x:x + bw].any()))
            if is_rule:
                _rule_band(mask, labels[y:y + bh, x:x + bw] == k, (int(x), int(y)), along,
                           spread)
    return mask


def _drop_edge_debris(ink: np.ndarray) -> np.ndarray:
    """Remove ink lying wholly in the crop's outer band: stubs of rules and page corners.

    A digit written right against the box's side also lies in that band once the rule is
    erased; it is kept when it is about as tall as the tallest ink inside (0.5-1.5
    times; a side rule the erasing missed spans the whole box) and does not run off the
    crop's edge (stubs and corners reach the edge).
    """
    h, w = ink.shape
    binary = (ink > 0.35).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    band = []
    inner_height = 0
    for k in range(1, n):
        x, y, bw, bh = (int(v) for v in stats[k, :4])
        if x + bw <= 0.07 * w or x >= 0.93 * w or y + bh <= 0.1 * h or y >= 0.9 * h:
            at_edge = x <= 1 or y <= 1 or x + bw >= w - 1 or y + bh >= h - 1
            band.append((k, bh, at_edge))
        elif stats[k, cv2.CC_STAT_AREA] >= 3:
            inner_height = max(inner_height, bh)
    out = ink
    for k, bh, at_edge in band:
        if not at_edge and 0.5 * inner_height <= bh <= 1.5 * inner_height:
            continue
        if out is ink:
            out = ink.copy()
        out[labels == k] = 0.0
    return out


def _erase_border_lines(ink: np.ndarray) -> np.ndarray:
    binary = (ink > 0.5 * float(ink.max())).astype(np.uint8) * 255
    out = ink.copy()
    out[_line_mask(binary) > 0] = 0.0
    return _drop_edge_debris(out)


INK_LEVEL = 0.35
"""Ink-map level above which a pixel counts as a stroke."""

FAINT_LEVEL = 0.2
"""Lower level that follows a stroke into its faint, blurred edges (hysteresis)."""


def ink_components(ink: np.ndarray, min_share: float
                   ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Connected stroke components worth reading, and the rest dropped as speckle.

    JPEG and copier speckle is a few pixels; a written dot is larger than a small share
    of the biggest stroke. A mark too small by that measure is looked at again through
    the pixels above ``FAINT_LEVEL`` connected to it (hysteresis): a quick, thin minus or
    a light slash, blurred by the scan, keeps only a thread or two of pixels above
    ``INK_LEVEL`` though it is plainly visible (on calib-split pages 4 of 101 misreads
    had lost a visible leading ``-`` this way). When the faint mark is big enough, at
    least a quarter as long as the tallest stroke is high, and no component of it passes
    on its own, its threads are kept as one component. A digit's own shards share the
    digit's faint halo, which the digit passes, so they stay dropped.

    Args:
        ink: float32 ink map (1 = darkest stroke).
        min_share: Smallest kept size as a share of the largest component's.

    Returns:
        The labels and stats at ``INK_LEVEL`` (``cv2.connectedComponentsWithStats``; the
        threads of one faint mark relabelled as one component) and the kept labels,
        sorted left to right.
    """
    binary = (ink > INK_LEVEL).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n <= 1:
        return labels, stats, []
    areas = stats[1:, cv2.CC_STAT_AREA]
    least = max(3.0, min_share * float(areas.max()))
    passing = areas >= least
    keep = [int(k) + 1 for k in np.flatnonzero(passing)]
    if not keep:  # specks only (every piece under 3 px): nothing to read, nothing to measure
        return labels, stats, []
    if not passing.all():
        faint = (ink > FAINT_LEVEL).astype(np.uint8)
        _, faint_labels, faint_stats, _ = cv2.connectedComponentsWithStats(faint,
                                                                           connectivity=8)
        # Every stroke pixel is above FAINT_LEVEL too, so all pixels of one component name
        # the same faint mark: any write wins (no sort, unlike np.unique).
        owner = np.zeros(n, np.int64)
        owner[labels.ravel()] = faint_labels.ravel()
        owner = owner[1:]
        claimed = set(owner[passing].tolist())
        tallest = float(stats[1:, cv2.CC_STAT_HEIGHT][passing].max())
        for mark in sorted(set(owner[~passing].tolist()) - claimed):
            # A stroke, not a blot: a faint speck can be as big but is never as long.
            length = max(faint_stats[mark, cv2.CC_STAT_WIDTH],
                         faint_stats[mark, cv2.CC_STAT_HEIGHT])
            if faint_stats[mark, cv2.CC_STAT_AREA] < least or length < 0.25 * tallest:
                continue
            members = [int(k) + 1 for k in np.flatnonzero(owner == mark)]
            labels, stats = _join(labels, stats, members)
            keep.append(members[0])
    return labels, stats, sorted(keep, key=lambda k: stats[k, cv2.CC_STAT_LEFT])


def _join(labels: np.ndarray, stats: np.ndarray, members: list[int]
          ) -> tuple[np.ndarray, np.ndarray]:
    """Relabel ``members`` as the first of them, with the union's box and area."""
    if len(members) == 1:
        return labels, stats
    stats = stats.copy()
    labels = np.where(np.isin(labels, members[1:]), members[0], labels)
    st = stats[members]
    x0, y0 = int(st[:, 0].min()), int(st[:, 1].min())
    x1, y1 = int((st[:, 0] + st[:, 2]).max()), int((st[:, 1] + st[:, 3]).max())
    stats[members[0]] = (x0, y0, x1 - x0, y1 - y0, int(st[:, 4].sum()))
    stats[members[1:], 4] = 0
    return labels, stats


def _ink_bbox(stats: np.ndarray, keep: list[int]) -> tuple[int, int, int, int] | None:
    if not keep:
        return None
    x0 = int(stats[keep, cv2.CC_STAT_LEFT].min())
    y0 = int(stats[keep, cv2.CC_STAT_TOP].min())
    x1 = int((stats[keep, cv2.CC_STAT_LEFT] + stats[keep, cv2.CC_STAT_WIDTH]).max())
    y1 = int((stats[keep, cv2.CC_STAT_TOP] + stats[keep, cv2.CC_STAT_HEIGHT]).max())
    return x0, y0, x1, y1


def clean_ink(
    crop: np.ndarray, options: PrepOptions | None = None
) -> tuple[np.ndarray | None, float]:
    """Ink map of a crop with the printed border erased, trimmed to the ink with a margin.

    Args:
        crop: Grayscale or BGR uint8 crop of an answer box.
        options: Preparation settings (``pad``, ``remove_border``, ``tight``,
            ``min_ink_fraction``, ``bridge_dashes`` apply).

    Returns:
        The float32 ink map (1 = darkest handwriting) or None when the box is blank, and
        the ink fraction.

    Raises:
        ValueError: If ``crop`` is not an image.
    """
    o = options or PrepOptions()
    ink: np.ndarray = ink_map(to_gray(crop))
    if o.remove_border:
        ink = _erase_border_lines(ink)
    # Rescale so the handwriting's own darkest strokes are 1: light pencil then looks like
    # pen. The printed rule was the darkest thing before it was erased.
    strokes = ink[ink > 0.08]
    peak = float(np.percentile(strokes, 95)) if strokes.size > 20 else 1.0
    ink = np.clip(ink / max(peak, 0.15), 0.0, 1.0)
    _, stats, keep = ink_components(ink, 0.02)
    if o.bridge_dashes and keep:
        bridged = bridge_leading_dash(ink, stats[keep, :4], FAINT_LEVEL)
        if bridged is not None:  # rare: only then are the components measured again
            ink = bridged
            _, stats, keep = ink_components(ink, 0.02)
    fraction = float((ink > 0.5).mean())
    box = _ink_bbox(stats, keep)
    if box is None or fraction < o.min_ink_fraction:
        return None, fraction
    if o.tight:
        x0, y0, x1, y1 = box
        m = max(2, round(o.pad * (y1 - y0)))
        ink = ink[y0:y1, x0:x1]
        ink = cv2.copyMakeBorder(ink, m, m, m, m, cv2.BORDER_CONSTANT, value=0.0)
    return ink, fraction


def prepare_crop(crop: np.ndarray, options: PrepOptions | None = None) -> PreparedCrop:
    """Prepare one answer-box crop for recognition.

    Args:
        crop: Grayscale or BGR uint8 crop of an answer box.
        options: Preparation settings.

    Returns:
        The prepared image, or ``image=None`` if the box holds no ink (left blank).

    Raises:
        ValueError: If ``crop`` is not an image.
    """
    o = options or PrepOptions()
    if o.raw:
        return PreparedCrop(_to_height(to_gray(crop), o.height), 1.0)
    ink, fraction = clean_ink(crop, o)
    return prepare_ink(ink, fraction, o)


def prepare_ink(
    ink: np.ndarray | None, fraction: float, options: PrepOptions | None = None
) -> PreparedCrop:
    """Turn an ink map from :func:`clean_ink` into the recogniser's input.

    Callers that also need the ink map (the glyph reader) clean each crop once and
    prepare it from the result.

    Args:
        ink: The cleaned ink map, or None for a blank box.
        fraction: The ink fraction :func:`clean_ink` returned.
        options: Preparation settings (``height`` applies).

    Returns:
        The prepared image (None for a blank box).
    """
    if ink is None:
        return PreparedCrop(None, fraction)
    o = options or PrepOptions()
    out = (255.0 * (1.0 - ink)).astype(np.uint8)
    return PreparedCrop(_to_height(out, o.height), fraction)


def _to_height(gray: np.ndarray, height: int) -> np.ndarray:
    h, w = gray.shape
    width = max(height // 2, round(w * height / max(h, 1)))
    interp = cv2.INTER_AREA if h > height else cv2.INTER_CUBIC
    return cv2.resize(gray, (width, height), interpolation=interp)
