"""The handwriting composer: deterministic, split-respecting, clear when data is missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulation.handwriting import (
    DatasetsMissingError,
    GlyphBank,
    compose_answer,
    random_numeric_answer,
    split_indices,
)


def test_splits_partition_indices() -> None:
    parts = [set(split_indices(100, s).tolist()) for s in ("train", "calib", "test")]
    assert sum(len(p) for p in parts) == 100
    assert not (parts[0] & parts[1])
    assert not (parts[0] & parts[2])
    assert not (parts[1] & parts[2])


def test_missing_datasets_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetsMissingError, match="MARKBOOK_DATASETS_DIR"):
        GlyphBank.load("test", tmp_path)


def test_compose_is_seeded_and_deterministic(test_bank: GlyphBank) -> None:
    a = compose_answer(test_bank, "7/8", np.random.default_rng(3))
    b = compose_answer(test_bank, "7/8", np.random.default_rng(3))
    assert a.truth == "7/8"
    assert np.array_equal(a.image, b.image)
    assert a.image.dtype == np.uint8
    assert a.image.ndim == 2
    # Dark ink on light paper: the median pixel is paper.
    assert np.median(a.image) > 150
    assert a.image.min() < 120


def test_random_answers_are_short_numeric() -> None:
    rng = np.random.default_rng(0)
    answers = [random_numeric_answer(rng) for _ in range(200)]
    assert all(1 <= len(a) <= 5 and set(a) <= set("0123456789-./") for a in answers)
    assert any("/" in a for a in answers)
    assert any("." in a for a in answers)
