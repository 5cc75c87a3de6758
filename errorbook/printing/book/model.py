"""What a printed error book (错题本) is made of: frozen, picklable inputs to the renderer.

The service builds these from its tables (wrong answers, mastery, the practice worksheet it
created) and hands them to :mod:`errorbook.printing.book.pdf`; nothing here touches a database.
Validation happens on construction, so a bad value fails where it was made, with the field
named, not halfway through a 400-page class set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from errorbook.contract import WorksheetLayout
from grading.questions import Question

__all__ = [
    "BookEntry",
    "BookOptions",
    "BookSummary",
    "ClassCover",
    "PracticeItem",
    "PracticeSheet",
    "StudentBook",
]

ENTRY_STATES = ("open", "practising")


def _check_share(value: float | None, what: str) -> None:
    if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{what} must be between 0 and 1, got {value!r}")


@dataclass(frozen=True)
class BookEntry:
    """One wrong answer to review (a card in the book).

    Attributes:
        entry_id: the error-book entry's id (the practice page codes refer to it).
        number: the card number printed in the book (1, 2, ...).
        question: the question answered wrongly.
        student_answer_text: what the reader or the teacher says the student wrote.
        answer_crop_png: the student's own ink cut from the scan (PNG bytes), or None.
        correct_answer: the answer, as text (``"85"``, ``"B. 85"``, ``"7/8"``); printed in
            the answer key at the back of the book (or the teacher's key), never on the
            card beside the "redo it yourself" space.
        explanation: the worked explanation (解析); printed with the answer in the key.
        cause_zh, cause_en: the diagnosed error cause (错因) as labels or a teacher's words;
            the card prints a child's wording (:mod:`errorbook.printing.book.wording`),
            in Chinese only (``cause_en`` is kept for data exports, never printed).
        kp_name_zh: the knowledge point's Chinese name.
        mastery: the student's mastery of that knowledge point, 0..1, or None (no data).
        band: an uncertainty band (low, high) around ``mastery``, or None.
        wrong_on: the date of the wrong answer.
        state: ``open`` (not yet corrected) or ``practising`` (being practised).
        times_wrong: how often this question (or its variants) went wrong.
        cause_code: the stored cause code (``grading.causes.CauseCode`` value), or ``""``.
        unanswered: the answer was left blank (the card says 未作答, shows no crop).

    Raises:
        ValueError: mastery or band outside 0..1, an inverted band, an unknown state,
            a number below 1 or a negative ``times_wrong``.
    """

    entry_id: int
    number: int
    question: Question
    student_answer_text: str
    answer_crop_png: bytes | None = field(repr=False)
    correct_answer: str
    explanation: str
    cause_zh: str
    cause_en: str
    kp_name_zh: str
    mastery: float | None
    band: tuple[float, float] | None
    wrong_on: date
    state: str
    times_wrong: int
    cause_code: str = ""
    unanswered: bool = False

    def __post_init__(self) -> None:
        where = f"entry {self.entry_id}"
        _check_share(self.mastery, f"{where}: mastery")
        if self.band is not None:
            low, high = self.band
            _check_share(low, f"{where}: band")
            _check_share(high, f"{where}: band")
            if low > high:
                raise ValueError(f"{where}: band must be (low, high), got {self.band!r}")
        if self.state not in ENTRY_STATES:
            raise ValueError(f"{where}: state must be one of {ENTRY_STATES}, got {self.state!r}")
        if self.number < 1:
            raise ValueError(f"{where}: number must be 1 or more")
        if self.times_wrong < 0:
            raise ValueError(f"{where}: times_wrong must not be negative")


@dataclass(frozen=True)
class PracticeItem:
    """One question on the practice (巩固练习) sheet.

    Attributes:
        number: its number on the sheet (as in the layout).
        question: the question.
        answer_text: its answer, for the answer key.
        entry_id: the book entry it practises, or None (a review of a weak point).
        reason_zh: why it was chosen (e.g. ``"第3题的变式"``), shown in the teacher's key.
    """

    number: int
    question: Question
    answer_text: str
    entry_id: int | None = None
    reason_zh: str = ""


@dataclass(frozen=True)
class PracticeSheet:
    """The practice pages: a worksheet laid out by :func:`errorbook.printing.layout.layout_worksheet`.

    Attributes:
        layout: the stored layout; the pages are drawn exactly from it.
        page_codes: the QR text of each layout page (``errorbook.contract.format_page_code``).
        items: the questions, in sheet order, with their answers.

    Raises:
        ValueError: the number of page codes differs from the number of layout pages.
    """

    layout: WorksheetLayout
    page_codes: tuple[str, ...]
    items: tuple[PracticeItem, ...]

    def __post_init__(self) -> None:
        if len(self.page_codes) != len(self.layout.pages):
            raise ValueError(f"practice sheet has {len(self.page_codes)} page codes for "
                             f"{len(self.layout.pages)} layout pages")


@dataclass(frozen=True)
class BookSummary:
    """The student's error-book counts.

    Attributes:
        open_count, practising_count, resolved_count: entries in each state.
        resolution_rate: resolved share of all entries so far, or None (none yet).
        weakest_kps: (knowledge point name, mastery 0..1), weakest first.

    Raises:
        ValueError: a negative count, or a rate or mastery outside 0..1.
    """

    open_count: int
    practising_count: int
    resolved_count: int
    resolution_rate: float | None
    weakest_kps: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if min(self.open_count, self.practising_count, self.resolved_count) < 0:
            raise ValueError("summary counts must not be negative")
        _check_share(self.resolution_rate, "summary: resolution_rate")
        for name, mastery in self.weakest_kps:
            _check_share(mastery, f"summary: mastery of {name}")


@dataclass(frozen=True)
class StudentBook:
    """Everything printed for one student.

    Attributes:
        student_name, student_no, class_name: printed on every page.
        title: the book's title, e.g. ``"错题本 · 第3周"``.
        generated_on: printed in the summary.
        entries: the cards, in order.
        practice: the practice sheet, or None.
        summary: the counts and weakest knowledge points.
    """

    student_name: str
    student_no: str
    class_name: str
    title: str
    generated_on: date
    entries: tuple[BookEntry, ...]
    practice: PracticeSheet | None
    summary: BookSummary


@dataclass(frozen=True)
class ClassCover:
    """The class cover sheet of a class set.

    Attributes:
        title: the cover's title (default: ``"<class> · 错题本"``).
        teacher_name: printed under the title when given.
        generated_on: the date printed (default: the latest ``generated_on`` of the books).
        note: a line for the teacher, e.g. how to hand out and collect the books.
    """

    title: str = ""
    teacher_name: str = ""
    generated_on: date | None = None
    note: str = ""


@dataclass(frozen=True)
class BookOptions:
    """How a book is put together.

    Attributes:
        answer_key: ``end``: the answers (review cards: answer and 解析; practice: answers)
            on their own pages at the end of each book, so a child redoes a card before
            looking (students correct themselves); ``none``: left out of the book (the
            teacher prints :func:`errorbook.printing.book.pdf.render_answer_key` instead,
            which carries both).
        duplex: printed two-sided: practice pages start on a fresh sheet and end padded,
            so they can be torn off and scanned without review pages on their backs, and
            every book in a class set starts on a front page.
        explanation_lines: the most lines of 解析 per card before ``…``.
        stem_lines: the most lines of stem per card before ``…``.
        redo_space_mm: the ruled 订正 area under each card for redoing it by hand
            (0: none).
        stack_fractions: typeset ``a/b`` as stacked fractions in maths questions.
        language: the school's language for every printed word that is not the
            question's or the student's (``zh`` or ``en``, :mod:`errorbook.printing.book.words`).
    """

    answer_key: Literal["end", "none"] = "end"
    duplex: bool = True
    explanation_lines: int = 6
    stem_lines: int = 10
    redo_space_mm: float = 24.0
    stack_fractions: bool = True
    language: str = "zh"

    def __post_init__(self) -> None:
        if self.answer_key not in ("end", "none"):
            raise ValueError(f"answer_key must be 'end' or 'none', got {self.answer_key!r}")
        if self.explanation_lines < 1 or self.stem_lines < 1:
            raise ValueError("explanation_lines and stem_lines must be 1 or more")
        if not 0.0 <= self.redo_space_mm <= 80.0:
            raise ValueError("redo_space_mm must be between 0 and 80")
        if self.language not in ("zh", "en"):
            raise ValueError(f"language must be 'zh' or 'en', got {self.language!r}")
