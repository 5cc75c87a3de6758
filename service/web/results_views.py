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

from dataclasses import dataclass

from markupsafe import Markup

from grading.grade import Verdict
from service.schemas.results import QuestionCellOut, QuestionSummaryOut, ResultsOut, StudentRef
from service.web.charts import bar, percent

__all__ = ["CELL_KINDS", "Cell", "QuestionView", "ResultsView", "StudentRow", "cell_kind",
           "results_view"]

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
        total: decided score.
        max_score: full marks.
        pending: answers waiting for review.
        complete: every answer decided.
    """

    student: StudentRef
    submitted: bool
    cells: list[Cell]
    total: float
    max_score: float
    pending: int
    complete: bool


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


def results_view(results: ResultsOut, accuracy_label: str) -> ResultsView:
    """The page's data from the results document.

    Args:
        results: from :func:`service.results.load_results`.
        accuracy_label: the accuracy bars' title (in the page's language).

    Returns:
        The view.
    """
    rows = [StudentRow(student=r.student, submitted=r.submitted,
                       cells=[_cell(c) for c in r.questions], total=r.total,
                       max_score=r.max_score, pending=r.pending_review, complete=r.complete)
            for r in results.students]
    questions = []
    for q in results.summary.questions:
        accuracy = q.correct / q.decided if q.decided else None
        questions.append(QuestionView(
            summary=q, accuracy=accuracy, percent=percent(accuracy),
            bar=bar(accuracy, label=f"{accuracy_label} {q.position}. {q.question_id}")))
    return ResultsView(results=results, rows=rows, questions=questions,
                       mean_percent=percent(results.summary.mean_rate))
