"""The elastic distortion used by the training scripts (needs torch, a training-only tool)."""

from __future__ import annotations

import pytest

from tools.training.elastic import elastic_offsets

torch = pytest.importorskip("torch")


def test_offsets_are_bounded_smooth_and_seeded() -> None:
    gen = torch.Generator().manual_seed(5)
    field = elastic_offsets(4, 32, 128, 2.0, 10, gen)
    assert field.shape == (4, 32, 128, 2)
    px = field * torch.tensor([128 / 2.0, 32 / 2.0])  # back to pixels, per axis
    # Bicubic overshoot may pass the coarse values a little, never by much.
    assert float(px.abs().max()) <= 2.0 * 1.3
    assert float(px.abs().mean()) > 0.3  # it does move the strokes
    # Smooth: neighbouring pixels move together (a bend, not noise).
    # (Independent noise of this strength would differ by up to 4 px.)
    assert float((px[:, :, 1:] - px[:, :, :-1]).abs().max()) < 1.0
    again = elastic_offsets(4, 32, 128, 2.0, 10, torch.Generator().manual_seed(5))
    assert torch.equal(field, again)
