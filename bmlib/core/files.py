"""Files: checksums (streamed, so large archives never sit in memory) and atomic writes."""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

_CHUNK_BYTES = 1 << 20


def file_digests(path: str | Path, algorithms: tuple[str, ...] = ("sha256",)) -> dict[str, str]:
    """Hex digests of a file's bytes, one per algorithm (``sha256``, ``md5``), in one pass."""
    digests = {name: hashlib.new(name) for name in algorithms}
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK_BYTES), b""):
            for digest in digests.values():
                digest.update(chunk)
    return {name: digest.hexdigest() for name, digest in digests.items()}


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes with ``algorithm`` (``sha256`` or ``md5``)."""
    return file_digests(path, (algorithm,))[algorithm]


def sha256_file(path: str | Path) -> str:
    """SHA-256 hex digest of a file."""
    return file_digest(path, "sha256")


@contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Write ``path`` all at once or not at all.

    Yields a handle on a temporary file beside ``path``; on a clean exit it is flushed,
    fsync-ed and renamed over ``path`` (``os.replace`` is atomic on one file system), so a
    reader never sees half a file and a killed writer leaves the old file in place. On an
    exception the temporary file is removed and the exception propagates.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode {mode!r}: use 'wb' or 'w'")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
