"""What the results page shows, made from the API's results document (``ResultsOut``).

The class table is students × questions; each cell is one of six kinds, each drawn with a
colour *and* a symbol (so the table reads in black and white and to colour-blind eyes):

====================  ======  =========================================
kind                  symbol  when
====================  ======  =========================================
``right``             ✓       decided correct
``half``              ½       decided partially correct
``wrong``             ✗       decided incorrect
``blank``             –       left blank
``review``            ?       waiting for a teacher (never counted as 0)
``missing``           ·       the page with this question was not scanned
====================  ======  =========================================

The cells are made here, once, as small tuples, so the template only prints them (the
table has 2,400 cells for 60 students × 40 questions).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from markupsafe import Markup, escape

from grading.grade import Verdict
from service.schemas.results import (
    QuestionCellOut,
    QuestionSummaryOut,
    ResultsOut,
    StudentRef,
    StudentResultOut,
)
from service.web.charts import bar, percent

__all__ = ["CELL_KINDS", "Cell", "QuestionView", "ResultsView", "StudentRow", "ViewCache",
           "cell_kind", "results_view"]

T = TypeVar("T")

# (kind, symbol) in the legend's order.
CELL_KINDS: tuple[tuple[str, str], ...] = (
    ("right", "✓"), ("half", "½"), ("wrong", "✗"), ("blank", "–"), ("review", "?"),
    ("missing", "·"))
_SYMBOL = dict(CELL_KINDS)
_BY_VERDICT = {Verdict.CORRECT.value: "right", Verdict.PARTIALLY_CORRECT.value: "half",
               Verdict.INCORRECT.value: "wrong", Verdict.BLANK.value: "blank"}


@dataclass(frozen=True)
class Cell:
    """One table cell: its kind (the CSS class ``cell-<kind>``), symbol and hover text."""

    kind: str
    symbol: str
    title: str


@dataclass(frozen=True)
class StudentRow:
    """One student's row.

    Attributes:
        student: the student.
        submitted: whether they handed it in.
        cells: one per question (empty when not handed in).
        cells_html: the cells as ``<td>`` elements, made once here (2,400 of them for
            60 × 40 cost a template loop more than the rest of the page).
        total: decided score.
        max_score: full marks.
        pending: answers waiting for review.
        complete: every answer decided.
        missing_pages: the pages not scanned of a student who handed in some.
    """

    student: StudentRef
    submitted: bool
    cells: list[Cell]
    cells_html: Markup
    total: float
    max_score: float
    pending: int
    complete: bool
    missing_pages: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class QuestionView:
    """One question's accuracy line (作业正确率)."""

    summary: QuestionSummaryOut
    accuracy: float | None
    bar: Markup
    percent: str


@dataclass(frozen=True)
class ResultsView:
    """The results page's data.

    Attributes:
        results: the API's results document.
        rows: the table's rows in roster order.
        questions: per-question accuracy, in worksheet order.
        mean_percent: the class's decided score rate as text.
    """

    results: ResultsOut
    rows: list[StudentRow]
    questions: list[QuestionView]
    mean_percent: str


def cell_kind(cell: QuestionCellOut) -> str:
    """The table kind of one answer (see the module docstring)."""
    if cell.status == "not_scanned":
        return "missing"
    if cell.status != "graded":
        return "review"
    return _BY_VERDICT.get(cell.verdict or "", "review")


def _score(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _cell(cell: QuestionCellOut) -> Cell:
    kind = cell_kind(cell)
    title = f"{cell.position}. {cell.question_id}"
    if cell.answer:
        title += f": {cell.answer}"
    if cell.score is not None:
        title += f" ({_score(cell.score)}/{_score(cell.max_score)})"
    return Cell(kind, _SYMBOL[kind], title)


def _cells_html(cells: list[Cell]) -> Markup:
    return Markup("".join(
        f'<td class="cell cell-{c.kind}" title="{escape(c.title)}" data-kind="{c.kind}">'
        f"{c.symbol}</td>" for c in cells))


def _row(r: StudentResultOut) -> StudentRow:
    cells = [_cell(c) for c in r.questions]
    return StudentRow(student=r.student, submitted=r.submitted, cells=cells,
                      cells_html=_cells_html(cells), total=r.total, max_score=r.max_score,
                      pending=r.pending_review, complete=r.complete,
                      missing_pages=r.missing_pages)


def results_view(results: ResultsOut, accuracy_label: str) -> ResultsView:
    """The page's data from the results document.

    Args:
        results: from :func:`service.results.load_results`.
        accuracy_label: the accuracy bars' title (in the page's language).

    Returns:
        The view.
    """
    rows = [_row(r) for r in results.students]
    questions = []
    for q in results.summary.questions:
        accuracy = q.correct / q.decided if q.decided else None
        questions.append(QuestionView(
            summary=q, accuracy=accuracy, percent=percent(accuracy),
            bar=bar(accuracy, label=f"{accuracy_label} {q.position}. {q.question_id}")))
    return ResultsView(results=results, rows=rows, questions=questions,
                       mean_percent=percent(results.summary.mean_rate))


@dataclass
class ViewCache(Generic[T]):
    """The results pages made last (the view and its rendered body), by (worksheet,
    language), each with the version of the data it was made from (:func:`service.results_pages.results_state`): a view is reused
    only while that version is unchanged, so a review decision, a reassigned page or a
    renamed student shows at once. Building the table of 60 × 40 costs far more than
    reading the version (a few small queries), and a class's results are viewed much more
    often than they change. The least recently used views go first.

    Attributes:
        size: how many views are kept.
    """

    size: int = 32
    _views: OrderedDict[Hashable, tuple[Hashable, T]] = field(default_factory=OrderedDict)

    def get(self, key: Hashable, version: Hashable) -> T | None:
        """The view kept under ``key`` if it was made from ``version``."""
        found = self._views.get(key)
        if found is None or found[0] != version:
            return None
        self._views.move_to_end(key)
        return found[1]

    def put(self, key: Hashable, version: Hashable, view: T) -> None:
        """Keep ``view`` (made from ``version``) under ``key``."""
        self._views[key] = (version, view)
        self._views.move_to_end(key)
        while len(self._views) > self.size:
            self._views.popitem(last=False)
