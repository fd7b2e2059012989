"""A sidecar cache of file digests, so a large archive is hashed once, not on every load.

This module owns the cache file's format (JSON: ``"<path>|<size>|<mtime_ns>"`` ->
``{"sha256", "md5"}``) and nothing else; the hashing itself is
:func:`bmlib.core.files.file_digests` and the write is :func:`bmlib.core.files.atomic_write`.
"""

from __future__ import annotations

import json
from pathlib import Path

from bmlib.core.files import atomic_write, file_digests

CHECKSUM_CACHE_NAME = ".bmlib-checksums.json"  # the cache's file name in a data directory


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
    digests = file_digests(path, ("sha256", "md5"))
    cache = {k: v for k, v in cache.items() if not k.startswith(f"{path}|")}
    cache[key] = digests
    try:
        with atomic_write(cache_file, "w") as handle:
            json.dump(cache, handle, indent=1, sort_keys=True)
    except OSError:
        pass
    return digests
