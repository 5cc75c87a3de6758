"""Tests of the auto/needs_review decision."""

from __future__ import annotations

import pytest

from grading.arithmetic import ArithmeticGrader
from grading.choice import ChoiceGrader
from grading.grade import Verdict
from grading.numeric import NumericGrader
from grading.response import Alternative, Marks, Response, ResponseStatus
from grading.review_policy import (
    PolicySet,
    ReviewPolicy,
    decide,
    grade_response,
    hinges_on_confusables,
)

from .conftest import arithmetic, choice, numeric

GRADER = ArithmeticGrader(arithmetic("37 + 48 ="))
# The mechanism tests below use round numbers against the first, stricter settings; the
# calibrated defaults have their own test.
CLASSIC = ReviewPolicy(accept_threshold=0.95, alt_floor=0.05, upgrade_floor=None)


def alt(text: str, p: float) -> Alternative:
    return Alternative(text=text, probability=p)


def test_confident_unambiguous_reading_is_automatic() -> None:
    grade = decide(GRADER, Response(text="85", confidence=0.99), key_revision=4)
    assert grade.auto
    assert grade.verdict is Verdict.CORRECT
    assert grade.confidence == 0.99
    assert grade.key_revision == 4


def test_correct_best_with_plausible_wrong_alternative_asks() -> None:
    r = Response(text="85", confidence=0.97, alternatives=(alt("65", 0.12),))
    grade = decide(GRADER, r, key_revision=1, policy=CLASSIC)
    assert grade.verdict is Verdict.NEEDS_REVIEW
    assert grade.score is None
    assert not grade.auto
    assert grade.suggested_verdict is Verdict.CORRECT
    assert grade.suggested_score == 1.0
    assert "65" in grade.reason_zh
    assert "85" in grade.reason_zh


def test_wrong_best_with_plausible_correct_alternative_asks() -> None:
    r = Response(text="65", confidence=0.97, alternatives=(alt("85", 0.2),))
    grade = decide(GRADER, r, key_revision=1)
    assert grade.verdict is Verdict.NEEDS_REVIEW
    assert grade.suggested_verdict is Verdict.INCORRECT


def test_alternative_below_floor_is_ignored() -> None:
    r = Response(text="85", confidence=0.97, alternatives=(alt("65", 0.02),))
    assert decide(GRADER, r, key_revision=1).auto


def test_faint_right_reading_behind_a_wrong_one_asks_under_an_upgrade_floor() -> None:
    # "65" read, the key "85" at 1%: below the plain floor, above the upgrade floor.
    r = Response(text="65", confidence=0.97, alternatives=(alt("85", 0.01), alt("35", 0.01)))
    assert decide(GRADER, r, key_revision=1, policy=ReviewPolicy(alt_floor=0.1, upgrade_floor=None)).auto
    policy = ReviewPolicy(alt_floor=0.1, upgrade_floor=0.005)
    grade = decide(GRADER, r, key_revision=1, policy=policy)
    assert grade.verdict is Verdict.NEEDS_REVIEW
    assert "85" in grade.reason_zh
    # It never lowers the floor for readings that would earn less: a right best reading
    # with a faint wrong one stays automatic.
    right = Response(text="85", confidence=0.97, alternatives=(alt("65", 0.01),))
    assert decide(GRADER, right, key_revision=1, policy=policy).auto
    with pytest.raises(ValueError, match="upgrade_floor"):
        ReviewPolicy(upgrade_floor=1.5)


def test_calibrated_defaults() -> None:
    policy = ReviewPolicy()
    assert (policy.accept_threshold, policy.alt_floor, policy.upgrade_floor) == (0.5, 0.3, 0.005)
    # A right reading with a 12% wrong alternative stands; at 35% it asks.
    assert decide(GRADER, Response(text="85", confidence=0.85,
                                   alternatives=(alt("65", 0.12),)), key_revision=1).auto
    asks = decide(GRADER, Response(text="85", confidence=0.6, alternatives=(alt("65", 0.35),)),
                  key_revision=1)
    assert asks.verdict is Verdict.NEEDS_REVIEW
    # A wrong reading with the key at 1% behind it asks; below even odds it asks too.
    faint_key = Response(text="65", confidence=0.97, alternatives=(alt("85", 0.01),))
    assert decide(GRADER, faint_key, key_revision=1).verdict is Verdict.NEEDS_REVIEW
    unsure = decide(GRADER, Response(text="85", confidence=0.45), key_revision=1)
    assert unsure.verdict is Verdict.NEEDS_REVIEW
    assert "45%" in unsure.reason_zh


def test_agreeing_alternatives_add_confidence() -> None:
    # Both readings are wrong answers worth 0: the verdict is sure even if the digits are not.
    r = Response(text="65", confidence=0.6, alternatives=(alt("66", 0.38),))
    grade = decide(GRADER, r, key_revision=1)
    assert grade.auto
    assert grade.verdict is Verdict.INCORRECT
    assert grade.confidence == pytest.approx(0.98)


def test_a_reading_floor_asks_about_an_unsure_reading_behind_a_sure_wrong_verdict() -> None:
    # "65" or "66": wrong either way, but the error book prints what the child wrote.
    r = Response(text="65", confidence=0.6, alternatives=(alt("66", 0.38),))
    grade = decide(GRADER, r, key_revision=1, policy=ReviewPolicy(reading_floor=0.9))
    assert grade.verdict is Verdict.NEEDS_REVIEW
    assert grade.suggested_verdict is Verdict.INCORRECT
    assert "65" in grade.reason_zh
    assert "60%" in grade.reason_zh
    # A sure reading of the same wrong answer stays automatic.
    sure = Response(text="65", confidence=0.95)
    assert decide(GRADER, sure, key_revision=1, policy=ReviewPolicy(reading_floor=0.9)).auto


def test_a_reading_floor_leaves_right_answers_and_blanks_alone() -> None:
    floor = ReviewPolicy(reading_floor=0.99)
    right = Response(text="85", confidence=0.6, alternatives=(alt("85", 0.6),))
    assert decide(GRADER, right, key_revision=1, policy=floor).auto
    blank = Response(text="", status=ResponseStatus.BLANK, confidence=0.9)
    assert decide(GRADER, blank, key_revision=1, policy=floor).auto


def test_best_listed_among_alternatives_is_counted_once() -> None:
    r = Response(text="85", confidence=0.9, alternatives=(alt("85", 0.96), alt("35", 0.01)))
    grade = decide(GRADER, r, key_revision=1)
    assert grade.auto
    assert grade.confidence == pytest.approx(0.96)


def test_low_confidence_asks_even_without_alternatives() -> None:
    grade = decide(GRADER, Response(text="85", confidence=0.8), key_revision=1, policy=CLASSIC)
    assert grade.verdict is Verdict.NEEDS_REVIEW
    assert "80%" in grade.reason_zh


def test_threshold_is_a_setting() -> None:
    relaxed = ReviewPolicy(accept_threshold=0.75)
    assert decide(GRADER, Response(text="85", confidence=0.8), key_revision=1, policy=relaxed).auto


@pytest.mark.parametrize(
    "bad", [{"accept_threshold": 1.5}, {"alt_floor": -0.1}, {"reading_floor": 1.01},
            {"mark_low": 0.7, "mark_high": 0.6}]
)
def test_policy_validates(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]|mark_low must not exceed mark_high"):
        ReviewPolicy(**bad)


@pytest.mark.parametrize(
    "status", [ResponseStatus.UNREADABLE, ResponseStatus.ENGINE_ERROR, ResponseStatus.MISALIGNED]
)
def test_failures_always_go_to_review(status: ResponseStatus) -> None:
    grade = decide(GRADER, Response(status=status, confidence=1.0), key_revision=1)
    assert grade.verdict is Verdict.NEEDS_REVIEW
    assert grade.score is None


def test_confident_blank_scores_zero_automatically() -> None:
    grade = decide(GRADER, Response(status=ResponseStatus.BLANK, confidence=0.99), key_revision=1)
    assert grade.auto
    assert grade.verdict is Verdict.BLANK
    assert grade.score == 0.0


def test_blank_with_plausible_writing_asks() -> None:
    r = Response(status=ResponseStatus.BLANK, confidence=0.9, alternatives=(alt("85", 0.1),))
    assert decide(GRADER, r, key_revision=1).verdict is Verdict.NEEDS_REVIEW


def test_ok_status_with_no_text_is_not_a_blank() -> None:
    grade = decide(GRADER, Response(text="  ", confidence=0.99), key_revision=1)
    assert grade.verdict is Verdict.NEEDS_REVIEW


def test_teacher_answers_are_final() -> None:
    grade = decide(GRADER, Response.typed("85"), key_revision=1)
    assert grade.auto
    assert grade.confidence == 1.0


def test_ambiguous_mark_that_changes_the_grade_asks() -> None:
    grader = ChoiceGrader(choice("B"))
    marks = Marks(fill={"A": 0.03, "B": 0.88, "C": 0.41, "D": 0.02}, marked=("B",))
    grade = decide(grader, Response(marks=marks, confidence=0.99), key_revision=1)
    assert grade.verdict is Verdict.NEEDS_REVIEW


def test_clear_marks_are_automatic() -> None:
    grader = ChoiceGrader(choice("B"))
    marks = Marks(fill={"A": 0.03, "B": 0.88, "C": 0.1, "D": 0.02}, marked=("B",))
    assert decide(grader, Response(marks=marks, confidence=0.99), key_revision=1).auto


def test_equivalent_readings_agree() -> None:
    # "7/8" and "0.875" are different strings but the same grade: no reason to ask.
    grader = NumericGrader(numeric("0.875"))
    r = Response(text="7/8", confidence=0.9, alternatives=(alt("0.875", 0.08),))
    grade = decide(grader, r, key_revision=1, policy=CLASSIC)
    assert grade.auto
    assert grade.confidence == pytest.approx(0.98)


def test_grade_response_uses_the_registry() -> None:
    grade = grade_response(numeric("12"), Response.typed("12"), key_revision=2)
    assert grade.kind == "numeric"
    assert grade.verdict is Verdict.CORRECT


def test_alternatives_may_be_given_as_pairs() -> None:
    r = Response.model_validate({"text": "85", "confidence": 0.97, "alternatives": [["65", 0.12]]})
    assert r.alternatives == (Alternative(text="65", probability=0.12),)
    assert decide(GRADER, r, key_revision=1, policy=CLASSIC).verdict is Verdict.NEEDS_REVIEW


def test_maths_alternatives_are_graded_too(checker: object) -> None:
    from grading.math_expr import MathChecker, MathExprGrader

    from .conftest import math_expr

    assert isinstance(checker, MathChecker)
    grader = MathExprGrader(math_expr("2x+1"), checker)
    agree = Response(text="2x+1", confidence=0.9, alternatives=(alt("1+2x", 0.08),))
    assert decide(grader, agree, key_revision=1, policy=CLASSIC).auto
    clash = Response(text="2x+1", confidence=0.9, alternatives=(alt("2x-1", 0.08),))
    assert decide(grader, clash, key_revision=1, policy=CLASSIC).verdict is Verdict.NEEDS_REVIEW


@pytest.mark.parametrize(("a", "b", "hinges"), [
    ("74", "14", True), ("19", "14", True), ("65", "55", True), ("60", "66", True),
    ("1/2", "112", True), ("25", "2.5", True), ("5", "-5", True), ("3/4", "3/4", False),
    ("75", "14", False), ("38", "33", False), ("14", "140", False), ("12", "13", False),
])
def test_a_mismatch_hinges_on_confusables_only_through_confusable_glyphs(
        a: str, b: str, hinges: bool) -> None:
    assert hinges_on_confusables(a, b) is hinges
    assert hinges_on_confusables(b, a) is hinges


GRADER_14 = ArithmeticGrader(arithmetic("7 + 7 ="))
VERIFYING = ReviewPolicy(upgrade_floor=0.002, confusable_floor=1e-5)


def test_a_wrong_verdict_on_a_confusable_glyph_needs_the_key_implausible() -> None:
    # "74" read, the key "14" at 0.01%: under the upgrade floor, over the confusable one.
    r = Response(text="74", confidence=0.99, alternatives=(alt("14", 1e-4),))
    grade = decide(GRADER_14, r, key_revision=1, policy=VERIFYING)
    assert grade.verdict is Verdict.NEEDS_REVIEW
    assert grade.suggested_verdict is Verdict.INCORRECT
    assert "可能是“14”也可能是“74”" in grade.reason_zh
    assert "7 和 1" in grade.reason_zh
    assert "could be '14' or '74'" in grade.reason_en
    # Implausible by the margin: the verdict stands.
    r = Response(text="74", confidence=0.99, alternatives=(alt("14", 1e-6),))
    assert decide(GRADER_14, r, key_revision=1, policy=VERIFYING).verdict is Verdict.INCORRECT


def test_a_mismatch_on_ordinary_glyphs_keeps_the_upgrade_floor() -> None:
    # "12" against the key "14": 2 and 4 are not confusable, so 0.01% is not enough.
    r = Response(text="12", confidence=0.99, alternatives=(alt("14", 1e-4),))
    grade = decide(GRADER_14, r, key_revision=1, policy=VERIFYING)
    assert grade.auto
    assert grade.verdict is Verdict.INCORRECT
    r = Response(text="12", confidence=0.99, alternatives=(alt("14", 0.003),))
    grade = decide(GRADER_14, r, key_revision=1, policy=VERIFYING)
    assert grade.verdict is Verdict.NEEDS_REVIEW
    assert "读作“12”判为" in grade.reason_zh
    assert "（<1%）" in grade.reason_zh


def test_a_lost_minus_is_named_in_the_reason() -> None:
    grader = ArithmeticGrader(arithmetic("3 - 8 ="))
    r = Response(text="5", confidence=0.99, alternatives=(alt("-5", 1e-4),))
    grade = decide(grader, r, key_revision=1, policy=VERIFYING)
    assert grade.verdict is Verdict.NEEDS_REVIEW
    assert "负号" in grade.reason_zh
    assert "a minus sign" in grade.reason_en


POLICY_FILE = {
    "version": 3,
    "fitted_on": "calibration writers",
    "formats": {
        "numerals": {"kinds": ["arithmetic", "numeric"], "accept_threshold": 0.7,
                     "upgrade_floor": 0.001, "confusable_floor": 1e-5},
        "rest": {"kinds": "*", "accept_threshold": 0.95, "alt_floor": 0.05},
    },
}


def test_a_policy_file_gives_each_kind_its_policy() -> None:
    policies = PolicySet.from_json(POLICY_FILE)
    assert policies.version == 3
    assert policies.fitted_on == "calibration writers"
    assert policies.for_kind("numeric") == ReviewPolicy(accept_threshold=0.7, upgrade_floor=0.001,
                                                        confusable_floor=1e-5)
    assert policies.for_kind("short_answer") == ReviewPolicy(accept_threshold=0.95,
                                                             alt_floor=0.05)


@pytest.mark.parametrize(("change", "message"), [
    ({"rest": None}, "kinds"),
    ({"again": {"kinds": ["numeric"]}}, "two formats"),
    ({"numerals": {"kinds": ["numeric"], "threshold": 0.5}}, "unknown fields"),
    ({"numerals": {"kinds": ["numeric"], "accept_threshold": 2}}, "accept_threshold"),
])
def test_a_bad_policy_file_is_refused(change: dict[str, object], message: str) -> None:
    formats = {k: v for k, v in {**POLICY_FILE["formats"], **change}.items()  # type: ignore[dict-item]
               if v is not None}
    with pytest.raises(ValueError, match=message):
        PolicySet.from_json({**POLICY_FILE, "formats": formats})


def test_the_shipped_policy_file_parses_and_covers_every_kind() -> None:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "models" / "review_policy.json"
    policies = PolicySet.from_json(json.loads(path.read_text("utf-8")))
    assert {"arithmetic", "numeric", "choice", "true_false"} <= set(policies.by_kind)
    assert policies.default.accept_threshold >= 0.9  # free handwriting stays strict
