"""Whose paper is it: anonymous copies identified by the handwritten name (synthetic).

Data: classes of 40 plausible Chinese names (``simulation.names.class_names``: shared
surnames, pinyin homophones), each page's name written into the name box of a blank copy
in a Kai font with per-character jitter (``simulation.names.write_name``: a SYNTHETIC
stand-in, far tidier than a child's hand, so these figures bound the name's value from
above), the page copier-degraded without binarisation (skew, blur, noise, JPEG) and read
by ``ocr.students.name`` (PP-OCR over its whole charset, every roster name scored by
forced alignment of its written forms). Variants: ``font`` (the font's own strokes),
``wobbly`` (strokes bent by a random displacement field), ``pinyin`` (the name written
in pinyin), and ``off-roster`` (a name that is not in the class: no right answer exists,
so any posterior of 0.99 or more is a confident wrong assignment). Printed per variant:
top-1 accuracy, how often the true name's posterior is at least 0.99, and how often a
wrong name's is, closed-set and with the "not on the roster" hypothesis
(``UNLISTED_LOG_ODDS``). ``length`` checks that names one character shorter or longer than the
written one (added to the roster as decoys) do not beat it.

    .venv/bin/python -m bench.bench_names [--pages 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from ocr.align import align_with_markers
from ocr.identify import identify_page
from ocr.students.name import UNLISTED_LOG_ODDS, name_posteriors, read_name
from simulation.bench_worksheet import DPI, build_worksheet
from simulation.names import GIVEN, class_names, write_name
from simulation.pages import FillOptions, degrade_page
from simulation.unseen import drill_questions

SURE = 0.99
COPIER = FillOptions(binarise_prob=0.0, jpeg_quality=(50, 85))


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _pinyin(name: str, rng: np.random.Generator) -> str:
    from pypinyin import lazy_pinyin

    syl = lazy_pinyin(name)
    return " ".join(syl) if rng.random() < 0.5 else \
        syl[0].capitalize() + " " + "".join(syl[1:]).capitalize()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--pages", type=int, default=100, help="name boxes per variant")
    args = parser.parse_args(argv)
    from ocr.reading.default import build_default_recognizer

    t0 = time.time()
    layout, printed, blank, _ = build_worksheet(questions=drill_questions(30, 23),
                                                title="四年级 口算")
    recognizer = build_default_recognizer()
    markers = [(m.marker_id, m.box) for m in layout.markers]
    out: dict[str, Any] = {}

    def read(written: str, rng: np.random.Generator, distort: float) -> Any:
        page = printed.copy()
        write_name(page, DPI / 72, layout.name_box, written, rng, distort=distort)
        scan = degrade_page(page.astype(np.float32) / 255.0, rng, COPIER)
        _, upright = identify_page(scan)
        alignment = align_with_markers(upright, markers)
        if alignment is None:
            return None
        return read_name(upright, alignment, blank, DPI / 72, layout.name_box, recognizer)

    variants = (("font", 0.0), ("wobbly", 0.08), ("pinyin", 0.04), ("off-roster", 0.04))
    for seed, (variant, distort) in enumerate(variants):
        rng = np.random.default_rng(seed)
        right = true_sure = wrong_sure = unread = open_true = open_wrong = 0
        truths: list[float] = []
        for k in range(args.pages):
            if k % 40 == 0:
                roster = class_names(41, rng)
            outsider = roster[40]
            names = roster[:40]
            child = int(rng.integers(40))
            if variant == "off-roster":
                written = outsider
            elif variant == "pinyin":
                written = _pinyin(names[child], rng)
            else:
                written = names[child]
            ev = read(written, rng, distort)
            if ev is None:
                unread += 1
                continue
            post = name_posteriors(ev, names)
            best = int(np.argmax(post))
            opened = name_posteriors(ev, names, unlisted_log_odds=UNLISTED_LOG_ODDS)
            if variant == "off-roster":
                wrong_sure += post[best] >= SURE
                open_wrong += max(opened) >= SURE
                continue
            open_true += opened[child] >= SURE
            open_wrong += best != child and opened[best] >= SURE
            right += best == child
            truths.append(post[child])
            true_sure += post[child] >= SURE
            wrong_sure += best != child and post[best] >= SURE
        n = args.pages
        if variant == "off-roster":
            say(f"{variant}: {n} names not in the class, a roster name given >= {SURE}: "
                f"{wrong_sure}; with the unlisted hypothesis {open_wrong} "
                f"({time.time() - t0:.0f} s)")
            out[f"{variant}: confident wrong"] = wrong_sure
            out[f"{variant}: confident wrong, unlisted"] = open_wrong
            continue
        q = np.percentile(truths, [5, 25, 50]) if truths else [0, 0, 0]
        say(f"{variant}: top-1 {right / n:.1%}, true posterior >= {SURE} {true_sure / n:.1%}, "
            f"wrong name >= {SURE} {wrong_sure}, no ink/unaligned {unread}; true posterior "
            f"p5/p25/p50 {q[0]:.3f}/{q[1]:.3f}/{q[2]:.3f}; with the unlisted hypothesis: "
            f"true >= {SURE} {open_true / n:.1%}, wrong >= {SURE} {open_wrong} "
            f"({time.time() - t0:.0f} s)")
        out[f"{variant}: top-1"] = f"{right / n:.1%}"
        out[f"{variant}: confident wrong"] = wrong_sure

    # Length: the written name against decoys one character shorter and longer.
    rng = np.random.default_rng(7)
    beaten = total = 0
    for _ in range(max(10, args.pages // 4)):
        names = class_names(40, rng)
        written = names[0]
        decoys = [written[:-1], written + GIVEN[int(rng.integers(len(GIVEN)))]]
        decoys = [d for d in decoys if len(d) >= 2 and d not in names]
        ev = read(written, rng, 0.04)
        if ev is None or not decoys:
            continue
        post = name_posteriors(ev, [*names, *decoys])
        total += 1
        beaten += max(post[40:]) > post[0]
    say(f"length: a decoy one character shorter or longer beat the written name on "
        f"{beaten} of {total} boxes")
    out["length: decoy wins"] = beaten
    return out


if __name__ == "__main__":
    main()
