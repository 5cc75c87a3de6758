"""Fixtures for the simulation tests: the real handwriting, when a checkout has it."""

from __future__ import annotations

import pytest

from simulation.handwriting import GlyphBank
from tests.support.datasets import DATASETS_DIR, have_datasets


@pytest.fixture(scope="session")
def test_bank() -> GlyphBank:
    if not have_datasets():
        pytest.skip(f"handwriting datasets not found at {DATASETS_DIR}")
    return GlyphBank.load("test", DATASETS_DIR)
