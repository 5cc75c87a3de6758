"""Damaged scan files are the file's fault: every failure is a typed ScanFileError.

Found by an independent probe: a mutated TIFF was a 500 at upload and a PDF with a page
that does not load ended its job with ``internal_error``. Here small valid files are
mutated many ways (bytes flipped, runs zeroed, truncated) and validated and decoded as
the upload and the job do.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocr.errors import ScanFileError
from ocr.ingest import IngestLimits, count_pages, iter_pages

LIMITS = IngestLimits(max_bytes=2**24, max_pages=20)


def _samples() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    pages = [Image.fromarray(rng.integers(0, 255, (120, 90), dtype=np.uint8)) for _ in range(3)]
    out = {}
    for fmt, ext in (("TIFF", "tiff"), ("PNG", "png"), ("JPEG", "jpg"), ("PDF", "pdf")):
        buf = io.BytesIO()
        if fmt in ("TIFF", "PDF"):
            pages[0].save(buf, fmt, save_all=True, append_images=pages[1:])
        else:
            pages[0].save(buf, fmt)
        out[ext] = buf.getvalue()
    return out


def _mutations(data: bytes, rng: np.random.Generator, n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        b = bytearray(data)
        roll = rng.random()
        if roll < 0.5:  # flip a few bytes, mostly in the header and structure
            for _ in range(int(rng.integers(1, 8))):
                i = int(rng.integers(0, min(len(b), 400) if rng.random() < 0.6 else len(b)))
                b[i] = int(rng.integers(0, 256))
        elif roll < 0.8:  # zero a run
            i = int(rng.integers(0, len(b)))
            b[i:i + int(rng.integers(1, 64))] = bytes(min(64, len(b) - i))[:len(b[i:i + 64])]
        else:  # truncate
            b = b[:int(rng.integers(8, len(b)))]
        out.append(bytes(b))
    return out


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about each damaged tag
@pytest.mark.parametrize("ext", ["tiff", "png", "jpg", "pdf"])
def test_mutated_files_fail_only_as_scan_file_errors(ext: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(sum(ext.encode()))
    data = _samples()[ext]
    failures = 0
    for k, mutated in enumerate(_mutations(data, rng, 150)):
        path = tmp_path / f"m{k}.{ext}"
        path.write_bytes(mutated)
        try:
            count_pages(path, LIMITS)
            for _ in iter_pages(path, LIMITS):
                pass
        except ScanFileError:
            failures += 1
        except Exception as exc:  # the defect this test guards against
            pytest.fail(f"mutation {k} of the {ext} raised {type(exc).__name__}: {exc}")
    assert failures > 0  # the mutations did damage files


def test_a_pdf_image_past_the_pixel_limit_is_refused_when_counted(tmp_path: Path) -> None:
    from ocr.errors import LimitExceeded

    big = Image.new("L", (3000, 3000), 255)
    path = tmp_path / "big.pdf"
    big.save(path, "PDF", resolution=1000.0)  # a small page holding a large image
    with pytest.raises(LimitExceeded):
        count_pages(path, IngestLimits(max_pixels=4_000_000))
