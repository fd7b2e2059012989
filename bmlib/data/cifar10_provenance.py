"""Where loaded CIFAR-10 data came from: which archive, and whether it is the official one.

This module owns provenance: the :class:`ArchiveInfo` a loaded data set carries; the record
``.bmlib-source.json`` written into an extracted folder (:func:`write_provenance`) and read
back while the files are unchanged (:func:`read_provenance`); and telling the official
archive, the team's shared copy and anything else apart from their digests
(:func:`describe_archive`), for an archive or for a folder unpacked by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bmlib.data.cifar10_format import OFFICIAL_MD5, Cifar10Layout
from bmlib.data.digest_cache import cached_digests

PROVENANCE_NAME = ".bmlib-source.json"  # written inside the extracted folder

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


@dataclass(frozen=True)
class ArchiveInfo:
    """Where the loaded data came from."""

    path: str | None  # archive file used (None: only an extracted folder was found)
    sha256: str | None  # SHA-256 of that archive (None when unknown)
    official: bool  # True when the archive's MD5 equals the official MD5
    note: str  # provenance remark, shown on run cards
    extracted_dir: str  # the folder the arrays were read from


def describe_archive(sha256: str, md5: str) -> tuple[bool, str]:
    """(official, note) for an archive with these digests."""
    if md5 == OFFICIAL_MD5:
        return True, "official CIFAR-10 binary archive (MD5 matches the official page)"
    if sha256 == SHARED_COPY_SHA256:
        return False, SHARED_COPY_NOTE
    return False, (f"unrecognised archive (MD5 {md5} is not the official "
                   f"{OFFICIAL_MD5}); its structure was verified, its pixels were not")


def write_provenance(folder: Path, record: dict) -> None:
    """Write ``record`` (JSON-able) into ``folder``, with the size and mtime of its files."""
    record = dict(record)
    record["files"] = {f.name: [f.stat().st_size, f.stat().st_mtime_ns]
                       for f in sorted(folder.iterdir())}
    (folder / PROVENANCE_NAME).write_text(json.dumps(record, indent=1), encoding="utf-8")


def read_provenance(folder: Path) -> dict | None:
    """The provenance written at extraction, if present and the files are unchanged since."""
    try:
        record = json.loads((folder / PROVENANCE_NAME).read_text(encoding="utf-8"))
        files = record["files"]
        for name, (size, mtime_ns) in files.items():
            stat = (folder / name).stat()
            if stat.st_size != size or stat.st_mtime_ns != mtime_ns:
                return None
        return record
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def archive_provenance(archive: Path, cache_file: Path,
                       extracted: Path) -> tuple[ArchiveInfo, dict]:
    """The :class:`ArchiveInfo` of data extracted from ``archive`` into ``extracted``, and
    the record to write into that folder (archive path, SHA-256, MD5)."""
    digests = cached_digests(archive, cache_file)
    official, note = describe_archive(digests["sha256"], digests["md5"])
    path = str(archive.resolve())
    info = ArchiveInfo(path, digests["sha256"], official, note, str(extracted))
    return info, {"archive": path, "sha256": digests["sha256"], "md5": digests["md5"]}


def _unpacked_by_hand_info(folder: Path, layout: Cifar10Layout,
                           cache_file: Path) -> ArchiveInfo:
    """Provenance of a folder without the loader's record: compare per-file SHA-256s."""
    note = ("extracted folder found without a record of its archive; cannot tell whether "
            "it is the official data")
    sizes_ok = all((folder / n).is_file() for n in layout.required_files) and all(
        (folder / n).stat().st_size == layout.file_bytes for n in layout.bin_files)
    if sizes_ok:  # (a broken folder is reported by the reader with a clear message)
        hashes = {n: cached_digests(folder / n, cache_file)["sha256"]
                  for n in layout.required_files}
        if hashes == SHARED_COPY_FILES_SHA256:
            note = SHARED_COPY_NOTE + " (recognised by the SHA-256 of its unpacked files)"
    return ArchiveInfo(None, None, False, note, str(folder))


def folder_provenance(folder: Path, layout: Cifar10Layout, cache_file: Path) -> ArchiveInfo:
    """The :class:`ArchiveInfo` of an extracted folder: from its record, else its files."""
    record = read_provenance(folder)
    if record is None:
        return _unpacked_by_hand_info(folder, layout, cache_file)
    sha256, md5 = record.get("sha256"), record.get("md5")
    official, note = describe_archive(str(sha256), str(md5))
    path = record.get("archive")
    return ArchiveInfo(path if path and Path(path).is_file() else None,
                       sha256, official, note, str(folder))
