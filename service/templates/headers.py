"""The 班级 / 姓名 / 学号 lines of a blank's title block, told from answer places by the
label printed just left of them.

The answer-place finder (:func:`ocr.foreign.register.propose_layout`) sees an underline or a
box, not what it is for, so a page's ``姓名：______`` came back as an answer to key. Here
each underline or box near the top of the page (where a title block is) that has print
directly left of it gets that print read by the PP-OCR line recogniser, and its label
decides:

* 姓名 / 名字 → a ``name`` region (where the child writes their name);
* 学号 / 考号 / 编号 → a ``student_number`` region;
* 班级 / 日期 / 学校 (and the like: 年级, 时间, 用时, 得分) → no region: nothing of the
  child's to read there;
* anything else (``3 + 5 = ____``, a question's text) → left as proposed, an answer place.

Cheap by design: only places in the top :data:`HEADER_SHARE` of the page with ink within
:data:`LABEL_GAP_MM` left of them are read, all in one batch; a page has a handful.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import cv2
import numpy as np

__all__ = ["HEADER_SHARE", "LABEL_KINDS", "LabelLines", "PPOCRLabelLines", "header_fields",
           "kind_of_label", "label_lines"]

log = logging.getLogger(__name__)

# A title block is in the top part of the page; places lower down are the questions'.
HEADER_SHARE = 0.3
# The label ends at most this far left of its line (a colon and a space between).
LABEL_GAP_MM = 6.0
# How far left a label may reach, and the widest gap between two of its characters.
LABEL_REACH_MM = 35.0
CHAR_GAP_MM = 4.0
# The recogniser's input height (PP-OCR rec).
_LINE_H = 48
# What each printed label makes of the place right of it: a region kind, or None for a
# header field that is nobody's answer. Longer labels first (名字 before 字).
LABEL_KINDS: dict[str, str | None] = {
    "姓名": "name", "名字": "name",
    "学号": "student_number", "考号": "student_number", "编号": "student_number",
    "班级": None, "班别": None, "年级": None, "日期": None, "学校": None, "时间": None,
    "用时": None, "得分": None, "分数": None,
}
# Printed punctuation around a label: 姓名：, (姓名), 姓 名 spaced out.
_NOISE = re.compile(r"[\s:：_\uff3f.。,，()（）\[\]【】|-]+")


class LabelLines(Protocol):
    """Reads printed text lines (greyscale crops, any size) as plain text."""

    def read(self, crops: Sequence[np.ndarray]) -> list[str]: ...


class PPOCRLabelLines:
    """:class:`LabelLines` on the PP-OCR line recogniser, over its full character set,
    best path (a printed label needs no beam).

    Args:
        session: an onnxruntime session of the PP-OCR recogniser.
    """

    def __init__(self, session: Any) -> None:
        from ocr.reading.recognize import PPOCRRecognizer, charset_from_session

        self._line = PPOCRRecognizer(session)
        self._charset = charset_from_session(session)

    def read(self, crops: Sequence[np.ndarray]) -> list[str]:
        images = []
        for crop in crops:
            width = max(16, round(crop.shape[1] * _LINE_H / max(crop.shape[0], 1)))
            images.append(cv2.resize(crop, (min(width, 1600), _LINE_H),
                                     interpolation=cv2.INTER_AREA))
        out = []
        for probs in self._line.probabilities(images) if images else []:
            best = probs.argmax(axis=1)
            chars, prev = [], 0
            for k in best:
                if k != prev and k != 0 and k < len(self._charset):
                    chars.append(self._charset[k])
                prev = int(k)
            out.append("".join(chars))
        return out


_reader: LabelLines | None = None
_reader_failed = False
_lock = threading.Lock()


def label_lines() -> LabelLines | None:
    """The label reader, its model opened once per process on the first blank; None when
    the model cannot be opened (the blank's places are then proposed as found, and the
    teacher marks the 姓名 line by hand as before)."""
    global _reader, _reader_failed
    with _lock:
        if _reader is None and not _reader_failed:
            from models.loader import ModelError, open_session
            from models.manifest import PPOCR_REC_SMALL

            try:
                _reader = PPOCRLabelLines(open_session(PPOCR_REC_SMALL))
            except (ModelError, OSError, ValueError) as exc:
                log.warning("header labels are not read: %s", exc)
                _reader_failed = True
        return _reader


def kind_of_label(text: str) -> str | bool | None:
    """What a label read left of a place makes of it: ``"name"``, ``"student_number"``,
    None (a header field: no region), or False (no label: an answer place)."""
    clean = _NOISE.sub("", text)
    for label, kind in LABEL_KINDS.items():
        # The label is the last thing before the place (``第1题 姓名`` is the name's).
        if clean.endswith(label):
            return kind
    return False


def _ink(gray: np.ndarray) -> np.ndarray:
    """Dark pixels, less any vertical rule through the whole window (a frame's or a table's
    edge beside the label is no part of it)."""
    ink = (gray < 140).astype(np.uint8)
    tall = max(3, int(0.9 * ink.shape[0]))
    if ink.shape[0] >= 3:
        rules = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((tall, 1), np.uint8))
        ink[rules > 0] = 0
    return ink


def _text_band(ink: np.ndarray, px_per_mm: float) -> tuple[int, int] | None:
    """The rows of the text line sitting at the foot of ``ink`` (a window whose bottom is
    the place's line): up from the foot past a little white, then while there is ink, so
    that a line of print just above (a page's instructions) is not read with the label."""
    rows = ink.sum(axis=1) > 0
    y = len(rows) - 1
    white = int(2.5 * px_per_mm)
    while y >= 0 and not rows[y] and white > 0:
        y -= 1
        white -= 1
    if y < 0 or not rows[y]:
        return None
    bottom = y
    gap = max(2, int(0.6 * px_per_mm))
    run = 0
    top = y
    while y >= 0 and run <= gap:
        run = 0 if rows[y] else run + 1
        if rows[y]:
            top = y
        y -= 1
    return top, bottom + 1


def _label_crop(gray: np.ndarray, row: tuple[int, int], x_end: int, x_floor: int,
                px_per_mm: float) -> np.ndarray | None:
    """The printed text ending just left of ``x_end`` on the text row at the foot of
    ``row`` (its ink columns, characters no more than CHAR_GAP_MM apart), or None when
    there is none."""
    y0, y1 = max(0, row[0]), min(gray.shape[0], row[1])
    x0 = max(x_floor, int(x_end - LABEL_REACH_MM * px_per_mm), 0)
    if x_end - x0 < 2 * px_per_mm or y1 - y0 < 2 * px_per_mm:
        return None
    near = max(x0, x_end - int(LABEL_GAP_MM * px_per_mm) - int(8 * px_per_mm))
    band = _text_band(_ink(gray[y0:y1, near:x_end]), px_per_mm)
    if band is None:
        return None
    # Rules are judged on the whole row window; the label's columns on its own band.
    area = _ink(gray[y0:y1, x0:x_end])[band[0]:band[1]]
    y0, y1 = y0 + band[0], y0 + band[1]
    cols = area.sum(axis=0) > 0
    inked = np.flatnonzero(cols)
    if not inked.size or x_end - (x0 + inked[-1]) > LABEL_GAP_MM * px_per_mm:
        return None
    right = int(inked[-1])
    left = right
    gap = CHAR_GAP_MM * px_per_mm
    for c in inked[::-1]:
        if left - c > gap:
            break
        left = int(c)
    rows = np.flatnonzero(area[:, left:right + 1].sum(axis=1) > 0)
    if right - left < 2 * px_per_mm or not rows.size:
        return None
    pad = max(2, int(0.8 * px_per_mm))
    cy0, cy1 = max(0, y0 + rows[0] - pad), min(gray.shape[0], y0 + rows[-1] + 1 + pad)
    cx0, cx1 = max(0, x0 + left - pad), min(gray.shape[1], x0 + right + 1 + pad)
    return gray[cy0:cy1, cx0:cx1]


def header_fields(gray: np.ndarray, px_per_pt: float, proposed: Sequence[dict[str, Any]],
                  reader: LabelLines | None) -> list[dict[str, Any]]:
    """The proposal with the title block's fields told apart by their labels.

    Args:
        gray: the blank page, greyscale, at ``px_per_pt``.
        px_per_pt: its pixels per point.
        proposed: the places found (``{"number", "kind", "box", "bubbles"}``, points, in
            reading order).
        reader: reads the labels; None keeps the proposal as it is.

    Returns:
        The places in the same order, renumbered: a 姓名 place as ``name``, a 学号 place
        as ``student_number`` (the first of each only: a page has one), a 班级 / 日期 place
        left out, every other place as it was.
    """
    if reader is None:
        return [dict(p) for p in proposed]
    px_per_mm = px_per_pt * 72 / 25.4
    page_h = gray.shape[0] / px_per_pt
    crops: list[np.ndarray] = []
    owners: list[int] = []
    for i, p in enumerate(proposed):
        x0, y0, _, y1 = p["box"]
        if p["kind"] not in ("underline", "box") or y1 > HEADER_SHARE * page_h:
            continue
        if p["kind"] == "underline":  # the band above the line: text sits on the line
            row = (round((y1 - 8 * 72 / 25.4) * px_per_pt), round(y1 * px_per_pt) - 1)
        else:
            row = (round(y0 * px_per_pt), round(y1 * px_per_pt))
        # Left of this place and right of the one before it on the row (its own print).
        floor = max((round(q["box"][2] * px_per_pt) + 1 for q in proposed
                     if q is not p and q["box"][2] <= x0 and q["box"][1] < y1
                     and q["box"][3] > y0), default=0)
        crop = _label_crop(gray, row, round(x0 * px_per_pt) - 1, floor, px_per_mm)
        if crop is not None:
            crops.append(crop)
            owners.append(i)
    kinds: dict[int, str | bool | None] = {}
    if crops:
        try:
            texts = reader.read(crops)
        except Exception as exc:  # an engine failure leaves the places as found
            log.warning("header labels could not be read: %s", exc)
            texts = [""] * len(crops)
        kinds = {i: kind_of_label(t) for i, t in zip(owners, texts, strict=True)}
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, p in enumerate(proposed):
        kind = kinds.get(i, False)
        if kind is None or (isinstance(kind, str) and kind in seen):
            continue  # 班级, 日期: nobody's answer; a second 姓名 line likewise
        region = dict(p)
        if isinstance(kind, str):
            seen.add(kind)
            region["kind"] = kind
        region["number"] = len(out) + 1
        out.append(region)
    return out
