"""Where things live: resolved from the package, never from the current directory.

Settings (environment variables):

``BMLIB_DATA_DIR``
    Writable data directory (default: ``<repo>/data``). Extracted data sets go here.
``BMLIB_DATA_MIRRORS``
    Read-only folders, separated by ``os.pathsep``, searched for archives before any
    download (CI and developers point it at ``../shared/data``).
``BMLIB_CACHE_DIR``
    Writable cache for checkpoints and other large generated files
    (default: ``<repo>/.cache``; git-ignored).
``BMLIB_RUNS_DIR``
    Where ``make rerun`` writes executed notebooks and run cards (default: ``<repo>/runs``).
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # bmlib/ (this file is bmlib/core/paths.py)


def repo_root() -> Path:
    """The repository root: the folder that holds the ``bmlib`` package."""
    return _PACKAGE_DIR.parent


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """The writable data directory (``BMLIB_DATA_DIR`` or ``<repo>/data``)."""
    return _env_path("BMLIB_DATA_DIR", repo_root() / "data")


def mirror_dirs() -> list[Path]:
    """Read-only folders to search for archives (``BMLIB_DATA_MIRRORS``), in order.

    Folders that do not exist are dropped, so a setting that names a missing mirror
    degrades to "no mirror" rather than to an error deep inside a loader.
    """
    raw = os.environ.get("BMLIB_DATA_MIRRORS", "")
    folders = [Path(p).expanduser().resolve() for p in raw.split(os.pathsep) if p.strip()]
    return [p for p in folders if p.is_dir()]


def cache_dir() -> Path:
    """The writable cache for checkpoints (``BMLIB_CACHE_DIR`` or ``<repo>/.cache``)."""
    return _env_path("BMLIB_CACHE_DIR", repo_root() / ".cache")


def runs_dir() -> Path:
    """Where reruns are written (``BMLIB_RUNS_DIR`` or ``<repo>/runs``)."""
    return _env_path("BMLIB_RUNS_DIR", repo_root() / "runs")


def pins_dir() -> Path:
    """Committed pins of generated artefacts (checkpoint SHA-256s): ``<repo>/data/pins``."""
    return repo_root() / "data" / "pins"


def chapters_dir() -> Path:
    """The folder holding the book's chapters."""
    return repo_root() / "chapters"


def portable_path(path: str | Path) -> str:
    """``path`` as the book may print it: never a path that names this machine.

    Inside the repository: relative to its root (``data/events.csv``). Under a folder set by a
    setting: the setting's name and the rest (``$BMLIB_DATA_MIRRORS/cifar-10-binary.tar.gz``).
    Under ``/usr`` (where Debian packages install, the same on every Debian machine): as is.
    Anything else: ``<outside the repository>/`` and the file name.
    """
    resolved = Path(path).expanduser().resolve()
    try:
        return str(resolved.relative_to(repo_root()))
    except ValueError:
        pass
    settings = [("BMLIB_DATA_MIRRORS", folder) for folder in mirror_dirs()]
    settings += [("BMLIB_DATA_DIR", data_dir()), ("BMLIB_CACHE_DIR", cache_dir()),
                 ("BMLIB_RUNS_DIR", runs_dir())]
    for name, folder in settings:
        try:
            return f"${name}/{resolved.relative_to(folder.expanduser().resolve())}"
        except ValueError:
            continue
    if resolved.parts[:2] == ("/", "usr"):
        return str(resolved)
    return f"<outside the repository>/{resolved.name}"
