"""``ocr.regions.percentile_u8`` is ``np.percentile`` to the bit, for any crop."""

from __future__ import annotations

import numpy as np
import pytest

from ocr.regions import normalise_paper, percentile_u8


@pytest.mark.parametrize("shape", [(1,), (2,), (3, 3), (7, 11), (40, 120), (301, 97)])
@pytest.mark.parametrize("q", [0, 10, 50, 89.5, 90, 99, 100])
def test_same_float_as_numpy(shape: tuple[int, ...], q: float) -> None:
    rng = np.random.default_rng(hash((shape, q)) % 2**32)
    for kind in ("uniform", "paper", "flat"):
        if kind == "uniform":
            img = rng.integers(0, 256, shape, dtype=np.uint8)
        elif kind == "paper":  # mostly paper with some ink, as a crop is
            img = np.where(rng.random(shape) < 0.8, rng.integers(200, 240, shape),
                           rng.integers(0, 120, shape)).astype(np.uint8)
        else:
            img = np.full(shape, 173, np.uint8)
        assert percentile_u8(img, q) == float(np.percentile(img, q))


def test_normalise_paper_is_unchanged() -> None:
    rng = np.random.default_rng(5)
    for _ in range(200):
        img = rng.integers(0, 256, (int(rng.integers(1, 60)), int(rng.integers(1, 60))),
                           dtype=np.uint8)
        paper = float(np.percentile(img, 90))
        expected = img if paper < 40 else np.clip(
            img.astype(np.float32) * (255.0 / paper), 0, 255).astype(np.uint8)
        assert np.array_equal(normalise_paper(img), expected)
