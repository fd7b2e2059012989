"""Validate every chapter with nbval, following the book's profile policy.

Each chapter is prepared by bmlib.book.notebooks.prepare_for_validation (a "smoke" chapter gets
PROFILE="smoke" injected and its profile-dependent cells masked) and written to a
fresh folder under build/ (one per run, so parallel runs do not collide), then nbval re-executes it and compares outputs with the committed ones,
after the sanitizer in tests/nbval_sanitize.cfg masks volatile text.

    python -m tools.validate_notebooks [NAME ...] [-- extra pytest args]
"""

from __future__ import annotations

import sys
import tempfile

from pathlib import Path

import nbformat
import pytest

from bmlib.book.notebooks import chapter_notebooks, find_chapter, prepare_for_validation
from bmlib.core.paths import repo_root


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[: argv.index("--")]
    chapters = [find_chapter(n) for n in argv] if argv else chapter_notebooks()
    (repo_root() / "build").mkdir(exist_ok=True)
    out_dir = Path(tempfile.mkdtemp(prefix="nbval-", dir=repo_root() / "build"))
    prepared = []
    for path in chapters:
        notebook = nbformat.read(path, as_version=4)
        target = out_dir / path.name
        nbformat.write(nbformat.from_dict(prepare_for_validation(notebook)), target)
        prepared.append(str(target))
    args = [
        "--nbval", "--nbval-current-env",
        "--nbval-sanitize-with", str(repo_root() / "tests" / "nbval_sanitize.cfg"),
        "--nbval-cell-timeout", "1800",
        "-p", "no:cacheprovider", "--rootdir", str(out_dir), "-q",
        *prepared, *extra,
    ]
    print(f"validate_notebooks: nbval over {len(prepared)} chapter(s) in {out_dir}")
    return int(pytest.main(args))


if __name__ == "__main__":
    sys.exit(main())
