"""A template's regions checked and turned into a layout and bank questions
(``service.templates.layout.plan_template``): pure, no database."""

from __future__ import annotations

from typing import Any

import pytest

from grading.bank import parse_bank
from grading.questions import ChoiceKey, ChoiceOption, ChoiceQuestion, NumericKey, NumericQuestion
from service.schemas.templates import TemplateIn
from service.templates.layout import BlankSize, TemplateError, plan_template

A4 = BlankSize(595.0, 842.0)
KP = ["math.add.carry"]


def _plan(regions: list[dict[str, Any]], bank: dict[str, Any] | None = None) -> Any:
    template = TemplateIn.model_validate({"pages": [{"blank_id": 1, "regions": regions}]})
    return plan_template(template, "周练", "A4", 3, {1: A4}, bank or {}, token="abc123")


def _written(box: list[float], answer: str = "42", **key: Any) -> dict[str, Any]:
    return {"kind": "written", "box": box,
            "key": {"kind": "numeric", "answer": answer, "knowledge_points": KP, **key}}


def test_written_bubbles_and_identity_regions_make_a_layout_and_questions() -> None:
    plan = _plan([
        {"kind": "name", "box": [60, 40, 200, 60]},
        {"kind": "student_number", "box": [300, 40, 390, 60], "digits": 5},
        _written([60, 100, 160, 125], "3/4"),
        {"kind": "bubbles", "box": [60, 150, 200, 170], "number": 7,
         "bubbles": [{"label": lb, "box": [62 + 30 * i, 152, 76 + 30 * i, 166]}
                     for i, lb in enumerate("ABCD")],
         "key": {"kind": "choice", "answer": "c", "knowledge_points": KP}},
        {"kind": "bubbles", "box": [60, 190, 140, 210],
         "bubbles": [{"label": "T", "box": [62, 192, 76, 206]},
                     {"label": "F", "box": [100, 192, 114, 206]}],
         "key": {"kind": "true_false", "answer": "对", "knowledge_points": KP}},
        {"kind": "written", "box": [60, 230, 120, 250],
         "key": {"kind": "choice", "answer": "b", "knowledge_points": KP}},
    ])
    page = plan.layout.pages[0]
    assert page.markers == ()
    assert page.name_box == (60, 40, 200, 60)
    assert len(page.student_no_boxes) == 5
    assert page.student_no_boxes[0] == pytest.approx((300, 40, 318, 60))
    assert page.student_no_boxes[-1][2] == pytest.approx(390)
    kinds = [(r.kind, r.answer_format, r.number) for r in page.regions]
    assert kinds == [("numeric", "digits", 1), ("choice", "choice", 7),
                     ("true_false", "true_false", 3), ("text", "text", 4)]
    assert plan.question_ids == [f"own-abc123-1-{i}" for i in (3, 4, 5, 6)]
    # The made questions are a valid bank document: what the bank import will check.
    bank = parse_bank(plan.bank)
    by_id = {q.id: q for q in bank.questions}
    assert by_id["own-abc123-1-4"].key.answer == "C"  # type: ignore[union-attr]
    assert by_id["own-abc123-1-5"].key.answer is True  # type: ignore[union-attr]
    assert by_id["own-abc123-1-6"].key.blanks[0].accept == ["B"]  # type: ignore[union-attr]
    assert by_id["own-abc123-1-3"].stem == "周练 第1题"


def test_a_number_grid_becomes_the_pages_student_number_bubbles() -> None:
    grid = [{"place": p, "digit": d, "box": [300 + 20 * p, 100 + 16 * d, 312 + 20 * p,
                                             112 + 16 * d]}
            for p in range(4) for d in range(10)]
    plan = _plan([{"kind": "number_grid", "box": [295, 95, 385, 265], "grid": grid},
                  _written([60, 100, 160, 125])])
    seats = plan.layout.pages[0].seat_bubbles
    assert len(seats) == 40
    assert {p for p, _, _ in seats} == {0, 1, 2, 3}


def test_bank_questions_must_fit_their_region() -> None:
    choice = ChoiceQuestion(id="c1", subject="math", grade=3, stem="s", knowledge_points=KP,
                            kind="choice", key=ChoiceKey(answer="B"),
                            options=[ChoiceOption(label=lb, text=lb) for lb in "ABC"])
    numeric = NumericQuestion(id="n1", subject="math", grade=3, stem="s", knowledge_points=KP,
                              kind="numeric", key=NumericKey(value="5"))
    two = [{"label": "A", "box": [62, 152, 76, 166]}, {"label": "B", "box": [92, 152, 106, 166]}]
    plan = _plan([{"kind": "written", "box": [60, 100, 160, 125], "question_id": "n1"}],
                 {"n1": numeric})
    assert plan.bank is None
    assert plan.question_ids == ["n1"]
    with pytest.raises(TemplateError) as err:
        _plan([{"kind": "bubbles", "box": [60, 150, 200, 170], "bubbles": two,
                "question_id": "c1"}], {"c1": choice})
    assert err.value.error == "question_does_not_fit"  # options A-C, bubbles only A-B
    with pytest.raises(TemplateError) as err:
        _plan([{"kind": "written", "box": [60, 100, 160, 125], "question_id": "nope"}])
    assert err.value.error == "unknown_question"


@pytest.mark.parametrize(("regions", "error"), [
    ([_written([60, 100, 160, 125]), _written([62, 102, 158, 123])], "overlapping_regions"),
    ([_written([500, 100, 700, 125])], "region_outside_page"),
    ([_written([60, 100, 64, 125])], "region_too_small"),
    ([{"kind": "name", "box": [60, 40, 200, 60]}], "no_answer_regions"),
    ([{"kind": "name", "box": [60, 40, 200, 60]}, {"kind": "name", "box": [60, 70, 200, 90]},
      _written([60, 100, 160, 125])], "duplicate_identity"),
    ([{"kind": "bubbles", "box": [60, 150, 200, 170],
       "bubbles": [{"label": "A", "box": [62, 152, 76, 166]},
                   {"label": "B", "box": [300, 152, 314, 166]}],
       "key": {"kind": "choice", "answer": "A", "knowledge_points": KP}}], "bubble_outside"),
    ([{"kind": "bubbles", "box": [60, 150, 200, 170],
       "bubbles": [{"label": "A", "box": [62, 152, 76, 166]},
                   {"label": "B", "box": [92, 152, 106, 166]}],
       "key": {"kind": "choice", "answer": "D", "knowledge_points": KP}}], "key_does_not_fit"),
])
def test_bad_templates_name_the_problem_and_where(regions: list[dict[str, Any]],
                                                   error: str) -> None:
    with pytest.raises(TemplateError) as err:
        _plan(regions)
    assert err.value.error == error
    assert err.value.errors[0]["where"].startswith("pages")


def test_a_page_naming_an_unknown_blank_is_refused() -> None:
    template = TemplateIn.model_validate({"pages": [{"blank_id": 9, "regions": [
        _written([60, 100, 160, 125])]}]})
    with pytest.raises(TemplateError) as err:
        plan_template(template, "t", "A4", 3, {1: A4}, {})
    assert err.value.error == "unknown_blank"
