"""CIFAR-10 as NumPy arrays, read from the official binary distribution.

Each ``.bin`` file is a run of records of 1 label byte followed by 3,072 pixel bytes (the
red, green and blue 32x32 planes). The files are read with NumPy only (nothing is ever
unpickled), checked (exact size, labels in range, ten class names) and held once as uint8:
the training set takes about 150 MB and no float copy is made here.

Data is found in this order (see :func:`load_cifar10`): the extracted folder
``cifar-10-batches-bin/`` in the data directory; the archive ``cifar-10-binary.tar.gz`` in the
data directory or in a read-only mirror folder (``BMLIB_DATA_MIRRORS``); a download from the
official page.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from bmlib.data.cifar10_archive import (
    ARCHIVE_NAME,
    CHECKSUM_CACHE_NAME,
    FOLDER_NAME,
    OFFICIAL_MD5,
    OFFICIAL_PAGE,
    OFFICIAL_URL,
    ArchiveInfo,
    Cifar10DownloadError,
    Cifar10Error,
    Cifar10Layout,
    cached_digests,
    download_archive,
    extract_archive,
    find_archive,
    read_provenance,
)
from bmlib.core.paths import data_dir as default_data_dir
from bmlib.core.paths import mirror_dirs as default_mirror_dirs



class RecordsDataFiles(Protocol):
    """What :func:`record_source` needs of a run recorder (``bmlib.book.runcard.RunRecorder``)."""

    def record_data_file(self, path: str | Path, note: str = "",
                         sha256: str | None = None) -> Any: ...

__all__ = [
    "ArchiveInfo", "CLASS_NAMES", "Cifar10", "Cifar10Error", "Cifar10Layout",
    "load_cifar10", "read_batch", "read_class_names", "record_source",
]

# The official class names, label 0 first (the loader reads them from batches.meta.txt).
CLASS_NAMES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)

# The team's shared copy (see shared/data/README.md): not byte-identical to the official one.
SHARED_COPY_SHA256 = "178e4685ab6df9607ee74fe401fb0a11bf19ffef01481b9856bc3975bb34b419"
SHARED_COPY_NOTE = (
    "shared copy, NOT the byte-official archive: test set exact; training labels, order "
    "and batch split official, but training pixels JPEG-degraded (about 6/255 on average)"
)
# SHA-256 of the shared copy's unpacked files (shared/data/README.md): recognises a folder
# unpacked by hand, without the record this loader writes when it extracts.
SHARED_COPY_FILES_SHA256 = {
    "data_batch_1.bin": "8da035fc1631e8ce5f25904206b8993b0f3ad02a504c0584d662e806fd76c12b",
    "data_batch_2.bin": "106eeaad9f1fa7a999292fdafe68ee909080f58aee038a76994035aedf40ba26",
    "data_batch_3.bin": "99cb88ba00fca88bf28c517a74307b6b78a346c6ea747a561cb8e660c787d5cb",
    "data_batch_4.bin": "76b482bc3bb79c0370e48ea71bb6e4f567a3770d224dc09a9ddc8cfa2369f294",
    "data_batch_5.bin": "490f5ead4f04a3eb71d5898eb551e0d8d2c592feb778fb9b109a006b3f231495",
    "test_batch.bin": "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b",
    "batches.meta.txt": "2ce042b1e0b48db4bb214408e6414ba18b2731c24af244f2d6c112fddf31af00",
}


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


def _read_split(folder: Path, files: Sequence[str], layout: Cifar10Layout,
                ) -> tuple[np.ndarray, np.ndarray]:
    n = layout.records_per_file * len(files)
    images = np.empty((n, layout.channels, layout.height, layout.width), dtype=np.uint8)
    labels = np.empty(n, dtype=np.int64)
    for i, name in enumerate(files):
        rows = slice(i * layout.records_per_file, (i + 1) * layout.records_per_file)
        read_batch(folder / name, layout, images[rows], labels[rows])
    return images, labels


def read_folder(folder: Path, layout: Cifar10Layout, source: ArchiveInfo) -> Cifar10:
    """Read and check an extracted ``cifar-10-batches-bin`` folder."""
    class_names = read_class_names(folder / layout.meta_file, layout)
    train_images, train_labels = _read_split(folder, layout.train_files, layout)
    test_images, test_labels = _read_split(folder, (layout.test_file,), layout)
    return Cifar10(train_images, train_labels, test_images, test_labels, class_names, source)


def describe_archive(sha256: str, md5: str) -> tuple[bool, str]:
    """(official, note) for an archive with these digests."""
    if md5 == OFFICIAL_MD5:
        return True, "official CIFAR-10 binary archive (MD5 matches the official page)"
    if sha256 == SHARED_COPY_SHA256:
        return False, SHARED_COPY_NOTE
    return False, (f"unrecognised archive (MD5 {md5} is not the official "
                   f"{OFFICIAL_MD5}); its structure was verified, its pixels were not")


def missing_data_message(data_dir: Path, mirrors: list[Path], url: str,
                         why: str = "") -> str:
    """The one paragraph shown when no data is anywhere and nothing could be downloaded.

    ``why`` is one sentence on why no download happened.
    """
    looked = ", ".join(str(m) for m in mirrors) or "none set"
    why = f" {why}" if why else ""
    return (
        f"CIFAR-10 was not found.{why} Looked for the folder {data_dir / FOLDER_NAME} and "
        f"the archive {ARCHIVE_NAME} in the data directory {data_dir} (setting "
        f"BMLIB_DATA_DIR) and in the read-only mirror folders ({looked}; setting "
        f"BMLIB_DATA_MIRRORS, folders separated by '{os.pathsep}'). To fix it, either copy "
        f"{ARCHIVE_NAME} into {data_dir}, or set BMLIB_DATA_MIRRORS to a folder that holds "
        f"it (e.g. ../shared/data), or allow the download from {url} "
        f"(official page: {OFFICIAL_PAGE})."
    )


def _archive_info(archive: Path, cache_file: Path, extracted: Path) -> ArchiveInfo:
    digests = cached_digests(archive, cache_file)
    official, note = describe_archive(digests["sha256"], digests["md5"])
    return ArchiveInfo(str(archive.resolve()), digests["sha256"], official, note,
                       str(extracted))


def _unpacked_by_hand_info(folder: Path, layout: Cifar10Layout,
                           cache_file: Path) -> ArchiveInfo:
    """Provenance of a folder without the loader's record: compare per-file SHA-256s."""
    note = ("extracted folder found without a record of its archive; cannot tell whether "
            "it is the official data")
    sizes_ok = all((folder / n).is_file() for n in layout.required_files) and all(
        (folder / n).stat().st_size == layout.file_bytes for n in layout.bin_files)
    if sizes_ok:  # (a broken folder is reported by read_folder with a clear message)
        hashes = {n: cached_digests(folder / n, cache_file)["sha256"]
                  for n in layout.required_files}
        if hashes == SHARED_COPY_FILES_SHA256:
            note = SHARED_COPY_NOTE + " (recognised by the SHA-256 of its unpacked files)"
    return ArchiveInfo(None, None, False, note, str(folder))


def _folder_info(folder: Path, layout: Cifar10Layout, cache_file: Path) -> ArchiveInfo:
    record = read_provenance(folder)
    if record is None:
        return _unpacked_by_hand_info(folder, layout, cache_file)
    sha256, md5 = record.get("sha256"), record.get("md5")
    official, note = describe_archive(str(sha256), str(md5))
    path = record.get("archive")
    return ArchiveInfo(path if path and Path(path).is_file() else None,
                       sha256, official, note, str(folder))


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
    root = Path(data_dir).expanduser().resolve() if data_dir is not None \
        else default_data_dir()
    mirror_list = ([Path(m).expanduser().resolve() for m in mirrors] if mirrors is not None
                   else default_mirror_dirs())
    cache_file = root / CHECKSUM_CACHE_NAME
    folder = root / FOLDER_NAME
    if folder.is_dir():
        return read_folder(folder, layout, _folder_info(folder, layout, cache_file))
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
    info = _archive_info(archive, cache_file, folder)
    provenance = {"archive": str(archive.resolve()), "sha256": info.sha256,
                  "md5": cached_digests(archive, cache_file)["md5"]}
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
