"""Children's data on disk is readable by the service's own user only.

Page images, answer crops, the SQLite database and generated PDFs hold children's
handwriting and names. At start-up the process's file-creation mask becomes 077 (every
file it or its worker processes create afterwards is 0600, every folder 0700), and the
data folder, its ``files`` folder and an existing SQLite file are tightened to match, so
a data folder created by an older version is fixed on the next start.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["make_private"]

log = logging.getLogger(__name__)


def make_private(data_dir: Path, storage_dir: Path, sqlite_file: Path | None) -> None:
    """Restrict new and existing data files to the service's user.

    Args:
        data_dir: the data folder (``Settings.data_dir``).
        storage_dir: uploads, crops and generated files (``Settings.storage_dir``).
        sqlite_file: the embedded database file, None on PostgreSQL.
    """
    os.umask(0o077)
    for folder in (data_dir, storage_dir):
        folder.mkdir(parents=True, exist_ok=True)
        _chmod(folder, 0o700)
    if sqlite_file is not None:
        for path in (sqlite_file, *sqlite_file.parent.glob(sqlite_file.name + "-*")):
            if path.is_file():  # the database and its -wal / -shm companions
                _chmod(path, 0o600)


def _chmod(path: Path, mode: int) -> None:
    try:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
    except OSError as exc:  # a folder owned by someone else: say so, keep serving
        log.warning("cannot restrict %s to its owner: %s", path, exc)
