"""CIFAR-10 loader: tiny archives in the real binary format, built here, exercise every path
(extracted folder, data-dir archive, mirror, download from a local HTTP server) and every
refusal (truncated, wrong size, bad label, hostile members, wrong checksum, no data)."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import socket
import tarfile
import threading
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from bmlib.data import archives, cifar10_provenance, digest_cache
from bmlib.data.cifar10 import (
    CLASS_NAMES,
    ArchiveInfo,
    Cifar10,
    Cifar10Error,
    Cifar10Layout,
    load_cifar10,
    record_source,
)
from bmlib.data.cifar10_format import ARCHIVE_NAME, FOLDER_NAME, OFFICIAL_MD5
from bmlib.data.cifar10_provenance import SHARED_COPY_SHA256
from bmlib.core.paths import repo_root
from bmlib.book.runcard import RunRecorder

TINY = Cifar10Layout(records_per_file=20)
META = ("\n".join(CLASS_NAMES) + "\n\n").encode("ascii")


# ------------------------------------------------------------------ building fake data

def make_files(layout: Cifar10Layout = TINY, seed: int = 0) -> dict[str, bytes]:
    """The seven files of the binary version, with random labels and pixels."""
    rng = np.random.default_rng(seed)
    files = {layout.meta_file: META}
    for name in layout.bin_files:
        records = rng.integers(0, 256, size=(layout.records_per_file, layout.record_bytes),
                               dtype=np.uint8)
        records[:, 0] = rng.integers(0, layout.num_classes, size=layout.records_per_file)
        files[name] = records.tobytes()
    return files


def write_archive(path: Path, files: dict[str, bytes],
                  extra: list[tuple[tarfile.TarInfo, bytes | None]] = ()) -> Path:
    """A gzipped tar with the folder entry, ``files`` inside it, then ``extra`` members."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        folder = tarfile.TarInfo(FOLDER_NAME)
        folder.type = tarfile.DIRTYPE
        folder.mode = 0o755
        tar.addfile(folder)
        for name, payload in files.items():
            info = tarfile.TarInfo(f"{FOLDER_NAME}/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        for info, payload in extra:
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return path


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True)
    for name, payload in files.items():
        (folder / name).write_bytes(payload)
    return folder


def expected_arrays(files: dict[str, bytes], names: list[str],
                    layout: Cifar10Layout = TINY) -> tuple[np.ndarray, np.ndarray]:
    raw = np.concatenate([np.frombuffer(files[n], np.uint8).reshape(-1, layout.record_bytes)
                          for n in names])
    return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def check_matches(data: Cifar10, files: dict[str, bytes]) -> None:
    train_x, train_y = expected_arrays(files, list(TINY.train_files))
    test_x, test_y = expected_arrays(files, [TINY.test_file])
    assert data.train_images.shape == (100, 3, 32, 32)
    assert data.train_images.dtype == np.uint8 and data.train_labels.dtype == np.int64
    assert data.test_images.shape == (20, 3, 32, 32) and data.test_labels.shape == (20,)
    assert data.train_images.flags["C_CONTIGUOUS"] and data.train_images.base is None
    assert data.test_images.base is None and data.train_labels.base is None
    np.testing.assert_array_equal(data.train_images, train_x)
    np.testing.assert_array_equal(data.train_labels, train_y)
    np.testing.assert_array_equal(data.test_images, test_x)
    np.testing.assert_array_equal(data.test_labels, test_y)
    assert data.class_names == CLASS_NAMES


def load(data_dir: Path, **kwargs) -> Cifar10:
    kwargs.setdefault("mirrors", [])
    kwargs.setdefault("download", False)
    kwargs.setdefault("quiet", True)
    return load_cifar10(data_dir, layout=TINY, **kwargs)


# ------------------------------------------------------------------ local HTTP server

@pytest.fixture
def serve() -> Iterator:
    """``serve(payload)`` -> URL of ``payload`` on 127.0.0.1; the server stops afterwards."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(payload: bytes, status: int = 200) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.timeout = 5
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/{ARCHIVE_NAME}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{ARCHIVE_NAME}"


# ------------------------------------------------------------------ happy paths

def test_archive_in_data_dir_loads_with_exact_arrays(tmp_path: Path) -> None:
    files = make_files()
    archive = write_archive(tmp_path / ARCHIVE_NAME, files)
    data = load(tmp_path)
    check_matches(data, files)
    assert isinstance(data.source, ArchiveInfo)
    assert data.source.path == str(archive)
    assert data.source.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert data.source.official is False and "unrecognised" in data.source.note
    assert data.source.extracted_dir == str(tmp_path / FOLDER_NAME)
    # images are channel-planar: pixel (c, r, k) of record 0 is byte 1 + 1024 c + 32 r + k
    raw0 = files[TINY.train_files[0]]
    assert data.train_images[0, 2, 5, 7] == raw0[1 + 2 * 1024 + 5 * 32 + 7]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cifar-10-")]


def test_extracted_folder_preferred_over_archive(tmp_path: Path) -> None:
    in_folder = make_files(seed=1)
    write_folder(tmp_path / FOLDER_NAME, in_folder)
    write_archive(tmp_path / ARCHIVE_NAME, make_files(seed=2))
    data = load(tmp_path)
    check_matches(data, in_folder)
    assert data.source.path is None and data.source.sha256 is None
    assert "without a record" in data.source.note


def test_folder_unpacked_by_hand_recognised_by_file_hashes(tmp_path: Path,
                                                          monkeypatch) -> None:
    files = make_files()
    write_folder(tmp_path / FOLDER_NAME, files)
    hashes = {name: hashlib.sha256(payload).hexdigest() for name, payload in files.items()}
    monkeypatch.setattr(cifar10_provenance, "SHARED_COPY_FILES_SHA256", hashes)
    data = load(tmp_path)
    assert "NOT the byte-official" in data.source.note and data.source.official is False
    (tmp_path / FOLDER_NAME / TINY.meta_file).write_bytes(META + b"\n")
    assert "cannot tell" in load(tmp_path).source.note


def test_mirror_archive_found_and_mirror_left_untouched(tmp_path: Path) -> None:
    files = make_files()
    mirror = tmp_path / "mirror"
    archive = write_archive(mirror / ARCHIVE_NAME, files)
    before = listing(mirror)
    data_dir = tmp_path / "data"
    data = load(data_dir, mirrors=[tmp_path / "absent", mirror])
    check_matches(data, files)
    assert listing(mirror) == before
    assert (data_dir / FOLDER_NAME).is_dir()
    assert data.source.path == str(archive)
    # a second load reads the folder and still knows which archive it came from
    again = load(data_dir, mirrors=[mirror])
    assert again.source == data.source
    check_matches(again, files)


def test_mirror_found_through_environment(tmp_path: Path, monkeypatch) -> None:
    files = make_files()
    write_archive(tmp_path / "mirror" / ARCHIVE_NAME, files)
    monkeypatch.setenv("BMLIB_DATA_MIRRORS", str(tmp_path / "mirror"))
    monkeypatch.setenv("BMLIB_DATA_DIR", str(tmp_path / "data"))
    data = load_cifar10(download=False, layout=TINY)
    check_matches(data, files)
    assert (tmp_path / "data" / FOLDER_NAME).is_dir()


def test_data_dir_archive_preferred_over_mirror(tmp_path: Path) -> None:
    local = make_files(seed=3)
    write_archive(tmp_path / "data" / ARCHIVE_NAME, local)
    write_archive(tmp_path / "mirror" / ARCHIVE_NAME, make_files(seed=4))
    check_matches(load(tmp_path / "data", mirrors=[tmp_path / "mirror"]), local)


def test_download_from_local_server(tmp_path: Path, serve) -> None:
    files = make_files()
    payload = write_archive(tmp_path / "src" / ARCHIVE_NAME, files).read_bytes()
    url = serve(payload)
    data_dir = tmp_path / "data"
    data = load(data_dir, download=True, url=url, md5=hashlib.md5(payload).hexdigest(),
                timeout_s=10)
    check_matches(data, files)
    assert (data_dir / ARCHIVE_NAME).read_bytes() == payload
    assert data.source.path == str(data_dir / ARCHIVE_NAME)
    assert data.source.official is False  # official means the official MD5, not `md5`
    assert not [p for p in data_dir.iterdir() if p.name.endswith(".part")]


def test_checksum_cache_avoids_rehashing(tmp_path: Path, monkeypatch) -> None:
    calls = []
    real = digest_cache.file_digests
    monkeypatch.setattr(digest_cache, "file_digests",
                        lambda p, algorithms: calls.append(p) or real(p, algorithms))
    write_archive(tmp_path / ARCHIVE_NAME, make_files())
    first = load(tmp_path)
    assert len(calls) == 1
    cache = json.loads((tmp_path / digest_cache.CHECKSUM_CACHE_NAME).read_text())
    assert [v["sha256"] for v in cache.values()] == [first.source.sha256]
    import shutil
    shutil.rmtree(tmp_path / FOLDER_NAME)
    assert load(tmp_path).source == first.source  # re-extracted, not rehashed
    assert len(calls) == 1


def test_changed_folder_loses_its_archive_record(tmp_path: Path) -> None:
    write_archive(tmp_path / ARCHIVE_NAME, make_files())
    assert load(tmp_path).source.sha256 is not None
    meta = tmp_path / FOLDER_NAME / TINY.meta_file
    meta.write_bytes(META + b"\n")
    assert load(tmp_path).source.sha256 is None


def test_record_source_on_run_card(tmp_path: Path) -> None:
    write_archive(tmp_path / ARCHIVE_NAME, make_files())
    data = load(tmp_path)
    run = RunRecorder("cifar10_test", {"SEED": 0})
    record_source(run, data)
    (record,) = run.finish().data_files
    assert record.sha256 == data.source.sha256
    assert record.note == data.source.note


def test_record_source_without_archive_records_each_file(tmp_path: Path) -> None:
    files = make_files()
    write_folder(tmp_path / FOLDER_NAME, files)
    run = RunRecorder("cifar10_test", {"SEED": 0})
    record_source(run, load(tmp_path))
    records = {Path(r.path).name: r.sha256 for r in run.finish().data_files}
    assert records == {n: hashlib.sha256(b).hexdigest() for n, b in files.items()}


# ------------------------------------------------------------------ refusals

def assert_nothing_extracted(data_dir: Path) -> None:
    assert not (data_dir / FOLDER_NAME).exists()
    assert not [p for p in data_dir.iterdir() if p.name.startswith(".cifar-10-")]


def test_truncated_archive_leaves_nothing(tmp_path: Path) -> None:
    good = write_archive(tmp_path / "src" / ARCHIVE_NAME, make_files()).read_bytes()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / ARCHIVE_NAME).write_bytes(good[: len(good) * 2 // 3])
    with pytest.raises(Cifar10Error, match="truncated, damaged") as err:
        load(data_dir)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert_nothing_extracted(data_dir)


def test_wrong_file_size_in_archive(tmp_path: Path) -> None:
    files = make_files()
    files["data_batch_3.bin"] = files["data_batch_3.bin"][:-1]
    write_archive(tmp_path / ARCHIVE_NAME, files)
    with pytest.raises(Cifar10Error, match=r"data_batch_3\.bin has 61,459 bytes"):
        load(tmp_path)
    assert_nothing_extracted(tmp_path)


def test_wrong_file_size_in_folder(tmp_path: Path) -> None:
    files = make_files()
    files["test_batch.bin"] += b"\0"
    write_folder(tmp_path / FOLDER_NAME, files)
    with pytest.raises(Cifar10Error, match=r"test_batch\.bin has 61,461 bytes.*Delete"):
        load(tmp_path)


def test_missing_file_in_folder(tmp_path: Path) -> None:
    files = make_files()
    del files["data_batch_5.bin"]
    write_folder(tmp_path / FOLDER_NAME, files)
    with pytest.raises(Cifar10Error, match=r"data_batch_5\.bin is missing"):
        load(tmp_path)


def test_missing_file_in_archive(tmp_path: Path) -> None:
    files = make_files()
    del files["test_batch.bin"]
    write_archive(tmp_path / ARCHIVE_NAME, files)
    with pytest.raises(Cifar10Error, match=r"lacks test_batch\.bin"):
        load(tmp_path)
    assert_nothing_extracted(tmp_path)


def test_bad_label_byte(tmp_path: Path) -> None:
    files = make_files()
    raw = bytearray(files["data_batch_2.bin"])
    raw[7 * TINY.record_bytes] = 12
    files["data_batch_2.bin"] = bytes(raw)
    write_archive(tmp_path / ARCHIVE_NAME, files)
    with pytest.raises(Cifar10Error, match=r"label 12 at record 7"):
        load(tmp_path)


def test_wrong_class_names(tmp_path: Path) -> None:
    files = make_files()
    files[TINY.meta_file] = "\n".join(CLASS_NAMES[:9]).encode()
    write_folder(tmp_path / FOLDER_NAME, files)
    with pytest.raises(Cifar10Error, match="10 different names.*holds 9"):
        load(tmp_path)


def _member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 3,
            link: str = "") -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    if kind == tarfile.REGTYPE:
        info.size = size
        return info, b"x" * size
    return info, None


HOSTILE = {
    "absolute": (_member("/tmp/evil"), "absolute path"),
    "dotdot": (_member("../evil"), r"'\.\.'"),
    "dotdot-inside": (_member(f"{FOLDER_NAME}/../../evil"), r"'\.\.'"),
    "symlink": (_member(f"{FOLDER_NAME}/link", tarfile.SYMTYPE, link="/etc/passwd"),
                "is a link"),
    "hardlink": (_member(f"{FOLDER_NAME}/hard", tarfile.LNKTYPE,
                         link=f"{FOLDER_NAME}/batches.meta.txt"), "is a link"),
    "device": (_member(f"{FOLDER_NAME}/dev", tarfile.CHRTYPE), "device or fifo"),
    "fifo": (_member(f"{FOLDER_NAME}/fifo", tarfile.FIFOTYPE), "device or fifo"),
    "outside-folder": (_member("other/file.txt"), "outside the folder"),
    "nested": (_member(f"{FOLDER_NAME}/sub/file.txt"), "outside the folder"),
    "unexpected": (_member(f"{FOLDER_NAME}/evil.py"), "unexpected file"),
    "duplicate": (_member(f"{FOLDER_NAME}/batches.meta.txt"), "twice"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_member_rejected(tmp_path: Path, case: str) -> None:
    member, pattern = HOSTILE[case]
    data_dir = tmp_path / "data"
    write_archive(data_dir / ARCHIVE_NAME, make_files(), extra=[member])
    with pytest.raises(Cifar10Error, match=pattern):
        load(data_dir)
    assert_nothing_extracted(data_dir)
    assert not (tmp_path / "evil").exists() and not Path("/tmp/evil").exists()


def test_download_with_wrong_checksum(tmp_path: Path, serve) -> None:
    payload = write_archive(tmp_path / "src" / ARCHIVE_NAME, make_files()).read_bytes()
    data_dir = tmp_path / "data"
    with pytest.raises(Cifar10Error, match=f"but {OFFICIAL_MD5} was expected"):
        load(data_dir, download=True, url=serve(payload), timeout_s=10)
    assert listing(data_dir) == []


def test_no_data_and_download_fails(tmp_path: Path) -> None:
    url = closed_port_url()
    data_dir = tmp_path / "data"
    with pytest.raises(Cifar10Error) as err:
        load(data_dir, mirrors=[tmp_path / "mirror"], download=True, url=url, timeout_s=5)
    message = str(err.value)
    for part in ("CIFAR-10 was not found", "download", url, str(data_dir),
                 "BMLIB_DATA_MIRRORS", "BMLIB_DATA_DIR", ARCHIVE_NAME):
        assert part in message
    assert err.value.__suppress_context__
    assert not [p for p in data_dir.iterdir() if p.name.endswith(".part")]


def test_download_http_error_gives_the_clear_message(tmp_path: Path, serve) -> None:
    url = serve(b"not found", status=404)
    with pytest.raises(Cifar10Error, match=r"CIFAR-10 was not found.*HTTP Error 404.*"
                                           r"BMLIB_DATA_MIRRORS"):
        load(tmp_path / "data", download=True, url=url, timeout_s=10)
    assert listing(tmp_path / "data") == []


def test_unwritable_data_dir(tmp_path: Path) -> None:
    write_archive(tmp_path / "mirror" / ARCHIVE_NAME, make_files())
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with pytest.raises(Cifar10Error, match=r"Cannot write into the data directory.*"
                                           r"BMLIB_DATA_DIR"):
        load(blocked, mirrors=[tmp_path / "mirror"])


def test_interrupted_extraction_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    write_archive(tmp_path / ARCHIVE_NAME, make_files())
    real = archives._copy_members

    def interrupted(*args, **kwargs):
        real(*args, **kwargs)  # every file written into the temporary folder
        raise KeyboardInterrupt

    monkeypatch.setattr(archives, "_copy_members", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load(tmp_path)
    assert_nothing_extracted(tmp_path)


def test_concurrent_extraction_keeps_the_first_folder(tmp_path: Path, monkeypatch) -> None:
    files = make_files()
    write_archive(tmp_path / ARCHIVE_NAME, files)
    real = archives._copy_members

    def racing(*args, **kwargs):
        real(*args, **kwargs)
        write_folder(tmp_path / FOLDER_NAME, files)  # another process finished first

    monkeypatch.setattr(archives, "_copy_members", racing)
    check_matches(load(tmp_path), files)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cifar-10-")]


def test_folder_appears_by_one_rename(tmp_path: Path, monkeypatch) -> None:
    calls: list[tuple[Path, Path]] = []
    real = os.replace

    def spy(src, dst) -> None:
        calls.append((Path(src), Path(dst)))
        real(src, dst)

    monkeypatch.setattr(archives.os, "replace", spy)
    write_archive(tmp_path / ARCHIVE_NAME, make_files())
    load(tmp_path)
    assert [(src.parent.name[:18], dst) for src, dst in calls if dst.name == FOLDER_NAME] \
        == [(".cifar-10-extract-", tmp_path / FOLDER_NAME)]


def test_too_many_members(tmp_path: Path) -> None:
    folder = tarfile.TarInfo(FOLDER_NAME)
    folder.type = tarfile.DIRTYPE
    write_archive(tmp_path / ARCHIVE_NAME, make_files(), extra=[(folder, None)] * 70)
    with pytest.raises(Cifar10Error, match="more than 64 members"):
        load(tmp_path)
    assert_nothing_extracted(tmp_path)


def test_not_a_tar_gz(tmp_path: Path) -> None:
    (tmp_path / ARCHIVE_NAME).write_bytes(b"<html>Service unavailable</html>")
    with pytest.raises(Cifar10Error, match="not a .tar.gz file"):
        load(tmp_path)
    assert_nothing_extracted(tmp_path)


def test_progress_bar_only_when_not_quiet(tmp_path: Path, capsys) -> None:
    write_archive(tmp_path / "a" / ARCHIVE_NAME, make_files())
    write_archive(tmp_path / "b" / ARCHIVE_NAME, make_files())
    load(tmp_path / "a", quiet=True)
    assert capsys.readouterr().err == ""
    load(tmp_path / "b", quiet=False)
    assert f"extract {ARCHIVE_NAME}" in capsys.readouterr().err


def test_no_data_and_download_off(tmp_path: Path) -> None:
    with pytest.raises(Cifar10Error, match=r"download=False.*BMLIB_DATA_MIRRORS"):
        load(tmp_path / "data")


# ------------------------------------------------------------------ the real shared copy

SHARED = repo_root().parent / "shared" / "data"
SHARED_ARCHIVE = SHARED / ARCHIVE_NAME


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_ARCHIVE.is_file(),
                    reason=f"the shared CIFAR-10 archive is not at {SHARED_ARCHIVE}")
def test_real_shared_archive(tmp_path: Path) -> None:
    data = load_cifar10(tmp_path, mirrors=[SHARED], download=False)
    assert data.train_images.shape == (50000, 3, 32, 32)
    assert data.test_images.shape == (10000, 3, 32, 32)
    assert data.train_images.dtype == np.uint8 and data.train_labels.dtype == np.int64
    assert data.train_labels[:5].tolist() == [6, 9, 9, 4, 1]
    assert data.test_labels[:5].tolist() == [3, 8, 8, 0, 6]
    assert np.bincount(data.train_labels).tolist() == [5000] * 10
    assert np.bincount(data.test_labels).tolist() == [1000] * 10
    assert data.class_names == CLASS_NAMES
    assert data.source.official is False
    assert data.source.sha256 == SHARED_COPY_SHA256
    assert "NOT the byte-official" in data.source.note
    assert Path(data.source.path).resolve() == SHARED_ARCHIVE.resolve()  # either may be a link
