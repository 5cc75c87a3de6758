"""Request and response bodies of templates: a teacher's own worksheet or a workbook page,
graded from one uploaded blank.

The flow: upload the blank (``POST /api/v1/templates/blanks``: the answer places found on
it come back as ``proposed``), correct the regions and give each answer region its key,
then create the assignment (``POST /api/v1/worksheets`` with ``kind: "template"`` and a
``template`` body). Regions are in points (1/72 inch) from the blank page's top-left
corner, the unit ``proposed`` uses.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["BlankOut", "BubbleIn", "GridBubbleIn", "ImportedRegionOut", "OmrImportOut",
           "ProposedRegionOut", "TemplateIn", "TemplateKeyIn", "TemplatePageIn",
           "TemplateRegionIn"]

Box = tuple[float, float, float, float]

# One answer region's key written out in a few fields: the service turns it into a bank
# question of the school (imported like any bank document, so it is validated, audited
# and revisioned the same way).
KeyKind = Literal["numeric", "text", "choice", "true_false", "math_expr"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TemplateKeyIn(_In):
    """The answer key of one region, short form.

    ``answer``: the number (``numeric``: ``42``, ``3/4``, ``1.5``), the accepted word or
    phrase (``text``), the right label (``choice``: ``B``; on a written region the child
    writes the letter), ``true`` / ``false`` (``true_false``), or the expression or
    equation (``math_expr``).
    """

    kind: KeyKind
    answer: str | bool
    alternatives: list[str] = Field(default_factory=list, max_length=10,
                                    description="other accepted answers (numeric, text)")
    knowledge_points: list[str] = Field(min_length=1, max_length=10,
                                        description="knowledge-point codes of the bank, "
                                                    "e.g. math.add.carry")
    score: float = Field(default=1.0, gt=0, le=100)


class BubbleIn(_In):
    label: str = Field(pattern=r"^([A-H]|T|F)$", description="A-H, or T / F for true-false")
    box: Box


class GridBubbleIn(_In):
    """One bubble of a student-number grid: the digit it stands for in its column."""

    place: int = Field(ge=0, le=15, description="the column: 0 is the number's first digit")
    digit: int = Field(ge=0, le=9)
    box: Box


class TemplateRegionIn(_In):
    """One region of a template page.

    ``written``: a box, bracket or underline the answer is written in. ``bubbles``: a row
    of choice bubbles (``bubbles`` gives each). ``name``: where the child writes their
    name. ``student_number``: where the child writes their 学号, one digit per cell
    (``digits`` equal cells across ``box``). ``number_grid``: a bubbled 学号 (填涂), one
    column of digit bubbles per place (``grid``). An answer region takes either ``key`` (a
    new question made from it) or ``question_id`` (a question already in the bank).
    """

    kind: Literal["written", "bubbles", "name", "student_number", "number_grid"]
    box: Box
    number: int | None = Field(default=None, ge=1, le=999,
                               description="the question number printed beside it "
                                           "(default: its place among the answer regions)")
    answer_format: Literal["digits", "math", "text", "compare"] | None = Field(
        default=None, description="written regions: what the reader expects (default: "
                                  "from the key)")
    bubbles: list[BubbleIn] = Field(default_factory=list, max_length=8)
    digits: int | None = Field(default=None, ge=3, le=12,
                               description="student_number: how many digit cells")
    grid: list[GridBubbleIn] = Field(default_factory=list, max_length=160,
                                     description="number_grid: every bubble")
    question_id: str | None = Field(default=None, max_length=64)
    blank: int = Field(default=0, ge=0, le=19,
                       description="with question_id: which blank of a multi-blank "
                                   "question this region holds")
    key: TemplateKeyIn | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> TemplateRegionIn:
        answer = self.kind in ("written", "bubbles")
        if answer and (self.key is None) == (self.question_id is None):
            raise ValueError("an answer region needs exactly one of key and question_id")
        if not answer and (self.key is not None or self.question_id is not None):
            raise ValueError(f"a {self.kind} region takes no key or question_id")
        if self.kind == "bubbles" and len(self.bubbles) < 2:
            raise ValueError("a bubbles region needs at least two bubbles")
        if self.kind != "bubbles" and self.bubbles:
            raise ValueError(f"a {self.kind} region has no bubbles")
        if self.kind == "student_number" and self.digits is None:
            raise ValueError("a student_number region needs digits (how many cells)")
        places = {g.place for g in self.grid}
        if self.kind == "number_grid" and len(places) < 3:
            raise ValueError("a number_grid region needs bubbles for at least three places")
        if self.kind != "number_grid" and self.grid:
            raise ValueError(f"a {self.kind} region has no grid")
        return self


class TemplatePageIn(_In):
    blank_id: int = Field(ge=1, le=2**31 - 1, description="from POST /api/v1/templates/blanks")
    regions: list[TemplateRegionIn] = Field(min_length=1, max_length=200)


class TemplateIn(_In):
    pages: list[TemplatePageIn] = Field(min_length=1, max_length=8)


class ImportedRegionOut(BaseModel):
    """A region read from an imported sheet layout: post it back in a template's
    ``regions`` with a ``key`` (answer regions) or as it is (``number_grid``)."""

    label: str = Field(description="the field's label in the imported layout (q1, Roll)")
    kind: Literal["bubbles", "number_grid"]
    box: Box
    number: int | None = None
    bubbles: list[BubbleIn] = Field(default_factory=list)
    grid: list[GridBubbleIn] = Field(default_factory=list)
    values: dict[str, str] = Field(default_factory=dict,
                                   description="bubble label -> the value the layout gives "
                                               "it, where they differ (1 -> A)")


class OmrImportOut(BaseModel):
    """An OMRChecker ``template.json`` as regions of a blank."""

    blank_id: int
    regions: list[ImportedRegionOut]
    skipped: list[dict[str, str]] = Field(description="fields not imported, with why")
    preprocessors: list[str] = Field(description="the layout's preProcessors: markbook "
                                                 "registers copies to the blank by its "
                                                 "print instead, so none is run")


class ProposedRegionOut(BaseModel):
    """An answer place found on the blank, for the teacher to keep, move or drop."""

    number: int
    kind: str = Field(description="box, underline (the band above the line), bracket, "
                                  "bubbles, work, or name / student_number (a title "
                                  "block's 姓名 / 学号 line, told by its printed label)")
    box: Box
    bubbles: list[Box] = Field(default_factory=list)


class BlankOut(BaseModel):
    id: int
    width_pt: float
    height_pt: float
    proposed: list[ProposedRegionOut]
    links: dict[str, str]
