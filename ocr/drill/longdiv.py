"""Long division (除法竖式) on drill pages: the divisor, a 厂-shaped bracket, the dividend.

Chinese primary sheets print a long division as the divisor left of a bracket: a rule over
the dividend whose left end turns down into a stroke curved like ``)``. The child writes
the quotient above the rule and the working under the dividend: each partial product
with a rule under it, the difference with the next digit brought down, and last the
remainder (``0`` when the division comes out even). That is how schools teach it, and
sheets ask for no separate 余数 box: the remainder is the working's last line.

Finding: the bracket's rule is a long thin stroke (``ocr.drill.columns.find_rules``) with
ink running down from its left end (the hook). The detector often reads divisor, hook and
dividend as one line (the hook read as ``)``, ``/``, ``1`` or ``7``), so both numbers are
re-read from the pixels left and right of the hook, with the bracket's stroke erased,
over the maths alphabet (``ExpressionReader``). The item's expression is
``dividend÷divisor``; its answer area is the band above the rule.

Reading: the quotient is read over digits from the band above the rule; the remainder
from the working's lowest line of handwriting (the rules the child drew are erased
first). The item's result is ``quotient……remainder``, or the quotient alone when the
remainder is ``0`` or, for a division that comes out even, when no working was written
(for one that does not, a missing working leaves the item unreadable, for review), so
grading sees what a horizontal
``17 ÷ 5 =`` item gives. Only the quotient and the last line are read: the partial
products are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from grading.arithmetic_stem import ArithmeticStemError, parse_arithmetic_stem
from ocr.drill.answers import KeyForms, answer_crop, key_forms, read_results
from ocr.drill.columns import find_rules, line_height
from ocr.drill.detect import TextBox
from ocr.drill.items import ExpressionReader, ItemLayout, LineChars
from ocr.reading.ctc import ALPHABETS
from ocr.reading.preprocess import ink_map, to_gray
from ocr.reading.recognize import Reading, TextRecognizer

__all__ = [
    "LongDivisionLayout",
    "find_long_divisions",
    "read_with_long_divisions",
    "without_their_rules",
]

Box = tuple[int, int, int, int]
# Printed digit cap height relative to the detector's box around a digit row.
_CAP_PER_BOX = 0.7
_DOTS = re.compile(r"(?:…+|\.{2,})")


@dataclass(frozen=True)
class LongDivisionLayout(ItemLayout):
    """A long division located on the page: an :class:`ItemLayout` whose ``result_box`` is
    the quotient's band above the rule, with where the working is.

    Attributes:
        rule: The bracket's rule ``(x0, y0, x1, y1)``.
        working_box: The area under the dividend where the working is written.
    """

    rule: Box = (0, 0, 0, 0)
    working_box: Box = (0, 0, 0, 0)


def _dark(gray: np.ndarray) -> np.ndarray:
    # Paper tone as ``find_rules`` takes it. The hook is a thin curved stroke, lighter
    # than the rule once blurred: a quarter darker than the paper counts.
    hist = np.bincount(gray[::4, ::4].ravel(), minlength=256).cumsum()
    paper = float(np.searchsorted(hist, 0.75 * hist[-1]))
    return np.asarray(gray < 0.75 * paper)


def _hook_depth(dark: np.ndarray, rule: Box, ph: float) -> int:
    """How far ink runs down without a break from the rule's left end (pixels)."""
    x0, _, _, y1 = rule
    band = dark[y1 : y1 + int(1.6 * ph), max(0, x0 - int(0.2 * ph)) : x0 + int(0.3 * ph)]
    rows: list[bool] = np.asarray(band.any(axis=1), bool).tolist()
    depth, gap = 0, 0
    for i, inked in enumerate(rows):
        if inked:
            depth, gap = i + 1, 0
        else:
            gap += 1
            if gap > 3:
                break
    return depth


def _erase_hook(clean: np.ndarray, gray: np.ndarray, rule: Box, ph: float, paper: int) -> int:
    """Paint the bracket's hook out of ``clean``: every pixel a little darker than the
    paper that is connected to the rule's left end, with the blur's halo around it (a
    ghost of the hook reads as ``.`` or ``1`` beside the divisor). Returns the hook's
    lowest row (the rule's, when no hook is found)."""
    x0, y0, _, y1 = rule
    wx0, wy0 = max(0, x0 - int(0.3 * ph)), max(0, y0 - 2)
    window = gray[wy0 : y1 + int(1.7 * ph), wx0 : x0 + int(0.4 * ph)]
    mask = (window < 0.8 * paper).astype(np.uint8)
    _, labels = cv2.connectedComponents(mask, connectivity=8)
    ends = labels[max(0, y0 - wy0 - 1) : y1 - wy0 + 2, x0 - wx0 : x0 - wx0 + int(0.2 * ph)]
    lowest = y1
    for k in set(np.unique(ends)) - {0}:
        hook = cv2.dilate((labels == k).astype(np.uint8), np.ones((7, 7), np.uint8))
        clean[wy0 : wy0 + window.shape[0], wx0 : wx0 + window.shape[1]][hook > 0] = paper
        lowest = max(lowest, wy0 + int(np.nonzero((labels == k).any(axis=1))[0].max()))
    return lowest


def _box(x0: float, y0: float, x1: float, y1: float) -> TextBox:
    b = (int(x0), int(y0), int(x1), int(y1))
    return TextBox(((b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3])), b, 1.0)


def _inked(clean: np.ndarray, paper: int, box: TextBox, ph: float) -> TextBox:
    """``box`` narrowed to the columns holding ink, with a quarter print height beside it
    (a lone divisor in a wide box of paper was read with a phantom character)."""
    x0, y0, x1, y1 = box.box
    cols = np.nonzero((clean[y0:y1, x0:x1] < 0.5 * paper).any(axis=0))[0]
    if not len(cols):
        return box
    m = 0.25 * ph
    return _box(max(x0, x0 + cols[0] - m), y0, min(x1, x0 + cols[-1] + 1 + m), y1)


def _cap_height(clean: np.ndarray, box: Box, paper: int, guess: float) -> float:
    """Height of the printed digits in ``box`` (the rows holding ink), kept within half
    and 1.3 times ``guess``."""
    x0, y0, x1, y1 = box
    rows = np.flatnonzero((clean[y0:y1, x0:x1] < 0.5 * paper).any(axis=1))
    if not len(rows):
        return guess
    return float(np.clip(rows[-1] - rows[0] + 1, 0.5 * guess, 1.3 * guess))


def _digits(line: LineChars) -> tuple[str, float]:
    """The digits of a re-read number and their lowest probability ("" if anything else)."""
    text = line.chars
    if not text or not text.isdigit() or text.startswith("0"):
        return "", 0.0
    return text, min(line.probs)


def find_long_divisions(
    page: np.ndarray, lines: Sequence[LineChars], expressions: ExpressionReader, *,
    answer_height: float = 3.2, working_depth: float = 24.0,
) -> list[LongDivisionLayout]:
    """Locate long divisions: a rule with a hook down from its left end, a number each side.

    Args:
        page: The page (grayscale or BGR).
        lines: Every detected box read with positions (``ExpressionReader.read``).
        expressions: Re-reads the divisor and the dividend beside the hook.
        answer_height: Depth of the quotient band above the rule, in printed digit heights
            (handwriting is about twice the print's height). The band reaches 4 digit
            heights left of the hook: a child's large quotient, right-aligned over the
            dividend, overhangs the bracket.
        working_depth: Deepest working under the rule, in printed digit heights (a
            three-digit quotient's six lines of a child's large digits, and their rules);
            cut short by the next bracket below.

    Returns:
        The long divisions found (an empty list on a page without any).
    """
    ph = line_height(lines)
    if ph is None:
        return []
    gray = to_gray(page)
    height, width = gray.shape
    dark = _dark(gray)
    brackets: list[Box] = []
    # A bracket's rule is only a little longer than its dividend (a two-digit one: about
    # 1.3 print heights), shorter than ``find_rules`` asks of a column item's rule.
    for rule in find_rules(gray, 0.6 * ph):
        if _hook_depth(dark, rule, ph) >= 0.6 * ph:
            brackets.append(rule)
    if not brackets:
        return []
    # Re-read both numbers with the bracket's strokes erased: the hook read as a digit
    # would join either number.
    clean = gray.copy()
    paper = int(np.percentile(gray[::4, ::4], 75))
    boxes: list[TextBox] = []
    for x0, y0, x1, y1 in brackets:
        pad = int(0.08 * ph) + 2
        clean[max(0, y0 - pad) : y1 + pad, max(0, x0 - pad) : x1 + pad] = paper
        hook_end = _erase_hook(clean, gray, (x0, y0, x1, y1), ph, paper)
        # The hook ends about where the printed numbers do; the working starts just
        # under them, and a child's digit in the box would spoil the reading. (The
        # median box height is no guide here: the child's lines, taller, are most boxes.)
        top, bottom = y1 + 1, max(hook_end, y1 + int(0.6 * ph)) + int(0.08 * ph)
        boxes.append(_inked(clean, paper, _box(max(0, x0 - 1.6 * ph), top, x0 + 0.1 * ph,
                                               bottom), ph))
        boxes.append(_inked(clean, paper, _box(x0 + 0.1 * ph, top, min(width, x1 + 0.3 * ph),
                                               bottom), ph))
    read = expressions.read(clean, boxes)
    found = []
    for k, (x0, y0, x1, y1) in enumerate(brackets):
        divisor, p_divisor = _digits(read[2 * k])
        dividend, p_dividend = _digits(read[2 * k + 1])
        if not divisor or not dividend:
            continue
        expression = f"{dividend}÷{divisor}"
        try:
            parse_arithmetic_stem(expression + "=")
        except ArithmeticStemError:
            continue
        # The printed dividend's own height: the page's median box height is mostly the
        # children's lines here, and the child's rules are told from digits by it.
        ch = _cap_height(clean, boxes[2 * k + 1].box, paper, _CAP_PER_BOX * ph)
        below = boxes[2 * k + 1].box[3]
        # The next bracket below (over the same columns) ends this one's working.
        nexts = [r[1] - answer_height * ch for r in brackets
                 if r[1] > y1 + ph and r[0] < x1 and r[2] > x0]
        bottom = int(min([height, y1 + working_depth * ch, *nexts]))
        pad = int(0.6 * ph)
        found.append(LongDivisionLayout(
            expression=expression,
            raw=f"{read[2 * k].chars}){read[2 * k + 1].chars}".replace("\x00", "?"),
            expression_confidence=min(p_divisor, p_dividend),
            expression_box=(boxes[2 * k].box[0], y0, x1, below),
            result_box=(max(0, x0 - int(4.0 * ch)), int(max(0, y0 - answer_height * ch)),
                        min(width, x1 + pad), max(0, y0 - 1)),
            char_height=ch,
            rule=(x0, y0, x1, y1),
            working_box=(max(0, x0 - pad), min(height, below), min(width, x1 + pad),
                         max(below, bottom)),
        ))
    return found


def without_their_rules(
    found: Sequence[ItemLayout], divisions: Sequence[LongDivisionLayout]
) -> list[ItemLayout]:
    """The items found otherwise, less any whose expression lies on a long division's
    bracket or in its working (a partial product over its rule looks like a column item),
    followed by the long divisions."""
    def inside(box: Box, area: Box) -> bool:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        return area[0] <= cx <= area[2] and area[1] <= cy <= area[3]

    kept = [f for f in found if not any(
        inside(f.expression_box, (d.result_box[0], d.result_box[1], d.working_box[2],
                                  d.working_box[3])) for d in divisions)]
    return kept + list(divisions)


def _part(forms: Sequence[str], which: int) -> tuple[str, ...]:
    """The quotient (0) or remainder (1) of written key forms (``17......2`` or ``21``)."""
    out: dict[str, None] = {}
    for f in forms:
        parts = _DOTS.split(f, maxsplit=1)
        if which == 0:
            out[parts[0]] = None
        else:
            out[parts[1] if len(parts) > 1 else "0"] = None
    return tuple(out)


def _rules(ink: np.ndarray, ch: float) -> np.ndarray:
    """The pixels of the rules a child drew in a working (uint8 mask, widened a little).

    A rule is a long horizontal run (1.3 digit heights or more; a slanted pencil line is a
    staircase, so rows are joined first). A flat ``0`` or a ``5``'s bar can hold such a
    run too, so a run counts only when its stroke is nothing else, or when it reaches
    half a digit height further than the rest of its stroke (a rule that touches the
    digits over it): the digit's own strokes span about as wide as its long run.
    """
    k = max(5, int(1.3 * ch))
    joined = cv2.dilate(ink, np.ones((3, 1), np.uint8))
    runs = cv2.dilate(cv2.morphologyEx(joined, cv2.MORPH_OPEN, np.ones((1, k), np.uint8)),
                      np.ones((3, 3), np.uint8))
    out = np.zeros_like(ink)
    if not runs.any():
        return out
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    for j in np.unique(labels[(runs > 0) & (ink > 0)]):
        if j == 0:
            continue
        x, y, w, h = (int(v) for v in stats[j, :4])
        stroke = labels[y : y + h, x : x + w] == j
        run = stroke & (runs[y : y + h, x : x + w] > 0)
        rest = stroke & ~run
        run_cols = np.flatnonzero(run.any(axis=0))
        rest_cols = np.flatnonzero(rest.any(axis=0))
        if rest.sum() < (0.15 * ch) ** 2:
            out[y : y + h, x : x + w][stroke] = 1
        elif len(run_cols) and run_cols[-1] - run_cols[0] >= \
                (rest_cols[-1] - rest_cols[0]) + 0.5 * ch:
            out[y : y + h, x : x + w][run] = 1
    return cv2.dilate(out, np.ones((3, 3), np.uint8))


def _lowest_line(gray: np.ndarray, box: Box, ch: float, max_gap: float = 1.6,
                 first_gap: float = 3.5) -> tuple[np.ndarray, Box | None] | None:
    """The working area with the child's rules erased, and its lowest line of writing
    (in the area's pixels).

    Returns:
        None when no working was written (no stroke-sized ink starts within
        ``first_gap`` printed digit heights of the dividend: the first product may be
        faint, or lost to a copier); a None line when the working ends in a
        rule (the remainder under it is missing, or too faint for the scan to keep).
    """
    x0, y0, x1, y1 = box
    crop = gray[y0:y1, x0:x1].copy()
    if crop.size == 0:
        return None
    ink = (ink_map(crop) > 0.25).astype(np.uint8)
    rules = _rules(ink, ch)
    ink[rules > 0] = 0
    crop[rules > 0] = int(np.percentile(crop, 75))
    rule_rows = np.flatnonzero(rules.any(axis=1))
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    min_area = max(6.0, (0.12 * ch) ** 2)
    keep = [stats[j] for j in range(1, n)
            if stats[j, 4] >= min_area and max(stats[j, 2], stats[j, 3]) >= 0.3 * ch]
    if not keep:
        return None
    # Lines of writing: components whose vertical spans overlap, top to bottom.
    keep.sort(key=lambda s: s[1])
    lines: list[list[int]] = []
    for s in keep:
        top, bottom = int(s[1]), int(s[1] + s[3])
        if lines and min(lines[-1][3], bottom) - max(lines[-1][1], top) > \
                0.4 * min(lines[-1][3] - lines[-1][1], bottom - top):
            ln = lines[-1]
            ln[0], ln[1] = min(ln[0], int(s[0])), min(ln[1], top)
            ln[2], ln[3] = max(ln[2], int(s[0] + s[2])), max(ln[3], bottom)
        else:
            lines.append([int(s[0]), top, int(s[0] + s[2]), bottom])
    # The working starts under the dividend and goes on line after line: a wide gap is
    # the end of it (what lies further down belongs to the next item).
    if lines[0][1] > first_gap * ch:
        return None
    last = lines[0]
    for ln in lines[1:]:
        if ln[1] - last[3] > max_gap * ch:
            break
        if ln[3] > last[3]:
            last = ln
    lx0, ly0, lx1, ly1 = last
    if len(rule_rows) and rule_rows[(rule_rows < ly1 + max_gap * ch)].max(initial=0) > ly1:
        return crop, None
    m = int(0.3 * ch)
    return crop, (int(max(0, lx0 - m)), int(max(0, ly0 - m)), int(min(crop.shape[1], lx1 + m)),
                  int(min(crop.shape[0], ly1 + m)))


def _recognise(recognizer: TextRecognizer, crops: list[np.ndarray],
               keys: list[tuple[str, ...]] | None) -> list[Reading]:
    extra: dict[str, Any] = {}
    if keys is not None and getattr(recognizer, "verifies_keys", False):
        extra["expected"] = keys
    readings = recognizer.recognize(crops, alphabet=ALPHABETS["digits"], **extra)
    out = []
    for reading, forms in zip(readings, keys or [()] * len(crops), strict=True):
        # The key alone, with no reading of the readers' own, verifies nothing.
        if reading.status == "ok" and forms and reading.alternatives and all(
                t in forms for t, _ in reading.alternatives):
            reading = Reading("unreadable", detail="only the key fits the alphabet")
        out.append(reading)
    return out


def _joined(quotient: Reading, remainder: Reading | None) -> Reading:
    """One answer ``q……r`` (or ``q``) from the quotient's and the remainder's readings."""
    if quotient.status != "ok" or remainder is None:
        return quotient
    if remainder.status != "ok":
        return Reading("unreadable" if remainder.status != "engine_error" else "engine_error",
                       detail=f"remainder (the working's last line): {remainder.detail}")

    def spelt(q: str, r: str) -> str:
        return q if r.strip("0") == "" else f"{q}……{r}"

    mass: dict[str, float] = {}
    for q, pq in quotient.alternatives[:4] or ((quotient.text, quotient.confidence),):
        for r, pr in remainder.alternatives[:4] or ((remainder.text, remainder.confidence),):
            text = spelt(q, r)
            mass[text] = mass.get(text, 0.0) + pq * pr
    alternatives = tuple(sorted(mass.items(), key=lambda kv: -kv[1]))
    text = spelt(quotient.text, remainder.text)
    return Reading("ok", text, quotient.confidence * remainder.confidence,
                   alternatives=alternatives,
                   detail=f"quotient {quotient.text}, working ends in {remainder.text}")


def read_with_long_divisions(
    image: np.ndarray,
    layouts: Sequence[ItemLayout],
    recognizer: TextRecognizer,
    decoding: Literal["masked", "plain"] = "masked",
    expected_for: KeyForms | None = None,
) -> list[Reading]:
    """``ocr.drill.answers.read_results`` for every item, long divisions read as above.

    Args:
        image: The page the layouts were found on.
        layouts: Located items, long divisions among them.
        recognizer: Answer reader.
        decoding: Passed to ``read_results`` for the other items (a quotient and a
            remainder are always read over digits).
        expected_for: Each item's key written forms (see ``read_results``); a long
            division verifies its quotient and remainder parts apart.

    Returns:
        One reading per layout, in order.
    """
    divisions = [i for i, la in enumerate(layouts) if isinstance(la, LongDivisionLayout)]
    others = [i for i in range(len(layouts)) if i not in set(divisions)]
    out: list[Reading] = [Reading("engine_error")] * len(layouts)
    for i, reading in zip(others, read_results(image, [layouts[i] for i in others], recognizer,
                                               decoding, expected_for), strict=True):
        out[i] = reading
    if not divisions:
        return out
    gray = to_gray(image)
    forms = {i: key_forms(expected_for, layouts[i].expression) for i in divisions}
    quotients: list[int] = []
    q_crops: list[np.ndarray] = []
    for i in divisions:
        crop = answer_crop(gray, layouts[i].result_box, layouts[i].char_height)
        if crop is None:
            out[i] = Reading("blank", detail="no handwriting above the long division's rule")
        else:
            quotients.append(i)
            q_crops.append(crop)
    if not quotients:
        return out
    keys = [_part(forms[i], 0) for i in quotients] if expected_for is not None else None
    q_read = dict(zip(quotients, _recognise(recognizer, q_crops, keys), strict=True))
    rests: list[int] = []
    r_crops: list[np.ndarray] = []
    missing: dict[int, Reading] = {}
    for i in quotients:
        la = layouts[i]
        assert isinstance(la, LongDivisionLayout)
        line = _lowest_line(gray, la.working_box, la.char_height)
        if line is not None and line[1] is None:
            missing[i] = Reading("unreadable", detail="the working ends in a rule: no "
                                 "remainder under it")
            continue
        crop = None if line is None or line[1] is None else \
            answer_crop(line[0], line[1], la.char_height)
        if crop is None and not _even(la.expression):
            # A quotient alone is a whole answer only where nothing remains; elsewhere
            # the remainder is unwritten or was not found, and a teacher decides.
            missing[i] = Reading("unreadable", detail="no working under the dividend: "
                                 "its remainder is not read")
            continue
        if crop is not None and q_read[i].status == "ok":
            rests.append(i)
            r_crops.append(crop)
    keys = [_part(forms[i], 1) for i in rests] if expected_for is not None else None
    r_read = dict(zip(rests, _recognise(recognizer, r_crops, keys) if rests else [],
                      strict=True))
    for i in quotients:
        out[i] = _joined(q_read[i], r_read.get(i, missing.get(i)))
    return out


def _even(expression: str) -> bool:
    """Whether ``dividend÷divisor`` comes out even (the printed numbers decide; no answer
    is looked at)."""
    try:
        return parse_arithmetic_stem(expression + "=").value.denominator == 1
    except ArithmeticStemError:
        return False
