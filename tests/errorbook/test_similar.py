"""Similar-question selection: exclusions, KP preference, diversity, causes, determinism."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from errorbook.practice.similar import (
    STRETCH,
    Candidate,
    Pick,
    SimilarIndex,
    kp_overlap,
    kp_similarity,
    select_similar,
    stem_similarity,
)

BANK = Path(__file__).resolve().parents[2] / "sample_scans" / "question_bank.json"


def _bank() -> tuple[list[Candidate], dict[str, tuple[str, str]]]:
    data = json.loads(BANK.read_text(encoding="utf-8"))
    names = {k["code"]: (k["name_zh"], k.get("name_en", "")) for k in data["knowledge_points"]}
    pool = [
        Candidate(q["id"], tuple(q["knowledge_points"]), (q.get("difficulty", 3) - 3) * 0.8,
                  q["stem"])
        for q in data["questions"]
    ]
    return pool, names


def _c(qid: str, kps: tuple[str, ...] = ("math.add.carry",), d: float = 0.0,
       stem: str = "", causes: tuple[str, ...] = ()) -> Candidate:
    return Candidate(qid, kps, d, stem or f"题目 {qid}", causes)


TARGET = _c("t", stem="37 + 48 =")


def _ids(picks: list[Pick]) -> list[str]:
    return [p.question_id for p in picks]


def test_kp_similarity_levels() -> None:
    assert kp_similarity("math.add.carry", "math.add.carry") == 1.0
    assert kp_similarity("math.add", "math.add.carry") == pytest.approx(0.6)
    assert kp_similarity("math.add.carry", "math.add") == pytest.approx(0.6)
    assert kp_similarity("math.add.carry.x", "math.add") == pytest.approx(0.36)
    assert kp_similarity("math.add.carry", "math.add.nocarry") == pytest.approx(0.4)
    assert kp_similarity("math.add.carry.x", "math.add.nocarry.y") == pytest.approx(0.2)
    assert kp_similarity("math.add.carry", "math.sub.borrow") == 0.0
    assert kp_similarity("math", "math.add") == 0.0  # sharing only the subject is no relation


def test_kp_overlap_rewards_coverage_more_than_purity() -> None:
    exact, code, top = kp_overlap(("math.add.carry",), ("math.add.carry",))
    assert (exact, code, top) == (1.0, "math.add.carry", 1.0)
    extra, _, _ = kp_overlap(("math.add.carry",), ("math.add.carry", "math.word.add_sub"))
    half, _, _ = kp_overlap(("math.add.carry", "math.word.add_sub"), ("math.add.carry",))
    assert 0.8 < extra < 1.0
    assert 0.5 < half < extra


def test_stem_similarity_sees_shape_through_numbers() -> None:
    same_shape = stem_similarity("37 + 48 =", "26 + 59 =")
    other_op = stem_similarity("37 + 48 =", "72 ÷ 9 =")
    assert same_shape >= 0.5 > other_op
    assert stem_similarity("37 + 48 =", "37 + 48 =") == 1.0
    assert stem_similarity("３７＋４８＝", "37+48=") == 1.0  # full width and spaces fold
    word = "小明有 35 张邮票，又买了 28 张。现在一共有多少张邮票？"
    assert 0.6 < stem_similarity(word, word.replace("35", "47").replace("28", "36")) < 0.8
    assert stem_similarity(word, word.replace("小明", "小红")) >= 0.8


def test_seen_items_and_the_target_itself_are_never_picked() -> None:
    pool = [_c("t", stem="37 + 48 ="), *[_c(f"q{i}", stem=f"{i} + {i + 19} =") for i in range(10, 16)]]
    picks = select_similar(TARGET, pool, ability=0.0, cause=None, seen={"q10", "q12"}, n=10)
    assert set(_ids(picks)) == {"q11", "q13", "q14", "q15"}


def test_same_kp_beats_parent_beats_sibling_and_unrelated_never_qualifies() -> None:
    pool = [
        _c("sibling", ("math.add.nocarry",)),
        _c("unrelated", ("math.sub.borrow",)),
        _c("parent", ("math.add",)),
        _c("exact", ("math.add.carry",)),
        _c("poem", ("chinese.poem.complete",)),
    ]
    picks = select_similar(TARGET, pool, ability=-STRETCH, cause=None, seen=set(), n=5)
    assert _ids(picks) == ["exact", "parent", "sibling"]
    assert [p.parts["kp"] for p in picks] == sorted((p.parts["kp"] for p in picks), reverse=True)


def test_difficulty_near_ability_plus_stretch_wins_within_a_kp() -> None:
    pool = [_c("easy", d=-2.0), _c("near", d=0.5 + STRETCH), _c("hard", d=2.5), _c("mid", d=1.5)]
    picks = select_similar(TARGET, pool, ability=0.5, cause=None, seen=set(), n=4)
    assert _ids(picks)[0] == "near"
    assert _ids(picks).index("mid") < _ids(picks).index("hard")
    assert picks[0].parts["difficulty"] == pytest.approx(1.0)
    assert "难度与该生水平相当" in picks[0].reason_zh  # the teacher reads it, about the student
    assert "你" not in picks[0].reason_zh
    reasons = {p.question_id: p.reason_en for p in picks}
    assert reasons["hard"].endswith("a little above the student's level")
    # Without a name for the point, no code is shown.
    assert "math." not in picks[0].reason_zh
    assert reasons["easy"].endswith("a little easier, to consolidate")


def test_cause_match_ranks_higher() -> None:
    pool = [_c("a"), _c("b", causes=("forgot_carry",)), _c("c", causes=("forgot_borrow",))]
    with_cause = select_similar(TARGET, pool, ability=0.0, cause="forgot_carry", seen=set(), n=3)
    assert _ids(with_cause) == ["b", "a", "c"]
    assert with_cause[0].parts["cause"] == 1.0
    assert with_cause[1].parts["cause"] == 0.0
    assert "专练“进位遗漏”" in with_cause[0].reason_zh
    assert "forgot to carry" in with_cause[0].reason_en
    without = select_similar(TARGET, pool, ability=0.0, cause=None, seen=set(), n=3)
    assert _ids(without) == ["a", "b", "c"]  # a tie, broken by id


def test_near_duplicates_of_picks_and_of_the_target_are_skipped() -> None:
    word = "小明有 35 张邮票，又买了 28 张。现在一共有多少张邮票？"
    pool = [
        _c("copy-of-target", stem="37 + 48 ="),
        _c("w1", stem=word),
        _c("w2", stem=word.replace("小明", "小红")),  # one-word edit of w1
        _c("w3", stem="果园里有 37 棵桃树，今年又种了 39 棵。现在一共有多少棵桃树？"),
    ]
    picks = select_similar(TARGET, pool, ability=0.0, cause=None, seen=set(), n=4)
    assert sorted(_ids(picks)) == ["w1", "w3"]
    stems = {c.question_id: c.stem for c in pool}
    assert stem_similarity(stems["w1"], stems["w2"]) >= 0.8
    assert all(stem_similarity(stems[a.question_id], stems[b.question_id]) < 0.8
               for a in picks for b in picks if a is not b)
    loose = select_similar(TARGET, pool, ability=0.0, cause=None, seen=set(), n=4,
                           near_duplicate=1.01)
    assert _ids(loose)[0] == "copy-of-target"
    assert len(loose) == 4


def test_ties_are_ordered_by_id_whatever_the_pool_order() -> None:
    pool = [_c(f"q{i:02d}", stem="同一个题干") for i in range(20)]
    expected = _ids(select_similar(TARGET, pool, ability=0.0, cause=None, seen=set(), n=20,
                                   near_duplicate=1.01))
    assert expected == sorted(expected)
    assert len(expected) == 20
    rng = random.Random(4)
    for _ in range(5):
        shuffled = pool[:]
        rng.shuffle(shuffled)
        again = select_similar(TARGET, shuffled, ability=0.0, cause=None, seen=set(), n=20,
                               near_duplicate=1.01)
        assert _ids(again) == expected


def test_index_scores_match_the_plain_functions() -> None:
    rng = random.Random(2)
    codes = ["math.add.carry", "math.add.nocarry", "math.add", "math.sub.borrow",
             "math.word.add_sub", "math.mul.table", "math.frac.concept"]
    pool = [
        _c(f"q{i:03d}", tuple(rng.sample(codes, rng.randint(1, 3))), rng.gauss(0, 1),
           f"{rng.randint(1, 99)} {rng.choice('+-×÷')} {rng.randint(1, 99)} =")
        for i in range(300)
    ]
    index = SimilarIndex(pool)
    target = _c("t", ("math.add.carry", "math.word.add_sub"), 0.0, "37 + 48 =")
    picks = index.select(target, ability=0.0, cause=None, seen=set(), n=40, near_duplicate=1.01)
    by_id = {c.question_id: c for c in pool}
    for p in picks:
        c = by_id[p.question_id]
        assert p.parts["kp"] == pytest.approx(kp_overlap(target.knowledge_points,
                                                         c.knowledge_points)[0], abs=1e-4)
        assert p.parts["stem"] == pytest.approx(stem_similarity(target.stem, c.stem), abs=1e-4)
        expected = np.exp(-0.5 * ((c.difficulty - STRETCH) / 0.8) ** 2)
        assert p.parts["difficulty"] == pytest.approx(expected, abs=1e-4)
    assert [p.score for p in picks] == sorted((p.score for p in picks), reverse=True)
    assert picks == select_similar(target, pool, ability=0.0, cause=None, seen=set(), n=40,
                                   near_duplicate=1.01)


def test_on_the_sample_bank_a_carry_error_gets_carry_items_with_named_reasons() -> None:
    pool, names = _bank()
    target = next(c for c in pool if c.question_id == "m3-add-001")
    index = SimilarIndex(pool, kp_names=names)
    picks = index.select(target, ability=-0.8, cause="forgot_carry", seen={"m3-add-003"}, n=5)
    assert len(picks) == 5
    assert "m3-add-001" not in _ids(picks)
    assert "m3-add-003" not in _ids(picks)
    by_id = {c.question_id: c for c in pool}
    # Every remaining item tagged exactly math.add.carry comes before anything else.
    exact = [q for q in _ids(picks) if "math.add.carry" in by_id[q].knowledge_points]
    assert _ids(picks)[: len(exact)] == exact
    assert len(exact) >= 3
    assert picks[0].reason_zh.startswith("同一知识点（进位加法）")
    assert picks[0].reason_en.startswith("same knowledge point (Addition with carrying)")


def test_empty_inputs_give_no_picks() -> None:
    assert select_similar(TARGET, [], ability=0.0, cause=None, seen=set(), n=5) == []
    assert select_similar(TARGET, [_c("a")], ability=0.0, cause=None, seen=set(), n=0) == []
    no_kp = Candidate("t", (), 0.0, "37 + 48 =")
    assert select_similar(no_kp, [_c("a")], ability=0.0, cause=None, seen=set(), n=3) == []
