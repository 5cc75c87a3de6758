"""The student number a child wrote at the top of a drill sheet (学号：____).

A drill sheet from anywhere has no comb of boxes: its header prints a label and a rule,
and the child writes the number on the rule. The header (the band above the first item)
is detected as text lines; each line is read over PP-OCR's full character set with
character positions, only to find the printed label ``学号``; the handwriting right of it,
up to the next printed label on the line, is cut to its ink and read by the answer reader
over digits. The reading is evidence to match against a roster, never an identity by
itself (``ocr.students.match``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ocr.drill.answers import answer_crop
from ocr.drill.detect import DetectionError, TextDetector
from ocr.reading.ctc import ALPHABETS
from ocr.reading.preprocess import to_gray
from ocr.reading.recognize import PPOCRRecognizer, TextRecognizer, charset_from_session
from ocr.students.name import NameEvidence, evidence_of

__all__ = ["HeaderNumber", "HeaderRead", "LabelReader", "read_header", "read_header_number"]

Box = tuple[int, int, int, int]
_LABEL = "学号"
_NAME = "姓名"
# The header is at most this share of the page: a sheet's items start below it.
MAX_HEADER_SHARE = 0.3


@dataclass(frozen=True)
class HeaderNumber:
    """A handwritten student number as read.

    Attributes:
        text: The digits read ("" when the reader could not make them out).
        confidence: The reader's confidence in ``text``.
        alternatives: Other readings with probabilities.
        box: Where it was written, in pixels of the page given.
    """

    text: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]
    box: Box


class LabelReader:
    """Reads printed text lines over PP-OCR's full character set, with each character's
    page x (CTC best path), to find a printed label.

    Args:
        session: An onnxruntime session of the PP-OCR recogniser.
    """

    def __init__(self, session: Any) -> None:
        self._line = PPOCRRecognizer(session)
        self._charset = charset_from_session(session)

    def read(self, gray: np.ndarray, boxes: list[Box]) -> list[list[tuple[str, float]]]:
        """Each box's characters with their page x centres."""
        images = []
        for x0, y0, x1, y1 in boxes:
            crop = gray[y0:y1, x0:x1]
            width = max(16, round(crop.shape[1] * 48 / max(crop.shape[0], 1)))
            images.append(cv2.resize(crop, (min(width, 3200), 48), interpolation=cv2.INTER_AREA))
        out = []
        for (x0, _, x1, _), probs in zip(boxes, self._line.probabilities(images) if images
                                         else [], strict=True):
            best = probs.argmax(axis=1)
            step = (x1 - x0) / max(1, len(best))
            chars, prev = [], 0
            for i, k in enumerate(best):
                if k != prev and k != 0 and k < len(self._charset):
                    chars.append((self._charset[k], x0 + (i + 0.5) * step))
                prev = int(k)
            out.append(chars)
        return out

    def evidence(self, crop: np.ndarray) -> NameEvidence | None:
        """A handwritten name's recognition evidence (None when the reader failed: no
        evidence, never a guess)."""
        width = max(16, round(crop.shape[1] * 48 / max(crop.shape[0], 1)))
        image = cv2.resize(crop, (min(width, 3200), 48), interpolation=cv2.INTER_AREA)
        try:
            probs = self._line.probabilities([image])[0]
        except Exception:  # an engine failure is no evidence
            return None
        return evidence_of(probs, self._charset)


def _is_cjk(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff"


def _without_rules(gray: np.ndarray, area: Box, line_h: int) -> np.ndarray:
    """The page with the printed rule the number is written on painted over with paper
    inside ``area``: long thin horizontal ink (a rule ``____``) is no digit's stroke."""
    x0, y0, x1, y1 = area
    crop = gray[y0:y1, x0:x1]
    if crop.size == 0:
        return gray
    ink = (crop < min(160, int(np.median(crop)) - 40)).astype(np.uint8)
    length = max(8, int(1.5 * line_h))
    rules = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    rules = cv2.dilate(rules, np.ones((3, 3), np.uint8))
    if not rules.any():
        return gray
    out = gray.copy()
    out[y0:y1, x0:x1][rules > 0] = int(np.median(crop))
    return out


@dataclass(frozen=True)
class HeaderRead:
    """What a drill sheet's header says about whose it is.

    Attributes:
        number: The number written after ``学号``, None without the label or ink there.
        name: The name written after ``姓名`` as recognition evidence (scored against a
            roster by ``ocr.students.name.name_posteriors``), None without either.
    """

    number: HeaderNumber | None = None
    name: NameEvidence | None = None


# Printed words that end a written field on a header row (the next field's label).
_LABELS = ("姓名", "学号", "班级", "用时", "日期", "得分", "时间", "座号")


def _field_area(gray: np.ndarray, boxes: list[Box], lines: list[list[tuple[str, float]]],
                index: int, at: int, label: str, bottom: int) -> Box | None:
    """Where the child wrote the field after ``label`` (found at ``at`` in line
    ``index``): from the label (and its colon) to the next printed label on the row."""
    _, y0, _, y1 = boxes[index]
    chars = lines[index]
    line_h = y1 - y0
    after = chars[at + len(label):]
    start = chars[at + len(label) - 1][1] + 0.6 * line_h
    if after and after[0][0] in ":：":
        start = after[0][1] + 0.3 * line_h
    # The field ends at the next printed label on the row (用时, 班级), in this line or
    # another the detector found beside it; a number also at any other printed word.
    ends: list[float] = []
    for (bx0, by0, _, by1), other in zip(boxes, lines, strict=True):
        if min(by1, y1) - max(by0, y0) <= 0.4 * line_h:
            continue
        text = "".join(c for c, _ in other)
        for word in _LABELS:
            k = text.find(word)
            while k >= 0:
                if other[k][1] > start:
                    ends.append(other[k][1] - 0.6 * line_h)
                k = text.find(word, k + 1)
        if label == _LABEL and bx0 > start:
            ends += [x - 0.6 * line_h for c, x in other if _is_cjk(c) and x > start]
    if label == _LABEL:
        ends += [x - 0.6 * line_h for c, x in after if _is_cjk(c) and x > start]
    stop = min([*ends, start + 12 * line_h, float(gray.shape[1])])
    # Up to the line above (the title): its ink is no part of the field.
    ceiling = max([by1 for (_, _, _, by1) in boxes if by1 <= y0 + 0.2 * line_h] + [0])
    area = (int(start), int(max(ceiling + 2, y0 - 0.8 * line_h)), int(stop),
            int(min(bottom, y1 + 0.5 * line_h)))
    return area if area[2] - area[0] >= line_h else None


def read_header(image: np.ndarray, detector: TextDetector, labels: LabelReader,
                recognizer: TextRecognizer, *, items_top: int | None = None) -> HeaderRead:
    """Read the number written after ``学号`` and the name after ``姓名`` at the top of
    a page.

    Args:
        image: The page, upright (grayscale or BGR).
        detector: Text-line detector.
        labels: Reader of printed labels (and of the name, over the whole charset).
        recognizer: Answer reader (the number, over digits).
        items_top: The top of the page's first item, in pixels: the header is above it.

    Returns:
        What was found; empty when the page has neither label, nothing is written after
        them, or the detector failed.
    """
    gray = to_gray(image)
    h = gray.shape[0]
    bottom = min(int(h * MAX_HEADER_SHARE), items_top if items_top else h)
    band = gray[:max(bottom, 1)]
    try:
        found = detector.detect([band])[0]
    except DetectionError:
        return HeaderRead()
    boxes: list[Box] = [(int(b.box[0]), int(b.box[1]), int(b.box[2]), int(b.box[3]))
                        for b in found]
    lines = labels.read(band, boxes)
    number: HeaderNumber | None = None
    name: NameEvidence | None = None
    for i, chars in enumerate(lines):
        text = "".join(c for c, _ in chars)
        line_h = boxes[i][3] - boxes[i][1]
        at = text.find(_LABEL)
        if at >= 0 and number is None:
            area = _field_area(gray, boxes, lines, i, at, _LABEL, bottom)
            crop = (answer_crop(_without_rules(gray, area, line_h), area, 0.6 * line_h)
                    if area else None)
            if area is not None and crop is not None:
                reading = recognizer.recognize([crop], alphabet=ALPHABETS["digits"])[0]
                number = (HeaderNumber(reading.text, float(reading.confidence),
                                       tuple((t, float(p)) for t, p in reading.alternatives),
                                       area) if reading.status == "ok"
                          else HeaderNumber("", 0.0, (), area))
        at = text.find(_NAME)
        if at >= 0 and name is None:
            area = _field_area(gray, boxes, lines, i, at, _NAME, bottom)
            crop = (answer_crop(_without_rules(gray, area, line_h), area, 0.6 * line_h)
                    if area else None)
            if crop is not None:
                name = labels.evidence(crop)
    return HeaderRead(number, name)


def read_header_number(image: np.ndarray, detector: TextDetector, labels: LabelReader,
                       recognizer: TextRecognizer, *, items_top: int | None = None
                       ) -> HeaderNumber | None:
    """The number written after ``学号`` (see :func:`read_header`)."""
    return read_header(image, detector, labels, recognizer, items_top=items_top).number
