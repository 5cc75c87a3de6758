"""The analytics' arithmetic on small hand-made inputs, each expected value worked out by
hand in the comments: the upper-lower groups and discrimination index, weekly rates,
the resolution rate, the attention rules, and the palette the PDF and pages share."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from errorbook.learner.bkt import BktParams, Observation, initial_state, update
from errorbook.printing.report.palette import HEAT, SERIES, heat_bin
from service.analytics.attention import SheetScore, attention
from service.analytics.figures import iso_week, resolution, weekly, weekly_sums
from service.analytics.portrait import mastery_by_week
from service.analytics.worksheet import Mark, discrimination, groups
from service.db import ErrorEntryRow, StudentRow
from service.repositories.analytics import EventRow, KpCell, KpMoment

MONDAY = datetime(2026, 11, 16, 9, tzinfo=UTC)  # ISO week 2026-W47


def test_groups_are_the_top_and_bottom_27_percent() -> None:
    # 8 ranked students: 0.27 × 8 = 2.16 → 2 per group.
    rates = {1: 0.9, 2: 0.8, 3: 0.7, 4: 0.6, 5: 0.5, 6: 0.4, 7: 0.3, 8: 0.2}
    upper, lower = groups(rates, {s: f"{s:02d}" for s in rates})
    assert upper == [1, 2]
    assert lower == [7, 8]
    # 11 students: 2.97 → 3; a tie at the top is broken by student number.
    rates = dict.fromkeys(range(1, 12), 0.5) | {5: 1.0, 3: 1.0}
    upper, _lower = groups(rates, {s: f"{s:02d}" for s in rates})
    assert upper[:2] == [3, 5]
    assert len(upper) == 3
    assert groups({1: 1.0, 2: 0.5, 3: 0.0}, {}) == ([], [])  # under 4 ranked: no groups


def test_discrimination_is_upper_mean_credit_minus_lower() -> None:
    marks = [Mark(1, 1.0, "correct", "85", None), Mark(2, 0.5, "partially_correct", "8", None),
             Mark(7, 0.0, "incorrect", "75", "forgot_carry"),
             Mark(8, 1.0, "correct", "85", None)]
    # Upper {1, 2}: (1 + 0.5) / 2 = 0.75; lower {7, 8}: (0 + 1) / 2 = 0.5 → 0.25.
    assert discrimination(marks, [1, 2], [7, 8]) == 0.25
    # Only student 1 of the upper group answered; lower mean 0.5 → 0.5.
    assert discrimination(marks[:1] + marks[2:], [1, 9], [7, 8]) == 0.5
    assert discrimination(marks[:2], [1, 2], [7, 8]) is None  # no lower answer


def _event(student: int, code: str, credit: float, days: int, response: int = 0) -> EventRow:
    return EventRow(student, code, credit, MONDAY + timedelta(days=days), response, 1)


def test_weekly_rates_and_week_names() -> None:
    assert iso_week(MONDAY) == "2026-W47"
    assert iso_week(datetime(2026, 1, 1)) == "2026-W01"  # naive (SQLite) counts as UTC
    events = [_event(1, "k", 1.0, 0), _event(2, "k", 0.0, 2), _event(1, "k", 0.5, 7),
              _event(2, "k", 1.0, 8), _event(3, "k", 1.0, 9)]
    weeks = weekly(events, class_id=4, kp="k")
    # W47: (1 + 0) / 2 = 0.5; W48: (0.5 + 1 + 1) / 3 = 0.8333.
    assert [(w.week, w.rate, w.n) for w in weeks] == [("2026-W47", 0.5, 2),
                                                      ("2026-W48", 0.8333, 3)]
    assert weeks[1].answers == "/api/v1/analytics/answers?class_id=4&kp=k&week=2026-W48"


def test_mastery_by_week_is_the_fold_of_the_events() -> None:
    params = BktParams()
    events = [_event(1, "k", 1.0, 0), _event(1, "k", 1.0, 1), _event(1, "k", 0.0, 7)]
    state = initial_state(params)
    ends = []
    for e in events:
        state = update(state, Observation(correct=e.credit, difficulty=0.0, at=e.at), params)
        ends.append(state.p_mastery)
    weeks = mastery_by_week(events, params)
    # One value per week: after the 2nd answer (W47) and after the 3rd (W48).
    assert [w.week for w in weeks] == ["2026-W47", "2026-W48"]
    assert [w.p_mastery for w in weeks] == [round(ends[1], 4), round(ends[2], 4)]
    assert weeks[0].p_mastery > weeks[1].p_mastery  # a wrong answer lowers it


def test_weekly_sums_match_weekly_over_the_same_answers() -> None:
    events = [_event(1, "k", 1.0, 0), _event(2, "k", 0.0, 0), _event(1, "k", 0.5, 7),
              _event(2, "k", 1.0, 8), _event(3, "k", 1.0, 8)]
    moments = [KpMoment("k", MONDAY, 1.0, 2), KpMoment("k", MONDAY + timedelta(days=7), 0.5, 1),
               KpMoment("k", MONDAY + timedelta(days=8), 2.0, 2)]
    assert weekly_sums(moments, class_id=4, kp="k") == weekly(events, class_id=4, kp="k")


def _entry(student: int, state: str, successes: int = 0, times_wrong: int = 1
           ) -> ErrorEntryRow:
    return ErrorEntryRow(student_id=student, question_id=1, response_id=1, state=state,
                         successes=successes, times_wrong=times_wrong, wrong_at=MONDAY,
                         due_at=MONDAY)


def test_resolution_rate() -> None:
    entries = [_entry(1, "resolved", 2), _entry(1, "practising", 1), _entry(1, "open"),
               _entry(1, "open")]
    r = resolution(entries, student_id=1)
    # 1 of 4 resolved; 2 of 4 answered right at least once since.
    assert (r.entries, r.resolved, r.redone_right, r.rate, r.redo_rate) == (4, 1, 2, 0.25, 0.5)
    assert resolution([], class_id=1).rate is None


def _students(n: int) -> list[StudentRow]:
    return [StudentRow(id=i, class_id=1, student_no=f"{i:02d}", name=f"学生{i}")
            for i in range(1, n + 1)]


def test_attention_rules() -> None:
    roster = _students(5)

    def sheets(*rates: float | None) -> list[SheetScore]:
        return [SheetScore(w, f"练习{w}", r is not None, r) for w, r in enumerate(rates, 1)]

    scores = {
        1: sheets(0.9, 0.95, 0.9),         # fine
        2: sheets(0.9, None, None),        # 2 of 3 missed (≥ 40 % of 3 = 1.2 → 2)
        3: sheets(0.5, 0.55, 0.6),         # mean 0.55 < 0.6
        4: sheets(0.9, 0.9, 0.7),          # earlier mean 0.9, last 0.7: a 0.2 drop
        5: sheets(0.8, 0.8, 0.8),
    }
    cells = [KpCell(5, "math.add.carry", 1.0, 3),    # 1/3 < 0.5 over 3 answers
             KpCell(5, "math.sub.borrow", 0.0, 2),   # only 2 answers: not yet a weak point
             KpCell(1, "math.add.carry", 3.0, 3)]
    entries = [_entry(4, "open") for _ in range(15)] + [_entry(1, "resolved")] * 20
    out = attention(roster, scores, cells, entries, {"math.add.carry": "进位加法"})
    found = {a.student.id: [(r.code, r.value, r.detail) for r in a.reasons] for a in out}
    assert found == {
        2: [("missing_work", 2, "练习2、练习3")],
        3: [("low_scores", 0.55, "")],
        4: [("falling", 0.2, "练习3"), ("open_errors", 15, "")],
        5: [("weak_points", 1, "进位加法")],
    }
    assert [a.student.id for a in out] == [4, 2, 3, 5]  # most reasons first, then roster
    weak = next(a for a in out if a.student.id == 5).reasons[0]
    assert weak.answers == "/api/v1/analytics/answers?student_id=5&kp=math.add.carry"


def test_heat_bins_and_palette_shared_with_the_pages() -> None:
    assert [heat_bin(r) for r in (0.0, 0.39, 0.4, 0.59, 0.6, 0.74, 0.75, 0.89, 0.9, 1.0)] == \
        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    css = (Path(__file__).resolve().parents[2] / "service" / "web" / "static" /
           "analytics.css").read_text("utf-8")
    for i, colour in enumerate(HEAT):
        assert re.search(rf"\.heat-{i} {{ background: {colour};", css), colour
    for i, colour in enumerate(SERIES):
        assert f".series-{i} {{ fill: {colour}; stroke: {colour}; }}" in css


@pytest.mark.parametrize("rate", [-0.2, 1.3])
def test_heat_bin_clamps_out_of_range(rate: float) -> None:
    assert heat_bin(rate) in (0, 4)
