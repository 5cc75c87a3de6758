"""Bodies of the analytics endpoints (API v1): per worksheet, per class over time, per
student, and the answers behind any figure.

Every figure carries ``answers``: the API path that lists the answers it was computed from
(``/api/v1/analytics/answers?...``; the pages link the same query under ``/analytics``).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from service.schemas.results import CauseOut, IncompleteStudentOut, StudentRef

__all__ = [
    "AnswersOut",
    "AttentionOut",
    "BinOut",
    "CauseCountOut",
    "ChoiceOut",
    "ClassAnalyticsOut",
    "DistributionOut",
    "DrillAnswerOut",
    "EntryRefOut",
    "HeatCellOut",
    "HeatRowOut",
    "KpRef",
    "KpTrendOut",
    "PortraitKpOut",
    "QuestionStatsOut",
    "ReasonOut",
    "ResolutionOut",
    "StudentPortraitOut",
    "StudentResolutionOut",
    "SubmissionOut",
    "WeekMasteryOut",
    "WeekRateOut",
    "WorksheetAnalyticsOut",
    "WorksheetLineOut",
    "WrongAnswerStatsOut",
]


class BinOut(BaseModel):
    low: float = Field(description="lower bound of the score rate (inclusive)")
    high: float = Field(description="upper bound (exclusive, 1.0 inclusive in the last bin)")
    count: int
    students: list[StudentRef]
    answers: str


class DistributionOut(BaseModel):
    scored: int = Field(description="students counted: those whose every answer is decided")
    mean_rate: float | None
    median_rate: float | None
    bins: list[BinOut] = Field(description="ten bins of 10 % of full marks")


class SubmissionOut(BaseModel):
    roster: int
    submitted: int
    complete: int
    missing: list[StudentRef] = Field(description="handed in no page")
    incomplete: list[IncompleteStudentOut] = Field(description="pages not scanned")
    pending_review: int = Field(description="answers waiting for a teacher (never a zero)")
    answers: str


class ChoiceOut(BaseModel):
    option: str = Field(description="the label marked (``B``; ``AB`` for two marks; "
                                    "empty: left blank)")
    text: str = Field(description="the option's text on the paper")
    is_key: bool
    count: int
    share: float = Field(description="count / decided answers")
    upper: int = Field(description="marked by the upper 27 % of the class")
    lower: int = Field(description="marked by the lower 27 %")
    misconception: str = Field(description="the bank's note on what this distractor shows")
    answers: str


class CauseCountOut(BaseModel):
    cause: CauseOut
    count: int


class WrongAnswerStatsOut(BaseModel):
    answer: str = Field(description="the answer as read (empty: left blank)")
    count: int
    causes: list[CauseCountOut]
    answers: str


class QuestionStatsOut(BaseModel):
    position: int
    question_id: str
    kind: str
    max_score: float
    knowledge_points: list[str] = Field(description="knowledge point names (Chinese)")
    decided: int
    correct: int
    facility: float | None = Field(description="share answered fully right (correct / decided)")
    score_rate: float | None = Field(description="points earned / points possible")
    discrimination: float | None = Field(
        description="upper-lower index: mean credit of the top 27 % minus the bottom 27 % "
                    "(students ranked by their score rate on the worksheet); None under 4 "
                    "ranked students")
    pending_review: int
    choices: list[ChoiceOut] | None = Field(description="choice questions only")
    wrong_answers: list[WrongAnswerStatsOut]
    answers: str


class WorksheetAnalyticsOut(BaseModel):
    worksheet_id: int
    title: str
    class_id: int
    max_score: float
    submission: SubmissionOut
    distribution: DistributionOut
    groups_size: int = Field(description="students in each of the upper and lower groups")
    questions: list[QuestionStatsOut]
    links: dict[str, str]


class KpRef(BaseModel):
    code: str
    name_zh: str
    name_en: str


class HeatCellOut(BaseModel):
    code: str
    rate: float | None = Field(description="mean credit of the student's answers on the point")
    n: int = Field(description="answers")
    answers: str


class HeatRowOut(BaseModel):
    student: StudentRef
    cells: list[HeatCellOut] = Field(description="in the order of ``knowledge_points``")


class WeekRateOut(BaseModel):
    week: str = Field(description="ISO week, 2026-W47")
    rate: float
    n: int
    answers: str


class KpTrendOut(BaseModel):
    kp: KpRef
    weeks: list[WeekRateOut]
    change: float | None = Field(description="last week's rate minus the first week's")
    rate: float = Field(description="over every week")
    n: int
    answers: str


class StudentResolutionOut(BaseModel):
    student: StudentRef
    entries: int
    redone_right: int
    resolved: int
    rate: float | None
    answers: str


class ResolutionOut(BaseModel):
    entries: int = Field(description="wrong answers kept in the error books")
    redone_right: int = Field(description="entries later answered right at least once")
    resolved: int = Field(description="entries resolved (right on spaced redos)")
    rate: float | None = Field(description="错题解决率: resolved / entries")
    redo_rate: float | None = Field(description="redone_right / entries")
    answers: str


class ReasonOut(BaseModel):
    code: str = Field(description="missing_work | low_scores | falling | weak_points | "
                                  "open_errors")
    value: float = Field(description="the figure that triggered it (count or rate)")
    detail: str = Field(description="what it is about (knowledge point names, worksheets)")
    answers: str


class AttentionOut(BaseModel):
    student: StudentRef
    reasons: list[ReasonOut]


class WorksheetLineOut(BaseModel):
    worksheet_id: int
    title: str
    created_at: datetime
    roster: int
    submitted: int
    mean_rate: float | None
    answers: str


class ClassAnalyticsOut(BaseModel):
    class_id: int
    name: str
    worksheets: list[WorksheetLineOut]
    knowledge_points: list[KpRef]
    heatmap: list[HeatRowOut]
    trends: list[KpTrendOut]
    resolution: ResolutionOut
    students: list[StudentResolutionOut]
    attention: list[AttentionOut]
    links: dict[str, str]


class WeekMasteryOut(BaseModel):
    week: str
    p_mastery: float = Field(description="the mastery estimate after the week's last answer")


class PortraitKpOut(BaseModel):
    kp: KpRef
    p_mastery: float | None = Field(description="the mastery estimate (BKT); None: no state")
    level: str | None
    rate: float
    n: int
    weeks: list[WeekRateOut]
    mastery_weeks: list[WeekMasteryOut] = Field(
        description="the estimate at the end of each week with answers (the events replayed "
                    "with the school's parameters)")
    answers: str


class EntryRefOut(BaseModel):
    id: int
    question_id: str
    knowledge_points: list[str]
    cause: CauseOut | None
    state: str
    times_wrong: int
    successes: int
    wrong_at: datetime
    resolved_at: datetime | None
    answers: str


class StudentPortraitOut(BaseModel):
    student: StudentRef
    class_id: int
    weeks: list[str]
    knowledge_points: list[PortraitKpOut]
    strengths: list[PortraitKpOut]
    weaknesses: list[PortraitKpOut]
    persistent_errors: list[EntryRefOut]
    resolved_errors: list[EntryRefOut]
    resolution: ResolutionOut
    links: dict[str, str]


class DrillAnswerOut(BaseModel):
    response_id: int
    worksheet_id: int
    worksheet_title: str
    question_id: str
    student: StudentRef
    answer: str | None
    status: str = Field(description="graded | needs_review | ungraded")
    verdict: str | None
    score: float | None
    max_score: float | None
    cause: CauseOut | None
    scanned_at: datetime
    crop_url: str | None
    review: str = Field(description="the page that shows and re-decides this answer")


class AnswersOut(BaseModel):
    filters: dict[str, str]
    count: int
    answers: list[DrillAnswerOut]
