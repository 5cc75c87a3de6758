"""Mastery model: EM fitting speed and parameter recovery, and BKT update throughput.

Data (seeded): 20 knowledge points, each with its own generating parameters drawn from
prior 0.1-0.6, learn 0.05-0.3, guess 0.05-0.28, slip 0.03-0.25; ~250 students per point,
each with 8-32 answers (mean 20) drawn from the BKT model by
:func:`errorbook.learner.fit.simulate_bkt`: 100,000 answers by default.

Measured in the same run, on the same data:
* ``fit_all``: every knowledge point in one packed, vectorised EM run.
* ``fit_bkt per point``: the same fits, one knowledge point at a time.
* one E-step (forward-backward with expected counts) over all points: vectorised and
  packed as ``fit_all`` runs it (packing timed apart), per point through the public
  :func:`errorbook.learner.fit.log_likelihood` (packing included), and the same E-step in a
  plain Python loop (the baseline), checked to give the same log-likelihood.
* ``update()``: BKT updates per second (pure Python, one student, item difficulty on).

Run alone (from the repository root, the package installed with ``pip install -e .``)::

    .venv/bin/python -m bench.bench_mastery_fit [--answers 100000] [--points 20]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from errorbook.learner.bkt import BktParams, Observation, initial_state, update
from errorbook.learner.fit import (
    _e_step,  # private: the packed E-step is what fit_all iterates
    _pack,
    fit_all,
    fit_bkt,
    log_likelihood,
    simulate_bkt,
)

ROOT = Path(__file__).resolve().parent.parent

NAMES = ("prior", "learn", "guess", "slip")


def make_data(answers: int, points: int,
              seed: int = 11) -> tuple[dict[str, list[list[int]]], dict[str, BktParams]]:
    """Sequences and the parameters that generated them, per knowledge point."""
    rng = np.random.default_rng(seed)
    students = max(1, round(answers / (points * 20)))
    data, truth = {}, {}
    for k in range(points):
        code = f"math.kp{k:02d}"
        p = BktParams(prior=rng.uniform(0.1, 0.6), learn=rng.uniform(0.05, 0.3),
                      guess=rng.uniform(0.05, 0.28), slip=rng.uniform(0.03, 0.25))
        seqs = simulate_bkt(p, students, 32, seed=seed * 1000 + k)
        data[code] = [s[: int(n)] for s, n in zip(seqs, rng.integers(8, 33, students),
                                                    strict=True)]
        truth[code] = p
    return data, truth


def python_e_step(seqs: list[list[int]], p: BktParams) -> float:
    """Scaled forward-backward with expected counts, one sequence and step at a time."""
    total = 0.0
    counts = [0.0] * 7
    for seq in seqs:
        alpha, scales = [], []
        prev = None
        for c in seq:
            m = p.prior if prev is None else (1 - prev) * p.learn + prev * (1 - p.forget)
            e0 = c * p.guess + (1 - c) * (1 - p.guess)
            e1 = c * (1 - p.slip) + (1 - c) * p.slip
            x1, s = m * e1, (1 - m) * e0 + m * e1
            prev = x1 / s
            alpha.append(prev)
            scales.append(s)
            total += math.log(s)
        b0 = b1 = 1.0
        for t in range(len(seq) - 1, -1, -1):
            a1 = alpha[t]
            g0, g1 = (1 - a1) * b0, a1 * b1
            c = seq[t]
            e0 = c * p.guess + (1 - c) * (1 - p.guess)
            e1 = c * (1 - p.slip) + (1 - c) * p.slip
            counts[0] += g0
            counts[1] += g1
            counts[2] += g0 * c * p.guess / e0
            counts[3] += g1 * (1 - c) * p.slip / e1
            if t == 0:
                counts[4] += g1
                break
            y0, y1 = e0 * b0 / scales[t], e1 * b1 / scales[t]
            counts[5] += (1 - alpha[t - 1]) * p.learn * y1
            counts[6] += (1 - alpha[t - 1]) * ((1 - p.learn) * y0 + p.learn * y1)
            b0 = (1 - p.learn) * y0 + p.learn * y1
            b1 = p.forget * y0 + (1 - p.forget) * y1
    return total


def _best(fn: object, repeats: int) -> tuple[float, object]:
    """Fastest of ``repeats`` runs (seconds) and the last result."""
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> dict[str, str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--answers", type=int, default=100_000,
                    help="simulated answers in all")
    ap.add_argument("--points", type=int, default=20,
                    help="knowledge points, each with its own parameters")
    ap.add_argument("--repeats", type=int, default=3,
                    help="timed runs of each measurement; the fastest counts")
    args = ap.parse_args()
    data, truth = make_data(args.answers, args.points)
    n = sum(len(s) for seqs in data.values() for s in seqs)
    students = len(next(iter(data.values())))
    print(f"data: {n:,} answers, {args.points} knowledge points × {students} students, "
          f"8-32 answers each (seeded)")

    t_all, fits = _best(lambda: fit_all(data), args.repeats)
    t_each, _ = _best(lambda: {c: fit_bkt(s) for c, s in data.items()}, args.repeats)
    assert isinstance(fits, dict)
    iters = [r.iterations for r in fits.values()]
    errors = {name: [abs(getattr(fits[c].params, name) - getattr(truth[c], name))
                     for c in data] for name in NAMES}

    p0 = BktParams()
    t_vec, ll_vec = _best(lambda: sum(log_likelihood(s, p0) for s in data.values()),
                          args.repeats)
    groups = list(data.values())
    t_pack, packed = _best(lambda: _pack(groups), args.repeats)
    theta = np.tile([p0.prior, p0.learn, p0.forget, p0.guess, p0.slip], (len(groups), 1))
    t_packed, stats = _best(lambda: _e_step(packed, theta), args.repeats)  # type: ignore[arg-type]
    ll_packed = float(stats.loglik.sum())  # type: ignore[attr-defined]
    t_py, ll_py = _best(lambda: sum(python_e_step(s, p0) for s in data.values()), 1)
    assert isinstance(ll_vec, float)
    assert isinstance(ll_py, float)
    assert math.isclose(ll_vec, ll_py, rel_tol=1e-9), (ll_vec, ll_py)
    assert math.isclose(ll_packed, ll_py, rel_tol=1e-9), (ll_packed, ll_py)

    at = datetime(2025, 3, 1)
    stream = [Observation(float(i % 3 != 0), (i % 5 - 2) * 0.5, at + timedelta(minutes=i))
              for i in range(50_000)]

    def run_updates() -> float:
        s = initial_state(p0)
        for o in stream:
            s = update(s, o, p0)
        return s.p_mastery

    t_upd, _ = _best(run_updates, args.repeats)

    print("\n| what | time | throughput |")
    print("| --- | ---: | ---: |")
    print(f"| fit_all (packed EM, all points) | {t_all * 1000:.0f} ms | "
          f"{n / t_all:,.0f} answers/s |")
    print(f"| fit_bkt, one point at a time | {t_each * 1000:.0f} ms | "
          f"{n / t_each:,.0f} answers/s |")
    print(f"| one E-step, packed (as in fit_all) | {t_packed * 1000:.1f} ms | "
          f"{n / t_packed:,.0f} answers/s |")
    print(f"| packing the data (once per fit) | {t_pack * 1000:.1f} ms | "
          f"{n / t_pack:,.0f} answers/s |")
    print(f"| one E-step, per point via log_likelihood | {t_vec * 1000:.1f} ms | "
          f"{n / t_vec:,.0f} answers/s |")
    print(f"| one E-step, plain Python (baseline) | {t_py * 1000:.0f} ms | "
          f"{n / t_py:,.0f} answers/s |")
    print(f"| update() (pure, O(1)) | {t_upd / len(stream) * 1e6:.2f} µs each | "
          f"{len(stream) / t_upd:,.0f} updates/s |")
    print(f"\nEM iterations per point: median {statistics.median(iters):.0f}, "
          f"max {max(iters)}; all fitted: {all(r.fitted for r in fits.values())}")
    print("\n| parameter | mean abs error | max abs error |")
    print("| --- | ---: | ---: |")
    for name in NAMES:
        print(f"| {name} | {statistics.mean(errors[name]):.3f} | {max(errors[name]):.3f} |")
    print(f"\npacked E-step is {t_py / t_packed:.0f}× the plain-Python loop "
          f"({t_py / t_vec:.0f}× one point at a time); fit_all is {t_each / t_all:.1f}× "
          f"fitting the points one by one")
    return {"fit_all ms": f"{t_all * 1000:.0f}", "answers/s": f"{n / t_all:,.0f}",
            "E-step speed-up": f"{t_py / t_packed:.0f}×",
            "updates/s": f"{len(stream) / t_upd:,.0f}"}


if __name__ == "__main__":
    main()
