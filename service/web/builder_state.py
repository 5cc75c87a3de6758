"""The worksheet builder's state: what the teacher chose so far, carried in the builder's
URL (so it works without JavaScript and survives a reload) and in its form.

The state is the class, the title, the paper size, whether to leave working space for 竖式
(``scratch``), whether to print an answer sheet (答题卡: bubble rows only,
``answer_sheet``), the chosen questions in order (``q``,
repeated), and the filter of the question list beside it. A form button says what to do
with it (``op``): ``add:<id>``, ``remove:<id>``, ``up:<id>``, ``down:<id>``, ``page:<n>``,
``filter``, ``preview`` or ``create``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, cast
from urllib.parse import urlencode

from service.repositories.bank_pages import BankFilter
from service.web.bank import bank_filter

__all__ = ["MAX_SELECTED", "PAGE_SIZES", "BuilderState", "apply_op", "state_from"]

PAGE_SIZES = ("A4", "Letter")
MAX_SELECTED = 200  # a guard on the URL; the service's own limit is checked on create
PageSize = Literal["A4", "Letter"]


@dataclass(frozen=True)
class BuilderState:
    """What the builder shows.

    Attributes:
        class_id: the chosen class, or ``None``.
        title: the worksheet's title as typed.
        page_size: ``A4`` or ``Letter``.
        scratch: leave a working area (竖式) under written arithmetic and word problems.
        answer_sheet: print an answer sheet (答题卡): numbered bubble rows only, for
            choice, multi-choice and true/false questions (kind ``answer_sheet``).
        question_ids: the chosen questions, in printed order.
        filter: the question list's filter.
        page: the question list's page (1-based).
        preview: whether to show the printed preview.
    """

    class_id: int | None = None
    title: str = ""
    page_size: PageSize = "A4"
    scratch: bool = False
    answer_sheet: bool = False
    question_ids: tuple[str, ...] = ()
    filter: BankFilter = field(default_factory=BankFilter)
    page: int = 1
    preview: bool = False

    def url(self, **changes: object) -> str:
        """The builder's URL for this state (with ``changes`` applied)."""
        s = replace(self, **changes)  # type: ignore[arg-type]
        f = s.filter
        params: list[tuple[str, str]] = []
        if s.class_id is not None:
            params.append(("class_id", str(s.class_id)))
        if s.title:
            params.append(("title", s.title))
        if s.page_size != "A4":
            params.append(("page_size", s.page_size))
        if s.scratch:
            params.append(("scratch", "1"))
        if s.answer_sheet:
            params.append(("answer_sheet", "1"))
        params += [("q", q) for q in s.question_ids]
        params += [(k, str(v)) for k, v in (("kp", f.kp), ("kind", f.kind),
                                            ("difficulty", f.difficulty), ("search", f.text))
                   if v]
        if s.page > 1:
            params.append(("page", str(s.page)))
        if s.preview:
            params.append(("preview", "1"))
        return "/worksheets/new" + (f"?{urlencode(params)}" if params else "")


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 12 else None


def state_from(values: Mapping[str, str], question_ids: Sequence[str]) -> BuilderState:
    """The state from a query string or a posted form (unknown values are dropped).

    Args:
        values: the single-valued fields.
        question_ids: the ``q`` fields, in order.
    """
    size = values.get("page_size", "A4")
    ids = tuple(dict.fromkeys(q.strip() for q in question_ids if q.strip()))[:MAX_SELECTED]
    return BuilderState(
        class_id=_int(values.get("class_id")),
        title=values.get("title", "").strip()[:200],
        page_size=cast(PageSize, size if size in PAGE_SIZES else "A4"),
        scratch=values.get("scratch") == "1",
        answer_sheet=values.get("answer_sheet") == "1",
        question_ids=ids,
        filter=bank_filter(values.get("kp", ""), values.get("kind", ""),
                           values.get("difficulty", ""), values.get("search", "")),
        page=max(_int(values.get("page")) or 1, 1),
        preview=values.get("preview") == "1",
    )


def apply_op(state: BuilderState, op: str) -> BuilderState:
    """The state after a button (everything but ``create``); the preview is shown only
    right after ``preview`` (after any change it would be out of date)."""
    verb, _, arg = op.partition(":")
    ids = list(state.question_ids)
    state = replace(state, preview=False)
    if verb == "add" and arg and arg not in ids and len(ids) < MAX_SELECTED:
        ids.append(arg)
    elif verb == "remove" and arg in ids:
        ids.remove(arg)
    elif verb in ("up", "down") and arg in ids:
        i = ids.index(arg)
        j = i - 1 if verb == "up" else i + 1
        if 0 <= j < len(ids):
            ids[i], ids[j] = ids[j], ids[i]
    elif verb == "page":
        return replace(state, page=max(_int(arg) or 1, 1))
    elif verb == "filter":
        return replace(state, page=1)
    elif verb == "preview":
        return replace(state, preview=True)
    return replace(state, question_ids=tuple(ids))
