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

__all__ = ["PDFIUM"]

# Re-entrant: a helper that takes it may be called by code that already holds it.
PDFIUM = threading.RLock()
