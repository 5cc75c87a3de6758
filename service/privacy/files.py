"""Deleting the files of erased students and expired images, after the database change
that made them unreferenced has committed.

The paths are queued in ``file_deletions`` in the same transaction as that change, so
the database never points at a file that is gone, and a file whose deletion failed (or
was cut short by a crash) stays queued: :func:`delete_queued` runs again at the next
start and after every purge. A failure is logged, never raised: it cannot undo an erasure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from service.repositories.retention import RetentionRepository

__all__ = ["DeletionReport", "delete_queued", "storage_path"]

log = logging.getLogger(__name__)


def storage_path(key: str) -> str:
    """The queued path (relative to the data folder) of a storage key."""
    return f"files/{key}"


@dataclass(frozen=True)
class DeletionReport:
    """What one run of the queue did: files deleted (or already gone) and files kept
    queued after a failure."""

    deleted: int
    failed: int


def _resolve(data_dir: Path, path: str) -> Path:
    parts = PurePosixPath(path).parts
    if not parts or PurePosixPath(path).is_absolute() or ".." in parts:
        raise ValueError(f"not a path inside the data folder: {path!r}")
    return data_dir.joinpath(*parts)


def _unlink(data_dir: Path, path: str) -> None:
    _resolve(data_dir, path).unlink(missing_ok=True)


async def delete_queued(session: AsyncSession, data_dir: Path) -> DeletionReport:
    """Delete every queued file and drop its row; a failure keeps the row with its error
    (flush only: the caller commits).

    Args:
        session: a unit of work (the queue's rows are read and removed in it).
        data_dir: the data folder the queued paths are relative to.

    Returns:
        How many were deleted and how many failed.
    """
    repo = RetentionRepository(session)
    deleted = failed = 0
    after = 0
    while rows := await repo.pending(after=after):
        for row in rows:
            after = row.id
            try:
                await to_thread.run_sync(_unlink, data_dir, row.path)
            except (OSError, ValueError) as exc:
                row.attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:300]
                failed += 1
                # The path names no person (ids and hashes only), so it may be logged.
                log.warning("file deletion failed; kept queued",
                            extra={"path": row.path, "error": row.last_error})
                continue
            await repo.done(row)
            deleted += 1
    await session.flush()
    return DeletionReport(deleted, failed)
