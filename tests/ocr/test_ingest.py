"""Ingest: real formats in, hostile files out as typed errors, quickly and without memory blow-up."""

from __future__ import annotations

import io
import resource
import struct
import zlib
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from errorbook.printing.layout import layout_worksheet
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from ocr.errors import (
    CorruptFile,
    EmptyFile,
    EncryptedFile,
    LimitExceeded,
    ScanFileError,
    UnsupportedFile,
)
from ocr.ingest import IngestLimits, count_pages, iter_pages, sniff
from tests.support.samples import sample_questions


@pytest.fixture(scope="module")
def worksheet_pdf() -> bytes:
    layout = layout_worksheet("练习", sample_questions()[:30])
    return render_worksheet_pdf(layout, [PrintedCopy(tuple(f"MB1;W1;P{p.number}"
                                                          for p in layout.pages))], duplex=False)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _scan_pdf(pages: list[np.ndarray], dpi: int = 150) -> bytes:
    """A copier-style PDF: each page one embedded JPEG."""
    buf = io.BytesIO()
    images = [Image.fromarray(p) for p in pages]
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return buf.getvalue()


def test_vector_pdf_pages_are_rendered(tmp_path: Path, worksheet_pdf: bytes) -> None:
    path = _write(tmp_path, "ws.pdf", worksheet_pdf)
    pages = list(iter_pages(path, IngestLimits(render_dpi=150)))
    assert count_pages(path) == len(pages) >= 2
    assert all(p.source == "rendered" and p.dpi == 150 for p in pages)
    height, width = pages[0].image.shape
    assert abs(height - 1754) <= 1
    assert abs(width - 1240) <= 1
    assert pages[0].image.dtype == np.uint8


def test_scanned_pdf_uses_embedded_images(tmp_path: Path) -> None:
    pages = []
    for i in range(3):
        page = np.full((1754, 1240), 245, np.uint8)
        page[200 + 100 * i: 400 + 100 * i, 300:900] = 20  # a dark block that moves per page
        pages.append(page)
    path = _write(tmp_path, "scan.pdf", _scan_pdf(pages, dpi=150))
    got = list(iter_pages(path))
    assert [p.source for p in got] == ["embedded"] * 3
    assert got[1].image.shape == (1754, 1240)
    assert abs(got[0].dpi - 150) < 1
    assert np.abs(got[2].image.astype(int) - pages[2]).mean() < 3  # lossless-ish, not re-rendered


def test_multipage_tiff_png_jpeg(tmp_path: Path) -> None:
    frames = [Image.new("L", (800, 1100), 255 - 40 * i) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:], dpi=(300, 300),
                   compression="tiff_deflate")
    tiff = list(iter_pages(_write(tmp_path, "s.tif", buf.getvalue())))
    assert [int(p.image[0, 0]) for p in tiff] == [255, 215, 175]
    assert tiff[0].dpi == 300
    for fmt in ("PNG", "JPEG"):
        b = io.BytesIO()
        Image.new("RGB", (600, 800), (250, 250, 240)).save(b, format=fmt)
        (page,) = iter_pages(_write(tmp_path, f"p.{fmt.lower()}", b.getvalue()))
        assert page.image.ndim == 2
        assert page.image.shape == (800, 600)


def test_sniff_ignores_the_name() -> None:
    assert sniff(b"%PDF-1.7 ...") == "pdf"
    assert sniff(b"\x00\x00\x00\x18ftypheic\x00\x00") == "heic"
    assert sniff(b"PK\x03\x04zip") == "zip"  # what is inside is judged file by file
    for junk in (b"<!DOCTYPE html><html>", b"hello"):
        with pytest.raises(UnsupportedFile):
            sniff(junk)
    with pytest.raises(EmptyFile):
        sniff(b"")


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def _many_page_tiff(n: int) -> bytes:
    """A TIFF of ``n`` 8×8 pages sharing one strip: a chain of n IFDs, built directly
    (Pillow's multi-frame writer takes minutes for 10,000 pages)."""
    entries = [(256, 3, 8), (257, 3, 8), (258, 3, 1), (259, 3, 1), (262, 3, 1),
               (273, 4, 8), (278, 3, 8), (279, 4, 8)]
    ifd_size = 2 + 12 * len(entries) + 4
    out = bytearray(b"II*\x00" + struct.pack("<I", 16) + b"\x00" * 8)  # strip at offset 8
    for i in range(n):
        out += struct.pack("<H", len(entries))
        for tag, kind, value in entries:
            out += struct.pack("<HHI", tag, kind, 1) + struct.pack("<I", value)
        nxt = 16 + (i + 1) * ifd_size if i + 1 < n else 0
        out += struct.pack("<I", nxt)
    return bytes(out)


def _encrypted_pdf(worksheet_pdf: bytes) -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(worksheet_pdf)) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(owner="teacher", user="secret"))
    return out.getvalue()


@pytest.mark.parametrize(("name", "make", "error"), [
    ("empty.pdf", lambda pdf: b"", EmptyFile),
    ("truncated.pdf", lambda pdf: pdf[: len(pdf) // 2], CorruptFile),
    ("encrypted.pdf", _encrypted_pdf, EncryptedFile),
    ("bomb.png", lambda pdf: _png_header_only(50_000, 50_000), LimitExceeded),
    ("pages.tif", lambda pdf: _many_page_tiff(10_000), LimitExceeded),
    ("page.pdf", lambda pdf: b"<!DOCTYPE html><html><body>not a scan</body></html>",
     UnsupportedFile),
    ("garbage.jpg", lambda pdf: b"\xff\xd8\xff\xe0" + b"\x00garbage" * 50, CorruptFile),
])
def test_hostile_files_fail_fast_with_typed_errors(tmp_path: Path, worksheet_pdf: bytes,
                                                   name: str, make, error: type) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path, name, make(worksheet_pdf))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pages: list[int] = []  # extend keeps the pages yielded before the error
    with pytest.raises(error) as info:
        pages.extend(page.index for page in iter_pages(path))
    # Failing fast: the file is refused by its checks before any page is decoded.
    assert pages == []
    assert isinstance(info.value, ScanFileError)
    assert info.value.code
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mb < 200, f"{name} grew memory by {grown_mb:.0f} MB"


def test_limits_are_checked_before_decoding(tmp_path: Path, worksheet_pdf: bytes) -> None:
    path = _write(tmp_path, "ws.pdf", worksheet_pdf)
    with pytest.raises(LimitExceeded, match="limit is 1"):
        count_pages(path, IngestLimits(max_pages=1))
    with pytest.raises(LimitExceeded, match="MiB"):
        count_pages(path, IngestLimits(max_bytes=1000))
    with pytest.raises(LimitExceeded, match="too large to render"):
        list(iter_pages(path, IngestLimits(max_pixels=1000)))
