"""Which handwriting the class simulation writes with, and the font a drill page prints in:
both are the caller's choice, never looked up by the library."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from errorbook.printing.fonts import FontNotFoundError
from simulation.classroom import font_glyph_bank, load_glyphs
from simulation.drill_pages import make_drill_page
from tests.support.datasets import DATASETS_DIR, have_datasets


def test_no_datasets_folder_means_font_glyphs() -> None:
    bank, label = load_glyphs(None)
    assert label == "synthetic font glyphs (no datasets folder configured)"
    assert set(bank.mnist) == set("0123456789")


def test_an_empty_datasets_folder_means_font_glyphs(tmp_path: Path) -> None:
    _, label = load_glyphs(tmp_path)
    assert label == "synthetic font glyphs (datasets not installed)"


@pytest.mark.skipif(not have_datasets(), reason=f"no handwriting datasets in {DATASETS_DIR}")
def test_the_given_datasets_folder_is_used() -> None:
    bank, label = load_glyphs(DATASETS_DIR)
    assert label == "real handwriting (datasets, test split)"
    assert bank.split == "test"


def test_a_drill_page_prints_in_the_given_font_or_fails() -> None:
    with pytest.raises(FontNotFoundError, match="missing"):
        make_drill_page(font_glyph_bank(), np.random.default_rng(0), font="/no/such/font.ttc")


def _docs() -> dict[str, dict[str, object]]:
    import json

    from tests.support.samples import SAMPLES

    bank = json.loads((SAMPLES / "question_bank.json").read_text(encoding="utf-8"))
    return {str(q["id"]): q for q in bank["questions"]}


def test_simulated_children_answer_bubbles_numbers_and_signs_not_chinese() -> None:
    from simulation.classroom import keys_for, simulated

    docs = list(_docs().values())
    by_kind: dict[str, set[bool]] = {}
    for d in docs:
        if d["subject"] == "math":
            by_kind.setdefault(str(d["kind"]), set()).add(simulated(d))
    for kind in ("choice", "multi_choice", "true_false", "arithmetic", "numeric", "text"):
        assert by_kind[kind] == {True}, kind  # maths text questions are comparisons
    assert by_kind["math_expr"] == {False}
    assert by_kind["short_answer"] == {False}
    assert not any(simulated(d) for d in docs if d["subject"] == "chinese" and d["kind"] == "text")
    comparisons = [d for d in docs if d["kind"] == "text" and simulated(d)]
    assert {keys_for([d])[str(d["id"])] for d in comparisons} <= {"<", ">", "="}


def test_realistic_marks_are_mostly_the_key_with_tempting_mistakes() -> None:
    from simulation.classroom import realistic_marks_for

    docs = _docs()
    choice = next(d for d in docs.values() if d["kind"] == "choice" and d["key"].get(  # type: ignore[attr-defined]
        "misconceptions"))
    tf = next(d for d in docs.values() if d["kind"] == "true_false")
    marks = realistic_marks_for([choice, tf])
    rng = np.random.default_rng(0)
    labels = ("A", "B", "C", "D")
    picks = [marks(str(choice["id"]), labels, rng) for _ in range(2000)]
    key = choice["key"]["answer"]  # type: ignore[index]
    right = sum(p == (key,) for p in picks) / len(picks)
    assert 0.68 < right < 0.76
    wrong = [p[0] for p in picks if len(p) == 1 and p != (key,)]
    tempting = set(choice["key"]["misconceptions"])  # type: ignore[index]
    assert sum(w in tempting for w in wrong) / len(wrong) > 0.8
    assert 0.01 < sum(not p for p in picks) / len(picks) < 0.06  # a few left empty
    assert any(len(p) == 2 for p in picks)  # and a few marked twice
    tf_picks = [marks(str(tf["id"]), ("T", "F"), rng) for _ in range(1000)]
    tf_key = "T" if tf["key"]["answer"] else "F"  # type: ignore[index]
    assert 0.75 < sum(p == (tf_key,) for p in tf_picks) / 1000 < 0.85


def test_fill_page_writes_comparison_signs_and_lists_what_it_cannot_write() -> None:
    from dataclasses import dataclass

    from simulation.pages import FillOptions, fill_page

    @dataclass(frozen=True)
    class Region:
        question_id: str
        blank: int
        box: tuple[float, float, float, float]
        answer_format: str
        kind: str = "text"
        bubbles: tuple[object, ...] = ()

    page = np.full((800, 600), 255, np.uint8)
    regions = [Region("cmp", 0, (20, 20, 120, 60), "text"),
               Region("zh", 0, (20, 80, 120, 120), "text"),
               Region("expr", 0, (20, 140, 120, 180), "math")]
    signs = {"cmp": ">", "zh": "春眠不觉晓"}
    filled = fill_page(page, 72, regions, font_glyph_bank(), np.random.default_rng(1),
                       FillOptions(blank_prob=0.0), answer_for=lambda q, b, r: signs.get(q, ""),
                       degrade=False, write_signs=True)
    assert filled.written[("cmp", 0)] == ">"
    assert filled.image[20:60, 20:120].min() < 128  # ink in the comparison box
    assert filled.not_simulated == {("zh", 0), ("expr", 0)}
    assert filled.image[80:120, 20:120].min() > 200  # the others stay empty
