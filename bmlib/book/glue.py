"""Glue many computed values into a chapter at once, as plain Python numbers.

The prose of a chapter refers to results with ``{glue:text}`name```; every such name is
glued by a cell. :func:`glue_values` glues a whole mapping (a study's ``glue_values()``, a
dict built in the cell), converting NumPy scalars to ``int``/``float`` so the site formats
them the same way everywhere, and refusing names that are not identifiers or values that are
not scalars, so a typo fails in the cell and not silently on the page.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any, Mapping

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class GlueError(ValueError):
    """A glue name that is not an identifier, or a value that is not a plain scalar."""


def plain(value: Any) -> int | float | str | bool:
    """``value`` as a plain Python scalar (NumPy and torch scalars included)."""
    if isinstance(value, (bool, str)):
        return value
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise GlueError(f"value {value!r} is not finite: a chapter never glues NaN or inf")
        return value
    raise GlueError(f"value {value!r} of type {type(value).__name__} is not a scalar: glue "
                    "numbers, strings or booleans (format tables as tables)")


def glue_values(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Glue every ``name: value`` of ``values`` (names prefixed with ``prefix``), hidden.

    Returns the plain values glued, so a cell can show or reuse them.
    """
    from myst_nb import glue  # imported here: importing bmlib never needs myst_nb

    glued: dict[str, Any] = {}
    for name, value in values.items():
        full = f"{prefix}{name}"
        if not _NAME.match(full):
            raise GlueError(f"glue name {full!r} is not an identifier (letters, digits, _)")
        glued[full] = plain(value)
    for full, value in glued.items():
        glue(full, value, display=False)
    return glued
