"""The review-policy bench's measurement computes its two figures correctly (on hand-made
lines; the real measurement needs the scan reader's output)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grading.review_policy import ReviewPolicy
from simulation.review_eval import choose_policy, evaluate, load_records, measure

QUESTION = {
    "kind": "arithmetic",
    "id": "a1",
    "subject": "math",
    "grade": 2,
    "stem": "37 + 48 =",
    "knowledge_points": ["math.add"],
}


def _line(i: int, response: dict[str, object], truth: dict[str, object]) -> str:
    return json.dumps(
        {"id": f"r{i}", "question": QUESTION, "response": response, "truth": truth},
        ensure_ascii=False,
    )


def test_bench_counts_accuracy_and_coverage(tmp_path: Path) -> None:
    lines = [
        _line(1, {"text": "85", "confidence": 0.99}, {"text": "85"}),  # auto, agrees
        _line(2, {"text": "85", "confidence": 0.99}, {"text": "65"}),  # auto, disagrees
        _line(
            3,
            {
                "text": "85",
                "confidence": 0.97,
                "alternatives": [{"text": "65", "probability": 0.3}],
            },
            {"text": "65"},
        ),  # review
        _line(4, {"status": "blank", "confidence": 0.99}, {"blank": True}),  # auto blank
    ]
    path = tmp_path / "readings.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = evaluate(load_records(path), ReviewPolicy())
    assert (result.total, result.non_blank, result.auto, result.auto_agree) == (4, 3, 3, 2)
    assert result.coverage == pytest.approx(2 / 3)
    assert result.accuracy == pytest.approx(2 / 3)
    report = measure([str(path), "--sweep", "0.9,0.99"])
    assert "coverage" in report.figures
    assert "coverage" in "\n".join(report.lines)


def test_bench_without_readings_says_it_was_skipped() -> None:
    assert measure([]).figures == {"status": "skipped: no reader output"}


def test_bench_reports_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(_line(1, {"text": "85"}, {"text": "85"}) + '\n{"id": 2}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=":2:"):
        load_records(path)


def test_choose_on_calibration_then_measure_on_test(tmp_path: Path) -> None:
    # Calibration: a 0.9-confident right reading and a 0.8-confident wrong one. Only an
    # accept threshold above 0.8 keeps every automatic verdict right.
    calib = [
        _line(1, {"text": "85", "confidence": 0.9}, {"text": "85"}),
        _line(2, {"text": "85", "confidence": 0.8}, {"text": "65"}),
        _line(3, {"text": "65", "confidence": 0.99}, {"text": "65"}),
    ]
    test = [
        _line(1, {"text": "85", "confidence": 0.95}, {"text": "85"}),
        _line(2, {"text": "85", "confidence": 0.7}, {"text": "65"}),
    ]
    cpath, tpath = tmp_path / "calib.jsonl", tmp_path / "test.jsonl"
    cpath.write_text("\n".join(calib) + "\n", encoding="utf-8")
    tpath.write_text("\n".join(test) + "\n", encoding="utf-8")
    chosen = choose_policy(load_records(cpath), 0.995)
    assert chosen is not None
    policy, result = chosen
    assert 0.8 < policy.accept_threshold <= 0.9
    assert result.accuracy == 1.0
    assert result.coverage == pytest.approx(2 / 3)
    report = measure([str(tpath), "--choose-on", str(cpath)])
    assert "chosen on" in "\n".join(report.lines)
    assert report.figures["coverage"].startswith("50.00%")
    assert choose_policy(load_records(cpath), 1.01) is None
