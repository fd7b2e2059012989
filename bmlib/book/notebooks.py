"""The book's chapters as files: listing, parameters, execution hashes, CI preparation.

Conventions every chapter follows (the README's contributing section explains why):

* exactly one code cell tagged ``parameters``, holding literal assignments only;
* notebook metadata ``bmlib.ci_profile``: ``"full"`` (default) or ``"smoke"``; CI runs a
  smoke chapter with ``PROFILE="smoke"`` and compares only profile-independent outputs;
* cells whose output depends on the profile (run length) carry the tag
  ``profile-dependent``; cells whose output depends on hardware or time carry
  ``nbval-ignore-output``;
* the set-up cells (imports, parameters, validation) and the closing run-card cell carry
  ``hide-input``: the site collapses them behind a labelled toggle, JupyterLab runs them as
  they are.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

import yaml

from bmlib.book.dependencies import notebook_dependencies
from bmlib.core.paths import repo_root

PARAMETERS_TAG = "parameters"
PROFILE_DEPENDENT_TAG = "profile-dependent"
IGNORE_OUTPUT_TAG = "nbval-ignore-output"
COLLAPSED_TAGS = ("hide-input", "hide-cell")  # the site shows a toggle instead of the code


class ChapterError(ValueError):
    """An unknown chapter, or a chapter that breaks the book's notebook conventions."""


def _toc_files(entries: list[Mapping[str, Any]]) -> list[str]:
    files: list[str] = []
    for entry in entries:
        if "file" in entry:
            files.append(entry["file"])
        for key in ("sections", "chapters", "parts"):
            if key in entry:
                files.extend(_toc_files(entry[key]))
    return files


def toc_files(root: Path | None = None) -> list[str]:
    """Every document listed in ``_toc.yml``, root first, without extensions."""
    root = root or repo_root()
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    return [toc["root"], *_toc_files(toc.get("parts", []) or toc.get("chapters", []))]


def chapter_notebooks(root: Path | None = None) -> list[Path]:
    """The notebooks of the book, in table-of-contents order."""
    root = root or repo_root()
    paths = [root / f"{name}.ipynb" for name in toc_files(root)]
    return [p for p in paths if p.exists()]


def find_chapter(name: str, root: Path | None = None) -> Path:
    """Resolve a chapter name (``core_concepts`` or ``chapters/core_concepts.ipynb``)."""
    notebooks = chapter_notebooks(root)
    stem = Path(name).stem
    for path in notebooks:
        if path.stem == stem:
            return path
    raise ChapterError(
        f"unknown chapter {name!r}: choose one of {', '.join(p.stem for p in notebooks)}"
    )


def read_notebook(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def parameters_cell_index(notebook: Mapping[str, Any]) -> int:
    """Index of the single cell tagged ``parameters``."""
    hits = [i for i, cell in enumerate(notebook["cells"])
            if PARAMETERS_TAG in cell.get("metadata", {}).get("tags", [])]
    if len(hits) != 1:
        raise ChapterError(f"expected exactly one cell tagged 'parameters', found {len(hits)}")
    if notebook["cells"][hits[0]]["cell_type"] != "code":
        raise ChapterError("the cell tagged 'parameters' must be a code cell")
    return hits[0]


def setup_cell_indices(notebook: Mapping[str, Any]) -> list[int]:
    """Indices of the set-up code cells: every code cell up to and including the first code
    cell after ``parameters`` (the imports, the parameters, and the cell that validates them,
    picks the device, seeds and starts the run recorder)."""
    cells = notebook["cells"]
    start = parameters_cell_index(notebook)
    validation = next((i for i in range(start + 1, len(cells))
                       if cells[i]["cell_type"] == "code"), None)
    if validation is None:
        raise ChapterError("no code cell follows the parameters cell")
    return [i for i in range(validation + 1) if cells[i]["cell_type"] == "code"]


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def notebook_parameters(notebook: Mapping[str, Any]) -> dict[str, Any]:
    """The default parameters: ``NAME = literal`` assignments of the parameters cell.

    Raises :class:`ChapterError` if the cell holds anything but literal assignments, since
    papermill overrides and the book's validation both rely on that.
    """
    cell = notebook["cells"][parameters_cell_index(notebook)]
    tree = ast.parse(_source(cell))
    values: dict[str, Any] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            raise ChapterError(
                f"parameters cell line {node.lineno}: only 'NAME = literal' assignments "
                "are allowed"
            )
        try:
            values[node.targets[0].id] = ast.literal_eval(node.value)
        except ValueError:
            raise ChapterError(
                f"parameters cell line {node.lineno}: {node.targets[0].id} is not a literal"
            ) from None
    return values


def ci_profile(notebook: Mapping[str, Any]) -> str:
    """``"smoke"`` or ``"full"``: which profile CI validates this chapter in."""
    profile = notebook.get("metadata", {}).get("bmlib", {}).get("ci_profile", "full")
    if profile not in ("full", "smoke"):
        raise ChapterError(f"metadata bmlib.ci_profile={profile!r}: use 'full' or 'smoke'")
    return profile


def code_hash(notebook: Mapping[str, Any], extra_files: list[Path] | None = None,
              root: Path | None = None) -> str:
    """SHA-256 over the code and markdown sources (and ``extra_files``): the execution key.

    Outputs and metadata are excluded, so executing a notebook does not change its key.
    """
    digest = hashlib.sha256()
    for cell in notebook["cells"]:
        digest.update(cell["cell_type"].encode())
        digest.update(_source(cell).encode("utf-8"))
        digest.update(json.dumps(sorted(cell.get("metadata", {}).get("tags", []))).encode())
    for path in sorted(extra_files or []):
        digest.update(path.resolve().relative_to((root or repo_root()).resolve()).as_posix()
                      .encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def execution_key(notebook: Mapping[str, Any], root: Path | None = None) -> str:
    """The key a chapter is executed under: its cells and the files it depends on
    (:func:`bmlib.book.dependencies.notebook_dependencies`), not all of bmlib."""
    return code_hash(notebook, notebook_dependencies(notebook, root), root)


def is_stale(notebook: Mapping[str, Any]) -> bool:
    """Whether the committed outputs predate a change to the chapter or its dependencies."""
    return notebook.get("metadata", {}).get("bmlib", {}).get("executed_hash") != \
        execution_key(notebook)


def injected_parameters_cell(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A code cell like the one papermill injects, assigning ``parameters``."""
    source = "# Parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in parameters.items())
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": "injected-parameters",
        "metadata": {"tags": ["injected-parameters"]},
        "outputs": [],
        "source": source,
    }


def prepare_for_validation(notebook: Mapping[str, Any]) -> dict[str, Any]:
    """The notebook as CI validates it.

    A ``full`` chapter is returned unchanged. For a ``smoke`` chapter, a cell setting
    ``PROFILE = "smoke"`` is injected after the parameters cell and every cell tagged
    ``profile-dependent`` gets ``nbval-ignore-output``: nbval then re-executes the smoke
    run and compares every other output with the committed full-profile outputs.
    """
    prepared = copy.deepcopy(dict(notebook))
    if ci_profile(notebook) == "full":
        return prepared
    index = parameters_cell_index(prepared)
    overrides = {"PROFILE": "smoke"}
    prepared["cells"].insert(index + 1, injected_parameters_cell(overrides))
    for cell in prepared["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if PROFILE_DEPENDENT_TAG in tags and IGNORE_OUTPUT_TAG not in tags:
            tags.append(IGNORE_OUTPUT_TAG)
    return prepared


def collapse_stream_text(text: str) -> str:
    """What a notebook front end shows for a stream: each line keeps only its last non-empty
    carriage-return-separated piece (a progress bar redrawn in place becomes its final
    state), and lines a progress bar cleared (only blanks left) are dropped."""
    segments = text.split("\n")
    lines = []
    for index, line in enumerate(segments):
        if "\r" in line:
            pieces = [piece for piece in line.split("\r") if piece]
            line = pieces[-1] if pieces else ""
            if not line.strip():  # a cleared bar: drop the line (the last one has no "\n")
                if index == len(segments) - 1:
                    lines.append("")
                continue
        lines.append(line)
    return "\n".join(lines)


def coalesce_streams(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge consecutive stream outputs of the same name and collapse their progress-bar
    redraws (see ``collapse_stream_text``); other outputs are kept as they are, in order.

    A stream that collapses to nothing (a bar cleared with ``leave=False``) is dropped, but
    one that is only whitespace is kept: tqdm ends a bar with a lone newline that can arrive
    after the cell's stdout, and nbval, which merges each stream name across the cell,
    expects it."""
    merged: list[dict[str, Any]] = []
    for output in outputs:
        if (output.get("output_type") == "stream" and merged
                and merged[-1].get("output_type") == "stream"
                and merged[-1].get("name") == output.get("name")):
            merged[-1] = {**merged[-1], "text": merged[-1]["text"] + output["text"]}
        else:
            merged.append(dict(output))
    collapsed = []
    for output in merged:
        if output.get("output_type") == "stream":
            text = collapse_stream_text(output["text"])
            if not text:  # a cleared bar; a lone "\n" stays: nbval compares it too
                continue
            output = {**output, "text": text}
        collapsed.append(output)
    return collapsed
