"""Execution keys follow each chapter's own imports, tables and run notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from bmlib.book.dependencies import library_closure, notebook_dependencies
from bmlib.book.notebooks import chapter_notebooks, execution_key, is_stale
from bmlib.core.paths import repo_root

ROOT = repo_root()


def _rel(paths: list[Path]) -> set[str]:
    return {p.relative_to(ROOT).as_posix() for p in paths}


def test_imports_are_followed_transitively_and_nothing_else_is_counted():
    notebook = new_notebook(cells=[new_code_cell(
        "%matplotlib inline\nfrom bmlib.train.recipes import seed_recipe\nimport numpy as np")])
    deps = _rel(notebook_dependencies(notebook))
    # recipes imports the loop, which imports the allocator: all three count, with the
    # package __init__ files on the way
    assert {"bmlib/train/recipes.py", "bmlib/train/loop.py", "bmlib/core/allocator.py",
            "bmlib/__init__.py", "bmlib/train/__init__.py", "bmlib/models/cnn.py"} <= deps
    assert "bmlib/econ/costs.py" not in deps and "bmlib/scratch/mlp.py" not in deps


def test_from_package_import_module_counts_the_module():
    files = _rel(sorted(library_closure({"bmlib.scratch.mlp"}, ROOT / "bmlib")))
    assert "bmlib/scratch/mlp.py" in files
    notebook = new_notebook(cells=[new_code_cell("from bmlib.scratch import mlp as mn")])
    assert "bmlib/scratch/mlp.py" in _rel(notebook_dependencies(notebook))


def test_tables_and_run_notebooks_named_by_literals_count():
    notebook = new_notebook(cells=[new_code_cell(
        'table = load_table("events")\ntarget = "cifar_scaling_run.ipynb"')])
    deps = _rel(notebook_dependencies(notebook))
    assert {"data/events.csv", "data/events.meta.yml", "sweeps/cifar_scaling_run.ipynb"} <= deps
    # and what the run notebook imports
    assert "bmlib/models/small_cnn.py" in deps


def test_only_an_edit_to_an_imported_module_changes_the_key(tmp_path: Path):
    package = tmp_path / "bmlib"
    (package / "layer").mkdir(parents=True)
    for name in ("__init__.py", "layer/__init__.py"):
        (package / name).write_text('"""doc"""\n')
    (package / "layer" / "used.py").write_text("from bmlib.layer.helper import f\n")
    (package / "layer" / "helper.py").write_text("def f():\n    return 1\n")
    (package / "layer" / "other.py").write_text("def g():\n    return 2\n")
    notebook = new_notebook(cells=[new_code_cell("from bmlib.layer.used import f")])
    key = execution_key(notebook, tmp_path)
    (package / "layer" / "other.py").write_text("def g():\n    return 3\n")
    assert execution_key(notebook, tmp_path) == key  # not imported: no change
    (package / "layer" / "helper.py").write_text("def f():\n    return 4\n")
    assert execution_key(notebook, tmp_path) != key  # imported through used.py


# Chapters whose re-execution at full did not fit in the session that moved bmlib into
# subpackages (issue 11): the CIFAR-10 chapter trains six models (about 90 min on the 2-core
# CPU of that session) and the outlook loads them. Their code is numerically the same as
# when they were executed (training bit for bit equal, tested in tests/test_training.py and
# by the session's A/B check), so their committed outputs stand; their execution keys are
# stale. strict=True: once re-executed, this test fails until the entry is removed.
PENDING_REEXECUTION: dict[str, str] = {}  # chapter -> why it may be stale for now (none)


def _chapter_param(path: Path):
    marks = []
    if path.stem in PENDING_REEXECUTION:
        marks.append(pytest.mark.xfail(reason=PENDING_REEXECUTION[path.stem], strict=True))
    return pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("path", [_chapter_param(p) for p in chapter_notebooks()])
def test_no_committed_chapter_is_stale(path: Path):
    notebook = nbformat.read(path, as_version=4)
    assert not is_stale(notebook), (
        f"{path.name} was executed before a change to its cells or to a file it depends on: "
        f"re-execute it with `make execute` (deps: {len(notebook_dependencies(notebook))} files)")
