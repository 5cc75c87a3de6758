"""The template editor's state, the API's template body made from it, and the service's
refusals mapped back onto the editor's regions.

The editor (``static/template-editor.js``) keeps one page's regions as a small JSON document
(:class:`EditorState`) in a hidden form field: every region the teacher sees, in reading
order, including the ones they chose not to grade (``skip``: a 竖式 work area, a class
line). Saving posts it; :func:`build_template` checks what a teacher can fix on the page
(a missing answer or knowledge point, a 判断 row that is not two bubbles) and turns the
graded regions into a :class:`service.schemas.templates.TemplatePageIn` body, remembering
which editor region each sent region was, so that a refusal naming
``pages[0].regions[3]`` (the service's ``where``), a question id of the bank import, or a
schema error's location can be shown on the region the teacher drew
(:func:`problems_from_error`).

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
from service.schemas.templates import ProposedRegionOut

__all__ = ["MAX_EDITOR_REGIONS", "Built", "EditorRegion", "EditorState", "RegionProblem",
           "bubble_labels", "build_template", "digits_of", "initial_state",
           "problems_from_error"]

Box = tuple[float, float, float, float]
MAX_EDITOR_REGIONS = 300
_CHOICE_LABELS = "ABCDEFGH"
# What a proposed answer place starts as: written places are graded; a 竖式 work area is
# drawn for the child's working, which markbook does not read.
_START_KIND = {"box": "written", "underline": "written", "bracket": "written",
               "bubbles": "bubbles", "work": "skip"}
_TRUE = ("true", "t", "对", "√", "1")
_WHERE = re.compile(r"pages\[(\d+)\]\.regions\[(\d+)\]")
# Questions made from keys are named own-<token>-<page>-<region> (service.templates.layout).
_MADE_ID = re.compile(r"own-[0-9a-f]+-(\d+)-(\d+)")


class EditorRegion(BaseModel):
    """One region as the editor keeps it (points from the blank's top-left corner)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    kind: Literal["written", "bubbles", "name", "student_number", "skip"]
    box: Box
    bubbles: list[Box] = Field(default_factory=list, max_length=12)
    key_kind: Literal["numeric", "text", "choice", "true_false", "math_expr"] = "numeric"
    answer: str = Field(default="", max_length=200)
    alternatives: str = Field(default="", max_length=400)
    kp: str = Field(default="", max_length=128)
    score: float = 1.0
    digits: int | None = None
    origin: str = Field(default="drawn", max_length=16)


class EditorState(BaseModel):
    """The editor's page: its regions in reading order."""

    model_config = ConfigDict(extra="ignore")

    regions: list[EditorRegion] = Field(default_factory=list, max_length=MAX_EDITOR_REGIONS)


@dataclass(frozen=True)
class RegionProblem:
    """Something to fix, on an editor region (``index``) or on the page (``None``).

    Attributes:
        index: the region's place in the editor's list, or None for the whole page.
        code: the machine-readable reason (the service's ``error``, or the editor's own).
        detail: the service's message (English), or "" for the editor's own checks.
    """

    index: int | None
    code: str
    detail: str = ""


@dataclass(frozen=True)
class Built:
    """What :func:`build_template` made.

    Attributes:
        page: the ``TemplatePageIn`` body of the page (graded regions only).
        sent: for each sent region, its index in the editor's list.
        problems: what the teacher must fix first (the body is not to be sent when any).
    """

    page: dict[str, Any]
    sent: list[int]
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


def initial_state(proposed: Sequence[ProposedRegionOut]) -> EditorState:
    """The editor's first state: every proposed place, kept as the kind it suggests
    (boxes, underlines and brackets written; bubble rows bubbles; work areas not graded)."""
    regions = [EditorRegion(kind=_START_KIND.get(p.kind, "written"),
                            box=p.box, bubbles=list(p.bubbles), origin=p.kind,
                            key_kind="choice" if p.kind == "bubbles" else "numeric")
               for p in proposed]
    return EditorState(regions=regions[:MAX_EDITOR_REGIONS])


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


def build_template(state: EditorState, blank_id: int) -> Built:
    """The page body for ``POST /api/v1/worksheets`` (``template.pages[0]``) from the
    editor's state, numbering the answer regions 1, 2, 3... in the editor's (reading)
    order; ``skip`` regions are left out.

    Args:
        state: the editor's regions.
        blank_id: the blank the page is drawn on.

    Returns:
        The body, the editor index of each sent region, and the problems found (a page
        with no graded answer region is one).
    """
    regions: list[dict[str, Any]] = []
    sent: list[int] = []
    problems: list[RegionProblem] = []
    number = 0
    for i, r in enumerate(state.regions):
        if r.kind == "skip":
            continue
        body: dict[str, Any] = {"kind": r.kind, "box": list(r.box)}
        if r.kind in ("written", "bubbles"):
            number += 1
            labels = bubble_labels(len(r.bubbles), r.key_kind) if r.kind == "bubbles" else []
            problems += _answer_problems(i, r, labels)
            body |= {"number": number, "key": _key(r, labels)}
            if r.kind == "bubbles":
                body["bubbles"] = [{"label": lb, "box": list(b)}
                                   for lb, b in zip(labels, r.bubbles, strict=False)]
        elif r.kind == "student_number":
            if r.digits is None or not 3 <= r.digits <= 12:
                problems.append(RegionProblem(i, "bad_digits"))
            body["digits"] = r.digits
        regions.append(body)
        sent.append(i)
    if number == 0:
        problems.append(RegionProblem(None, "no_answer_regions"))
    return Built({"blank_id": blank_id, "regions": regions}, sent, problems)


def _editor_index(region: int, sent: Sequence[int]) -> int | None:
    return sent[region] if 0 <= region < len(sent) else None


def problems_from_error(exc: MarkbookError | ValidationError, sent: Sequence[int]
                        ) -> list[RegionProblem]:
    """The service's refusal as problems on the editor's regions.

    Args:
        exc: what creating the worksheet raised: an :class:`InvalidInput` (its ``errors``
            name ``pages[0].regions[k]``, or a made question ``own-…-1-k``) or the schema's
            :class:`ValidationError` (its locations name ``regions``, index ``k-1``).
        sent: the editor index of each sent region (:attr:`Built.sent`).

    Returns:
        One problem per reported item (at least one: the error itself, on the page).
    """
    out: list[RegionProblem] = []
    if isinstance(exc, ValidationError):
        for e in exc.errors():
            loc = list(e.get("loc", ()))
            index = None
            if "regions" in loc and loc.index("regions") + 1 < len(loc):
                at = loc[loc.index("regions") + 1]
                index = _editor_index(at, sent) if isinstance(at, int) else None
            out.append(RegionProblem(index, "invalid_input", str(e.get("msg", ""))))
        return out or [RegionProblem(None, "invalid_input", str(exc))]
    for item in exc.errors:
        where = str(item.get("where", ""))
        message = str(item.get("message", ""))
        index = None
        if (m := _WHERE.search(where)) and m.group(1) == "0":
            index = _editor_index(int(m.group(2)), sent)
        elif (m := _MADE_ID.search(where)) and m.group(1) == "1":
            index = _editor_index(int(m.group(2)) - 1, sent)
        out.append(RegionProblem(index, str(item.get("error") or exc.error), message))
    return out or [RegionProblem(None, exc.error, exc.detail)]
