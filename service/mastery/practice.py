"""Choose practice for a student's open error-book entries: similar bank questions and
freshly generated, verified variants (变式题), each with the reason it was chosen.

Used by the recommendations endpoint and by the error book (whose practice sheet is a
personalised worksheet that scans back like any other).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from anyio import to_thread
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.learner.difficulty import ability_from_mastery, prior_from_bank
from errorbook.practice.similar import Candidate, Pick, SimilarIndex
from errorbook.practice.variants import Variant, generate, templates_for
from grading.causes import CauseCode
from grading.questions import Question
from service.db import ErrorEntryRow, QuestionRow
from service.repositories.errorbook import ErrorBookRepository
from service.repositories.learner import LearnerRepository
from service.repositories.practice import PracticeRepository
from service.repositories.questions import VARIANT_PREFIX

__all__ = ["PlannedItem", "plan_practice", "teacher_reason_text"]

_QUESTION: TypeAdapter[Question] = TypeAdapter(Question)
# The in-process index of each school's bank, rebuilt when the bank changes.
_INDEX_CACHE: dict[int, tuple[tuple[int, int, str], SimilarIndex, dict[str, QuestionRow]]] = {}


@dataclass(frozen=True)
class PlannedItem:
    """One practice question and why it was chosen.

    Attributes:
        question: the validated question (a bank question or a generated variant).
        origin: ``similar`` (from the bank) or ``variant`` (generated for this student).
        row_id: the bank row, or None for a variant not yet stored.
        entry_id: the error-book entry it practises.
        for_question: the bank id of that entry's question.
        score, reason_zh, reason_en: the selection score and its explanation.
    """

    question: Question
    origin: str
    row_id: int | None
    entry_id: int
    for_question: str
    score: float
    reason_zh: str
    reason_en: str


async def _bank_index(repo: PracticeRepository, school_id: int
                      ) -> tuple[SimilarIndex, dict[str, QuestionRow]]:
    version = await repo.bank_version(school_id)
    cached = _INDEX_CACHE.get(school_id)
    if cached is not None and cached[0] == version:
        return cached[1], cached[2]
    rows = await repo.bank_questions(school_id)
    codes = {c for r in rows for c in r.document.get("knowledge_points", ())}
    names = await ErrorBookRepository(repo.session).knowledge_point_names(codes) \
        if codes else {}
    pool = [Candidate(question_id=r.external_id,
                      knowledge_points=tuple(r.document.get("knowledge_points", ())),
                      difficulty=prior_from_bank(r.difficulty), stem=r.stem) for r in rows]
    # Building the index (stem n-grams, knowledge point groups) is CPU work: off the loop.
    index = await to_thread.run_sync(partial(
        SimilarIndex, pool, kp_names={c: (n, n) for c, n in names.items()}))
    by_id = {r.external_id: r for r in rows}
    _INDEX_CACHE[school_id] = (version, index, by_id)
    return index, by_id


def _seed(student_id: int, entry_id: int, salt: str) -> int:
    digest = hashlib.sha256(f"{student_id}:{entry_id}:{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _cause(code: str | None) -> CauseCode | None:
    try:
        return CauseCode(code) if code else None
    except ValueError:
        return None


async def plan_practice(session: AsyncSession, school_id: int, student_id: int,
                        entries: Sequence[ErrorEntryRow], n: int, *, salt: str = ""
                        ) -> list[PlannedItem]:
    """Pick ``n`` practice questions spread over ``entries`` (most overdue first).

    Each entry gets about ``n / len(entries)`` items, alternating a similar bank question
    (same knowledge point, difficulty near the student's level, similar stem, the same error
    cause practised) and a generated variant of its template; never a question the student
    already answered, never two near-identical stems.

    Args:
        session: the unit of work.
        school_id: whose bank to draw from.
        student_id: the student.
        entries: open or practising entries, in the order to serve them.
        n: how many items in all.
        salt: varies the generated variants between books (e.g. the book number).

    Returns:
        The planned items, grouped by entry in entry order.
    """
    if not entries or n <= 0:
        return []
    repo = PracticeRepository(session)
    index, bank = await _bank_index(repo, school_id)
    abilities = await LearnerRepository(session).mastery_by_code(student_id)
    answered = await repo.answered(student_id)
    entry_questions = await repo.questions([e.question_id for e in entries])
    known_codes = set(await kp_codes_known_all(session))
    targets = [_target(e, entry_questions[e.question_id]) for e in entries]
    # Selection and variant generation are CPU work: run them off the event loop.
    return await to_thread.run_sync(partial(
        _plan, index, bank, abilities, {i for i, _ in answered}, {st for _, st in answered},
        targets, n, student_id, salt, known_codes))


@dataclass(frozen=True)
class _Target:
    """An entry to practise, as plain values (safe to hand to a worker thread)."""

    entry_id: int
    cause: str | None
    question: Candidate


def _target(entry: ErrorEntryRow, q: QuestionRow) -> _Target:
    kps = tuple(q.document.get("knowledge_points", ()))
    return _Target(entry.id, entry.cause,
                   Candidate(question_id=q.external_id, knowledge_points=kps,
                             difficulty=prior_from_bank(q.difficulty), stem=q.stem))


def _plan(index: SimilarIndex, bank: dict[str, QuestionRow], abilities: dict[str, float],
          seen_ids: set[str], seen_stems: set[str], targets: Sequence[_Target], n: int,
          student_id: int, salt: str, known_codes: set[str]) -> list[PlannedItem]:
    """The planning itself: no I/O, so it can run in a worker thread."""
    per_entry = [n // len(targets) + (1 if i < n % len(targets) else 0)
                 for i in range(len(targets))]
    planned: list[PlannedItem] = []
    taken_stems = set(seen_stems)
    for t, quota in zip(targets, per_entry, strict=True):
        if quota <= 0:
            continue
        target = t.question
        kps = target.knowledge_points
        known = [abilities[c] for c in kps if c in abilities]
        ability = ability_from_mastery(sum(known) / len(known)) if known else 0.0
        cause = _cause(t.cause)
        variants_wanted = quota // 2
        similar_wanted = quota - variants_wanted
        picks = index.select(target, ability=ability, cause=t.cause,
                             seen=seen_ids | {p.question.id for p in planned},
                             n=similar_wanted + variants_wanted)
        chosen: list[PlannedItem] = []
        _take_similar(chosen, picks, bank, taken_stems, t.entry_id, target.question_id,
                      similar_wanted)
        variants = _variants(kps, cause, quota - len(chosen), taken_stems,
                             random.Random(_seed(student_id, t.entry_id, salt)), known_codes)
        for v in variants:
            taken_stems.add(v.question.stem)
            chosen.append(PlannedItem(
                question=v.question, origin="variant", row_id=None, entry_id=t.entry_id,
                for_question=target.question_id, score=1.0,
                reason_zh=f"变式题：{_template_label(v)}",
                reason_en=f"a variant ({_template_label(v)})"))
        # No template for this knowledge point: fill the quota from the bank instead.
        _take_similar(chosen, picks, bank, taken_stems, t.entry_id, target.question_id, quota)
        planned.extend(chosen)
    return planned


def _take_similar(chosen: list[PlannedItem], picks: Sequence[Pick],
                  bank: dict[str, QuestionRow], taken_stems: set[str], entry_id: int,
                  for_question: str, up_to: int) -> None:
    """Append picks (best first) until ``chosen`` holds ``up_to`` items, skipping stems
    already on the sheet or answered before."""
    for pick in picks:
        if len(chosen) >= up_to:
            return
        row = bank[pick.question_id]
        if row.stem in taken_stems:
            continue
        chosen.append(PlannedItem(
            question=_QUESTION.validate_python(row.document), origin="similar", row_id=row.id,
            entry_id=entry_id, for_question=for_question, score=pick.score,
            reason_zh=pick.reason_zh, reason_en=pick.reason_en))
        taken_stems.add(row.stem)


def _template_label(v: Variant) -> str:
    """What the variant practises, whole (the first sentence of its explanation); the key
    wraps it, so nothing is cut mid-sentence."""
    first = v.explanation.split("。")[0].strip() if v.explanation else ""
    return first or "同一题型，换了数"


_VARIANT_OF = re.compile(r"第\s*[A-Za-z0-9_.\-]+\s*题的变式")
_KP_CODE = re.compile(r"\b[a-z]+(?:\.[a-z0-9_]+)+\b")


def teacher_reason_text(reason: str, names: Mapping[str, str]) -> str:
    """A stored selection reason in the teacher's words, without internal ids.

    Reasons stored by earlier versions named the question by its bank id
    (``第m3-add-003题的变式``), a knowledge point by its code (``math.add.carry``) and spoke to
    the student (``你的水平``); the key names the card itself, so those are rewritten.

    Args:
        reason: the stored ``reason_zh``.
        names: knowledge point code -> Chinese name.

    Returns:
        The reason to print.
    """
    text = _VARIANT_OF.sub("变式题", reason)
    text = _KP_CODE.sub(lambda m: names.get(m.group(0), "该知识点"), text)
    for old, new in (("难度接近你的水平", "难度与该生水平相当"),
                     ("比你的水平稍难，适合提高", "比该生水平稍难，用于提高"),
                     ("难度稍低，适合巩固", "比该生水平稍易，用于巩固"), ("你的", "该生的")):
        text = text.replace(old, new)
    return text


def _variants(kps: tuple[str, ...], cause: CauseCode | None, k: int, taken: set[str],
              rng: random.Random, known_codes: set[str]) -> list[Variant]:
    if k <= 0:
        return []
    templates = templates_for(kps, cause)
    if not templates:
        return []
    out: list[Variant] = []
    # Spread over the best-matching templates, the first (cause match) getting most.
    for i in range(k):
        template = templates[i % min(len(templates), max(1, math.ceil(k / 2)))]
        made = generate(template.id, rng, 1, exclude_stems=set(taken))
        for v in made:
            # A variant tagged with a knowledge point the bank lacks could not be stored.
            if not set(v.question.knowledge_points) <= known_codes:
                continue
            if v.question.id.startswith(VARIANT_PREFIX) and v.question.stem not in taken:
                out.append(v)
                taken.add(v.question.stem)
    return out


async def kp_codes_known_all(session: AsyncSession) -> list[str]:
    """Every knowledge-point code on record."""
    return await PracticeRepository(session).all_knowledge_point_codes()


async def kp_codes_known(session: AsyncSession, codes: set[str]) -> dict[str, int]:
    """Knowledge-point ids by code (variants may only use points the school has)."""
    if not codes:
        return {}
    return await PracticeRepository(session).knowledge_point_ids(codes)


async def store_variants(session: AsyncSession, school_id: int,
                         questions: Sequence[Question]) -> dict[str, QuestionRow]:
    """The variants' question rows, created on first use (the id is a hash of the content,
    so the same variant printed for two students is one question). Variants tagged with a
    knowledge point the school lacks are left out. A fixed number of queries per call.

    Returns:
        Bank id → row, for every variant that could be stored.
    """
    wanted = {q.id: q for q in questions}
    if not wanted:
        return {}
    repo = PracticeRepository(session)
    rows = await repo.questions_by_bank_id(school_id, sorted(wanted))
    kp_ids = await kp_codes_known(session, {c for q in wanted.values()
                                            for c in q.knowledge_points})
    new: list[tuple[QuestionRow, list[int]]] = []
    for qid, q in wanted.items():
        if qid in rows or not set(q.knowledge_points) <= kp_ids.keys():
            continue
        row = QuestionRow(school_id=school_id, external_id=q.id, kind=q.kind, subject=q.subject,
                          grade=q.grade, stem=q.stem, difficulty=q.difficulty, score=q.score,
                          key_revision=1, document=_QUESTION.dump_python(q, mode="json"),
                          origin="variant")
        new.append((row, [kp_ids[c] for c in dict.fromkeys(q.knowledge_points)]))
    if new:
        await repo.add_questions(new)
        rows.update((row.external_id, row) for row, _ in new)
    return rows
