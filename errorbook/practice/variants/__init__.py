"""Generated variant questions (变式题): templates, verified generation, template choice.

Typical use by the error book::

    for template in templates_for(item.knowledge_points, cause=grade.cause)[:2]:
        variants = generate(template.id, random.Random(seed), 3, exclude_stems=seen)

Every returned variant has been checked three ways (sympy on the generated operands, the
drafter's arithmetic, the key as the grader reads it) and graded with the real grader:
its answer ``correct``, its typical wrong answer ``incorrect`` with the promised cause.
"""

from __future__ import annotations

from errorbook.practice.variants.generation import (
    GenerationResult,
    GenerationStats,
    UnknownTemplateError,
    generate,
    generate_with_stats,
    normalize_stem,
    variant_id,
)
from errorbook.practice.variants.model import Draft, Variant, VariantQuestion, VariantTemplate
from errorbook.practice.variants.templates import TEMPLATES, kp_relation, templates_for
from errorbook.practice.variants.verify import Rejection, evaluate_formula, verify_draft

__all__ = [
    "TEMPLATES",
    "Draft",
    "GenerationResult",
    "GenerationStats",
    "Rejection",
    "UnknownTemplateError",
    "Variant",
    "VariantQuestion",
    "VariantTemplate",
    "evaluate_formula",
    "generate",
    "generate_with_stats",
    "kp_relation",
    "normalize_stem",
    "templates_for",
    "variant_id",
    "verify_draft",
]
