"""Choose the answer ensemble's weights on the ``calib`` split (never on ``test``).

Each calib crop is read once by all three readers, every candidate's evidence is kept
(``EnsembleRecognizer.evidence_log``), and the weights are then searched offline: the
grid point with the most exact readings wins (ties go to the smaller hand weight), and
the temperature is the one with the lowest log-loss of the truth at that point. The
defaults in ``ocr.reading.ensemble.EnsembleOptions`` were set from this script's output.

    .venv/bin/python -m bench.tune_answer_ensemble --n 1500
"""

from __future__ import annotations

import argparse
import itertools
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from models.loader import open_session
from models.manifest import ANSWER_LINE_READER, DIGIT_CLASSIFIER, PPOCR_REC_SMALL
from ocr.reading.ctc import ALPHABETS
from ocr.reading.ensemble import EnsembleOptions, EnsembleRecognizer, Evidence, combined_score
from ocr.reading.glyphs import GlyphClassifier
from ocr.reading.hand_reader import HandLineReader
from ocr.reading.recognize import PPOCRRecognizer
from simulation.handwriting import GlyphBank, compose_answer, random_numeric_answer

# The checkout's shared handwriting datasets (the simulation library takes the folder).
DATASETS_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def collect(n: int, seed: int) -> list[tuple[str, list[Evidence]]]:
    """(truth, candidates' evidence) for ``n`` composed calib crops."""
    ens = EnsembleRecognizer(
        PPOCRRecognizer(open_session(PPOCR_REC_SMALL)),
        GlyphClassifier(open_session(DIGIT_CLASSIFIER)),
        hand=HandLineReader(open_session(ANSWER_LINE_READER)),
    )
    bank = GlyphBank.load("calib", DATASETS_DIR)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        crop = compose_answer(bank, random_numeric_answer(rng), rng)
        ens.evidence_log = []
        ens.recognize([crop.image], alphabet=ALPHABETS["numeric"])
        out.append((crop.truth, ens.evidence_log[0] if ens.evidence_log else []))
    return out


def exact(data: list[tuple[str, list[Evidence]]], o: EnsembleOptions) -> int:
    hits = 0
    for truth, evidence in data:
        if evidence:
            best = max(evidence, key=lambda ev: combined_score(ev, o, numeral=True))
            hits += best.text == truth
    return hits


def log_loss(data: list[tuple[str, list[Evidence]]], o: EnsembleOptions, temp: float) -> float:
    total = 0.0
    for truth, evidence in data:
        scores = np.array([combined_score(ev, o, numeral=True) for ev in evidence]) * temp
        texts = [ev.text for ev in evidence]
        if truth not in texts or not np.isfinite(scores).any():
            continue  # no weighting can help a crop whose truth is not a candidate
        total -= float(scores[texts.index(truth)] - np.logaddexp.reduce(scores))
    return total / len(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1500,
                        help="calib crops to read")
    parser.add_argument("--seed", type=int, default=77,
                        help="seed of the crop composer")
    args = parser.parse_args()
    data = collect(args.n, args.seed)
    reachable = sum(any(ev.text == t for ev in evs) for t, evs in data)
    base = EnsembleOptions()
    without = replace(base, hand_weight=0.0)
    print(f"calib crops: {len(data)}; truth among the candidates: {reachable}")
    print(f"two readers (hand weight 0): {exact(data, without) / len(data):.4f}")
    grid = itertools.product((1.0, 1.5, 2.0), (0.5, 1.0, 1.5, 2.0, 3.0), (-4.0, -6.0, -10.0),
                             (2.0, 4.0))
    results = []
    for gw, hw, hf, slash in grid:
        o = replace(base, glyph_weight=gw, hand_weight=hw, hand_floor=hf,
                    char_bias=(("/", slash),))
        results.append((exact(data, o), -hw, o))
    results.sort(key=lambda r: (r[0], r[1]), reverse=True)
    for hits, _, o in results[:8]:
        print(f"  exact {hits / len(data):.4f}  glyph_weight {o.glyph_weight} hand_weight "
              f"{o.hand_weight} hand_floor {o.hand_floor} slash bias {o.char_bias[0][1]}")
    best = results[0][2]
    temps = [0.3, 0.4, 0.5, 0.6, 0.7, 0.85, 1.0]
    losses = {t: log_loss(data, best, t) for t in temps}
    chosen = min(losses, key=lambda t: losses[t])
    print("log-loss by temperature: " + ", ".join(f"{t}: {v:.4f}" for t, v in losses.items()))
    print(f"chosen: {best} temperature {chosen}")
    return 0 if math.isfinite(losses[chosen]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
