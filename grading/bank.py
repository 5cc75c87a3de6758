"""Validate a question-bank document (``markbook-questions/1``) as a whole.

Every problem is reported at once, each naming the question (index and id) and the field,
so a teacher can fix a file in one pass. Nothing is half-accepted: callers get either the
complete validated bank or :class:`BankValidationError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from grading.questions import QUESTION_KINDS, KnowledgePoint, Question

__all__ = ["BANK_FORMAT", "BankProblem", "BankValidationError", "QuestionBank", "parse_bank"]

BANK_FORMAT = "markbook-questions/1"
_QUESTION = TypeAdapter(Question)
_KP = TypeAdapter(KnowledgePoint)
_FIELD_PREFIX = re.compile(r"^([a-z_]+(?:\.[a-z_]+)*): (.+)$", re.S)


@dataclass(frozen=True)
class BankProblem:
    """One problem: where (``questions[3] (id 'm3-001')``), which field, and what is wrong."""

    where: str
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"


class BankValidationError(ValueError):
    """The document is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[BankProblem]) -> None:
        self.problems = problems
        head = str(problems[0]) if problems else "invalid question bank"
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(head + more)


@dataclass(frozen=True)
class QuestionBank:
    knowledge_points: tuple[KnowledgePoint, ...]
    questions: tuple[Question, ...]


def _field(loc: tuple[int | str, ...], kind: str | None) -> str:
    # Drop pydantic's union tag from the location: ("numeric", "key", "value") -> key.value
    parts = [str(p) for p in loc if p != kind]
    return ".".join(parts) or "(question)"


def _question_problems(i: int, raw: Any) -> tuple[Question | None, list[BankProblem]]:
    qid = raw.get("id") if isinstance(raw, dict) else None
    where = f"questions[{i}]" + (f" (id '{qid}')" if isinstance(qid, str) else "")
    if not isinstance(raw, dict):
        return None, [BankProblem(where, "(question)", "must be a JSON object")]
    kind = raw.get("kind")
    if kind not in QUESTION_KINDS:
        known = ", ".join(QUESTION_KINDS)
        msg = (f"unknown kind '{kind}'; known kinds: {known}" if kind is not None
               else f"missing 'kind'; known kinds: {known}")
        return None, [BankProblem(where, "kind", msg)]
    if kind != "arithmetic" and "key" not in raw:
        return None, [BankProblem(where, "key", "the question has no answer key")]
    try:
        return _QUESTION.validate_python(raw), []
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            field, message = _field(tuple(e["loc"]), kind), e["msg"].removeprefix("Value error, ")
            m = _FIELD_PREFIX.match(message)
            if field == "(question)" and m:
                field, message = m.group(1), m.group(2)
            problems.append(BankProblem(where, field, message))
        return None, problems


def parse_bank(data: Any, *, max_questions: int = 5000) -> QuestionBank:
    """Validate a bank document.

    Args:
        data: the parsed JSON document.
        max_questions: refuse larger documents outright.

    Returns:
        The validated bank.

    Raises:
        BankValidationError: anything is wrong; all problems are listed.
    """
    problems: list[BankProblem] = []
    if not isinstance(data, dict):
        raise BankValidationError([BankProblem("document", "(root)", "must be a JSON object")])
    fmt = data.get("format", BANK_FORMAT)
    if fmt != BANK_FORMAT:
        problems.append(BankProblem("document", "format", f"expected '{BANK_FORMAT}', got {fmt!r}"))
    raw_kps = data.get("knowledge_points", [])
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        problems.append(BankProblem("document", "questions", "must be a non-empty list"))
        raise BankValidationError(problems)
    if len(raw_questions) > max_questions:
        problems.append(BankProblem("document", "questions",
                                    f"{len(raw_questions)} questions; the limit is {max_questions}"))
        raise BankValidationError(problems)
    kps: list[KnowledgePoint] = []
    if not isinstance(raw_kps, list):
        problems.append(BankProblem("document", "knowledge_points", "must be a list"))
        raw_kps = []
    for i, raw in enumerate(raw_kps):
        try:
            kps.append(_KP.validate_python(raw))
        except ValidationError as exc:
            for e in exc.errors():
                problems.append(BankProblem(f"knowledge_points[{i}]",
                                            _field(tuple(e["loc"]), None), e["msg"]))
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_questions):
        q, qp = _question_problems(i, raw)
        problems.extend(qp)
        if q is None:
            continue
        if q.id in seen:
            problems.append(BankProblem(f"questions[{i}] (id '{q.id}')", "id",
                                        f"duplicate of questions[{seen[q.id]}]"))
        seen.setdefault(q.id, i)
        questions.append(q)
    if problems:
        raise BankValidationError(problems)
    return QuestionBank(tuple(kps), tuple(questions))
