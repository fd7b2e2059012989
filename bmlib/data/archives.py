"""Getting the CIFAR-10 archive onto disk and unpacked: find it, download it, extract it.

This module owns the archive as a file: finding ``cifar-10-binary.tar.gz`` in the data
directory or a read-only mirror folder (:func:`find_archive`; :func:`missing_data_message`
says where it looked when it is nowhere), downloading it with an MD5 check
(:func:`download_archive`), and extracting it safely (:func:`extract_archive`). It is handed
the resolved data directory and never works out a path of its own.

Extraction never uses ``tarfile``'s own extract: every member is checked (no absolute
paths, ``..``, links, devices or fifos, nothing outside the one folder, and what
:func:`bmlib.data.cifar10_format.check_member_size` allows) while its bytes are copied into
a temporary folder inside the data directory, which is renamed into place in one step, so
a failed extraction leaves nothing. A download is streamed to a temporary file renamed into
place only after its MD5 matched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path, PurePosixPath
from typing import Iterator

from bmlib.core.progress import progress
from bmlib.data.cifar10_format import (
    ARCHIVE_NAME,
    FOLDER_NAME,
    OFFICIAL_MD5,
    OFFICIAL_PAGE,
    OFFICIAL_URL,
    Cifar10Error,
    Cifar10Layout,
    check_member_size,
)
from bmlib.data.cifar10_provenance import write_provenance

_EXTRACT_PREFIX = ".cifar-10-extract-"
_DOWNLOAD_PREFIX = ".cifar-10-download-"
_STALE_TEMP_S = 3600.0  # temporary folders older than this are leftovers of a killed run
_CHUNK_BYTES = 1 << 20
_MAX_MEMBERS = 64  # the real archive has 8 members; more means it is not CIFAR-10
_DOWNLOAD_MB = 175  # space a download needs in the data directory
_EXTRACT_MB = 185  # space an extraction needs there


class Cifar10DownloadError(Cifar10Error):
    """The download could not be made (network, server); the message says why."""


# --------------------------------------------------------------------------- the data dir

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
    writable_data_dir(data_dir, _DOWNLOAD_MB)
    remove_stale_temps(data_dir)
    target = data_dir / ARCHIVE_NAME
    try:
        fd, tmp_name = tempfile.mkstemp(dir=data_dir, prefix=_DOWNLOAD_PREFIX, suffix=".part")
    except OSError as exc:
        raise Cifar10Error(_not_writable(data_dir, _DOWNLOAD_MB, exc)) from None
    tmp = Path(tmp_name)
    digest = hashlib.md5()  # hashed while streaming: the bytes are read only once
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


def _copy_members(archive: Path, dest: Path, layout: Cifar10Layout, data_dir: Path,
                  quiet: bool = False) -> None:
    """Validate every member and copy the regular files' bytes into ``dest`` (a temporary
    folder inside ``data_dir``, which write errors name)."""
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
            check_member_size(name, member.size, layout, archive)
            source = tar.extractfile(member)
            assert source is not None  # a regular file always has a stream
            written = 0
            try:
                out = open(dest / name, "xb")
            except OSError as exc:
                raise Cifar10Error(_not_writable(data_dir, _EXTRACT_MB, exc)) from None
            with out:
                for chunk in iter(lambda: source.read(_CHUNK_BYTES), b""):
                    try:
                        out.write(chunk)
                    except OSError as exc:  # disk full: a writing problem, not the archive's
                        raise Cifar10Error(_not_writable(data_dir, _EXTRACT_MB, exc)) \
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


def extract_archive(archive: Path, data_dir: Path, layout: Cifar10Layout,
                    provenance: dict | None = None, quiet: bool = False) -> Path:
    """Extract ``archive`` into ``data_dir / FOLDER_NAME`` atomically; return that folder.

    Members are validated while their bytes are copied into a temporary folder inside
    ``data_dir``, which is renamed into place only when everything was read. ``provenance``
    (JSON-able) is written into the folder first
    (:func:`bmlib.data.cifar10_provenance.write_provenance`).
    """
    writable_data_dir(data_dir, _EXTRACT_MB)
    remove_stale_temps(data_dir)
    target = data_dir / FOLDER_NAME
    try:
        tmp_root = Path(tempfile.mkdtemp(dir=data_dir, prefix=_EXTRACT_PREFIX))
    except OSError as exc:
        raise Cifar10Error(_not_writable(data_dir, _EXTRACT_MB, exc)) from None
    try:
        staged = tmp_root / FOLDER_NAME
        staged.mkdir()
        try:
            _copy_members(archive, staged, layout, data_dir, quiet)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise Cifar10Error(
                f"The archive {archive} could not be read to the end ({type(exc).__name__}: "
                f"{exc}); it is truncated, damaged or not a .tar.gz file. Nothing was "
                f"extracted. Delete it and get {ARCHIVE_NAME} again from {OFFICIAL_PAGE}."
            ) from None
        if provenance is not None:
            write_provenance(staged, provenance)
        try:
            os.replace(staged, target)
        except OSError:
            if not target.is_dir():  # someone else finishing first is fine; anything else not
                raise
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return target
