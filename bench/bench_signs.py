"""Comparison signs (fill in >, < or =): read by the sign reader, graded by the product.

Data, two parts, each drawn from its own seeds:

- pages: a one-page worksheet of 12 comparison boxes (the sample bank's three comparison
  questions, four times each), filled by the page simulation (``simulation.pages``: the
  key 80% of the time, another sign 20%, in two pen strokes, pen or pencil), scanned like
  a copier and read by the product's path (``ocr.pipeline.read_page``);
- styles: single answer boxes (``simulation.signs``) with a sign in each of seven
  writing styles (the page's, two separate strokes, curved arms, wide, tall, tilted, an
  ``=`` with unequal strokes), and digits and scribbles that are no sign.

``ocr.reading.signs.SignRule``'s thresholds were set from the margins of boxes drawn from
seeds 1, 2, 5 and 110 and checked on ``--split calib`` (seeds 100-); ``--split test``
(seeds 20260-) was read once to report them. Every reading is
graded through the product's review policy for text questions; printed: signs read
exactly, automatic verdicts and how many were wrong, and the no-signs graded unasked.

    .venv/bin/python -m bench.bench_signs [--split calib|test] [--pages 40] [--boxes 40]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from typing import Any

import numpy as np
from pydantic import TypeAdapter

from grading.grade import Verdict
from grading.questions import Question
from grading.response import Response
from grading.review_policy import grade_response
from ocr.ingest import PageImage
from ocr.pipeline import AnswerRead, read_page
from ocr.reading.recognize import FakeRecognizer, Reading
from ocr.reading.signs import read_sign
from ocr.regions import remove_print
from service.jobs.pagework import review_policies
from service.reading import response_from_reads
from simulation.bench_worksheet import DPI, SAMPLE_BANK, build_worksheet, template_of
from simulation.classroom import font_glyph_bank, realistic_answer_for
from simulation.pages import FillOptions, fill_page
from simulation.signs import NEGATIVES, SIGN_STYLES, sign_crop

SEEDS = {"calib": 100, "test": 20260}
COMPARISONS = ("m3-frac-008", "m3-frac-009", "m3-mass-004")


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _questions() -> list[Question]:
    ta: TypeAdapter[Question] = TypeAdapter(Question)
    docs = [d for d in json.loads(SAMPLE_BANK.read_text("utf-8"))["questions"]
            if d["id"] in COMPARISONS]
    return [ta.validate_python({**d, "id": f"{d['id']}-{k}"}) for k in range(4) for d in docs]


def _grade(question: Question, answer: AnswerRead | Reading, written: str) -> str:
    """``right``/``wrong`` for an automatic verdict, ``review`` otherwise."""
    if isinstance(answer, Reading):
        answer = AnswerRead(question.id, 0, "text", answer.status if answer.status != "blank"
                            else "blank", (0, 0, 0, 0), answer.text, answer.confidence,
                            tuple(answer.alternatives))
    policy = review_policies().for_kind(question.kind)
    grade = grade_response(question, response_from_reads([answer]), key_revision=1,
                           policy=policy)
    if not grade.auto or grade.verdict is Verdict.NEEDS_REVIEW:
        return "review"
    truth = grade_response(question, Response.typed(written), key_revision=1)
    return "right" if truth.verdict == grade.verdict else "wrong"


def _tally(counts: Counter[str], read: str, written: str, outcome: str) -> None:
    counts["answers"] += 1
    counts["exact"] += read == written
    counts[outcome] += 1


def _line(name: str, c: Counter[str]) -> str:
    auto = c["right"] + c["wrong"]
    return (f"{name}: {c['answers']} signs, read exactly {c['exact']} "
            f"({c['exact'] / max(c['answers'], 1):.1%}); automatic verdicts {auto} "
            f"({auto / max(c['answers'], 1):.1%}), right {c['right']}, wrong {c['wrong']}; "
            f"to review {c['review']}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and print its lines; returns the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=sorted(SEEDS), default="test")
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--boxes", type=int, default=40, help="boxes per sign and style")
    args = ap.parse_args(argv)
    seed = SEEDS[args.split]
    started = time.perf_counter()
    questions = _questions()
    page, printed, blank, by_id = build_worksheet(questions=questions, title="比大小")
    template = template_of(page, blank)
    keys = {q.id: q.key.blanks[0].accept[0] for q in questions}  # type: ignore[union-attr]
    pages: Counter[str] = Counter()
    for k in range(args.pages):
        filled = fill_page(printed, DPI, page.regions, font_glyph_bank(),
                           np.random.default_rng(seed + k), FillOptions(blank_prob=0.0),
                           answer_for=realistic_answer_for(keys), write_signs=True)
        read = read_page(PageImage(k, filled.image, DPI, "raster"), lambda code: template,
                         FakeRecognizer())
        for a in read.answers:
            written = filled.written[(a.question_id, a.blank)]
            _tally(pages, a.text if a.status == "ok" else "", written,
                   _grade(by_id[a.question_id], a, written))
    styles: dict[str, Counter[str]] = {}
    others: Counter[str] = Counter()
    rng = np.random.default_rng(seed + 10_000)
    question = questions[0]  # key '<'
    for style in SIGN_STYLES:
        counts = styles.setdefault(style, Counter())
        for sign in "<>=":
            for _ in range(args.boxes):
                crop, blank_crop = sign_crop(sign, style, rng)
                r = read_sign(remove_print(crop, blank_crop))
                _tally(counts, r.text if r.status == "ok" else "", sign,
                       _grade(question, r, sign))
    for other in NEGATIVES:
        for _ in range(args.boxes):
            crop, blank_crop = sign_crop(other, "page", rng)
            r = read_sign(remove_print(crop, blank_crop))
            others["answers"] += 1
            others["auto"] += _grade(question, r, other) != "review"
            others["read as a sign"] += r.status == "ok"
    say(f"split {args.split} (seeds {seed}-), {time.perf_counter() - started:.0f} s")
    say(_line(f"pages ({args.pages} x 12 boxes, read_page)", pages))
    total: Counter[str] = Counter()
    for style, counts in styles.items():
        say("  " + _line(f"style {style}", counts))
        total.update(counts)
    say(_line("styles, all", total))
    say(f"no signs (digits {', '.join(NEGATIVES[:-1])} and scribbles): {others['answers']}, "
        f"read as a sign {others['read as a sign']} (sent to review), graded unasked "
        f"{others['auto']}")
    return {"pages": dict(pages), "styles": {s: dict(c) for s, c in styles.items()},
            "no_signs": dict(others)}


if __name__ == "__main__":
    main()
