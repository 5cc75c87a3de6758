"""BKT updates, item difficulty (Elo) and the knowledge-point rollup."""

from __future__ import annotations

import math
import pickle
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from errorbook.learner.bkt import (
    HISTORY_LENGTH,
    BktParams,
    MasteryState,
    Observation,
    initial_state,
    item_guess_slip,
    predict_correct,
    replay,
    update,
)
from errorbook.learner.difficulty import (
    ItemDifficulty,
    ability_from_mastery,
    expected_correct,
    item_from_bank,
    k_factor,
    prior_from_bank,
    update_difficulty,
)
from errorbook.learner.rollup import ancestors, parent_code, rollup

T0 = datetime(2025, 3, 1, 8, 0)
P = BktParams()


def obs(c: float, d: float = 0.0, i: int = 0) -> Observation:
    return Observation(correct=c, difficulty=d, at=T0 + timedelta(hours=i))


# --- BKT -----------------------------------------------------------------------------------


def test_defaults_and_validation() -> None:
    assert (P.prior, P.learn, P.guess, P.slip, P.forget) == (0.3, 0.15, 0.2, 0.1, 0.0)
    for bad in ({"prior": 1.2}, {"learn": -0.1}, {"guess": 0.6, "slip": 0.4},
                {"slip": float("nan")}, {"difficulty_weight": -1.0}):
        with pytest.raises(ValueError, match=r"BktParams\.\w+ must|guess \+ slip < 1"):
            BktParams(**bad)
    with pytest.raises(ValueError, match=r"Observation\.correct must lie in \[0, 1\]"):
        Observation(correct=1.5, at=T0)
    with pytest.raises(ValueError, match=r"Observation\.difficulty must be finite"):
        Observation(correct=1.0, difficulty=math.inf, at=T0)


def test_update_matches_bayes_rule_by_hand() -> None:
    s = update(initial_state(P), obs(1.0), P)
    post = 0.3 * 0.9 / (0.3 * 0.9 + 0.7 * 0.2)
    assert s.p_mastery == pytest.approx(post + (1 - post) * 0.15)
    s = update(initial_state(P), obs(0.0), P)
    post = 0.3 * 0.1 / (0.3 * 0.1 + 0.7 * 0.8)
    assert s.p_mastery == pytest.approx(post + (1 - post) * 0.15)
    assert (s.attempts, s.correct, s.last_seen) == (1, 0.0, T0)


def test_forget_pulls_mastery_down() -> None:
    sure = MasteryState(p_mastery=0.99)
    a = update(sure, obs(1.0), P).p_mastery
    b = update(sure, obs(1.0), BktParams(forget=0.1)).p_mastery
    assert b < a - 0.05


def test_partial_credit_interpolates_between_right_and_wrong() -> None:
    s0 = initial_state(P)
    right, wrong = update(s0, obs(1.0), P).p_mastery, update(s0, obs(0.0), P).p_mastery
    half = update(s0, obs(0.5), P).p_mastery
    assert wrong < half < right
    assert half == pytest.approx((right + wrong) / 2)  # learning step is affine in post
    assert update(s0, obs(0.5), P).correct == 0.5


def test_right_answers_raise_and_wrong_answers_lower_mastery() -> None:
    s = initial_state(P)
    for i in range(8):
        nxt = update(s, obs(1.0, i=i), P)
        assert nxt.p_mastery > s.p_mastery
        s = nxt
    assert s.p_mastery > 0.95
    for i in range(3):
        nxt = update(s, obs(0.0, i=10 + i), P)
        assert nxt.p_mastery < s.p_mastery
        s = nxt


def test_difficulty_shifts_guess_and_slip_and_evidence_strength() -> None:
    assert item_guess_slip(P, 0.0) == (P.guess, P.slip)
    g_hard, s_hard = item_guess_slip(P, 2.0)
    g_easy, s_easy = item_guess_slip(P, -2.0)
    assert g_hard < P.guess < g_easy
    assert s_easy < P.slip < s_hard
    # Clamped at ±4 logits; the sum stays below 1 even at the extremes.
    assert item_guess_slip(P, 40.0) == item_guess_slip(P, 4.0)
    assert sum(item_guess_slip(BktParams(guess=0.29, slip=0.29), 4.0)) < 1.0
    s0 = initial_state(P)
    # A right answer on a hard item is stronger evidence than on an easy one...
    assert update(s0, obs(1.0, 2.0), P).p_mastery > update(s0, obs(1.0, -2.0), P).p_mastery
    # ...and a wrong answer on a hard item is weaker evidence against.
    assert update(s0, obs(0.0, 2.0), P).p_mastery > update(s0, obs(0.0, -2.0), P).p_mastery
    flat = BktParams(difficulty_weight=0.0)
    assert update(s0, obs(1.0, 2.0), flat) == update(s0, obs(1.0, 0.0), flat)


def test_predict_correct() -> None:
    s = MasteryState(p_mastery=0.6)
    assert predict_correct(s, P) == pytest.approx(0.6 * 0.9 + 0.4 * 0.2)
    assert predict_correct(s, P, 2.0) < predict_correct(s, P) < predict_correct(s, P, -2.0)
    assert predict_correct(MasteryState(1.0), P) == pytest.approx(1 - P.slip)


def test_history_keeps_last_ten_and_trend_follows_it() -> None:
    s = initial_state(P)
    values = []
    for i in range(14):
        s = update(s, obs(1.0 if i < 4 or i >= 9 else 0.0, i=i), P)
        values.append(s.p_mastery)
    assert s.history == tuple(values[-HISTORY_LENGTH:])
    assert s.trend() == pytest.approx(values[-1] - values[-6])
    assert s.trend(window=100) == pytest.approx(values[-1] - values[-HISTORY_LENGTH])
    assert s.trend() > 0
    falling = replay([obs(1.0, i=i) for i in range(5)] + [obs(0.0, i=5 + i) for i in range(4)],
                     P)
    assert falling.trend(3) < 0
    assert initial_state(P).trend() == 0.0
    assert update(initial_state(P), obs(1.0), P).trend() == 0.0


def test_band_contains_estimate_and_narrows_with_evidence() -> None:
    s = initial_state(P)
    widths = []
    for i in range(30):
        lo, hi = s.band()
        assert 0.0 <= lo <= s.p_mastery <= hi <= 1.0
        widths.append(hi - lo)
        s = update(s, obs(1.0 if i % 4 else 0.0, i=i), P)
    assert widths[0] > 0.4
    assert widths[-1] < widths[0] / 2
    lo90, hi90 = s.band(0.9)
    lo50, hi50 = s.band(0.5)
    assert lo90 < lo50
    assert hi50 <= hi90 + 1e-12
    assert MasteryState(p_mastery=1.0, attempts=5).band()[1] == 1.0
    with pytest.raises(ValueError, match=r"level must lie in \(0, 1\)"):
        s.band(1.0)


def test_replay_is_the_fold_in_time_order_and_deterministic() -> None:
    answers = [obs(c, d, i) for i, (c, d) in
               enumerate([(1, 0), (0, 1), (0.5, -1), (1, 2), (1, 0), (0, 0)])]
    folded = initial_state(P)
    for o in answers:
        folded = update(folded, o, P)
    assert replay(answers, P) == folded
    assert replay(list(reversed(answers)), P) == folded
    assert replay([], P) == initial_state(P)
    # A teacher override changes one grade; the replay differs only through it.
    changed = [*answers[:1], obs(1.0, 1.0, 1), *answers[2:]]
    assert replay(changed, P).p_mastery > folded.p_mastery
    assert pickle.loads(pickle.dumps(folded)) == folded


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(-6, 6)), max_size=30),
       st.floats(0, 1), st.floats(0, 0.5), st.floats(0, 0.45), st.floats(0, 0.45),
       st.floats(0, 0.3))
def test_update_stays_a_probability(answers: list[tuple[float, float]], prior: float,
                                    learn: float, guess: float, slip: float,
                                    forget: float) -> None:
    params = BktParams(prior=prior, learn=learn, guess=guess, slip=slip, forget=forget)
    s = replay([obs(c, d, i) for i, (c, d) in enumerate(answers)], params)
    assert 0.0 <= s.p_mastery <= 1.0
    assert s.attempts == len(answers)
    assert 0.0 <= predict_correct(s, params) <= 1.0


# --- item difficulty -------------------------------------------------------------------------


def test_bank_prior_and_k_factor() -> None:
    assert [prior_from_bank(d) for d in range(1, 6)] == [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert item_from_bank(4) == ItemDifficulty(1.0, 0)
    for bad in (0, 6, True):
        with pytest.raises(ValueError, match=r"bank difficulty must be an integer 1\.\.5"):
            prior_from_bank(bad)
    assert k_factor(0) == pytest.approx(0.4)
    assert k_factor(20) == pytest.approx(0.2)
    assert k_factor(100) < k_factor(20)


def test_elo_update_direction_and_size() -> None:
    item = ItemDifficulty(0.0, 0)
    wrong = update_difficulty(item, student_ability=1.0, correct=0.0)
    right = update_difficulty(item, student_ability=1.0, correct=1.0)
    assert wrong.rating == pytest.approx(0.4 * expected_correct(1.0, 0.0))
    assert right.rating == pytest.approx(-0.4 * (1 - expected_correct(1.0, 0.0)))
    assert wrong.n == right.n == 1
    # The same surprise moves a well-used item less.
    old = update_difficulty(ItemDifficulty(0.0, 100), 1.0, 0.0)
    assert 0 < old.rating < wrong.rating / 4
    with pytest.raises(ValueError, match=r"correct must lie in \[0, 1\]"):
        update_difficulty(item, 0.0, 1.5)


def test_elo_learns_a_hard_item_from_answers() -> None:
    # Students of ability 0 get a true-difficulty-1.5 item right 18% of the time.
    true_p = expected_correct(0.0, 1.5)
    item = item_from_bank(3)
    for i in range(400):
        item = update_difficulty(item, 0.0, 1.0 if (i * true_p) % 1 + true_p >= 1 else 0.0)
    assert item.rating == pytest.approx(1.5, abs=0.3)


def test_ability_from_mastery() -> None:
    assert ability_from_mastery(0.5) == 0.0
    assert ability_from_mastery(0.8) == pytest.approx(math.log(4))
    assert ability_from_mastery(1.0) == pytest.approx(math.log(99))
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]"):
        ability_from_mastery(1.1)


# --- rollup ------------------------------------------------------------------------------------


def test_codes_and_ancestors() -> None:
    assert parent_code("math.add.carry") == "math.add"
    assert parent_code("math") is None
    assert ancestors("math.add.carry") == ("math.add", "math")


def test_rollup_weights_by_attempts_and_adds_prefixes() -> None:
    out = rollup({"math.add.carry": (0.2, 30), "math.add.nocarry": (0.8, 10),
                  "math.sub": (0.5, 0)},
                 ["math.add.carry", "math.add.nocarry", "math.sub", "math.mul.table"])
    add = out["math.add"]
    assert add.p_mastery == pytest.approx((0.2 * 30 + 0.8 * 10) / 40)
    assert add.attempts == 40
    assert add.children == ("math.add.carry", "math.add.nocarry")
    assert out["math.mul.table"].p_mastery is None
    assert out["math.mul"].attempts == 0
    top = out["math"]
    assert top.children == ("math.add", "math.mul", "math.sub")
    # math.sub has no answers: it must not sway an attempts-weighted parent.
    assert top.p_mastery == pytest.approx(add.p_mastery)
    assert out["math.sub"].p_mastery == 0.5


def test_rollup_includes_a_parents_own_data_and_zero_attempt_means() -> None:
    out = rollup({"math.add": (1.0, 10), "math.add.carry": (0.0, 30)}, [])
    assert out["math.add"].p_mastery == pytest.approx(0.25)
    assert out["math.add"].attempts == 40
    only_priors = rollup({"a.x": (0.2, 0), "a.y": (0.6, 0)}, ["a.x", "a.y", "a.z"])
    assert only_priors["a"].p_mastery == pytest.approx(0.4)
    for bad in ({"a..b": (0.5, 1)}, {"a": (1.5, 1)}, {"a": (0.5, -1)}):
        with pytest.raises(ValueError, match=r"bad knowledge-point code|(p_mastery|attempts) of 'a' must"):
            rollup(bad, [])
