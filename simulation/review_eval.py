"""Measure a review policy on labelled readings: accuracy of automatic verdicts and coverage.

The logic of ``bench/bench_review_policy.py`` (which prints what :func:`measure` reports),
kept here so that tests exercise it without importing the bench. The input is a JSON-lines file written
from the scan reader's output on the real-handwriting benchmark (one line per answer area)::

    {"id": "p3-q12-s07",                      # any unique id
     "question": {...},                       # the question, as in the bank (kind, key, ...)
     "key_revision": 1,                       # optional, default 1
     "response": {...},                       # grading.response.Response as JSON: status,
                                              #   text/blanks, alternatives, confidence, marks
     "truth": {"text": "85"}}                 # what the student really wrote, as a teacher
                                              #   reads it: text, blanks or marked, or
                                              #   {"blank": true}

The truth is graded as a teacher-typed response; an automatic verdict agrees when its verdict
and score equal the truth's. Coverage is the share of non-blank answers (by the truth)
decided automatically.

``--choose-on`` picks the settings on a calibration file only (a grid of accept thresholds
and alternative floors: the widest coverage whose accuracy reaches ``--target`` there) and
then measures those fixed settings on the test file, so the reported figures were not tuned
on the data they are measured on. Without a file argument (and no default from the bench,
which passes ``$MARKBOOK_BENCH_READINGS``) :func:`measure` reports that it was skipped: it
needs the real reader's output and never invents any.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from grading.grade import Grade
from grading.questions import Question
from grading.registry import grader_for
from grading.response import Response
from grading.review_policy import ReviewPolicy, decide

__all__ = [
    "ACCEPT_GRID",
    "FLOOR_GRID",
    "UPGRADE_GRID",
    "BenchRecord",
    "BenchResult",
    "Report",
    "build_parser",
    "choose_policy",
    "evaluate",
    "load_records",
    "measure",
]

ACCEPT_GRID = (0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.99)
FLOOR_GRID = (0.05, 0.1, 0.15, 0.2, 0.3)
UPGRADE_GRID: tuple[float | None, ...] = (None, 0.002, 0.005, 0.01)

_QUESTION = TypeAdapter(Question)


@dataclass(frozen=True)
class BenchRecord:
    """One answer area: the question, the reader's response, and the truth."""

    id: str
    question: Any
    response: Response
    truth: Response
    key_revision: int = 1


@dataclass
class BenchResult:
    """Counts behind the two figures, plus the disagreements for inspection."""

    total: int = 0
    non_blank: int = 0
    auto: int = 0
    auto_non_blank: int = 0
    auto_agree: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    wrong: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Share of automatic verdicts that agree with the truth."""
        return self.auto_agree / self.auto if self.auto else float("nan")

    @property
    def coverage(self) -> float:
        """Share of non-blank answers decided automatically."""
        return self.auto_non_blank / self.non_blank if self.non_blank else float("nan")


def _truth_response(truth: dict[str, Any]) -> Response:
    if truth.get("blank"):
        return Response.typed("")
    marked = truth.get("marked")
    return Response.typed(
        str(truth.get("text", "")),
        blanks=tuple(truth.get("blanks", ())),
        marked=tuple(marked) if marked is not None else None,
    )


def load_records(path: Path) -> list[BenchRecord]:
    """Read and validate the JSON-lines file (a bad line is an error with its number)."""
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                records.append(
                    BenchRecord(
                        id=str(raw["id"]),
                        question=_QUESTION.validate_python(raw["question"]),
                        response=Response.model_validate(raw["response"]),
                        truth=_truth_response(raw["truth"]),
                        key_revision=int(raw.get("key_revision", 1)),
                    )
                )
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
    return records


def _same(a: Grade, b: Grade) -> bool:
    return a.verdict == b.verdict and a.score == b.score


def evaluate(records: list[BenchRecord], policy: ReviewPolicy) -> BenchResult:
    """Run the policy over every record and count agreement and coverage."""
    result = BenchResult()
    for rec in records:
        grader = grader_for(rec.question)
        truth = grader.grade(rec.truth, key_revision=rec.key_revision)
        decided = decide(grader, rec.response, key_revision=rec.key_revision, policy=policy)
        result.total += 1
        non_blank = truth.verdict != "blank"
        result.non_blank += non_blank
        if decided.auto:
            result.auto += 1
            result.auto_non_blank += non_blank
            if _same(decided, truth):
                result.auto_agree += 1
            else:
                result.by_kind[rec.question.kind] += 1
                result.wrong.append((rec.id, decided.verdict.value, truth.verdict.value))
    return result


def choose_policy(
    records: list[BenchRecord],
    target: float,
    accepts: tuple[float, ...] = ACCEPT_GRID,
    floors: tuple[float, ...] = FLOOR_GRID,
    upgrades: tuple[float | None, ...] = UPGRADE_GRID,
) -> tuple[ReviewPolicy, BenchResult] | None:
    """The grid setting with the widest coverage whose accuracy reaches ``target``.

    Ties in coverage go to the more cautious setting (higher threshold, lower floors).

    Args:
        records: Calibration records (never the ones the result will be reported on).
        target: Required accuracy of automatic verdicts on these records (add a margin
            for sampling error: one standard error is ~0.2 points at 1,700 verdicts).
        accepts: Accept thresholds tried.
        floors: Alternative floors tried.
        upgrades: Upgrade floors tried (None: the alternative floor).

    Returns:
        The chosen policy with its calibration result, or None if no setting reaches the
        target.
    """
    best: tuple[tuple[float, float, float, float], ReviewPolicy, BenchResult] | None = None
    for accept in accepts:
        for floor in floors:
            for upgrade in upgrades:
                policy = ReviewPolicy(accept_threshold=accept, alt_floor=floor,
                                      upgrade_floor=upgrade)
                res = evaluate(records, policy)
                if not res.auto or res.accuracy < target:
                    continue
                low = floor if upgrade is None else min(floor, upgrade)
                rank = (res.coverage, accept, -floor, low)
                if best is None or rank > best[0]:
                    best = (rank, policy, res)
    return None if best is None else (best[1], best[2])


def _floor_or_none(text: str) -> float | None:
    return None if text.lower() == "none" else float(text)


@dataclass(frozen=True)
class Report:
    """What a measurement found: the printed report, and its headline figures."""

    lines: list[str]
    figures: dict[str, str]


def build_parser(default_readings: Path | None = None) -> argparse.ArgumentParser:
    """The benchmark's command line (see ``bench/bench_review_policy.py``)."""
    parser = argparse.ArgumentParser(
        prog="bench_review_policy",
        description="Measure the review policy on the scan reader's labelled output.")
    parser.add_argument(
        "readings", type=Path, nargs="?", default=default_readings,
        help="JSON lines of readings with their truth (default $MARKBOOK_BENCH_READINGS)"
    )
    parser.add_argument("--accept", type=float, default=ReviewPolicy().accept_threshold,
                        help="accept threshold of the policy measured")
    parser.add_argument("--alt-floor", type=float, default=ReviewPolicy().alt_floor,
                        help="alternative floor of the policy measured")
    parser.add_argument("--sweep", default="", help="comma-separated accept thresholds")
    parser.add_argument("--choose-on", type=Path,
                        help="calibration JSON lines: choose accept and floor there only")
    parser.add_argument("--target", type=float, default=0.995,
                        help="accuracy the automatic verdicts must reach (default 0.995)")
    parser.add_argument("--margin", type=float, default=0.002,
                        help="added to --target on the calibration file, for its sampling "
                             "error (default 0.002, about one standard error)")
    parser.add_argument("--upgrade-floor", type=_floor_or_none,
                        default=ReviewPolicy().upgrade_floor,
                        help="floor for alternatives that would earn more, or 'none'")
    return parser


def measure(argv: list[str], default_readings: Path | None = None) -> Report:
    """Accuracy and coverage for one policy, or a sweep of accept thresholds.

    Args:
        argv: The benchmark's command-line arguments (:func:`build_parser`).
        default_readings: The readings file when ``argv`` names none.

    Returns:
        The report's lines and the headline figures for ``bench/run_all.py`` (of the last
        threshold run).
    """
    args = build_parser(default_readings).parse_args(argv)
    lines: list[str] = []
    if args.readings is None:
        lines.append(
            "skipped: no reading results given (needs the scan reader's output on the "
            "real-handwriting benchmark; pass a JSON-lines file or set "
            "MARKBOOK_BENCH_READINGS)"
        )
        return Report(lines, {"status": "skipped: no reader output"})
    records = load_records(Path(args.readings))
    if args.choose_on is not None:
        need = args.target + args.margin
        chosen = choose_policy(load_records(args.choose_on), need)
        if chosen is None:
            lines.append(f"no setting reaches {need:.2%} on {args.choose_on}")
            return Report(lines,
                          {"status": "no setting reaches the target on the calibration file"})
        policy, calib = chosen
        lines.append(
            f"chosen on {args.choose_on} ({calib.total} answer areas, needing {need:.2%}): "
            f"accept {policy.accept_threshold:.3f}, alt floor {policy.alt_floor:.3f}, "
            f"upgrade floor {policy.upgrade_floor} -> {calib.accuracy:.2%} right, "
            f"coverage {calib.coverage:.2%}"
        )
        args.accept, args.alt_floor, args.sweep = policy.accept_threshold, policy.alt_floor, ""
        args.upgrade_floor = policy.upgrade_floor
    thresholds = [float(t) for t in args.sweep.split(",") if t] or [args.accept]
    lines.append(f"{len(records)} answer areas from {args.readings}")
    lines.append(f"{'accept':>7} {'floor':>6} {'auto':>6} {'accuracy':>9} {'coverage':>9}")
    res = BenchResult()
    for threshold in thresholds:
        policy = ReviewPolicy(accept_threshold=threshold, alt_floor=args.alt_floor,
                              upgrade_floor=args.upgrade_floor)
        res = evaluate(records, policy)
        lines.append(
            f"{threshold:7.3f} {args.alt_floor:6.3f} {res.auto:6d} "
            f"{res.accuracy:9.2%} {res.coverage:9.2%}"
        )
    if len(thresholds) == 1 and res.wrong:
        lines.append("automatic verdicts that disagree with the truth (id, auto, truth):")
        lines.extend("   " + " ".join(row) for row in res.wrong[:20])
    return Report(lines, {
        "auto-verdict accuracy": f"{res.accuracy:.2%} (target >= 99.5%)",
        "coverage": f"{res.coverage:.2%} (target >= 90%)",
    })
