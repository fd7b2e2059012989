"""Rerun one chapter with papermill into runs/, with its run card beside it.

    python -m tools.rerun CHAPTER [-p NAME VALUE ...]

Values are read as Python literals where they parse (3, 0.5, True, [1, 2]) and as strings
otherwise, like papermill's own -p. An unknown chapter or parameter, or a value the chapter
rejects, ends with one line naming the problem and what exists.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError

from bmlib.book.notebooks import ChapterError, chapter_notebooks, find_chapter, notebook_parameters
from bmlib.core.paths import runs_dir
from bmlib.book.runcard import run_cards_in_notebook


def parse_overrides(tokens: list[str]) -> dict[str, Any]:
    """``["-p", "EPOCHS", "3", ...]`` -> ``{"EPOCHS": 3}``."""
    overrides: dict[str, Any] = {}
    index = 0
    while index < len(tokens):
        if tokens[index] not in ("-p", "--parameters"):
            raise ChapterError(f"expected '-p NAME VALUE', got {' '.join(tokens[index:])!r}")
        if index + 2 >= len(tokens):
            raise ChapterError(f"'{' '.join(tokens[index:])}' needs a NAME and a VALUE")
        name, raw = tokens[index + 1], tokens[index + 2]
        try:
            overrides[name] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            overrides[name] = raw
        index += 3
    return overrides


@contextlib.contextmanager
def _kernel_stderr_captured():
    """Send file descriptor 2 (inherited by the kernel process) to a temporary file.

    The kernel writes start-up chatter there; our own one-line message is printed after
    the descriptor is restored. Yields the file so a crash can still show its tail.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield sink
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def rerun(chapter: str, overrides: dict[str, Any]) -> tuple[Path, Path]:
    """Execute the chapter with ``overrides``; return (notebook, run card) paths."""
    source = find_chapter(chapter)
    defaults = notebook_parameters(nbformat.read(source, as_version=4))
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise ChapterError(
            f"unknown parameter(s) {', '.join(unknown)} for chapter {source.stem}: "
            f"it has {', '.join(f'{k}={v!r}' for k, v in defaults.items())}"
        )
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = runs_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / f"{source.stem}-{stamp}.ipynb"
    with _kernel_stderr_captured() as kernel_log:
        try:
            papermill.execute_notebook(
                str(source), str(output), parameters=overrides, kernel_name="python3",
                cwd=str(source.parent), progress_bar=False,
            )
        except PapermillExecutionError:
            raise
        except Exception:
            kernel_log.seek(0)
            tail = kernel_log.read()[-2000:]
            raise ChapterError(f"the kernel failed before finishing; its last output:\n{tail}")
    cards = run_cards_in_notebook(json.loads(output.read_text(encoding="utf-8")))
    if not cards:
        raise ChapterError(f"chapter {source.stem} produced no run card")
    card_path = output.with_suffix(".runcard.json")
    card_path.write_text(cards[-1].to_json() + "\n", encoding="utf-8")
    return output, card_path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or not argv[0]:
        names = ", ".join(p.stem for p in chapter_notebooks())
        print(f"rerun: no chapter given: use make rerun CHAPTER=<name> with one of {names}",
              file=sys.stderr)
        return 2
    try:
        overrides = parse_overrides(argv[1:])
        notebook, card = rerun(argv[0], overrides)
    except ChapterError as error:
        print(f"rerun: {error}", file=sys.stderr)
        return 2
    except PapermillExecutionError as error:
        print(f"rerun: chapter {argv[0]} failed in cell {error.cell_index}: "
              f"{error.ename}: {error.evalue}", file=sys.stderr)
        return 1
    print(f"rerun: wrote {notebook}\nrerun: run card {card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
