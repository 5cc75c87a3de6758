"""ArUco registration markers drawn with reportlab, no OpenCV needed at print time.

The bit patterns are OpenCV's ``DICT_4X4_50`` ids 0-3 (a test checks them against
``cv2.aruco``), so the reader detects them with the stock detector. Ids go clockwise from
the top-left corner, which also tells the reader the page's rotation.
"""

from __future__ import annotations

from reportlab.pdfgen.canvas import Canvas

__all__ = ["MARKER_BITS", "MARKER_CORNERS", "draw_marker"]

# Inner 4x4 bits per id, rows top to bottom, "1" = white cell (OpenCV convention).
MARKER_BITS: dict[int, tuple[str, str, str, str]] = {
    0: ("1011", "0101", "0011", "0010"),
    1: ("0000", "1111", "1001", "1010"),
    2: ("0011", "0011", "0010", "1101"),
    3: ("1001", "1001", "0100", "0110"),
}

# Marker id at each page corner.
MARKER_CORNERS: dict[str, int] = {"top_left": 0, "top_right": 1, "bottom_right": 2, "bottom_left": 3}


def draw_marker(canvas: Canvas, marker_id: int, x0: float, y0: float, size: float,
                page_height: float) -> None:
    """Draw one marker (6x6 cells: black border, 4x4 payload) with its top-left at (x0, y0).

    Args:
        canvas: the reportlab canvas.
        marker_id: 0-3.
        x0, y0: top-left corner in page space (points from the page's top-left).
        size: side length in points; the white quiet zone around it is the caller's.
        page_height: to convert to reportlab's bottom-left origin.
    """
    cell = size / 6.0
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setStrokeColorRGB(0, 0, 0)
    canvas.rect(x0, page_height - y0 - size, size, size, stroke=0, fill=1)
    canvas.setFillColorRGB(1, 1, 1)
    for r, row in enumerate(MARKER_BITS[marker_id]):
        for c, bit in enumerate(row):
            if bit == "1":
                cx = x0 + (c + 1) * cell
                cy = page_height - y0 - (r + 2) * cell
                # A hair of overlap stops anti-aliased seams between white cells.
                canvas.rect(cx, cy, cell + 0.05, cell + 0.05, stroke=0, fill=1)
    canvas.restoreState()
