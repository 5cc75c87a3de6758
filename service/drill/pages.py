"""Read a drill page with ``ocr.drill`` and grade its items with ``grading.drill``.

The reader and the grader are kept apart (shared/DESIGN.md: ``ocr`` reads, ``grading``
decides); this module is the seam between them: it turns each answer reading into a
grading :class:`~grading.response.Response` and puts the reading and the decision back
together as one :class:`DrillItem`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from grading.drill import DrillGradeOptions, grade_drill_item
from grading.grade import Grade
from grading.response import Alternative, Response, ResponseStatus
from grading.review_policy import ReviewPolicy
from ocr.drill.detect import TextDetector
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
from ocr.reading.recognize import Reading, TextRecognizer

__all__ = [
    "DrillEngines",
    "DrillItem",
    "DrillOptions",
    "DrillPageRead",
    "build_drill_engines",
    "grade_items",
    "grade_readings",
    "locate_items",
    "read_drill_page",
    "read_results",
    "result_alphabet",
]


@dataclass(frozen=True)
class DrillOptions:
    """Settings of a drill-page read and its grading.

    Attributes:
        result_decoding: ``masked`` reads answers over the alphabet the expression allows;
            ``plain`` reads them unconstrained (the baseline a generic OCR call gives).
        min_expression_confidence: Below this lowest-character probability the
            expression itself is doubtful and the item goes to review.
        try_orientations: When the upright page yields fewer than ``min_items`` items,
            also try it turned 180, 90 and 270 degrees and keep the best.
        min_items: See ``try_orientations``.
        policy: The review policy applied to each grade.
    """

    result_decoding: Literal["masked", "plain"] = "masked"
    min_expression_confidence: float = 0.9
    try_orientations: bool = True
    min_items: int = 3
    policy: ReviewPolicy = field(default_factory=ReviewPolicy)

    def reading(self) -> DrillReadOptions:
        """The part of these settings the reader uses."""
        return DrillReadOptions(
            result_decoding=self.result_decoding,
            min_expression_confidence=self.min_expression_confidence,
            try_orientations=self.try_orientations,
            min_items=self.min_items,
        )

    def grading(self) -> DrillGradeOptions:
        """The part of these settings the grader uses."""
        return DrillGradeOptions(
            min_expression_confidence=self.min_expression_confidence, policy=self.policy
        )


@dataclass(frozen=True)
class DrillItem:
    """One drill item as read and graded.

    Attributes:
        expression: The printed expression (``37+48``); "" when it could not be parsed.
        raw_expression: What was read left of the ``=``.
        expression_confidence: Lowest character probability of the expression.
        expression_box: Expression and ``=`` in page pixels ``(x0, y0, x1, y1)``.
        result_box: The answer area cut from the page.
        result: The student's answer as read ("" unless ``result_status`` is ``ok``).
        result_status: ``ok``, ``blank``, ``unreadable`` or ``engine_error``.
        result_confidence: The reader's confidence in ``result``.
        alternatives: Other readings of the answer with probabilities.
        grade: The arithmetic grader's decision, None when the expression is unusable.
        needs_review: True when a teacher must look (never silently wrong).
        reason: Why it needs review (empty otherwise).
    """

    expression: str
    raw_expression: str
    expression_confidence: float
    expression_box: tuple[int, int, int, int]
    result_box: tuple[int, int, int, int]
    result: str
    result_status: str
    result_confidence: float
    alternatives: tuple[tuple[str, float], ...]
    grade: Grade | None
    needs_review: bool
    reason: str = ""


@dataclass(frozen=True)
class DrillPageRead:
    """A drill page's outcome.

    Attributes:
        status: ``read`` (items found), ``no_items`` (nothing that looks like a drill
            item) or ``engine_error`` (the detector failed: not the same as no items).
        items: The items, top to bottom and left to right.
        rotation: Quarter turns (counter-clockwise, ``np.rot90``) applied to read it.
        detail: Reason for a non-``read`` status.
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


def grade_readings(
    items: Sequence[DrillItemReading], options: DrillOptions | None = None
) -> list[DrillItem]:
    """Grade items already read, in page order.

    Args:
        items: The items as read.
        options: Review settings.

    Returns:
        The graded items; unusable expressions and doubtful readings need review.
    """
    grading = (options or DrillOptions()).grading()
    out = []
    for i, it in enumerate(items):
        decision = grade_drill_item(
            it.expression,
            _response(it),
            raw_expression=it.raw_expression,
            expression_confidence=it.expression_confidence,
            index=i,
            detail=it.detail,
            options=grading,
        )
        out.append(
            DrillItem(
                expression=it.expression,
                raw_expression=it.raw_expression,
                expression_confidence=it.expression_confidence,
                expression_box=it.expression_box,
                result_box=it.result_box,
                result=it.result,
                result_status=it.result_status,
                result_confidence=it.result_confidence,
                alternatives=it.alternatives,
                grade=decision.grade,
                needs_review=decision.needs_review,
                reason=decision.reason,
            )
        )
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


def read_drill_page(
    image: np.ndarray,
    detector: TextDetector,
    recognizer: TextRecognizer,
    *,
    expressions: ExpressionReader,
    options: DrillOptions | None = None,
) -> DrillPageRead:
    """Find, read and grade every drill item on one page.

    Args:
        image: The scanned page (grayscale or BGR uint8), any quarter-turn orientation.
        detector: Text-line detector.
        recognizer: Answer reader.
        expressions: Printed-expression reader.
        options: Decoding and review settings.

    Returns:
        The page read; ``engine_error`` when the detector failed, ``no_items`` when no
        ``a ○ b =`` item was found.
    """
    o = options or DrillOptions()
    page = read_drill_page_items(
        image, detector, recognizer, expressions=expressions, options=o.reading()
    )
    return DrillPageRead(page.status, tuple(grade_readings(page.items, o)), page.rotation,
                         page.detail)
