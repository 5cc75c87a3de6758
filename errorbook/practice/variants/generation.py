"""Generate verified variant questions from a template.

``generate`` draws items from a template's drafter until it has ``n`` verified ones with
distinct stems, or its attempt budget runs out. Every draft goes through
:func:`errorbook.practice.variants.verify.verify_draft`; a failed check discards the draft and is
counted in :class:`GenerationStats` (and logged), it is never returned.
"""

from __future__ import annotations

import hashlib
import logging
import random
import unicodedata
from collections import Counter
from collections.abc import Set
from dataclasses import dataclass, field

from errorbook.practice.variants.model import Draft, Variant, VariantQuestion, VariantTemplate
from errorbook.practice.variants.templates import TEMPLATES
from errorbook.practice.variants.verify import Rejection, verify_draft
from grading.questions import ArithmeticQuestion, NumericKey, NumericQuestion

__all__ = [
    "ATTEMPTS_PER_VARIANT",
    "GenerationResult",
    "GenerationStats",
    "UnknownTemplateError",
    "generate",
    "generate_with_stats",
    "normalize_stem",
    "variant_id",
]

log = logging.getLogger(__name__)

#: Draws allowed per requested variant before giving up (small templates such as the
#: times tables run out of distinct stems; the budget keeps that from looping forever).
ATTEMPTS_PER_VARIANT = 40

SOURCE = "markbook 变式题"


class UnknownTemplateError(KeyError):
    """No template has this id; the message lists the known ids."""

    def __init__(self, template_id: str) -> None:
        self.template_id = template_id
        super().__init__(
            f"no variant template '{template_id}'; known: {', '.join(sorted(TEMPLATES))}"
        )

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class GenerationStats:
    """What one ``generate`` call did.

    Attributes:
        attempts: drafts drawn.
        duplicates: drafts skipped because the stem was excluded or already produced.
        rejected: discarded drafts per failed check (see :class:`Rejection`).
    """

    attempts: int
    duplicates: int
    rejected: dict[str, int] = field(default_factory=dict)

    @property
    def discarded(self) -> int:
        """Drafts that failed verification."""
        return sum(self.rejected.values())


@dataclass(frozen=True)
class GenerationResult:
    """Verified variants and the statistics of the call that made them."""

    variants: tuple[Variant, ...]
    stats: GenerationStats


def normalize_stem(stem: str) -> str:
    """The form stems are compared in: NFKC (full-width folded) with whitespace removed."""
    return "".join(unicodedata.normalize("NFKC", stem).split())


def variant_id(template_id: str, stem: str) -> str:
    """The stable question id ``v-<template>-<hash8>`` of a stem (same stem, same id)."""
    digest = hashlib.sha256(f"{template_id}\n{normalize_stem(stem)}".encode()).hexdigest()
    return f"v-{template_id}-{digest[:8]}"


def _question(template: VariantTemplate, draft: Draft) -> VariantQuestion:
    common = {
        "id": variant_id(template.id, draft.stem),
        "subject": "math",
        "grade": template.grade,
        "stem": draft.stem,
        "knowledge_points": list(template.knowledge_points),
        "difficulty": template.difficulty,
        "explanation": draft.explanation,
        "source": SOURCE,
    }
    if draft.unit is not None:
        key = NumericKey(value=str(draft.answer), unit=draft.unit)
        return NumericQuestion.model_validate({**common, "kind": "numeric", "key": key})
    return ArithmeticQuestion.model_validate({**common, "kind": "arithmetic"})


def generate_with_stats(
    template_id: str, rng: random.Random, n: int, *, exclude_stems: Set[str] = frozenset()
) -> GenerationResult:
    """Generate up to ``n`` verified variants of one template, with statistics.

    Args:
        template_id: a key of ``TEMPLATES``.
        rng: the only source of randomness; the same seed gives the same variants.
        n: how many variants are wanted (0 or more).
        exclude_stems: stems not to produce (e.g. the bank's items or ones the student has
            seen); compared after NFKC and whitespace removal.

    Returns:
        The variants (fewer than ``n`` only when the template ran out of distinct stems
        within ``ATTEMPTS_PER_VARIANT * n`` draws) and the call's statistics.

    Raises:
        UnknownTemplateError: no template has ``template_id``.
        ValueError: ``n`` is negative.
    """
    template = TEMPLATES.get(template_id)
    if template is None or template.drafter is None:
        raise UnknownTemplateError(template_id)
    if n < 0:
        raise ValueError(f"n must be 0 or more, not {n}")
    taken = {normalize_stem(s) for s in exclude_stems}
    variants: list[Variant] = []
    rejected: Counter[Rejection] = Counter()
    attempts = duplicates = 0
    while len(variants) < n and attempts < ATTEMPTS_PER_VARIANT * n:
        attempts += 1
        draft = template.drafter(rng)
        key = normalize_stem(draft.stem)
        if key in taken:
            duplicates += 1
            continue
        taken.add(key)

        def build(d: Draft = draft) -> VariantQuestion:
            return _question(template, d)

        question, why = verify_draft(draft, build)
        if question is None:
            assert why is not None
            rejected[why] += 1
            log.debug("variant %s discarded (%s): %s", template_id, why, draft.stem)
            continue
        variants.append(
            Variant(question, template.id, draft.answer_text, draft.wrong_answer,
                    draft.wrong_cause, draft.explanation)
        )
    stats = GenerationStats(attempts, duplicates, {str(k): v for k, v in sorted(rejected.items())})
    if stats.discarded:
        log.info("template %s: %d of %d drafts failed verification %s",
                 template_id, stats.discarded, attempts, stats.rejected)
    if len(variants) < n:
        log.warning("template %s: only %d of %d variants after %d draws",
                    template_id, len(variants), n, attempts)
    return GenerationResult(tuple(variants), stats)


def generate(
    template_id: str, rng: random.Random, n: int, *, exclude_stems: Set[str] = frozenset()
) -> list[Variant]:
    """Generate up to ``n`` verified variants of one template (see
    :func:`generate_with_stats`, which also returns how many drafts were discarded).

    Args:
        template_id: a key of ``TEMPLATES``.
        rng: the only source of randomness; the same seed gives the same variants.
        n: how many variants are wanted.
        exclude_stems: stems not to produce.

    Returns:
        Verified variants with pairwise distinct stems, in generation order.

    Raises:
        UnknownTemplateError: no template has ``template_id``.
        ValueError: ``n`` is negative.
    """
    return list(generate_with_stats(template_id, rng, n, exclude_stems=exclude_stems).variants)
