"""Read a handwritten comparison sign (``<``, ``>`` or ``=``) from its geometry.

A comparison question (在括号里填上“>”“<”或“=”) is answered with one sign. The line
reader, trained on printed text, reads a child's ``<`` as ``5`` or ``7`` and is sure of it;
the signs themselves are simple enough to tell apart by shape, which also says *why*:

- each column of the ink is cut into vertical runs; where there are two, the upper run
  belongs to the upper arm and the lower run to the lower arm;
- a straight line is fitted to each arm's run centres. ``<`` is two arms that open to
  the right (the upper rises, the lower falls) from a vertex at the left; ``>`` is its
  mirror; ``=`` is two parallel, near-level strokes a clear gap apart;
- every condition of a sign has a margin (how far its measure lies inside the
  threshold, in units of a comfortable margin); the sign's score is its worst margin.

The probabilities are a softmax over the three scores and a *none* score of 0, so a
shape that is none of the signs clearly (a digit, a scribble, two signs) reads
``unreadable`` and a teacher looks. The thresholds (:class:`SignRule`) were set on
simulated signs of calibration seeds and measured once on other seeds
(``bench/bench_signs.py``, docs/scan-reading.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ocr.reading.preprocess import INK_LEVEL, PrepOptions, clean_ink, ink_components
from ocr.reading.recognize import Reading

__all__ = ["LONG_RUN", "NOT_A_SIGN_DETAIL", "SIGNS", "SignRule", "SignShape", "measure_sign", "read_sign", "read_signs",
           "sign_scores"]

SIGNS = ("<", ">", "=")
# A sign's strokes are slanted or level: a column of one holds a short run; an upright
# stroke (a 4's, a 1's) holds a run this share of the ink's height or longer.
LONG_RUN = 0.7
NOT_A_SIGN_DETAIL = "not clearly a comparison sign (<, > or =): check it"
# Border erased and ink trimmed as for the line readers; no minus bridging (a sign has no
# leading minus to repair).
_PREP = PrepOptions(bridge_dashes=False)


@dataclass(frozen=True)
class SignRule:
    """Thresholds of the sign reader; each ``*_unit`` is one unit of margin.

    Attributes:
        min_opening_deg: ``<``/``>``: the least angle between the two arms.
        min_arm_deg: ``<``/``>``: each arm's least slope (a ``7``'s flat bar fails it).
        max_vertex_offset: ``<``/``>``: how far (share of the width) the arms' meeting
            point may lie from the narrow end of the ink.
        max_parallel_deg: ``=``: the largest angle between the two strokes.
        max_level_deg: ``=``: the steepest either stroke may be.
        min_gap_pens: ``=``: the least gap between the strokes, in pen widths.
        min_arms_share, min_strokes_share: the least share of ink columns cut into
            exactly two runs (two arms of ``<``/``>``, the two strokes of ``=``).
        max_many_share: the largest share of columns cut into three runs or more (a
            ``5``, a ``3``, a scribble).
        max_residual: the largest scatter of an arm's run centres about its line, as a
            share of the ink's height (curved strokes, loops).
        max_long_share: the largest share of columns holding a run longer than
            :data:`LONG_RUN` of the ink's height (the upright of a ``4`` or a ``1``).
        sharpness: how fast probability follows the margin (softmax temperature⁻¹).
        min_confidence: below this the best sign is not read (``unreadable``).
    """

    min_opening_deg: float = 20.0
    opening_unit: float = 5.0
    min_arm_deg: float = 5.0
    arm_unit: float = 3.0
    max_vertex_offset: float = 0.45
    vertex_unit: float = 0.1
    max_parallel_deg: float = 18.0
    parallel_unit: float = 3.5
    max_level_deg: float = 25.0
    level_unit: float = 4.0
    min_gap_pens: float = 1.2
    gap_unit: float = 0.15
    min_arms_share: float = 0.25
    min_strokes_share: float = 0.5
    pair_unit: float = 0.04
    max_many_share: float = 0.1
    many_unit: float = 0.025
    max_residual: float = 0.045
    residual_unit: float = 0.007
    max_long_share: float = 0.15
    long_unit: float = 0.05
    sharpness: float = 1.5
    min_confidence: float = 0.5


@dataclass(frozen=True)
class SignShape:
    """What the geometry of the ink says (angles in degrees, image y downwards).

    Attributes:
        upper_deg, lower_deg: slope angle of the upper and the lower arm (positive: it
            falls to the right).
        opening_deg: ``lower_deg - upper_deg``: positive opens to the right (``<``),
            negative to the left (``>``), near 0 parallel (``=``).
        vertex: where the arms' lines meet, as a share of the ink's width from its left
            edge (nan for parallel lines).
        gap_pens: mean gap between the arms over the two-run columns, in pen widths.
        pair_share, many_share: shares of ink columns with two runs, with three or more.
        residual: the larger arm scatter about its line, as a share of the ink height.
        long_share: share of ink columns with a run longer than :data:`LONG_RUN`.
    """

    upper_deg: float
    lower_deg: float
    opening_deg: float
    vertex: float
    gap_pens: float
    pair_share: float
    many_share: float
    residual: float
    long_share: float


def _runs(column: np.ndarray, bridge: int) -> list[tuple[int, int]]:
    """Vertical runs of ink in one column, gaps up to ``bridge`` pixels closed."""
    idx = np.flatnonzero(column)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > bridge + 1)
    starts = np.concatenate(([idx[0]], idx[breaks + 1]))
    ends = np.concatenate((idx[breaks], [idx[-1]]))
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _fit(xs: np.ndarray, ys: np.ndarray, tolerance: float) -> tuple[float, float, float]:
    """Line ``y = a + k x`` through points, refitted without outliers (an overshoot at the
    vertex, a hook at a stroke's end); returns (a, k, rms residual)."""
    k, a = np.polyfit(xs, ys, 1)
    resid = ys - (a + k * xs)
    inliers = np.abs(resid) <= max(tolerance, 2.0 * float(np.std(resid)))
    if 3 <= inliers.sum() < len(xs):
        k, a = np.polyfit(xs[inliers], ys[inliers], 1)
        resid = ys[inliers] - (a + k * xs[inliers])
    return float(a), float(k), float(np.sqrt(np.mean(resid ** 2)))


def _pen_width(mask: np.ndarray) -> float:
    """Stroke width: twice the area over the perimeter (a long thin stroke's width)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST,
                                   cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return max(1.0, 2.0 * float(mask.sum()) / max(perimeter, 1.0))


def measure_sign(ink: np.ndarray) -> SignShape | None:
    """Measure the two arms of the ink in a cleaned ink map.

    Args:
        ink: float32 ink map (1 = darkest stroke), trimmed to the writing
            (``ocr.reading.preprocess.clean_ink``).

    Returns:
        The shape, or None when the ink has too few two-run columns to fit two arms (a
        single stroke, a digit like ``1``).
    """
    labels, _, keep = ink_components(ink, 0.08)
    if not keep:
        return None
    mask = np.isin(labels, keep) & (ink > INK_LEVEL)
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    mask = mask[y0:y1, x0:x1]
    height, width = mask.shape
    pen = _pen_width(mask)
    bridge = max(1, round(0.4 * pen))
    columns = [_runs(mask[:, x], bridge) for x in range(width)]
    inked = [x for x in range(width) if columns[x]]
    pairs = [x for x in inked if len(columns[x]) == 2]
    many = sum(len(columns[x]) >= 3 for x in inked)
    long = sum(any(b - a + 1 > LONG_RUN * height for a, b in columns[x]) for x in inked)
    if len(pairs) < 4 or not inked:
        return None
    px = np.array(pairs, np.float64)
    upper = np.array([(columns[x][0][0] + columns[x][0][1]) / 2 for x in pairs])
    lower = np.array([(columns[x][1][0] + columns[x][1][1]) / 2 for x in pairs])
    a_u, k_u, r_u = _fit(px, upper, pen)
    a_l, k_l, r_l = _fit(px, lower, pen)
    upper_deg, lower_deg = math.degrees(math.atan(k_u)), math.degrees(math.atan(k_l))
    vertex = (a_u - a_l) / (k_l - k_u) / width if abs(k_l - k_u) > 1e-3 else math.nan
    gap = float(np.mean(lower - upper))
    return SignShape(upper_deg, lower_deg, lower_deg - upper_deg, vertex,
                     gap / pen, len(pairs) / len(inked), many / len(inked),
                     max(r_u, r_l) / max(height, 1), long / len(inked))


def sign_scores(shape: SignShape, rule: SignRule | None = None) -> dict[str, float]:
    """Each sign's score: its worst margin, in units (positive: every condition met).

    Args:
        shape: The measured ink.
        rule: Thresholds.

    Returns:
        ``{"<": score, ">": score, "=": score}``.
    """
    r = rule or SignRule()
    common = [(r.max_many_share - shape.many_share) / r.many_unit,
              (r.max_residual - shape.residual) / r.residual_unit,
              (r.max_long_share - shape.long_share) / r.long_unit]
    scores: dict[str, float] = {}
    for sign, turn in (("<", 1.0), (">", -1.0)):
        # '<': the upper arm rises to the right (negative slope), the lower one falls,
        # and the arms meet at the left edge; '>' mirrors all three.
        narrow_end = 0.0 if turn > 0 else 1.0
        offset = abs(shape.vertex - narrow_end) if not math.isnan(shape.vertex) else 1e3
        scores[sign] = min([
            (turn * shape.opening_deg - r.min_opening_deg) / r.opening_unit,
            (-turn * shape.upper_deg - r.min_arm_deg) / r.arm_unit,
            (turn * shape.lower_deg - r.min_arm_deg) / r.arm_unit,
            (r.max_vertex_offset - offset) / r.vertex_unit,
            (shape.pair_share - r.min_arms_share) / r.pair_unit,
            *common,
        ])
    scores["="] = min([
        (r.max_parallel_deg - abs(shape.opening_deg)) / r.parallel_unit,
        (r.max_level_deg - max(abs(shape.upper_deg), abs(shape.lower_deg))) / r.level_unit,
        (shape.gap_pens - r.min_gap_pens) / r.gap_unit,
        (shape.pair_share - r.min_strokes_share) / r.pair_unit,
        *common,
    ])
    return scores


def _reading(scores: dict[str, float], rule: SignRule) -> Reading:
    """Probabilities from the scores (softmax with a *none* score of 0), and the reading."""
    logits = {s: rule.sharpness * max(min(v, 20.0), -20.0) for s, v in scores.items()}
    norm = 1.0 + sum(math.exp(v) for v in logits.values())
    probs = sorted(((s, math.exp(v) / norm) for s, v in logits.items()),
                   key=lambda sp: -sp[1])
    best, p = probs[0]
    alternatives = tuple(probs)
    if p < rule.min_confidence:
        return Reading("unreadable", confidence=p, alternatives=alternatives,
                       detail=NOT_A_SIGN_DETAIL)
    return Reading("ok", best, p, (p,), alternatives)


def read_sign(crop: np.ndarray, rule: SignRule | None = None) -> Reading:
    """Read one comparison sign.

    Args:
        crop: The answer box's cleaned crop (uint8, white paper, dark ink), as
            ``ocr.regions.remove_print`` leaves it.
        rule: Thresholds.

    Returns:
        ``ok`` with the sign, its probability and every sign's probability as
        alternatives; ``blank`` without ink; ``unreadable`` (with the same alternatives)
        when the ink is none of the signs clearly.
    """
    r = rule or SignRule()
    try:
        ink, _ = clean_ink(crop, _PREP)
    except ValueError as exc:
        return Reading("engine_error", detail=f"bad crop: {exc}")
    if ink is None:
        return Reading("blank", detail="no ink in the answer box")
    shape = measure_sign(ink)
    if shape is None:
        return Reading("unreadable", detail=NOT_A_SIGN_DETAIL)
    return _reading(sign_scores(shape, r), r)


def read_signs(crops: Sequence[np.ndarray], rule: SignRule | None = None) -> list[Reading]:
    """:func:`read_sign` for each crop, in order."""
    return [read_sign(c, rule) for c in crops]
