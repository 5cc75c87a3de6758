"""One pdfium call at a time in a process.

PDFium is not thread-safe: no two of its calls may run at once in one process, not even on
different documents (pypdfium2's documentation says so; doing it corrupts memory or crashes
the process). A web process opens PDFs from several threads at once: each upload's page
count, the job runner's rendering, print previews and error-book builds. So every use holds
:data:`PDFIUM` from opening a document to closing it, and closes each page and bitmap it
made while holding it: a pypdfium2 object left to the garbage collector is freed by a
pdfium call on whatever thread happens to collect it.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

__all__ = ["PDFIUM", "render_grey"]

# Re-entrant: a helper that takes it may be called by code that already holds it.
PDFIUM = threading.RLock()


def render_grey(page: Any, **render: Any) -> np.ndarray:
    """A pypdfium2 page rendered grey, as a 2-D ``uint8`` array of its own.

    The bitmap is freed here, under :data:`PDFIUM` (which the caller, holding the page's
    document open, already holds), rather than later by the garbage collector on another
    thread; the pixels are copied out first. ``render`` is passed on to ``page.render``
    (``scale``, ``crop``).
    """
    with PDFIUM:
        bitmap = page.render(grayscale=True, **render)
        try:
            pixels = bitmap.to_numpy()
            return np.array(pixels[..., 0] if pixels.ndim == 3 else pixels, dtype=np.uint8)
        finally:
            bitmap.close()
