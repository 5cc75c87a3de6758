"""Whether an image was removed on purpose (retention or an erasure), so the image routes
answer 404 ``image_expired`` ("no longer kept") rather than ``no_crop`` / ``no_image``.
The caller has already checked the actor may see the page or answer."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.repositories.retention import RetentionRepository

__all__ = ["crop_expired", "scan_expired"]


async def scan_expired(session: AsyncSession, upload_id: int) -> bool:
    """Whether the upload's scan file (every page image of it) was removed."""
    return await RetentionRepository(session).scan_expired(upload_id)


async def crop_expired(session: AsyncSession, response_id: int) -> bool:
    """Whether the answer's crop was removed (its page's crops expired)."""
    repo = RetentionRepository(session)
    page_id = await repo.response_page(response_id)
    return page_id is not None and await repo.crops_expired(page_id)
