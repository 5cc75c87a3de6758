"""The closed-set name decision: the name box read by PP-OCR, every roster name scored.

Names are written with ``simulation.names.write_name`` (a synthetic, font-based stand-in
for handwriting) on the benchmark worksheet, copier-degraded and aligned by the markers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ocr.align import align_with_markers
from ocr.identify import identify_page
from ocr.reading.ensemble import EnsembleRecognizer
from ocr.reading.glyphs import GlyphClassifier
from ocr.reading.preprocess import PrepOptions
from ocr.reading.recognize import PPOCRRecognizer, RecognizerOptions
from ocr.students.name import (
    UNLISTED_LOG_ODDS,
    NameEvidence,
    line_recognizer,
    name_posteriors,
    name_variants,
    rank_names,
    read_name,
)
from simulation.bench_worksheet import DPI, build_worksheet
from simulation.names import class_names, write_name
from simulation.pages import FillOptions, degrade_page
from simulation.unseen import drill_questions

COPIER = FillOptions(binarise_prob=0.0, jpeg_quality=(50, 85))


@pytest.fixture(scope="module")
def sheet() -> Any:
    return build_worksheet(questions=drill_questions(30, 23), title="四年级 口算")


@pytest.fixture(scope="module")
def line(rec_session: Any) -> PPOCRRecognizer:
    return PPOCRRecognizer(rec_session, options=RecognizerOptions(prep=PrepOptions()))


def _read(sheet: Any, line: Any, written: str | None, seed: int) -> NameEvidence | None:
    layout, printed, blank, _ = sheet
    rng = np.random.default_rng(seed)
    page = printed.copy()
    if written:
        write_name(page, DPI / 72, layout.name_box, written, rng, distort=0.06)
    scan = degrade_page(page.astype(np.float32) / 255.0, rng, COPIER)
    _, upright = identify_page(scan)
    alignment = align_with_markers(upright, [(m.marker_id, m.box) for m in layout.markers])
    assert alignment is not None
    assert alignment.ok
    return read_name(upright, alignment, blank, DPI / 72, layout.name_box, line)


def test_the_written_name_ranks_first_in_a_class_of_40(sheet: Any, line: Any) -> None:
    names = class_names(40, np.random.default_rng(5))
    first = 0
    for k in range(10):
        ev = _read(sheet, line, names[4 * k], seed=100 + k)
        assert ev is not None
        scores = rank_names(ev, names)
        first += int(np.argmax(scores)) == 4 * k
    assert first >= 9


def test_a_name_in_pinyin_ranks_first(sheet: Any, line: Any) -> None:
    names = ["王小明", "李华", "张伟", "王晓敏", "欧阳晨", "刘洋", "陈静", "杨磊"]
    for written, child in (("Zhang Wei", 2), ("ouyang chen", 4)):
        ev = _read(sheet, line, written, seed=7)
        assert ev is not None
        post = name_posteriors(ev, names)
        assert int(np.argmax(post)) == child, (written, ev.text, post)
        assert sum(post) == pytest.approx(1.0)


def test_an_empty_name_box_gives_no_evidence(sheet: Any, line: Any) -> None:
    assert _read(sheet, line, None, seed=3) is None


def test_a_name_not_on_the_roster_is_not_given_to_a_child(sheet: Any, line: Any) -> None:
    names = ["王小明", "李华", "张伟", "王晓敏", "欧阳晨", "刘洋", "陈静", "杨磊"]
    ev = _read(sheet, line, "王小红", seed=11)
    assert ev is not None
    assert max(name_posteriors(ev, names, unlisted_log_odds=UNLISTED_LOG_ODDS)) < 0.5
    # Listed, the same name still wins with the unlisted hypothesis on.
    post = name_posteriors(ev, [*names, "王小红"], unlisted_log_odds=UNLISTED_LOG_ODDS)
    assert post[-1] > 0.99


def test_the_service_recogniser_lends_its_pp_ocr_session(line: Any, glyph_session: Any) -> None:
    ensemble = EnsembleRecognizer(line, GlyphClassifier(glyph_session))
    assert line_recognizer(ensemble) is line
    assert line_recognizer(line) is line
    with pytest.raises(TypeError):
        line_recognizer(object())


def test_variants_split_the_surname_and_spell_the_pinyin() -> None:
    forms = dict(name_variants("王小明"))
    assert forms["王小明"] == pytest.approx(0.8)
    assert "小明" in forms
    assert {"wang xiao ming", "wangxiaoming", "Wang Xiaoming", "Wang Xiao Ming"} <= set(forms)
    assert sum(forms.values()) == pytest.approx(1.0)
    compound = dict(name_variants("欧阳晨曦"))
    assert "晨曦" in compound
    assert "阳晨曦" not in compound
    assert "Ouyang Chenxi" in compound
    assert "晨" in dict(name_variants("欧阳晨"))  # a compound surname in a 3-char name
    assert "亮" in dict(name_variants("诸葛亮"))
    assert "Lü Xiaoming" in dict(name_variants("吕小明"))
    single = dict(name_variants("王"))
    assert single["王"] == pytest.approx(0.85)
