"""read_page end to end: real models on a handwriting-filled page; faults never become blanks."""

from __future__ import annotations

import numpy as np
import pytest

from ocr.ingest import PageImage
from ocr.marks import BubbleScore, MarksReading
from ocr.pipeline import (
    SATURATED_DETAIL,
    AnswerRead,
    TemplatePage,
    distrust_saturated_marks,
    read_page,
)
from ocr.reading.recognize import FakeRecognizer, Reading
from simulation.bench_worksheet import DPI
from tests.support.bench_page import bench_page, filled_pages, read_image, written_answers


def test_real_models_read_a_filled_page() -> None:
    from ocr.reading.default import build_default_recognizer

    recognizer = build_default_recognizer()
    right = total = 0
    for fp in filled_pages():
        read = read_image(fp.image, recognizer)
        assert read.status == "read"
        assert read.alignment is not None
        assert read.alignment.ok
        assert len(read.answers) == 20
        for a in read.answers:
            assert a.crop_png.startswith(b"\x89PNG")
            if a.marks is not None:
                assert set(a.marks.marked) == set(fp.marks[a.question_id].marked)
                continue
            truth = fp.written[(a.question_id, a.blank)]
            # Safety, not exactness (the benchmark measures that): written work is never
            # called blank; an empty box is blank or, if smudged, sent to a teacher.
            if truth:
                assert a.status != "blank", a
            else:
                assert a.status in ("blank", "unreadable"), a
            if truth:
                total += 1
                right += a.text == truth
    assert total >= 12
    assert right / total >= 0.75


@pytest.mark.parametrize("fault", ["raise", "timeout"])
def test_engine_faults_are_engine_errors_not_blanks(fault: str) -> None:
    fp = filled_pages()[0]
    read = read_image(fp.image, FakeRecognizer(fault=fault))  # type: ignore[arg-type]
    written = [a for a in written_answers(read) if fp.written[(a.question_id, a.blank)]]
    assert written
    assert all(a.status == "engine_error" and a.detail for a in written)
    # Empty boxes stay blank, or (a smudge) go to the engine and so to a teacher.
    assert all(a.status in ("blank", "engine_error") for a in written_answers(read)
               if not fp.written[(a.question_id, a.blank)])


def test_recogniser_that_crashes_outright_is_contained() -> None:
    class Exploding:
        def recognize(self, crops, **_):  # type: ignore[no-untyped-def]
            raise MemoryError("onnxruntime out of memory")

    fp = filled_pages()[0]
    read = read_image(fp.image, Exploding())
    assert any(a.status == "engine_error" and "MemoryError" in a.detail for a in written_answers(read))


def test_garbage_is_unreadable_and_scripted_text_passes_through() -> None:
    fp = filled_pages()[0]
    read = read_image(fp.image, FakeRecognizer(fault="garbage"))  # type: ignore[arg-type]
    assert {a.status for a in written_answers(read)} <= {"unreadable", "blank"}
    script = FakeRecognizer(script=[Reading("ok", "85", 0.97, (0.98, 0.99), (("85", 0.97),))])  # type: ignore[arg-type]
    read = read_image(fp.image, script)
    ok = [a for a in written_answers(read) if a.status == "ok"]
    assert ok
    assert all(a.text == "85" and a.alternatives == (("85", 0.97),) for a in ok)


def test_unknown_misaligned_and_blank_pages() -> None:
    fp = filled_pages()[0]
    unknown = read_page(PageImage(0, fp.image, 200, "raster"), lambda code: None,
                        FakeRecognizer())
    assert unknown.status == "unknown_worksheet"
    assert unknown.answers == ()
    blank, tmpl = bench_page().blank, bench_page().template
    # Two markers torn off and nothing printed to match features against: flagged, not
    # guessed.
    damaged = fp.image.copy()
    for _, (x0, y0, x1, y1) in tmpl.markers[:2]:
        damaged[max(0, int(y0 * 2.78) - 30):int(y1 * 2.78) + 30,
                max(0, int(x0 * 2.78) - 30):int(x1 * 2.78) + 30] = 255
    featureless = TemplatePage(tmpl.worksheet_id, 1, tmpl.markers, tmpl.regions,
                               np.full_like(blank, 255), tmpl.blank_px_per_pt)
    misaligned = read_image(damaged, FakeRecognizer(), featureless)
    assert misaligned.status == "misaligned"
    assert misaligned.answers
    assert {a.status for a in misaligned.answers} == {"misaligned"}
    empty = read_image(np.full((2339, 1654), 252, np.uint8), FakeRecognizer())
    assert empty.status == "blank"


def _choice(qid: str, marked: str, labels: str = "ABCD") -> AnswerRead:
    scores = tuple(BubbleScore(c, 0.9 if c in marked else 0.02, 0.0) for c in labels)
    marks = MarksReading("ok" if marked else "blank", tuple(marked), len(marked) > 1,
                         scores, 0.95)
    return AnswerRead(qid, 0, "choice", "ok" if marked else "blank", (0, 0, 10, 10),
                      text=marked, confidence=0.95, marks=marks)


def test_a_page_whose_bubbles_all_read_marked_goes_to_review() -> None:
    written = AnswerRead("w1", 0, "arithmetic", "ok", (0, 0, 10, 10), text="85",
                         confidence=0.99)
    empty = AnswerRead("w2", 0, "arithmetic", "blank", (0, 0, 10, 10), confidence=1.0)
    failed = AnswerRead("w3", 0, "arithmetic", "engine_error", (0, 0, 10, 10))
    page = [written, empty, failed, _choice("c1", "ABCD"), _choice("c2", "ABCD"),
            _choice("c3", "ABCD"), _choice("c4", "B"), _choice("t1", "TF", "TF")]
    out = distrust_saturated_marks(page)
    # The written reading stays as a suggestion, but a teacher confirms it.
    assert out[0].status == "unreadable"
    assert out[0].text == "85"
    assert out[1:3] == page[1:3]  # a blank box and an engine failure keep their status
    for a in [out[0], *out[3:]]:
        assert a.confidence == 0.0
        assert a.detail == SATURATED_DETAIL
    for a in out[3:]:
        assert a.status == "unreadable"
        assert a.marks is not None


def test_a_few_double_marks_are_the_students_own() -> None:
    page = [_choice("c1", "ABCD"), _choice("c2", "AB"), _choice("c3", "B"),
            _choice("c4", "C"), _choice("c5", "TF", "TF"), _choice("c6", "")]
    assert distrust_saturated_marks(page) == page


class _Verifying:
    """Records the strings it was asked to verify; reads every crop as "1"."""

    verifies_keys = True

    def __init__(self) -> None:
        self.expected: list[object] = []

    def recognize(self, crops, *, alphabet=None, length=None, expected=None):  # type: ignore[no-untyped-def]
        self.expected.append(expected)
        return [Reading("ok", "1", 0.9, (0.9,), (("1", 0.9),)) for _ in crops]


def test_the_templates_keys_reach_a_verifying_recogniser() -> None:
    bp = bench_page()
    fp = filled_pages(n=1)[0]
    keys = {q: (f"k{q}",) for q in bp.questions}
    template = bp.template.with_expected(lambda qid, blank: keys.get(qid, ()))
    assert all(r.expected == (() if r.bubbles else keys[r.question_id])
               for r in template.regions)
    assert all(r.expected == () for r in bp.template.regions)  # the shared one is untouched
    recognizer = _Verifying()
    read = read_page(PageImage(0, fp.image, DPI, "raster"), lambda code: template, recognizer)
    assert read.status == "read"
    sent = [e for batch in recognizer.expected for e in batch]  # type: ignore[union-attr]
    read_ids = [a.question_id for a in read.answers if a.marks is None and a.status != "blank"]
    assert sent == [keys[q] for q in read_ids]
    assert sent
    # A recogniser that does not verify is never handed keys.
    assert read_page(PageImage(0, fp.image, DPI, "raster"), lambda code: template,
                     FakeRecognizer(lambda i: Reading("ok", "1", 0.9))).status == "read"
