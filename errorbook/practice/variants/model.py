"""The value types of variant generation: templates, drafts and the variants they become.

A *template* names a family of items (two-digit addition with one carry, division with a
remainder, …), the knowledge points and error causes it practises, and a *drafter*: a
function that draws one concrete item from a ``random.Random``. A drafter returns a
:class:`Draft` (the stem, the operation tree it was built from, its own answer, the typical
wrong answer and why). A draft becomes a :class:`Variant` only after independent
verification (see :mod:`errorbook.practice.variants.verify`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Union

from grading.causes import CauseCode
from grading.questions import ArithmeticQuestion, NumericQuestion

__all__ = ["Draft", "Drafter", "Formula", "Variant", "VariantQuestion", "VariantTemplate"]

# An operation tree over decimal/fraction literals such as ("+", "36", ("*", "4", "5")).
# Leaves are the literal text the stem shows; the verifier evaluates them with sympy, so a
# rendering slip in the stem cannot hide behind a shared computation.
Formula = Union[str, tuple[str, "Formula", "Formula"]]  # noqa: UP007 (recursive alias)

#: The question models variants are built as (both validated grading models).
VariantQuestion = ArithmeticQuestion | NumericQuestion


@dataclass(frozen=True)
class Draft:
    """One drawn item before verification.

    Attributes:
        stem: the question text (a drill stem such as ``37 + 48 =`` or a Chinese word problem).
        formula: the operation tree the item was drawn from (``/`` is exact division; for a
            remainder item the tree is ``("/", dividend, divisor)``).
        answer: the drafter's own exact value (the quotient for a remainder item).
        answer_text: the right answer as a student writes it (``85``, ``3……2``, ``63张``).
        wrong_answer: the typical wrong answer for ``wrong_cause``.
        wrong_cause: the cause the grader should diagnose for ``wrong_answer``; None when
            no cause code describes the slip (the grader must then say ``unknown``).
        explanation: worked solution in Chinese, ending with the typical mistake.
        remainder: the drafter's remainder for a quotient-and-remainder item, else None.
        unit: the answer's unit for a word problem (built as a numeric question), else None.
    """

    stem: str
    formula: Formula
    answer: Fraction
    answer_text: str
    wrong_answer: str
    wrong_cause: CauseCode | None
    explanation: str
    remainder: int | None = None
    unit: str | None = None


Drafter = Callable[[random.Random], Draft]


@dataclass(frozen=True)
class VariantTemplate:
    """A family of generated variant questions (变式题).

    Attributes:
        id: stable template id, e.g. ``add_carry_once``; part of every variant's id.
        knowledge_points: the KP codes its items practise.
        causes: the error causes its items practise (a student who made one of these
            slips is offered this template first); may be empty.
        grade: the school grade the items suit (1..12).
        difficulty: 1 easiest .. 5 hardest, the bank's scale.
        title_zh, title_en: a short human name for lists and docs.
        drafter: draws one unverified item; never called directly, use ``generate``.
    """

    id: str
    knowledge_points: tuple[str, ...]
    causes: tuple[CauseCode, ...]
    grade: int
    difficulty: int
    title_zh: str = ""
    title_en: str = ""
    drafter: Drafter | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Catch a mistyped registry entry at import, not when a student needs a variant.
        if not 1 <= self.difficulty <= 5:
            raise ValueError(f"template {self.id}: difficulty {self.difficulty} not in 1..5")
        if not 1 <= self.grade <= 12:
            raise ValueError(f"template {self.id}: grade {self.grade} not in 1..12")
        if not self.knowledge_points:
            raise ValueError(f"template {self.id}: no knowledge points")


@dataclass(frozen=True)
class Variant:
    """A verified variant question.

    Attributes:
        question: the validated grading model (``ArithmeticQuestion`` or
            ``NumericQuestion``) with a stable id ``v-<template>-<hash8>``.
        template_id: the template it came from.
        answer_text: the right answer as a student writes it; graded ``correct``.
        wrong_answer: the template's typical wrong answer; graded ``incorrect``.
        wrong_cause: the cause the grader diagnoses for ``wrong_answer`` (None: the slip
            has no cause code and the grader says ``unknown``).
        explanation: worked solution in Chinese (also stored on the question).
    """

    question: VariantQuestion
    template_id: str
    answer_text: str
    wrong_answer: str
    wrong_cause: CauseCode | None
    explanation: str
