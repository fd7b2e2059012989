"""CIFAR-10 as NumPy arrays: the loader the chapters call, and what it returns.

This module owns loading: it resolves the data directory and the mirror folders once, then
decides what to do in this order (see :func:`load_cifar10`): read the extracted folder
``cifar-10-batches-bin/`` in the data directory; else extract the archive
``cifar-10-binary.tar.gz`` found in the data directory or in a read-only mirror folder
(``BMLIB_DATA_MIRRORS``); else download it from the official page. The work is done by
:mod:`bmlib.data.cifar10_format` (the binary layout, reading and checking the files),
:mod:`bmlib.data.archives` (finding, downloading, safely extracting the archive) and
:mod:`bmlib.data.cifar10_provenance` (which archive the data came from), each handed the
resolved paths.

The arrays are held once as uint8 (the training set takes about 150 MB; no float copy is
made here); :func:`record_source` puts their origin on a run card.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from bmlib.core.paths import data_dir as default_data_dir
from bmlib.core.paths import mirror_dirs as default_mirror_dirs
from bmlib.data.archives import (
    Cifar10DownloadError,
    download_archive,
    extract_archive,
    find_archive,
    missing_data_message,
)
from bmlib.data.cifar10_format import (
    FOLDER_NAME,
    OFFICIAL_MD5,
    OFFICIAL_URL,
    Cifar10Error,
    Cifar10Layout,
    read_batch,
    read_class_names,
    read_split,
)
from bmlib.data.cifar10_provenance import ArchiveInfo, archive_provenance, folder_provenance
from bmlib.data.digest_cache import CHECKSUM_CACHE_NAME

__all__ = [
    "ArchiveInfo", "CLASS_NAMES", "Cifar10", "Cifar10Error", "Cifar10Layout",
    "load_cifar10", "read_batch", "read_class_names", "record_source",
]

# The official class names, label 0 first (the loader reads them from batches.meta.txt).
CLASS_NAMES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)


class RecordsDataFiles(Protocol):
    """What :func:`record_source` needs of a run recorder (``bmlib.book.runcard.RunRecorder``)."""

    def record_data_file(self, path: str | Path, note: str = "",
                         sha256: str | None = None) -> Any: ...


@dataclass(frozen=True, eq=False)
class Cifar10:
    """The whole data set, channel-planar uint8 images and int64 labels (each array owns
    its memory: no view keeps the label bytes or a second copy alive)."""

    train_images: np.ndarray  # uint8, (50000, 3, 32, 32): N, channel (R,G,B), row, column
    train_labels: np.ndarray  # int64, (50000,), values 0..9
    test_images: np.ndarray  # uint8, (10000, 3, 32, 32)
    test_labels: np.ndarray  # int64, (10000,)
    class_names: tuple[str, ...]  # from batches.meta.txt, label i = class_names[i]
    source: ArchiveInfo  # which archive / folder the arrays came from


def read_folder(folder: Path, layout: Cifar10Layout, source: ArchiveInfo) -> Cifar10:
    """Read and check an extracted ``cifar-10-batches-bin`` folder."""
    class_names = read_class_names(folder / layout.meta_file, layout)
    train_images, train_labels = read_split(folder, layout.train_files, layout)
    test_images, test_labels = read_split(folder, (layout.test_file,), layout)
    return Cifar10(train_images, train_labels, test_images, test_labels, class_names, source)


def _resolve_places(data_dir: str | Path | None,
                    mirrors: Sequence[str | Path] | None) -> tuple[Path, list[Path]]:
    """The data directory and the mirror folders, absolute: the only place they are worked
    out (defaults from ``bmlib.core.paths``); everything else is handed them."""
    root = Path(data_dir).expanduser().resolve() if data_dir is not None \
        else default_data_dir()
    mirror_list = ([Path(m).expanduser().resolve() for m in mirrors] if mirrors is not None
                   else default_mirror_dirs())
    return root, mirror_list


def load_cifar10(data_dir: str | Path | None = None,
                 mirrors: Sequence[str | Path] | None = None, download: bool = True, *,
                 url: str = OFFICIAL_URL, md5: str = OFFICIAL_MD5,
                 layout: Cifar10Layout = Cifar10Layout(),
                 timeout_s: float = 60.0, quiet: bool = False) -> Cifar10:
    """Load CIFAR-10 (binary version), extracting or downloading it first when needed.

    ``data_dir`` (default ``bmlib.core.paths.data_dir()``) is writable: the archive is extracted
    there. ``mirrors`` (default ``bmlib.core.paths.mirror_dirs()``) are read-only folders
    searched for the archive. With ``download`` the archive is fetched from ``url`` and
    checked against ``md5`` when found nowhere (``timeout_s``: network timeout). ``quiet``
    hides the progress bars of download and extraction. ``layout`` describes the files
    (tests use tiny ones). Raises :class:`Cifar10Error` with a message
    saying what is wrong and how to fix it.
    """
    root, mirror_list = _resolve_places(data_dir, mirrors)
    cache_file = root / CHECKSUM_CACHE_NAME
    folder = root / FOLDER_NAME
    if folder.is_dir():
        return read_folder(folder, layout, folder_provenance(folder, layout, cache_file))
    archive = find_archive(root, mirror_list)
    if archive is None:
        if not download:
            raise Cifar10Error(missing_data_message(
                root, mirror_list, url, "Downloading was switched off (download=False)."))
        try:
            archive = download_archive(root, url=url, md5=md5, timeout_s=timeout_s,
                                       quiet=quiet)
        except Cifar10DownloadError as exc:
            raise Cifar10Error(missing_data_message(
                root, mirror_list, url, f"The download from {url} failed ({exc}).")) from None
    info, provenance = archive_provenance(archive, cache_file, folder)
    extract_archive(archive, root, layout, provenance, quiet)
    return read_folder(folder, layout, info)


def record_source(run: RecordsDataFiles, data: Cifar10) -> None:
    """Record the data's archive (or, without one, each extracted file) on a run card.

    ``run`` is a :class:`bmlib.book.runcard.RunRecorder`; the archive's cached SHA-256 is passed
    so it is not hashed again.
    """
    source = data.source
    if source.path is not None and Path(source.path).is_file():
        run.record_data_file(source.path, note=source.note, sha256=source.sha256)
        return
    folder = Path(source.extracted_dir)
    for f in sorted(p for p in folder.iterdir() if not p.name.startswith(".")):
        run.record_data_file(f, note=source.note)
