"""Read the handwritten student number from a page's comb boxes (non-personalised copies).

The comb is read as one crop, with the printed boxes removed by subtracting the blank and
the recogniser restricted to digits; the caller matches the result against the roster
(:func:`ocr.students.match.match_student`), which never assigns below its threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ocr.align import Alignment
from ocr.reading.ctc import ALPHABETS
from ocr.regions import blank_box, has_ink, measure_ink, register_blank, remove_print, warp_box

__all__ = ["NumberRead", "read_student_number"]

Box = tuple[float, float, float, float]
MARGIN_PT = 2.0


@dataclass(frozen=True)
class NumberRead:
    """The number as read (digits only) and the reader's confidence; empty when blank."""

    text: str
    confidence: float


def read_student_number(upright: np.ndarray, alignment: Alignment, blank_page: np.ndarray,
                        blank_px_per_pt: float, boxes: Sequence[Box],
                        recognizer: object) -> NumberRead:
    """Read the digits written in the student-number boxes.

    Args:
        upright: the page image, turned upright.
        alignment: its page-space → pixel alignment.
        blank_page: the blank page rendered at ``blank_px_per_pt``.
        blank_px_per_pt: that rendering's resolution.
        boxes: the comb's boxes in page points, left to right.
        recognizer: a ``TextRecognizer`` (alphabet-masked decoding).

    Returns:
        The digits and a confidence; ``NumberRead("", 0.0)`` for an empty comb or a failed
        reading (the page then waits for a teacher).
    """
    if not boxes:
        return NumberRead("", 0.0)
    # One digit per box, as the comb asks: each box is read alone (length 1), which is
    # far more reliable than reading the row as a line; the number ends at the first
    # empty box.
    inks = []
    for box in boxes:
        crop = warp_box(upright, alignment, box, margin_pt=MARGIN_PT)
        blank = register_blank(crop, blank_box(blank_page, blank_px_per_pt, box,
                                               margin_pt=MARGIN_PT))
        ink = remove_print(crop, blank)
        if not has_ink(measure_ink(ink)):
            break
        inks.append(ink)
    if not inks:
        return NumberRead("", 0.0)
    try:
        readings = recognizer.recognize(inks, alphabet=ALPHABETS["digits"],  # type: ignore[attr-defined]
                                        length=(1, 1))
    except Exception:  # an engine failure means "ask the teacher", never a guess
        return NumberRead("", 0.0)
    digits, confidence = "", 1.0
    for r in readings:
        if r.status != "ok" or len(r.text) != 1 or not r.text.isdigit():
            return NumberRead("", 0.0)
        digits += r.text
        confidence *= float(r.confidence)
    return NumberRead(digits, confidence)
