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

__all__ = ["HeaderNumber", "LabelReader", "read_header_number"]

Box = tuple[int, int, int, int]
_LABEL = "学号"
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


def _is_cjk(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff"


def read_header_number(image: np.ndarray, detector: TextDetector, labels: LabelReader,
                       recognizer: TextRecognizer, *, items_top: int | None = None
                       ) -> HeaderNumber | None:
    """Read the number written after the printed ``学号`` label at the top of a page.

    Args:
        image: The page, upright (grayscale or BGR).
        detector: Text-line detector.
        labels: Reader of printed labels.
        recognizer: Answer reader (digits).
        items_top: The top of the page's first item, in pixels: the header is above it.

    Returns:
        The number as read, or None when the page has no ``学号`` label (or nothing
        written after it, or the detector failed).
    """
    gray = to_gray(image)
    h = gray.shape[0]
    bottom = min(int(h * MAX_HEADER_SHARE), items_top if items_top else h)
    band = gray[:max(bottom, 1)]
    try:
        found = detector.detect([band])[0]
    except DetectionError:
        return None
    boxes: list[Box] = [(int(b.box[0]), int(b.box[1]), int(b.box[2]), int(b.box[3]))
                        for b in found]
    lines = labels.read(band, boxes)
    for (_, y0, x1, y1), chars in zip(boxes, lines, strict=True):
        text = "".join(c for c, _ in chars)
        at = text.find(_LABEL)
        if at < 0:
            continue
        line_h = y1 - y0
        # The number starts after the label (and its colon) and ends at the next printed
        # word on the line (用时, 班级) or a few characters past the detected line.
        after = [(c, x) for c, x in chars[at + len(_LABEL):]]
        start = chars[at + 1][1] + 0.6 * line_h
        if after and after[0][0] in ":：":
            start = after[0][1] + 0.3 * line_h
        stop = next((x - 0.6 * line_h for c, x in after if _is_cjk(c)), x1 + 3 * line_h)
        area = (int(start), max(0, int(y0 - 0.8 * line_h)), int(min(stop, gray.shape[1])),
                int(min(bottom, y1 + 0.5 * line_h)))
        if area[2] - area[0] < line_h:
            return None
        crop = answer_crop(gray, area, 0.6 * line_h)
        if crop is None:
            return None
        reading = recognizer.recognize([crop], alphabet=ALPHABETS["digits"])[0]
        if reading.status != "ok":
            return HeaderNumber("", 0.0, (), area)
        return HeaderNumber(reading.text, float(reading.confidence),
                            tuple((t, float(p)) for t, p in reading.alternatives), area)
    return None
