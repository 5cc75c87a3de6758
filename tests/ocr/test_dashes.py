"""A leading minus the scan broke into specks is redrawn; noise that looks nothing like
one is left alone."""

from __future__ import annotations

import numpy as np
import pytest

from ocr.reading.dashes import DashRule, bridge_leading_dash
from ocr.reading.glyphs import segment_ink
from ocr.reading.preprocess import FAINT_LEVEL, PrepOptions, clean_ink, ink_components

DIGITS = np.array([[60, 20, 8, 40], [80, 20, 20, 40]])  # "12": x, y, w, h
ROW = 40  # the digits' middle height


def _ink(specks: list[tuple[int, int]], value: float = 0.9, size: int = 2) -> np.ndarray:
    ink = np.zeros((80, 120), np.float32)
    for x, y, w, h in DIGITS:
        ink[y:y + h, x:x + w] = 1.0
    for x, y in specks:
        ink[y:y + size, x:x + size] = value
    return ink


def test_three_specks_in_a_row_before_the_digits_become_one_stroke() -> None:
    ink = _ink([(30, ROW), (40, ROW), (50, ROW)])
    out = bridge_leading_dash(ink, DIGITS, FAINT_LEVEL)
    assert out is not None
    row = out[ROW:ROW + 2, 30:52]
    assert (row >= 0.6).all()  # the gaps are filled
    assert (out >= ink).all()
    assert np.array_equal(out[:, 60:], ink[:, 60:])


@pytest.mark.parametrize("specks", [
    [(45, ROW)],  # a single speck: a dot or dust, not a dash
    [(30, 22), (40, 22), (50, 22)],  # a row at the top of the digits: not a minus's height
    [(2, ROW), (12, ROW)],  # far from the first digit
    [(20, ROW), (50, ROW)],  # too far apart to be one stroke
    [(40, ROW), (50, ROW + 8)],  # not on one row
])
def test_other_speck_patterns_are_left_alone(specks: list[tuple[int, int]]) -> None:
    assert bridge_leading_dash(_ink(specks), DIGITS, FAINT_LEVEL) is None


def test_faint_paper_grain_in_a_row_is_not_a_minus() -> None:
    # On a light-pencil page the ink map is rescaled to the pencil's darkness, which
    # lifts paper grain to 0.2-0.36: such specks lining up are chance, not a stroke.
    ink = _ink([(30, ROW), (40, ROW), (50, ROW)], value=0.3)
    assert bridge_leading_dash(ink, DIGITS, FAINT_LEVEL) is None
    assert bridge_leading_dash(ink, DIGITS, FAINT_LEVEL, DashRule(min_peak=0.25)) is not None


def _broken_minus_box() -> np.ndarray:
    """A scanned box holding "-12" whose minus the copier left as three black specks."""
    img = np.full((100, 300), 255, np.uint8)
    img[6:9, 6:294] = 0  # the printed box
    img[91:94, 6:294] = 0
    img[6:94, 6:9] = 0
    img[6:94, 291:294] = 0
    img[30:72, 120:126] = 0  # "1"
    img[30:36, 140:165] = 0  # "2" drawn as a Z
    img[36:66, 150:156] = 0
    img[66:72, 140:168] = 0
    for x in (86, 97, 108):
        img[50:52, x:x + 2] = 0
    return img


def test_clean_ink_keeps_the_redrawn_minus_as_a_glyph() -> None:
    img = _broken_minus_box()
    plain, _ = clean_ink(img, PrepOptions(bridge_dashes=False))
    bridged, _ = clean_ink(img)
    assert plain is not None
    assert bridged is not None
    assert len(segment_ink(plain)) == 2  # the specks were dropped: "12"
    segments = segment_ink(bridged)
    assert len(segments) == 3
    minus = segments[0]
    assert minus.geometry[0] < 0.2
    assert minus.geometry[1] > 0.3
    assert len(ink_components(bridged, 0.02)[2]) == 3


def test_a_solid_minus_is_not_redrawn() -> None:
    ink = _ink([])
    ink[ROW:ROW + 2, 40:56] = 0.9  # kept as a stroke already: nothing before it
    _, stats, keep = ink_components(ink, 0.02)
    assert bridge_leading_dash(ink, stats[keep, :4], FAINT_LEVEL) is None


def test_a_row_of_specks_on_a_speckled_scan_is_chance() -> None:
    ink = _ink([(30, ROW), (40, ROW), (50, ROW)])
    rng = np.random.default_rng(5)
    for _ in range(30):  # copier specks all over the box
        y, x = int(rng.integers(0, 80)), int(rng.integers(0, 120))
        ink[y:y + 2, x:x + 2] = np.maximum(ink[y:y + 2, x:x + 2], 0.9)
    assert bridge_leading_dash(ink, DIGITS, FAINT_LEVEL) is None
    assert bridge_leading_dash(ink, DIGITS, FAINT_LEVEL, DashRule(max_other_specks=100)) is not None


def test_writing_that_starts_at_the_left_edge_is_left_alone() -> None:
    # A crop cut into the box leaves the first digit on the ink map's edge: there is no
    # room for a minus, and nothing to measure (this once raised inside OpenCV).
    ink = np.zeros((80, 60), np.float32)
    ink[20:60, 0:8] = 1.0
    assert bridge_leading_dash(ink, np.array([[0, 20, 8, 40]]), FAINT_LEVEL) is None
    assert bridge_leading_dash(ink, np.array([[1, 20, 7, 40]]), FAINT_LEVEL) is None
    out, _ = clean_ink((255 - ink * 255).astype(np.uint8), PrepOptions(remove_border=False))
    assert out is not None
