"""Answers written smaller than the reader's stroke size, read again at a smaller one.

An answer area is cut to its stroke-sized ink (``ocr.drill.answers.answer_crop``: marks
spanning at least 0.3 printed character heights), so copier specks never make a blank
answer look written. A child short of room writes smaller: on a crowded row
(``41 + 38 - 20 =`` in four columns) a two-digit answer can be a fifth of the print's
height, and the area was read ``blank`` and graded as left blank. Where such an area
holds marks too big for a speck (``ocr.drill.doubts.small_marks``), it is cut again with
a stroke size 0.4 times as large and read; what the reader makes of it (with its
confidence) replaces ``blank``. A digit can be lost below even that size (a ``29`` read
``9``), so such a reading (its ``detail`` starts with ``SMALL_DETAIL``) is trusted only
where it is the key: the grading seam (``service.drill.pages``) holds any other verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np

from ocr.drill.answers import KeyForms, answer_crop, key_forms, result_alphabet, unchallenged
from ocr.drill.divisions import division_kind
from ocr.drill.doubts import small_marks
from ocr.drill.items import ItemLayout
from ocr.reading.ctc import ALPHABETS, Alphabet
from ocr.reading.preprocess import to_gray
from ocr.reading.recognize import Reading, TextRecognizer

__all__ = ["SMALL_DETAIL", "SMALL_STROKE", "read_small_answers"]

# The stroke size of the second cut, relative to the first.
SMALL_STROKE = 0.4
# How a small answer's reading says so (its ``detail`` starts with it): the reading may
# have lost a stroke below even this size (``29`` read ``9``), so a grader trusts it only
# where it confirms the key.
SMALL_DETAIL = "written under the stroke size"


def _char_h(la: ItemLayout) -> float:
    """The character height the doubts use for an item (as ``service.jobs.drillwork``):
    a column item's expression box spans its two rows and the rule."""
    column = la.result_box[1] >= la.expression_box[3] - 2
    return max(8.0, (la.expression_box[3] - la.expression_box[1]) / (2.6 if column else 1.0))


def _alphabet(expression: str) -> Alphabet:
    if not expression:
        return ALPHABETS["numeric"]
    return ALPHABETS["digits"] if division_kind(expression) == "even" \
        else result_alphabet(expression)


def read_small_answers(
    image: np.ndarray,
    layouts: Sequence[ItemLayout],
    readings: Sequence[Reading],
    recognizer: TextRecognizer,
    decoding: Literal["masked", "plain"] = "masked",
    expected_for: KeyForms | None = None,
) -> list[Reading]:
    """``readings`` with each ``blank`` that holds small marks read again (see above).

    Args:
        image: The page the layouts were found on.
        layouts: Located items (long divisions, a subclass, are left as read).
        readings: Their readings, in order.
        recognizer: Answer reader.
        decoding: ``masked`` reads over the expression's alphabet, ``plain`` over none.
        expected_for: Each item's key written forms, for a recogniser that verifies keys.

    Returns:
        The readings, small answers read.
    """
    out = list(readings)
    gray = to_gray(image)
    groups: dict[str, list[tuple[int, np.ndarray, tuple[str, ...]]]] = {}
    alphabets: dict[str, Alphabet | None] = {}
    for i, (la, reading) in enumerate(zip(layouts, readings, strict=True)):
        if reading.status != "blank" or type(la) is not ItemLayout \
                or not small_marks(gray, la.result_box, _char_h(la)):
            continue
        crop = answer_crop(gray, la.result_box, SMALL_STROKE * la.char_height)
        if crop is None:
            continue
        alphabet = _alphabet(la.expression) if decoding == "masked" else None
        name = alphabet.name if alphabet is not None else "plain"
        alphabets[name] = alphabet
        groups.setdefault(name, []).append((i, crop, key_forms(expected_for, la.expression)))
    verify = expected_for is not None and getattr(recognizer, "verifies_keys", False)
    for name, members in groups.items():
        extra: dict[str, Any] = {"expected": [k for *_, k in members]} if verify else {}
        read = recognizer.recognize([c for _, c, _ in members], alphabet=alphabets[name],
                                    **extra)
        for (i, _, keys), reading in zip(members, read, strict=True):
            out[i] = _small(unchallenged(reading, keys))
    return out


def _small(reading: Reading) -> Reading:
    return replace(reading, detail=f"{SMALL_DETAIL}: {reading.detail}")
