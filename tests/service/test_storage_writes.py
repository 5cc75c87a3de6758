"""Small files written atomically: a page's crops in one call, and single files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from service.storage import LocalStorage, StorageKeyError, write_atomic


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_put_many_writes_every_file_with_its_bytes(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    files = {f"crops/7/{page}/q{q}_0.png": os.urandom(100 + q) for page in (0, 1)
             for q in range(3)}
    storage.put_many(files)
    for key, data in files.items():
        assert storage.get_bytes(key) == data
        assert stat.S_IMODE(storage.path(key).stat().st_mode) == 0o600
    # No temporary file is left beside them.
    assert _names(tmp_path / "crops/7/0") == ["q0_0.png", "q1_0.png", "q2_0.png"]


def test_put_many_replaces_a_file_already_there(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put_many({"crops/1/0/a_0.png": b"old"})
    storage.put_many({"crops/1/0/a_0.png": b"new"})
    assert storage.get_bytes("crops/1/0/a_0.png") == b"new"
    assert _names(tmp_path / "crops/1/0") == ["a_0.png"]


def test_put_many_refuses_a_key_outside_the_root(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    with pytest.raises(StorageKeyError):
        storage.put_many({"../escape.png": b"x"})
    assert not (tmp_path.parent / "escape.png").exists()


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    (tmp_path / "crops/2/0/q_0.png").mkdir(parents=True)  # a folder where the file goes
    with pytest.raises(IsADirectoryError):
        storage.put_many({"crops/2/0/q_0.png": b"png"})
    assert _names(tmp_path / "crops/2/0") == ["q_0.png"]
    assert (tmp_path / "crops/2/0/q_0.png").is_dir()


def test_write_atomic_makes_the_folder_and_syncs_when_durable(tmp_path: Path) -> None:
    target = tmp_path / "state" / "deep" / "status.json"
    write_atomic(target, b"{}", durable=True)
    write_atomic(target, b'{"n": 1}')
    assert target.read_bytes() == b'{"n": 1}'
    assert _names(target.parent) == ["status.json"]
