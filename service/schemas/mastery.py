"""Response models of the mastery, progress, recommendation and error-book endpoints."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

__all__ = [
    "ClassMasteryOut",
    "ClassProgressOut",
    "EntryOut",
    "FitOut",
    "KpFitOut",
    "KpMastery",
    "KpScoreRate",
    "MasteryCell",
    "ProgressOut",
    "RecommendationOut",
    "RecommendationsOut",
    "StudentMasteryOut",
    "StudentProgressRow",
    "StudentRef",
]


class StudentRef(BaseModel):
    id: int
    student_no: str
    name: str


class KpMastery(BaseModel):
    code: str
    name_zh: str
    name_en: str = ""
    p_mastery: float = Field(description="probability the knowledge point is mastered")
    band: tuple[float, float] = Field(description="credible interval of p_mastery")
    level: str = Field(description="mastered | developing | not_mastered")
    attempts: int
    correct: float
    trend: float = Field(description="change of p_mastery over the recent answers")
    last_seen: datetime | None = None
    rolled_up: bool = Field(description="derived from sub-points (no answers of its own "
                            "counted directly) or mixed")
    children: list[str] = []


class StudentMasteryOut(BaseModel):
    student: StudentRef
    class_id: int
    knowledge_points: list[KpMastery]


class MasteryCell(BaseModel):
    p_mastery: float
    attempts: int


class ClassMasteryOut(BaseModel):
    class_id: int
    knowledge_points: list[str] = Field(description="column order (codes)")
    names_zh: dict[str, str]
    students: list[StudentRef]
    matrix: dict[str, dict[str, MasteryCell]] = Field(
        description="student id (string) → knowledge point code → cell; absent = no data")
    class_mean: dict[str, float]


class EntryOut(BaseModel):
    id: int
    question_id: str
    stem: str
    state: str
    cause: str | None
    times_wrong: int
    successes: int
    wrong_at: datetime
    due_at: datetime
    resolved_at: datetime | None


class KpScoreRate(BaseModel):
    code: str
    name_zh: str
    weeks: dict[str, float] = Field(description="ISO week (2026-W47) → score rate (0..1)")
    change: float | None = Field(description="last week's rate minus the first week's")


class ProgressOut(BaseModel):
    student: StudentRef
    entries_open: int
    entries_practising: int
    entries_resolved: int
    resolution_rate: float | None = Field(description="错题解决率: resolved / all entries")
    score_rates: list[KpScoreRate]
    entries: list[EntryOut]


class StudentProgressRow(BaseModel):
    """One student's line in the class progress: entries per state and resolution rate."""

    student: StudentRef
    entries: int
    open: int
    practising: int
    resolved: int
    resolution_rate: float | None


class ClassProgressOut(BaseModel):
    class_id: int
    entries_total: int
    entries_resolved: int
    resolution_rate: float | None
    students: list[StudentProgressRow]
    score_rates: list[KpScoreRate]


class RecommendationOut(BaseModel):
    question_id: str
    kind: str = Field(description="similar (from the bank) | variant (generated)")
    stem: str
    knowledge_points: list[str]
    for_entry: int | None
    for_question: str | None
    score: float
    reason_zh: str
    reason_en: str


class RecommendationsOut(BaseModel):
    student: StudentRef
    generated_on: date
    items: list[RecommendationOut]


class KpFitOut(BaseModel):
    """One knowledge point's fit: whether EM ran (and why not), data used, parameters."""

    fitted: bool
    reason: str
    n_answers: int
    n_students: int
    iterations: int
    prior: float
    learn: float
    guess: float
    slip: float


class FitOut(BaseModel):
    """What a school fit did: answers used, time taken, states replayed, per point."""

    answers: int
    seconds: float
    states_replayed: int
    knowledge_points: dict[str, KpFitOut]
