"""Variant templates: every generated item is verified, deterministic and on topic."""

from __future__ import annotations

import json
import random
import re
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest
import sympy
from pydantic import TypeAdapter

import errorbook.practice.variants.generation as gen_module
from errorbook.practice.variants import (
    TEMPLATES,
    Draft,
    Rejection,
    UnknownTemplateError,
    Variant,
    VariantTemplate,
    generate,
    generate_with_stats,
    kp_relation,
    templates_for,
    verify_draft,
)
from errorbook.practice.variants.columns import multiplication_rhyme
from errorbook.practice.variants.drill_other import decimal_text
from grading.causes import CauseCode
from grading.grade import Verdict
from grading.questions import ArithmeticQuestion, NumericQuestion, Question
from grading.registry import grader_for
from grading.response import Response

BANK = Path(__file__).resolve().parents[2] / "sample_scans" / "question_bank.json"
SEEDS = range(200)
PER_CALL = 3
REQUIRED = {
    "add_carry_once", "add_carry_twice", "sub_borrow", "sub_borrow_zero", "mul_table",
    "mul_one_digit", "div_exact", "div_remainder", "frac_same_denominator",
    "frac_unlike_add", "decimal_add_sub", "word_add", "order_of_operations",
}


def _sympy_value(expression: str) -> sympy.Rational:
    """Evaluate a drill's left-hand side with sympy's own parser (trusted test input only)."""
    text = expression.replace("×", "*").replace("÷", "/")
    assert re.fullmatch(r"[0-9.+\-*/() ]+", text), text
    # Decimals become exact rationals before sympy sees them (no binary floats).
    text = re.sub(r"\d+\.\d+", lambda m: f"Rational('{m.group()}')", text)
    text = re.sub(r"(?<![.\d'])(\d+)(?![.\d'])", r"Integer(\1)", text)
    value = sympy.sympify(text, locals={"Rational": sympy.Rational, "Integer": sympy.Integer})
    assert isinstance(value, sympy.Rational)
    return value


def _all_variants() -> dict[str, list[Variant]]:
    out: dict[str, list[Variant]] = {}
    for tid in TEMPLATES:
        out[tid] = [v for seed in SEEDS for v in generate(tid, random.Random(seed), PER_CALL)]
    return out


@pytest.fixture(scope="module")
def variants() -> dict[str, list[Variant]]:
    return _all_variants()


def test_registry_covers_the_required_templates() -> None:
    assert set(TEMPLATES) >= REQUIRED
    for tid, t in TEMPLATES.items():
        assert t.id == tid
        assert t.drafter is not None
        assert all(isinstance(c, CauseCode) for c in t.causes)


def test_template_kps_exist_in_the_sample_bank_or_under_one_of_its_codes() -> None:
    codes = {k["code"] for k in json.loads(BANK.read_text(encoding="utf-8"))["knowledge_points"]}
    for t in TEMPLATES.values():
        for code in t.knowledge_points:
            assert code in codes or code.rpartition(".")[0] in codes, (t.id, code)


def test_every_call_returns_n_verified_variants_with_distinct_stems(
    variants: dict[str, list[Variant]],
) -> None:
    for tid, items in variants.items():
        assert len(items) == len(SEEDS) * PER_CALL, tid
        for start in range(0, len(items), PER_CALL):
            stems = [v.question.stem for v in items[start : start + PER_CALL]]
            assert len(set(stems)) == PER_CALL, (tid, stems)


def test_every_variant_regrades_right_and_wrong_as_promised(
    variants: dict[str, list[Variant]],
) -> None:
    for tid, items in variants.items():
        template = TEMPLATES[tid]
        for v in items:
            q = v.question
            assert re.fullmatch(rf"v-{tid}-[0-9a-f]{{8}}", q.id)
            assert q.knowledge_points == list(template.knowledge_points)
            assert (q.grade, q.difficulty, q.explanation) == (
                template.grade, template.difficulty, v.explanation)
            grader = grader_for(q)
            right = grader.grade(Response(text=v.answer_text), key_revision=1)
            assert right.verdict is Verdict.CORRECT, (q.stem, v.answer_text)
            wrong = grader.grade(Response(text=v.wrong_answer), key_revision=1)
            assert wrong.verdict is Verdict.INCORRECT, (q.stem, v.wrong_answer)
            assert wrong.cause is (v.wrong_cause or CauseCode.UNKNOWN), (q.stem, v.wrong_answer)
            assert v.wrong_cause is None or v.wrong_cause in template.causes
            assert v.answer_text.rstrip("张页棵本只辆颗") in v.explanation


def test_arithmetic_answers_match_sympy_on_the_printed_stem(
    variants: dict[str, list[Variant]],
) -> None:
    for tid, items in variants.items():
        for v in items:
            q = v.question
            if isinstance(q, NumericQuestion):
                a, b = (int(x) for x in re.findall(r"\d+", q.stem))
                assert sympy.Integer(a) + sympy.Integer(b) == int(q.key.value)
                assert v.answer_text == f"{q.key.value}{q.key.unit}"
                continue
            assert isinstance(q, ArithmeticQuestion)
            lhs, _, rhs = q.stem.partition("=")
            if "……" in rhs:
                a, b = (int(x) for x in re.findall(r"\d+", lhs))
                quotient, remainder = divmod(sympy.Integer(a), sympy.Integer(b))
                assert v.answer_text == f"{quotient}……{remainder}"
                assert 0 < remainder < b
                continue
            value = _sympy_value(lhs)
            written = v.answer_text
            expected = (Fraction(written) if "/" in written or "." in written
                        else Fraction(int(written)))
            assert (value.p, value.q) == (expected.numerator, expected.denominator), (tid, q.stem)


def _digits(n: int) -> list[int]:
    return [int(c) for c in reversed(str(n))]


def _carries(a: int, b: int) -> int:
    count = carry = 0
    for i in range(max(len(str(a)), len(str(b)))):
        da = _digits(a)[i] if i < len(str(a)) else 0
        db = _digits(b)[i] if i < len(str(b)) else 0
        carry = (da + db + carry) // 10
        count += carry
    return count


def _operands(stem: str) -> list[str]:
    return re.findall(r"\d+(?:[./]\d+)?", stem.partition("=")[0])


def test_items_practise_what_their_template_says(variants: dict[str, list[Variant]]) -> None:
    for v in variants["add_carry_once"]:
        a, b = map(int, _operands(v.question.stem))
        assert 10 <= a <= 99
        assert 10 <= b <= 99
        assert _carries(a, b) == 1
        assert a + b < 100
    for v in variants["add_carry_twice"]:
        a, b = map(int, _operands(v.question.stem))
        assert min(a, b) >= 100
        assert _carries(a, b) == 2
        assert a + b < 1000
    for v in variants["sub_borrow"]:
        a, b = map(int, _operands(v.question.stem))
        assert 10 <= b < a <= 99
        assert a % 10 < b % 10
    for v in variants["sub_borrow_zero"]:
        a, b = map(int, _operands(v.question.stem))
        assert 100 <= b < a <= 999
        assert _digits(a)[1] == 0
        assert a % 10 < b % 10
    for v in variants["mul_table"]:
        assert all(2 <= int(x) <= 9 for x in _operands(v.question.stem))
    for v in variants["mul_one_digit"]:
        a, b = map(int, _operands(v.question.stem))
        assert a >= 10
        assert 2 <= b <= 9
        assert int(v.answer_text) - int(v.wrong_answer) in (10, 100)
    for v in variants["div_exact"]:
        a, b = map(int, _operands(v.question.stem))
        assert a % b == 0
        assert 2 <= a // b <= 9
    for v in variants["frac_same_denominator"]:
        dens = {x.split("/")[1] for x in _operands(v.question.stem)}
        assert len(dens) == 1
        assert v.wrong_cause is CauseCode.FRACTION_NOT_SIMPLIFIED
    for v in variants["frac_unlike_add"]:
        (n1, d1), (n2, d2) = (map(int, x.split("/")) for x in _operands(v.question.stem))
        assert d1 != d2
        assert Fraction(n1, d1) + Fraction(n2, d2) == Fraction(v.answer_text)
        assert v.answer_text == f"{Fraction(v.answer_text).numerator}/{Fraction(v.answer_text).denominator}"
    for v in variants["decimal_add_sub"]:
        assert "." in v.answer_text
        assert "." not in v.wrong_answer
    for v in variants["word_add"]:
        q = v.question
        assert isinstance(q, NumericQuestion)
        assert q.key.unit
        assert re.search(r"[\u4e00-\u9fff]{4}", q.stem)
        assert q.stem.endswith("？")
        assert v.wrong_cause is CauseCode.OFF_BY_TEN
    for v in variants["order_of_operations"]:
        ops = re.findall(r"[+\-×÷]", v.question.stem)
        assert len(ops) == 2
        assert v.wrong_cause is None


def test_same_seed_same_variants_other_seed_other_variants() -> None:
    for tid in TEMPLATES:
        first = generate(tid, random.Random(7), 5)
        again = generate(tid, random.Random(7), 5)
        other = generate(tid, random.Random(8), 5)
        assert [(v.question.id, v.answer_text, v.wrong_answer) for v in first] == [
            (v.question.id, v.answer_text, v.wrong_answer) for v in again]
        assert [v.question.id for v in first] != [v.question.id for v in other]


def test_excluded_stems_are_never_produced() -> None:
    for tid in TEMPLATES:
        first = generate(tid, random.Random(3), 6)
        excluded = {v.question.stem for v in first}
        # Spacing and full-width forms do not sneak an excluded stem back in.
        excluded_spaced = {s.replace(" ", "") for s in excluded}
        again = generate(tid, random.Random(3), 6, exclude_stems=excluded_spaced)
        assert len(again) == 6
        assert not excluded & {v.question.stem for v in again}


def test_a_small_template_runs_out_instead_of_repeating() -> None:
    result = generate_with_stats("mul_table", random.Random(0), 100)
    stems = [v.question.stem for v in result.variants]
    assert 50 <= len(stems) <= 64
    assert len(set(stems)) == len(stems)
    assert result.stats.duplicates > 0
    assert result.stats.attempts <= 100 * gen_module.ATTEMPTS_PER_VARIANT


def test_variant_questions_round_trip_through_the_question_union() -> None:
    adapter: TypeAdapter[Question] = TypeAdapter(Question)
    for tid in TEMPLATES:
        for v in generate(tid, random.Random(11), 2):
            again = adapter.validate_json(v.question.model_dump_json())
            assert again == v.question


def test_unknown_template_and_negative_n_are_clear_errors() -> None:
    with pytest.raises(UnknownTemplateError, match="add_carry_once"):
        generate("no_such", random.Random(0), 1)
    with pytest.raises(ValueError, match="0 or more"):
        generate("mul_table", random.Random(0), -1)
    assert generate("mul_table", random.Random(0), 0) == []


def _draft(**changes: object) -> Draft:
    base = Draft("37 + 48 =", ("+", "37", "48"), Fraction(85), "85", "75",
                 CauseCode.FORGOT_CARRY, "…")
    return replace(base, **changes)  # type: ignore[arg-type]


def _build(d: Draft) -> ArithmeticQuestion:
    return ArithmeticQuestion(id="v-test-00000000", kind="arithmetic", subject="math", grade=2,
                              stem=d.stem, knowledge_points=["math.add.carry"])


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({}, None),
        ({"formula": ("+", "37", "49")}, Rejection.KEY_MISMATCH),
        ({"answer": Fraction(86)}, Rejection.KEY_MISMATCH),
        ({"stem": "37 + 49 ="}, Rejection.KEY_MISMATCH),
        ({"answer_text": "84"}, Rejection.ANSWER_MISMATCH),
        ({"answer_text": "八十五"}, Rejection.ANSWER_MISMATCH),
        ({"wrong_answer": "085"}, Rejection.WRONG_NOT_INCORRECT),
        ({"wrong_answer": "85"}, Rejection.WRONG_NOT_INCORRECT),
        ({"wrong_cause": CauseCode.FORGOT_BORROW}, Rejection.WRONG_CAUSE_MISMATCH),
        ({"wrong_answer": "58", "wrong_cause": None}, Rejection.WRONG_CAUSE_MISMATCH),
        ({"wrong_answer": "81", "wrong_cause": None}, None),
        ({"stem": "37 + + 48 ="}, Rejection.INVALID_QUESTION),
    ],
)
def test_verification_names_the_failed_check(changes: dict[str, object],
                                             why: Rejection | None) -> None:
    d = _draft(**changes)
    question, rejected = verify_draft(d, lambda: _build(d))
    assert rejected is why
    assert (question is None) == (why is not None)


def test_generate_discards_and_counts_drafts_that_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    real = TEMPLATES["add_carry_once"]
    assert real.drafter is not None
    honest = real.drafter

    def sloppy(rng: random.Random) -> Draft:
        d = honest(rng)
        # Every other draft claims an answer one too big: a defect verification must catch.
        if rng.random() < 0.5:
            return replace(d, answer=d.answer + 1, answer_text=str(d.answer + 1))
        return d

    broken = VariantTemplate("sloppy", real.knowledge_points, real.causes, 2, 1, drafter=sloppy)
    monkeypatch.setattr(gen_module, "TEMPLATES", {"sloppy": broken})
    result = generate_with_stats("sloppy", random.Random(5), 30)
    assert len(result.variants) == 30
    assert result.stats.rejected.get("key_mismatch", 0) > 5
    for v in result.variants:
        stem = v.question.stem.rstrip("= ")
        assert int(v.answer_text) == _sympy_value(stem)


def test_kp_relation_levels() -> None:
    assert kp_relation("math.add.carry", "math.add.carry") == 0
    assert kp_relation("math.add", "math.add.carry") == 1
    assert kp_relation("math.add.carry", "math.add") == 2
    assert kp_relation("math.add.carry", "math.add.nocarry") is None
    assert kp_relation("math.add", "math.addition") is None


def test_templates_for_matches_codes_parents_and_children() -> None:
    ids = [t.id for t in templates_for(["math.add.carry"])]
    assert set(ids) == {"add_carry_once", "add_carry_twice", "word_add"}
    assert [t.id for t in templates_for(["math.sub"])] == ["sub_borrow", "sub_borrow_zero"]
    assert {t.id for t in templates_for(["math.frac"])} == {
        "frac_same_denominator", "frac_unlike_add"}
    # A finer code than any template's still finds its parent's templates.
    assert [t.id for t in templates_for(["math.div.remainder.word"])] == ["div_remainder"]
    assert templates_for(["math.add.nocarry"]) == []
    assert templates_for(["chinese.pinyin.tone"]) == []


def test_templates_for_prefers_the_diagnosed_cause() -> None:
    kps = ["math.add.carry", "math.decimal.add_sub"]
    assert [t.id for t in templates_for(kps)] == [
        "add_carry_once", "add_carry_twice", "decimal_add_sub", "word_add"]
    by_cause = [t.id for t in templates_for(kps, CauseCode.PLACE_VALUE)]
    assert by_cause == ["decimal_add_sub", "add_carry_once", "add_carry_twice", "word_add"]
    plain = [t.id for t in templates_for(["math.mul"])]
    assert plain.index("mul_table") < plain.index("mul_one_digit")
    assert templates_for(["math.mul"], CauseCode.OFF_BY_TEN)[0].id == "mul_one_digit"
    # After the cause, the closer KP relation beats a lower difficulty.
    closer = [t.id for t in templates_for(["math.add", "math.sub.borrow_zero"])]
    assert closer == ["sub_borrow_zero", "add_carry_once", "add_carry_twice", "word_add"]


def test_helpers_write_what_a_teacher_writes() -> None:
    assert multiplication_rhyme(7, 3) == "三七二十一"
    assert multiplication_rhyme(2, 5) == "二五一十"
    assert multiplication_rhyme(2, 6) == "二六十二"
    assert multiplication_rhyme(3, 3) == "三三得九"
    assert multiplication_rhyme(9, 9) == "九九八十一"
    assert decimal_text(Fraction(345, 100)) == "3.45"
    assert decimal_text(Fraction(63, 10)) == "6.3"
    assert decimal_text(Fraction(6)) == "6"
    assert decimal_text(Fraction(-5, 100)) == "-0.05"
    with pytest.raises(ValueError, match="1/3 has no short decimal form"):
        decimal_text(Fraction(1, 3))
