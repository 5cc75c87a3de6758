"""Read a drill page with ``ocr.drill`` and grade its items with ``grading.drill``.

The reader and the grader are kept apart (shared/DESIGN.md: ``ocr`` reads, ``grading``
decides); this module is the seam between them: it turns each answer reading into a
grading :class:`~grading.response.Response` and puts the reading and the decision back
together as one :class:`DrillItem`.

It also gives the reader each item's key (:func:`drill_key_forms`): the key follows from
the printed expression as read, and ``ocr`` may not compute it (it never imports
``grading``), so the forms travel to the reader as ``expected_for``, the way a printed
worksheet's regions carry ``grading.written_keys`` (``ocr.pipeline.RegionSpec.expected``).
A recogniser that verifies keys scores them on the ink beside its own readings; a key is
one more candidate, never a verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from grading.arithmetic_stem import ArithmeticStemError, parse_arithmetic_stem
from grading.drill import (
    DrillDecision,
    DrillGradeOptions,
    drill_question,
    expects_remainder,
    grade_drill_item,
)
from grading.grade import Grade, Verdict
from grading.response import Alternative, Response, ResponseStatus
from grading.review_policy import ReviewPolicy
from grading.written_keys import written_keys
from ocr.drill.detect import TextDetector
from ocr.drill.doubts import printed_digits
from ocr.drill.items import ExpressionReader, ItemLayout
from ocr.drill.page import (
    DrillEngines,
    DrillItemReading,
    DrillReadOptions,
    build_drill_engines,
    locate_items,
    read_items,
    read_results,
    result_alphabet,
)
from ocr.drill.page import read_drill_page as read_drill_page_items
from ocr.drill.small_answers import SMALL_DETAIL
from ocr.reading.recognize import Reading, TextRecognizer

__all__ = [
    "DrillEngines",
    "DrillItem",
    "DrillOptions",
    "DrillPageRead",
    "build_drill_engines",
    "drill_key_forms",
    "grade_items",
    "grade_readings",
    "locate_items",
    "read_drill_page",
    "read_results",
    "result_alphabet",
]


@dataclass(frozen=True)
class DrillOptions(DrillReadOptions):
    """Settings of a drill-page read and its grading.

    The reader's settings are :class:`~ocr.drill.page.DrillReadOptions`'s. The grader
    uses ``min_expression_confidence`` too: below it the expression itself is doubtful
    and the item goes to review.

    Attributes:
        policy: The review policy applied to each grade.
        verify_keys: Give the reader each item's key forms (:func:`drill_key_forms`) to
            score on the ink; False reads without them (the benchmark's before).
    """

    policy: ReviewPolicy = field(default_factory=ReviewPolicy)
    verify_keys: bool = True

    def grading(self) -> DrillGradeOptions:
        """The part of these settings the grader uses."""
        return DrillGradeOptions(
            min_expression_confidence=self.min_expression_confidence, policy=self.policy
        )


@dataclass(frozen=True)
class DrillItem:
    """One drill item as read and graded.

    Attributes:
        reading: The item as the reader gave it (expression, answer, boxes, statuses).
        grade: The arithmetic grader's decision, None when the expression is unusable.
        needs_review: True when a teacher must look (never silently wrong).
        reason: Why it needs review (empty otherwise).
    """

    reading: DrillItemReading
    grade: Grade | None
    needs_review: bool
    reason: str = ""


@dataclass(frozen=True)
class DrillPageRead:
    """A drill page's outcome: the :class:`~ocr.drill.page.DrillPageReading`, items graded.

    ``status``, ``rotation`` and ``detail`` are the reading's, unchanged.
    """

    status: Literal["read", "no_items", "engine_error"]
    items: tuple[DrillItem, ...] = ()
    rotation: int = 0
    detail: str = ""


_STATUS = {
    "ok": ResponseStatus.OK,
    "blank": ResponseStatus.BLANK,
    "unreadable": ResponseStatus.UNREADABLE,
    "engine_error": ResponseStatus.ENGINE_ERROR,
}


def _clip(p: float) -> float:
    return min(max(p, 0.0), 1.0)


def _response(item: DrillItemReading) -> Response:
    return Response(
        status=_STATUS.get(item.result_status, ResponseStatus.ENGINE_ERROR),
        text=item.result,
        alternatives=tuple(Alternative(text=t, probability=_clip(p)) for t, p in item.alternatives),
        # "blank" is decided by the ink check, not by a reading's probability.
        confidence=1.0 if item.result_status == "blank" else _clip(item.result_confidence),
    )


def _printed_digits(item: DrillItemReading, image: np.ndarray | None) -> int | None:
    """The printed digits counted in the pixels of a horizontal item's expression (its
    answer right of the ``=``) when its answer was read; None otherwise."""
    if image is None or item.result_status != "ok" \
            or item.result_box[0] < item.expression_box[2] - 2:
        return None
    return printed_digits(image, item.expression_box)


def grade_readings(
    items: Sequence[DrillItemReading], options: DrillOptions | None = None,
    image: np.ndarray | None = None,
) -> list[DrillItem]:
    """Grade items already read, in page order.

    Args:
        items: The items as read.
        options: Review settings.
        image: The page upright as the items were read on it: a wrong answer that would be
            right for the expression with a digit more or less is held only when the
            printed digits counted there do not rule that out (``grading.drill``); None
            holds it always.

    Returns:
        The graded items; unusable expressions and doubtful readings need review.
    """
    grading = (options or DrillOptions()).grading()
    out = []
    for i, it in enumerate(items):
        def grade(digits: int | None, it: DrillItemReading = it, i: int = i) -> DrillDecision:
            return grade_drill_item(it.expression, _response(it),
                                    raw_expression=it.raw_expression,
                                    expression_confidence=it.expression_confidence, index=i,
                                    detail=it.detail, options=grading, printed_digits=digits)

        decision = grade(None)
        if decision.needs_review and decision.grade is not None and decision.grade.auto:
            # Held by the drill grader (a neighbour of the expression, or its confidence):
            # the printed digits are counted only then, as they may release it.
            digits = _printed_digits(it, image)
            if digits is not None:
                decision = grade(digits)
        held, reason = decision.needs_review, decision.reason
        if not held and it.detail.startswith(SMALL_DETAIL) and decision.grade is not None \
                and decision.grade.verdict != Verdict.CORRECT:
            # Read at a smaller stroke size, a digit may be lost: only the key is trusted.
            held, reason = True, f"answer written very small, read as '{it.result}'"
        out.append(DrillItem(it, decision.grade, held, reason))
    return out


def grade_items(
    layouts: Sequence[ItemLayout], readings: Sequence[Reading], options: DrillOptions
) -> list[DrillItem]:
    """Grade each located item from its answer reading.

    Args:
        layouts: Located items.
        readings: Their answer readings, in the same order.
        options: Review settings.

    Returns:
        The graded items; unusable expressions and doubtful readings need review.
    """
    return grade_readings(read_items(layouts, readings), options)


def drill_key_forms(expression: str) -> tuple[str, ...]:
    """The written forms of a drill item's key, for the reader to verify on the ink.

    Args:
        expression: The printed expression as read, without ``=`` (``37+48``, ``17÷5``).

    Returns:
        ``grading.written_keys`` of the item's arithmetic question (``85``; ``3/4`` and
        ``0.75``); for a division with a remainder, written in one area on a drill page,
        ``3......2``, with six dots as it is written (one form only: the reader's dot
        spellings are one answer once normalised, and two spellings of the key would
        give it two votes). Empty when the expression does not parse.
    """
    try:
        if expects_remainder(expression):
            answer = parse_arithmetic_stem(expression + "= ……").answer_text()
            return (answer.replace("……", "......"),)
    except ArithmeticStemError:
        return ()
    return written_keys(drill_question(expression, False, 0), 0)


def read_drill_page(
    image: np.ndarray,
    detector: TextDetector,
    recognizer: TextRecognizer,
    *,
    expressions: ExpressionReader,
    options: DrillOptions | None = None,
) -> DrillPageRead:
    """Find, read and grade every drill item on one page.

    The arguments are :func:`ocr.drill.page.read_drill_page`'s, with review settings
    added to ``options``.

    Returns:
        The page read, its items graded; ``engine_error`` when the detector failed,
        ``no_items`` when no ``a ○ b =`` item was found.
    """
    o = options or DrillOptions()
    # DrillOptions is a DrillReadOptions: the reader takes the settings as they are.
    page = read_drill_page_items(image, detector, recognizer, expressions=expressions, options=o,
                                 expected_for=drill_key_forms if o.verify_keys else None)
    upright = np.rot90(image, page.rotation) if page.rotation else image
    return DrillPageRead(page.status, tuple(grade_readings(page.items, o, upright)),
                         page.rotation, page.detail)
