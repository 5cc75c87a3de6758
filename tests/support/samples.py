"""Where the checkout's sample data lives, and the sample question bank as typed questions."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from pydantic import TypeAdapter

from grading.questions import Question

__all__ = ["ROOT", "SAMPLES", "sample_questions"]

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_scans"

_QUESTION: TypeAdapter[Question] = TypeAdapter(Question)


@lru_cache(maxsize=1)
def _questions() -> tuple[Question, ...]:
    data = json.loads((SAMPLES / "question_bank.json").read_text(encoding="utf-8"))
    return tuple(_QUESTION.validate_python(q) for q in data["questions"])


def sample_questions() -> list[Question]:
    """Every question of ``sample_scans/question_bank.json``, validated, in bank order.

    A fresh list each call (callers slice and filter it); the questions are immutable.
    """
    return list(_questions())
