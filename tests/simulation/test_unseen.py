"""The unseen-writer benchmark's drill, what children write and how verdicts are tallied."""

from __future__ import annotations

import numpy as np

from grading.arithmetic_stem import parse_arithmetic_stem
from grading.grade import Grade, Verdict
from simulation.unseen import Outcome, answer_type, drill_questions, plausible_answers, score


def test_the_drill_is_mostly_integers_and_computes() -> None:
    questions = drill_questions(30, 23)
    keys = [parse_arithmetic_stem(q.stem).answer_text() for q in questions]
    types = [answer_type(k) for k in keys]
    assert types.count("integer") == 24
    assert {"fraction", "decimal", "negative"} <= set(types)
    assert drill_questions(30, 23) == questions  # seeded


def test_children_write_the_key_most_of_the_time_and_plausible_slips_otherwise() -> None:
    questions = {q.id: q for q in drill_questions(30, 4)}
    answer = plausible_answers(questions)
    rng = np.random.default_rng(0)
    right = total = 0
    for _ in range(40):
        for qid, q in questions.items():
            key = parse_arithmetic_stem(q.stem).answer_text()
            written = answer(qid, 0, rng)
            total += 1
            right += written == key
            assert written
            assert len(written) <= 8
    assert 0.68 < right / total < 0.79


def _grade(verdict: Verdict, auto: bool = True) -> Grade:
    return Grade(kind="arithmetic", verdict=verdict if auto else Verdict.NEEDS_REVIEW,
                 score=(1.0 if verdict == Verdict.CORRECT else 0.0) if auto else None,
                 max_score=1.0, confidence=0.9, key_revision=1, auto=auto,
                 suggested_verdict=None if auto else verdict)


def test_the_tally_counts_right_marked_wrong_apart_from_review() -> None:
    c, w = Verdict.CORRECT, Verdict.INCORRECT
    outcomes = [
        Outcome("q", "14", "14", "14", "ok", c, _grade(c)),      # right, auto right
        Outcome("q", "14", "14", "74", "ok", c, _grade(w)),      # right marked wrong
        Outcome("q", "14", "14", "74", "ok", c, _grade(w, auto=False)),  # sent to a teacher
        Outcome("q", "14", "15", "14", "ok", w, _grade(c)),      # wrong marked right
        Outcome("q", "14", "", "", "blank", None, None),         # a blank told apart
        Outcome("q", "3/4", "", "1", "ok", None, None),          # a blank read as ink
    ]
    t = score(outcomes)
    assert (t.written, t.read_exact, t.auto, t.auto_right) == (4, 1, 3, 1)
    assert (t.right_marked_wrong, t.wrong_marked_right) == (1, 1)
    assert (t.blanks, t.blanks_told) == (2, 1)
    assert t.coverage == 0.75
    assert t.per_1000(1) == 250.0
    assert t.confusions["1→7"] == 2
    assert t.confusions["5→4"] == 1
