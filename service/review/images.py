"""The image of a scanned page for the review screen: the stored page image when there is
one, else the page re-rendered from the uploaded file (decoding runs in a worker thread)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from ocr.errors import ScanFileError
from ocr.ingest import IngestLimits, iter_pages
from service.actor import Actor
from service.errors import NotFound
from service.privacy.expiry import scan_expired
from service.repositories.review import ReviewRepository
from service.storage import LocalStorage, StorageKeyError

__all__ = ["page_png"]


def _png(image: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise ValueError("PNG encoding failed")
    return bytes(buf.tobytes())


def _render_page(path: Path, index: int, limits: IngestLimits) -> bytes | None:
    # Pages are decoded one at a time; stopping at the wanted one keeps memory flat.
    for page in iter_pages(path, limits):
        if page.index == index:
            return _png(page.image)
    return None


async def page_png(session: AsyncSession, actor: Actor, storage: LocalStorage, page_id: int,
                   limits: IngestLimits) -> bytes:
    """The page as a greyscale PNG.

    Raises:
        NotFound: no such page for the actor (``not_found``), its image was removed by
            retention or an erasure (``image_expired``), or it cannot be produced
            (``no_image``).
    """
    page, upload = await ReviewRepository(session, actor).page(page_id)
    if not page.image_key and await scan_expired(session, upload.id):
        raise NotFound(f"the image of page {page_id} is no longer kept", error="image_expired")
    data: bytes | None = None
    try:
        if page.image_key and storage.exists(page.image_key):
            data = await to_thread.run_sync(storage.get_bytes, page.image_key)
        else:
            data = await to_thread.run_sync(_render_page, storage.path(upload.storage_key),
                                            page.page_index, limits)
    except (OSError, StorageKeyError, ScanFileError) as exc:
        raise NotFound(f"the image of page {page_id} is unavailable ({exc})",
                       error="no_image") from exc
    if data is None:
        raise NotFound(f"the upload has no page {page.page_index}", error="no_image")
    return data
