"""Bodies of the results, answer-group and review endpoints (API v1)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from grading.grade import Verdict

__all__ = [
    "AnswerGroupOut",
    "AssignPage",
    "CauseOut",
    "ClassSummaryOut",
    "GroupGrade",
    "GroupGraded",
    "GroupMemberOut",
    "GroupsOut",
    "IncompleteStudentOut",
    "QuestionCellOut",
    "QuestionSummaryOut",
    "ReadingOut",
    "ResultsOut",
    "ReviewAction",
    "ReviewDone",
    "ReviewItemOut",
    "ReviewKind",
    "ReviewPage",
    "ReviewQueueOut",
    "StudentRef",
    "StudentResultOut",
    "WrongAnswerOut",
]

# What a teacher may decide: anything but "a human should look".
TeacherVerdict = Literal["correct", "partially_correct", "incorrect", "blank"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CauseOut(BaseModel):
    code: str
    zh: str
    en: str


class StudentRef(BaseModel):
    id: int
    student_no: str
    name: str


class QuestionCellOut(BaseModel):
    """One student's answer to one question."""

    position: int
    question_id: str = Field(description="bank id")
    status: Literal["graded", "needs_review", "ungraded", "not_scanned"] = Field(
        description="graded: decided; needs_review / ungraded: waiting for a human (never "
                    "counted as zero); not_scanned: the page with this question was not scanned")
    answer: str | None = Field(description="the recognised (or teacher-corrected) answer; "
                                           "blanks joined with ' | '")
    blanks: list[str | None] = Field(description="per-blank readings")
    verdict: str | None
    score: float | None = Field(description="null unless decided")
    max_score: float
    cause: CauseOut | None
    confidence: float | None
    needs_review: bool
    review_reason: str | None
    source: str | None = Field(description="auto or teacher")
    response_ids: list[int]
    crop_url: str | None
    crop_urls: list[str]


class StudentResultOut(BaseModel):
    student: StudentRef
    submitted: bool
    total: float = Field(description="sum of decided scores only")
    max_score: float = Field(description="the worksheet's full marks")
    decided_max: float = Field(description="full marks of the decided questions")
    pending_review: int = Field(description="answers waiting for a teacher (not counted)")
    not_scanned: int = Field(description="questions on pages that were not scanned")
    complete: bool = Field(description="every question decided: the total is final")
    missing_pages: list[int] = Field(
        default_factory=list,
        description="worksheet pages (1-based) with no scanned page of this student, for a "
                    "student who handed in at least one page (empty for one who handed in "
                    "nothing: see `missing`)")
    questions: list[QuestionCellOut]


class WrongAnswerOut(BaseModel):
    answer: str
    count: int


class QuestionSummaryOut(BaseModel):
    position: int
    question_id: str
    label: str = Field(default="", description="how a teacher knows the question: the bank "
                                               "id; a drill item's expression; a template "
                                               "question's number (第3题)")
    kind: str
    max_score: float
    decided: int
    correct: int
    score_rate: float | None = Field(description="decided score / decided full marks")
    needs_review: int
    not_scanned: int
    common_wrong: list[WrongAnswerOut]


class ClassSummaryOut(BaseModel):
    roster: int
    submitted: int = Field(description="students with at least one scanned page")
    missing: int = Field(description="students with no scanned page at all")
    incomplete: int = Field(default=0, description="students with some but not all pages "
                                                   "scanned (counted in submitted)")
    complete: int = Field(description="students whose every answer is decided")
    mean: float | None = Field(description="mean total of the complete students")
    mean_rate: float | None = Field(description="decided score / decided full marks, class")
    needs_review: int = Field(description="answers waiting for a teacher")
    questions: list[QuestionSummaryOut]


class IncompleteStudentOut(BaseModel):
    student: StudentRef
    missing_pages: list[int] = Field(description="worksheet pages (1-based) not scanned")


class ResultsOut(BaseModel):
    worksheet_id: int
    title: str
    class_id: int
    max_score: float
    students: list[StudentResultOut]
    missing: list[StudentRef] = Field(description="roster students with no scanned page")
    incomplete: list[IncompleteStudentOut] = Field(
        default_factory=list,
        description="roster students with some but not all pages scanned, with the pages "
                    "missing (roster order)")
    summary: ClassSummaryOut
    links: dict[str, str]


class ReviewAction(_In):
    """A decision on one answer.

    ``confirm`` accepts the machine's best reading and regrades it; ``correct`` regrades a
    teacher-typed reading (``text``, or ``blanks`` for a multi-blank question); ``set``
    records the teacher's own verdict and score.
    """

    action: Literal["confirm", "correct", "set"]
    text: str | None = Field(default=None, max_length=2000)
    blanks: list[str] | None = Field(default=None, max_length=20)
    verdict: Verdict | None = None
    score: float | None = None
    note: str | None = Field(default=None, max_length=500)


class ReviewDone(BaseModel):
    response_id: int
    grade_id: int
    previous_grade_id: int | None
    verdict: str
    score: float | None
    max_score: float
    needs_review: bool
    reason_zh: str
    reason_en: str
    answer: str | None


class AssignPage(_In):
    student_id: int
    replace: bool = False


class DismissPage(_In):
    note: str | None = Field(default=None, max_length=500)


class ReviewPage(BaseModel):
    page_id: int
    worksheet_id: int | None
    page_no: int | None
    status: str
    student: StudentRef | None
    student_source: str | None
    replaced_page_id: int | None = None
    previous_status: str | None = Field(
        default=None, description="dismiss / reopen: the page's status before the change")


class GroupMemberOut(BaseModel):
    response_id: int
    student: StudentRef | None
    verdict: str
    source: str
    crop_url: str | None


class AnswerGroupOut(BaseModel):
    normalised: str
    count: int
    verdict: str | None = Field(description="the group's verdict, null when mixed")
    verdicts: dict[str, int]
    needs_review: int
    members: list[GroupMemberOut]


class GroupsOut(BaseModel):
    worksheet_id: int
    question_id: str
    max_score: float
    groups: list[AnswerGroupOut]
    common_wrong: list[WrongAnswerOut]
    ungraded: int = Field(description="answers with no grade (not grouped)")


class GroupGrade(_In):
    normalised: str = Field(max_length=2000, description="the group's normalised answer")
    verdict: TeacherVerdict
    score: float
    note: str | None = Field(default=None, max_length=500)



ReviewKind = Literal["response", "unknown_student", "unidentified", "duplicate"]


class ReadingOut(BaseModel):
    """What the reader saw: the best reading, per-blank readings and alternatives."""

    text: str | None
    blanks: list[str | None]
    status: str
    confidence: float | None
    alternatives: list[dict[str, object]]


class ReviewItemOut(BaseModel):
    """One thing a teacher should look at (fields by ``kind``)."""

    kind: ReviewKind
    page_id: int
    upload_id: int
    page_index: int
    worksheet_id: int | None
    page_no: int | None
    page_status: str
    page_image_url: str
    student: StudentRef | None
    problem: str | None
    response_id: int | None = None
    grade_id: int | None = None
    question_id: str | None = None
    position: int | None = None
    reading: ReadingOut | None = None
    review_reason: str | None = None
    reason_zh: str | None = None
    reason_en: str | None = None
    max_score: float | None = None
    crop_url: str | None = None
    crop_urls: list[str] = Field(default_factory=list)
    actions: dict[str, str] = Field(default_factory=dict)


class ReviewQueueOut(BaseModel):
    items: list[ReviewItemOut]
    total: int
    counts: dict[str, int]
    limit: int
    offset: int
    next_offset: int | None


class GroupGraded(BaseModel):
    normalised: str
    verdict: str
    score: float
    graded: int
    response_ids: list[int]
