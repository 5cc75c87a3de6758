"""The colours of the analytics charts, shared by the PDF (here) and the pages (the same
hex values in ``service/web/static/analytics.css``, checked by a test).

Both scales are colour-blind safe: the series colours are Okabe and Ito's eight, and the
heatmap is ColorBrewer's five-class PuOr (orange = low, purple = high), which stays
ordered for the common forms of colour blindness and in grey. Every cell and point also
carries its number, so nothing depends on colour alone.
"""

from __future__ import annotations

__all__ = ["BAR", "HEAT", "HEAT_EDGES", "HEAT_TEXT", "SERIES", "heat_bin"]

SERIES: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                           "#000000", "#F0E442")
BAR = "#0072B2"
HEAT: tuple[str, ...] = ("#E66101", "#FDB863", "#F7F7F7", "#B2ABD2", "#5E3C99")
# The text colour readable on each heat colour.
HEAT_TEXT: tuple[str, ...] = ("#000000", "#000000", "#000000", "#000000", "#FFFFFF")
# Rates below the first edge take the first colour, and so on (60 % is the pass line of
# district reports; 90 % the excellent line).
HEAT_EDGES: tuple[float, ...] = (0.4, 0.6, 0.75, 0.9)


def heat_bin(rate: float) -> int:
    """The heat colour's index (0..4) of a rate (0..1)."""
    return sum(1 for edge in HEAT_EDGES if rate >= edge)
