"""Elastic distortion of training batches (training only; torch is imported by the caller).

An affine warp moves a whole glyph; a pen does not. Handwriting from a few hundred
writers varies most in how each stroke bends: a ``4`` closing into a ``9``, a ``7``'s bar
curling, a ``1``'s foot. A smooth random displacement field (Simard, Steinkraus and Platt,
2003, "Best practices for convolutional neural networks applied to visual document
analysis") bends strokes locally, so the readers learn the shapes rather than the few
hundred writers' particular samples.

The field is drawn on a coarse grid (one value per ``cell`` pixels) and upsampled
bicubically, which makes it smooth without a Gaussian filter pass over the full image.
"""

from __future__ import annotations

from typing import Any

__all__ = ["elastic_offsets"]


def elastic_offsets(n: int, height: int, width: int, strength_px: float, cell_px: int,
                    gen: Any) -> Any:
    """A smooth random displacement field, in ``grid_sample``'s normalised coordinates.

    Args:
        n: Batch size.
        height, width: Image size in pixels.
        strength_px: Largest displacement in pixels (each axis, before smoothing shrinks it).
        cell_px: Pixels between the coarse grid's random values (the bend's scale).
        gen: A ``torch.Generator`` on the batch's device.

    Returns:
        A tensor (n, height, width, 2) to add to a grid from ``F.affine_grid`` (x then y,
        each in [-1, 1] units: one pixel is ``2 / size``).
    """
    import torch
    from torch.nn import functional as F

    gh, gw = max(2, -(-height // cell_px) + 1), max(2, -(-width // cell_px) + 1)
    coarse = torch.rand((n, 2, gh, gw), generator=gen, device=gen.device) * 2 - 1
    field = F.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=True)
    scale = torch.tensor([2.0 * strength_px / width, 2.0 * strength_px / height],
                         device=gen.device)
    return field.permute(0, 2, 3, 1) * scale
