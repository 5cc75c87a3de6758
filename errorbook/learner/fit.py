"""Fit BKT parameters per knowledge point by EM (Baum–Welch on the two-state HMM).

Each student's answers on one knowledge point are a sequence of credits in [0, 1]. The
hidden chain is unmastered (0) / mastered (1) with start ``(1 − prior, prior)`` and
transitions ``[[1 − learn, learn], [forget, 1 − forget]]``; ``forget`` is held at its
initial value (classic BKT fixes it at 0, and letting it float makes the model
unidentifiable on short sequences). Emissions: P(right | 0) = guess, P(right | 1) =
1 − slip. Partial credit ``c`` is a soft observation: the likelihood of the answer is
``c·P(right) + (1 − c)·P(wrong)``, and the M-step uses the expected right/wrong split.

Vectorised: sequences are sorted by length (longest first) and packed into a ``(T, N)``
array, so at step ``t`` the sequences still running are the first ``n_t`` columns and the
forward/backward recursions (Rabiner scaling) are a handful of NumPy operations on
contiguous slices. :func:`fit_all` packs every knowledge point into one array with
per-column parameters, so one pass serves all of them; each knowledge point stops when its
own log-likelihood converges.

Bounds keep the fit meaningful: ``guess, slip <= 0.3`` (otherwise EM can swap the meaning of
the two states) and ``prior, learn`` in ``[0.01, 0.99]``, applied after every M-step.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from errorbook.learner.bkt import BktParams

__all__ = [
    "GUESS_SLIP_BOUNDS",
    "PRIOR_LEARN_BOUNDS",
    "FitResult",
    "fit_all",
    "fit_bkt",
    "log_likelihood",
    "simulate_bkt",
]

GUESS_SLIP_BOUNDS = (0.001, 0.3)
PRIOR_LEARN_BOUNDS = (0.01, 0.99)

Array = NDArray[np.float64]


@dataclass(frozen=True)
class FitResult:
    """The outcome of fitting one knowledge point.

    Attributes:
        params: fitted parameters, or the initial/default ones when not fitted.
        log_likelihood: total log-likelihood of the data under ``params``.
        iterations: EM iterations run (0 when not fitted).
        n_answers: answers used.
        n_students: non-empty sequences used.
        fitted: whether EM ran (enough data).
        reason: a human sentence: how it converged, or why it was not fitted.
    """

    params: BktParams
    log_likelihood: float
    iterations: int
    n_answers: int
    n_students: int
    fitted: bool
    reason: str


@dataclass(frozen=True)
class _Packed:
    """Sequences of several groups packed column-wise, longest first."""

    obs: Array  # (T, N) credits, 0 past a sequence's end
    lengths: NDArray[np.int64]  # (N,) descending
    active: NDArray[np.int64]  # (T,) sequences with length > t
    group: NDArray[np.int64]  # (N,) group index per column
    n_groups: int


def _pack(groups: Sequence[Sequence[Sequence[float]]]) -> _Packed:
    cols: list[tuple[int, Sequence[float]]] = [
        (g, seq) for g, seqs in enumerate(groups) for seq in seqs if len(seq) > 0]
    cols.sort(key=lambda c: -len(c[1]))  # stable: ties keep input order
    lengths = np.array([len(s) for _, s in cols], dtype=np.int64)
    total = int(lengths.sum())
    flat = np.fromiter(itertools.chain.from_iterable(s for _, s in cols), dtype=np.float64,
                       count=total)
    if not np.all((flat >= 0.0) & (flat <= 1.0)):  # NaN fails too
        raise ValueError("answers must be credits in [0, 1]")
    # Scatter the flat answers into (step, column) in one go rather than a column at a time.
    col = np.repeat(np.arange(len(cols)), lengths)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(cols) else lengths
    step = np.arange(total) - np.repeat(starts, lengths)
    t_max = int(lengths[0]) if len(cols) else 0
    obs = np.zeros((t_max, len(cols)), dtype=np.float64)
    obs[step, col] = flat
    active = (lengths[None, :] > np.arange(t_max)[:, None]).sum(axis=1)
    return _Packed(obs, lengths, active.astype(np.int64),
                   np.array([g for g, _ in cols], dtype=np.int64), len(groups))


@dataclass(frozen=True)
class _Stats:
    """Per-group expected counts from one E-step."""

    loglik: Array
    prior_num: Array  # Σ γ_0(1)
    learn_num: Array  # Σ ξ(0 → 1)
    learn_den: Array  # Σ γ_t(0) over t with a successor
    guess_num: Array  # Σ γ_t(0)·P(right | 0, c)
    guess_den: Array  # Σ γ_t(0)
    slip_num: Array  # Σ γ_t(1)·P(wrong | 1, c)
    slip_den: Array  # Σ γ_t(1)


def _e_step(pk: _Packed, theta: Array) -> _Stats:
    """Forward–backward over all columns; ``theta`` is (groups, 5): prior, learn, forget,
    guess, slip."""
    per_col = theta[pk.group]  # (N, 5)
    prior, learn, forget, guess, slip = per_col.T
    obs = pk.obs
    t_max, n = obs.shape
    # Soft emissions; past a sequence's end they are never read.
    e0 = obs * guess + (1.0 - obs) * (1.0 - guess)
    e1 = obs * (1.0 - slip) + (1.0 - obs) * slip
    a1 = np.empty_like(obs)  # scaled α of "mastered"; α(0) = 1 − α(1)
    scale = np.ones_like(obs)
    for t in range(t_max):
        m = int(pk.active[t])
        p1 = prior[:m] if t == 0 else (1.0 - a1[t - 1, :m]) * learn[:m] + \
            a1[t - 1, :m] * (1.0 - forget[:m])
        x1 = p1 * e1[t, :m]
        c = (1.0 - p1) * e0[t, :m] + x1
        scale[t, :m] = c
        a1[t, :m] = x1 / c
    a0 = 1.0 - a1
    b0 = np.ones_like(obs)
    b1 = np.ones_like(obs)
    xi01 = np.zeros(n)
    for t in range(t_max - 2, -1, -1):
        m = int(pk.active[t + 1])  # columns with a step t + 1
        y0 = e0[t + 1, :m] * b0[t + 1, :m] / scale[t + 1, :m]
        y1 = e1[t + 1, :m] * b1[t + 1, :m] / scale[t + 1, :m]
        b0[t, :m] = (1.0 - learn[:m]) * y0 + learn[:m] * y1
        b1[t, :m] = forget[:m] * y0 + (1.0 - forget[:m]) * y1
        xi01[:m] += a0[t, :m] * learn[:m] * y1
    valid = np.arange(t_max)[:, None] < pk.lengths[None, :]
    g0 = np.where(valid, a0 * b0, 0.0)
    g1 = np.where(valid, a1 * b1, 0.0)
    # γ_t(0) summed over steps that have a successor: all valid steps but the last.
    last_g0 = g0[pk.lengths - 1, np.arange(n)] if n else np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        right0 = np.where(e0 > 0, obs * guess / e0, 0.0)
        wrong1 = np.where(e1 > 0, (1.0 - obs) * slip / e1, 0.0)
    k = pk.n_groups

    def by_group(values: Array) -> Array:
        return np.bincount(pk.group, weights=values, minlength=k).astype(np.float64)

    return _Stats(
        loglik=by_group(np.log(scale).sum(axis=0)),
        prior_num=by_group(g1[0] if t_max else np.zeros(n)),
        learn_num=by_group(xi01),
        learn_den=by_group(g0.sum(axis=0) - last_g0),
        guess_num=by_group((g0 * right0).sum(axis=0)),
        guess_den=by_group(g0.sum(axis=0)),
        slip_num=by_group((g1 * wrong1).sum(axis=0)),
        slip_den=by_group(g1.sum(axis=0)),
    )


def _m_step(stats: _Stats, theta: Array, n_students: NDArray[np.int64]) -> Array:
    """New (groups, 5) parameters, clamped; a zero denominator keeps the old value."""
    new = theta.copy()

    def ratio(num: Array, den: Array, old: Array) -> Array:
        safe = np.where(den > 0, den, 1.0)
        return np.where(den > 0, num / safe, old)

    new[:, 0] = ratio(stats.prior_num, n_students.astype(np.float64), theta[:, 0])
    new[:, 1] = ratio(stats.learn_num, stats.learn_den, theta[:, 1])
    new[:, 3] = ratio(stats.guess_num, stats.guess_den, theta[:, 3])
    new[:, 4] = ratio(stats.slip_num, stats.slip_den, theta[:, 4])
    new[:, :2] = np.clip(new[:, :2], *PRIOR_LEARN_BOUNDS)
    new[:, 3:] = np.clip(new[:, 3:], *GUESS_SLIP_BOUNDS)
    return new


def _theta(p: BktParams) -> list[float]:
    return [p.prior, p.learn, p.forget, p.guess, p.slip]


def _params(row: Array, base: BktParams) -> BktParams:
    return replace(base, prior=float(row[0]), learn=float(row[1]), forget=float(row[2]),
                   guess=float(row[3]), slip=float(row[4]))


def log_likelihood(sequences: Sequence[Sequence[float]], params: BktParams) -> float:
    """Total log-likelihood of the sequences under ``params`` (difficulty 0 throughout).

    Args:
        sequences: one sequence of credits in [0, 1] per student.
        params: the parameters.

    Returns:
        The sum over sequences of log P(sequence); 0.0 for no answers.

    Raises:
        ValueError: a credit outside [0, 1].
    """
    pk = _pack([sequences])
    if not pk.lengths.size:
        return 0.0
    return float(_e_step(pk, np.array([_theta(params)])).loglik[0])


def fit_all(sequences_by_kp: Mapping[str, Sequence[Sequence[float]]], *,
            init: BktParams | None = None, max_iter: int = 100, tol: float = 1e-5,
            min_answers: int = 200, min_students: int = 10) -> dict[str, FitResult]:
    """Fit every knowledge point at once (one packed EM run, per-point convergence).

    Args:
        sequences_by_kp: knowledge-point code → one credit sequence per student, in
            answer order.
        init: starting parameters (and the answer below the data minimum); defaults to
            :class:`BktParams` ().
        max_iter: EM iterations at most.
        tol: stop when the log-likelihood per answer improves by less than this.
        min_answers: fewer answers than this → not fitted.
        min_students: fewer non-empty sequences than this → not fitted.

    Returns:
        code → :class:`FitResult`, for every code given.

    Raises:
        ValueError: a credit outside [0, 1], or ``max_iter < 1``.
    """
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter!r}")
    base = init or BktParams()
    codes = list(sequences_by_kp)
    pk = _pack([sequences_by_kp[c] for c in codes])
    n_students = np.bincount(pk.group, minlength=len(codes)).astype(np.int64)
    n_answers = np.bincount(pk.group, weights=pk.lengths, minlength=len(codes)).astype(np.int64)
    enough = (n_answers >= min_answers) & (n_students >= min_students) & (n_answers > 0)
    theta = np.tile(np.array(_theta(base)), (len(codes), 1))

    iters = np.zeros(len(codes), dtype=np.int64)
    converged = np.zeros(len(codes), dtype=bool)
    prev = np.full(len(codes), -np.inf)
    idx = np.flatnonzero(enough)
    sub = _subset(pk, idx)
    while idx.size:
        # The E-step's log-likelihood is that of the current parameters, so one
        # forward-backward per iteration both tests convergence and feeds the M-step.
        stats = _e_step(sub, theta[idx])
        gain = (stats.loglik - prev[idx]) / n_answers[idx]
        prev[idx] = stats.loglik
        done = gain < tol
        converged[idx[done]] = True
        step = ~done
        theta[idx[step]] = _m_step(stats, theta[idx], n_students[idx])[step]
        iters[idx[step]] += 1
        done |= iters[idx] >= max_iter
        if done.any():
            idx = idx[~done]
            sub = _subset(pk, idx)
    # Log-likelihood of the parameters returned (the defaults for groups not fitted).
    loglik = _e_step(pk, theta).loglik if len(codes) else np.zeros(0)

    out: dict[str, FitResult] = {}
    for i, code in enumerate(codes):
        na, ns = int(n_answers[i]), int(n_students[i])
        if not enough[i]:
            reason = (f"not fitted: {na} answers from {ns} students; need at least "
                      f"{min_answers} answers and {min_students} students")
        elif converged[i]:
            reason = f"converged after {int(iters[i])} iterations"
        else:
            reason = f"stopped at max_iter={max_iter} before converging (tol={tol})"
        out[code] = FitResult(_params(theta[i], base), float(loglik[i]), int(iters[i]),
                              na, ns, bool(enough[i]), reason)
    return out


def _subset(pk: _Packed, groups: NDArray[np.int64]) -> _Packed:
    """The columns of the given groups, renumbered 0..len(groups)−1 (order kept)."""
    remap = np.full(pk.n_groups, -1, dtype=np.int64)
    remap[groups] = np.arange(groups.size)
    keep = np.flatnonzero(remap[pk.group] >= 0)
    lengths = pk.lengths[keep]
    t_max = int(lengths[0]) if lengths.size else 0
    active = (lengths[None, :] > np.arange(t_max)[:, None]).sum(axis=1).astype(np.int64)
    return _Packed(np.ascontiguousarray(pk.obs[:t_max, keep]), lengths, active,
                   remap[pk.group[keep]], int(groups.size))


def fit_bkt(sequences: Sequence[Sequence[float]], *, init: BktParams | None = None,
            max_iter: int = 100, tol: float = 1e-5, min_answers: int = 200,
            min_students: int = 10) -> FitResult:
    """Fit one knowledge point's BKT parameters by EM.

    Args:
        sequences: one credit sequence (in answer order) per student; empty ones are
            ignored.
        init: starting parameters (and the answer below the data minimum); defaults to
            :class:`BktParams` (). ``forget`` and ``difficulty_weight`` are kept as given.
        max_iter: EM iterations at most.
        tol: stop when the log-likelihood per answer improves by less than this.
        min_answers: fewer answers than this → defaults back, ``fitted=False``.
        min_students: fewer non-empty sequences than this → defaults back,
            ``fitted=False``.

    Returns:
        The :class:`FitResult`.

    Raises:
        ValueError: a credit outside [0, 1], or ``max_iter < 1``.
    """
    return fit_all({"": sequences}, init=init, max_iter=max_iter, tol=tol,
                   min_answers=min_answers, min_students=min_students)[""]


def simulate_bkt(params: BktParams, n_students: int, n_answers: int,
                 seed: int = 0) -> list[list[int]]:
    """Answer sequences drawn from the BKT model (for tests and benchmarks).

    Args:
        params: the generating parameters (difficulty 0 throughout).
        n_students: sequences to draw.
        n_answers: answers per sequence.
        seed: NumPy generator seed.

    Returns:
        ``n_students`` lists of 0/1 answers.
    """
    rng = np.random.default_rng(seed)
    mastered = rng.random(n_students) < params.prior
    out = np.empty((n_students, n_answers), dtype=np.int64)
    for t in range(n_answers):
        p_right = np.where(mastered, 1.0 - params.slip, params.guess)
        out[:, t] = rng.random(n_students) < p_right
        learn = ~mastered & (rng.random(n_students) < params.learn)
        forget = mastered & (rng.random(n_students) < params.forget)
        mastered = (mastered | learn) & ~forget
    return out.tolist()

