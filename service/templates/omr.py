"""A school's own bubble answer sheet (答题卡) from its OMRChecker ``template.json``: the
sheet's fields as template regions of its uploaded blank.

Choice fields become ``bubbles`` regions (labels A, B, C… or T / F, with the layout's own
values kept beside them where they differ), the student-number group a ``number_grid``.
Digit columns that are not the student number (a bubbled numeric answer) have no reader
here and are listed in ``skipped``, as is anything else that cannot be a region.
"""

from __future__ import annotations

import re

from ocr.foreign.omrchecker import OmrField, OmrSheet
from service.schemas.templates import BubbleIn, GridBubbleIn, ImportedRegionOut

__all__ = ["regions_of_sheet"]

_LETTERS = "ABCDEFGH"
# Two-value fields read as true / false: (true value, false value), compared lowercased.
_TRUE_FALSE = {("t", "f"), ("true", "false"), ("y", "n"), ("yes", "no"), ("对", "错"),
               ("√", "×"), ("✓", "✗"), ("1", "0")}
_NUMBER = re.compile(r"(\d+)\D*$")


def _labels(values: list[str]) -> list[str] | None:
    """Markbook's bubble labels for a choice field's values, None when it has too many."""
    if all(len(v) == 1 and v in _LETTERS for v in values) and len(set(values)) == len(values):
        return values
    if len(values) == 2:
        pair = (values[0].lower(), values[1].lower())
        if pair in _TRUE_FALSE:
            return ["T", "F"]
        if pair[::-1] in _TRUE_FALSE:
            return ["F", "T"]
    if len(values) <= len(_LETTERS):
        return list(_LETTERS[:len(values)])
    return None


def _choice(field: OmrField) -> ImportedRegionOut | str:
    values = [v for v, _ in field.bubbles]
    labels = _labels(values)
    if labels is None:
        return f"{len(values)} bubbles: a choice has at most {len(_LETTERS)}"
    match = _NUMBER.search(field.label)
    return ImportedRegionOut(
        label=field.label, kind="bubbles", box=field.box,
        number=int(match.group(1)) if match and 0 < int(match.group(1)) < 1000 else None,
        bubbles=[BubbleIn(label=lb, box=b) for lb, (_, b) in zip(labels, field.bubbles,
                                                                 strict=True)],
        values={lb: v for lb, v in zip(labels, values, strict=True) if lb != v})


def _grid(field: OmrField) -> ImportedRegionOut:
    return ImportedRegionOut(
        label=field.label, kind="number_grid", box=field.box,
        grid=[GridBubbleIn(place=place, digit=int(v), box=b)
              for place, column in enumerate(field.columns) for v, b in column.bubbles])


def regions_of_sheet(sheet: OmrSheet) -> tuple[list[ImportedRegionOut], list[dict[str, str]]]:
    """The sheet's importable fields as regions, in its order, and those skipped.

    Returns:
        (regions, skipped): each skipped field as ``{"label", "reason"}``.
    """
    number = sheet.student_number()
    regions: list[ImportedRegionOut] = []
    skipped: list[dict[str, str]] = []
    for field in sheet.fields:
        if field is number:
            if len(field.columns) > 16:
                skipped.append({"label": field.label,
                                "reason": "a student number has at most 16 digits"})
            else:
                regions.append(_grid(field))
            continue
        if field.kind == "digit":
            skipped.append({"label": field.label,
                            "reason": "a bubbled number that is not the student number "
                                      "(no reader for bubbled numeric answers)"})
            continue
        if field.columns:
            skipped.append({"label": field.label,
                            "reason": "a group of choice columns (import its fields one "
                                      "by one)"})
            continue
        out = _choice(field)
        if isinstance(out, str):
            skipped.append({"label": field.label, "reason": out})
        else:
            regions.append(out)
    return regions, skipped
