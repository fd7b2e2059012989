import os

from bmlib.core import paths


def test_repo_root_holds_the_package_and_book(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # must not depend on the working directory
    root = paths.repo_root()
    assert (root / "bmlib" / "__init__.py").exists()
    assert (root / "_config.yml").exists()
    assert paths.chapters_dir() == root / "chapters"


def test_defaults_and_overrides(monkeypatch, tmp_path):
    for name in ("BMLIB_DATA_DIR", "BMLIB_CACHE_DIR", "BMLIB_RUNS_DIR", "BMLIB_DATA_MIRRORS"):
        monkeypatch.delenv(name, raising=False)
    assert paths.data_dir() == paths.repo_root() / "data"
    assert paths.cache_dir() == paths.repo_root() / ".cache"
    assert paths.runs_dir() == paths.repo_root() / "runs"
    assert paths.mirror_dirs() == []
    monkeypatch.setenv("BMLIB_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("BMLIB_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("BMLIB_RUNS_DIR", str(tmp_path / "r"))
    assert paths.data_dir() == tmp_path / "d"
    assert paths.cache_dir() == tmp_path / "c"
    assert paths.runs_dir() == tmp_path / "r"


def test_mirrors_keep_order_and_drop_missing_folders(monkeypatch, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    value = os.pathsep.join([str(b), str(tmp_path / "missing"), str(a)])
    monkeypatch.setenv("BMLIB_DATA_MIRRORS", value)
    assert paths.mirror_dirs() == [b, a]


def test_portable_path_names_no_machine_folder(monkeypatch, tmp_path):
    from bmlib.core.paths import portable_path, repo_root

    mirror = tmp_path / "shared" / "data"
    mirror.mkdir(parents=True)
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("BMLIB_DATA_MIRRORS", str(mirror))
    monkeypatch.setenv("BMLIB_CACHE_DIR", str(cache))
    assert portable_path(repo_root() / "data" / "events.csv") == "data/events.csv"
    assert portable_path(mirror / "cifar.tar.gz") == "$BMLIB_DATA_MIRRORS/cifar.tar.gz"
    assert portable_path(cache / "lm" / "x.pt") == "$BMLIB_CACHE_DIR/lm/x.pt"
    assert portable_path("/usr/share/games/fortunes/chinese") == "/usr/share/games/fortunes/chinese"
    elsewhere = tmp_path / "elsewhere" / "file.bin"
    shown = portable_path(elsewhere)
    assert shown == "<outside the repository>/file.bin"
    assert str(tmp_path) not in shown
