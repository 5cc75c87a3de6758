"""Measure the review policy on real reading results: accuracy of automatic verdicts and
coverage.

Reads the JSON lines ``bench/bench_scan_pages.py --readings-out`` writes (the scan reader's
output on the real-handwriting pages, with the truth; format in ``simulation.review_eval``).
An automatic verdict agrees when its verdict and score equal those of the truth graded as a
teacher-typed response; coverage is the share of non-blank answers decided automatically.
Targets from the issue: accuracy >= 99.5 %, coverage >= 90 %.

Usage (from the repository root, the package installed with ``pip install -e .``)::

    .venv/bin/python -m bench.bench_scan_pages --pages 150 --calib-pages 100 \\
        --answers realistic --readings-out /tmp/r.jsonl
    .venv/bin/python -m bench.bench_review_policy /tmp/r.jsonl [--accept 0.95] \\
        [--alt-floor 0.05] [--sweep 0.8,0.9,0.95,0.98]
    .venv/bin/python -m bench.bench_review_policy /tmp/r.jsonl --choose-on /tmp/r-calib.jsonl \\
        [--target 0.995]

``--choose-on`` picks the settings on the calibration file only, then measures them on the
test file. Without a file argument it reads ``$MARKBOOK_BENCH_READINGS``; with neither (as
under ``bench/run_all.py``) it reports that it was skipped: it ships no readings of its own.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from simulation.review_eval import measure


def main(argv: list[str] | None = None) -> dict[str, str]:
    """Print the report and return its headline figures (for ``bench/run_all.py``)."""
    env = os.environ.get("MARKBOOK_BENCH_READINGS")
    report = measure(sys.argv[1:] if argv is None else argv, Path(env) if env else None)
    print("\n".join(report.lines))
    return report.figures


if __name__ == "__main__":
    main()
