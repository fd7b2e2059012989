"""Progress bars for long loops: plain text on stderr, so they work in JupyterLab,
papermill and the terminal alike (the site hides stderr; nbval masks it)."""

from __future__ import annotations

import sys
from typing import Iterable, TypeVar

from tqdm.std import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], *, desc: str = "", total: int | None = None,
             disable: bool = False, leave: bool = True) -> tqdm:
    """Wrap ``iterable`` in a text progress bar written to stderr."""
    return tqdm(iterable, desc=desc, total=total, disable=disable, leave=leave,
                file=sys.stderr, ascii=True, ncols=90, mininterval=0.5)
