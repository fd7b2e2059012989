"""Provenance of CIFAR-10 data: the record in an extracted folder and what digests mean."""

from __future__ import annotations

from pathlib import Path

from bmlib.data.cifar10_format import OFFICIAL_MD5
from bmlib.data.cifar10_provenance import (
    SHARED_COPY_NOTE,
    SHARED_COPY_SHA256,
    describe_archive,
    read_provenance,
    write_provenance,
)


def test_record_read_back_only_while_the_files_are_unchanged(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"123")
    write_provenance(tmp_path, {"archive": "x.tar.gz", "sha256": "s", "md5": "m"})
    record = read_provenance(tmp_path)
    assert record is not None and record["archive"] == "x.tar.gz"
    assert list(record["files"]) == ["a.bin"]
    (tmp_path / "a.bin").write_bytes(b"1234")
    assert read_provenance(tmp_path) is None
    assert read_provenance(tmp_path / "absent") is None


def test_official_shared_and_unknown_archives_told_apart() -> None:
    assert describe_archive("any", OFFICIAL_MD5)[0] is True
    assert describe_archive(SHARED_COPY_SHA256, "other") == (False, SHARED_COPY_NOTE)
    official, note = describe_archive("s", "0" * 32)
    assert not official and note.startswith(f"unrecognised archive (MD5 {'0' * 32}")
