"""Annotated papers: a real worksheet, printed, filled, scanned, aligned, graded and marked.

The worksheet is rendered by errorbook, rasterised at 200 dpi with pypdfium2, filled with
handwriting and marks by ``simulation.pages.fill_page`` (skewed and degraded like a
copier) and aligned by its printed markers with ``ocr.align``, exactly as the reader does.
The annotated PDF is rasterised again and checked by pixels: red ink must appear beside
every graded answer and never inside an answer box.
"""

from __future__ import annotations

import io
import json
import pickle
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image
from pydantic import TypeAdapter

from errorbook.contract import PageCode, PageLayout, WorksheetLayout, format_page_code
from errorbook.printing.annotated.marks import MarkRequest, place_marks
from errorbook.printing.annotated.paper import (
    AnnotateOptions,
    RegionMark,
    ScanPage,
    StudentPaper,
    layout_keep_clear,
    render_annotated_class_pdf,
    render_annotated_pdf,
)
from errorbook.printing.geometry import MM
from errorbook.printing.layout import layout_worksheet
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from grading.grade import Verdict
from grading.questions import Question
from ocr.align import align_with_markers
from simulation.classroom import load_glyphs
from simulation.pages import fill_page
from tests.support.datasets import DATASETS_DIR
from tests.support.samples import SAMPLES

DPI = 200
RASTER = 2.0  # annotated pages are checked at 144 dpi
VERDICTS = ("correct", "incorrect", "partially_correct", "blank", "needs_review")
SCORES = {"correct": 2.0, "incorrect": 0.0, "partially_correct": 1.0, "blank": 0.0}
_Q = TypeAdapter(Question)


@dataclass(frozen=True)
class Scanned:
    layout: WorksheetLayout
    images: tuple[np.ndarray, ...]
    homographies: tuple[tuple[float, ...], ...]


@lru_cache(maxsize=1)
def _questions() -> list[Any]:
    data = json.loads((SAMPLES / "question_bank.json").read_text(encoding="utf-8"))
    by_kind: dict[str, list[Any]] = {}
    for q in data["questions"]:
        by_kind.setdefault(q["kind"], []).append(_Q.validate_python(q))
    out = []
    for i in range(4):
        out.extend(qs[i] for qs in by_kind.values() if len(qs) > i)
    return out


def _scan(layout: WorksheetLayout, pages: int, seed: int) -> Scanned:
    copy = PrintedCopy(tuple(format_page_code(PageCode(5, p.number, 9)) for p in layout.pages),
                       student_name="王小明", student_no="20250301")
    doc = pdfium.PdfDocument(render_worksheet_pdf(layout, [copy], duplex=False))
    bank, _ = load_glyphs(DATASETS_DIR)
    rng = np.random.default_rng(seed)
    images, hs = [], []
    for i in range(pages):
        lp = layout.pages[i % len(layout.pages)]
        printed = np.asarray(doc[lp.number - 1].render(scale=DPI / 72, grayscale=True).to_pil())
        filled = fill_page(printed, DPI, lp.regions, bank, rng)
        alignment = align_with_markers(filled.image, [(m.marker_id, m.box) for m in lp.markers])
        assert alignment is not None, f"scan {i} did not align"
        assert alignment.ok, f"scan {i} did not align"
        images.append(filled.image)
        hs.append(alignment.homography)
    return Scanned(layout, tuple(images), tuple(hs))


@pytest.fixture(scope="module")
def scanned() -> Scanned:
    layout = layout_worksheet("三年级 综合练习（批改）", _questions())
    assert len(layout.pages) >= 3
    return _scan(layout, 3, seed=11)


def _label(region: Any) -> str:
    return f"{region.number}({region.blank + 1})" if region.blank else str(region.number)


def _marks(lp: PageLayout, offset: int = 0) -> tuple[RegionMark, ...]:
    out = []
    for i, r in enumerate(lp.regions):
        v = VERDICTS[(i + offset) % len(VERDICTS)]
        out.append(RegionMark(r.box, _label(r), v, SCORES.get(v), 2.0))
    return tuple(out)


def _paper(s: Scanned, *, unaligned: int | None = None, total: float = 92) -> StudentPaper:
    pages = tuple(
        ScanPage(img, None if i == unaligned else h, _marks(lp, i), layout_keep_clear(lp))
        for i, (img, h, lp) in enumerate(zip(s.images, s.homographies, s.layout.pages,
                                             strict=False)))
    return StudentPaper("王小明", pages, "20250301", "三年级 综合练习（批改）", total, 100)


def _rgb(pdf: bytes) -> list[np.ndarray]:
    doc = pdfium.PdfDocument(pdf)
    return [np.asarray(doc[i].render(scale=RASTER).to_pil().convert("RGB"))
            for i in range(len(doc))]


def _red(img: np.ndarray) -> np.ndarray:
    r, g, b = (img[..., k].astype(int) for k in range(3))
    return (r > 150) & (r - g > 70) & (r - b > 70)


def _raster_box(h: tuple[float, ...], box: tuple[float, ...], img_w: int,
                width_pt: float = AnnotateOptions().page_width_pt) -> tuple[int, int, int, int]:
    """A page-space box → pixels of the rasterised annotated page (via the scan's pixels)."""
    m = np.array(h).reshape(3, 3)
    x0, y0, x1, y1 = box
    q = m @ np.array([[x0, x1, x1, x0], [y0, y0, y1, y1], [1, 1, 1, 1]], float)
    k = width_pt / img_w * RASTER
    u, v = q[0] / q[2] * k, q[1] / q[2] * k
    return int(u.min()), int(v.min()), int(np.ceil(u.max())), int(np.ceil(v.max()))


def _count(mask: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> int:
    h, w = mask.shape
    xa, ya, xb, yb = (max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1)))
    return int(mask[ya:yb, xa:xb].sum()) if xb > xa and yb > ya else 0


def test_marks_sit_beside_every_answer_and_never_inside(scanned: Scanned) -> None:
    pdf = render_annotated_pdf(_paper(scanned))
    rasters = _rgb(pdf)
    assert len(rasters) == 3
    pt = RASTER  # raster pixels per point
    right_side = graded = 0
    for raster, img, h, lp in zip(rasters, scanned.images, scanned.homographies,
                                  scanned.layout.pages, strict=False):
        red = _red(raster)
        # The scan is drawn greyscale: every red pixel is a mark, the total or the header.
        for i, region in enumerate(lp.regions):
            x0, y0, x1, y1 = _raster_box(h, region.box, img.shape[1])
            inside = _count(red, x0 + pt, y0 + pt, x1 - pt, y1 - pt)
            assert inside == 0, f"page {lp.number} q{_label(region)}: {inside} red px in the box"
            if VERDICTS[(i + lp.number - 1) % 5] == "needs_review":
                continue
            graded += 1
            near = _count(red, x0 - 40 * pt, y0 - 30 * pt, x1 + 40 * pt, y1 + 30 * pt)
            assert near > 40, f"page {lp.number} q{_label(region)}: no red mark near it"
            if _count(red, x1, y0 - 4 * pt, x1 + 40 * pt, y1 + 4 * pt) > 40:
                right_side += 1
    assert graded >= 20
    # Right of the answer is the rule; left/above only where the margin or a stem is in the way.
    assert right_side >= 0.7 * graded, f"{right_side}/{graded} marks right of their answers"


def test_review_marks_are_grey_and_listed(scanned: Scanned) -> None:
    lp, img, h = scanned.layout.pages[0], scanned.images[0], scanned.homographies[0]
    marks = tuple(RegionMark(r.box, _label(r), "needs_review") for r in lp.regions)
    pdf = render_annotated_pdf(StudentPaper("李雷", (ScanPage(img, h, marks),), total=None))
    raster = _rgb(pdf)[0]
    red = _red(raster)
    top = int(45 * MM * RASTER)  # below the header: no red at all, only grey question marks
    assert red[top:].sum() == 0
    text = pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()
    assert "待复核" in text
    assert "得分 待定" in text
    assert text.count("?") >= len(lp.regions)


def test_total_extracts_big_on_the_first_page_and_text_is_chinese(scanned: Scanned) -> None:
    pdf = render_annotated_pdf(_paper(scanned, total=87.5))
    doc = pdfium.PdfDocument(pdf)
    width, height = doc[0].get_size()
    tp = doc[0].get_textpage()
    # The big total sits at the top right, under the title and left of the QR code.
    corner = tp.get_text_bounded(left=width * 0.55, bottom=height - 45 * MM, right=width,
                                 top=height - 9 * MM)
    assert "87.5" in corner
    assert "/100" in corner
    first = tp.get_text_range()
    assert "王小明（20250301）" in first
    assert "三年级 综合练习（批改）" in first
    assert "得分 87.5/100" in first
    assert "第 1/3 页" in first
    corner2 = doc[1].get_textpage().get_text_bounded(left=width * 0.55, bottom=height - 45 * MM,
                                                     right=width, top=height - 9 * MM)
    assert "87.5" not in corner2, "the big total belongs on the first page only"
    raster = _rgb(pdf)[0]
    band = _red(raster)[int(9 * MM * RASTER):int(45 * MM * RASTER), int(raster.shape[1] * 0.55):]
    assert band.sum() > 400, "the total is not drawn big and red"
    with pikepdf.open(io.BytesIO(pdf)) as p:
        fonts = {}
        for page in p.pages:
            for _name, font in page.Resources.Font.items():
                desc = font.get("/FontDescriptor") or font.DescendantFonts[0].FontDescriptor
                fonts[str(font.BaseFont)] = "/FontFile2" in desc
    assert fonts, f"fonts not embedded: {fonts}"
    assert all(fonts.values()), f"fonts not embedded: {fonts}"


def test_page_follows_scan_aspect_and_accepts_png_and_bgr(scanned: Scanned) -> None:
    img = scanned.images[0][:, : scanned.images[0].shape[1] * 3 // 4]  # a cropped scan
    bgr = np.repeat(img[..., None], 3, axis=2)
    ok = Image.fromarray(img)
    buf = io.BytesIO()
    ok.save(buf, format="PNG")
    for source in (img, bgr, buf.getvalue()):
        pdf = render_annotated_pdf(StudentPaper("甲", (ScanPage(source, None),)))
        w, h = pdfium.PdfDocument(pdf)[0].get_size()
        assert w == pytest.approx(AnnotateOptions().page_width_pt)
        assert h / w == pytest.approx(img.shape[0] / img.shape[1], rel=1e-3)


def test_ten_pages_stay_small(scanned: Scanned) -> None:
    # Ten different scans (identical images would be stored once): the three filled pages,
    # each shifted a few pixels per copy, so every JPEG is as complex as a real page's.
    pages = tuple(ScanPage(np.roll(scanned.images[i % 3], 5 * i, axis=1),
                           scanned.homographies[i % 3], _marks(scanned.layout.pages[i % 3], i))
                  for i in range(10))
    pdf = render_annotated_pdf(StudentPaper("王小明", pages, total=60, max_total=100))
    assert len(pdfium.PdfDocument(pdf)) == 10
    assert len(pdf) < 1_500_000, f"{len(pdf) / 1e6:.2f} MB for 10 pages"
    # The background is a real scan still: handwriting survives (dark pixels in answer boxes).
    raster = np.asarray(pdfium.PdfDocument(pdf)[0].render(scale=RASTER, grayscale=True)
                        .to_pil())
    assert (raster < 100).mean() > 0.01


def test_unaligned_page_gets_total_and_note_but_no_marks(scanned: Scanned) -> None:
    pdf = render_annotated_pdf(_paper(scanned, unaligned=1))
    doc = pdfium.PdfDocument(pdf)
    assert len(doc) == 3
    text = doc[1].get_textpage().get_text_range()
    assert "本页未能自动对齐" in text
    w, h = doc[1].get_size()
    corner = doc[1].get_textpage().get_text_bounded(left=w * 0.55, bottom=h - 45 * MM, right=w,
                                                    top=h - 9 * MM)
    assert "92" in corner
    red = _red(_rgb(pdf)[1])
    below_header = red[int(45 * MM * RASTER): int(h * RASTER - 12 * MM * RASTER)]
    assert below_header.sum() == 0, "an unaligned page must carry no per-question marks"
    assert "本页未能自动对齐" not in doc[0].get_textpage().get_text_range()


def test_empty_region_list_renders_the_scan_only(scanned: Scanned) -> None:
    paper = StudentPaper("王小明", (ScanPage(scanned.images[1], scanned.homographies[1]),),
                         total=0, max_total=100)
    pdf = render_annotated_pdf(paper)
    raster = _rgb(pdf)[0]
    red = _red(raster)
    assert red[int(45 * MM * RASTER):].sum() == 0
    assert red.sum() > 0  # the header line and the total are still there


def test_marks_off_the_scan_are_listed_not_dropped(scanned: Scanned) -> None:
    far = RegionMark((2000, 2000, 2100, 2040), "9(2)", "incorrect", 0, 2)
    pdf = render_annotated_pdf(StudentPaper("甲", (ScanPage(scanned.images[0],
                                                            scanned.homographies[0], (far,)),)))
    text = pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()
    assert "第 9(2) 题不在扫描范围内" in text


def test_class_batch_sections_bookmarks_and_duplex(scanned: Scanned) -> None:
    a = _paper(scanned)
    b = StudentPaper("韩梅梅", a.pages[:1], "20250302", a.title, 40, 100)
    pdf = render_annotated_class_pdf([a, b], duplex=True)
    doc = pdfium.PdfDocument(pdf)
    assert len(doc) == 4 + 2  # 3 pages padded to 4, then 1 padded to 2
    titles = [item.get_title() for item in doc.get_toc()]
    assert titles == ["王小明 20250301", "韩梅梅 20250302"]
    assert "韩梅梅" in doc[4].get_textpage().get_text_range()
    assert doc[3].get_textpage().get_text_range().strip() == ""


def test_inputs_pickle_for_worker_processes(scanned: Scanned) -> None:
    paper = _paper(scanned)
    back = pickle.loads(pickle.dumps(paper))
    assert back.pages[0].homography == paper.pages[0].homography
    assert back.pages[0].marks == paper.pages[0].marks
    assert len(pdfium.PdfDocument(render_annotated_pdf(back))) == 3


def test_placement_avoids_answers_and_the_page_edge() -> None:
    sheet = (595.0, 842.0)
    # An answer box touching the right margin: no room on the right, so above or left.
    edge = MarkRequest((480.0, 300.0, 590.0, 331.0), Verdict.CORRECT, 18.0, "2/2", 9.0)
    # A neighbour directly above it: above is taken too, so it must go left.
    above = MarkRequest((480.0, 260.0, 560.0, 294.0), Verdict.INCORRECT, 18.0, "0/2", 9.0)
    places = place_marks([edge, above], sheet)
    assert places[0].side == "left"
    assert places[0].overlap == 0
    assert places[1].side == "right"
    assert places[1].overlap == 0
    for p in places:
        for r in (edge.region, above.region):
            assert p.block[2] <= r[0] or p.block[0] >= r[2] or p.block[3] <= r[1] \
                or p.block[1] >= r[3]
        assert p.block[0] >= 0
        assert p.block[2] <= sheet[0]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"homography": np.eye(3)[:2]}, "3×3"),
    ({"homography": [1.0] * 8}, "3×3"),
    ({"homography": np.zeros((3, 3))}, "invertible"),
    ({"homography": [[1, 0, 0], [0, 1, 0], [0, 0, float("nan")]]}, "finite"),
])
def test_bad_homography_is_a_clear_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ScanPage(np.full((40, 30), 255, np.uint8), **kwargs)
    assert ScanPage(np.full((40, 30), 255, np.uint8), list(np.eye(3).ravel())).homography \
        == tuple(np.eye(3).ravel())


def test_bad_marks_images_and_papers_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown verdict 'wrong'.*correct"):
        RegionMark((0, 0, 10, 10), "1", "wrong")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="x0 < x1"):
        RegionMark((10, 0, 5, 10), "2", "correct")
    with pytest.raises(ValueError, match="at least one page"):
        render_annotated_pdf(StudentPaper("甲", ()))
    with pytest.raises(ValueError, match="at least one paper"):
        render_annotated_class_pdf([])
    bad_images: list[Any] = [np.zeros((40, 30), np.float32), b"not an image",
                             np.zeros((40, 30, 2), np.uint8), np.zeros((8, 8), np.uint8)]
    for image in bad_images:
        with pytest.raises(ValueError, match="甲 page 1: image"):
            render_annotated_pdf(StudentPaper("甲", (ScanPage(image, None),)))


def test_a_three_digit_total_shrinks_to_clear_the_printed_header(scanned: Scanned) -> None:
    lp, img, h = scanned.layout.pages[0], scanned.images[0], scanned.homographies[0]
    for keep in (layout_keep_clear(lp), ()):
        paper = StudentPaper("甲", (ScanPage(img, h, (), keep),), total=100, max_total=100)
        red = _red(_rgb(render_annotated_pdf(paper))[0])
        boxes = [*lp.student_no_boxes, lp.qr_box]
        hits = sum(_count(red, *_raster_box(h, b, img.shape[1])) for b in boxes)
        if keep:
            assert hits == 0, "the total covers the student number or the QR code"
        else:
            assert hits > 0, "without the layout's boxes the full-size total should reach them"


def test_an_english_schools_paper_says_its_own_words_in_english(scanned: Scanned) -> None:
    import re
    from dataclasses import replace

    paper = replace(_paper(scanned, unaligned=1, total=92), student_name="Li Hua",
                    title="Unit 3 practice")
    pdf = render_annotated_pdf(paper, AnnotateOptions(language="en"))
    doc = pdfium.PdfDocument(pdf)
    texts = [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    assert "Score 92/100" in texts[0]
    assert "Page 1 of 3" in texts[0]
    assert "could not be aligned" in texts[1]
    assert "awaits the teacher" in texts[0]
    # Nothing of the paper's own is Chinese (the marks are glyphs; a blank is a dash).
    assert not any(re.search(r"[\u4e00-\u9fff]", t) for t in texts), texts
    # The Chinese default is unchanged.
    zh = pdfium.PdfDocument(render_annotated_pdf(_paper(scanned)))[0].get_textpage()
    assert "得分 92/100" in zh.get_text_range()
