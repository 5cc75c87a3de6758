"""Answer groups (Gradescope-style): identical normalised answers across a class.

A teacher grades a whole group at once in review, and the class report lists the most
common wrong answers with their counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from grading.grade import Grade, Verdict

__all__ = [
    "AnswerGroup",
    "AnswerRow",
    "apply_group_decision",
    "common_wrong_answers",
    "group_answers",
    "rows_from_grades",
]


@dataclass(frozen=True)
class AnswerRow:
    """One student's graded answer to the question being grouped."""

    response_id: str
    normalized_answer: str
    verdict: Verdict


@dataclass(frozen=True)
class AnswerGroup:
    """All responses with one normalised answer.

    Attributes:
        normalized_answer: the shared answer (``""`` for blanks).
        response_ids: the responses in the group, sorted.
        verdicts: (verdict, count) pairs, most frequent first.
    """

    normalized_answer: str
    response_ids: tuple[str, ...]
    verdicts: tuple[tuple[Verdict, int], ...]

    @property
    def count(self) -> int:
        """How many responses gave this answer."""
        return len(self.response_ids)

    @property
    def verdict(self) -> Verdict | None:
        """The group's verdict when all its responses agree, else None (mixed)."""
        return self.verdicts[0][0] if len(self.verdicts) == 1 else None

    @property
    def needs_review(self) -> int:
        """How many responses of the group still wait for a teacher."""
        return dict(self.verdicts).get(Verdict.NEEDS_REVIEW, 0)


def rows_from_grades(graded: Iterable[tuple[str, Grade]]) -> list[AnswerRow]:
    """Rows for grouping from (response id, grade) pairs."""
    return [AnswerRow(rid, g.normalized_answer, g.verdict) for rid, g in graded]


def group_answers(rows: Iterable[AnswerRow]) -> list[AnswerGroup]:
    """Group rows by normalised answer.

    Args:
        rows: one row per response to one question.

    Returns:
        The groups, largest first, ties broken by answer text (so the order is stable).
    """
    members: dict[str, list[AnswerRow]] = {}
    for row in rows:
        members.setdefault(row.normalized_answer, []).append(row)
    groups = []
    for answer, items in members.items():
        counts = Counter(r.verdict for r in items)
        verdicts = tuple(sorted(counts.items(), key=lambda vc: (-vc[1], vc[0].value)))
        ids = tuple(sorted(r.response_id for r in items))
        groups.append(AnswerGroup(answer, ids, verdicts))
    groups.sort(key=lambda g: (-g.count, g.normalized_answer))
    return groups


def common_wrong_answers(rows: Iterable[AnswerRow], limit: int = 5) -> list[tuple[str, int]]:
    """The most common wrong (``incorrect``) answers with their counts.

    Args:
        rows: graded rows for one question.
        limit: at most this many answers.

    Returns:
        (answer, count) pairs, most common first, ties by answer text.
    """
    counts = Counter(r.normalized_answer for r in rows if r.verdict is Verdict.INCORRECT)
    return sorted(counts.items(), key=lambda ac: (-ac[1], ac[0]))[:limit]


def apply_group_decision(
    group: AnswerGroup,
    grades: dict[str, Grade],
    *,
    verdict: Verdict,
    score: float,
    reason_zh: str = "教师按答案组批改",
    reason_en: str = "graded by a teacher for the whole answer group",
) -> dict[str, Grade]:
    """A teacher's decision for one answer group, applied to every grade in it.

    Args:
        group: the group decided on.
        grades: current grades by response id (must include the group's responses).
        verdict: the teacher's verdict (not ``needs_review``).
        score: the teacher's score, within [0, max score].
        reason_zh, reason_en: the recorded reason.

    Returns:
        New grades for the group's responses: decided by a human (``auto`` False),
        confidence 1.0, cause and key revision kept.

    Raises:
        ValueError: ``needs_review`` given, a score out of range, or a response missing.
    """
    if verdict is Verdict.NEEDS_REVIEW:
        raise ValueError("a teacher's decision cannot be needs_review")
    decided = {}
    for rid in group.response_ids:
        if rid not in grades:
            raise ValueError(f"no grade for response '{rid}' of the group")
        old = grades[rid]
        if not 0.0 <= score <= old.max_score:
            raise ValueError(f"score {score} is outside [0, {old.max_score}]")
        decided[rid] = Grade.model_validate(
            {
                **old.model_dump(),
                "verdict": verdict,
                "score": score,
                "suggested_verdict": None,
                "suggested_score": None,
                "reason_zh": reason_zh,
                "reason_en": reason_en,
                "confidence": 1.0,
                "auto": False,
            }
        )
    return decided
