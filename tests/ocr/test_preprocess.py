"""Crop preparation and glyph segmentation on drawn crops."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocr.reading.glyphs import segment_ink
from ocr.reading.preprocess import RAW, PrepOptions, clean_ink, prepare_crop


def _box(text: str, angle: float = 0.0) -> np.ndarray:
    img = np.full((100, 300), 245, np.uint8)
    cv2.rectangle(img, (6, 6), (293, 93), 10, 3)
    cv2.putText(img, text, (90, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 40, 3, cv2.LINE_AA)
    m = cv2.getRotationMatrix2D((150, 50), angle, 1.0)
    return cv2.warpAffine(img, m, (300, 100), borderValue=245)


@pytest.mark.parametrize("angle", [-3.0, 0.0, 3.0])
def test_empty_box_is_blank_even_when_skewed(angle: float) -> None:
    ink, _ = clean_ink(_box("", angle))
    assert ink is None
    assert prepare_crop(_box("", angle)).image is None


def test_border_is_erased_and_crop_is_tight() -> None:
    ink, _ = clean_ink(_box("42", 2.0))
    assert ink is not None
    # The box is 300 px wide; the two digits with their margin are far narrower.
    assert ink.shape[1] < 150
    prepared = prepare_crop(_box("42"), PrepOptions(height=48))
    assert prepared.image is not None
    assert prepared.image.shape[0] == 48


def test_raw_only_resizes() -> None:
    prepared = prepare_crop(_box(""), RAW)
    assert prepared.image is not None
    assert prepared.image.shape == (48, 144)


def test_pencil_light_ink_is_stretched_to_black() -> None:
    img = np.full((100, 300), 235, np.uint8)
    cv2.putText(img, "7", (120, 75), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 175, 4)
    prepared = prepare_crop(img)
    assert prepared.image is not None
    assert prepared.image.min() < 60


def test_segments_left_to_right_with_dot_geometry() -> None:
    ink, _ = clean_ink(_box("3.5"))
    assert ink is not None
    segments = segment_ink(ink)
    assert len(segments) == 3
    xs = [s.bbox[0] for s in segments]
    assert xs == sorted(xs)
    dot = segments[1]
    assert dot.geometry[0] < 0.4
    assert dot.geometry[2] > 0.6


def _box_with_side_digit(angle: float, lean: int) -> np.ndarray:
    # "17" written with the 1 against the box's left rule, the way a hurried student does.
    img = np.full((100, 300), 245, np.uint8)
    cv2.rectangle(img, (6, 6), (293, 93), 10, 3)
    cv2.line(img, (12 + lean, 25), (10, 75), 30, 4)  # the 1 touches the rule at its foot
    cv2.putText(img, "7", (30, 75), cv2.FONT_HERSHEY_SIMPLEX, 1.8, 30, 4, cv2.LINE_AA)
    m = cv2.getRotationMatrix2D((150, 50), angle, 1.0)
    return cv2.warpAffine(img, m, (300, 100), borderValue=245)


@pytest.mark.parametrize(("angle", "lean"), [(0.0, 0), (2.0, 6), (-2.0, 8)])
def test_digit_written_against_the_side_rule_is_kept(angle: float, lean: int) -> None:
    ink, _ = clean_ink(_box_with_side_digit(angle, lean))
    assert ink is not None
    segments = segment_ink(ink)
    # The 1 and the 7 both survive, and nothing of the rule is left as a third glyph.
    assert len(segments) == 2
    assert segments[0].geometry[0] > 0.7  # the 1 is as tall as the 7


def test_side_rule_alone_is_not_kept_as_a_stroke() -> None:
    img = np.full((100, 300), 245, np.uint8)
    cv2.rectangle(img, (6, 6), (293, 93), 10, 3)
    cv2.putText(img, "3", (200, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 30, 3, cv2.LINE_AA)
    ink, _ = clean_ink(cv2.GaussianBlur(img, (0, 0), 1.0))
    assert ink is not None
    assert len(segment_ink(ink)) == 1


def _faint_minus_box(minus_tone: int) -> np.ndarray:
    # "-15" with a quick, short, light minus: blurred as a scan blurs it, only a thread of
    # it stays above INK_LEVEL (a few pixels, less than 2% of a digit's area) while the
    # digits stay solid. Before the faint measure, the crop was trimmed past it.
    img = np.full((100, 300), 245, np.uint8)
    cv2.rectangle(img, (6, 6), (293, 93), 10, 3)
    cv2.line(img, (76, 52), (85, 52), minus_tone, 2)
    cv2.putText(img, "15", (95, 72), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 30, 5, cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), 1.0)


def test_thin_faint_minus_stays_in_the_crop_and_is_a_glyph() -> None:
    ink, _ = clean_ink(_faint_minus_box(145))
    assert ink is not None
    segments = segment_ink(ink)
    assert len(segments) == 3  # the minus, the 1 and the 5
    minus = segments[0]
    assert minus.geometry[0] < 0.2
    assert minus.geometry[1] > 0.15


def test_speckle_is_still_dropped() -> None:
    img = _faint_minus_box(245)  # no minus: paper tone
    rng = np.random.default_rng(3)
    for _ in range(12):  # copier specks: two or three dark pixels with no faint trail
        y, x = int(rng.integers(20, 80)), int(rng.integers(20, 85))
        img[y, x:x + 2] = 60
    ink, _ = clean_ink(img)
    assert ink is not None
    assert len(segment_ink(ink)) == 2


def test_shards_of_a_broken_stroke_are_not_revived() -> None:
    from ocr.reading.preprocess import ink_components

    ink = np.zeros((60, 120), np.float32)
    ink[10:50, 20:26] = 1.0  # a stroke
    ink[30:33, 27:29] = 0.5  # a dark fleck inside the stroke's faint halo
    ink[10:50, 26:30] = 0.25  # the halo joins them below INK_LEVEL
    _, stats, keep = ink_components(ink, 0.02)
    assert len(keep) == 1
    assert stats[keep[0], 2] == 6



def test_specks_alone_are_no_ink() -> None:
    from ocr.reading.preprocess import ink_components

    ink = np.zeros((40, 80), np.float32)
    ink[10, 10:12] = 0.9  # two-pixel specks, nothing a person wrote
    ink[30, 50] = 0.9
    ink[20:23, 30:40] = 0.25  # and a faint smudge below the stroke level
    assert ink_components(ink, 0.02)[2] == []
