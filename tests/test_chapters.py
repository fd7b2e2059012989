"""Every chapter follows the book's notebook conventions (README, "Contributing")."""

import copy
import re

import pytest

from bmlib.book.notebooks import (IGNORE_OUTPUT_TAG, ChapterError, chapter_notebooks, ci_profile,
                             code_hash, notebook_parameters, parameters_cell_index,
                             prepare_for_validation, read_notebook, toc_files)
from bmlib.core.paths import repo_root

CHAPTERS = chapter_notebooks()
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_toc_lists_only_files_that_exist():
    for name in toc_files():
        assert any((repo_root() / f"{name}{ext}").exists() for ext in (".md", ".ipynb")), name


def test_every_notebook_in_chapters_is_in_the_toc():
    listed = {p.stem for p in CHAPTERS}
    on_disk = {p.stem for p in (repo_root() / "chapters").glob("*.ipynb")}
    assert on_disk <= listed, f"not in _toc.yml: {sorted(on_disk - listed)}"


@pytest.fixture(params=CHAPTERS, ids=[p.stem for p in CHAPTERS])
def chapter(request):
    return request.param, read_notebook(request.param)


def code_cells(notebook):
    return [c for c in notebook["cells"] if c["cell_type"] == "code"]


def source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_title_is_bilingual(chapter):
    _, notebook = chapter
    first = source(notebook["cells"][0])
    assert first.startswith("# ") and " / " in first.splitlines()[0]
    assert CJK.search(first.splitlines()[0]), "the chapter title needs its Chinese title too"


def test_parameters_cell_holds_literals_with_profile_and_seed(chapter):
    _, notebook = chapter
    defaults = notebook_parameters(notebook)
    assert defaults.get("PROFILE") == "full", "PROFILE must default to 'full'"
    assert isinstance(defaults.get("SEED"), int)
    assert all(name.isupper() for name in defaults)


def test_validation_cell_follows_parameters(chapter):
    _, notebook = chapter
    index = parameters_cell_index(notebook)
    following = [c for c in notebook["cells"][index + 1:] if c["cell_type"] == "code"][0]
    assert "validate(globals())" in source(following)


def test_ends_with_run_card_marked_volatile(chapter):
    _, notebook = chapter
    last = code_cells(notebook)[-1]
    assert "show_run_card(" in source(last)
    assert IGNORE_OUTPUT_TAG in last["metadata"].get("tags", [])
    assert any(o.get("metadata", {}).get("bmlib", {}).get("runcard") for o in last["outputs"])


def test_executed_top_to_bottom_in_one_kernel_without_errors(chapter):
    _, notebook = chapter
    counts = [c["execution_count"] for c in code_cells(notebook) if source(c).strip()]
    assert counts == list(range(1, len(counts) + 1)), f"execution counts {counts}"
    for cell in code_cells(notebook):
        for output in cell["outputs"]:
            assert output["output_type"] != "error", source(cell)[:80]


def test_kernel_and_profile_metadata(chapter):
    _, notebook = chapter
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    assert ci_profile(notebook) in ("full", "smoke")


def test_every_image_has_alt_text(chapter):
    _, notebook = chapter
    for cell in code_cells(notebook):
        for output in cell["outputs"]:
            data = output.get("data", {})
            assert not ("image/png" in data and "text/html" not in data), (
                "a bare image output has no alt text: show figures with "
                "bmlib.viz.figures.show_figure(fig, alt=...)")
            for img in re.findall(r"<img\b[^>]*>", "".join(data.get("text/html", ""))):
                assert re.search(r"alt=['\"][^'\"]{15,}", img), img[:120]


def test_every_glued_name_in_prose_is_glued_in_code(chapter):
    """Every {glue:text} name in the prose is glued by an executed cell (the outputs carry
    the glued names), so no number in the text is typed by hand or left dangling."""
    _, notebook = chapter
    used = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            used |= set(re.findall(r"\{glue:text\}`([A-Za-z0-9_]+)", source(cell)))
    defined = {output["metadata"]["scrapbook"]["name"]
               for cell in code_cells(notebook) for output in cell["outputs"]
               if "scrapbook" in output.get("metadata", {})}
    assert used <= defined, f"glued in prose but never glued in code: {sorted(used - defined)}"


def smoke_notebook():
    return {"metadata": {"bmlib": {"ci_profile": "smoke"}}, "cells": [
        {"cell_type": "code", "source": "import x", "metadata": {}, "outputs": []},
        {"cell_type": "code", "source": "PROFILE = 'full'\nSEED = 0",
         "metadata": {"tags": ["parameters"]}, "outputs": []},
        {"cell_type": "code", "source": "train()", "metadata": {"tags": ["profile-dependent"]},
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "acc 0.9"}]},
    ]}


def test_smoke_preparation_injects_profile_and_masks_profile_dependent_cells():
    prepared = prepare_for_validation(smoke_notebook())
    injected = prepared["cells"][2]
    assert injected["metadata"]["tags"] == ["injected-parameters"]
    assert "PROFILE = 'smoke'" in injected["source"]
    assert IGNORE_OUTPUT_TAG in prepared["cells"][3]["metadata"]["tags"]
    full = copy.deepcopy(smoke_notebook())
    full["metadata"]["bmlib"]["ci_profile"] = "full"
    assert prepare_for_validation(full) == full


def test_parameters_cell_rules_are_enforced():
    notebook = smoke_notebook()
    notebook["cells"][1]["source"] = "PROFILE = 'full'\nSEED = compute()"
    with pytest.raises(ChapterError, match="SEED is not a literal"):
        notebook_parameters(notebook)
    notebook["cells"][1]["source"] = "import os"
    with pytest.raises(ChapterError, match="only 'NAME = literal'"):
        notebook_parameters(notebook)
    notebook["cells"][0]["metadata"]["tags"] = ["parameters"]
    with pytest.raises(ChapterError, match="exactly one cell tagged 'parameters', found 2"):
        parameters_cell_index(notebook)


def test_execution_key_ignores_outputs():
    notebook = smoke_notebook()
    key = code_hash(notebook)
    notebook["cells"][2]["outputs"] = []
    assert code_hash(notebook) == key
    notebook["cells"][2]["source"] = "train(epochs=2)"
    assert code_hash(notebook) != key
