"""The CIFAR-10 binary format: what the official distribution is, and reading its files.

This module owns the format and nothing about where files live: the distribution's names,
URL and MD5; the layout of the ``.bin`` files (:class:`Cifar10Layout`); which files the
unpacked folder holds and how large each may be (:func:`check_member_size`, used while
extracting); and reading and checking the files with NumPy only (:func:`read_class_names`,
:func:`read_split`). Each ``.bin`` file is a run of records of 1 label byte followed by
3,072 pixel bytes (the red, green and blue 32x32 planes); nothing is ever unpickled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

ARCHIVE_NAME = "cifar-10-binary.tar.gz"  # file name of the official binary archive
FOLDER_NAME = "cifar-10-batches-bin"  # the folder the archive unpacks to
OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
OFFICIAL_PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
OFFICIAL_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # published on the official page
_OPTIONAL_FILES = {"readme.html": 1 << 20}  # in the official archive; name -> max bytes
_META_MAX_BYTES = 4096


class Cifar10Error(RuntimeError):
    """The CIFAR-10 data is missing, damaged or not what it claims to be (message says why)."""


@dataclass(frozen=True)
class Cifar10Layout:
    """The binary format's layout; tests shrink ``records_per_file`` to build tiny archives."""

    records_per_file: int = 10000  # images in each .bin file
    num_classes: int = 10  # labels run from 0 to num_classes - 1
    channels: int = 3  # colour planes stored one after another (R, G, B)
    height: int = 32  # pixels
    width: int = 32  # pixels
    train_files: tuple[str, ...] = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
    test_file: str = "test_batch.bin"
    meta_file: str = "batches.meta.txt"  # class names, one per line, line i+1 = label i

    def __post_init__(self) -> None:
        if self.records_per_file < 1:
            raise ValueError(f"records_per_file must be >= 1, got {self.records_per_file}")

    @property
    def image_bytes(self) -> int:
        """Pixel bytes of one image (3 x 32 x 32 = 3,072)."""
        return self.channels * self.height * self.width

    @property
    def record_bytes(self) -> int:
        """One record: 1 label byte + the pixel bytes (3,073)."""
        return 1 + self.image_bytes

    @property
    def file_bytes(self) -> int:
        """Exact size of each .bin file (30,730,000 for the real data)."""
        return self.records_per_file * self.record_bytes

    @property
    def bin_files(self) -> tuple[str, ...]:
        return (*self.train_files, self.test_file)

    @property
    def required_files(self) -> tuple[str, ...]:
        return (*self.bin_files, self.meta_file)


def check_member_size(name: str, size: int, layout: Cifar10Layout, archive: Path) -> None:
    """Refuse a file ``name`` of ``size`` bytes in ``archive`` that the format does not allow."""
    if name in layout.bin_files:
        expected = layout.file_bytes
        if size != expected:
            raise Cifar10Error(
                f"In the archive {archive}, {name} has {size:,} bytes but must have exactly "
                f"{expected:,} ({layout.records_per_file:,} records of "
                f"{layout.record_bytes:,} bytes), so the archive is damaged or not the "
                f"CIFAR-10 binary version. Delete it and get {ARCHIVE_NAME} again from "
                f"{OFFICIAL_PAGE}."
            )
        return
    limit = _META_MAX_BYTES if name == layout.meta_file else _OPTIONAL_FILES.get(name)
    if limit is None:
        raise Cifar10Error(
            f"The archive {archive} holds an unexpected file {FOLDER_NAME}/{name}; the "
            f"CIFAR-10 binary archive holds only {', '.join(layout.required_files)} (and "
            f"readme.html), so nothing was extracted. Delete the archive and get "
            f"{ARCHIVE_NAME} again from {OFFICIAL_PAGE}."
        )
    if size > limit:
        raise Cifar10Error(
            f"In the archive {archive}, {name} has {size:,} bytes (at most {limit:,} "
            f"expected), so the archive is not the CIFAR-10 binary version. Delete it and "
            f"get {ARCHIVE_NAME} again from {OFFICIAL_PAGE}."
        )


def _fix_folder(folder: Path) -> str:
    return (f"Delete the folder {folder} and load again: it is re-extracted from "
            f"{ARCHIVE_NAME} (in the data directory or a BMLIB_DATA_MIRRORS folder).")


def read_batch(path: Path, layout: Cifar10Layout, images_out: np.ndarray,
               labels_out: np.ndarray) -> None:
    """Read one ``.bin`` file into the given slices (uint8 images, int64 labels).

    Raises :class:`Cifar10Error` when the size is not exact or a label is out of range.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise Cifar10Error(
            f"The CIFAR-10 file {path} is missing. {_fix_folder(path.parent)}"
        ) from None
    if size != layout.file_bytes:
        raise Cifar10Error(
            f"The CIFAR-10 file {path} has {size:,} bytes but must have exactly "
            f"{layout.file_bytes:,} ({layout.records_per_file:,} records of "
            f"{layout.record_bytes:,} bytes); it is truncated or not in the binary format. "
            f"{_fix_folder(path.parent)}"
        )
    raw = np.fromfile(path, dtype=np.uint8).reshape(layout.records_per_file,
                                                    layout.record_bytes)
    labels = raw[:, 0]
    bad = np.flatnonzero(labels >= layout.num_classes)
    if bad.size:
        raise Cifar10Error(
            f"The CIFAR-10 file {path} has label {int(labels[bad[0]])} at record "
            f"{int(bad[0])} ({bad.size} bad records); labels must be 0 to "
            f"{layout.num_classes - 1}, so the file is damaged or not CIFAR-10. "
            f"{_fix_folder(path.parent)}"
        )
    labels_out[...] = labels
    images_out[...] = raw[:, 1:].reshape(images_out.shape)


def read_class_names(path: Path, layout: Cifar10Layout) -> tuple[str, ...]:
    """The class names from ``batches.meta.txt`` (one per line; blank lines ignored)."""
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise Cifar10Error(
            f"The class-names file {path} cannot be read ({type(exc).__name__}). "
            f"{_fix_folder(Path(path).parent)}"
        ) from None
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != layout.num_classes or len(set(names)) != len(names):
        raise Cifar10Error(
            f"The class-names file {path} must hold {layout.num_classes} different names, "
            f"one per line, but holds {len(names)}: {list(names)}. "
            f"{_fix_folder(Path(path).parent)}"
        )
    return names


def read_split(folder: Path, files: Sequence[str], layout: Cifar10Layout,
               ) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels of ``files`` in ``folder``, in that order, each read once."""
    n = layout.records_per_file * len(files)
    images = np.empty((n, layout.channels, layout.height, layout.width), dtype=np.uint8)
    labels = np.empty(n, dtype=np.int64)
    for i, name in enumerate(files):
        rows = slice(i * layout.records_per_file, (i + 1) * layout.records_per_file)
        read_batch(folder / name, layout, images[rows], labels[rows])
    return images, labels
