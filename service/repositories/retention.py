"""Queries of the deletion queue and of the retention purge (no actor: both run for the
whole install, from the app's background loop or ``markbook purge-images``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import FileDeletionRow, ImageExpiryRow, JobRow, PageRow, ResponseRow, ScanUploadRow

__all__ = ["RetentionRepository"]

# Jobs that will not read their upload again (a retry needs its file).
_FINISHED = ("done", "failed", "partially_done")


class RetentionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- the deletion queue ------------------------------------------------------------

    async def queue(self, paths: Sequence[str], reason: str) -> None:
        """Queue files (relative to the data folder) for deletion after the commit."""
        for path in dict.fromkeys(paths):
            self.session.add(FileDeletionRow(path=path, reason=reason))
        await self.session.flush()

    async def pending(self, *, after: int = 0, limit: int = 500) -> list[FileDeletionRow]:
        """Queued deletions with an id above ``after``, oldest first."""
        rows = await self.session.execute(
            select(FileDeletionRow).where(FileDeletionRow.id > after)
            .order_by(FileDeletionRow.id).limit(limit))
        return list(rows.scalars())

    async def done(self, row: FileDeletionRow) -> None:
        await self.session.delete(row)
        await self.session.flush()

    # -- the purge ---------------------------------------------------------------------

    async def old_crop_pages(self, before: datetime, limit: int) -> list[PageRow]:
        """Pages stored before ``before`` that still have answer crops."""
        rows = await self.session.execute(
            select(PageRow).where(PageRow.created_at < before, exists().where(
                ResponseRow.page_id == PageRow.id, ResponseRow.crop_key.is_not(None)))
            .order_by(PageRow.id).limit(limit))
        return list(rows.scalars())

    async def crop_keys(self, page_id: int) -> list[str]:
        rows = await self.session.execute(select(ResponseRow.crop_key).where(
            ResponseRow.page_id == page_id, ResponseRow.crop_key.is_not(None)))
        return [k for k in rows.scalars() if k]

    async def clear_crops(self, page_id: int) -> None:
        await self.session.execute(update(ResponseRow).where(ResponseRow.page_id == page_id)
                                   .values(crop_key=None).execution_options(
                                       synchronize_session=False))

    async def old_uploads(self, before: datetime, limit: int) -> list[ScanUploadRow]:
        """Uploads received before ``before`` whose job is finished (or that have none),
        whose scan file is not already expired."""
        finished = select(JobRow.id).where(JobRow.status.in_(_FINISHED))
        expired = select(ImageExpiryRow.upload_id).where(ImageExpiryRow.kind == "scan")
        rows = await self.session.execute(
            select(ScanUploadRow).where(
                ScanUploadRow.created_at < before,
                ScanUploadRow.job_id.is_(None) | ScanUploadRow.job_id.in_(finished),
                ScanUploadRow.id.not_in(expired),
                # Every page stored before the cut-off too: the newest answer counts.
                ~exists().where(PageRow.upload_id == ScanUploadRow.id,
                                PageRow.created_at >= before))
            .order_by(ScanUploadRow.id).limit(limit))
        return list(rows.scalars())

    async def page_image_keys(self, upload_id: int) -> list[str]:
        rows = await self.session.execute(select(PageRow.image_key).where(
            PageRow.upload_id == upload_id, PageRow.image_key.is_not(None)))
        return [k for k in rows.scalars() if k]

    async def clear_page_images(self, upload_id: int) -> None:
        await self.session.execute(update(PageRow).where(PageRow.upload_id == upload_id)
                                   .values(image_key=None).execution_options(
                                       synchronize_session=False))

    async def mark_expired(self, upload_id: int, page_id: int | None, kind: str,
                           reason: str) -> None:
        self.session.add(ImageExpiryRow(upload_id=upload_id, page_id=page_id, kind=kind,
                                        reason=reason))
        await self.session.flush()

    async def scan_expired(self, upload_id: int) -> bool:
        found = await self.session.scalar(select(ImageExpiryRow.id).where(
            ImageExpiryRow.upload_id == upload_id, ImageExpiryRow.kind == "scan").limit(1))
        return found is not None

    async def crops_expired(self, page_id: int) -> bool:
        found = await self.session.scalar(select(ImageExpiryRow.id).where(
            ImageExpiryRow.page_id == page_id, ImageExpiryRow.kind == "crops").limit(1))
        return found is not None

    async def response_page(self, response_id: int) -> int | None:
        page_id: int | None = await self.session.scalar(
            select(ResponseRow.page_id).where(ResponseRow.id == response_id))
        return page_id
