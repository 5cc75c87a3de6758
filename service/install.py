"""This install's id: printed in every page code so a page printed elsewhere is refused.

The id is 6 random base32 characters (30 bits), made when the database is first migrated
(migration 0008) and kept in the ``installation`` table, so every API and worker process
of a deployment shares it. A page whose ``MB2`` code carries another id was printed by
another markbook server, or by this one before it was reinstalled on a fresh database;
the reader reports it as ``foreign_page`` instead of grading it against a local worksheet
that happens to have the same id (``service.jobs.pagework``). Restoring a backup of the
database keeps the id, so pages printed before the restore still read.
"""

from __future__ import annotations

import base64
import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.contract import CODE_ID_CHARS
from service.repositories.install import InstallRepository

__all__ = ["install_id", "new_install_id"]


def new_install_id() -> str:
    """A fresh random id: 6 characters of RFC 4648 base32 (``A-Z``, ``2-7``)."""
    return base64.b32encode(secrets.token_bytes(5)).decode()[:CODE_ID_CHARS]


async def install_id(session: AsyncSession) -> str:
    """This install's id, made (and flushed) if the database lacks one.

    Args:
        session: a unit of work; the caller commits (a read needs no commit).
    """
    repo = InstallRepository(session)
    found = await repo.install_id()
    if found is not None:
        return found
    return await repo.add_if_missing(new_install_id())
