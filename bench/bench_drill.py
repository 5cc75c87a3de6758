"""Benchmark: free-form arithmetic drill pages (口算), found, read and graded with no layout.

Pages come from ``simulation.drill_pages``: 3-4 columns × 8-10 rows of printed expressions in
the CJK font, answers handwritten with the real handwriting ``test`` split (MNIST +
BHMSDS; ~20% wrong, ~10% blank; ``--split calib`` for choosing settings), scanned at
200/250/300 dpi with skew, blur, noise, JPEG and sometimes binarisation. The configurations
run in the same process on the same pages and the same located items: ``keys`` reads
answers over the alphabet the expression allows and verifies each item's key on the ink
(``service.drill.pages.drill_key_forms``: what the service does), ``masked`` the same
without the keys, ``plain`` unconstrained and without keys (the baseline). Item location
and expression reading are shared, so their figures are the same for all. Items are
graded under the product's review policy for arithmetic (``models/review_policy.json``),
as the service grades them. A second table
scores pages of column arithmetic (竖式: 4-5 × 4-5 items of two operands stacked over a
rule, the result written under it) the same way.

    .venv/bin/python -m bench.bench_drill --pages 20 --vertical-pages 10 [--workers 2] \
        [--split test]

The last line is the throughput: the horizontal pages read whole (orientation check,
items, answers, grades) by ``--workers`` processes, one onnxruntime thread each.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from grading.grade import Verdict
from ocr.drill.items import ItemLayout
from service.drill.pages import (
    DrillEngines,
    DrillItem,
    DrillOptions,
    build_drill_engines,
    drill_key_forms,
    grade_items,
    read_drill_page,
    read_results,
)
from service.drill.pages import locate_items as locate
from service.jobs.pagework import review_policies
from simulation.drill_pages import DrillPageOptions, DrillTruth, make_drill_page
from simulation.handwriting import GlyphBank

# The checkout's shared handwriting datasets (the simulation library takes the folder).
DATASETS_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@dataclass
class Tally:
    """Counts for one configuration."""

    truths: int = 0
    predicted: int = 0
    matched: int = 0
    expr_ok: int = 0
    written: int = 0
    result_ok: int = 0
    blanks: int = 0
    blank_ok: int = 0
    auto: int = 0
    auto_right: int = 0
    wrong_items: int = 0
    wrong_caught: int = 0
    seconds: list[float] = field(default_factory=list)


def match(truths: tuple[DrillTruth, ...], layouts: list[ItemLayout]) -> dict[int, int]:
    """Truth index -> layout index, by the expression box centre falling in the truth box."""
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for ti, t in enumerate(truths):
        x0, y0, x1, y1 = t.box
        pad = (y1 - y0) * 0.5
        for li, la in enumerate(layouts):
            b = la.expression_box
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            if li not in used and x0 - pad <= cx <= x1 + pad and y0 - pad <= cy <= y1 + pad:
                pairs[ti] = li
                used.add(li)
                break
    return pairs


def expected(t: DrillTruth) -> Verdict:
    """The verdict a teacher would give."""
    if not t.written:
        return Verdict.BLANK
    return Verdict.CORRECT if t.correct else Verdict.INCORRECT


def score(tally: Tally, truths: tuple[DrillTruth, ...], layouts: list[ItemLayout],
          items: list[DrillItem], pairs: dict[int, int]) -> None:
    """Add one page's outcome to a tally."""
    tally.truths += len(truths)
    tally.predicted += len(layouts)
    tally.matched += len(pairs)
    for ti, li in pairs.items():
        t, it = truths[ti], items[li]
        tally.expr_ok += it.reading.expression == t.expression
        if t.written:
            tally.written += 1
            tally.result_ok += it.reading.result_status == "ok" and it.reading.result == t.written
        else:
            tally.blanks += 1
            tally.blank_ok += it.reading.result_status == "blank"
        if t.written and not t.correct:
            tally.wrong_items += 1
            tally.wrong_caught += (
                it.grade is not None and not it.needs_review and it.grade.verdict is Verdict.INCORRECT
            )
        if not it.needs_review and it.grade is not None:
            tally.auto += 1
            tally.auto_right += it.grade.verdict is expected(t)


def pct(a: int, b: int) -> str:
    """A percentage with its counts."""
    return f"{100 * a / b:5.1f}% ({a}/{b})" if b else "   n/a"


_ENGINES: DrillEngines | None = None


def _worker_init() -> None:
    global _ENGINES
    import cv2

    cv2.setNumThreads(1)  # one core per worker, as the service runs them
    _ENGINES = build_drill_engines()


def _read_one(image: np.ndarray) -> int:
    assert _ENGINES is not None
    read = read_drill_page(image, _ENGINES.detector, _ENGINES.recognizer,
                           expressions=_ENGINES.expressions)
    return len(read.items)


def throughput(images: list[np.ndarray], workers: int) -> tuple[float, int]:
    """Pages per minute reading whole pages (``read_drill_page``) in worker processes.

    Each worker opens its sessions once (one onnxruntime thread each), then pages are
    handed out one at a time; the clock starts when every worker is ready.
    """
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init) as pool:
        list(pool.map(_read_one, images[:workers]))  # warm: models loaded in each worker
        t0 = time.perf_counter()
        items = sum(pool.map(_read_one, images))
        wall = time.perf_counter() - t0
    return len(images) / wall * 60.0, items


# Column name -> (answer decoding, whether each item's key is verified on the ink).
CONFIGS: dict[str, tuple[Literal["masked", "plain"], bool]] = {"keys (ours)": ("masked", True), "masked": ("masked", False),
           "plain (baseline)": ("plain", False)}


def report(tallies: dict[str, Tally], locate_s: list[float]) -> None:
    """Print one page set's table."""
    print(f"{'':28s}" + "".join(f"{name:>24s}" for name in CONFIGS))
    rows = [
        ("item recall", lambda t: pct(t.matched, t.truths)),
        ("item precision", lambda t: pct(t.matched, t.predicted)),
        ("expression exact", lambda t: pct(t.expr_ok, t.matched)),
        ("result exact (written)", lambda t: pct(t.result_ok, t.written)),
        ("blank seen as blank", lambda t: pct(t.blank_ok, t.blanks)),
        ("automatic verdicts right", lambda t: pct(t.auto_right, t.auto)),
        ("coverage (automatic)", lambda t: pct(t.auto, t.matched)),
        ("wrong answers auto-caught", lambda t: pct(t.wrong_caught, t.wrong_items)),
        ("seconds / page", lambda t: f"{np.mean(t.seconds):9.2f}"),
    ]
    for name, fmt in rows:
        print(f"{name:28s}" + "".join(f"{fmt(tallies[c]):>24s}" for c in CONFIGS))
    print(f"(locating items alone: {np.mean(locate_s):.2f} s/page, shared by all)")


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=20,
                        help="horizontal drill pages to compose and read")
    parser.add_argument("--seed", type=int, default=2024,
                        help="seed of the page composer")
    parser.add_argument("--vertical-pages", type=int, default=10,
                        help="pages of column arithmetic, scored apart (0 skips them)")
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes for the throughput run (0 skips it)")
    parser.add_argument("--split", choices=("calib", "test"), default="test",
                        help="handwriting split (choose settings on calib; report test)")
    args = parser.parse_args()
    bank = GlyphBank.load(args.split, DATASETS_DIR)
    engines = build_drill_engines()
    rng = np.random.default_rng(args.seed)
    images: list[np.ndarray] = []
    sets = [("horizontal", args.pages, DrillPageOptions())]
    if args.vertical_pages:
        sets.append(("vertical (column arithmetic)", args.vertical_pages,
                     DrillPageOptions(layout="vertical")))
    for label, n, page_options in sets:
        tallies = {name: Tally() for name in CONFIGS}
        # The product's review policy for arithmetic, as the service grades drill items.
        policy = review_policies().for_kind("arithmetic")
        options = {mode: DrillOptions(result_decoding=mode, policy=policy)
                   for mode in ("masked", "plain")}
        locate_s: list[float] = []
        for _ in range(n):
            page = make_drill_page(bank, rng, page_options)
            if page_options.layout == "horizontal":
                images.append(page.image)  # throughput is measured on these, as before
            t0 = time.perf_counter()
            layouts = locate(page.image, engines.detector, engines.expressions)
            locate_s.append(time.perf_counter() - t0)
            pairs = match(page.items, layouts)
            for name, tally in tallies.items():
                mode, keys = CONFIGS[name]
                t1 = time.perf_counter()
                readings = read_results(page.image, layouts, engines.recognizer, mode,
                                        drill_key_forms if keys else None)
                items = grade_items(layouts, readings, options[mode])
                tally.seconds.append(locate_s[-1] + time.perf_counter() - t1)
                score(tally, page.items, layouts, items, pairs)
        print(f"drill pages, {label}: {n} synthetic pages (seed {args.seed}), "
              f"{args.split}-split handwriting")
        report(tallies, locate_s)
    if args.workers > 0:
        ppm, n_items = throughput(images, args.workers)
        print(f"throughput, horizontal pages read whole (read_drill_page) in {args.workers} worker processes: "
              f"{ppm:.1f} pages/min, {n_items} items (target >= 40 pages/min)")


if __name__ == "__main__":
    main()
