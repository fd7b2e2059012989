"""The layering of bmlib: each subpackage imports only the layers bmlib.LAYERS allows.

Checked on the source (AST), so an import inside a function counts as much as one at the
top. ``scratch`` additionally never imports torch, ``models`` does no file I/O.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bmlib

PACKAGE = Path(bmlib.__file__).parent
SUBPACKAGES = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative imports would hide the layer: the book uses absolute ones
                names.append("<relative>")
            elif node.module:
                names.append(node.module)
                if node.module == "bmlib":
                    names += [f"bmlib.{alias.name}" for alias in node.names]
    return names


def test_every_subpackage_has_a_rule_and_a_docstring():
    assert set(SUBPACKAGES) == set(bmlib.LAYERS), "bmlib.LAYERS and the subpackages differ"
    for name in SUBPACKAGES:
        doc = (ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text())) or "")
        assert "May import:" in doc, f"bmlib/{name}/__init__.py must say what it may import"


def test_no_module_at_the_top_level_besides_the_package_init():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert not loose, f"modules belong in a subpackage: {loose}"


@pytest.mark.parametrize("layer", SUBPACKAGES)
def test_imports_follow_the_layers(layer):
    allowed = bmlib.LAYERS[layer] | {layer}
    bad = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in _imports(path):
            if name == "<relative>":
                bad.append(f"{path.name}: relative import")
            elif name == "bmlib" or name.startswith("bmlib."):
                parts = name.split(".")
                if len(parts) < 2 or parts[1] not in allowed:
                    bad.append(f"{path.name}: imports {name}")
    assert not bad, f"bmlib.{layer} may import only {sorted(allowed)}: " + "; ".join(bad)


def test_scratch_never_imports_torch():
    for path in sorted((PACKAGE / "scratch").rglob("*.py")):
        assert not [n for n in _imports(path) if n == "torch" or n.startswith("torch.")], path


def test_models_do_no_file_io():
    forbidden = {"open", "urlopen"}
    for path in sorted((PACKAGE / "models").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = {n.func.id for n in ast.walk(tree)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        attrs = {n.func.attr for n in ast.walk(tree)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
        assert not (calls & forbidden), f"{path.name} opens files"
        assert not (attrs & {"save", "load", "read_text", "write_text", "read_bytes"}), path.name
        assert not {n for n in _imports(path)} & {"pathlib", "os", "urllib.request", "shutil"}, path
