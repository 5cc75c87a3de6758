"""The CPU work of one scanned page, run in a worker process: read it, then grade it.

Everything crossing the process boundary is a frozen, picklable dataclass (or a pydantic
model inside one): the parent names the page (the worker reads it from the stored file,
:mod:`service.jobs.pagefeed`) and sends the worksheets it has *sanctioned* for this upload
(those the uploader may see); a page whose QR names any other worksheet comes back as
:class:`NeedWorksheet`, and the parent either supplies it (after its access check) or
records the page as unknown. The worker never touches the database.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from errorbook.contract import PageCode, PageLayout, WorksheetLayout
from grading.grade import Grade
from grading.questions import Question
from grading.review_policy import PolicySet
from ocr.align import Alignment
from ocr.ingest import PageImage
from ocr.marks import MarksReading
from ocr.pdfium_lock import PDFIUM, render_grey
from ocr.pipeline import AnswerRead, PageRead, TemplatePage, read_page
from ocr.students.match import RosterEntry
from service.config import LogSettings
from service.jobs.pageident import (
    IdentityInput,
    StudentRead,
    foreign_reason,
    identify_anonymous,
    named_copy_disagrees,
)
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
    "enter_idle_class",
    "grade_answers",
    "init_worker",
    "layout_digest",
    "page_result",
    "process_page",
    "reading_template",
    "review_policies",
    "rotation_matrix",
    "worker_recognizer",
]

log = logging.getLogger(__name__)
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
    install_id: str = ""  # this install's id (service.install); "" skips the install check
    # A template's blanks (page number, greyscale PNG at BLANK_DPI): its copies are
    # registered to these instead of a rendering of the layout.
    blanks: tuple[tuple[int, bytes], ...] = ()


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


@dataclass(frozen=True)
class PageResult:
    """What one page turned out to be, with its answers and grades.

    ``status`` is the reader's page status (``read``, ``blank``, ``no_code``,
    ``foreign_code``, ``unknown_worksheet``, ``misaligned``, ``retake``: a photo below
    the capture floors, not read, ``retake`` says why) or ``foreign_page``: an
    ``MB2`` page printed by another install, or from another layout of the worksheet its
    code names (``foreign`` says which and ``code`` is None, so nothing grades it). The
    parent maps it to the stored page status after its own checks (roster, duplicates).
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
    # None when the QR names the student, unless the page's name and number disagree.
    student: StudentRead | None = None
    foreign: str = ""  # why a foreign_page is foreign, for the page's problem
    # Why a ``retake`` page must be captured again (``ocr.capture.CaptureQuality.retake``).
    retake: str = ""

@dataclass
class _WorkerState:
    """What a worker loads once and keeps between pages."""

    recognizer: Any
    templates: dict[tuple[int, int, str], TemplatePage | None] = field(default_factory=dict)


_state: _WorkerState | None = None
_lock = threading.Lock()


def init_worker(recognizer: Any = None, nice: int = 0, cjk_font: str | None = None,
                log_settings: LogSettings | None = None, idle_class: bool = False) -> None:
    """Load the models once per worker process (or once per process for thread mode).

    Args:
        recognizer: an injected recogniser (tests); default the real models.
        nice: raise this worker process's nice value, so the web process (uploads, status
            polls) keeps the CPU it needs while workers grind through pages.
        cjk_font: the configured PDF font (``MARKBOOK_CJK_FONT``): a spawned worker renders
            blank templates with the font the sheets were printed with, not a system one.
        log_settings: a spawned worker's log format and level (it inherits no handlers).
        idle_class: move this worker process into Linux's ``SCHED_IDLE`` class (see
            :func:`enter_idle_class`). Only for a process of its own: thread-mode workers
            share the web process, whose event loop must keep the normal class.
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
    if idle_class:
        enter_idle_class()  # before the models: their threads inherit it
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


def enter_idle_class() -> bool:
    """Put this process in Linux's ``SCHED_IDLE`` scheduling class: each of its threads
    (some start on import, e.g. the BLAS pool), and so every thread they start later;
    False where there is no such class or it is refused.

    A nice value only weighs shares of a core: a request that wakes while a worker reads a
    page can still wait out the worker's slice, and an upload wakes a dozen times (socket,
    database, file). Under ``SCHED_IDLE`` anything else that wakes on that core runs at
    once, so uploads and reads go first and pages take what is left; with nothing else
    to run the worker has the core to itself, as before. Measured with waves of 50
    uploads while the pages of the waves before were read: the slowest acknowledgement of
    a wave fell by about a fifth against nice 5 alone (docs/drills.md).
    """
    import contextlib
    import os
    from pathlib import Path

    try:
        idle, param = os.SCHED_IDLE, os.sched_param(0)
        os.sched_setscheduler(0, idle, param)  # this thread first: those it starts inherit
        for task in Path("/proc/self/task").iterdir():  # Linux sets a class per thread
            with contextlib.suppress(ProcessLookupError):  # a thread that has just ended
                os.sched_setscheduler(int(task.name), idle, param)
    except (AttributeError, OSError):  # not Linux, or a sandbox that forbids it
        log.info("page worker left in the normal scheduling class (SCHED_IDLE unavailable)")
        return False
    return True


def clear_templates() -> None:
    """Forget this process's blank templates (tests that rebuild a worksheet in place)."""
    if _state is not None:
        _state.templates.clear()


def _worker_state() -> _WorkerState:
    if _state is None:
        init_worker()
    assert _state is not None
    return _state


def worker_recognizer() -> Any:
    """The reading ensemble this worker process loaded (loaded now if it has not)."""
    return _worker_state().recognizer


def _template(bundle: WorksheetBundle, page_no: int) -> TemplatePage | None:
    key = (bundle.worksheet_id, page_no, bundle.layout_digest)
    cache = _worker_state().templates
    if key not in cache:
        if len(cache) > 64:  # a long-lived worker: keep the cache bounded
            cache.clear()
        cache[key] = _build_template(bundle, page_no)
    return cache[key]


def reading_template(bundle: WorksheetBundle, page_no: int) -> TemplatePage | None:
    """The template a page of ``bundle`` is read with: cached, with the current keys'
    written forms for the reader to verify (None when the worksheet has no such page)."""
    template = _template(bundle, page_no)
    return _read_signs(template.with_expected(_expected_for(bundle)), bundle) \
        if template else None


def _expected_for(bundle: WorksheetBundle) -> Callable[[str, int], tuple[str, ...]]:
    """The key's written forms per answer box, for the reader to verify (the template
    cache holds the rendered page; keys are applied per page, so an edited key counts at
    once)."""
    from grading.written_keys import written_keys

    def expected(question_id: str, blank: int) -> tuple[str, ...]:
        info = bundle.questions.get(question_id)
        return written_keys(info.question, blank) if info is not None else ()

    return expected


def _read_signs(template: TemplatePage, bundle: WorksheetBundle) -> TemplatePage:
    """A comparison's box read by the sign reader on layouts stored before the
    ``compare`` format (their comparison boxes say ``text``), from the current key."""
    from grading.questions import TextQuestion
    from grading.text import is_comparison

    def sign_box(question_id: str) -> bool:
        info = bundle.questions.get(question_id)
        return info is not None and isinstance(info.question, TextQuestion) \
            and is_comparison(info.question)

    regions = tuple(dataclasses.replace(r, answer_format="compare")
                    if r.answer_format == "text" and sign_box(r.question_id) else r
                    for r in template.regions)
    return dataclasses.replace(template, regions=regions)


def _build_template(bundle: WorksheetBundle, page_no: int) -> TemplatePage | None:
    if bundle.blanks:
        return _blank_template(bundle, page_no)
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
    with PDFIUM:
        doc = pdfium.PdfDocument(pdf)
        try:
            blank = _rendered(doc[layout.pages.index(page)], scale=BLANK_DPI / 72)
        finally:
            doc.close()
    return TemplatePage.from_layout(bundle.worksheet_id, page, blank, BLANK_DPI / 72)


def _blank_template(bundle: WorksheetBundle, page_no: int) -> TemplatePage | None:
    """A template page: its regions from the layout, its blank the teacher's upload."""
    import cv2

    pages = [p for p in bundle.layout.pages if p.number == page_no]
    png = dict(bundle.blanks).get(page_no)
    if not pages or png is None:
        return None
    blank = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    if blank is None:
        return None
    return TemplatePage.from_layout(bundle.worksheet_id, pages[0],
                                    np.ascontiguousarray(blank), BLANK_DPI / 72)


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
    foreign: list[str] = []

    # Every bundle is this install's: any of them tells its id.
    local_install = next((b.install_id for b in bundles.values() if b.install_id), "")

    def template_for(code: PageCode) -> TemplatePage | None:
        bundle = bundles.get(code.worksheet_id)
        why = foreign_reason(code, bundle.layout if bundle else None, local_install)
        if why:
            foreign.append(why)
            return None
        if bundle is None:
            needed.append(code.worksheet_id)
            return None
        return reading_template(bundle, code.page)

    read = read_page(page, template_for, state.recognizer)
    ident = read.identification
    if foreign:
        return PageResult(page.index, "foreign_page", None, ident.rotation, None, None,
                          timings_ms=dict(read.timings_ms), foreign=foreign[0])
    if needed:
        return NeedWorksheet(page.index, needed[0])
    return page_result(page, read, bundles)


def _has_identity(page: PageLayout) -> bool:
    """Whether a page has anywhere a child writes who they are (a template may not)."""
    x0, y0, x1, y1 = page.name_box
    return bool(page.student_no_boxes) or bool(page.seat_bubbles) or (x1 > x0 and y1 > y0)


def page_result(page: PageImage, read: PageRead, bundles: Mapping[int, WorksheetBundle], *,
                named_copies: bool = True) -> PageResult:
    """A read page graded, with its student evidence: an anonymous copy's handwritten
    identity, or (``named_copies``) whether a named copy's boxes name another child.

    Args:
        page: the page as ingested.
        read: what the reader made of it (its code names a worksheet in ``bundles``).
        bundles: the upload's worksheets.
        named_copies: check a copy whose code names its student against its boxes (a
            markbook print has the child's name and number printed there; a template
            copy named by its upload has not).
    """
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
    if read.status in ("read", "misaligned", "retake") and ident.code is not None:
        bundle = bundles[ident.code.worksheet_id]
        t = time.perf_counter()
        grades = _grade(bundle, read.answers)
        timings["grade"] = (time.perf_counter() - t) * 1000
        inp = (_identity_input(page, bundle, ident.code.page, ident.rotation, read.alignment)
               if read.status == "read" and read.alignment else None)
        if inp is not None and ((ident.code.student_id is not None and not named_copies)
                                or not _has_identity(inp.layout)):
            inp = None
        if inp is not None:
            t = time.perf_counter()
            if ident.code.student_id is None:
                student = identify_anonymous(inp)
            else:
                student = named_copy_disagrees(
                    inp, ident.code.student_id,
                    _named_blank(bundle, inp.layout, ident.code.student_id))
            timings["student"] = (time.perf_counter() - t) * 1000
    return PageResult(page.index, read.status, ident.code, ident.rotation, error, homography,
                      tuple(_answer_out(a) for a in read.answers), grades, timings, student,
                      retake=read.capture.retake if read.capture is not None else "")


def _named_blank(bundle: WorksheetBundle, page: PageLayout, student_id: int
                 ) -> np.ndarray | None:
    """The header of ``page`` as printed on ``student_id``'s named copy (their name and
    number in the boxes), at the blank template's resolution, from the page's top edge
    down past the boxes: what the name box and comb show when nothing else is there.

    Only the header's furniture is drawn (no questions) and only its band rendered, so
    this costs a few milliseconds a page. None when the student is not on the roster.
    """
    import pypdfium2 as pdfium

    from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf

    entry = next((e for e in bundle.roster if e.student_id == student_id), None)
    if entry is None:
        return None
    bare = dataclasses.replace(page, regions=(), blocks=())
    layout = WorksheetLayout(bundle.layout.title, bundle.layout.page_size, (bare,))
    pdf = render_worksheet_pdf(layout, [PrintedCopy(("MB1;W0;P1",), entry.name,
                                                    entry.student_no)], duplex=False)
    bottom = max(b[3] for b in (page.name_box, *page.student_no_boxes)) + 6.0
    with PDFIUM:
        doc = pdfium.PdfDocument(pdf)
        try:
            # crop: points off the left, bottom, right and top edges.
            return _rendered(doc[0], scale=BLANK_DPI / 72,
                             crop=(0, page.height - bottom, 0, 0))
        finally:
            doc.close()


def _rendered(page: Any, **render: Any) -> np.ndarray:
    """A copy of the page rendered grey (2-D); the page and its bitmap are freed here,
    under the caller's :data:`PDFIUM`, not later by the garbage collector on another
    thread."""
    try:
        return render_grey(page, **render)
    finally:
        page.close()


def _identity_input(page: PageImage, bundle: WorksheetBundle, page_no: int, rotation: int,
                    alignment: Alignment) -> IdentityInput | None:
    """The identity readers' input, None without a template or a roster to read against."""
    template = _template(bundle, page_no)
    layout_pages = [p for p in bundle.layout.pages if p.number == page_no]
    if template is None or not layout_pages or not bundle.roster:
        return None
    steps = ((360 - rotation) % 360) // 90
    upright = np.ascontiguousarray(np.rot90(page.image, steps)) if steps else page.image
    return IdentityInput(upright, alignment, template.blank, template.blank_px_per_pt,
                         layout_pages[0], bundle.roster, _worker_state().recognizer)
