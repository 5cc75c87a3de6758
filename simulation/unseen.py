"""The unseen-writer benchmark's worksheet, what the children write, and how verdicts score.

A class stack like an independent evaluation's: a one-page drill of numeric answers (about
80% integers, the rest fractions, decimals and negatives), each child writing the key 70% of
the time, a plausible wrong answer 25% (an off-by-one or off-by-ten, swapped digits, a lost
minus or dot, a flipped fraction) and leaving 5% blank. :func:`score` compares the product's
grades with the verdicts the written truth earns and counts what a teacher cares about:
how many verdicts were automatic, how many of those were right, and above all how many
right answers were automatically marked wrong. :func:`read_pages` reads a stack with the
product's own reading path (``ocr.pipeline.read_page``) in a pool of spawned processes.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter, deque
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter

from grading.arithmetic_stem import format_fraction, parse_arithmetic_stem
from grading.grade import Grade, Verdict
from grading.questions import Question
from ocr.ingest import IngestLimits, PageImage, iter_pages
from ocr.pipeline import AnswerRead, ReadOptions, TemplatePage, read_page

__all__ = [
    "ANSWER_TYPES",
    "Outcome",
    "PageReading",
    "Tally",
    "answer_type",
    "drill_questions",
    "plausible_answers",
    "read_pages",
    "read_stack",
    "score",
]

ANSWER_TYPES = ("integer", "fraction", "decimal", "negative")


def answer_type(key: str) -> str:
    """Which of :data:`ANSWER_TYPES` a written key is."""
    if key.startswith("-"):
        return "negative"
    if "/" in key:
        return "fraction"
    if "." in key:
        return "decimal"
    return "integer"


def _stem(kind: str, rng: np.random.Generator) -> str:
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731 - a local shorthand
    if kind == "fraction":
        q = r(3, 9)
        a, b = r(1, q - 1), r(1, q - 1)
        if (a + b) % q == 0:
            b = b % (q - 1) + 1 if (a + b + 1) % q else b
        return f"{a}/{q}+{b}/{q}="
    if kind == "decimal":
        return f"{r(1, 9)}.{r(1, 9)}+{r(1, 9)}.{r(1, 8)}="
    if kind == "negative":
        a = r(1, 9)
        return f"{a}-{a + r(1, 19)}="
    form = r(0, 3)
    if form == 0:
        return f"{r(10, 89)}+{r(10, 89)}="
    if form == 1:
        a = r(30, 99)
        return f"{a}-{r(1, a - 1)}="
    if form == 2:
        return f"{r(2, 9)}×{r(2, 19)}="
    b = r(2, 9)
    return f"{b * r(2, 12)}÷{b}="


def drill_questions(n: int, seed: int) -> list[Question]:
    """``n`` arithmetic items whose keys are about 80% integers.

    Args:
        n: How many (a one-page worksheet holds about 24).
        seed: The worksheet's seed.

    Returns:
        Validated bank questions, ids ``u1`` .. ``uN``.
    """
    rng = np.random.default_rng(seed)
    kinds = ["integer"] * n
    others = ["fraction", "decimal", "negative"]
    for i in rng.choice(n, max(1, round(n * 0.2)), replace=False):
        kinds[int(i)] = others[int(i) % 3]
    ta = TypeAdapter(Question)
    out = []
    for i, kind in enumerate(kinds, start=1):
        stem = _stem(kind, rng)
        while answer_type(parse_arithmetic_stem(stem).answer_text()) != kind:
            stem = _stem(kind, rng)
        out.append(ta.validate_python({
            "id": f"u{i}", "kind": "arithmetic", "subject": "math", "grade": 4,
            "knowledge_points": ["math.arith.mental"], "score": 1, "stem": stem}))
    return out


def _slips(key: str, rng: np.random.Generator) -> list[str]:
    value = Fraction(key)
    kind = answer_type(key)
    if kind == "fraction":
        return [f"{value.denominator}/{value.numerator}", f"{value.numerator + 1}/{value.denominator}",
                f"{value.numerator}/{value.denominator + 1}"]
    if kind == "decimal":
        whole, frac = key.split(".")
        return [whole + frac, format_fraction(value + Fraction(1, 10), decimal=True),
                format_fraction(value - 1, decimal=True), f"{whole}.{(int(frac) + 1) % 10}"]
    if kind == "negative":
        return [key[1:], str(value - 1), str(value + 1)]
    n = int(key)
    digit = str(int(rng.integers(0, 10)))
    pos = int(rng.integers(len(key)))
    changed = key[:pos] + digit + key[pos + 1:]
    return [str(n + 1), str(max(n - 1, 0)), str(n + 10), str(max(n - 10, 0)), key[::-1],
            changed.lstrip("0") or "0"]


def plausible_answers(questions: dict[str, Question], right: float = 0.737
                      ) -> Any:
    """What children write in each box (blanks come from the page filler's blank rate).

    Args:
        questions: The worksheet's questions by id.
        right: Share of written answers that are the key (0.737 of the 95% written: 70%
            of all boxes); the rest are plausible slips.

    Returns:
        An ``AnswerFor`` for ``simulation.bench_worksheet.fill_pages``.
    """
    keys = {qid: parse_arithmetic_stem(q.stem).answer_text() for qid, q in questions.items()}

    def answer(qid: str, blank: int, rng: np.random.Generator) -> str:
        key = keys[qid]
        if rng.random() < right:
            return key
        slips = [s for s in _slips(key, rng) if s != key and s]
        return slips[int(rng.integers(len(slips)))]

    return answer


@dataclass(frozen=True)
class Outcome:
    """One answer box: what was written, read and decided."""

    question_id: str
    key: str
    truth: str
    reading: str
    status: str
    truth_verdict: Verdict | None
    grade: Grade | None


@dataclass
class Tally:
    """The benchmark's figures for one configuration."""

    written: int = 0
    read_exact: int = 0
    auto: int = 0
    auto_right: int = 0
    right_marked_wrong: int = 0
    wrong_marked_right: int = 0
    blanks: int = 0
    blanks_told: int = 0
    reviewed_right: int = 0
    # Boxes, blanks included, whose reading is not what was written yet graded unasked.
    wrong_reading_auto: int = 0
    by_type: dict[str, list[int]] = field(default_factory=dict)
    confusions: Counter[str] = field(default_factory=Counter)

    def per_1000(self, count: int) -> float:
        """``count`` per 1,000 written answers."""
        return 1000.0 * count / self.written if self.written else 0.0

    @property
    def wrong_readings_per_1000(self) -> float:
        """Wrong readings graded without review per 1,000 answer boxes, blanks included."""
        boxes = self.written + self.blanks
        return 1000.0 * self.wrong_reading_auto / boxes if boxes else 0.0

    @property
    def coverage(self) -> float:
        """Automatic verdicts per written answer."""
        return self.auto / self.written if self.written else 0.0

    @property
    def auto_accuracy(self) -> float:
        """Share of automatic verdicts that match the truth's."""
        return self.auto_right / self.auto if self.auto else 1.0


def _confusion(truth: str, reading: str) -> Iterable[str]:
    if len(truth) == len(reading):
        return [f"{t}→{r}" for t, r in zip(truth, reading, strict=True) if t != r]
    return [f"“{truth}”→“{reading}”"]


def score(outcomes: Iterable[Outcome]) -> Tally:
    """Tally verdicts against the truth.

    A box's truth verdict is what the grader gives the written truth; an automatic verdict
    is right when it equals that. Blank boxes count apart: told apart when read blank.

    Args:
        outcomes: Every answer box of the stack.

    Returns:
        The figures.
    """
    t = Tally()
    for o in outcomes:
        auto = o.grade is not None and o.grade.auto
        if not o.truth:
            t.blanks += 1
            t.blanks_told += o.status == "blank"
            t.wrong_reading_auto += auto and o.status != "blank"
            continue
        t.written += 1
        row = t.by_type.setdefault(answer_type(o.key), [0, 0, 0, 0])
        row[0] += 1
        exact = o.status == "ok" and o.reading == o.truth
        t.read_exact += exact
        row[1] += exact
        if not exact and o.status == "ok":
            t.confusions.update(_confusion(o.truth, o.reading))
        t.wrong_reading_auto += auto and not exact
        if o.grade is None or not o.grade.auto:
            t.reviewed_right += o.truth_verdict == Verdict.CORRECT
            continue
        t.auto += 1
        row[2] += 1
        right = o.grade.verdict == o.truth_verdict
        t.auto_right += right
        row[3] += right
        if not right and o.truth_verdict == Verdict.CORRECT:
            t.right_marked_wrong += 1
        elif not right and o.grade.verdict == Verdict.CORRECT:
            t.wrong_marked_right += 1
    return t


@dataclass(frozen=True)
class PageReading:
    """One page as the product's reading path saw it.

    Attributes:
        index: the page's place in the stack.
        status: ``ocr.pipeline.PageRead.status`` (``read``, ``misaligned``, ``no_code`` ...).
        answers: its answer regions' readings (empty when the page was not identified).
        seconds: time ``read_page`` took in its worker.
    """

    index: int
    status: str
    answers: tuple[AnswerRead, ...]
    seconds: float


_worker: dict[str, Any] = {}


def _init(template: TemplatePage, weights_dir: str | None, verify: bool) -> None:
    import cv2

    from ocr.reading.default import build_default_recognizer

    cv2.setNumThreads(1)
    _worker["template"] = template
    recognizer = build_default_recognizer(weights_dir=Path(weights_dir) if weights_dir else None)
    recognizer.verifies_keys = verify
    _worker["recognizer"] = recognizer


def _read(page: PageImage) -> PageReading:
    t = time.perf_counter()
    read = read_page(page, lambda code: _worker["template"], _worker["recognizer"],
                     ReadOptions(crop_png=False))
    return PageReading(read.index, read.status, read.answers, time.perf_counter() - t)


def read_pages(pages: Iterable[PageImage], template: TemplatePage, weights_dir: Path | None,
               verify: bool, workers: int) -> list[PageReading]:
    """Read pages with the product's reading path in ``workers`` spawned processes.

    Args:
        pages: the stack's pages (``ocr.ingest.iter_pages`` of its files).
        template: the one worksheet page every page is read against.
        weights_dir: readers' weights other than the shipped ones (None: shipped).
        verify: let the readers verify the template's expected answers.
        workers: reading processes.

    Returns:
        Every page's reading, in page order. Pages are handed out a few at a time, so a
        stack of 12 MP photos never sits in memory at once.
    """
    ctx = multiprocessing.get_context("spawn")
    done: list[PageReading] = []
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init,
                             initargs=(template, str(weights_dir) if weights_dir else None,
                                       verify)) as pool:
        pending: deque[Future[PageReading]] = deque()
        for page in pages:
            pending.append(pool.submit(_read, page))
            if len(pending) >= 4 * workers:
                done.append(pending.popleft().result())
        done.extend(f.result() for f in pending)
    return sorted(done, key=lambda r: r.index)


def read_stack(pdf: Path, template: TemplatePage, weights_dir: Path | None, verify: bool,
               workers: int) -> list[tuple[AnswerRead, ...]]:
    """Every page's readings, in page order.

    Raises:
        RuntimeError: If a page was not read (a copier stack reads every page).
    """
    pages = read_pages(iter_pages(pdf, IngestLimits()), template, weights_dir, verify, workers)
    for p in pages:
        if p.status != "read":
            raise RuntimeError(f"page {p.index} not read: {p.status}")
    return [p.answers for p in pages]
