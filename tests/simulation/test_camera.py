"""The phone camera model: frame size, what the reader still finds, curl, determinism."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from errorbook.contract import PageLayout
from ocr.align import align_with_markers, detect_markers
from ocr.identify import identify_page
from simulation.bench_worksheet import DPI, build_worksheet
from simulation.camera import (
    EASY,
    HARD,
    SCANNER_APP,
    photo_jpeg,
    photograph,
    plan_shot,
    project_page_point,
)

MM_PER_PT = 25.4 / 72


@pytest.fixture(scope="module")
def worksheet() -> tuple[PageLayout, np.ndarray]:
    layout, printed, _blank, _questions = build_worksheet()
    return layout, printed


def _size_mm(page: np.ndarray) -> tuple[float, float]:
    return page.shape[1] * 25.4 / DPI, page.shape[0] * 25.4 / DPI


def test_a_photo_is_a_12mp_frame_and_the_same_for_a_seed(
        worksheet: tuple[PageLayout, np.ndarray]) -> None:
    _layout, page = worksheet
    a = photograph(page, DPI, np.random.default_rng(5), HARD)
    assert a.shape == (4000, 3000)
    assert a.dtype == np.uint8
    assert np.array_equal(a, photograph(page, DPI, np.random.default_rng(5), HARD))
    assert not np.array_equal(a, photograph(page, DPI, np.random.default_rng(6), HARD))
    data = photo_jpeg(page, DPI, np.random.default_rng(5), HARD)
    assert data[:3] == b"\xff\xd8\xff"  # what a phone uploads


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_easy_photo_keeps_the_markers_where_the_camera_put_them_and_the_code(
        worksheet: tuple[PageLayout, np.ndarray], seed: int) -> None:
    layout, page = worksheet
    photo = photograph(page, DPI, np.random.default_rng(seed), EASY)
    # The page may fill only 60% of the frame: search each quarter, not the reader's corners.
    found = detect_markers(photo, corner_fraction=0.5)
    assert set(found) == {m.marker_id for m in layout.markers}
    shot = plan_shot(_size_mm(page), np.random.default_rng(seed), EASY)
    for m in layout.markers:
        x0, y0, x1, y1 = m.box
        centre_mm = ((x0 + x1) / 2 * MM_PER_PT, (y0 + y1) / 2 * MM_PER_PT)
        expected = project_page_point(centre_mm, _size_mm(page), shot, EASY.frame_px)
        assert np.allclose(found[m.marker_id].mean(axis=0), expected, atol=3.0)
    ident, _upright = identify_page(photo)
    assert ident.status == "identified"
    assert ident.code is not None
    assert (ident.code.worksheet_id, ident.code.page, ident.code.student_id) == (77, 1, 5)


def test_curl_lifts_one_edge_and_leaves_the_rest_of_the_page_where_it_was(
        worksheet: tuple[PageLayout, np.ndarray]) -> None:
    _layout, page = worksheet
    w, h = _size_mm(page)
    options = replace(HARD, curl_mm=(6.0, 6.0), curl_band_mm=(60.0, 60.0), tilt_deg=(25.0, 25.0))
    for seed in range(8):
        shot = plan_shot((w, h), np.random.default_rng(seed), options)
        # 5 mm in from the middle of the lifted edge (0 top, 1 right, 2 bottom, 3 left).
        near = [(w / 2, 5.0), (w - 5.0, h / 2), (w / 2, h - 5.0), (5.0, h / 2)][shot.curl_edge]
        far = [(w / 2, h - 5.0), (5.0, h / 2), (w / 2, 5.0), (w - 5.0, h / 2)][shot.curl_edge]

        moved = {}
        for name, point in (("near", near), ("centre", (w / 2, h / 2)), ("far", far)):
            a = project_page_point(point, (w, h), shot, options.frame_px, curl=True)
            b = project_page_point(point, (w, h), shot, options.frame_px, curl=False)
            moved[name] = float(np.hypot(a[0] - b[0], a[1] - b[1]))
        # A 5 mm lift seen from a camera ~0.4 m away, 25° off the normal: well over a
        # millimetre (the frame holds about 10 px per mm of paper).
        assert moved["near"] > 10.0
        assert moved["centre"] < 1e-6
        assert moved["far"] < 1e-6


def test_curl_shows_in_the_photo_where_the_page_is_lifted(
        worksheet: tuple[PageLayout, np.ndarray]) -> None:
    _layout, page = worksheet
    flat_options = replace(HARD, curl_mm=(0.0, 0.0), curl_band_mm=(80.0, 80.0),
                           tilt_deg=(25.0, 25.0), shadow_prob=0.0)
    curled_options = replace(flat_options, curl_mm=(6.0, 6.0))
    seed = 3
    flat = detect_markers(photograph(page, DPI, np.random.default_rng(seed), flat_options),
                          corner_fraction=0.5)
    curled = detect_markers(photograph(page, DPI, np.random.default_rng(seed), curled_options),
                            corner_fraction=0.5)
    assert set(flat) == set(curled) == {0, 1, 2, 3}
    edge = plan_shot(_size_mm(page), np.random.default_rng(seed), curled_options).curl_edge
    # Markers 0 TL, 1 TR, 2 BR, 3 BL: the two on the lifted edge move, the others do not.
    lifted = {0: {0, 1}, 1: {1, 2}, 2: {2, 3}, 3: {3, 0}}[edge]
    shift = {i: float(np.abs(curled[i] - flat[i]).max()) for i in flat}
    assert min(shift[i] for i in lifted) > 1.0, shift
    assert max(shift[i] for i in flat if i not in lifted) < 0.5, shift


def test_a_scanner_app_returns_the_flattened_page_that_aligns_like_a_scan(
        worksheet: tuple[PageLayout, np.ndarray]) -> None:
    layout, page = worksheet
    out = photograph(page, DPI, np.random.default_rng(4), SCANNER_APP)
    assert out.shape[0] / out.shape[1] == pytest.approx(page.shape[0] / page.shape[1], rel=0.01)
    ident, upright = identify_page(out)
    assert ident.status == "identified"
    alignment = align_with_markers(upright, [(m.marker_id, m.box) for m in layout.markers])
    assert alignment is not None
    assert alignment.ok
    # Shading flattened: the paper is near white everywhere (no falloff to the corners).
    paper = cv2.dilate(out, np.ones((15, 15), np.uint8))[::50, ::50]
    assert np.percentile(paper, 5) > 200
