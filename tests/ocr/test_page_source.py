"""PageSource: any page of a scan on demand, the same pixels and checks as iter_pages."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from errorbook.printing.layout import layout_worksheet
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from ocr.errors import LimitExceeded, UnsupportedFile
from ocr.ingest import IngestLimits, PageSource, iter_pages, random_access
from tests.support.samples import sample_questions


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _scan_pdf(n: int) -> bytes:
    pages = []
    for i in range(n):
        page = np.full((1100, 800), 245, np.uint8)
        page[100 + 80 * i: 300 + 80 * i, 200:600] = 20  # a block that moves per page
        pages.append(Image.fromarray(page))
    buf = io.BytesIO()
    pages[0].save(buf, format="PDF", save_all=True, append_images=pages[1:], resolution=100)
    return buf.getvalue()


def _tiff(n: int) -> bytes:
    frames = [Image.new("L", (400, 500), 250 - 30 * i) for i in range(n)]
    buf = io.BytesIO()
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:], dpi=(300, 300))
    return buf.getvalue()


def _same_as_in_order(path: Path, order: list[int], limits: IngestLimits | None = None
                      ) -> None:
    limits = limits or IngestLimits()
    expected = list(iter_pages(path, limits))
    source = PageSource(path, limits)
    try:
        assert source.count == len(expected)
        for i in order:  # out of order, and one page twice
            got = source.page(i)
            assert (got.index, got.dpi, got.source) == \
                (expected[i].index, expected[i].dpi, expected[i].source)
            assert np.array_equal(got.image, expected[i].image)
    finally:
        source.close()


def test_scanned_pdf_pages_in_any_order(tmp_path: Path) -> None:
    _same_as_in_order(_write(tmp_path, "scan.pdf", _scan_pdf(4)), [3, 0, 2, 1, 3])


def test_printed_pdf_pages_are_rendered_alike(tmp_path: Path) -> None:
    layout = layout_worksheet("练习", sample_questions()[:30])
    pdf = render_worksheet_pdf(layout, [PrintedCopy(tuple(f"MB1;W1;P{p.number}"
                                                          for p in layout.pages))],
                               duplex=False)
    path = _write(tmp_path, "ws.pdf", pdf)
    _same_as_in_order(path, [1, 0], IngestLimits(render_dpi=100))


def test_tiff_frames_in_any_order(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.tif", _tiff(3))
    _same_as_in_order(path, [2, 0, 1])
    source = PageSource(path)
    assert [int(source.page(i).image[0, 0]) for i in (2, 1, 0)] == [190, 220, 250]
    source.close()


def test_out_of_range_zip_and_limits(tmp_path: Path) -> None:
    path = _write(tmp_path, "scan.pdf", _scan_pdf(2))
    source = PageSource(path)
    with pytest.raises(IndexError):
        source.page(2)
    with pytest.raises(IndexError):
        source.page(-1)
    source.close()
    with pytest.raises(LimitExceeded, match="limit is 1"):
        PageSource(path, IngestLimits(max_pages=1))
    with pytest.raises(LimitExceeded):
        PageSource(path, IngestLimits(max_pixels=1000)).page(0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.pdf", _scan_pdf(1))
    zipped = _write(tmp_path, "scans.zip", buf.getvalue())
    assert random_access(path)
    assert random_access(_write(tmp_path, "s.tif", _tiff(1)))
    assert not random_access(zipped)
    assert not random_access(_write(tmp_path, "x.html", b"<html></html>"))
    with pytest.raises(UnsupportedFile):
        PageSource(zipped)
