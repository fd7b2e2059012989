"""The digest cache: right digests, hashed once per file version, never trusted blindly."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from bmlib.data import digest_cache
from bmlib.data.digest_cache import cached_digests


def test_digests_cached_until_the_file_changes(tmp_path: Path, monkeypatch) -> None:
    calls = []
    real = digest_cache.file_digests
    monkeypatch.setattr(digest_cache, "file_digests",
                        lambda p, algorithms: calls.append(p) or real(p, algorithms))
    data, cache = tmp_path / "f.bin", tmp_path / "cache.json"
    data.write_bytes(b"abc")
    want = {"sha256": hashlib.sha256(b"abc").hexdigest(), "md5": hashlib.md5(b"abc").hexdigest()}
    assert cached_digests(data, cache) == want and cached_digests(data, cache) == want
    assert len(calls) == 1
    data.write_bytes(b"abcd")
    os.utime(data, ns=(1, 1))
    assert cached_digests(data, cache)["sha256"] == hashlib.sha256(b"abcd").hexdigest()
    assert len(calls) == 2 and len(json.loads(cache.read_text())) == 1  # old entry dropped


def test_broken_or_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    data = tmp_path / "f.bin"
    data.write_bytes(b"abc")
    (tmp_path / "bad.json").write_text("[not json")
    assert cached_digests(data, tmp_path / "bad.json")["md5"] == hashlib.md5(b"abc").hexdigest()
    (tmp_path / "blocked").write_text("a file, not a folder")
    assert cached_digests(data, tmp_path / "blocked" / "c.json")["md5"] == \
        hashlib.md5(b"abc").hexdigest()
