"""The template editor's state, the API's template body made from it, and the service's
refusals mapped back onto the editor's regions.

The editor (``static/template-editor.js``) keeps the template's pages (one blank each, at
most :data:`MAX_PAGES`) and each page's regions as a small JSON document
(:class:`EditorState`) in a hidden form field: every region the teacher sees, in reading
order, including the ones they chose not to grade (``skip``: a 竖式 work area). Saving
posts it; :func:`build_template` checks what a teacher can fix on the page (a missing
answer or knowledge point, a 判断 row that is not two bubbles, a page left empty) and
turns the graded regions into :class:`service.schemas.templates.TemplatePageIn` bodies,
remembering which editor region each sent region was, so that a refusal naming
``pages[1].regions[3]`` (the service's ``where``), a question id of the bank import, or a
schema error's location can be shown on the region the teacher drew
(:func:`problems_from_error`). :func:`imported_regions` turns an OMRChecker import's
regions into the editor's.

Pure functions: the routes (:mod:`service.web.templates_editor`) do the I/O.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.errors import MarkbookError
from service.schemas.templates import ImportedRegionOut, ProposedRegionOut

__all__ = ["MAX_EDITOR_REGIONS", "MAX_PAGES", "Built", "EditorPage", "EditorRegion",
           "EditorState", "GridCell", "RegionProblem", "bubble_labels", "build_template",
           "digits_of", "imported_regions", "initial_state", "problems_from_error"]

Box = tuple[float, float, float, float]
MAX_EDITOR_REGIONS = 300
MAX_PAGES = 8  # the API's pages a template
_CHOICE_LABELS = "ABCDEFGH"
# What a proposed answer place starts as: written places are graded; a 竖式 work area is
# drawn for the child's working, which markbook does not read.
_START_KIND = {"box": "written", "underline": "written", "bracket": "written",
               "bubbles": "bubbles", "work": "skip", "name": "name",
               "student_number": "student_number"}
_TRUE = ("true", "t", "对", "√", "1")
_WHERE = re.compile(r"pages\[(\d+)\]\.regions\[(\d+)\]")
# Questions made from keys are named own-<token>-<page>-<region> (service.templates.layout).
_MADE_ID = re.compile(r"own-[0-9a-f]+-(\d+)-(\d+)")
_PAGE = re.compile(r"pages\[(\d+)\]")


class GridCell(BaseModel):
    """One bubble of a bubbled 学号 (``number_grid``): its column and digit."""

    model_config = ConfigDict(extra="ignore")

    place: int = Field(ge=0, le=15)
    digit: int = Field(ge=0, le=9)
    box: Box


class EditorRegion(BaseModel):
    """One region as the editor keeps it (points from the blank's top-left corner).

    ``label``: the field's name in an imported answer-sheet layout (``q1``, ``Roll``),
    shown beside the region; "" for a region found or drawn here. ``sheet_number``: its
    place in that layout's order, which the editor numbers its rows by (a sheet's columns
    run q1–q10 then q11–q20, not across).
    """

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    kind: Literal["written", "bubbles", "name", "student_number", "number_grid", "skip"]
    box: Box
    bubbles: list[Box] = Field(default_factory=list, max_length=12)
    grid: list[GridCell] = Field(default_factory=list, max_length=160)
    label: str = Field(default="", max_length=64)
    sheet_number: int | None = Field(default=None, ge=1, le=999)
    key_kind: Literal["numeric", "text", "choice", "true_false", "math_expr"] = "numeric"
    answer: str = Field(default="", max_length=200)
    alternatives: str = Field(default="", max_length=400)
    kp: str = Field(default="", max_length=128)
    score: float = 1.0
    digits: int | None = None
    origin: str = Field(default="drawn", max_length=16)


class EditorPage(BaseModel):
    """One page of the template: its blank and its regions in reading order."""

    model_config = ConfigDict(extra="ignore")

    blank_id: int = Field(ge=1, le=2**31 - 1)
    regions: list[EditorRegion] = Field(default_factory=list, max_length=MAX_EDITOR_REGIONS)


class EditorState(BaseModel):
    """The editor's pages, in the order the children's copies run."""

    model_config = ConfigDict(extra="ignore")

    pages: list[EditorPage] = Field(min_length=1, max_length=MAX_PAGES)


@dataclass(frozen=True)
class RegionProblem:
    """Something to fix, on an editor region (``index`` on ``page``), on a page (``index``
    None) or on the whole template (both None).

    Attributes:
        index: the region's place in its page's list, or None.
        code: the machine-readable reason (the service's ``error``, or the editor's own).
        detail: the service's message (English), or "" for the editor's own checks.
        page: the page (0-based), or None for the whole template.
    """

    index: int | None
    code: str
    detail: str = ""
    page: int | None = 0


@dataclass(frozen=True)
class Built:
    """What :func:`build_template` made.

    Attributes:
        pages: the ``TemplatePageIn`` bodies of the pages (graded regions only).
        sent: per page, for each sent region, its index in the page's editor list.
        problems: what the teacher must fix first (the body is not to be sent when any).
    """

    pages: list[dict[str, Any]]
    sent: list[list[int]]
    problems: list[RegionProblem]


def bubble_labels(count: int, key_kind: str) -> list[str]:
    """The labels of a row of ``count`` bubbles: T and F for a 判断 row of two, else
    A, B, C... (at most eight)."""
    if key_kind == "true_false" and count == 2:
        return ["T", "F"]
    return list(_CHOICE_LABELS[:count])


def digits_of(student_numbers: Sequence[str]) -> int:
    """How many digit cells a class's 学号 need: the commonest length (3 to 12, 4 when the
    class has no students yet)."""
    lengths = Counter(len(s) for s in student_numbers if s)
    if not lengths:
        return 4
    return min(12, max(3, lengths.most_common(1)[0][0]))


def initial_state(proposed: Sequence[ProposedRegionOut]) -> list[EditorRegion]:
    """A blank's regions as the editor first shows them: every proposed place, kept as the
    kind it suggests (boxes, underlines and brackets written; bubble rows bubbles; a title
    block's 姓名 / 学号 line name / student number; work areas not graded)."""
    regions = [EditorRegion(kind=_START_KIND.get(p.kind, "written"),
                            box=p.box, bubbles=list(p.bubbles), origin=p.kind,
                            key_kind="choice" if p.kind == "bubbles" else "numeric")
               for p in proposed]
    return regions[:MAX_EDITOR_REGIONS]


def imported_regions(imported: Sequence[ImportedRegionOut]) -> list[EditorRegion]:
    """An OMRChecker import's regions as the editor's: choice rows as bubbles (a T / F row
    keyed true/false, its T bubble first as the editor labels them), the roll-number group
    as a bubbled 学号 grid; each remembers its place in the layout (``sheet_number``)."""
    out: list[EditorRegion] = []
    for place, r in enumerate(imported[:MAX_EDITOR_REGIONS], start=1):
        if r.kind == "number_grid":
            out.append(EditorRegion(kind="number_grid", box=r.box, label=r.label[:64],
                                    origin="omr", grid=[GridCell(place=g.place, digit=g.digit,
                                                                 box=g.box) for g in r.grid]))
            continue
        bubbles = sorted(r.bubbles, key=lambda b: b.label == "F")  # T, F as the editor has it
        true_false = sorted(b.label for b in r.bubbles) == ["F", "T"]
        out.append(EditorRegion(kind="bubbles", box=r.box, label=r.label[:64], origin="omr",
                                bubbles=[b.box for b in (bubbles if true_false else r.bubbles)],
                                sheet_number=place,
                                key_kind="true_false" if true_false else "choice"))
    return out


def _key(region: EditorRegion, labels: list[str]) -> dict[str, Any]:
    answer: str | bool = region.answer
    if region.key_kind == "true_false":
        answer = region.answer.lower() in _TRUE
    elif region.key_kind == "choice":
        answer = region.answer.upper()
    alternatives = [a.strip() for a in re.split(r"[,，、;；]", region.alternatives)
                    if a.strip()][:10] if region.key_kind in ("numeric", "text") else []
    return {"kind": region.key_kind, "answer": answer, "alternatives": alternatives,
            "knowledge_points": [region.kp], "score": region.score}


def _answer_problems(i: int, r: EditorRegion, labels: list[str]) -> list[RegionProblem]:
    out: list[RegionProblem] = []
    if not r.answer:
        out.append(RegionProblem(i, "no_answer"))
    if not r.kp:
        out.append(RegionProblem(i, "no_knowledge_point"))
    if not 0 < r.score <= 100:
        out.append(RegionProblem(i, "bad_score"))
    if r.kind == "bubbles":
        if not 2 <= len(r.bubbles) <= len(_CHOICE_LABELS):
            out.append(RegionProblem(i, "bubble_count"))
        elif r.key_kind not in ("choice", "true_false"):
            out.append(RegionProblem(i, "bubbles_need_choice"))
        elif r.key_kind == "true_false" and len(r.bubbles) != 2:
            out.append(RegionProblem(i, "true_false_two_bubbles"))
        elif r.key_kind == "choice" and r.answer and r.answer.upper() not in labels:
            out.append(RegionProblem(i, "answer_not_a_bubble"))
    elif r.key_kind == "choice" and r.answer and r.answer.upper() not in _CHOICE_LABELS:
        out.append(RegionProblem(i, "answer_not_a_letter"))
    return out


def _page_body(p: int, page: EditorPage, first: int
               ) -> tuple[dict[str, Any], list[int], list[RegionProblem], int]:
    """One page's body, its sent regions, its problems and its last question number."""
    regions: list[dict[str, Any]] = []
    sent: list[int] = []
    problems: list[RegionProblem] = []
    number = first
    for i, r in enumerate(page.regions):
        if r.kind == "skip":
            continue
        body: dict[str, Any] = {"kind": r.kind, "box": list(r.box)}
        if r.kind in ("written", "bubbles"):
            number += 1
            labels = bubble_labels(len(r.bubbles), r.key_kind) if r.kind == "bubbles" else []
            problems += [RegionProblem(q.index, q.code, q.detail, p)
                         for q in _answer_problems(i, r, labels)]
            body |= {"number": number, "key": _key(r, labels)}
            if r.kind == "bubbles":
                body["bubbles"] = [{"label": lb, "box": list(b)}
                                   for lb, b in zip(labels, r.bubbles, strict=False)]
        elif r.kind == "student_number":
            if r.digits is None or not 3 <= r.digits <= 12:
                problems.append(RegionProblem(i, "bad_digits", page=p))
            body["digits"] = r.digits
        elif r.kind == "number_grid":
            body["grid"] = [g.model_dump() for g in r.grid]
        regions.append(body)
        sent.append(i)
    if not regions:
        problems.append(RegionProblem(None, "empty_page", page=p))
    return {"blank_id": page.blank_id, "regions": regions}, sent, problems, number


def build_template(state: EditorState) -> Built:
    """The pages for ``POST /api/v1/worksheets`` (``template.pages``) from the editor's
    state, numbering the answer regions 1, 2, 3... in the editor's (reading) order across
    the pages; ``skip`` regions are left out.

    Args:
        state: the editor's pages and their regions.

    Returns:
        The bodies, the editor index of each sent region per page, and the problems found
        (a page with nothing to send, and a template with no graded answer region, are).
    """
    pages: list[dict[str, Any]] = []
    sent: list[list[int]] = []
    problems: list[RegionProblem] = []
    number = 0
    for p, page in enumerate(state.pages):
        body, page_sent, page_problems, number = _page_body(p, page, number)
        pages.append(body)
        sent.append(page_sent)
        problems += page_problems
    if number == 0:
        problems.append(RegionProblem(None, "no_answer_regions", page=None))
    return Built(pages, sent, problems)


def _editor_index(page: int, region: int, sent: Sequence[Sequence[int]]) -> int | None:
    if not 0 <= page < len(sent):
        return None
    return sent[page][region] if 0 <= region < len(sent[page]) else None


def _page_of(page: int, sent: Sequence[Sequence[int]]) -> int | None:
    return page if 0 <= page < len(sent) else None


def problems_from_error(exc: MarkbookError | ValidationError, sent: Sequence[Sequence[int]]
                        ) -> list[RegionProblem]:
    """The service's refusal as problems on the editor's regions.

    Args:
        exc: what creating the worksheet raised: an :class:`InvalidInput` (its ``errors``
            name ``pages[p].regions[k]``, ``pages[p]``, or a made question
            ``own-…-<p+1>-<k+1>``) or the schema's :class:`ValidationError` (its locations
            name ``pages``, ``p``, ``regions``, ``k``).
        sent: per page, the editor index of each sent region (:attr:`Built.sent`).

    Returns:
        One problem per reported item (at least one: the error itself, on the template).
    """
    out: list[RegionProblem] = []
    if isinstance(exc, ValidationError):
        for e in exc.errors():
            loc = list(e.get("loc", ()))
            page: int | None = None
            index = None
            if "pages" in loc and loc.index("pages") + 1 < len(loc):
                at = loc[loc.index("pages") + 1]
                page = _page_of(at, sent) if isinstance(at, int) else None
            if page is not None and "regions" in loc and loc.index("regions") + 1 < len(loc):
                at = loc[loc.index("regions") + 1]
                index = _editor_index(page, at, sent) if isinstance(at, int) else None
            out.append(RegionProblem(index, "invalid_input", str(e.get("msg", "")), page))
        return out or [RegionProblem(None, "invalid_input", str(exc), None)]
    for item in exc.errors:
        where = str(item.get("where", ""))
        message = str(item.get("message", ""))
        page = None
        index = None
        if m := _WHERE.search(where):
            page = _page_of(int(m.group(1)), sent)
            index = _editor_index(int(m.group(1)), int(m.group(2)), sent)
        elif m := _MADE_ID.search(where):
            page = _page_of(int(m.group(1)) - 1, sent)
            index = _editor_index(int(m.group(1)) - 1, int(m.group(2)) - 1, sent)
        elif m := _PAGE.search(where):
            page = _page_of(int(m.group(1)), sent)
        out.append(RegionProblem(index, str(item.get("error") or exc.error), message, page))
    return out or [RegionProblem(None, exc.error, exc.detail, None)]
