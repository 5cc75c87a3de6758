"""The CPU work of one scanned page, run in a worker process: read it, then grade it.

Everything crossing the process boundary is a frozen, picklable dataclass (or a pydantic
model inside one): the parent sends the
page image plus the worksheets it has *sanctioned* for this upload (those the uploader may
see); a page whose QR names any other worksheet comes back as :class:`NeedWorksheet`, and
the parent either supplies it (after its access check) or records the page as unknown. The
worker never touches the database.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from errorbook.contract import PageCode, WorksheetLayout
from grading.grade import Grade
from grading.questions import Question
from grading.review_policy import PolicySet
from ocr.align import Alignment
from ocr.ingest import PageImage
from ocr.marks import MarksReading
from ocr.pipeline import AnswerRead, TemplatePage, read_page
from ocr.students.evidence import Identity
from ocr.students.match import RosterEntry, StudentCandidate
from service.config import LogSettings
from service.logs import configure_logging

__all__ = [
    "BLANK_DPI",
    "AnswerOut",
    "GradeOut",
    "MarksOut",
    "NeedWorksheet",
    "PageResult",
    "QuestionInfo",
    "StudentRead",
    "WorksheetBundle",
    "clear_templates",
    "grade_answers",
    "init_worker",
    "layout_digest",
    "process_page",
    "review_policies",
    "rotation_matrix",
]

BLANK_DPI = 200


@dataclass(frozen=True)
class QuestionInfo:
    """One worksheet question as the grader needs it: parsed once by the parent, not once
    per page by every worker."""

    question_row_id: int
    question: Question
    revision: int


def layout_digest(layout: dict[str, Any]) -> str:
    """Identifies a stored layout by its content: worksheet ids repeat across databases
    (tests, several schools' servers sharing a worker), a frozen layout's content does not."""
    text = json.dumps(layout, sort_keys=True, ensure_ascii=False)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class WorksheetBundle:
    """A worksheet's frozen layout and answer keys (keyed by the bank's external id)."""

    worksheet_id: int
    layout: WorksheetLayout
    layout_digest: str
    questions: dict[str, QuestionInfo]
    roster: tuple[RosterEntry, ...] = ()


@dataclass(frozen=True)
class NeedWorksheet:
    """The page names a worksheet the parent has not sent (yet)."""

    page_index: int
    worksheet_id: int


@dataclass(frozen=True)
class MarksOut:
    """The marks read in a choice region, as stored with the response."""

    status: str
    marked: tuple[str, ...]
    multiple: bool
    fill: tuple[tuple[str, float], ...]  # (bubble label, fill share)

    def as_json(self) -> dict[str, Any]:
        """The stored form (``ResponseRow.marks``)."""
        return {"status": self.status, "marked": list(self.marked), "multiple": self.multiple,
                "fill": dict(self.fill)}


@dataclass(frozen=True)
class AnswerOut:
    question_id: str
    blank: int
    status: str
    text: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]
    marks: MarksOut | None
    crop_png: bytes
    detail: str


@dataclass(frozen=True)
class GradeOut:
    question_id: str
    grade: Grade


# Roster candidates kept for the review queue.
CANDIDATES = 3


@dataclass(frozen=True)
class StudentRead:
    """A non-personalised copy's handwritten identity as read.

    Attributes:
        number: The comb as read, for display ("" when it is empty).
        match: ``pending`` (evidence to place with the rest of the stack at the end of
            the upload) or ``unmatched`` (nothing written, or no roster).
        candidates: The likeliest roster students with their posteriors, best first.
        scores: Every roster student's log posterior, as (student id, log score).
        conflict: The sources each point to a different child: never placed automatically.
        sources: What was read (``number``, ``name``, ``seat``): the margin the stack
            needs depends on it.
    """

    number: str
    match: str  # pending | unmatched
    candidates: tuple[StudentCandidate, ...] = ()
    scores: tuple[tuple[int, float], ...] = ()
    conflict: bool = False
    sources: tuple[str, ...] = ()

    def evidence(self) -> dict[str, Any]:
        """The JSON kept on the page row (``pages.student_evidence``)."""
        return {"number": self.number, "conflict": self.conflict,
                "sources": list(self.sources),
                "scores": [[sid, round(score, 4)] for sid, score in self.scores],
                "candidates": [{"student_id": c.student_id, "p": round(c.score, 4),
                                "why": c.reason} for c in self.candidates]}


@dataclass(frozen=True)
class PageResult:
    """What one page turned out to be, with its answers and grades.

    ``status`` is the reader's page status (``read``, ``blank``, ``no_code``,
    ``foreign_code``, ``unknown_worksheet``, ``misaligned``); the parent maps it to the
    stored page status after its own checks (roster, duplicates).
    """

    page_index: int
    status: str
    code: PageCode | None
    rotation: int
    alignment_error_mm: float | None
    homography: tuple[float, ...] | None  # page points → pixels of the page as ingested
    answers: tuple[AnswerOut, ...] = ()
    grades: tuple[GradeOut, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    student: StudentRead | None = None  # None when the QR names the student

@dataclass
class _WorkerState:
    """What a worker loads once and keeps between pages."""

    recognizer: Any
    templates: dict[tuple[int, int, str], TemplatePage | None] = field(default_factory=dict)


_state: _WorkerState | None = None
_lock = threading.Lock()


def init_worker(recognizer: Any = None, nice: int = 0, cjk_font: str | None = None,
                log_settings: LogSettings | None = None) -> None:
    """Load the models once per worker process (or once per process for thread mode).

    Args:
        recognizer: an injected recogniser (tests); default the real models.
        nice: raise this worker process's nice value, so the web process (uploads, status
            polls) keeps the CPU it needs while workers grind through pages.
        cjk_font: the configured PDF font (``MARKBOOK_CJK_FONT``): a spawned worker renders
            blank templates with the font the sheets were printed with, not a system one.
        log_settings: a spawned worker's log format and level (it inherits no handlers).
    """
    global _state
    import os

    from service.jobs.orphans import exit_with_parent

    exit_with_parent()  # first: a worker whose service was killed must not linger
    import cv2

    if log_settings is not None:
        configure_logging(log_settings.format, log_settings.level)
    if nice:
        os.nice(nice)
    if cjk_font is not None:
        from errorbook.printing.fonts import register_cjk_font

        register_cjk_font(cjk_font)

    from ocr.reading.default import build_default_recognizer

    with _lock:
        if _state is not None:
            return
        cv2.setNumThreads(1)  # one worker per core: no OpenCV thread pool on top
        _state = _WorkerState(recognizer or build_default_recognizer())
        # Checked with the models: a policy file whose sha256 is wrong stops the worker at
        # start, not at the first page graded.
        review_policies()


def clear_templates() -> None:
    """Forget this process's blank templates (tests that rebuild a worksheet in place)."""
    if _state is not None:
        _state.templates.clear()


def _worker_state() -> _WorkerState:
    if _state is None:
        init_worker()
    assert _state is not None
    return _state


def _template(bundle: WorksheetBundle, page_no: int) -> TemplatePage | None:
    key = (bundle.worksheet_id, page_no, bundle.layout_digest)
    cache = _worker_state().templates
    if key not in cache:
        if len(cache) > 64:  # a long-lived worker: keep the cache bounded
            cache.clear()
        cache[key] = _build_template(bundle, page_no)
    return cache[key]


def _expected_for(bundle: WorksheetBundle) -> Callable[[str, int], tuple[str, ...]]:
    """The key's written forms per answer box, for the reader to verify (the template
    cache holds the rendered page; keys are applied per page, so an edited key counts at
    once)."""
    from grading.written_keys import written_keys

    def expected(question_id: str, blank: int) -> tuple[str, ...]:
        info = bundle.questions.get(question_id)
        return written_keys(info.question, blank) if info is not None else ()

    return expected


def _build_template(bundle: WorksheetBundle, page_no: int) -> TemplatePage | None:
    import pypdfium2 as pdfium

    from errorbook.contract import format_page_code
    from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf

    layout = bundle.layout
    pages = [p for p in layout.pages if p.number == page_no]
    if not pages:
        return None
    page = pages[0]
    codes = tuple(format_page_code(PageCode(bundle.worksheet_id, p.number)) for p in layout.pages)
    pdf = render_worksheet_pdf(layout, [PrintedCopy(codes)], duplex=False)
    doc = pdfium.PdfDocument(pdf)
    try:
        bmp = doc[layout.pages.index(page)].render(scale=BLANK_DPI / 72, grayscale=True)
        arr = bmp.to_numpy()
    finally:
        doc.close()
    blank = np.ascontiguousarray(arr[..., 0] if arr.ndim == 3 else arr)
    return TemplatePage.from_layout(bundle.worksheet_id, page, blank, BLANK_DPI / 72)


def rotation_matrix(rotation: int, shape: tuple[int, int]) -> np.ndarray:
    """Map pixels of the upright image back to the image as ingested.

    ``identify_page`` turns the scan upright with ``np.rot90(image, k)``; ``rotation`` is
    ``(360 - 90k) % 360`` and ``shape`` the ingested image's (H, W).
    """
    k = ((360 - rotation) % 360) // 90
    m = np.eye(3)
    h, w = shape
    widths = [w, h]  # width of rot90(image, j) alternates
    for j in range(k):
        # upright_j+1 = rot90(upright_j): (x, y) in j+1 comes from (W_j - 1 - y, x) in j.
        wj = widths[j % 2]
        step = np.array([[0.0, -1.0, wj - 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
        m = m @ step
    return m


def _marks_out(marks: MarksReading) -> MarksOut:
    return MarksOut(marks.status, tuple(marks.marked), bool(marks.multiple),
                    tuple((s.label, round(float(s.fill), 4)) for s in marks.scores))


def _answer_out(a: AnswerRead) -> AnswerOut:
    return AnswerOut(a.question_id, a.blank, a.status, a.text, float(a.confidence),
                     tuple((t, float(p)) for t, p in a.alternatives),
                     _marks_out(a.marks) if a.marks is not None else None, a.crop_png,
                     a.detail)


@functools.cache
def review_policies() -> PolicySet:
    """The product's review policy (``models/review_policy.json``, sha256-checked), loaded
    once per process."""
    from models.loader import verify_model
    from models.manifest import REVIEW_POLICY

    return PolicySet.from_json(json.loads(verify_model(REVIEW_POLICY).read_text("utf-8")))


def _grade(bundle: WorksheetBundle, answers: tuple[AnswerRead, ...]) -> tuple[GradeOut, ...]:
    return grade_answers(bundle.questions, answers)


def grade_answers(questions: Mapping[str, QuestionInfo], answers: Sequence[AnswerRead],
                  policies: PolicySet | None = None) -> tuple[GradeOut, ...]:
    """Grade one page's readings, question by question, under the review policy.

    Args:
        questions: The worksheet's questions by bank id.
        answers: The page's readings (a question's boxes in any order).
        policies: The review policy; None applies the product's (:func:`review_policies`).
            Benchmarks pass candidates when choosing thresholds.

    Returns:
        One grade per question read on the page.
    """
    from grading.review_policy import grade_response
    from service.reading import response_from_reads

    policies = policies or review_policies()
    by_question: dict[str, list[AnswerRead]] = {}
    for a in answers:
        by_question.setdefault(a.question_id, []).append(a)
    out = []
    for qid, reads in by_question.items():
        info = questions.get(qid)
        if info is None:
            continue
        response = response_from_reads(sorted(reads, key=lambda r: r.blank))
        policy = policies.for_kind(info.question.kind)
        grade = grade_response(info.question, response, key_revision=info.revision,
                               policy=policy)
        out.append(GradeOut(qid, grade))
    return tuple(out)


def process_page(page: PageImage, bundles: Mapping[int, WorksheetBundle]
                 ) -> PageResult | NeedWorksheet:
    """Read and grade one page.

    Args:
        page: the ingested page image.
        bundles: the worksheets this upload may touch, by id.

    Returns:
        The page's result (its ``timings_ms`` hold the reader's stages and ``grade``, and
        ``student`` when a handwritten number was read), or :class:`NeedWorksheet` when
        its QR names a worksheet that is not in ``bundles``.
    """
    state = _worker_state()
    needed: list[int] = []

    def template_for(code: PageCode) -> TemplatePage | None:
        bundle = bundles.get(code.worksheet_id)
        if bundle is None:
            needed.append(code.worksheet_id)
            return None
        template = _template(bundle, code.page)
        return template.with_expected(_expected_for(bundle)) if template else None

    read = read_page(page, template_for, state.recognizer)
    if needed:
        return NeedWorksheet(page.index, needed[0])
    ident = read.identification
    timings = dict(read.timings_ms)
    homography = None
    error = None
    if read.alignment is not None:
        error = float(read.alignment.error_mm)
        h = rotation_matrix(ident.rotation, page.image.shape[:2]) @ read.alignment.matrix()
        h = h / h[2, 2]
        homography = tuple(float(v) for v in h.ravel())
    grades: tuple[GradeOut, ...] = ()
    student: StudentRead | None = None
    if read.status in ("read", "misaligned") and ident.code is not None:
        bundle = bundles[ident.code.worksheet_id]
        t = time.perf_counter()
        grades = _grade(bundle, read.answers)
        timings["grade"] = (time.perf_counter() - t) * 1000
        if ident.code.student_id is None and read.status == "read" and read.alignment:
            t = time.perf_counter()
            student = _identify_student(page, bundle, ident.code.page, ident.rotation,
                                        read.alignment)
            timings["student"] = (time.perf_counter() - t) * 1000
    return PageResult(page.index, read.status, ident.code, ident.rotation, error, homography,
                      tuple(_answer_out(a) for a in read.answers), grades, timings, student)


def _identify_student(page: PageImage, bundle: WorksheetBundle, page_no: int, rotation: int,
                      alignment: Alignment) -> StudentRead | None:
    """Read the handwritten identity (student number, name, seat bubbles) as evidence over
    the class roster.

    Nothing is decided here: the stack's placement (``service.jobs.placement``) assigns
    the upload's anonymous pages together once every page is read.
    """
    from ocr.students.identify import read_identity

    template = _template(bundle, page_no)
    layout_pages = [p for p in bundle.layout.pages if p.number == page_no]
    if template is None or not layout_pages or not bundle.roster:
        return None
    steps = ((360 - rotation) % 360) // 90
    upright = np.ascontiguousarray(np.rot90(page.image, steps)) if steps else page.image
    layout = layout_pages[0]
    roster = list(bundle.roster)
    read = read_identity(upright, alignment, template.blank, template.blank_px_per_pt,
                         comb_boxes=layout.student_no_boxes, name_box=layout.name_box,
                         seat_bubbles=layout.seat_bubbles,
                         numbers=[e.student_no for e in roster], names=[e.name for e in roster],
                         recognizer=_worker_state().recognizer)
    if not read.written:
        return StudentRead("", "unmatched")
    shown = read.comb.text + (f" · {read.name}" if read.name else "") + \
        (f" · 座号 {read.seat}" if read.seat else "")
    return _student_read(shown, roster, read.identity)


def _student_read(text: str, roster: Sequence[RosterEntry], identity: Identity) -> StudentRead:
    posts = identity.posteriors()
    order = sorted(range(len(roster)), key=lambda i: -posts[i])[:CANDIDATES]
    candidates = tuple(StudentCandidate(roster[i].student_id, posts[i],
                                        f"{roster[i].student_no} {roster[i].name}")
                       for i in order)
    scores = tuple((e.student_id, s) for e, s in zip(roster, identity.scores, strict=True))
    return StudentRead(text, "pending", candidates, scores, identity.conflict,
                       identity.sources)
