"""Retention of page images and answer crops (``retention.page_images_days``,
``retention.crops_days``; 0 keeps them forever, the default).

A purge removes the answer crops of pages stored more than ``crops_days`` ago, and the
scan files (with any stored page images) of uploads whose pages were all stored more than
``page_images_days`` ago and whose job is finished. Grades, readings and page rows stay:
the crop keys are set to NULL and an ``image_expiry`` row says the image was removed on
purpose, so the pages show "no longer kept" (404 ``image_expired`` from the image routes)
instead of a broken image. The files are deleted after each batch commits, through the
same queue as an erasure's (:mod:`service.privacy.files`).

The app runs :func:`run_retention` in the background: at start (which also retries any
file deletion left over from before) and then every hour. ``markbook purge-images`` runs
one purge by hand.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.config import RetentionSettings
from service.privacy.files import delete_queued, storage_path
from service.repositories.retention import RetentionRepository

__all__ = ["PURGE_EVERY_SECONDS", "PurgeReport", "purge_images", "run_retention"]

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600.0
_BATCH = 200


@dataclass(frozen=True)
class PurgeReport:
    """What one purge did.

    Attributes:
        scans: uploads whose scan file (and stored page images) were removed.
        crop_pages: pages whose answer crops were removed.
        files_deleted: files deleted (queued ones from before included).
        files_failed: files whose deletion failed (kept queued for the next run).
    """

    scans: int = 0
    crop_pages: int = 0
    files_deleted: int = 0
    files_failed: int = 0


async def _crops_batch(session: AsyncSession, before: datetime) -> int:
    repo = RetentionRepository(session)
    pages = await repo.old_crop_pages(before, _BATCH)
    for page in pages:
        keys = await repo.crop_keys(page.id)
        await repo.clear_crops(page.id)
        await repo.mark_expired(page.upload_id, page.id, "crops", "retention")
        await repo.queue([storage_path(k) for k in keys], "retention")
    return len(pages)


async def _scans_batch(session: AsyncSession, before: datetime) -> int:
    repo = RetentionRepository(session)
    uploads = await repo.old_uploads(before, _BATCH)
    for upload in uploads:
        keys = await repo.page_image_keys(upload.id) + [upload.storage_key]
        await repo.clear_page_images(upload.id)
        await repo.mark_expired(upload.id, None, "scan", "retention")
        await repo.queue([storage_path(k) for k in keys], "retention")
    return len(uploads)


async def purge_images(factory: async_sessionmaker[AsyncSession], settings: RetentionSettings,
                       data_dir: Path, *, now: datetime | None = None) -> PurgeReport:
    """Remove the images past their retention, then delete the queued files.

    Args:
        factory: makes the units of work (one per batch, each committed).
        settings: the retention settings.
        data_dir: the data folder (``Settings.data_dir``).
        now: the present (tests); the current time when omitted.

    Returns:
        What was removed.
    """
    now = now or datetime.now(UTC)
    scans = crop_pages = 0
    for days, batch in ((settings.crops_days, _crops_batch),
                        (settings.page_images_days, _scans_batch)):
        if days <= 0:
            continue
        before = now - timedelta(days=days)
        while True:
            async with factory() as session:
                n = await batch(session, before)
                await session.commit()
            if batch is _crops_batch:
                crop_pages += n
            else:
                scans += n
            if n < _BATCH:
                break
    async with factory() as session:
        report = await delete_queued(session, data_dir)
        await session.commit()
    if scans or crop_pages or report.deleted or report.failed:
        log.info("images purged", extra={"scans": scans, "crop_pages": crop_pages,
                                         "files_deleted": report.deleted,
                                         "files_failed": report.failed})
    return PurgeReport(scans, crop_pages, report.deleted, report.failed)


async def run_retention(factory: async_sessionmaker[AsyncSession], settings: RetentionSettings,
                        data_dir: Path, *, stop: asyncio.Event,
                        every_seconds: float = PURGE_EVERY_SECONDS) -> None:
    """The app's background purge: once at start, then every ``every_seconds`` until
    ``stop`` is set. A failing purge is logged and tried again next time."""
    while not stop.is_set():
        try:
            await purge_images(factory, settings, data_dir)
        except Exception:  # a database hiccup must not end the loop for good
            log.exception("image purge failed; trying again later")
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)
        except TimeoutError:
            continue
