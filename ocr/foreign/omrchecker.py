"""Import a bubble answer sheet's layout from an OMRChecker ``template.json``.

Schools already print bubble answer sheets (答题卡) and many describe them for OMRChecker
(github.com/Udayraj123/OMRChecker), whose ``template.json`` places rows of bubbles in the
pixels of its processed page image. This module turns such a file into bubbles in PDF points
of the school's blank page (x0, y0, x1, y1 from the top-left), so a sheet the school keeps
printing can become a markbook template. It is a pure function of the JSON: no image is
read; registering filled sheets against the blank is the service's business.

Supported (OMRChecker v1, the ``fieldBlocks`` format):
    ``pageDimensions`` (scaled to the given page, x and y independently, or to a frame on it),
    ``bubbleDimensions`` (global and per block), ``fieldBlocks`` with ``origin``,
    ``fieldLabels`` (ranges such as ``q1..20`` or ``q1...20``), ``bubblesGap``, ``labelsGap``
    (a number or a list of the gaps between consecutive labels), ``direction``, ``fieldType``
    (QTYPE_INT, QTYPE_INT_FROM_1, QTYPE_MCQ4, QTYPE_MCQ5) or ``bubbleValues`` for custom
    fields, ``customLabels`` (fields joined into one, such as a roll number made of digit
    columns), ``emptyValue`` (global and per block), ``outputColumns`` (their order; fields
    they leave out follow in template order, never dropped), ``preProcessors`` (their names
    are recorded; see below). As in OMRChecker, a built-in ``fieldType`` sets the values and
    the direction of its block, ``direction`` defaults to vertical for custom fields, unknown
    keys inside a block are ignored and unknown top-level keys are refused.

Not supported:
    the pre-2022 layout (``qBlocks``, ``dimensions``, ``concatenations``) and the v2 layout
    (``templateDimensions``, ``bubbleFieldType``, OCR and barcode fields), both refused with
    a message that says so; per-template ``options``; image pre-processing itself. A
    field's box is the bubble box OMRChecker samples, not the printed circle.

Pre-processors: ``CropPage`` crops the scan to the paper, so ``pageDimensions`` is the whole
page; ``CropOnMarkers`` crops to the four marker centres, so its frame is the rectangle
between those centres (pass it as ``frame_pt`` when known; the whole page otherwise);
``FeatureBasedAlignment`` aligns to a reference image, which markbook replaces by its own
registration against the uploaded blank. Blur and ``Levels`` filters only change pixels.
:data:`PAGE_FRAMING_PREPROCESSORS` and :data:`IMAGE_FILTER_PREPROCESSORS` name the two
groups so the service can say which requests it honours.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from ocr.foreign.strict_json import (
    MAX_TEMPLATE_BYTES,
    OmrTemplateError,
    load_json_object,
    number,
    pair,
    show,
    text,
)

__all__ = [
    "FIELD_TYPES",
    "IMAGE_FILTER_PREPROCESSORS",
    "MAX_BUBBLES",
    "MAX_TEMPLATE_BYTES",
    "PAGE_FRAMING_PREPROCESSORS",
    "Box",
    "OmrField",
    "OmrSheet",
    "OmrTemplateError",
    "parse_template",
]

Box = tuple[float, float, float, float]
Direction = Literal["horizontal", "vertical"]

MAX_BUBBLES = 2000
MAX_PAGE_PX = 20_000.0
MIN_PAGE_PX = 10.0
# A printed bubble is 3-8 mm; 2 pt (0.7 mm) to 72 pt (25 mm) leaves room for generous
# OMRChecker boxes while catching a template meant for a different page size.
MIN_BUBBLE_PT, MAX_BUBBLE_PT = 2.0, 72.0
# Boxes drawn a little larger than their spacing touch; sharing more than this share of the
# smaller box means two bubbles claim the same ink.
MAX_OVERLAP = 0.10
MAX_VALUES = 52
DIGITS = frozenset("0123456789")

FIELD_TYPES: Mapping[str, tuple[tuple[str, ...], Direction]] = {
    "QTYPE_INT": (tuple("0123456789"), "vertical"),
    "QTYPE_INT_FROM_1": (tuple("1234567890"), "vertical"),
    "QTYPE_MCQ4": (("A", "B", "C", "D"), "horizontal"),
    "QTYPE_MCQ5": (("A", "B", "C", "D", "E"), "horizontal"),
}
PAGE_FRAMING_PREPROCESSORS = frozenset({"CropPage", "CropOnMarkers", "FeatureBasedAlignment",
                                        "CropOnLogo"})
IMAGE_FILTER_PREPROCESSORS = frozenset({"GaussianBlur", "MedianBlur", "Levels"})

_TOP_KEYS = ("pageDimensions", "bubbleDimensions", "fieldBlocks", "customLabels",
             "outputColumns", "preProcessors", "emptyValue", "options")
_RANGE = re.compile(r"([^.\d]+)(\d+)\.{2,3}(\d+)")
_STUDENT = re.compile(r"roll|student|学号|考号|准考证|(?<![a-z])id(?![a-z])", re.IGNORECASE)


@dataclass(frozen=True)
class OmrField:
    """One output column of the sheet.

    Attributes:
        label: the field label (``q1``) or a customLabels name (``Roll``).
        kind: ``digit`` for a column of the ten digits, ``choice`` otherwise; a group is
            ``digit`` when all its columns are.
        bubbles: (value, box) in reading order; empty for a group (see ``columns``).
        columns: for a customLabels group, its member fields in the listed order.
        empty_value: what OMRChecker writes when nothing is marked (``emptyValue``).
    """

    label: str
    kind: Literal["choice", "digit"]
    bubbles: tuple[tuple[str, Box], ...]
    columns: tuple[OmrField, ...] = ()
    empty_value: str = ""

    @property
    def box(self) -> Box:
        """The smallest box holding every bubble of the field (or of its columns)."""
        boxes = [b for _, b in self.bubbles] + [c.box for c in self.columns]
        return (min(b[0] for b in boxes), min(b[1] for b in boxes),
                max(b[2] for b in boxes), max(b[3] for b in boxes))


@dataclass(frozen=True)
class OmrSheet:
    """A bubble sheet's layout in points of the blank page.

    Attributes:
        width_pt, height_pt: the page size the boxes refer to.
        fields: in ``outputColumns`` order when given, else template order; a customLabels
            group stands where its first member would.
        preprocessors: the ``preProcessors`` names, in order.
    """

    width_pt: float
    height_pt: float
    fields: tuple[OmrField, ...]
    preprocessors: tuple[str, ...]

    def student_number(self) -> OmrField | None:
        """The first digit group whose label reads as a student number (roll, id, student,
        学号, 考号, 准考证), or None."""
        for f in self.fields:
            if f.columns and f.kind == "digit" and _STUDENT.search(f.label):
                return f
        return None


class _Raw(NamedTuple):
    """A field as generated, in template pixels."""

    label: str
    block: str
    values: tuple[str, ...]
    boxes: tuple[Box, ...]
    empty: str


def parse_template(data: bytes | str | Mapping[str, Any], *, page_width_pt: float,
                   page_height_pt: float, frame_pt: Box | None = None) -> OmrSheet:
    """Read an OMRChecker v1 ``template.json`` as bubbles on the blank page.

    Args:
        data: the file's bytes or text (at most 1 MB), or the parsed JSON object.
        page_width_pt, page_height_pt: the blank page's size in points.
        frame_pt: where ``pageDimensions`` lies on the page (for ``CropOnMarkers``, the
            rectangle between the marker centres); the whole page when None.

    Returns:
        The sheet, its boxes in points from the page's top-left.

    Raises:
        OmrTemplateError: the template is not valid or not importable; the message names
            the key and block at fault.
        ValueError: the page size or frame is not a positive area inside the page.
    """
    frame = _frame(page_width_pt, page_height_pt, frame_pt)
    raw = load_json_object(data)
    _refuse_other_versions(raw)
    unknown = sorted(str(k) for k in set(raw) - set(_TOP_KEYS))
    if unknown:
        raise OmrTemplateError("template", f"unknown key(s) {unknown}; known: {list(_TOP_KEYS)}")
    for key in ("pageDimensions", "bubbleDimensions", "fieldBlocks"):
        if key not in raw:
            raise OmrTemplateError("template", f"missing required key '{key}'")
    page = pair(raw["pageDimensions"], "pageDimensions", MIN_PAGE_PX, MAX_PAGE_PX)
    bubble = pair(raw["bubbleDimensions"], "bubbleDimensions", 0.0, MAX_PAGE_PX, positive=True)
    empty = text(raw.get("emptyValue", ""), "emptyValue", allow_empty=True)
    sx = (frame[2] - frame[0]) / page[0]
    sy = (frame[3] - frame[1]) / page[1]
    raws = _field_blocks(raw["fieldBlocks"], bubble, empty, page, (sx, sy))
    _check_overlaps(raws)

    def to_pt(b: Box) -> Box:
        return (frame[0] + b[0] * sx, frame[1] + b[1] * sy,
                frame[0] + b[2] * sx, frame[1] + b[3] * sy)

    fields = {r.label: OmrField(r.label, "digit" if _is_digits(r.values) else "choice",
                                tuple(zip(r.values, map(to_pt, r.boxes), strict=True)),
                                empty_value=r.empty) for r in raws}
    groups, member_of = _custom_labels(raw.get("customLabels", {}), fields, empty)
    units: dict[str, OmrField] = {}
    for r in raws:  # template order; a group stands where its first member is
        name = member_of.get(r.label, r.label)
        units.setdefault(name, groups.get(name) or fields[name])
    ordered = _output_order(raw.get("outputColumns", []), units, member_of)
    return OmrSheet(page_width_pt, page_height_pt, ordered,
                    _preprocessors(raw.get("preProcessors", [])))


def _frame(width: float, height: float, frame: Box | None) -> Box:
    if not all(isinstance(v, int | float) and math.isfinite(v) and v > 0 for v in (width, height)):
        raise ValueError(f"page size must be positive points, got {width!r} x {height!r}")
    if frame is None:
        return (0.0, 0.0, float(width), float(height))
    x0, y0, x1, y1 = (float(v) for v in frame)
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise ValueError(f"frame_pt {frame!r} is not an area inside the {width} x {height} page")
    return (x0, y0, x1, y1)


def _refuse_other_versions(raw: Mapping[str, Any]) -> None:
    if "pageDimensions" not in raw and {"qBlocks", "dimensions", "concatenations"} & set(raw):
        raise OmrTemplateError("template", "this is OMRChecker's pre-2022 layout (qBlocks, "
                               "dimensions); open it in OMRChecker v1 and save it in the "
                               "fieldBlocks format")
    blocks = raw.get("fieldBlocks")
    v2_block = isinstance(blocks, Mapping) and any(
        isinstance(b, Mapping) and ({"bubbleFieldType", "fieldDetectionType"} & set(b))
        for b in blocks.values())
    if "templateDimensions" in raw or v2_block:
        raise OmrTemplateError("template", "this is an OMRChecker v2 template "
                               "(templateDimensions, bubbleFieldType), which is not supported; "
                               "use the v1 format (pageDimensions, fieldType)")


def _labels(v: Any, where: str, budget: int) -> list[str]:
    """Expand field strings (``q1..20``) into labels, at most ``budget`` of them."""
    if not isinstance(v, list | tuple) or not v:
        raise OmrTemplateError(where, f"expected a non-empty list of labels, got {show(v)}")
    out: list[str] = []
    for i, s in enumerate(v):
        s = text(s, f"{where}[{i}]")
        if "." not in s:
            out.append(s)
        else:
            m = _RANGE.fullmatch(s)
            if m is None:
                raise OmrTemplateError(f"{where}[{i}]", f"'{s}' is neither a label (no dots) "
                                                         "nor a range like 'q1..20'")
            start, end = int(m[2]), int(m[3])
            if start >= end:
                raise OmrTemplateError(f"{where}[{i}]", f"range '{s}' must count up: start "
                                                         f"{start} is not less than end {end}")
            if end - start + 1 > budget - len(out):
                raise OmrTemplateError(f"{where}[{i}]", f"range '{s}' has {end - start + 1:,} "
                                                         f"labels, over the {MAX_BUBBLES}-"
                                                         "bubble limit")
            out.extend(f"{m[1]}{n}" for n in range(start, end + 1))
        if len(out) > budget:
            raise OmrTemplateError(where, f"over the {MAX_BUBBLES}-bubble limit")
    seen: set[str] = set()
    for label in out:
        if label in seen:
            raise OmrTemplateError(where, f"label '{label}' is given twice")
        seen.add(label)
    return out


def _field_blocks(blocks: Any, bubble: tuple[float, float], empty: str,
                  page: tuple[float, float], scale: tuple[float, float]) -> list[_Raw]:
    if not isinstance(blocks, Mapping) or not blocks:
        raise OmrTemplateError("fieldBlocks", "expected an object of named blocks, got "
                               f"{show(blocks)}")
    raws: list[_Raw] = []
    owner: dict[str, str] = {}
    count = 0
    for name, block in blocks.items():
        where = f"fieldBlocks[{name!r}]"
        if not isinstance(block, Mapping):
            raise OmrTemplateError(where, f"expected an object, got {show(block)}")
        for key in ("origin", "bubblesGap", "labelsGap", "fieldLabels"):
            if key not in block:
                raise OmrTemplateError(where, f"missing required key '{key}'")
        values, direction = _values(block, where)
        labels = _labels(block["fieldLabels"], f"{where}.fieldLabels", MAX_BUBBLES - count)
        count += len(labels) * len(values)
        if count > MAX_BUBBLES:
            raise OmrTemplateError(where, f"the template has over {MAX_BUBBLES} bubbles")
        for label in labels:
            if label in owner:
                raise OmrTemplateError(f"{where}.fieldLabels", f"label '{label}' is also in "
                                                                f"block {owner[label]!r}")
            owner[label] = name
        size = (pair(block["bubbleDimensions"], f"{where}.bubbleDimensions", 0.0, MAX_PAGE_PX,
                      positive=True) if "bubbleDimensions" in block else bubble)
        _check_bubble_size(size, scale, f"{where}.bubbleDimensions" if "bubbleDimensions"
                           in block else "bubbleDimensions")
        origin = pair(block["origin"], f"{where}.origin", 0.0, MAX_PAGE_PX)
        gap = number(block["bubblesGap"], f"{where}.bubblesGap", 0.0, MAX_PAGE_PX)
        lead_gaps = _label_gaps(block["labelsGap"], f"{where}.labelsGap", len(labels))
        block_empty = text(block.get("emptyValue", empty), f"{where}.emptyValue",
                            allow_empty=True)
        # The values of a field run along `along`; successive fields step along `across`.
        along, across = (1, 0) if direction == "vertical" else (0, 1)
        lead = list(origin)
        for i, label in enumerate(labels):
            boxes: list[Box] = []
            for k in range(len(values)):
                corner = list(lead)
                corner[along] += k * gap
                box = (corner[0], corner[1], corner[0] + size[0], corner[1] + size[1])
                if box[2] > page[0] or box[3] > page[1]:
                    raise OmrTemplateError(where, f"bubble {label}={values[k]} at x "
                                           f"{box[0]:g}..{box[2]:g}, y {box[1]:g}..{box[3]:g} "
                                           f"lies outside the page ({page[0]:g} x {page[1]:g} "
                                           "pageDimensions); check origin and gaps")
                boxes.append(box)
            raws.append(_Raw(label, name, values, tuple(boxes), block_empty))
            if i < len(lead_gaps):
                lead[across] += lead_gaps[i]
    return raws


def _values(block: Mapping[str, Any], where: str) -> tuple[tuple[str, ...], Direction]:
    if "fieldType" in block:
        kind = block["fieldType"]
        if not isinstance(kind, str) or kind not in FIELD_TYPES:
            raise OmrTemplateError(f"{where}.fieldType", f"unknown fieldType {show(kind)}; "
                                   f"known: {sorted(FIELD_TYPES)} (or give bubbleValues)")
        if "bubbleValues" in block:
            raise OmrTemplateError(where, "give either fieldType or bubbleValues, not both")
        return FIELD_TYPES[kind]  # as in OMRChecker, the type also sets the direction
    if "bubbleValues" not in block:
        raise OmrTemplateError(where, "missing 'fieldType' (one of "
                               f"{sorted(FIELD_TYPES)}) or 'bubbleValues'")
    v = block["bubbleValues"]
    if not isinstance(v, list | tuple) or not v or len(v) > MAX_VALUES:
        raise OmrTemplateError(f"{where}.bubbleValues", f"expected 1 to {MAX_VALUES} strings, "
                                                          f"got {show(v)}")
    values = tuple(text(s, f"{where}.bubbleValues[{i}]") for i, s in enumerate(v))
    if len(set(values)) != len(values):
        raise OmrTemplateError(f"{where}.bubbleValues", f"values repeat: {list(values)}")
    direction = block.get("direction", "vertical")
    if direction not in ("horizontal", "vertical"):
        raise OmrTemplateError(f"{where}.direction", f"expected 'horizontal' or 'vertical', "
                                                       f"got {show(direction)}")
    return values, direction


def _label_gaps(v: Any, where: str, n_labels: int) -> list[float]:
    if isinstance(v, list | tuple):
        if len(v) != n_labels - 1:
            raise OmrTemplateError(where, f"a list of gaps needs {n_labels - 1} entries (one "
                                          f"between each two of {n_labels} labels), got {len(v)}")
        return [number(g, f"{where}[{i}]", 0.0, MAX_PAGE_PX) for i, g in enumerate(v)]
    return [number(v, where, 0.0, MAX_PAGE_PX)] * (n_labels - 1)


def _check_bubble_size(size: tuple[float, float], scale: tuple[float, float],
                       where: str) -> None:
    w, h = size[0] * scale[0], size[1] * scale[1]
    if not (MIN_BUBBLE_PT <= w <= MAX_BUBBLE_PT and MIN_BUBBLE_PT <= h <= MAX_BUBBLE_PT):
        raise OmrTemplateError(where, f"[{size[0]:g}, {size[1]:g}] px makes bubbles "
                               f"{w:.1f} x {h:.1f} pt on this page; a bubble must be "
                               f"{MIN_BUBBLE_PT:g} to {MAX_BUBBLE_PT:g} pt a side (is "
                               "pageDimensions right?)")


def _check_overlaps(raws: list[_Raw]) -> None:
    """Refuse two bubbles that share more than MAX_OVERLAP of the smaller one."""
    items = [(r, v, b) for r in raws for v, b in zip(r.values, r.boxes, strict=True)]
    # Buckets the size of a typical bubble: a rare large one spans several, and no bucket
    # fills up with many small ones (which made one large bubble cost O(n^2)).
    sides = sorted(max(b[2] - b[0], b[3] - b[1]) for _, _, b in items)
    cell = sides[len(sides) // 2]
    grid: dict[tuple[int, int], list[int]] = {}
    for i, (r, v, b) in enumerate(items):
        for cx in range(int(b[0] // cell), int(b[2] // cell) + 1):
            for cy in range(int(b[1] // cell), int(b[3] // cell) + 1):
                bucket = grid.setdefault((cx, cy), [])
                for j in bucket:
                    r2, v2, b2 = items[j]
                    w = min(b[2], b2[2]) - max(b[0], b2[0])
                    h = min(b[3], b2[3]) - max(b[1], b2[1])
                    smaller = min(_area(b), _area(b2))
                    if w > 0 and h > 0 and w * h > MAX_OVERLAP * smaller:
                        other = "" if r2.block == r.block else f" of block {r2.block!r}"
                        raise OmrTemplateError(f"fieldBlocks[{r.block!r}]",
                                               f"bubble {r.label}={v} overlaps bubble "
                                               f"{r2.label}={v2}{other}; check origin, "
                                               "gaps and bubbleDimensions")
                bucket.append(i)


def _area(b: Box) -> float:
    return (b[2] - b[0]) * (b[3] - b[1])


def _is_digits(values: tuple[str, ...]) -> bool:
    return len(values) == 10 and set(values) == DIGITS


def _custom_labels(v: Any, fields: Mapping[str, OmrField], empty: str
                   ) -> tuple[dict[str, OmrField], dict[str, str]]:
    """customLabels groups by name, and each member label's group."""
    if not isinstance(v, Mapping):
        raise OmrTemplateError("customLabels", f"expected an object, got {show(v)}")
    groups: dict[str, OmrField] = {}
    member_of: dict[str, str] = {}
    for name, strings in v.items():
        where = f"customLabels[{name!r}]"
        text(name, where)
        members = _labels(strings, where, MAX_BUBBLES)
        missing = [m for m in members if m not in fields]
        if missing:
            raise OmrTemplateError(where, f"no field block has label(s) {missing[:5]}")
        for m in members:
            if m in member_of:
                raise OmrTemplateError(where, f"label '{m}' is already in customLabels "
                                              f"'{member_of[m]}'")
            member_of[m] = name
        if name in fields and name not in members:
            raise OmrTemplateError(where, f"'{name}' is also the label of a field outside "
                                          "this group")
        columns = tuple(fields[m] for m in members)
        kind: Literal["choice", "digit"] = (
            "digit" if all(c.kind == "digit" for c in columns) else "choice")
        groups[name] = OmrField(name, kind, (), columns, empty)
    return groups, member_of


def _output_order(v: Any, units: Mapping[str, OmrField], member_of: Mapping[str, str]
                  ) -> tuple[OmrField, ...]:
    if not isinstance(v, list | tuple):
        raise OmrTemplateError("outputColumns", f"expected a list, got {show(v)}")
    names = _labels(v, "outputColumns", 10 * MAX_BUBBLES) if v else []
    ordered: dict[str, OmrField] = {}
    for name in names:
        unit = member_of.get(name, name)  # a group's member brings the whole group
        if unit not in units:
            raise OmrTemplateError("outputColumns", f"'{name}' is neither a field label nor "
                                                    "a customLabels name")
        ordered.setdefault(unit, units[unit])
    for name, unit_field in units.items():  # fields left out still exist on the sheet
        ordered.setdefault(name, unit_field)
    return tuple(ordered.values())


def _preprocessors(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list | tuple):
        raise OmrTemplateError("preProcessors", f"expected a list, got {show(v)}")
    names = []
    for i, p in enumerate(v):
        if not isinstance(p, Mapping) or "name" not in p:
            raise OmrTemplateError(f"preProcessors[{i}]", "expected an object with a 'name'")
        names.append(text(p["name"], f"preProcessors[{i}].name"))
    return tuple(names)
