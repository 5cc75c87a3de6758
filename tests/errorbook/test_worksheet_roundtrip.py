"""A printed worksheet reads back: markers, QR and every answer box where the layout says.

The PDF is rasterised at 200 dpi with pypdfium2 (the renderer the service uses for scans),
markers are found with OpenCV's ArUco detector and QR codes with zxing-cpp, as the reader
will. Layout boxes are mapped to pixels through the homography from the detected markers,
so a marker misplaced in the layout fails the test as surely as a misplaced box.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp
from pydantic import TypeAdapter

from errorbook.contract import PageCode, WorksheetLayout, format_page_code, parse_page_code
from errorbook.printing.geometry import MM
from errorbook.printing.layout import layout_worksheet
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from grading.questions import Question
from tests.support.samples import sample_questions

DPI = 200
PX = DPI / 72.0
TOL_PX = 1.0 * MM * PX  # 1 mm
_Q = TypeAdapter(Question)


@lru_cache(maxsize=1)
def _mixed_questions() -> list[Any]:
    """Every kind, maths and Chinese, enough for several pages."""
    bank = sample_questions()
    by_kind: dict[str, list[Any]] = {}
    for q in bank:
        by_kind.setdefault(q.kind, []).append(q)
    out = []
    for i in range(4):
        out.extend(qs[i] for qs in by_kind.values() if len(qs) > i)
    return out


@pytest.fixture(scope="module")
def printed() -> tuple[WorksheetLayout, bytes]:
    layout = layout_worksheet("三年级 综合练习（进位加法·古诗）", _mixed_questions())
    copies = [PrintedCopy(tuple(format_page_code(PageCode(41, p.number, 7)) for p in layout.pages),
                          student_name="王小明", student_no="20250301", class_name="三年级(2)班")]
    return layout, render_worksheet_pdf(layout, copies)


def _raster(pdf: bytes) -> list[np.ndarray]:
    doc = pdfium.PdfDocument(pdf)
    return [np.asarray(doc[i].render(scale=PX, grayscale=True).to_pil()) for i in range(len(doc))]


def _markers(img: np.ndarray) -> dict[int, np.ndarray]:
    dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
    detector = cv2.aruco.ArucoDetector(dictionary, cv2.aruco.DetectorParameters())
    corners, ids, _ = detector.detectMarkers(img)
    return {} if ids is None else {int(i): c.reshape(4, 2) for i, c in zip(ids.ravel(), corners, strict=True)}


def _homography(layout_page: Any, found: dict[int, np.ndarray]) -> np.ndarray:
    src, dst = [], []
    for m in layout_page.markers:
        x0, y0, x1, y1 = m.box
        src.extend([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])  # ArUco corner order: TL TR BR BL
        dst.extend(found[m.marker_id])
    h, _ = cv2.findHomography(np.array(src, np.float32), np.array(dst, np.float32))
    return h


def _map_box(h: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    x0, y0, x1, y1 = box
    pts = np.array([[(x0, y0), (x1, y1)]], np.float32)
    return cv2.perspectiveTransform(pts, h).reshape(-1)


def _drawn_rects(img: np.ndarray) -> np.ndarray:
    """Bounding boxes of every closed dark outline on the page (boxes and bubbles)."""
    _, ink = cv2.threshold(img, 160, 255, cv2.THRESH_BINARY_INV)
    contours, _ = cv2.findContours(ink, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    rects = [cv2.boundingRect(c) for c in contours]
    return np.array([(x, y, x + w, y + h) for x, y, w, h in rects if w > 15 and h > 15], float)


def _has_match(rects: np.ndarray, target: np.ndarray) -> bool:
    # A stroked outline has an outer and an inner contour; the stroke's centre line (the
    # layout box) lies between them, within half a stroke of either.
    return bool((np.abs(rects - target).max(axis=1) <= TOL_PX).any())


def test_every_page_has_four_markers_and_its_qr(printed: tuple[WorksheetLayout, bytes]) -> None:
    layout, pdf = printed
    images = _raster(pdf)
    assert len(layout.pages) >= 2, "the sample must paginate"
    assert len(images) == len(layout.pages) + len(layout.pages) % 2  # duplex filler page
    for page, img in zip(layout.pages, images[: len(layout.pages)], strict=True):
        found = _markers(img)
        assert set(found) == {0, 1, 2, 3}, f"page {page.number}: markers {sorted(found)}"
        codes = [parse_page_code(r.text) for r in zxingcpp.read_barcodes(img)]
        assert codes == [PageCode(41, page.number, 7)]
        # Marker corners land where the layout put them.
        for m in page.markers:
            corners = found[m.marker_id]
            x0, y0, x1, y1 = (v * PX for v in m.box)
            expected = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
            assert np.abs(corners - expected).max() <= TOL_PX


def test_answer_boxes_land_on_drawn_boxes(printed: tuple[WorksheetLayout, bytes]) -> None:
    layout, pdf = printed
    images = _raster(pdf)[: len(layout.pages)]
    checked = 0
    for page, img in zip(layout.pages, images, strict=True):
        h = _homography(page, _markers(img))
        rects = _drawn_rects(img)
        for region in page.regions:
            targets = [b.box for b in region.bubbles] or [region.box]
            for box in targets:
                assert _has_match(rects, _map_box(h, box)), (
                    f"page {page.number} q{region.number} ({region.kind}) box {box} not drawn")
                checked += 1
        for box in page.student_no_boxes:
            assert _has_match(rects, _map_box(h, box))
    assert checked >= 30


def test_a_shifted_box_would_fail(printed: tuple[WorksheetLayout, bytes]) -> None:
    """The check above is sharp: a box 1.5 mm off is not matched."""
    layout, pdf = printed
    img = _raster(pdf)[0]
    rects = _drawn_rects(img)
    region = next(r for r in layout.pages[0].regions if not r.bubbles)
    x0, y0, x1, y1 = (v * PX for v in region.box)
    off = 1.5 * MM * PX
    assert _has_match(rects, np.array([x0, y0, x1, y1]))
    assert not _has_match(rects, np.array([x0 + off, y0, x1 + off, y1]))


def test_chinese_text_extracts_and_fonts_are_embedded(
        printed: tuple[WorksheetLayout, bytes]) -> None:
    import io

    import pikepdf

    layout, pdf = printed
    doc = pdfium.PdfDocument(pdf)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert "三年级 综合练习（进位加法·古诗）" in text
    assert "王小明" in text
    assert "姓名" in text
    assert "学号" in text
    first_stem = layout.pages[0].blocks[0].stem_lines[0]
    assert first_stem in text
    with pikepdf.open(io.BytesIO(pdf)) as p:
        fonts = {}
        for page in p.pages:
            for _name, font in page.Resources.Font.items():
                desc = font.get("/FontDescriptor") or font.DescendantFonts[0].FontDescriptor
                fonts[str(font.BaseFont)] = "/FontFile2" in desc
    assert fonts, f"not embedded: {fonts}"
    assert all(fonts.values()), f"not embedded: {fonts}"


def test_pinyin_tone_marks_have_ink() -> None:
    """Third-tone vowels are empty glyphs in WenQuanYi Micro Hei; the fallback must ink them."""
    q = _Q.validate_python({"id": "p1", "kind": "true_false", "subject": "chinese", "grade": 3,
                            "stem": "ǎǐǒǔǚǜ", "knowledge_points": ["chinese.pinyin"],
                            "key": {"answer": True}})
    layout = layout_worksheet("拼音", [q])
    pdf = render_worksheet_pdf(layout, [PrintedCopy(("MB1;W1;P1",))])
    img = _raster(pdf)[0]
    block = layout.pages[0].blocks[0]
    y = int(block.top * PX)
    x0 = int(block.stem_x * PX)
    strip = img[y: y + int(16 * PX), x0: x0 + int(40 * MM * PX)]
    assert (strip < 128).sum() > 200, "tone-marked vowels printed blank"


def test_duplex_padding_and_personalised_names() -> None:
    bank = sample_questions()
    layout = layout_worksheet("一页", bank[:3])
    assert len(layout.pages) == 1
    copies = [PrintedCopy((f"MB1;W1;P1;S{i}",), student_name=n, student_no=f"0{i}")
              for i, n in enumerate(["甲同学", "乙同学"], start=1)]
    doc = pdfium.PdfDocument(render_worksheet_pdf(layout, copies))
    assert len(doc) == 4
    texts = [doc[i].get_textpage().get_text_range() for i in range(4)]
    assert "甲同学" in texts[0]
    assert "乙同学" in texts[2]
    assert "本页空白" in texts[1]
    assert "本页空白" in texts[3]
    single = pdfium.PdfDocument(render_worksheet_pdf(layout, copies, duplex=False))
    assert len(single) == 2
