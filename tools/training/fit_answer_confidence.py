"""Fit the calibrated answer confidence (``ocr.reading.confidence``) on calibration-split pages.

Reproduces ``models/answer_confidence.json``:

    .venv/bin/python -m tools.training.fit_answer_confidence

(defaults: 4 x 300 pages of the page benchmark's worksheet, seeds 4242, 4343, 500 and 501,
glyphs of the ``calib`` split only: about 12,200 written answers; 2 worker processes,
about 6 minutes on the 2-core development box). Every page is composed, packed into a
copier-like PDF and read by the product's own pipeline (``ocr.pipeline.read_page`` with
``ocr.reading.default.build_default_recognizer``), so the model learns from the crops the product
really cuts. Each written crop's readers' evidence is recorded, and a logistic model of
"the winner is the truth" is fitted over ``ocr.reading.confidence.FEATURES`` (Newton's method,
L2 penalty 1 on standardised features). It prints, per seed held out, how much of that
seed's answers the model and the plain posterior share can accept at 99.5% right, so a
refit shows its gain, and how well the page benchmark's threshold rule transfers: chosen
on two seeds' pages and applied to each half of every other seed, how often the share
right above it falls under 99.5% (``transfer_pairs``). The ``test`` split is never read.
Refit whenever a reader or the ensemble's weights change: the features are those
readers' evidence. Then print the sha256 and copy it into ``models/manifest.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from grading.written_keys import written_keys
from ocr.ingest import IngestLimits, PageImage, iter_pages
from ocr.pipeline import TemplatePage, read_page
from ocr.reading.confidence import FEATURES, ConfidenceModel
from ocr.reading.ensemble import (
    NUMERAL_ALPHABETS,
    EnsembleOptions,
    Evidence,
    evidence_features,
    rank_candidates,
)
from simulation.bench_worksheet import (
    build_worksheet,
    make_pages,
    realistic_answers,
    template_of,
    to_pdf,
)
from simulation.calibration import choose_threshold
from simulation.unseen import drill_questions, plausible_answers
from simulation.writers import unseen_writer_bank
from tools.training.mnist_idx import DATASETS_DIR

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "models" / "answer_confidence.json"
_worker: dict[str, Any] = {}


class _OneByOne:
    """Reads crops one at a time so each written crop's evidence is known to be its own."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.log: list[tuple[str | None, list[Evidence]]] = []

    # The product verifies every answer against its key: so must the evidence fitted here.
    verifies_keys = True

    def recognize(self, crops: Any, *, alphabet: Any = None, length: Any = None,
                  expected: Any = None) -> list[Any]:
        out = []
        for i, crop in enumerate(crops):
            self.inner.evidence_log = []
            keys = [expected[i]] if expected is not None else None
            out.extend(self.inner.recognize([crop], alphabet=alphabet, length=length,
                                            expected=keys))
            evidence = self.inner.evidence_log[0] if self.inner.evidence_log else []
            self.log.append((alphabet.name if alphabet is not None else None, evidence))
        return out


def _init(template: TemplatePage) -> None:
    import cv2

    from ocr.reading.default import build_default_recognizer

    cv2.setNumThreads(1)
    _worker["template"] = template
    # The evidence must come from the readers alone, not from a model being replaced.
    _worker["reader"] = _OneByOne(build_default_recognizer(calibrated=False))


def _read(page: PageImage) -> tuple[int, list[tuple[str, int, str | None, list[Evidence]]]]:
    """(page index, [(question id, blank, alphabet, evidence)] for each crop read)."""
    reader: _OneByOne = _worker["reader"]
    reader.log = []
    result = read_page(page, lambda code: _worker["template"], reader)
    pending = [a for a in result.answers if a.marks is None and a.status not in
               ("blank", "misaligned")]
    if len(pending) != len(reader.log):
        raise RuntimeError(f"page {page.index}: {len(pending)} crops read, "
                           f"{len(reader.log)} logged")
    return result.index, [(a.question_id, a.blank, alpha, ev)
                          for a, (alpha, ev) in zip(pending, reader.log, strict=True)]


def collect(seed: int, pages: int, workers: int, mnist_idx: Path | None = None
            ) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Features, right/wrong, alphabet and page index of every written crop the readers
    decided.

    With ``mnist_idx`` the pages are the unseen-writer benchmark's drill written by MNIST's
    calibration writers (``simulation.writers``); without, the page benchmark's worksheet
    written with the shared ``calib`` split.
    """
    if mnist_idx is not None:
        questions = drill_questions(30, seed)
        layout, printed, blank, by_id = build_worksheet(questions=questions, title="口算")
        bank = unseen_writer_bank(mnist_idx, DATASETS_DIR, "calib")
        answer_for = plausible_answers(by_id)
    else:
        layout, printed, blank, by_id = build_worksheet()
        bank, answer_for = None, realistic_answers(by_id)
    template = template_of(layout, blank).with_expected(
        lambda qid, b: written_keys(by_id[qid], b) if qid in by_id else ())
    filled = make_pages(layout, printed, "calib", pages, seed, answer_for,
                        datasets=DATASETS_DIR, bank=bank)
    rows, right, alphabets, page_of = [], [], [], []
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "calib.pdf"
        pdf.write_bytes(to_pdf(filled))
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init,
                                 initargs=(template,)) as pool:
            for index, crops in pool.map(_read, iter_pages(pdf, IngestLimits())):
                for qid, blank_no, alpha, evidence in crops:
                    if not evidence:
                        continue
                    cands, post = rank_candidates(evidence, EnsembleOptions(),
                                                  numeral=alpha in NUMERAL_ALPHABETS)
                    if not cands:
                        continue
                    truth = filled[index].written[(qid, blank_no)]
                    rows.append(evidence_features(cands, post))
                    right.append(cands[int(np.argmax(post))].text == truth)
                    alphabets.append(alpha or "")
                    page_of.append(index)
    return np.array(rows), np.array(right, np.float64), alphabets, np.array(page_of)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mean, scale, weights, bias) of an L2-penalised logistic regression (Newton)."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    z = np.c_[np.ones(len(x)), (x - mean) / scale]
    w = np.zeros(z.shape[1])
    penalty = l2 * np.diag(np.r_[0.0, np.ones(z.shape[1] - 1)])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -40, 40)))
        grad = z.T @ (p - y) + penalty @ w
        hess = (z * (p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return mean, scale, w[1:], float(w[0])


def coverage_at(score: np.ndarray, right: np.ndarray, target: float = 0.995) -> float:
    """Largest share of answers, most confident first, that is at least ``target`` right."""
    order = np.argsort(-score, kind="stable")
    acc = np.cumsum(right[order]) / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(acc >= target)
    return float((ok.max() + 1) / len(order)) if ok.size else 0.0


Scored = tuple[np.ndarray, np.ndarray]  # (confidence, right as 0/1) of a set's answers


def transfer_pairs(pairs: list[tuple[Scored, Scored]], z: float = 1.2816,
                   target: float = 0.995, fresh_ratio: float | None = None
                   ) -> list[tuple[float, float]]:
    """Choose the page benchmark's threshold on one set, apply it to a fresh one.

    The page benchmark picks its auto-accept threshold on calibration pages and reports
    the share right above it on other pages; how often that share falls under ``target``
    on fresh pages is what this measures, on calibration data alone.

    Args:
        pairs: (set the threshold is chosen on, fresh set it is applied to).
        z, fresh_ratio: The benchmark's rule (``simulation.calibration.choose_threshold``).
        target: Share right the threshold must give.

    Returns:
        (share right above the threshold, share of answers above it) on each fresh set;
        the share right is 1.0 where nothing is above it.
    """
    out = []
    for (conf_c, right_c), (conf_f, right_f) in pairs:
        written = [("1", "1" if r else "0", "", float(c)) for c, r in zip(conf_c, right_c,
                                                                          strict=True)]
        threshold = choose_threshold(written, target, z, fresh_ratio)
        above = conf_f >= threshold
        share = float(right_f[above].mean()) if above.any() else 1.0
        out.append((share, float(above.mean())))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seeds", default="4242,4343,500,501",
                        help="comma-separated page seeds; each is held out once")
    parser.add_argument("--pages", type=int, default=300, help="calibration pages per seed")
    parser.add_argument("--workers", type=int, default=2, help="reading processes")
    parser.add_argument("--out", type=Path, default=OUT, help="where the model JSON is written")
    parser.add_argument("--mnist-idx", type=Path,
                        help="MNIST IDX folder: fit on MNIST's calibration writers "
                             "(simulation.writers), never on a writer the readers trained on")
    parser.add_argument("--calib-z", type=float, default=1.2816,
                        help="z of the page benchmark's threshold rule, for the transfer study")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    t0 = time.time()
    parts = {s: collect(s, args.pages, args.workers, args.mnist_idx) for s in seeds}
    x = np.concatenate([p[0] for p in parts.values()])
    y = np.concatenate([p[1] for p in parts.values()])
    alphabets = sorted({a for p in parts.values() for a in p[2] if a})
    _say(f"{len(y)} written answers decided by the readers, {y.mean():.2%} right, "
          f"formats {alphabets} ({time.time() - t0:.0f} s)")
    held_out_conf: dict[int, np.ndarray] = {}
    for held in seeds if len(seeds) > 1 else []:
        rest = [s for s in seeds if s != held]
        mean, scale, w, b = fit_logistic(np.concatenate([parts[s][0] for s in rest]),
                                         np.concatenate([parts[s][1] for s in rest]))
        model = ConfidenceModel(frozenset(alphabets), tuple(mean), tuple(scale), tuple(w), b)
        hx, hy = parts[held][0], parts[held][1]
        learned = np.array([model.probability(f) for f in hx])
        held_out_conf[held] = learned
        posterior = 1.0 - np.exp(hx[:, 0])  # feature 0 is log(1 - winner's share)
        _say(f"seed {held} held out: share accepted at 99.5% right: calibrated model "
              f"{coverage_at(learned, hy):.1%}, posterior share {coverage_at(posterior, hy):.1%}")
    if len(held_out_conf) >= 3:
        # As the page benchmark does: a threshold chosen on two seeds' pages (600 by
        # default) with the predictive rule, applied to each half of every other seed;
        # every answer is scored by a model that never saw its seed.
        half = args.pages // 2
        halves = {s: [(held_out_conf[s][sel], parts[s][1][sel])
                      for sel in (parts[s][3] < half, parts[s][3] >= half)] for s in seeds}
        pairs = [((np.concatenate([held_out_conf[a], held_out_conf[b]]),
                   np.concatenate([parts[a][1], parts[b][1]])), fresh)
                 for a, b in itertools.combinations(seeds, 2)
                 for s in seeds if s not in (a, b) for fresh in halves[s]]
        found = np.array(transfer_pairs(pairs, args.calib_z,
                                        fresh_ratio=half / (2 * args.pages)))
        _say(f"threshold transfer ({2 * args.pages} pages chosen -> {half} fresh, predictive "
             f"Wilson z={args.calib_z:g}): {int((found[:, 0] < 0.995).sum())} of "
             f"{len(found)} under 99.5% right, lowest {found[:, 0].min():.2%}, mean "
             f"coverage {found[:, 1].mean():.1%}")
    mean, scale, w, b = fit_logistic(x, y)
    model = ConfidenceModel(frozenset(alphabets), tuple(float(v) for v in mean),
                            tuple(float(v) for v in scale), tuple(float(v) for v in w), b,
                            fitted_on=("MNIST calibration writers, unseen-writer drill"
                                       if args.mnist_idx else
                                       "calib split, page benchmark worksheet")
                            + f", seeds {args.seeds} x {args.pages} pages, {len(y)} answers")
    args.out.write_text(model.to_json(), "utf-8")
    for name, weight in zip(FEATURES, model.weights, strict=True):
        _say(f"  {weight:+.3f}  {name}")
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    _say(f"wrote {args.out} sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
