"""ocr.pdfium_lock.render_grey: a page's grey pixels, copied out before the bitmap is
freed; and a copier's embedded scan read without pypdfium2's warning about freeing its
bitmap (it was logged once for every such page)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from ocr.ingest import IngestLimits, iter_pages
from ocr.pdfium_lock import PDFIUM, render_grey


def test_a_page_renders_to_its_own_grey_pixels() -> None:
    with PDFIUM:
        doc = pdfium.PdfDocument.new()
        try:
            page = doc.new_page(144, 72)  # two inches by one: white
            try:
                grey = render_grey(page, scale=2)
            finally:
                page.close()
        finally:
            doc.close()
    assert grey.shape == (144, 288)
    assert grey.dtype == np.uint8
    assert grey.flags.owndata  # a copy, not a view of the freed bitmap
    assert int(grey.min()) == 255


def test_an_embedded_scan_is_read_without_a_warning(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    scan = Image.new("L", (850, 1100), 255)  # a copier's page: one image, full page
    scan.paste(0, (100, 100, 300, 140))
    buf = io.BytesIO()
    scan.save(buf, format="PDF", resolution=100)
    path = tmp_path / "scan.pdf"
    path.write_bytes(buf.getvalue())
    with caplog.at_level(logging.WARNING, logger="pypdfium2"):
        pages = list(iter_pages(path, IngestLimits()))
    assert [p.source for p in pages] == ["embedded"]
    assert pages[0].image.shape == (1100, 850)
    assert int(pages[0].image[120, 200]) == 0
    assert not [r for r in caplog.records if r.name.startswith("pypdfium2")]
