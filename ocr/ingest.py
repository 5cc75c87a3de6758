"""Ingest: scan files (PDF, multi-page TIFF, JPEG, PNG, HEIC, a ZIP of them) to greyscale
page images.

The format is sniffed from the bytes, never from the name. Limits on file size, page count
and pixels per page are checked from headers *before* anything large is decoded
(decompression bombs), and pages are produced one at a time, so a 300-page class stack
never sits in memory at once. A PDF page that is a single scanned image yields that image
at its own resolution instead of a re-rendering. Phone photos (JPEG, HEIC) are turned
upright by their orientation: JPEG by its EXIF tag, HEIC by the container's rotation, which
libheif applies while decoding (and then reports as "upright" in the EXIF, so no photo turns
twice). A ZIP (or the bundle several files are packed into, :mod:`ocr.bundle`) yields its
files' pages in order, numbered across the files.
"""

from __future__ import annotations

import contextlib
import functools
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageOps

from ocr.bundle import extracted, member_label, open_zip, zip_members
from ocr.errors import (
    CorruptFile,
    EmptyFile,
    EncryptedFile,
    LimitExceeded,
    ScanFileError,
    UnsupportedFile,
)
from ocr.pdfium_lock import PDFIUM, render_grey

__all__ = ["IngestLimits", "PageImage", "PageSource", "ScanKind", "count_pages", "iter_pages",
           "random_access", "sniff"]

ScanKind = Literal["pdf", "tiff", "jpeg", "png", "heic", "zip"]


@dataclass(frozen=True)
class IngestLimits:
    """Hard limits, checked before decoding.

    Attributes:
        max_bytes: largest file accepted (a ZIP: its files together, unpacked).
        max_pages: most pages in one file (a ZIP: in all its files).
        max_pixels: most pixels in one page image (A4 at 600 dpi is about 35 million).
        render_dpi: resolution for PDF pages that are not a single scanned image.
        max_files: most files in one ZIP or bundle.
    """

    max_bytes: int = 200 * 1024 * 1024
    max_pages: int = 600
    max_pixels: int = 50_000_000
    render_dpi: int = 200
    max_files: int = 200


@dataclass(frozen=True)
class PageImage:
    """One page: greyscale pixels (uint8, H×W), its resolution and where it came from."""

    index: int
    image: np.ndarray
    dpi: float
    source: Literal["embedded", "rendered", "raster"]


_MAGIC: tuple[tuple[bytes, int, ScanKind], ...] = (
    (b"%PDF-", 0, "pdf"),
    (b"II*\x00", 0, "tiff"),
    (b"MM\x00*", 0, "tiff"),
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"PK\x03\x04", 0, "zip"),
    (b"PK\x05\x06", 0, "zip"),  # an empty ZIP: refused later for having no files
)
_HEIC_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1")


# What Pillow's decoders raise on a damaged file: a mutated header fails in many ways
# inside them, and each is the file's fault, never ours.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, TypeError, IndexError, KeyError,
                  ArithmeticError, struct.error, EOFError)


def sniff(head: bytes) -> ScanKind:
    """Tell the scan format from the first bytes of a file.

    Raises:
        EmptyFile: no bytes.
        UnsupportedFile: anything else (HTML, Office files, text...).
    """
    if not head:
        raise EmptyFile("the file is empty")
    for magic, offset, kind in _MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return kind
    # Some scanners prepend a few bytes of junk before %PDF; PDF readers allow 1 KiB. (After
    # the exact magics: a ZIP or a photo may hold "%PDF-" in its first KiB.)
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIC_BRANDS:
        return "heic"
    raise UnsupportedFile("not a PDF, TIFF, JPEG, PNG, HEIC or ZIP file")


def _check_size(path: Path, limits: IngestLimits) -> ScanKind:
    size = path.stat().st_size
    if size == 0:
        raise EmptyFile("the file is empty")
    with path.open("rb") as f:
        kind = sniff(f.read(1024))
    # A ZIP's limit is on its files unpacked (ocr.bundle), not on the container.
    if size > limits.max_bytes and kind != "zip":
        raise LimitExceeded(f"the file is {size / 2**20:.0f} MiB; the limit is "
                            f"{limits.max_bytes / 2**20:.0f} MiB")
    return kind


def _open_pdf(path: Path) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        if "password" in text:
            raise EncryptedFile("the PDF is password-protected; send it without a password") \
                from exc
        raise CorruptFile(f"the PDF cannot be read ({exc})") from exc


@functools.cache
def _heif_opener() -> bool:
    """Teach Pillow to open HEIC/HEIF, once, on the first photo that needs it."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


def _open_image(path: Path, kind: ScanKind) -> Image.Image:
    if kind == "heic" and not _heif_opener():
        raise UnsupportedFile("HEIC support is not installed (pillow-heif)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(path)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise LimitExceeded(f"the image is too large to decode safely ({exc})") from exc
    except _DECODE_ERRORS as exc:
        raise CorruptFile(f"the image cannot be read ({exc})") from exc


def _frame_count(img: Image.Image, limits: IngestLimits) -> int:
    # Walk the frame chain only as far as the limit: a 10,000-page TIFF costs at most
    # max_pages + 1 seeks, not a scan of the whole file.
    n = 0
    try:
        while True:
            img.seek(n)
            n += 1
            if n > limits.max_pages:
                raise LimitExceeded(f"more than {limits.max_pages} pages")
    except EOFError:
        pass
    except _DECODE_ERRORS as exc:
        raise CorruptFile(f"the image's pages cannot be read ({exc})") from exc
    finally:
        with contextlib.suppress(EOFError, OSError):
            img.seek(0)
    return n


def count_pages(path: Path, limits: IngestLimits = IngestLimits()) -> int:
    """Validate a file's size, format and page count without decoding pixels.

    Raises:
        ScanFileError: any of its subclasses, with a message for the teacher.
    """
    kind = _check_size(path, limits)
    if kind == "zip":
        n = _count_bundle(path, limits)
    elif kind == "pdf":
        with PDFIUM:
            doc = _open_pdf(path)
            try:
                n = len(doc)
                if n <= limits.max_pages:
                    for i in range(n):
                        _check_pdf_page(doc, i, limits)
            finally:
                doc.close()
    else:
        img = _open_image(path, kind)
        try:
            n = _frame_count(img, limits)
        finally:
            img.close()
    if n == 0:
        raise CorruptFile("the file has no pages")
    if n > limits.max_pages:
        raise LimitExceeded(f"the file has {n} pages; the limit is {limits.max_pages}")
    return n


def _check_pdf_page(doc: Any, i: int, limits: IngestLimits) -> None:
    """Refuse at upload what the reader would refuse later: a page that does not load, a
    page too large to render, an embedded image past the pixel limit (no pixels decoded)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        page = doc[i]
    except pdfium.PdfiumError as exc:
        raise CorruptFile(f"page {i + 1} cannot be read ({exc})") from exc
    try:
        width, height = page.get_size()
        scale = limits.render_dpi / 72.0
        if width * height * scale * scale > limits.max_pixels:
            raise LimitExceeded(f"page {i + 1} is too large to render")
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
            px_w, px_h = obj.get_px_size()
            if px_w * px_h > limits.max_pixels:
                raise LimitExceeded(f"an image on page {i + 1} has {px_w}×{px_h} pixels; "
                                    f"the limit is {limits.max_pixels:,}")
    except pdfium.PdfiumError as exc:
        raise CorruptFile(f"page {i + 1} cannot be read ({exc})") from exc
    finally:
        page.close()


def _upright(img: Image.Image) -> Image.Image:
    """A photo as it is meant to be seen: phones store the sensor's pixels and an EXIF
    orientation tag (Pillow ignores a tag it cannot parse)."""
    return ImageOps.exif_transpose(img) if img.format in ("JPEG", "HEIF") else img


def _to_grey(img: Image.Image) -> np.ndarray:
    img = _upright(img)
    if img.mode not in ("L", "1"):
        img = img.convert("L")
    arr = np.asarray(img.convert("L") if img.mode == "1" else img, dtype=np.uint8)
    return np.ascontiguousarray(arr)


def _embedded_scan(page: Any, limits: IngestLimits) -> PageImage | None:
    """The page's single full-page image, if that is all the page is (a copier's scan)."""
    import pypdfium2.raw as pdfium_c

    if page.get_rotation() != 0:
        return None
    objects = list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))
    if len(objects) != 1:
        return None
    obj = objects[0]
    left, bottom, right, top = obj.get_bounds()
    width, height = page.get_size()
    if (right - left) < 0.9 * width or (top - bottom) < 0.9 * height:
        return None
    a, b, c, d, _, _ = obj.get_matrix().get()
    if b != 0 or c != 0 or a <= 0 or d <= 0:  # rotated or mirrored placement: render instead
        return None
    px_w, px_h = obj.get_px_size()
    if px_w * px_h > limits.max_pixels:
        raise LimitExceeded(f"a page image has {px_w}×{px_h} pixels; the limit is "
                            f"{limits.max_pixels:,}")
    bitmap = obj.get_bitmap(render=False)
    # Closing this (foreign) bitmap frees its buffer, which pypdfium2 warns of, once a page
    # in the service's log, lest a view of it be used later: the pixels are copied first.
    bitmap.warn_on_close = False
    try:
        grey = _to_grey(bitmap.to_pil())  # a copy: the bitmap's memory is freed below
    finally:
        bitmap.close()
    dpi = px_w / ((right - left) / 72.0)
    return PageImage(-1, grey, dpi, "embedded")


def _iter_pdf(path: Path, limits: IngestLimits) -> Iterator[PageImage]:
    # The lock is held for each page, never across a yield: the consumer may take its time.
    with PDFIUM:
        doc = _open_pdf(path)
        n = len(doc)
    try:
        for i in range(n):
            with PDFIUM:
                image = _read_pdf_page(doc, i, limits)
            yield image
    finally:
        with PDFIUM:
            doc.close()


def _read_pdf_page(doc: Any, i: int, limits: IngestLimits) -> PageImage:
    """Page ``i`` as grey pixels: its embedded scan, or rendered (the caller holds
    :data:`PDFIUM`)."""
    import pypdfium2 as pdfium

    try:
        page = doc[i]
    except pdfium.PdfiumError as exc:
        raise CorruptFile(f"page {i + 1} cannot be read ({exc})") from exc
    try:
        embedded = _embedded_scan(page, limits)
        if embedded is not None:
            return PageImage(i, embedded.image, embedded.dpi, "embedded")
        width, height = page.get_size()
        scale = limits.render_dpi / 72.0
        if width * height * scale * scale > limits.max_pixels:
            raise LimitExceeded(f"page {i + 1} is too large to render")
        return PageImage(i, render_grey(page, scale=scale), float(limits.render_dpi),
                         "rendered")
    except (pdfium.PdfiumError, OSError, ValueError, SyntaxError) as exc:
        raise CorruptFile(f"page {i + 1} cannot be read ({exc})") from exc
    finally:
        page.close()


def _raster_page(img: Image.Image, i: int, limits: IngestLimits) -> PageImage:
    """Frame ``i`` of an open raster file as grey pixels."""
    try:
        img.seek(i)
    except _DECODE_ERRORS as exc:
        raise CorruptFile(f"page {i + 1} is truncated or damaged ({exc})") from exc
    w, h = img.size
    if w * h > limits.max_pixels:
        raise LimitExceeded(f"page {i + 1} has {w}×{h} pixels; the limit is "
                            f"{limits.max_pixels:,}")
    dpi_info = img.info.get("dpi", (0, 0))
    dpi = float(dpi_info[0]) if dpi_info and dpi_info[0] else 0.0
    try:
        grey = _to_grey(img)
    except _DECODE_ERRORS as exc:
        raise CorruptFile(f"page {i + 1} is truncated or damaged ({exc})") from exc
    return PageImage(i, grey, dpi, "raster")


def _iter_raster(path: Path, kind: ScanKind, limits: IngestLimits) -> Iterator[PageImage]:
    img = _open_image(path, kind)
    try:
        n = _frame_count(img, limits)
        for i in range(n):
            yield _raster_page(img, i, limits)
    finally:
        img.close()


def iter_pages(path: Path, limits: IngestLimits = IngestLimits()) -> Iterator[PageImage]:
    """Yield the pages of a scan file one at a time.

    Args:
        path: the stored upload.
        limits: hard limits, checked before decoding.

    Yields:
        Greyscale pages in file order; ``dpi`` is 0 when a raster file does not say.

    Raises:
        ScanFileError: any of its subclasses (before the first page or at a damaged page).
    """
    kind = _check_size(path, limits)
    if kind == "zip":
        yield from _iter_bundle(path, limits)
    elif kind == "pdf":
        count_pages(path, limits)
        yield from _iter_pdf(path, limits)
    else:
        yield from _iter_raster(path, kind, limits)


class PageSource:
    """Any page of one scan file on demand, the file kept open between pages.

    :func:`iter_pages` hands pages out in order, so one process must read them all; a
    ``PageSource`` lets each page worker read the pages it is given straight from the
    stored file, so page images never cross a process boundary. A ZIP is not read this
    way (its files are extracted one at a time): :func:`random_access` says which files
    are. Pages are validated as :func:`iter_pages` validates them.

    Args:
        path: the stored scan (not a ZIP).
        limits: the same limits as at upload.

    Raises:
        ScanFileError: the file cannot be opened as a scan (any of its subclasses).
    """

    def __init__(self, path: Path, limits: IngestLimits = IngestLimits()) -> None:
        self.path = path
        self.limits = limits
        self._kind = _check_size(path, limits)
        self._doc: Any = None
        self._img: Image.Image | None = None
        if self._kind == "zip":
            raise UnsupportedFile("a ZIP's pages are read in order (iter_pages)")
        if self._kind == "pdf":
            with PDFIUM:
                self._doc = _open_pdf(path)
                self.count = len(self._doc)
        else:
            self._img = _open_image(path, self._kind)
            self.count = _frame_count(self._img, limits)
        if self.count > limits.max_pages:
            self.close()
            raise LimitExceeded(f"the file has {self.count} pages; the limit is "
                                f"{limits.max_pages}")

    def page(self, index: int) -> PageImage:
        """Page ``index`` (from 0) as grey pixels.

        Raises:
            IndexError: no such page.
            ScanFileError: the page is damaged or over a limit.
        """
        if not 0 <= index < self.count:
            raise IndexError(f"page {index} of {self.count}")
        if self._img is not None:
            return _raster_page(self._img, index, self.limits)
        with PDFIUM:
            return _read_pdf_page(self._doc, index, self.limits)

    def close(self) -> None:
        if self._doc is not None:
            with PDFIUM:
                self._doc.close()
            self._doc = None
        if self._img is not None:
            self._img.close()
            self._img = None


def random_access(path: Path) -> bool:
    """Whether :class:`PageSource` reads this file (any scan but a ZIP)."""
    with path.open("rb") as f:
        head = f.read(1024)
    try:
        return sniff(head) != "zip"
    except ScanFileError:
        return False


def _named(exc: ScanFileError, label: str) -> ScanFileError:
    """The same error, saying which file of the bundle it is about."""
    return type(exc)(f"{label}: {exc}")


def _count_bundle(path: Path, limits: IngestLimits) -> int:
    total = 0
    with open_zip(path, limits) as zf:
        for info in zip_members(zf, limits):
            label = member_label(info.filename)
            with extracted(zf, info) as member:
                try:
                    if _check_size(member, limits) == "zip":
                        raise UnsupportedFile("a ZIP inside a ZIP; put the scans in one ZIP")
                    total += count_pages(member, limits)
                except ScanFileError as exc:
                    raise _named(exc, label) from None
            if total > limits.max_pages:
                raise LimitExceeded(f"the files have more than {limits.max_pages} pages in "
                                    f"all; the limit is {limits.max_pages}")
    return total


def _iter_bundle(path: Path, limits: IngestLimits) -> Iterator[PageImage]:
    offset = 0
    with open_zip(path, limits) as zf:
        for info in zip_members(zf, limits):
            label = member_label(info.filename)
            with extracted(zf, info) as member:
                pages = 0
                try:
                    if _check_size(member, limits) == "zip":
                        raise UnsupportedFile("a ZIP inside a ZIP; put the scans in one ZIP")
                    for page in iter_pages(member, limits):
                        pages = page.index + 1
                        yield PageImage(offset + page.index, page.image, page.dpi,
                                        page.source)
                except ScanFileError as exc:
                    raise _named(exc, label) from None
            offset += pages
