"""Shared fixtures: real models are opened once per test session."""

from __future__ import annotations

from typing import Any

import pytest

from models.loader import open_session
from models.manifest import ANSWER_LINE_READER, DIGIT_CLASSIFIER, PPOCR_REC_SMALL
from simulation.handwriting import GlyphBank
from tests.support.datasets import DATASETS_DIR, have_datasets


@pytest.fixture(scope="session")
def rec_session() -> Any:
    return open_session(PPOCR_REC_SMALL)


@pytest.fixture(scope="session")
def glyph_session() -> Any:
    return open_session(DIGIT_CLASSIFIER)


@pytest.fixture(scope="session")
def hand_session() -> Any:
    return open_session(ANSWER_LINE_READER)


@pytest.fixture(scope="session")
def test_bank() -> GlyphBank:
    if not have_datasets():
        pytest.skip(f"handwriting datasets not found at {DATASETS_DIR}")
    return GlyphBank.load("test", DATASETS_DIR)
