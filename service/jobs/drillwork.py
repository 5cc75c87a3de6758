"""The CPU work of one page of a drill upload (口算), run in a worker process.

A drill upload names a drill assignment (a worksheet of kind ``drill``): its pages are
free-form arithmetic drill sheets with no markbook code. Each page is first looked at for a
markbook code: a markbook worksheet page among the drill pages is read as any upload's
page (:func:`service.jobs.pagework.process_page`); a blank page is a blank page; anything
else is read with the drill reader (:mod:`service.drill.pages`), whose every item comes
back with its expression (the key is computed from it), its answer reading, its grade
under the product's review policy and where it is on the page. The worker never touches
the database: the parent turns items into question rows and stores them
(:mod:`service.jobs.drillstore`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grading.grade import Grade
from ocr.drill.doubts import cut_off, faint_beyond, small_marks, written_box
from ocr.ingest import PageImage
from ocr.students.match import RosterEntry
from service.jobs.pagework import (
    AnswerOut,
    NeedWorksheet,
    PageResult,
    WorksheetBundle,
    process_page,
    review_policies,
    rotation_matrix,
)

__all__ = ["DrillItemOut", "DrillPageResult", "DrillTarget", "drill_engines",
           "name_student", "number_student", "process_drill_page", "roster_student"]

# Around the expression and answer area in a review crop, in pixels: a teacher sees the
# printed item with what was written, not the answer alone.
_CROP_PAD = 6


@dataclass(frozen=True)
class DrillTarget:
    """The drill assignment an upload was made against.

    Attributes:
        worksheet_id: The drill assignment (a worksheet of kind ``drill``).
        student_id: The student the upload is for (a per-student upload), else None.
    """

    worksheet_id: int
    student_id: int | None = None


@dataclass(frozen=True)
class DrillItemOut:
    """One drill item as read and graded.

    Attributes:
        key: The item's identity on the assignment: its expression, with ``#2``, ``#3``…
            for a repeat of the same expression on one page.
        expression: The printed expression as read (``37+48``).
        answer: The answer reading (``question_id`` is ``key``), with a crop of the item.
        grade: The grade; ``needs_review`` whenever the reader or the policy doubts it.
        region: Where the answer is written (its ink; the start of its area when blank),
            in pixels of the page as ingested.
    """

    key: str
    expression: str
    answer: AnswerOut
    grade: Grade
    region: tuple[int, int, int, int]


@dataclass(frozen=True)
class DrillPageResult:
    """A drill page's outcome.

    ``status``: ``read`` (items found), ``no_items`` (nothing that looks like a drill
    item: a page problem, never a zero), ``engine_error`` (the detector failed: the page
    is left unread so a retry reads it) or ``blank``. ``unparsed`` counts items whose
    printed expression could not be read: they have no key, so they are not graded and
    the page reports them.
    """

    page_index: int
    status: str
    rotation: int = 0
    items: tuple[DrillItemOut, ...] = ()
    unparsed: int = 0
    detail: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Read from the 学号 written at the top when the upload names no student: the roster
    # student it matches for sure, else None, and what was read (for the page's problem).
    student_id: int | None = None
    number_read: str | None = None


_engines: Any = None
_labels: Any = None
_lock = threading.Lock()
# A handwritten 学号 names a roster student only when the reader's best reading is that
# number with at least this probability, and every other roster number it considered is
# at most RIVAL_SHARE of it: a misread that lands on a classmate's number goes to review.
MIN_NUMBER_PROB = 0.5
RIVAL_SHARE = 0.1
# A handwritten name alone names a student at this posterior (the unlisted hypothesis in).
NAME_SURE = 0.99


def drill_engines() -> Any:
    """The drill reader's models, opened once per worker process on its first drill page
    (a worker that never sees one never pays for them)."""
    global _engines
    with _lock:
        if _engines is None:
            from service.drill.pages import build_drill_engines

            _engines = build_drill_engines()
        return _engines


def _label_reader() -> Any:
    """The printed-label reader (its own PP-OCR session), opened on first use."""
    global _labels
    with _lock:
        if _labels is None:
            from models.loader import open_session
            from models.manifest import PPOCR_REC_SMALL
            from ocr.drill.header import LabelReader

            _labels = LabelReader(open_session(PPOCR_REC_SMALL))
        return _labels


def number_student(number: Any, roster: Sequence[RosterEntry]) -> int | None:
    """The roster student a handwritten number names for sure (see MIN_NUMBER_PROB)."""
    if number is None or not number.text:
        return None
    probs: dict[str, float] = {}
    for text, p in ((number.text, number.confidence), *number.alternatives):
        probs[text] = max(probs.get(text, 0.0), p)
    by_number = {e.student_no: e.student_id for e in roster}
    best = by_number.get(number.text)
    if best is None or number.confidence < MIN_NUMBER_PROB:
        return None
    rival = max((p for t, p in probs.items() if t != number.text and t in by_number),
                default=0.0)
    return best if rival <= RIVAL_SHARE * number.confidence else None


def name_student(name: Any, roster: Sequence[RosterEntry]) -> int | None:
    """The roster student a handwritten name names for sure: posterior ≥ NAME_SURE with
    the hypothesis "someone not on the roster" in the running (``ocr.students.name``)."""
    if name is None or not roster:
        return None
    from ocr.students.name import UNLISTED_LOG_ODDS, name_posteriors

    post = name_posteriors(name, [e.name for e in roster], unlisted_log_odds=UNLISTED_LOG_ODDS)
    best = max(range(len(roster)), key=lambda i: post[i])
    return roster[best].student_id if post[best] >= NAME_SURE else None


def roster_student(header: Any, roster: Sequence[RosterEntry]) -> int | None:
    """The roster student a drill sheet's header names for sure, else None.

    The number and the name each name a student only when sure of them (number_student,
    name_student); when both do and they differ, nobody is named (the teacher decides). A
    name alone is taken unless the number was read as another student's number.
    """
    if header is None:
        return None
    by_number = number_student(header.number, roster)
    by_name = name_student(header.name, roster)
    if by_number is not None and by_name is not None and by_number != by_name:
        return None
    if by_number is not None:
        return by_number
    if by_name is None:
        return None
    numbers = {e.student_no: e.student_id for e in roster}
    read = header.number.text if header.number is not None else ""
    other = numbers.get(read)
    return None if other is not None and other != by_name else by_name


def _png(image: np.ndarray, box: tuple[int, int, int, int]) -> bytes:
    import cv2

    h, w = image.shape[:2]
    x0, y0, x1, y1 = box
    crop = image[max(0, y0 - _CROP_PAD):min(h, y1 + _CROP_PAD),
                 max(0, x0 - _CROP_PAD):min(w, x1 + _CROP_PAD)]
    if crop.size == 0:
        return b""
    ok, data = cv2.imencode(".png", crop)
    return data.tobytes() if ok else b""


def _to_ingested(box: tuple[int, int, int, int], turns: int, shape: tuple[int, int]
                 ) -> tuple[int, int, int, int]:
    """A box of the page turned ``turns`` quarter turns (``np.rot90``) back on the page
    as ingested (``shape``: its H, W)."""
    if not turns:
        return box
    m = rotation_matrix((360 - 90 * turns) % 360, shape)
    x0, y0, x1, y1 = box
    pts = np.array([[x0, y0, 1.0], [x1, y0, 1.0], [x0, y1, 1.0], [x1, y1, 1.0]]).T
    out = m @ pts
    xs, ys = out[0] / out[2], out[1] / out[2]
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def _doubt(upright: np.ndarray, area: tuple[int, int, int, int], char_h: float,
           column: bool, status: str) -> str:
    """Why an item the reader and the policy decided should still go to a teacher: ink the
    answer area left out (``ocr.drill.doubts``), else ""."""
    if column and cut_off(upright, area, char_h, left=3.0, right=1.0, below=1.0):
        return "the answer runs past the area under the rule: part of it may be unread"
    if status == "blank" and small_marks(upright, area, char_h):
        return "the answer area is not empty: something small is written there"
    if status == "ok" and faint_beyond(upright, area, char_h):
        return "faint marks beside the answer as read: a digit may be lost"
    return ""


def _held(grade: Grade, reason: str) -> Grade:
    """A grade the drill reader doubts (the expression itself, say) held for review, the
    grader's verdict kept as the suggestion."""
    data = grade.model_dump()
    data.update(verdict="needs_review", score=None, auto=False,
                suggested_verdict=grade.verdict, suggested_score=grade.score,
                reason_en=reason, reason_zh="口算题目本身识别不确定，请复核：" + reason)
    return Grade.model_validate(data)


def _items(read: Any, upright: np.ndarray, shape: tuple[int, int]
           ) -> tuple[tuple[DrillItemOut, ...], int]:
    out: list[DrillItemOut] = []
    seen: dict[str, int] = {}
    unparsed = 0
    for it in read.items:
        r = it.reading
        if not r.expression or it.grade is None:
            unparsed += 1
            continue
        seen[r.expression] = seen.get(r.expression, 0) + 1
        key = r.expression if seen[r.expression] == 1 else f"{r.expression}#{seen[r.expression]}"
        ex, ey = r.expression_box[:2]
        rx1, ry1 = r.result_box[2:]
        around = (min(ex, r.result_box[0]), min(ey, r.result_box[1]),
                  max(r.expression_box[2], rx1), max(r.expression_box[3], ry1))
        answer = AnswerOut(key, 0, r.result_status, r.result, float(r.result_confidence),
                           tuple((t, float(p)) for t, p in r.alternatives), None,
                           _png(upright, around), r.detail)
        area = (int(r.result_box[0]), int(r.result_box[1]), int(r.result_box[2]),
                int(r.result_box[3]))
        # A column item's box spans its two printed rows and the rule above its answer.
        column = area[1] >= r.expression_box[3] - 2
        rows = 2.6 if column else 1.0
        char_h = max(8.0, (r.expression_box[3] - r.expression_box[1]) / rows)
        grade = it.grade
        reason = it.reason if it.needs_review else _doubt(upright, area, char_h, column,
                                                          r.result_status)
        if reason and grade.verdict != "needs_review":
            grade = _held(grade, reason)
        grade = grade.model_copy(update={"key_revision": 1})
        region = _to_ingested(written_box(upright, area, char_h), read.rotation, shape)
        out.append(DrillItemOut(key, r.expression, answer, grade, region))
    return tuple(out), unparsed


def process_drill_page(page: PageImage, bundles: Mapping[int, WorksheetBundle],
                       target: DrillTarget) -> DrillPageResult | PageResult | NeedWorksheet:
    """Read and grade one page of a drill upload.

    Args:
        page: The ingested page.
        bundles: The worksheets this upload may touch (for a markbook page among the
            drill pages).
        target: The drill assignment and the upload's student.

    Returns:
        A markbook page's :class:`PageResult` (or :class:`NeedWorksheet`), else the
        drill page's :class:`DrillPageResult`.
    """
    from ocr.identify import identify_page
    from service.drill.pages import DrillOptions, read_drill_page

    t = time.perf_counter()
    ident, _ = identify_page(page.image)
    timings = {"identify": (time.perf_counter() - t) * 1000}
    if ident.status == "identified":
        return process_page(page, bundles)  # a markbook worksheet page: read as such
    if ident.status == "blank":
        return DrillPageResult(page.index, "blank", timings_ms=timings)
    engines = drill_engines()
    options = DrillOptions(policy=review_policies().for_kind("arithmetic"))
    t = time.perf_counter()
    read = read_drill_page(page.image, engines.detector, engines.recognizer,
                           expressions=engines.expressions, options=options)
    timings["drill"] = (time.perf_counter() - t) * 1000
    if read.status != "read":
        return DrillPageResult(page.index, read.status, detail=read.detail, timings_ms=timings)
    turns = read.rotation
    upright = np.ascontiguousarray(np.rot90(page.image, turns)) if turns else page.image
    items, unparsed = _items(read, upright, page.image.shape[:2])
    if not items:
        return DrillPageResult(page.index, "no_items", turns, unparsed=unparsed,
                               detail="no drill item whose printed expression could be read",
                               timings_ms=timings)
    student, number_read = None, None
    bundle = bundles.get(target.worksheet_id)
    if target.student_id is None and bundle is not None and bundle.roster:
        from ocr.drill.header import read_header

        t = time.perf_counter()
        top = min(it.reading.expression_box[1] for it in read.items)
        header = read_header(upright, engines.detector, _label_reader(), engines.recognizer,
                             items_top=int(top))
        student = roster_student(header, bundle.roster)
        number_read = header.number.text if header.number is not None else None
        timings["student"] = (time.perf_counter() - t) * 1000
    return DrillPageResult(page.index, "read", turns, items, unparsed, timings_ms=timings,
                           student_id=student, number_read=number_read)
