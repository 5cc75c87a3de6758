"""Grader for short answers (简答) by rubric scoring points.

Honest limit: this is keyword matching on the normalised text. It finds whether the
expected words are present, not whether the reasoning is right; a student who lists the
keywords in a wrong statement still meets the point. Teachers should review short answers
whose score matters, and the review policy routes low-confidence readings to them.
"""

from __future__ import annotations

from grading.base import Grader, Judgement
from grading.causes import CauseCode
from grading.grade import Verdict
from grading.questions import RubricPoint, ShortAnswerQuestion
from grading.response import Response
from grading.textnorm import normalize_text

__all__ = ["ShortAnswerGrader", "point_met"]


def point_met(answer_norm: str, point: RubricPoint) -> bool:
    """True when the normalised answer has one of the point's keywords (or synonyms) and
    every required phrase.

    Args:
        answer_norm: the answer after :func:`grading.textnorm.normalize_text`.
        point: the rubric point.
    """
    has_keyword = any(normalize_text(k) in answer_norm for k in point.keywords if normalize_text(k))
    has_required = all(normalize_text(r) in answer_norm for r in point.required)
    return has_keyword and has_required


class ShortAnswerGrader(Grader[ShortAnswerQuestion]):
    """Rubric of scoring points: each met point earns its points; the grade lists the met
    points, and the missed ones are the error cause detail."""

    kind = "short_answer"

    def _judge(self, response: Response) -> Judgement:
        answer = normalize_text(" ".join(response.readings()))
        points = self.question.key.points
        met = tuple(p.id for p in points if point_met(answer, p))
        missed = [p.id for p in points if p.id not in met]
        score = sum(p.points for p in points if p.id in met)
        if not missed:
            return Judgement(
                Verdict.CORRECT,
                score,
                answer,
                f"答到全部 {len(points)} 个要点",
                f"all {len(points)} points met",
                met_points=met,
            )
        verdict = Verdict.PARTIALLY_CORRECT if met else Verdict.INCORRECT
        return Judgement(
            verdict,
            score,
            answer,
            f"答到 {len(met)}/{len(points)} 个要点，缺少：{'、'.join(missed)}",
            f"{len(met)} of {len(points)} points met; missing: {', '.join(missed)}",
            cause=CauseCode.RUBRIC_POINTS_MISSED,
            cause_detail=",".join(missed),
            met_points=met,
        )
