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
