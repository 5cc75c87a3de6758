"""Question and answer-key types: the contract shared by the bank, printing and grading.

A question is a pydantic model discriminated by ``kind``. Each kind carries its own typed
``key`` (the answer key; for ``short_answer`` the key *is* the rubric of scoring points).
Kind-specific scoring options (negative marking, multi-choice partial credit, tolerances,
typo tolerance) live in the key too, so one revisioned object says how an answer is graded.

The JSON file format built on these types is documented in ``docs/question-format.md``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from grading.arithmetic_stem import ArithmeticStemError, parse_arithmetic_stem
from grading.math_lex import MathParseError
from grading.math_parse import parse_math

__all__ = [
    "QUESTION_KINDS",
    "ArithmeticKey",
    "ArithmeticQuestion",
    "ChoiceKey",
    "ChoiceOption",
    "ChoiceQuestion",
    "KnowledgePoint",
    "MathExprKey",
    "MathExprQuestion",
    "MultiChoiceKey",
    "MultiChoiceQuestion",
    "NumericKey",
    "NumericQuestion",
    "Question",
    "RubricPoint",
    "ShortAnswerKey",
    "ShortAnswerQuestion",
    "Subject",
    "TextBlank",
    "TextKey",
    "TextQuestion",
    "TrueFalseKey",
    "TrueFalseQuestion",
    "expected_answer_chars",
]

Subject = Literal["math", "chinese", "english", "science", "other"]

KP_CODE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
QUESTION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CHOICE_LABEL_PATTERN = r"^[A-H]$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class KnowledgePoint(_Strict):
    """A node of the knowledge-point (知识点) hierarchy; the parent is the code's prefix."""

    code: str = Field(pattern=KP_CODE_PATTERN, max_length=128, description="e.g. math.add.carry")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(default="", max_length=200)

    @property
    def parent_code(self) -> str | None:
        """The code one level up (``math.add`` for ``math.add.carry``), or None at the top."""
        head, _, _ = self.code.rpartition(".")
        return head or None


# ---------------------------------------------------------------------------- keys


class ChoiceOption(_Strict):
    label: str = Field(pattern=CHOICE_LABEL_PATTERN, description="A to H")
    text: str = Field(min_length=1, max_length=500)


class ChoiceKey(_Strict):
    """Single choice: one right label; optional misconception per distractor."""

    answer: str = Field(pattern=CHOICE_LABEL_PATTERN)
    misconceptions: dict[str, str] = Field(
        default_factory=dict,
        description="distractor label -> misconception shown as the error cause",
    )
    negative_marking: float = Field(
        default=0.0, ge=0.0, le=1.0, description="share of the score taken off for a wrong pick"
    )


class MultiChoiceKey(_Strict):
    answers: list[str] = Field(min_length=1)
    scoring: Literal["all_or_nothing", "per_option", "half_for_subset"] = "all_or_nothing"
    misconceptions: dict[str, str] = Field(
        default_factory=dict,
        description="wrong option label -> misconception shown as the error cause",
    )

    @field_validator("answers")
    @classmethod
    def _labels(cls, v: list[str]) -> list[str]:
        for label in v:
            if not re.fullmatch(CHOICE_LABEL_PATTERN, label):
                raise ValueError(f"'{label}' is not a choice label A-H")
        if len(set(v)) != len(v):
            raise ValueError("answers repeat a label")
        return v


class TrueFalseKey(_Strict):
    answer: bool


class NumericKey(_Strict):
    """A number, fraction, mixed number, percentage or quantity with a unit."""

    value: str = Field(min_length=1, max_length=64, description="canonical answer, e.g. 7/8")
    alternatives: list[str] = Field(default_factory=list, description="other accepted answers")
    unit: str | None = Field(default=None, max_length=16, description="unit of value, e.g. 厘米")
    convert_units: bool = Field(default=False, description="accept 1.5米 for 150厘米")
    tolerance_abs: float = Field(default=0.0, ge=0.0)
    tolerance_rel: float = Field(default=0.0, ge=0.0, le=1.0)
    simplest_form: bool = Field(default=False, description="fractions must be fully reduced")
    unsimplified_credit: float = Field(
        default=0.0, ge=0.0, le=1.0,
        description="share of the score for a right value not in simplest form",
    )


class TextBlank(_Strict):
    accept: list[str] = Field(min_length=1, description="accepted answers for this blank")
    pinyin: bool = Field(default=False, description="compare as pinyin: lǜ = lv4 = lü4")
    ignore_tones: bool = Field(
        default=False, description="pinyin blanks: accept the right letters without tones"
    )


class TextKey(_Strict):
    blanks: list[TextBlank] = Field(min_length=1, max_length=20)
    ordered: bool = True
    allow_one_typo: bool = Field(default=False, description="tolerate one wrong character")


class MathExprKey(_Strict):
    answer: str = Field(min_length=1, max_length=200, description="expression, equation or set")
    variables: list[str] = Field(default_factory=list)


class ArithmeticKey(_Strict):
    """The key of an arithmetic item is computed from its stem; nothing needs to be given."""

    expression: str | None = Field(
        default=None, description="override the expression parsed from the stem"
    )
    simplest_form: bool = Field(
        default=True, description="fraction results must be fully reduced (最简分数)"
    )


class RubricPoint(_Strict):
    id: str = Field(min_length=1, max_length=32)
    description: str = Field(min_length=1, max_length=300)
    keywords: list[str] = Field(min_length=1, description="any of these meets the point")
    required: list[str] = Field(default_factory=list, description="phrases all required")
    points: float = Field(gt=0)


class ShortAnswerKey(_Strict):
    points: list[RubricPoint] = Field(min_length=1, max_length=20)
    sample_answer: str = ""


# ---------------------------------------------------------------------------- questions


# Model-level validators word their errors "field: message" so the bank parser can report
# the field (pydantic locates them at the question itself).
class _QuestionBase(_Strict):
    id: str = Field(pattern=QUESTION_ID_PATTERN, description="stable id within the bank")
    subject: Subject
    grade: int = Field(ge=1, le=12)
    stem: str = Field(min_length=1, max_length=2000)
    knowledge_points: list[str] = Field(min_length=1, max_length=10)
    difficulty: int = Field(default=3, ge=1, le=5, description="1 easiest .. 5 hardest")
    explanation: str = Field(default="", max_length=4000)
    source: str = Field(default="", max_length=200)
    score: float = Field(default=1.0, gt=0, le=100)
    answer_chars: int | None = Field(
        default=None, ge=1, le=40, description="expected answer length; sizes the answer box"
    )

    @field_validator("knowledge_points")
    @classmethod
    def _kp_codes(cls, v: list[str]) -> list[str]:
        for code in v:
            if not re.fullmatch(KP_CODE_PATTERN, code):
                raise ValueError(f"'{code}' is not a knowledge-point code like math.add.carry")
        return v


class _WithOptions(_QuestionBase):
    options: list[ChoiceOption] = Field(min_length=2, max_length=8)

    @field_validator("options")
    @classmethod
    def _unique_labels(cls, v: list[ChoiceOption]) -> list[ChoiceOption]:
        labels = [o.label for o in v]
        if len(set(labels)) != len(labels):
            raise ValueError("option labels repeat")
        return v

    def option_labels(self) -> list[str]:
        return [o.label for o in self.options]


class ChoiceQuestion(_WithOptions):
    kind: Literal["choice"]
    key: ChoiceKey

    @model_validator(mode="after")
    def _key_in_options(self) -> ChoiceQuestion:
        labels = self.option_labels()
        if self.key.answer not in labels:
            raise ValueError(f"key.answer: '{self.key.answer}' is not one of the options {labels}")
        unknown = set(self.key.misconceptions) - set(labels)
        if unknown:
            raise ValueError(f"key.misconceptions: unknown options {sorted(unknown)}")
        return self


class MultiChoiceQuestion(_WithOptions):
    kind: Literal["multi_choice"]
    key: MultiChoiceKey

    @model_validator(mode="after")
    def _keys_in_options(self) -> MultiChoiceQuestion:
        unknown = set(self.key.answers) - set(self.option_labels())
        if unknown:
            raise ValueError(f"key.answers: unknown options {sorted(unknown)}")
        return self


class TrueFalseQuestion(_QuestionBase):
    kind: Literal["true_false"]
    key: TrueFalseKey


class NumericQuestion(_QuestionBase):
    kind: Literal["numeric"]
    key: NumericKey


class TextQuestion(_QuestionBase):
    kind: Literal["text"]
    key: TextKey


class MathExprQuestion(_QuestionBase):
    kind: Literal["math_expr"]
    key: MathExprKey

    @model_validator(mode="after")
    def _key_parses(self) -> MathExprQuestion:
        # A key the grader's parser refuses would fail every answer at grading and review
        # time: it is refused at import instead.
        try:
            parse_math(self.key.answer)
        except MathParseError as exc:
            raise ValueError(f"key.answer: {exc}") from exc
        return self


class ArithmeticQuestion(_QuestionBase):
    kind: Literal["arithmetic"]
    key: ArithmeticKey = Field(default_factory=ArithmeticKey)

    @model_validator(mode="after")
    def _stem_computes(self) -> ArithmeticQuestion:
        source = self.key.expression or self.stem
        try:
            parse_arithmetic_stem(source)
        except ArithmeticStemError as exc:
            field = "key.expression" if self.key.expression else "stem"
            raise ValueError(f"{field}: {exc}") from exc
        return self


class ShortAnswerQuestion(_QuestionBase):
    kind: Literal["short_answer"]
    key: ShortAnswerKey

    @model_validator(mode="after")
    def _score_matches_rubric(self) -> ShortAnswerQuestion:
        total = sum(p.points for p in self.key.points)
        if abs(total - self.score) > 1e-9:
            raise ValueError(f"score: rubric points add up to {total:g} but score is {self.score:g}")
        return self


Question = Annotated[
    ChoiceQuestion
    | MultiChoiceQuestion
    | TrueFalseQuestion
    | NumericQuestion
    | TextQuestion
    | MathExprQuestion
    | ArithmeticQuestion
    | ShortAnswerQuestion,
    Field(discriminator="kind"),
]

QUESTION_KINDS: tuple[str, ...] = (
    "choice",
    "multi_choice",
    "true_false",
    "numeric",
    "text",
    "math_expr",
    "arithmetic",
    "short_answer",
)


def expected_answer_chars(question: _QuestionBase) -> int:
    """How many characters the answer box of a written answer should hold.

    Args:
        question: any written-answer question (numeric, text, math_expr, arithmetic).

    Returns:
        ``answer_chars`` if the bank gives it, else a length derived from the key with
        room for one extra character (students write ``-`` or a unit).
    """
    if question.answer_chars:
        return question.answer_chars
    if isinstance(question, NumericQuestion):
        longest = max([question.key.value, *question.key.alternatives], key=len)
        return len(longest) + (len(question.key.unit) if question.key.unit else 0) + 1
    if isinstance(question, ArithmeticQuestion):
        stem = parse_arithmetic_stem(question.key.expression or question.stem)
        return len(stem.answer_text()) + 1
    if isinstance(question, MathExprQuestion):
        return len(question.key.answer) + 2
    if isinstance(question, TextQuestion):
        return max(len(a) for b in question.key.blanks for a in b.accept) + 1
    return 4
