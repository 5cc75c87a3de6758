"""Read one scanned page of a markbook worksheet: identify → align → crop → clean → read.

:func:`read_page` is the whole stage list; every input and output is a frozen, picklable
value so pages can be read in worker processes. The worksheet knowledge the reader needs
(markers, answer regions, the rendered blank page) arrives as a :class:`TemplatePage`
looked up by the caller from the page's QR code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import cv2
import numpy as np

from errorbook.contract import PageCode, PageLayout
from ocr.align import Alignment, align_with_features, align_with_markers
from ocr.capture import CaptureQuality, blurred_frame, edge_width_mm, judge_capture
from ocr.corrections import (
    CORRECTED_CONFIDENCE,
    CROSSED_OUT_DETAIL,
    CorrectionOptions,
    corrected_detail,
    find_corrections,
)
from ocr.identify import Identification, identify_page
from ocr.ingest import PageImage
from ocr.marks import MarksReading, decide_marks, score_bubbles
from ocr.reading.signs import read_signs
from ocr.regions import (
    CROP_PX_PER_PT,
    blank_box,
    crop_transform,
    has_faint_trace,
    has_ink,
    masked_print,
    measure_ink,
    register_blank,
    remove_print,
    warp_box,
)
from ocr.regions import normalise_paper as _paper
from ocr.relocate import BoxFit, locate_boxes, page_is_flat
from ocr.shading import PaperLevel, flatten, measure_paper, paper_crop

__all__ = [
    "FAINT_BLANK_CONFIDENCE",
    "FAINT_DETAIL",
    "MULTI_MARK_DETAIL",
    "NOT_FOUND_DETAIL",
    "RETAKE_DETAIL",
    "STAIN_BLANK_DETAIL",
    "STAIN_DETAIL",
    "AnswerRead",
    "PageRead",
    "ReadOptions",
    "RegionSpec",
    "TemplatePage",
    "distrust_photo_multi_marks",
    "distrust_saturated_marks",
    "read_aligned",
    "read_page",
]

Box = tuple[float, float, float, float]
AnswerStatus = Literal["ok", "blank", "unreadable", "engine_error", "misaligned"]
PageStatus = Literal["read", "blank", "no_code", "foreign_code", "unknown_worksheet",
                     "misaligned", "retake"]
MARGIN_PT = 3.0
BUBBLE_MASK_PX = 3
SATURATED_DETAIL = ("most choice regions on this page read every option as marked: the scan is "
                    "too dark to trust")
# A box too faint to read but not empty (``ocr.regions.has_faint_trace``) still reads
# ``blank``, with this confidence: below the review policy's acceptance, so a teacher looks
# before it scores zero. About 2 in 7 of the boxes so flagged on calibration pages were
# truly blank (docs/decisions/0006-repair-ink-the-copier-thinned.md), hence 0.3 rather
# than a token value.
FAINT_BLANK_CONFIDENCE = 0.3
FAINT_DETAIL = "faint marks in the box, too little ink to read: check it was left blank"
STAIN_BLANK_DETAIL = "a stain or smudge and no writing: check it was left blank"
STAIN_DETAIL = "a stain or smudge was left out of this reading: check it"
RETAKE_DETAIL = {
    "blurred": "the photo is too blurred to read: photograph this page again",
    "low_resolution": "the page is too small in the photo to read: photograph it closer",
    "too_dark": "part of the page is in deep shadow: photograph it again in even light",
    "boxes_lost": "too many answer boxes could not be found on the photo (folded or "
                  "covered?): photograph this page again",
}
MULTI_MARK_DETAIL = ("several options look marked on a photo (a shadow or a crease can "
                     "look like a mark): check it")
# A choice read with several marks on a photo gets this confidence: below the review
# policy's acceptance, so a teacher looks before it is marked wrong.
PHOTO_MULTI_MARK_CONFIDENCE = 0.3
NOT_FOUND_DETAIL = ("the printed box was not found where the page puts it (curled or "
                    "folded paper?): not read, check it")


@dataclass(frozen=True)
class RegionSpec:
    """One answer region of a template page (from the worksheet layout).

    ``expected`` holds the right answer's written forms (``grading.written_keys``): a
    recogniser that verifies (``verifies_keys``) scores them against the crop as well as
    its own readings, so a misread right answer still shows the key as a plausible reading.
    """

    question_id: str
    blank: int
    kind: str
    box: Box
    answer_format: str
    max_chars: int | None = None
    bubbles: tuple[tuple[str, Box], ...] = ()
    expected: tuple[str, ...] = ()


@dataclass(frozen=True)
class TemplatePage:
    """What the reader knows about one worksheet page.

    Attributes:
        worksheet_id, page: which page this is.
        markers: (marker id, box in points) for alignment.
        regions: the answer regions.
        blank: the blank page rendered in greyscale at ``blank_px_per_pt``.
        blank_px_per_pt: the blank's resolution.
    """

    worksheet_id: int
    page: int
    markers: tuple[tuple[int, Box], ...]
    regions: tuple[RegionSpec, ...]
    blank: np.ndarray = field(compare=False, repr=False)
    blank_px_per_pt: float = 200 / 72

    @classmethod
    def from_layout(cls, worksheet_id: int, page: PageLayout, blank: np.ndarray,
                    blank_px_per_pt: float) -> TemplatePage:
        """The template of one printed layout page: its markers and answer regions.

        Args:
            worksheet_id: The worksheet the page belongs to.
            page: The page as laid out for printing.
            blank: That page rendered blank in greyscale.
            blank_px_per_pt: The blank's resolution.
        """
        regions = tuple(RegionSpec(r.question_id, r.blank, r.kind, r.box, r.answer_format,
                                   r.max_chars, tuple((b.label, b.box) for b in r.bubbles))
                        for r in page.regions)
        return cls(worksheet_id, page.number, tuple((m.marker_id, m.box) for m in page.markers),
                   regions, blank, blank_px_per_pt)

    def with_expected(self, expected_for: Callable[[str, int], tuple[str, ...]]
                      ) -> TemplatePage:
        """This template with every written region's expected strings filled in.

        Args:
            expected_for: (question id, blank number) -> the key's written forms.

        Returns:
            A new template (templates are shared and frozen).
        """
        regions = tuple(r if r.bubbles else replace(r, expected=expected_for(r.question_id,
                                                                                r.blank))
                        for r in self.regions)
        return replace(self, regions=regions)


@dataclass(frozen=True)
class ReadOptions:
    """Per-call settings of :func:`read_page`."""

    max_marker_error_mm: float = 0.8
    max_feature_error_mm: float = 1.5
    crop_png: bool = True
    # Crossed-out answers in written boxes (ocr.corrections), and stains: a broad light
    # mark is erased only when shaped like a stain (flat inside, soft edged), never a bold
    # light stroke, and a box a stain was erased from is graded unasked only when the stain
    # changed nothing (_check_stains). On since decision 0019: the shape test keeps in the
    # light strokes the first stain rule took for smudges (0.8% of test writers' answers).
    corrections: bool = True
    stains: bool = True


@dataclass(frozen=True)
class AnswerRead:
    """One answer region as read from the scan.

    ``status`` keeps "left blank", "could not read" and "engine failed" apart: only
    ``blank`` may ever score zero without a human.
    """

    question_id: str
    blank: int
    kind: str
    status: AnswerStatus
    box: Box
    text: str = ""
    confidence: float = 0.0
    alternatives: tuple[tuple[str, float], ...] = ()
    marks: MarksReading | None = None
    ink_mm2: float = 0.0
    crop_png: bytes = b""
    detail: str = ""
    corrected: bool = False


@dataclass(frozen=True)
class PageRead:
    """Everything read from one scanned page."""

    index: int
    status: PageStatus
    identification: Identification
    alignment: Alignment | None = None
    answers: tuple[AnswerRead, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    capture: CaptureQuality | None = None


# Which recogniser alphabet each answer format reads with (None: unconstrained).
_ALPHABET_FOR_FORMAT = {"digits": "numeric", "math": "expression"}


def _png(img: np.ndarray) -> bytes:
    # Level 1: review crops are tiny; higher levels cost ~40 ms a page for a few bytes.
    ok, data = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return data.tobytes() if ok else b""


def _align(image: np.ndarray, template: TemplatePage, options: ReadOptions) -> Alignment | None:
    alignment = align_with_markers(image, template.markers,
                                   max_error_mm=options.max_marker_error_mm)
    if alignment is not None and alignment.ok:
        return alignment
    fallback = align_with_features(image, template.blank, template.blank_px_per_pt,
                                   max_error_mm=options.max_feature_error_mm)
    if fallback is not None and (fallback.ok or alignment is None):
        return fallback
    return alignment


def _read_marks(spec: RegionSpec, crop: np.ndarray, blank: np.ndarray) -> MarksReading:
    # Bubble letters are large next to the disc: mask print tightly here. The mask is
    # computed once and serves both the cleaned crop and the visible area.
    scan = _paper(crop)
    masked = masked_print(scan, blank, tolerance_px=BUBBLE_MASK_PX)
    ink = scan.copy()
    ink[masked] = 255
    visible = ~masked
    origin = (spec.box[0] - MARGIN_PT, spec.box[1] - MARGIN_PT)
    scores = score_bubbles(ink, spec.bubbles, origin_pt=origin, px_per_pt=CROP_PX_PER_PT,
                           visible=visible)
    return decide_marks(scores)


def read_page(page: PageImage, template_for: Callable[[PageCode], TemplatePage | None],
              recognizer: Any, options: ReadOptions = ReadOptions()) -> PageRead:
    """Read one scanned page.

    Args:
        page: the page image from :func:`ocr.ingest.iter_pages`.
        template_for: looks up the worksheet page a code names (None if unknown).
        recognizer: a :class:`ocr.reading.recognize.TextRecognizer` for written answers.
        options: thresholds.

    Returns:
        The page's status and, when it could be read, every answer region's reading.
    """
    timings: dict[str, float] = {}
    t = time.perf_counter()
    ident, upright = identify_page(page.image)
    timings["identify"] = (time.perf_counter() - t) * 1000
    if ident.status != "identified" or ident.code is None:
        unread: PageStatus = "no_code" if ident.status == "identified" else ident.status
        # A photo too blurred for its code to read says so, to be taken again.
        blur = blurred_frame(page.image) if unread == "no_code" else None
        return PageRead(page.index, unread, ident, timings_ms=timings, capture=blur)
    template = template_for(ident.code)
    if template is None:
        return PageRead(page.index, "unknown_worksheet", ident, timings_ms=timings)
    t = time.perf_counter()
    alignment = _align(upright, template, options)
    timings["align"] = (time.perf_counter() - t) * 1000
    return read_aligned(page.index, ident, upright, template, alignment, recognizer, options,
                        timings)


def read_aligned(index: int, ident: Identification, upright: np.ndarray,
                 template: TemplatePage, alignment: Alignment | None, recognizer: Any,
                 options: ReadOptions = ReadOptions(),
                 timings: dict[str, float] | None = None) -> PageRead:
    """Read the answer regions of a page already identified and aligned: the second half
    of :func:`read_page`, shared with pages registered to a teacher's blank
    (:mod:`ocr.foreign`), which have no code to identify them by.

    Args:
        index: the page's index in its upload.
        ident: what the page is (for a registered page: made by the caller).
        upright: the page turned upright.
        template: its template page.
        alignment: template points to ``upright`` pixels; None or not ``ok``: every
            answer is ``misaligned``.
        recognizer: as for :func:`read_page`.
        options: thresholds.
        timings: stage timings so far (added to).
    """
    timings = timings if timings is not None else {}
    if alignment is None or not alignment.ok:
        flagged = tuple(AnswerRead(r.question_id, r.blank, r.kind, "misaligned", r.box,
                                   detail="the page could not be aligned reliably")
                        for r in template.regions)
        return PageRead(index, "misaligned", ident, alignment, flagged, timings)
    t = time.perf_counter()
    answers, to_read, stained, capture = _crop_regions(upright, template, alignment, options)
    timings["crop"] = (time.perf_counter() - t) * 1000
    if capture.retake:
        # Not read at all: a teacher asks for the page again rather than reviews guesses.
        detail = RETAKE_DETAIL[capture.retake]
        retake = tuple(_replace(a, status="unreadable", text="", confidence=0.0,
                                alternatives=(), marks=None, detail=detail) for a in answers)
        return PageRead(index, "retake", ident, alignment, retake, timings, capture)
    t = time.perf_counter()
    _recognise(answers, to_read, recognizer)
    _check_stains(answers, stained, recognizer)
    timings["recognise"] = (time.perf_counter() - t) * 1000
    answers = distrust_saturated_marks(answers)
    if capture.photo:
        answers = distrust_photo_multi_marks(answers)
    return PageRead(index, "read", ident, alignment, tuple(answers), timings, capture)


def _crop_regions(image: np.ndarray, template: TemplatePage, alignment: Alignment,
                  options: ReadOptions
                  ) -> tuple[list[AnswerRead], list[tuple[int, RegionSpec, np.ndarray]],
                             list[tuple[int, RegionSpec, np.ndarray]], CaptureQuality]:
    """Every region's crop: bubbles read, written ones queued for the recogniser (with,
    for a box a stain was erased from, its crop as it was: ``stained``)."""
    answers: list[AnswerRead] = []
    to_read: list[tuple[int, RegionSpec, np.ndarray]] = []
    stained: list[tuple[int, RegionSpec, np.ndarray]] = []
    homography = alignment.matrix()
    bh, bw = template.blank.shape[:2]
    size = (bw / template.blank_px_per_pt, bh / template.blank_px_per_pt)
    paper = measure_paper(image, homography, size)
    boxes = [r.box for r in template.regions]
    flat = page_is_flat(image, homography, boxes, size, template.blank,
                        template.blank_px_per_pt, paper)
    edges: list[float] = []
    if flat:
        fits = [BoxFit(0.0, 0.0, 1.0, printed=False)] * len(boxes)
    else:
        fits = locate_boxes(image, homography, boxes, template.blank,
                            template.blank_px_per_pt, paper, margin_pt=MARGIN_PT,
                            bordered=[not r.bubbles for r in template.regions])
    for spec, fit in zip(template.regions, fits, strict=True):
        if not fit.found:
            crop = _crop(image, homography, spec.box, paper)
            answers.append(AnswerRead(spec.question_id, spec.blank, spec.kind, "misaligned",
                                      spec.box, crop_png=_png(crop) if options.crop_png else b"",
                                      detail=NOT_FOUND_DETAIL))
            continue
        crop = _crop(image, homography @ fit.local(spec.box), spec.box, paper)
        blank = register_blank(crop, blank_box(template.blank, template.blank_px_per_pt,
                                               spec.box, margin_pt=MARGIN_PT))
        if not spec.bubbles and len(edges) < _EDGE_SAMPLES:
            edge = edge_width_mm(crop, blank)
            if edge is not None:
                edges.append(edge)
        png = _png(crop) if options.crop_png else b""
        if spec.bubbles:
            marks = _read_marks(spec, crop, blank)
            status: AnswerStatus = "blank" if marks.status == "blank" else "ok"
            answers.append(AnswerRead(spec.question_id, spec.blank, spec.kind, status, spec.box,
                                      text="".join(marks.marked), confidence=marks.confidence,
                                      marks=marks, crop_png=png))
            continue
        raw = remove_print(crop, blank)
        fix = (find_corrections(raw, CorrectionOptions(stains=options.stains))
               if options.corrections else None)
        ink = fix.ink if fix is not None else raw
        stats = measure_ink(ink)
        stain_only = fix is not None and fix.stains > 0 and not fix.crossed_out
        if fix is not None and fix.nothing_rewritten:
            answers.append(AnswerRead(spec.question_id, spec.blank, spec.kind, "unreadable",
                                      spec.box, crop_png=png, detail=CROSSED_OUT_DETAIL))
            continue
        if not has_ink(stats) and stain_only:
            # Erasing a stain must never make a box blank unasked: a teacher confirms.
            answers.append(AnswerRead(spec.question_id, spec.blank, spec.kind, "blank",
                                      spec.box, confidence=FAINT_BLANK_CONFIDENCE,
                                      ink_mm2=stats.area_mm2, crop_png=png,
                                      detail=STAIN_BLANK_DETAIL))
            continue
        if not has_ink(stats):
            faint = has_faint_trace(stats)
            answers.append(AnswerRead(spec.question_id, spec.blank, spec.kind, "blank",
                                      spec.box,
                                      confidence=FAINT_BLANK_CONFIDENCE if faint else 1.0,
                                      ink_mm2=stats.area_mm2, crop_png=png,
                                      detail=FAINT_DETAIL if faint else ""))
            continue
        answers.append(AnswerRead(spec.question_id, spec.blank, spec.kind, "unreadable",
                                  spec.box, ink_mm2=stats.area_mm2, crop_png=png,
                                  corrected=fix is not None and fix.corrected))
        to_read.append((len(answers) - 1, spec, ink))
        if stain_only:
            stained.append((len(answers) - 1, spec, raw))
    lost = sum(not f.found for f in fits)
    capture = judge_capture(not flat, homography, boxes, edges, paper, lost)
    return answers, to_read, stained, capture


# Printed borders measured for blur per page: enough for a stable median, cheap.
_EDGE_SAMPLES = 8


def distrust_photo_multi_marks(answers: list[AnswerRead]) -> list[AnswerRead]:
    """Send a photographed choice read with several marks to a teacher.

    On a scan a second mark is the child's; on a photo it may be a shadow's edge, a
    crease or a reflection, and a multi-mark answer is graded wrong. Such readings keep
    their marks as the suggestion, with a confidence below the review policy's
    acceptance.
    """
    return [_replace(a, confidence=min(a.confidence, PHOTO_MULTI_MARK_CONFIDENCE),
                     detail=MULTI_MARK_DETAIL)
            if a.marks is not None and a.status == "ok" and a.marks.multiple else a
            for a in answers]


def _crop(image: np.ndarray, homography: np.ndarray, box: Box, paper: PaperLevel
          ) -> np.ndarray:
    """A region's canonical crop, divided by the paper level under it on unevenly lit pages."""
    crop = warp_box(image, homography, box, margin_pt=MARGIN_PT)
    if not paper.flattens:
        return crop
    transform = crop_transform(homography, box, margin_pt=MARGIN_PT)
    return flatten(crop, paper_crop(paper, transform, (crop.shape[1], crop.shape[0])))


def distrust_saturated_marks(answers: list[AnswerRead]) -> list[AnswerRead]:
    """Send a page to review when most of its choice regions read every option marked.

    Students double-mark a question now and then; every option marked in most regions of
    a page is the scan (a blurred page binarised by the copier turns every bubble black,
    and specks in empty boxes into "ink"), and grading it would grade the copier. The
    readings stay attached as suggestions for the teacher.

    Args:
        answers: one page's answers in layout order (written ones may still be pending).

    Returns:
        The answers, with every choice region and every written one read ``ok`` made
        ``unreadable`` (confidence 0) when at least 3 choice regions, and half of them,
        have every option marked; else unchanged. Blank boxes, and statuses that
        already ask for review, are kept.
    """
    groups = [a.marks for a in answers if a.marks is not None and len(a.marks.scores) > 1]
    full = sum(len(m.marked) == len(m.scores) for m in groups)
    if full < max(3, len(groups) / 2):
        return answers
    return [_replace(a, status="unreadable", confidence=0.0, detail=SATURATED_DETAIL)
            if a.status == "ok" or (a.marks is not None and a.status == "blank") else a
            for a in answers]


def _recognise(answers: list[AnswerRead], to_read: Sequence[tuple[int, RegionSpec, np.ndarray]],
               recognizer: Any) -> None:
    """Batch the written regions by alphabet and fill in their readings."""
    from ocr.reading.ctc import ALPHABETS  # the recogniser's alphabets

    groups: dict[str | None, list[tuple[int, RegionSpec, np.ndarray]]] = {}
    for item in to_read:
        fmt = item[1].answer_format
        groups.setdefault(fmt if fmt == "compare" else _ALPHABET_FOR_FORMAT.get(fmt),
                          []).append(item)
    for name, items in groups.items():
        alphabet = ALPHABETS[name] if name and name != "compare" else None
        extra: dict[str, Any] = {}
        if getattr(recognizer, "verifies_keys", False):
            extra["expected"] = [spec.expected for _, spec, _ in items]
        try:
            if name == "compare":
                # A comparison sign is read by its shape (ocr.reading.signs): the line
                # reader takes a handwritten < for a 5 or a 7, and is sure of it.
                readings = read_signs([ink for _, _, ink in items])
            else:
                readings = recognizer.recognize([ink for _, _, ink in items],
                                                alphabet=alphabet, **extra)
        except Exception as exc:  # an engine must not crash the page: mark for review
            readings = None
            detail = f"recogniser failed: {type(exc).__name__}"
        for k, (i, _spec, _ink) in enumerate(items):
            prev = answers[i]
            if readings is None or k >= len(readings):
                answers[i] = _replace(prev, status="engine_error",
                                      detail=detail if readings is None else "no reading")
                continue
            r = readings[k]
            status: AnswerStatus = r.status if r.status in ("ok", "unreadable",
                                                            "engine_error") else "unreadable"
            answers[i] = _replace(prev, status=status, text=r.text, confidence=r.confidence,
                                  alternatives=tuple(r.alternatives), detail=r.detail)
            if prev.corrected and status == "ok":
                # A teacher confirms a correction (ocr.corrections): the rewrite is the
                # suggestion, never graded unasked, since a leftover of the crossed-out
                # answer can read as an extra digit and the alternatives would agree.
                answers[i] = _replace(answers[i], status="unreadable",
                                      detail=corrected_detail(r.detail),
                                      confidence=min(r.confidence, CORRECTED_CONFIDENCE))


def _check_stains(answers: list[AnswerRead],
                  stained: Sequence[tuple[int, RegionSpec, np.ndarray]], recognizer: Any) -> None:
    """Keep a stain-cleaned box's reading only where the stain changed nothing.

    Each box a stain was erased from is read again as it was scanned. When both readings
    agree the stain was beside the answer, not in it, and the lower confidence stands;
    when they differ, either the stain
    was read as a digit or a light stroke was taken for a smudge, and a teacher decides,
    the stain-free reading as the suggestion (``STAIN_DETAIL``).
    """
    if not stained:
        return
    again = [answers[i] for i, _, _ in stained]
    _recognise(again, [(k, spec, raw) for k, (_, spec, raw) in enumerate(stained)], recognizer)
    for (i, _, _), as_scanned in zip(stained, again, strict=True):
        cleaned = answers[i]
        if cleaned.status != "ok":
            continue
        if as_scanned.status == "ok" and as_scanned.text == cleaned.text:
            # Erasing a stain never makes the reader surer than the page as scanned.
            answers[i] = _replace(cleaned, confidence=min(cleaned.confidence,
                                                          as_scanned.confidence))
            continue
        answers[i] = _replace(cleaned, status="unreadable", detail=STAIN_DETAIL,
                              confidence=min(cleaned.confidence, CORRECTED_CONFIDENCE))


def _replace(answer: AnswerRead, **changes: Any) -> AnswerRead:
    return replace(answer, **changes)
