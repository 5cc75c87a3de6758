"""A template's regions checked and turned into what the rest of markbook reads: a frozen
worksheet layout (the print/scan contract, with no markers and no QR) and a bank document
holding the questions its short-form keys describe.

Pure functions: the caller looks up the blanks and the bank questions a template names
and stores what comes back.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from errorbook.contract import AnswerRegion, Bubble, PageLayout, WorksheetLayout
from grading.bank import BANK_FORMAT
from grading.questions import Question
from service.schemas.templates import TemplateIn, TemplateKeyIn, TemplateRegionIn

__all__ = ["BlankSize", "TemplateError", "TemplatePlan", "plan_template"]

Box = tuple[float, float, float, float]
MM = 72 / 25.4
# Smallest region a reader can use, and how much two regions may share before they are
# taken for one answer drawn twice (a shared printed edge is fine).
MIN_SIDE_PT = 3 * MM
OVERLAP_SHARE = 0.05
_SUBJECTS = ("math", "chinese", "english", "science")
# Answer formats a bank question kind is read with on a written region.
_FORMAT_OF_KIND = {"numeric": "digits", "arithmetic": "digits", "math_expr": "math",
                   "text": "text", "short_answer": "short_answer", "choice": "text"}
_BUBBLE_KINDS = ("choice", "multi_choice", "true_false")


class TemplateError(ValueError):
    """A template that cannot be used; ``error`` is the machine-readable code and
    ``errors`` lists each problem with where it is (``pages[0].regions[3]``)."""

    def __init__(self, message: str, error: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.error = error
        self.errors = errors


@dataclass(frozen=True)
class BlankSize:
    """A blank page's size in points."""

    width_pt: float
    height_pt: float


@dataclass(frozen=True)
class TemplatePlan:
    """What a template becomes.

    Attributes:
        layout: the frozen layout (``WorksheetLayout.to_dict`` is stored).
        bank: a ``markbook-questions/1`` document with the questions its keys make (None
            when every region names a bank question).
        question_ids: the worksheet's questions in order, bank ids (made and named).
    """

    layout: WorksheetLayout
    bank: dict[str, Any] | None
    question_ids: list[str]


def _box(b: Box) -> Box:
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def _where(page: int, region: int) -> str:
    return f"pages[{page}].regions[{region}]"


def _area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _shared(a: Box, b: Box) -> float:
    inter = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return _area(inter) / max(1e-9, min(_area(a), _area(b)))


def _check_geometry(page_no: int, regions: list[TemplateRegionIn], size: BlankSize
                    ) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []

    def bad(i: int, message: str, error: str) -> None:
        problems.append({"where": _where(page_no, i), "error": error, "message": message})

    for i, r in enumerate(regions):
        x0, y0, x1, y1 = r.box
        if not (0 <= x0 < x1 <= size.width_pt + 0.5 and 0 <= y0 < y1 <= size.height_pt + 0.5):
            bad(i, f"box {list(r.box)} is not inside the page ({size.width_pt:.0f} x "
                   f"{size.height_pt:.0f} pt)", "region_outside_page")
            continue
        if x1 - x0 < MIN_SIDE_PT or y1 - y0 < MIN_SIDE_PT:
            bad(i, "box is smaller than 3 mm on a side", "region_too_small")
        for bx0, by0, bx1, by1 in [b.box for b in r.bubbles] + [g.box for g in r.grid]:
            if not (x0 - 1 <= bx0 < bx1 <= x1 + 1 and y0 - 1 <= by0 < by1 <= y1 + 1):
                bad(i, "a bubble is not inside the region's box", "bubble_outside")
        labels = [b.label for b in r.bubbles] + [f"{g.place}:{g.digit}" for g in r.grid]
        if len(set(labels)) != len(labels):
            bad(i, "bubble labels repeat", "duplicate_bubble")
    for i, a in enumerate(regions):
        for j in range(i + 1, len(regions)):
            if _shared(a.box, regions[j].box) > OVERLAP_SHARE:
                problems.append({"where": _where(page_no, j), "error": "overlapping_regions",
                                 "message": f"overlaps {_where(page_no, i)}: two regions "
                                            "would read the same ink"})
    kinds = [r.kind for r in regions]
    for kind in ("name", "student_number", "number_grid"):
        if kinds.count(kind) > 1:
            problems.append({"where": f"pages[{page_no}]", "error": "duplicate_identity",
                             "message": f"more than one {kind} region on the page"})
    return problems


def _subject(codes: list[str]) -> str:
    head = codes[0].split(".", 1)[0]
    return head if head in _SUBJECTS else "other"


def _question_doc(qid: str, number: int, title: str, grade: int, region: TemplateRegionIn,
                  key: TemplateKeyIn) -> dict[str, Any]:
    """A bank question for one region's short-form key."""
    doc: dict[str, Any] = {"id": qid, "subject": _subject(key.knowledge_points),
                           "grade": grade, "stem": f"{title} 第{number}题",
                           "knowledge_points": key.knowledge_points, "score": key.score,
                           "source": "template"}
    answer = key.answer
    if key.kind == "true_false":
        value = answer if isinstance(answer, bool) else str(answer).lower() in (
            "true", "t", "√", "对", "1")
        return {**doc, "kind": "true_false", "key": {"answer": value}}
    text = str(answer).strip()
    if key.kind == "choice" and region.kind == "bubbles":
        options = [{"label": b.label, "text": b.label} for b in region.bubbles]
        return {**doc, "kind": "choice", "options": options, "key": {"answer": text.upper()}}
    if key.kind in ("choice", "text"):  # a written letter is a one-blank text answer
        accept = [text.upper() if key.kind == "choice" else text, *key.alternatives]
        return {**doc, "kind": "text", "key": {"blanks": [{"accept": accept}]}}
    if key.kind == "numeric":
        return {**doc, "kind": "numeric",
                "key": {"value": text, "alternatives": key.alternatives}}
    return {**doc, "kind": "math_expr", "key": {"answer": text}}


def _answer_region(qid: str, number: int, blank: int, region: TemplateRegionIn, kind: str,
                   answer_format: str) -> AnswerRegion:
    return AnswerRegion(
        question_id=qid, number=number, kind=kind, blank=blank,
        box=_box(region.box), answer_format=answer_format,
        bubbles=tuple(Bubble(b.label, _box(b.box)) for b in region.bubbles))


def _bank_kind_fits(region: TemplateRegionIn, question: Question) -> str:
    """Why a bank question cannot sit in this region ("" when it can)."""
    if region.kind == "bubbles":
        if question.kind not in _BUBBLE_KINDS:
            return f"a {question.kind} question is written, not bubbled"
        labels = {b.label for b in region.bubbles}
        wanted = {"T", "F"} if question.kind == "true_false" else set(
            question.option_labels())  # type: ignore[union-attr]
        if not wanted <= labels:
            return f"the bubbles {sorted(labels)} do not cover its options {sorted(wanted)}"
        return ""
    if question.kind in ("multi_choice", "true_false"):
        return f"a {question.kind} question needs a bubbles region"
    return ""


def _format_of(region: TemplateRegionIn, kind: str, key_kind: str | None) -> str:
    if region.kind == "bubbles":
        return kind  # choice, multi_choice or true_false
    if region.answer_format is not None:
        return region.answer_format
    return _FORMAT_OF_KIND.get(key_kind or kind, "text")


def plan_template(template: TemplateIn, title: str, page_size: str, grade: int,
                  blanks: Mapping[int, BlankSize], bank: Mapping[str, Question],
                  *, token: str | None = None) -> TemplatePlan:
    """Check a template and make its layout and questions.

    Args:
        template: the pages and regions as given.
        title: the assignment's title (the made questions' stems name it).
        page_size: the assignment's nominal paper size (stored with the layout).
        grade: the class's grade, for the made questions.
        blanks: the blanks the pages name that the actor may use, by id.
        bank: the bank questions regions name by ``question_id`` that exist, by id.
        token: the made questions' id stem (random when None: one template's questions
            never collide with another's).

    Raises:
        TemplateError: every problem found (unknown blanks or questions, regions outside
            the page, overlapping, a bank question that cannot sit in its region, no answer
            region at all).
    """
    token = token or secrets.token_hex(3)
    problems: list[dict[str, Any]] = []
    pages: list[PageLayout] = []
    docs: list[dict[str, Any]] = []
    order: list[str] = []
    number = 0
    for p, page in enumerate(template.pages):
        size = blanks.get(page.blank_id)
        if size is None:
            problems.append({"where": f"pages[{p}].blank_id", "error": "unknown_blank",
                             "message": f"blank {page.blank_id} not found"})
            continue
        problems += _check_geometry(p, page.regions, size)
        regions: list[AnswerRegion] = []
        name_box: Box = (0.0, 0.0, 0.0, 0.0)
        cells: tuple[Box, ...] = ()
        seats: tuple[tuple[int, int, Box], ...] = ()
        for i, r in enumerate(page.regions):
            if r.kind == "name":
                name_box = r.box
                continue
            if r.kind == "number_grid":
                seats = tuple((g.place, g.digit, _box(g.box)) for g in r.grid)
                continue
            if r.kind == "student_number":
                x0, y0, x1, y1 = r.box
                n = r.digits or 1
                w = (x1 - x0) / n
                cells = tuple((x0 + k * w, y0, x0 + (k + 1) * w, y1) for k in range(n))
                continue
            number += 1
            shown = r.number or number
            if r.question_id is not None:
                question = bank.get(r.question_id)
                if question is None:
                    problems.append({"where": _where(p, i), "error": "unknown_question",
                                     "message": f"question '{r.question_id}' is not in the "
                                                "bank"})
                    continue
                why = _bank_kind_fits(r, question)
                if why:
                    problems.append({"where": _where(p, i), "error": "question_does_not_fit",
                                     "message": why})
                    continue
                regions.append(_answer_region(r.question_id, shown, r.blank, r, question.kind,
                                              _format_of(r, question.kind, None)))
                if r.question_id not in order:
                    order.append(r.question_id)
                continue
            assert r.key is not None
            key = r.key
            if r.kind == "bubbles":
                labels = {b.label for b in r.bubbles}
                if key.kind not in ("choice", "true_false"):
                    problems.append({"where": _where(p, i), "error": "key_does_not_fit",
                                     "message": f"a {key.kind} key needs a written region"})
                    continue
                if key.kind == "true_false" and labels != {"T", "F"}:
                    problems.append({"where": _where(p, i), "error": "key_does_not_fit",
                                     "message": "a true_false region's bubbles are T and F"})
                    continue
                if key.kind == "choice" and str(key.answer).upper() not in labels:
                    problems.append({"where": _where(p, i), "error": "key_does_not_fit",
                                     "message": f"answer {key.answer!r} is not one of the "
                                                f"bubbles {sorted(labels)}"})
                    continue
            qid = f"own-{token}-{p + 1}-{i + 1}"
            doc = _question_doc(qid, shown, title, grade, r, key)
            docs.append(doc)
            order.append(qid)
            regions.append(_answer_region(qid, shown, 0, r, doc["kind"],
                                          _format_of(r, doc["kind"], key.kind)))
        pages.append(PageLayout(number=p + 1, width=size.width_pt, height=size.height_pt,
                                markers=(), qr_box=(0.0, 0.0, 0.0, 0.0), name_box=name_box,
                                student_no_boxes=cells, regions=tuple(regions),
                                seat_bubbles=seats))
    if not problems and not order:
        problems.append({"where": "pages", "error": "no_answer_regions",
                         "message": "the template has no answer region to grade"})
    if problems:
        first = problems[0]
        raise TemplateError(f"{first['where']}: {first['message']}", first["error"], problems)
    bank_doc = ({"format": BANK_FORMAT, "knowledge_points": [], "questions": docs}
                if docs else None)
    return TemplatePlan(WorksheetLayout(title, page_size, tuple(pages)), bank_doc, order)
