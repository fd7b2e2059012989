"""CIFAR-10 binary archive: find it, download it, verify it, extract it safely.

The archive is the official "CIFAR-10 binary version" (``cifar-10-binary.tar.gz``). It is
looked for in the writable data directory first, then in read-only mirror folders, and only
then downloaded. Extraction never uses ``tarfile``'s own extract: every member is checked
against the expected layout and its bytes are copied into a temporary folder inside the data
directory, which is renamed into place in one step, so a failed extraction leaves nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator

from bmlib.core.files import atomic_write, file_digests
from bmlib.core.progress import progress

ARCHIVE_NAME = "cifar-10-binary.tar.gz"  # file name of the official binary archive
FOLDER_NAME = "cifar-10-batches-bin"  # the folder the archive unpacks to
OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
OFFICIAL_PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
OFFICIAL_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # published on the official page
CHECKSUM_CACHE_NAME = ".bmlib-checksums.json"  # sidecar cache of archive digests
PROVENANCE_NAME = ".bmlib-source.json"  # written inside the extracted folder
_EXTRACT_PREFIX = ".cifar-10-extract-"
_DOWNLOAD_PREFIX = ".cifar-10-download-"
_STALE_TEMP_S = 3600.0  # temporary folders older than this are leftovers of a killed run
_CHUNK_BYTES = 1 << 20
_OPTIONAL_FILES = {"readme.html": 1 << 20}  # in the official archive; name -> max bytes
_META_MAX_BYTES = 4096
_MAX_MEMBERS = 64  # the real archive has 8 members; more means it is not CIFAR-10


class Cifar10Error(RuntimeError):
    """The CIFAR-10 data is missing, damaged or not what it claims to be (message says why)."""


class Cifar10DownloadError(Cifar10Error):
    """The download could not be made (network, server); the message says why."""


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


@dataclass(frozen=True)
class ArchiveInfo:
    """Where the loaded data came from."""

    path: str | None  # archive file used (None: only an extracted folder was found)
    sha256: str | None  # SHA-256 of that archive (None when unknown)
    official: bool  # True when the archive's MD5 equals the official MD5
    note: str  # provenance remark, shown on run cards
    extracted_dir: str  # the folder the arrays were read from


# --------------------------------------------------------------------------- checksums

def _digests(path: Path) -> dict[str, str]:
    """SHA-256 and MD5 of a file in one streamed pass."""
    return file_digests(path, ("sha256", "md5"))


def cached_digests(path: str | Path, cache_file: str | Path) -> dict[str, str]:
    """SHA-256 and MD5 of ``path``, reusing ``cache_file`` entries keyed by path, size, mtime.

    A cache that cannot be read is ignored and one that cannot be written is skipped: the
    cache only saves time, it never decides anything.
    """
    path = Path(path).resolve()
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    cache_file = Path(cache_file)
    try:
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
        if not isinstance(cache, dict):
            cache = {}
    except (OSError, ValueError):
        cache = {}
    entry = cache.get(key)
    if isinstance(entry, dict) and {"sha256", "md5"} <= entry.keys():
        return {"sha256": str(entry["sha256"]), "md5": str(entry["md5"])}
    digests = _digests(path)
    cache = {k: v for k, v in cache.items() if not k.startswith(f"{path}|")}
    cache[key] = digests
    try:
        with atomic_write(cache_file, "w") as handle:
            json.dump(cache, handle, indent=1, sort_keys=True)
    except OSError:
        pass
    return digests


# --------------------------------------------------------------------------- finding

def find_archive(data_dir: Path, mirrors: list[Path]) -> Path | None:
    """The archive in the data directory, else the first one in a mirror folder, else None."""
    for folder in [data_dir, *mirrors]:
        candidate = Path(folder) / ARCHIVE_NAME
        if candidate.is_file():
            return candidate
    return None


def writable_data_dir(data_dir: Path, needed_mb: int) -> Path:
    """Create ``data_dir`` if needed; raise :class:`Cifar10Error` when it cannot be."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Cifar10Error(_not_writable(data_dir, needed_mb, exc)) from None
    return data_dir


def _not_writable(data_dir: Path, needed_mb: int, exc: OSError) -> str:
    return (f"Cannot write into the data directory {data_dir} ({type(exc).__name__}: "
            f"{exc.strerror or exc}). CIFAR-10 needs about {needed_mb} MB there. Point "
            f"BMLIB_DATA_DIR at a writable folder with enough free space (read-only copies "
            f"of the archive belong in BMLIB_DATA_MIRRORS, not in BMLIB_DATA_DIR).")


# --------------------------------------------------------------------------- download

def _chunks(response, size: int) -> Iterator[bytes]:
    while True:
        chunk = response.read(size)
        if not chunk:
            return
        yield chunk


def download_archive(data_dir: Path, url: str = OFFICIAL_URL, md5: str = OFFICIAL_MD5,
                     timeout_s: float = 60.0, quiet: bool = False) -> Path:
    """Download the archive into ``data_dir`` and check its MD5; return its path.

    The bytes are streamed to a temporary file beside the target, which is renamed into
    place only after the MD5 matched, so an interrupted download leaves nothing behind.
    Network errors raise :class:`Cifar10DownloadError` (the caller adds where to put the
    file); a wrong MD5 raises :class:`Cifar10Error`.
    """
    writable_data_dir(data_dir, 175)
    remove_stale_temps(data_dir)
    target = data_dir / ARCHIVE_NAME
    try:
        fd, tmp_name = tempfile.mkstemp(dir=data_dir, prefix=_DOWNLOAD_PREFIX, suffix=".part")
    except OSError as exc:
        raise Cifar10Error(_not_writable(data_dir, 175, exc)) from None
    tmp = Path(tmp_name)
    digest = hashlib.md5()
    try:
        with os.fdopen(fd, "wb") as out:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                length = int(response.headers.get("Content-Length") or 0)
                total = -(-length // _CHUNK_BYTES) if length else None
                for chunk in progress(_chunks(response, _CHUNK_BYTES), total=total,
                                      desc=f"download {ARCHIVE_NAME} (MiB)",
                                      disable=quiet):
                    out.write(chunk)
                    digest.update(chunk)
        if digest.hexdigest() != md5:
            raise Cifar10Error(
                f"The file downloaded from {url} has MD5 {digest.hexdigest()}, but "
                f"{md5} was expected, so it is damaged or not the CIFAR-10 binary archive; "
                f"it was deleted. Try again later, or download {ARCHIVE_NAME} by hand from "
                f"{OFFICIAL_PAGE} and put it into {data_dir}."
            )
        os.replace(tmp, target)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise Cifar10DownloadError(f"{type(exc).__name__}: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


# --------------------------------------------------------------------------- extraction

def _member_name(member: tarfile.TarInfo, archive: Path) -> str | None:
    """The file name inside the folder for a safe member, None for the folder entry itself."""
    def hostile(why: str) -> Cifar10Error:
        return Cifar10Error(
            f"The archive {archive} holds a member {member.name!r} that {why}; a genuine "
            f"CIFAR-10 binary archive never does, so nothing was extracted. Delete the "
            f"archive and get {ARCHIVE_NAME} again from {OFFICIAL_PAGE}."
        )
    raw = member.name
    if raw.startswith(("/", "\\")) or (len(raw) > 1 and raw[1] == ":"):
        raise hostile("has an absolute path")
    parts = PurePosixPath(raw.replace("\\", "/")).parts
    if ".." in parts:
        raise hostile("climbs out of the folder with '..'")
    if member.issym() or member.islnk():
        raise hostile("is a link")
    if member.isdev() or member.isfifo():
        raise hostile("is a device or fifo")
    if not parts or parts[0] != FOLDER_NAME or len(parts) > 2:
        raise hostile(f"lies outside the folder {FOLDER_NAME}/")
    if len(parts) == 1:
        if not member.isdir():
            raise hostile("is not a folder")
        return None
    if not member.isfile():
        raise hostile("is neither a regular file nor a folder")
    return parts[1]


def _check_member_size(name: str, size: int, layout: Cifar10Layout, archive: Path) -> None:
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


def _copy_members(archive: Path, dest: Path, layout: Cifar10Layout,
                  quiet: bool = False) -> None:
    """Validate every member and copy the regular files' bytes into ``dest``."""
    seen: set[str] = set()
    with tarfile.open(archive, mode="r|gz") as tar:
        for count, member in enumerate(progress(tar, desc=f"extract {archive.name}",
                                                total=len(layout.required_files) + 1,
                                                disable=quiet)):
            if count >= _MAX_MEMBERS:
                raise Cifar10Error(
                    f"The archive {archive} holds more than {_MAX_MEMBERS} members; the "
                    f"CIFAR-10 binary archive holds 8, so nothing was extracted. Delete it "
                    f"and get {ARCHIVE_NAME} again from {OFFICIAL_PAGE}."
                )
            name = _member_name(member, archive)
            if name is None:
                continue
            if name in seen:
                raise Cifar10Error(
                    f"The archive {archive} holds {FOLDER_NAME}/{name} twice; a genuine "
                    f"CIFAR-10 archive does not. Delete it and get {ARCHIVE_NAME} again "
                    f"from {OFFICIAL_PAGE}."
                )
            seen.add(name)
            _check_member_size(name, member.size, layout, archive)
            source = tar.extractfile(member)
            assert source is not None  # a regular file always has a stream
            written = 0
            try:
                out = open(dest / name, "xb")
            except OSError as exc:
                raise Cifar10Error(_not_writable(dest.parent.parent, 185, exc)) from None
            with out:
                for chunk in iter(lambda: source.read(_CHUNK_BYTES), b""):
                    try:
                        out.write(chunk)
                    except OSError as exc:  # disk full: a writing problem, not the archive's
                        raise Cifar10Error(_not_writable(dest.parent.parent, 185, exc)) \
                            from None
                    written += len(chunk)
            if written != member.size:
                raise EOFError(f"{name}: {written} of {member.size} bytes")
    missing = [f for f in layout.required_files if f not in seen]
    if missing:
        raise Cifar10Error(
            f"The archive {archive} lacks {', '.join(missing)} in {FOLDER_NAME}/, so it "
            f"is incomplete. Delete it and get {ARCHIVE_NAME} again from {OFFICIAL_PAGE}."
        )


def remove_stale_temps(data_dir: Path) -> None:
    """Remove temporary folders/files that a killed run left (untouched for an hour)."""
    now = time.time()
    for pattern in (f"{_EXTRACT_PREFIX}*", f"{_DOWNLOAD_PREFIX}*.part"):
        for leftover in data_dir.glob(pattern):
            try:
                if now - leftover.stat().st_mtime > _STALE_TEMP_S:
                    if leftover.is_dir():
                        shutil.rmtree(leftover, ignore_errors=True)
                    else:
                        leftover.unlink()
            except OSError:
                pass


def extract_archive(archive: Path, data_dir: Path, layout: Cifar10Layout,
                    provenance: dict | None = None, quiet: bool = False) -> Path:
    """Extract ``archive`` into ``data_dir / FOLDER_NAME`` atomically; return that folder.

    Members are validated (no absolute paths, ``..``, links, devices, fifos or unexpected
    files; exact sizes) while their bytes are copied into a temporary folder inside
    ``data_dir``, which is renamed into place only when everything was read. ``provenance``
    (JSON-able) is written into the folder as ``.bmlib-source.json``.
    """
    writable_data_dir(data_dir, 185)
    remove_stale_temps(data_dir)
    target = data_dir / FOLDER_NAME
    try:
        tmp_root = Path(tempfile.mkdtemp(dir=data_dir, prefix=_EXTRACT_PREFIX))
    except OSError as exc:
        raise Cifar10Error(_not_writable(data_dir, 185, exc)) from None
    try:
        staged = tmp_root / FOLDER_NAME
        staged.mkdir()
        try:
            _copy_members(archive, staged, layout, quiet)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise Cifar10Error(
                f"The archive {archive} could not be read to the end ({type(exc).__name__}: "
                f"{exc}); it is truncated, damaged or not a .tar.gz file. Nothing was "
                f"extracted. Delete it and get {ARCHIVE_NAME} again from {OFFICIAL_PAGE}."
            ) from None
        if provenance is not None:
            record = dict(provenance)
            record["files"] = {f.name: [f.stat().st_size, f.stat().st_mtime_ns]
                               for f in sorted(staged.iterdir())}
            (staged / PROVENANCE_NAME).write_text(json.dumps(record, indent=1),
                                                  encoding="utf-8")
        try:
            os.replace(staged, target)
        except OSError:
            if not target.is_dir():  # someone else finishing first is fine; anything else not
                raise
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return target


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
