"""The CIFAR-10 archive as a file: where it is found and what a killed run leaves.
(Download and safe extraction are exercised through the loader in test_cifar10_data.py.)"""

from __future__ import annotations

import os
from pathlib import Path

from bmlib.data.archives import find_archive, remove_stale_temps
from bmlib.data.cifar10_format import ARCHIVE_NAME


def test_data_dir_then_mirrors_in_order(tmp_path: Path) -> None:
    data, first, second = (tmp_path / n for n in ("data", "first", "second"))
    for folder in (first, second):
        folder.mkdir()
        (folder / ARCHIVE_NAME).write_bytes(b"x")
    assert find_archive(data, [tmp_path / "absent", second, first]) == second / ARCHIVE_NAME
    data.mkdir()
    (data / ARCHIVE_NAME).write_bytes(b"x")
    assert find_archive(data, [first]) == data / ARCHIVE_NAME
    assert find_archive(tmp_path / "none", []) is None


def test_stale_temporaries_removed_fresh_ones_kept(tmp_path: Path) -> None:
    old_dir = tmp_path / ".cifar-10-extract-old"
    old_dir.mkdir()
    old_part = tmp_path / ".cifar-10-download-old.part"
    old_part.write_bytes(b"x")
    fresh = tmp_path / ".cifar-10-extract-fresh"
    fresh.mkdir()
    for stale in (old_dir, old_part):
        os.utime(stale, (0, 0))
    remove_stale_temps(tmp_path)
    assert not old_dir.exists() and not old_part.exists() and fresh.is_dir()
