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
