"""Answers of horizontal whole-number divisions (``56 ÷ 8 =``, ``17 ÷ 5 =``) read over digits.

The handwriting line reader (``ocr.reading.hand_reader``) reads numbers, never a row of
dots, so an answer read over the ``quotient……remainder`` alphabet has two readers' evidence
instead of three. Two readers floored against the key still leave it a share of about
e^-5 (0.7%), above the review policy's upgrade floor, so every wrong answer to a division
went to review, and their readings were the weakest of the page. Here:

* a division that comes out even (``56÷8``) is answered with a whole number: its area is
  read over digits, like any whole-number item;
* a division with a remainder (``17÷5``) is answered ``3……2``: the area is split at the
  dots, which are far smaller than the digits around them, and the quotient and the
  remainder are read apart over digits (the key's two parts verified each on its own
  ink), then joined as ``q……r`` with the product of their probabilities. Where no row of
  dots divides the writing (a child who wrote the quotient alone), the area is read whole
  over the remainder alphabet, as before.

Every other item (and every item when decoding is ``plain``) is read by ``rest``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any, Literal

import cv2
import numpy as np

from ocr.drill.answers import (
    REMAINDER,
    KeyForms,
    answer_crop,
    key_forms,
    read_results,
    unchallenged,
)
from ocr.drill.items import ItemLayout
from ocr.reading.ctc import ALPHABETS, Alphabet
from ocr.reading.preprocess import ink_map, to_gray
from ocr.reading.recognize import Reading, TextRecognizer

__all__ = ["ReadResults", "division_kind", "read_divisions", "split_at_dots"]

ReadResults = Callable[..., list[Reading]]
_DIVISION = re.compile(r"^([0-9]+)÷([0-9]+)$")
_KEY_DOTS = re.compile(r"(?:…+|\.{2,})")
# A dot is no taller or wider than this share of the tallest mark (a digit) in the area;
# a digit (or most of one) is at least this share of it.
_DOT_SIZE = 0.35
_DIGIT_SIZE = 0.4


def division_kind(expression: str) -> Literal["even", "remainder", ""]:
    """``even`` for ``a÷b`` of whole numbers that comes out even, ``remainder`` when it
    leaves one, "" for anything else (decimals, fractions, three operands, ÷0)."""
    m = _DIVISION.match(expression)
    if m is None or int(m.group(2)) == 0:
        return ""
    return "even" if int(m.group(1)) % int(m.group(2)) == 0 else "remainder"


def split_at_dots(crop: np.ndarray, char_height: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The quotient's and the remainder's ink of a ``q……r`` answer crop, or None.

    Marks are told apart by size against the tallest mark (a digit): dots are small, digits
    tall. The writing is split at the gap between digits that holds the most dots (at least
    two); each side keeps its own marks, everything else is painted paper, and is cut and
    padded as an answer area is (``answer_crop``).

    Args:
        crop: An answer crop (``answer_crop``'s output: ink on paper with a margin).
        char_height: Printed character height in pixels.

    Returns:
        (quotient crop, remainder crop), or None when no row of dots divides the writing.
    """
    gray = to_gray(crop)
    ink = (ink_map(gray) > 0.18).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    marks = [k for k in range(1, n) if stats[k, 4] >= max(3.0, (0.04 * char_height) ** 2)]
    if len(marks) < 4:
        return None
    tall = float(max(stats[k, 3] for k in marks))
    digits = [k for k in marks if stats[k, 3] >= _DIGIT_SIZE * tall]
    dots = [k for k in marks if max(stats[k, 2], stats[k, 3]) <= _DOT_SIZE * tall]
    # Spans of the digits along x, overlapping ones joined: the gaps between them.
    spans: list[list[int]] = []
    for k in sorted(digits, key=lambda k: stats[k, 0]):
        x0, x1 = int(stats[k, 0]), int(stats[k, 0] + stats[k, 2])
        if spans and x0 <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], x1)
        else:
            spans.append([x0, x1])
    best: tuple[int, int, list[int]] | None = None
    for (_, left), (right, _) in itertools.pairwise(spans):
        inside = [k for k in dots if left <= stats[k, 0] + stats[k, 2] / 2 <= right]
        if len(inside) >= 2 and (best is None or len(inside) > len(best[2])):
            best = (left, right, inside)
    if best is None:
        return None
    left, right, inside = best
    paper = int(np.percentile(gray, 75))
    centres = stats[:, 0] + stats[:, 2] / 2
    parts = []
    for side in (centres < left + 1, centres > right - 1):
        keep = np.zeros(n, bool)
        keep[1:] = side[1:]
        keep[inside] = False
        part = gray.copy()
        part[(labels > 0) & ~keep[labels]] = paper
        cut = answer_crop(part, (0, 0, part.shape[1], part.shape[0]), char_height)
        if cut is None:
            return None
        parts.append(cut)
    return parts[0], parts[1]


def _key_parts(forms: Sequence[str], which: int) -> tuple[str, ...]:
    """The quotient (0) or remainder (1) of a remainder key's written forms (``3......2``)."""
    out: dict[str, None] = {}
    for f in forms:
        parts = _KEY_DOTS.split(f, maxsplit=1)
        if len(parts) == 2:
            out[parts[which]] = None
    return tuple(out)


def _joined(quotient: Reading, remainder: Reading) -> Reading:
    """One ``q……r`` reading from the two parts' readings (probabilities multiplied)."""
    for name, part in (("quotient", quotient), ("remainder", remainder)):
        if part.status != "ok":
            return Reading(part.status if part.status == "engine_error" else "unreadable",
                           detail=f"{name}: {part.detail}")
    mass: dict[str, float] = {}
    for q, pq in quotient.alternatives[:4] or ((quotient.text, quotient.confidence),):
        for r, pr in remainder.alternatives[:4] or ((remainder.text, remainder.confidence),):
            mass[f"{q}……{r}"] = mass.get(f"{q}……{r}", 0.0) + pq * pr
    alternatives = tuple(sorted(mass.items(), key=lambda kv: -kv[1]))
    return Reading("ok", f"{quotient.text}……{remainder.text}",
                   quotient.confidence * remainder.confidence, alternatives=alternatives,
                   detail=f"quotient {quotient.detail}; remainder {remainder.detail}")


def _recognise(recognizer: TextRecognizer, crops: list[np.ndarray], alphabet: Alphabet,
               keys: list[tuple[str, ...]] | None) -> list[Reading]:
    if not crops:
        return []
    extra: dict[str, Any] = {}
    if keys is not None and getattr(recognizer, "verifies_keys", False):
        extra["expected"] = keys
    readings = recognizer.recognize(crops, alphabet=alphabet, **extra)
    return [unchallenged(r, k) for r, k in zip(readings, keys or [()] * len(crops),
                                                strict=True)]


def read_divisions(
    image: np.ndarray,
    layouts: Sequence[ItemLayout],
    recognizer: TextRecognizer,
    decoding: Literal["masked", "plain"] = "masked",
    expected_for: KeyForms | None = None,
    rest: ReadResults = read_results,
) -> list[Reading]:
    """``read_results`` for every item, horizontal whole-number divisions read as above.

    Args:
        image: The page the layouts were found on.
        layouts: Located items.
        recognizer: Answer reader.
        decoding: ``plain`` leaves every item to ``rest``.
        expected_for: Each item's key written forms (``ocr.drill.answers.read_results``).
        rest: Reads the other items (``read_results``'s arguments); items of a subclass of
            :class:`ItemLayout` (a long division) are always its.

    Returns:
        One reading per layout, in order.
    """
    kinds = [division_kind(la.expression) if decoding == "masked" and type(la) is ItemLayout
             else "" for la in layouts]
    others = [i for i, k in enumerate(kinds) if not k]
    out: list[Reading] = [Reading("engine_error")] * len(layouts)
    if others:
        for i, reading in zip(others, rest(image, [layouts[i] for i in others], recognizer,
                                           decoding, expected_for), strict=True):
            out[i] = reading
    if len(others) == len(layouts):
        return out
    gray = to_gray(image)
    whole: list[tuple[int, np.ndarray, tuple[str, ...]]] = []  # read over digits
    split: list[tuple[int, np.ndarray, np.ndarray, tuple[str, ...]]] = []
    unsplit: list[tuple[int, np.ndarray, tuple[str, ...]]] = []  # read over REMAINDER
    for i, kind in enumerate(kinds):
        if not kind:
            continue
        la = layouts[i]
        crop = answer_crop(gray, la.result_box, la.char_height)
        if crop is None:
            out[i] = Reading("blank", detail="no handwriting right of '='")
            continue
        keys = key_forms(expected_for, la.expression)
        parts = split_at_dots(crop, la.char_height) if kind == "remainder" else None
        if parts is not None:
            split.append((i, parts[0], parts[1], keys))
        elif kind == "even":
            whole.append((i, crop, keys))
        else:
            unsplit.append((i, crop, keys))
    verify = expected_for is not None
    # Whole answers, quotients and remainders in one batch over digits.
    crops = [c for _, c, _ in whole] + [q for _, q, _, _ in split] + [r for _, _, r, _ in split]
    forms = [k for _, _, k in whole] + [_key_parts(k, 0) for *_, k in split] \
        + [_key_parts(k, 1) for *_, k in split]
    read = _recognise(recognizer, crops, ALPHABETS["digits"], forms if verify else None)
    for (i, _, _), reading in zip(whole, read, strict=False):
        out[i] = reading
    quotients, remainders = read[len(whole):len(whole) + len(split)], read[len(whole) + len(split):]
    for (i, *_), q, r in zip(split, quotients, remainders, strict=True):
        out[i] = _joined(q, r)
    read = _recognise(recognizer, [c for _, c, _ in unsplit], REMAINDER,
                      [k for *_, k in unsplit] if verify else None)
    for (i, _, _), reading in zip(unsplit, read, strict=True):
        out[i] = reading
    return out
