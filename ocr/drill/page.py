"""Free-form arithmetic drill pages (口算): find and read every ``a ○ b = c`` item.

A drill page has no printed layout markbook knows, so the items are found on the page
itself (``ocr.drill.items``): detect text lines, read them with character positions, and
anchor one item on every printed ``=``. The student's answer is cut from the pixels right
of the ``=`` and read by the answer reader with an alphabet chosen from the expression
(whole numbers for ``37 + 48``, decimals for ``2.5 + 1.3``, fractions for ``1/5 + 2/5``,
``quotient……remainder`` for ``17 ÷ 5``). Column items (竖式: operands stacked over a rule,
the result written under it) are anchored on the rule instead (``ocr.drill.columns``).
This module only reads: grading an item is ``grading.drill``'s job.

Stages::

    page ─ detect ─► text boxes ─ read with positions ─► LineChars
         ─ find_items, find_column_items ─► ItemLayout (expression, answer area)
         ─ read_results ─► Reading per answer area ─ read_items ─► DrillItemReading

Doubt is never hidden: an unreadable answer and a reader failure keep their status, and
only an answer area with no ink is ``blank``. A detector failure is a page status
(``engine_error``), never an empty item list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from models.loader import SessionSettings, open_session
from models.manifest import (
    ANSWER_LINE_READER,
    DIGIT_CLASSIFIER,
    PPOCR_DET_SMALL,
    PPOCR_REC_SMALL,
)
from ocr.drill.answers import REMAINDER, KeyForms, answer_crop, read_results, result_alphabet
from ocr.drill.columns import find_column_items
from ocr.drill.detect import DetectionError, PPOCRDetector, TextDetector
from ocr.drill.divisions import read_divisions
from ocr.drill.items import ExpressionReader, ItemLayout, find_items
from ocr.drill.longdiv import find_long_divisions, read_with_long_divisions, without_their_rules
from ocr.drill.small_answers import read_small_answers
from ocr.reading.ensemble import EnsembleRecognizer
from ocr.reading.glyphs import GlyphClassifier
from ocr.reading.hand_reader import HandLineReader
from ocr.reading.preprocess import PrepOptions
from ocr.reading.recognize import PPOCRRecognizer, Reading, RecognizerOptions, TextRecognizer

__all__ = [
    "REMAINDER",
    "DrillEngines",
    "DrillItemReading",
    "DrillPageReading",
    "DrillReadOptions",
    "KeyForms",
    "answer_crop",
    "build_drill_engines",
    "locate_items",
    "read_drill_page",
    "read_items",
    "read_results",
    "result_alphabet",
]

_DOTS = re.compile(r"(?<=[0-9])(?:…+|\.{2,}|:)(?=[0-9])")


@dataclass(frozen=True)
class DrillReadOptions:
    """Settings of a drill-page read.

    Attributes:
        result_decoding: ``masked`` reads answers over the alphabet the expression allows;
            ``plain`` reads them unconstrained (the baseline a generic OCR call gives).
        min_expression_confidence: An expression read with at least this lowest-character
            probability counts as confidently read when choosing the page's orientation.
        try_orientations: When the upright page yields fewer than ``min_items`` items,
            also try it turned 180, 90 and 270 degrees and keep the best.
        min_items: See ``try_orientations``.
    """

    result_decoding: Literal["masked", "plain"] = "masked"
    min_expression_confidence: float = 0.9
    try_orientations: bool = True
    min_items: int = 3


@dataclass(frozen=True)
class DrillItemReading:
    """One drill item as read (not graded).

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
        detail: The reader's reason for a non-``ok`` answer.
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
    detail: str = ""


@dataclass(frozen=True)
class DrillPageReading:
    """A drill page as read.

    Attributes:
        status: ``read`` (items found), ``no_items`` (nothing that looks like a drill
            item) or ``engine_error`` (the detector failed: not the same as no items).
        items: The items, top to bottom and left to right.
        rotation: Quarter turns (counter-clockwise, ``np.rot90``) applied to read it.
        detail: Reason for a non-``read`` status.
    """

    status: Literal["read", "no_items", "engine_error"]
    items: tuple[DrillItemReading, ...] = ()
    rotation: int = 0
    detail: str = ""


@dataclass(frozen=True)
class DrillEngines:
    """The models a drill read needs, opened once per worker.

    Attributes:
        detector: Text-line detector.
        expressions: Printed-expression reader (positions over a maths alphabet).
        recognizer: Answer reader (PP-OCR plus the glyph classifier by default).
    """

    detector: TextDetector
    expressions: ExpressionReader
    recognizer: TextRecognizer


def build_drill_engines(settings: SessionSettings | None = None) -> DrillEngines:
    """Open the detector and reader sessions (sha256-verified) once.

    Args:
        settings: onnxruntime thread settings.

    Returns:
        The engines; the PP-OCR recogniser session is shared by both readers.
    """
    settings = settings or SessionSettings()
    detector = PPOCRDetector(open_session(PPOCR_DET_SMALL, settings))
    rec = open_session(PPOCR_REC_SMALL, settings)
    # A drill answer has no printed box around it: erasing "box rules" would only erase
    # the tall strokes of a written 1 or the bar of a 7 in a tight crop.
    prep = PrepOptions(remove_border=False)
    line = PPOCRRecognizer(rec, options=RecognizerOptions(prep=prep))
    answers = EnsembleRecognizer(
        line,
        GlyphClassifier(open_session(DIGIT_CLASSIFIER, settings)),
        hand=HandLineReader(open_session(ANSWER_LINE_READER, settings)),
    )
    return DrillEngines(detector, ExpressionReader(rec), answers)


def _normalise(text: str) -> str:
    # "3......2", "3…2" and "3:2" are all how a remainder answer gets read.
    return _DOTS.sub("……", text.strip())


def locate_items(
    image: np.ndarray, detector: TextDetector, expressions: ExpressionReader
) -> list[ItemLayout]:
    """Detect text lines and locate the drill items on one upright page.

    Args:
        image: The page (grayscale or BGR).
        detector: Text-line detector.
        expressions: Expression reader.

    Returns:
        The located items.

    Raises:
        DetectionError: If the detector failed.
    """
    boxes = detector.detect([image])[0]
    if not boxes:
        return []
    lines = expressions.read(image, boxes)
    found = find_items(image, lines) + find_column_items(image, lines)
    # Long division (ocr.drill.longdiv): its bracket's rule and working are not column items.
    found = without_their_rules(found, find_long_divisions(image, lines, expressions))
    found.sort(key=lambda f: (f.expression_box[1] + f.expression_box[3], f.expression_box[0]))
    return found


def read_items(
    layouts: Sequence[ItemLayout], readings: Sequence[Reading]
) -> list[DrillItemReading]:
    """Pair each located item with its answer reading.

    Args:
        layouts: Located items.
        readings: Their answer readings, in the same order.

    Returns:
        The items as read; remainder answers are written ``q……r`` however they were read.
    """
    items = []
    for la, rd in zip(layouts, readings, strict=True):
        result, confidence, alternatives = _merged(rd)
        items.append(
            DrillItemReading(
                expression=la.expression,
                raw_expression=la.raw,
                expression_confidence=la.expression_confidence,
                expression_box=la.expression_box,
                result_box=la.result_box,
                result=result,
                result_status=rd.status,
                result_confidence=confidence,
                alternatives=alternatives,
                detail=rd.detail,
            )
        )
    return items


def _merged(reading: Reading) -> tuple[str, float, tuple[tuple[str, float], ...]]:
    """A reading's text, confidence and alternatives once remainder dots are normalised.

    The readers write a remainder's dots many ways (``3....2``, ``3......2``, ``3…2``);
    normalised they are one answer, whose probability is the sum of theirs. Left apart,
    a well-read ``3……2`` split over three dot counts showed none of them likely enough to
    grade (the review policy counts the best reading's text once). The best merged text
    is the result; its confidence is its summed share, never below the reader's own.

    Returns:
        The result ("" unless the reading is ``ok``), its confidence, and the merged
        alternatives, likeliest first.
    """
    mass: dict[str, float] = {}
    for text, p in reading.alternatives:
        key = _normalise(text)
        mass[key] = mass.get(key, 0.0) + p
    alternatives = tuple(sorted(mass.items(), key=lambda kv: -kv[1]))  # stable: ties keep order
    if reading.status != "ok":
        return "", reading.confidence, alternatives
    text = _normalise(reading.text)
    if alternatives and alternatives[0][0] != text and alternatives[0][1] > mass.get(text, 0.0):
        text, share = alternatives[0]
        return text, share, alternatives
    if text in mass and len(alternatives) < len(reading.alternatives):
        return text, max(reading.confidence, min(mass[text], 1.0)), alternatives
    return text, reading.confidence, alternatives


def _score(layouts: Sequence[ItemLayout], options: DrillReadOptions) -> int:
    # Upside down, "=" still reads as "=" and 6/9 as digits, so items are found; but few
    # of their expressions parse with confidence. Count only those.
    return sum(
        1 for la in layouts
        if la.expression and la.expression_confidence >= options.min_expression_confidence
    )


def _located(
    image: np.ndarray, engines: tuple[TextDetector, ExpressionReader], options: DrillReadOptions
) -> tuple[int, np.ndarray, list[ItemLayout]]:
    layouts = locate_items(image, *engines)
    best = (0, image, layouts)
    best_score = _score(layouts, options)
    upright_ok = best_score >= options.min_items and best_score >= 0.6 * len(layouts)
    if not options.try_orientations or upright_ok:
        return best
    for turns in (2, 1, 3):
        turned = np.ascontiguousarray(np.rot90(image, turns))
        layouts = locate_items(turned, *engines)
        score = _score(layouts, options)
        if score > best_score:
            best, best_score = (turns, turned, layouts), score
        if best_score >= options.min_items and best_score >= 0.6 * len(best[2]):
            break
    return best


def read_drill_page(
    image: np.ndarray,
    detector: TextDetector,
    recognizer: TextRecognizer,
    *,
    expressions: ExpressionReader,
    options: DrillReadOptions | None = None,
    expected_for: KeyForms | None = None,
) -> DrillPageReading:
    """Find and read every drill item on one page.

    Args:
        image: The scanned page (grayscale or BGR uint8), any quarter-turn orientation.
        detector: Text-line detector.
        recognizer: Answer reader.
        expressions: Printed-expression reader.
        options: Decoding and orientation settings.
        expected_for: Each item's key written forms from its printed expression, verified
            against the ink by a recogniser that verifies keys (``ocr.drill.answers``);
            None reads without keys.

    Returns:
        The page read; ``engine_error`` when the detector failed, ``no_items`` when no
        ``a ○ b =`` item was found.
    """
    o = options or DrillReadOptions()
    try:
        turns, page, layouts = _located(image, (detector, expressions), o)
    except DetectionError as exc:
        return DrillPageReading("engine_error", detail=str(exc))
    if not layouts:
        return DrillPageReading("no_items", detail="no arithmetic item found")
    # read_results for every item, long divisions' quotient and remainder apart.
    # Whole-number divisions over digits (ocr.drill.divisions), the rest as above.
    readings = read_divisions(page, layouts, recognizer, o.result_decoding, expected_for,
                              rest=read_with_long_divisions)
    # Areas read blank that hold marks too big for specks: read at a smaller stroke size.
    readings = read_small_answers(page, layouts, readings, recognizer, o.result_decoding,
                                  expected_for)
    return DrillPageReading("read", tuple(read_items(layouts, readings)), turns)
