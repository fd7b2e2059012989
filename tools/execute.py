"""Re-execute the book's chapters in place, top to bottom, each in a fresh kernel.

A chapter is skipped when its execution key (hash of its cells' sources and of the files it
depends on: the bmlib modules it imports, followed transitively, its sourced tables and the
notebooks it runs; see bmlib.book.notebooks.execution_key) equals the key stored at its last
execution, unless --force is given. The appendices that collect from other chapters (claims ledger,
reproducibility) run last, and are re-executed whenever anything else was.

    python -m tools.execute [--force] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from bmlib.book.notebooks import (ChapterError, chapter_notebooks, coalesce_streams,
                                  execution_key, find_chapter)

# Appendices that read the other executed chapters: run after them, in this order.
COLLECTORS = ("claims_ledger", "reproducibility")


def execute_in_place(path: Path, timeout: int | None = None) -> float:
    """Execute one notebook in a fresh kernel and write it back; returns seconds taken.

    Stream outputs are coalesced as a front end shows them (``coalesce_streams``), so the
    committed notebook holds each progress bar's final line, not every redraw."""
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    client = NotebookClient(notebook, kernel_name="python3", timeout=timeout,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    for cell in notebook.cells:  # progress bars: keep their final state, not every redraw
        if cell.cell_type == "code":
            cell.outputs = [nbformat.from_dict(o) for o in coalesce_streams(cell.outputs)]
    notebook.metadata.setdefault("bmlib", {})["executed_hash"] = execution_key(notebook)
    nbformat.write(notebook, path)
    return time.perf_counter() - started


def _run(path: Path) -> bool:
    print(f"execute: {path.stem}: running ...", flush=True)
    try:
        seconds = execute_in_place(path)
    except CellExecutionError as error:
        print(f"execute: {path.stem} failed; the notebook was left as it was.\n{error}",
              file=sys.stderr)
        return False
    print(f"execute: {path.stem}: done in {seconds:.0f} s", flush=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="ignore the execution cache")
    parser.add_argument("--only", nargs="*", default=None, help="chapter names to execute")
    args = parser.parse_args(argv)
    try:
        targets = ([find_chapter(name) for name in args.only] if args.only
                   else chapter_notebooks())
    except ChapterError as error:
        print(f"execute: {error}", file=sys.stderr)
        return 2
    ordered = [p for p in targets if p.stem not in COLLECTORS]
    collectors = [p for name in COLLECTORS for p in chapter_notebooks() if p.stem == name]
    executed = 0
    for path in ordered:
        notebook = nbformat.read(path, as_version=4)
        cached = notebook.metadata.get("bmlib", {}).get("executed_hash") == execution_key(notebook)
        if cached and not args.force and not args.only:  # --only always executes
            print(f"execute: {path.stem}: unchanged since its last execution, skipped")
            continue
        if not _run(path):
            return 1
        executed += 1
    requested = set(args.only or [])
    for path in collectors:
        if path.stem in requested or (not args.only and (executed or args.force)):
            if not _run(path):
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
