"""Annotated papers (批改痕迹): a student's scanned pages handed back with a teacher's red marks.

API (all inputs are frozen, picklable dataclasses, so rendering can run in a worker)::

    pdf = render_annotated_pdf(StudentPaper(
        student_name="王小明", student_no="20250301", title="三年级 口算练习",
        total=92, max_total=100,
        pages=(ScanPage(image=png_bytes_or_array, homography=h,   # page pt -> image px
                        marks=(RegionMark((x0, y0, x1, y1), "3", "correct", 2, 2), ...),
                        keep_clear=layout_keep_clear(layout_page)),  # printed text to avoid
               ...)))
    class_pdf = render_annotated_class_pdf([paper, ...])   # one PDF, a section per student

* One output page per scanned page, at the scan's aspect ratio and ``page_width_pt`` wide
  (A4 width by default), the scan as a greyscale JPEG background (downscaled to
  ``image_dpi``, paper tone whitened) so a 10-page file stays well under 1.5 MB.
* ``homography`` maps worksheet page space (PDF points from the page's top-left, as in
  :mod:`errorbook.printing.layout`) to pixels of *this* image (``service.jobs.pagework`` stores it
  for the page as ingested). Each answer box is mapped through it and the mark drawn as
  vectors beside it: red ✓ correct, red ✓ with a slash (半对) partially correct, red ✗
  incorrect, a small red 空 for blank, a grey ? and no score for needs_review (grey: not
  a decision yet; teachers usually resolve reviews before handing back; the page note lists
  them). The score ("2/3") sits beside or under the glyph. Marks go right of the answer,
  else above, left or below, wherever they cover no answer box and nothing in
  ``keep_clear`` (:mod:`errorbook.printing.annotated.marks`).
* The first page carries the total big and red near the top right (page-space anchor
  ``total_anchor_pt``: between the student-number boxes and the QR code on markbook
  sheets, shrunk to clear ``keep_clear``); every page has a small
  header line (student, title, score, page). A page with ``homography=None`` gets the
  total and a note instead of per-question marks; marks that cannot be placed (box off the
  scan) are listed in a note at the bottom of the page, never silently dropped.

Bad input (an unknown verdict, a homography that is not 3×3 or not invertible, an
inverted box, an undecodable image) raises :class:`ValueError` with a message naming it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from reportlab.pdfgen.canvas import Canvas

from errorbook.contract import Box
from errorbook.printing.annotated.marks import (
    GREY,
    RED,
    MarkRequest,
    Rect,
    draw_block,
    draw_strip,
    draw_total,
    layout_keep_clear,
    place_marks,
)
from errorbook.printing.annotated.words import AnnotatedWords, annotated_words
from errorbook.printing.fonts import register_cjk_font
from errorbook.printing.geometry import MM, PAGE_SIZES
from errorbook.printing.language import PrintLanguage
from errorbook.printing.scan_image import (
    background_jpeg,
    binary_streams,
    draw_jpeg,
    load_scan_image,
)
from grading.grade import Verdict

__all__ = [
    "AnnotateOptions",
    "RegionMark",
    "ScanPage",
    "StudentPaper",
    "layout_keep_clear",
    "render_annotated_class_pdf",
    "render_annotated_pdf",
]

A4_WIDTH = PAGE_SIZES["A4"][0]


def _fmt(v: float) -> str:
    return f"{v:g}"


@dataclass(frozen=True)
class RegionMark:
    """The grade of one answer region.

    Attributes:
        box: the answer box in page space (points from the top-left), ``(x0, y0, x1, y1)``.
        label: the question label shown in notes, e.g. ``"3"`` or ``"3(2)"``.
        verdict: a :class:`grading.grade.Verdict` or its value (``"correct"``...).
        score, max_score: drawn as ``score/max_score``; None leaves the score off.

    Raises:
        ValueError: unknown verdict, inverted or non-finite box, negative max score.
    """

    box: Box
    label: str
    verdict: Verdict
    score: float | None = None
    max_score: float | None = None

    def __post_init__(self) -> None:
        try:
            verdict = Verdict(self.verdict)
        except ValueError:
            known = ", ".join(v.value for v in Verdict)
            raise ValueError(f"question {self.label}: unknown verdict {self.verdict!r}; "
                             f"use one of {known}") from None
        object.__setattr__(self, "verdict", verdict)
        box = tuple(float(v) for v in self.box)
        if len(box) != 4 or not all(math.isfinite(v) for v in box) \
                or box[0] >= box[2] or box[1] >= box[3]:
            raise ValueError(f"question {self.label}: box must be finite (x0, y0, x1, y1) "
                             f"with x0 < x1 and y0 < y1, got {self.box!r}")
        object.__setattr__(self, "box", box)
        if self.max_score is not None and self.max_score < 0:
            raise ValueError(f"question {self.label}: max_score must not be negative")


def _homography(value: object) -> tuple[float, ...]:
    try:
        m = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"homography must be numbers, got {type(value).__name__}") from None
    if m.shape == (9,):
        m = m.reshape(3, 3)
    if m.shape != (3, 3):
        raise ValueError("homography must be a 3×3 matrix (or 9 numbers, row-major) mapping "
                         f"page points to image pixels; got shape {m.shape}")
    if not np.isfinite(m).all() or abs(float(np.linalg.det(m))) < 1e-12:
        raise ValueError("homography must be finite and invertible")
    return tuple(float(v) for v in m.ravel())


@dataclass(frozen=True)
class ScanPage:
    """One scanned page and its grades.

    Attributes:
        image: the scan, a greyscale (H×W) or BGR/BGRA (H×W×3/4) uint8 array, or the bytes
            of a PNG/JPEG/TIFF file. Colour is dropped: red marks must stand out.
        homography: 3×3 page space (points) → pixels of ``image`` (any array-like, or 9
            row-major numbers); None when the page could not be aligned.
        marks: the graded regions on this page.
        keep_clear: more page-space boxes marks must not cover (printed stems, say).

    Raises:
        ValueError: a homography that is not 3×3, finite and invertible.
    """

    image: np.ndarray | bytes = field(repr=False, compare=False)
    homography: tuple[float, ...] | None
    marks: tuple[RegionMark, ...] = ()
    keep_clear: tuple[Box, ...] = ()

    def __post_init__(self) -> None:
        if self.homography is not None:
            object.__setattr__(self, "homography", _homography(self.homography))
        object.__setattr__(self, "marks", tuple(self.marks))
        object.__setattr__(self, "keep_clear", tuple(tuple(b) for b in self.keep_clear))


@dataclass(frozen=True)
class StudentPaper:
    """One student's handed-back paper.

    Attributes:
        student_name, student_no: shown in each page's header line.
        title: the worksheet title.
        total, max_total: the total score (None: not final, shown as 待定).
        pages: the scanned pages in order.
    """

    student_name: str
    pages: tuple[ScanPage, ...]
    student_no: str = ""
    title: str = ""
    total: float | None = None
    max_total: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "pages", tuple(self.pages))


@dataclass(frozen=True)
class AnnotateOptions:
    """Rendering settings.

    Attributes:
        page_width_pt: output page width; the height follows the scan's aspect ratio.
        image_dpi: background resolution at that width (150 keeps handwriting crisp).
        jpeg_quality: background JPEG quality.
        clean_background: whiten the paper tone (smaller files, cleaner prints).
        total_anchor_pt: page-space point at the middle of the total's baseline: between
            the student-number boxes and the QR code on markbook worksheets.
        mark_size_pt: (smallest, largest) glyph side; between them it follows box height.
        total_size_pt: font size of the big total.
        language: the school's language, for the paper's own words
            (:mod:`errorbook.printing.annotated.words`).
    """

    page_width_pt: float = A4_WIDTH
    image_dpi: float = 150.0
    jpeg_quality: int = 55
    clean_background: bool = True
    total_anchor_pt: tuple[float, float] = (153.5 * MM, 31 * MM)
    mark_size_pt: tuple[float, float] = (14.0, 22.0)
    total_size_pt: float = 40.0
    language: PrintLanguage = "zh"


def _map(h: np.ndarray, xs: Sequence[float], ys: Sequence[float], s: float
         ) -> tuple[np.ndarray, np.ndarray] | None:
    """Page-space points to sheet space (image pixels scaled by ``s``); None if at infinity."""
    q = h @ np.array([list(xs), list(ys), [1.0] * len(xs)])
    if (q[2] <= 1e-9).any():
        return None
    return q[0] / q[2] * s, q[1] / q[2] * s


def _to_sheet(h: np.ndarray, box: Box, s: float, sheet: tuple[float, float]) -> Rect | None:
    """Map a page-space box into sheet space; None when it misses the scan."""
    x0, y0, x1, y1 = box
    mapped = _map(h, (x0, x1, x1, x0), (y0, y0, y1, y1), s)
    if mapped is None:
        return None
    u, v = mapped
    rect = (float(u.min()), float(v.min()), float(u.max()), float(v.max()))
    if rect[2] <= 0 or rect[3] <= 0 or rect[0] >= sheet[0] or rect[1] >= sheet[1]:
        return None
    return rect


def _score_text(mark: RegionMark) -> str:
    if mark.verdict is Verdict.NEEDS_REVIEW:
        return ""  # provisional: the page note lists reviews, a score would read as final
    if mark.score is None:
        return ""
    return _fmt(mark.score) + (f"/{_fmt(mark.max_score)}" if mark.max_score is not None else "")


def _total_text(paper: StudentPaper, words: AnnotatedWords) -> str:
    if paper.total is None:
        return words.pending
    return _fmt(paper.total) + (f"/{_fmt(paper.max_total)}" if paper.max_total is not None
                                else "")


def _render_page(c: Canvas, paper: StudentPaper, page: ScanPage, index: int,
                 opts: AnnotateOptions) -> None:
    where = f"{paper.student_name or 'paper'} page {index + 1}"
    img = load_scan_image(page.image, where)
    s = opts.page_width_pt / img.width  # sheet points per image pixel
    sheet = (opts.page_width_pt, img.height * s)
    c.setPageSize(sheet)
    jpeg = background_jpeg(img, sheet[0], opts.image_dpi, opts.jpeg_quality,
                           opts.clean_background)
    draw_jpeg(c, jpeg, 0, 0, sheet[0], sheet[1])
    aligned = page.homography is not None
    # Unaligned: assume the scan is roughly the page, scaled to the sheet width.
    h = (np.array(page.homography).reshape(3, 3) if page.homography is not None
         else np.diag([sheet[0] / A4_WIDTH / s, sheet[0] / A4_WIDTH / s, 1.0]))
    notes: list[str] = []
    words = annotated_words(opts.language)
    kept = [r for b in page.keep_clear if (r := _to_sheet(h, b, s, sheet))]
    if index == 0 or not aligned:
        ax, ay = opts.total_anchor_pt
        mapped = _map(h, (ax,), (ay,), s)
        at = (float(mapped[0][0]), float(mapped[1][0])) if mapped else (ax, ay)
        # Wider berth when unaligned: the scan may sit millimetres off its nominal place.
        total_rect = None if paper.total is None else draw_total(
            c, _fmt(paper.total),
            f"/{_fmt(paper.max_total)}" if paper.max_total is not None else "", at, sheet,
            opts.total_size_pt, kept, (1.5 if aligned else 4.0) * MM)
        if total_rect:
            kept.append(total_rect)
    if aligned:
        _draw_marks(c, page, h, s, sheet, kept, notes, opts)
    else:
        notes.append(words.unaligned)
    number = f"（{paper.student_no}）" if opts.language == "zh" else f" ({paper.student_no})"
    who = paper.student_name + (number if paper.student_no else "")
    header = "  ·  ".join(p for p in (who, paper.title,
                                       words.score.format(total=_total_text(paper, words)),
                                       words.page.format(n=index + 1, total=len(paper.pages)))
                          if p)
    draw_strip(c, sheet, 5.5 * MM * sheet[0] / A4_WIDTH, header, RED)
    if notes:
        draw_strip(c, sheet, sheet[1] - 3 * MM, words.separator.join(notes), GREY)


def _draw_marks(c: Canvas, page: ScanPage, h: np.ndarray, s: float, sheet: tuple[float, float],
                kept: list[Rect], notes: list[str], opts: AnnotateOptions) -> None:
    lo, hi = opts.mark_size_pt
    words = annotated_words(opts.language)
    requests: list[MarkRequest] = []
    unplaced: list[str] = []
    for mark in page.marks:
        rect = _to_sheet(h, mark.box, s, sheet)
        if rect is None:
            unplaced.append(mark.label)
            continue
        m = min(hi, max(lo, (rect[3] - rect[1]) * 0.75))
        requests.append(MarkRequest(rect, mark.verdict, m, _score_text(mark),
                                    max(7.5, m * 0.5), blank_word=words.blank))
    for req, place in zip(requests, place_marks(requests, sheet, keep_clear=kept), strict=True):
        draw_block(c, req, place, sheet[1])
    reviews = [m.label for m in page.marks if m.verdict is Verdict.NEEDS_REVIEW]
    if reviews:
        notes.append(words.reviews.format(labels=words.joiner.join(reviews)))
    if unplaced:
        notes.append(words.unplaced.format(labels=words.joiner.join(unplaced)))


def _check(paper: StudentPaper) -> None:
    if not paper.pages:
        raise ValueError(f"{paper.student_name or 'paper'}: a paper needs at least one page")


def render_annotated_pdf(paper: StudentPaper, options: AnnotateOptions = AnnotateOptions()
                         ) -> bytes:
    """Render one student's annotated paper.

    Args:
        paper: the scans, their homographies and grades, and the header.
        options: page width, background quality, placement anchors.

    Returns:
        The PDF bytes, one page per scanned page.

    Raises:
        ValueError: no pages, or an image that cannot be read.
        errorbook.printing.fonts.FontNotFoundError: no embeddable CJK font is installed.
    """
    return render_annotated_class_pdf([paper], options, bookmarks=False)


def render_annotated_class_pdf(papers: Sequence[StudentPaper],
                               options: AnnotateOptions = AnnotateOptions(), *,
                               duplex: bool = False, bookmarks: bool = True) -> bytes:
    """Render a class's annotated papers into one PDF, a section per student.

    Args:
        papers: one entry per student, in the order to print.
        options: as for :func:`render_annotated_pdf`.
        duplex: pad each student to an even page count, so no paper starts on the back
            of another's last page when printed two-sided.
        bookmarks: add an outline entry per student (name and student number).

    Returns:
        The PDF bytes.

    Raises:
        ValueError: no papers, a paper without pages, or an unreadable image.
    """
    if not papers:
        raise ValueError("at least one paper is needed")
    for paper in papers:
        _check(paper)
    font = register_cjk_font()
    buf = io.BytesIO()
    with binary_streams():
        c = Canvas(buf, pageCompression=1, initialFontName=font)
        c.setTitle(papers[0].title if len(papers) == 1
                   else annotated_words(options.language).class_title)
        c.setAuthor("markbook")
        c.setCreator("markbook")
        for n, paper in enumerate(papers):
            for i, page in enumerate(paper.pages):
                if i == 0 and bookmarks:
                    key = f"student-{n}"
                    c.bookmarkPage(key)
                    c.addOutlineEntry(f"{paper.student_name} {paper.student_no}".strip()
                                      or f"#{n + 1}", key)
                _render_page(c, paper, page, i, options)
                c.showPage()
            if duplex and len(paper.pages) % 2 == 1:
                c.showPage()  # reportlab writes an empty page
        c.save()
    return buf.getvalue()
