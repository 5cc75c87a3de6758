"""One child, one page: the stack's best assignment and each page's margin."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ocr.students.stack import best_assignment, place_pages, stack_margins


def _brute(scores: np.ndarray) -> float:
    n, m = scores.shape
    return max(sum(scores[i, c] for i, c in enumerate(cols))
               for cols in itertools.permutations(range(m), n))


@pytest.mark.parametrize("seed", range(8))
def test_the_assignment_is_the_best_one(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = np.log(rng.dirichlet(np.ones(6), size=int(rng.integers(1, 7))))
    cols = best_assignment(scores)
    assert len(set(cols)) == len(cols)
    assert sum(scores[i, c] for i, c in enumerate(cols)) == pytest.approx(_brute(scores))


def test_a_slip_onto_another_childs_number_is_resolved_by_that_childs_page() -> None:
    # Page 0 reads as child 1's number (a slip) but child 1's own page is sure of itself;
    # child 0 has no other page, so page 0 is child 0's, with a clear margin.
    scores = np.log(np.array([[0.30, 0.70, 1e-6],
                              [1e-4, 0.9998, 1e-4],
                              [1e-6, 1e-6, 0.999998]]))
    margins = stack_margins(scores)
    assert [j for j, _ in margins] == [0, 1, 2]
    assert all(m > 5 for _, m in margins)


def test_two_pages_that_could_swap_have_no_margin() -> None:
    scores = np.log(np.array([[0.5, 0.5], [0.5, 0.5]]))
    assert all(m == pytest.approx(0.0) for _, m in stack_margins(scores))


def test_more_pages_than_children_is_refused() -> None:
    with pytest.raises(ValueError, match="one to one"):
        best_assignment(np.zeros((3, 2)))
    assert best_assignment(np.zeros((0, 4))) == []


def test_a_page_for_a_child_already_placed_goes_to_nobody() -> None:
    # Page 1 is a second scan of a child who is no longer free: its best free candidate is
    # a one-digit neighbour at about log(slip), below "nobody", so it is left for a teacher.
    scores = np.array([[-0.01, -9.0, -20.0],
                       [-6.0, -25.0, -30.0]])
    placed = place_pages(scores, margin=2.0)
    assert placed[0][0] == 0
    assert placed[1][0] == -1


def test_only_pages_with_a_margin_are_placed() -> None:
    sure = np.log(np.array([[0.999999, 1e-6], [0.6, 0.4]]))
    placed = place_pages(sure, margin=8.0, nobody=-30.0)
    # Page 0 claims column 0, and page 1 is placed by elimination with the same margin.
    assert [j for j, _ in placed] == [0, 1]
    unsure = np.log(np.array([[0.6, 0.4], [0.5, 0.5]]))
    assert [j for j, _ in place_pages(unsure, margin=8.0, nobody=-30.0)] == [-1, -1]
    assert place_pages(np.zeros((0, 3))) == []
