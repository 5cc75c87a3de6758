"""Scan images for printed pages: decode, greyscale, downscale and JPEG-compress them.

Used by :mod:`errorbook.printing.annotated.paper` to put a student's scan behind the teacher's marks.
Pillow (reportlab's own image library) does the work, so ``errorbook`` needs no OpenCV.
"""

from __future__ import annotations

import io
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from PIL import Image
from reportlab import rl_config
from reportlab.pdfgen.canvas import Canvas

__all__ = ["background_jpeg", "binary_streams", "draw_jpeg", "load_scan_image"]

_A85_LOCK = threading.Lock()


@contextmanager
def binary_streams() -> Iterator[None]:
    """Within the block, reportlab writes image and page streams binary (not ASCII85)."""
    # reportlab ASCII85-encodes image and page streams by default (+25% bytes). The switch
    # is process-global; a concurrent render that sees it off still writes a valid PDF.
    with _A85_LOCK:
        saved = rl_config.useA85
        rl_config.useA85 = 0
        try:
            yield
        finally:
            rl_config.useA85 = saved


def load_scan_image(image: np.ndarray | bytes, where: str) -> Image.Image:
    """A scan as a greyscale Pillow image.

    Args:
        image: a grey (H×W) or BGR/BGRA (H×W×3/4) uint8 array, or image file bytes.
        where: names the page in error messages.

    Returns:
        The image in mode ``L``.

    Raises:
        ValueError: wrong type, dtype or shape, or bytes no image decoder accepts.
    """
    if isinstance(image, bytes | bytearray | memoryview):
        try:
            with Image.open(io.BytesIO(bytes(image))) as im:
                return im.convert("L")
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise ValueError(f"{where}: image bytes are not a readable image ({exc})") from None
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{where}: image must be a numpy array or image file bytes, "
                         f"got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"{where}: image must be uint8, got {image.dtype}")
    a = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
    if a.ndim == 3 and a.shape[2] in (3, 4):
        # BGR as OpenCV gives it: ITU-R 601 luma with the channels reversed.
        a = (a[..., 2] * 0.299 + a[..., 1] * 0.587 + a[..., 0] * 0.114).round().astype(np.uint8)
    if a.ndim != 2 or min(a.shape) < 16:
        raise ValueError(f"{where}: image must be H×W grey or H×W×3 BGR, at least 16 px, "
                         f"got shape {image.shape}")
    return Image.fromarray(np.ascontiguousarray(a), mode="L")


def background_jpeg(img: Image.Image, width_pt: float, dpi: float, quality: int,
                    clean: bool) -> bytes:
    """The scan as a page background: downscaled, paper whitened, JPEG-compressed.

    Args:
        img: the greyscale scan.
        width_pt: the output page width in points.
        dpi: the background's resolution at that width (never upscaled).
        quality: JPEG quality.
        clean: whiten the paper tone.

    Returns:
        JPEG bytes (reportlab embeds them as they are, DCT-encoded).
    """
    target_w = max(16, round(width_pt / 72.0 * dpi))
    if img.width > target_w:
        img = img.resize((target_w, max(1, round(img.height * target_w / img.width))),
                         Image.Resampling.BOX)
    if clean:
        # Map just under the paper level (the median: pages are mostly paper) to white:
        # drops paper tone and scanner noise, a good part of a scan's JPEG bytes, and keeps
        # ink and pencil (well below 92% of the paper) as they were, only stretched.
        white = float(np.median(np.asarray(img)[::4, ::4])) * 0.92
        if white >= 96:
            img = img.point([min(255, round(v * 255.0 / white)) for v in range(256)])
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def draw_jpeg(c: Canvas, jpeg: bytes, x: float, y: float, width: float, height: float) -> None:
    """Draw JPEG bytes on the canvas as they are (DCT-encoded, not re-compressed).

    Given an ``ImageReader``, reportlab decodes the whole image to RGB only to hash it for
    de-duplication (about a third of a page's rendering time); given a ``.jpg`` file name it
    hashes the name and copies the file's bytes in. The file lives only for this call.

    Args:
        c: the canvas.
        jpeg: the JPEG file bytes.
        x, y, width, height: where, in reportlab coordinates (bottom-left origin).
    """
    with tempfile.NamedTemporaryFile(suffix=".jpg", prefix="markbook-") as f:
        f.write(jpeg)
        f.flush()
        c.drawImage(f.name, x, y, width, height)
