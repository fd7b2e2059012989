"""The CIFAR-10 binary format: layout sizes, reading a file, and the members it allows.
(The loader's end-to-end paths and refusals are in test_cifar10_data.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bmlib.data.cifar10_format import (
    Cifar10Error,
    Cifar10Layout,
    check_member_size,
    read_batch,
    read_split,
)

TINY = Cifar10Layout(records_per_file=4)


def test_real_layout_sizes() -> None:
    layout = Cifar10Layout()
    assert layout.record_bytes == 3073 and layout.file_bytes == 30_730_000
    assert len(layout.required_files) == 7
    with pytest.raises(ValueError, match="records_per_file"):
        Cifar10Layout(records_per_file=0)


def test_read_split_keeps_file_order_and_planes(tmp_path: Path) -> None:
    records = np.arange(2 * TINY.file_bytes, dtype=np.uint64).astype(np.uint8)
    records = records.reshape(2, TINY.records_per_file, TINY.record_bytes)
    records[..., 0] = [[0, 1, 2, 3], [9, 8, 7, 6]]
    for name, payload in zip(("a.bin", "b.bin"), records):
        (tmp_path / name).write_bytes(payload.tobytes())
    images, labels = read_split(tmp_path, ("a.bin", "b.bin"), TINY)
    assert labels.tolist() == [0, 1, 2, 3, 9, 8, 7, 6] and labels.dtype == np.int64
    assert images.shape == (8, 3, 32, 32) and images.dtype == np.uint8
    assert images[5, 2, 5, 7] == records[1, 1, 1 + 2 * 1024 + 5 * 32 + 7]


def test_read_batch_refuses_a_bad_label(tmp_path: Path) -> None:
    raw = np.zeros((TINY.records_per_file, TINY.record_bytes), np.uint8)
    raw[2, 0] = 10
    (tmp_path / "x.bin").write_bytes(raw.tobytes())
    images = np.empty((TINY.records_per_file, 3, 32, 32), np.uint8)
    with pytest.raises(Cifar10Error, match=r"label 10 at record 2 \(1 bad records\)"):
        read_batch(tmp_path / "x.bin", TINY, images, np.empty(TINY.records_per_file, np.int64))


def test_members_the_format_allows() -> None:
    archive = Path("a.tar.gz")
    check_member_size("test_batch.bin", TINY.file_bytes, TINY, archive)
    check_member_size("batches.meta.txt", 4096, TINY, archive)
    check_member_size("readme.html", 1 << 20, TINY, archive)
    with pytest.raises(Cifar10Error, match="must have exactly 12,292"):
        check_member_size("test_batch.bin", TINY.file_bytes + 1, TINY, archive)
    with pytest.raises(Cifar10Error, match="at most 4,096 expected"):
        check_member_size("batches.meta.txt", 4097, TINY, archive)
    with pytest.raises(Cifar10Error, match="unexpected file cifar-10-batches-bin/x.py"):
        check_member_size("x.py", 1, TINY, archive)
