"""What a chapter depends on: the files whose change makes its committed outputs stale.

A chapter's execution key (:func:`bmlib.book.notebooks.code_hash`) covers its own cells and
the files this module finds, and nothing else, so an edit to one study does not mark every
chapter stale:

* the ``bmlib`` modules its code cells import, followed transitively through the imports of
  those modules (``from bmlib.x import y`` counts ``bmlib/x/y.py`` when ``y`` is a module,
  and ``bmlib/x/__init__.py`` always);
* the sourced tables it names: a string literal ``"name"`` with ``data/name.csv`` (or
  ``data/econ/name.csv``) beside its ``name.meta.yml`` adds both files;
* the notebooks it runs: a string literal ``"name.ipynb"`` naming a notebook of ``sweeps/``
  adds that notebook and, in turn, what that notebook depends on.

Only static facts are read (the AST of each source), so the set is the same on every machine.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Iterable, Mapping

from bmlib.core.paths import repo_root

SWEEP_FOLDER = "sweeps"
TABLE_FOLDERS = ("data", "data/econ")


def _cell_source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _parse(code: str) -> ast.AST:
    """Parse notebook code, blanking IPython magics and shell lines (``%time``, ``!ls``)."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines()]
    return ast.parse("\n".join(lines))


def _module_file(dotted: str, package_dir: Path) -> Path | None:
    """``bmlib.core.paths`` -> ``<package>/core/paths.py`` (or a package's ``__init__.py``)."""
    parts = dotted.split(".")[1:]
    base = package_dir.joinpath(*parts) if parts else package_dir
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def imported_modules(tree: ast.AST) -> set[str]:
    """Dotted names of the bmlib modules (and candidate submodules) a tree imports."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.split(".")[0] == "bmlib"}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module.split(".")[0] == "bmlib":
                names.add(node.module)
                names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def _string_literals(tree: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) and 0 < len(n.value) < 200}


def _with_parents(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def library_closure(modules: Iterable[str], package_dir: Path) -> set[Path]:
    """The files of ``modules`` and of every bmlib module they import, transitively."""
    seen: set[Path] = set()
    pending = [m for name in modules for m in _with_parents(name)]
    while pending:
        path = _module_file(pending.pop(), package_dir)
        if path is None or path in seen:
            continue
        seen.add(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        pending += [m for name in imported_modules(tree) for m in _with_parents(name)]
    return seen


def notebook_dependencies(notebook: Mapping[str, Any], root: Path | None = None,
                          _visited: set[Path] | None = None) -> list[Path]:
    """Sorted files (library modules, sourced tables, run notebooks) a notebook depends on."""
    root = root or repo_root()
    visited = _visited if _visited is not None else set()
    code = "\n".join(_cell_source(c) for c in notebook["cells"] if c["cell_type"] == "code")
    tree = _parse(code)
    files = library_closure(imported_modules(tree), root / "bmlib")
    for literal in _string_literals(tree):
        for folder in TABLE_FOLDERS:
            csv = root / folder / f"{literal}.csv"
            meta = root / folder / f"{literal}.meta.yml"
            if csv.is_file() and meta.is_file():
                files |= {csv, meta}
        if literal.endswith(".ipynb"):
            run = root / SWEEP_FOLDER / Path(literal).name
            if run.is_file() and run not in visited:
                import nbformat  # only needed for chapters that run other notebooks

                visited.add(run)
                files.add(run)
                files |= set(notebook_dependencies(nbformat.read(run, as_version=4), root,
                                                   visited))
    return sorted(files)
