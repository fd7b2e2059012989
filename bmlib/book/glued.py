"""Values one chapter glued, read back from its executed notebook by another chapter.

A chapter that builds on another's measurement (the verdict prices the language-model
chapter's measured throughput) reads the glued value, never a retyped copy, so the number
on both pages is one value. Glue outputs carry ``metadata.scrapbook.name`` and the value as
the ``text/plain`` repr under the ``application/papermill.record/`` prefix.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import nbformat

_PREFIX = "application/papermill.record/"


class GluedValueError(LookupError):
    """A glued value another chapter needs is missing: that chapter must be executed first."""


def glued_values(notebook_path: str | Path) -> dict[str, Any]:
    """Every glued name and its value (numbers, strings, booleans) in an executed notebook."""
    path = Path(notebook_path)
    if not path.is_file():
        raise GluedValueError(f"{path} does not exist: execute that chapter first")
    notebook = nbformat.read(path, as_version=4)
    values: dict[str, Any] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            text = output.get("data", {}).get(f"{_PREFIX}text/plain")
            if name and text is not None:
                try:
                    values[name] = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    values[name] = text
    return values


def glued_value(notebook_path: str | Path, name: str) -> Any:
    """One glued value; a clear error naming the chapter to execute when it is absent."""
    values = glued_values(notebook_path)
    if name not in values:
        raise GluedValueError(f"{Path(notebook_path).name} glues no value {name!r}: execute "
                              "that chapter (make execute) before this one")
    return values[name]
