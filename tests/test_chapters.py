"""Every chapter follows the book's notebook conventions (README, "Contributing")."""

import ast
import copy
import re
from collections import Counter

import pytest

from bmlib.book.notebooks import (COLLAPSED_TAGS, IGNORE_OUTPUT_TAG, ChapterError,
                                  chapter_notebooks, ci_profile, code_hash, notebook_parameters,
                                  parameters_cell_index, prepare_for_validation, read_notebook,
                                  setup_cell_indices, toc_files)
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


def collapsed(cell):
    return any(tag in cell["metadata"].get("tags", []) for tag in COLLAPSED_TAGS)


def test_setup_cells_are_collapsed_on_the_site(chapter):
    """The set-up before the first result (imports, the parameters cell, the cell that
    validates them, picks the device, seeds and starts the recorder) and the closing run-card
    cell are collapsed on the site behind labelled toggles; JupyterLab runs them as they are.
    Later cells import nothing, so no set-up hides further down the page."""
    _, notebook = chapter
    cells = notebook["cells"]
    setup = setup_cell_indices(notebook)
    for index in setup:
        assert collapsed(cells[index]), (
            f"set-up cell {index} needs the tag 'hide-input': {source(cells[index])[:60]!r}")
    assert "RunRecorder(" in source(cells[setup[-1]]), "the set-up starts the run recorder"
    label = cells[parameters_cell_index(notebook)]["metadata"].get("mystnb", {}).get(
        "code_prompt_show", "")
    assert "parameters" in label, "label the parameters toggle so readers see it is there"
    for cell in cells[setup[-1] + 1:]:
        if cell["cell_type"] == "code":
            tree = ast.parse(source(cell))
            assert not any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree)), (
                f"imports belong in the first cell: {source(cell)[:60]!r}")
    assert collapsed(code_cells(notebook)[-1]), "collapse the run-card cell's code too"


FIGURE_CALL = "show_figure("
NUMREF = re.compile(r"\{numref\}`(?:[^`<]*<)?([^`<>]+)>?`")
GLUE = re.compile(r"\{glue(?::\w+)?\}`[^`]*`")
STANDALONE_NUMBER = re.compile(r"(?<![\w.\-])\d+(?:[.,]\d+)*(?![\w\-])")


def figure_cells(notebook):
    """Cells that show a figure: they call show_figure or their outputs hold an image."""
    def has_image(cell):
        return any("image/png" in o.get("data", {}) or
                   "<img" in "".join(o.get("data", {}).get("text/html", ""))
                   for o in cell["outputs"])
    return [c for c in code_cells(notebook) if FIGURE_CALL in source(c) or has_image(c)]


def figure_options(cell):
    return cell["metadata"].get("mystnb", {}).get("figure", {})


def typed_numbers(caption):
    """Numbers in a caption that are not glued, part of a name (GPT-3, CIFAR-10, 405B,
    float64) or a version after a name (Llama 3.1): captions describe, glue reports."""
    text = GLUE.sub("", caption)
    return [m.group() for m in STANDALONE_NUMBER.finditer(text)
            if not re.search(r"\b[A-Z][A-Za-z]+ $", text[:m.start()])]


def test_every_figure_is_numbered_captioned_and_referenced(chapter):
    """myst-nb turns a figure cell's ``mystnb.figure`` metadata (name, caption) into a numbered
    figure; the prose refers to each by ``{numref}``. Numbers restart on every page
    (tools/book_sphinx.py), so a chapter refers only to its own figures."""
    _, notebook = chapter
    prose = "\n".join(source(c) for c in notebook["cells"] if c["cell_type"] == "markdown")
    referenced = set(NUMREF.findall(prose))
    names = []
    for cell in figure_cells(notebook):
        where = source(cell)[:60]
        assert source(cell).count(FIGURE_CALL) == 1, f"one figure per cell: {where!r}"
        name, caption = figure_options(cell).get("name", ""), figure_options(cell).get("caption", "")
        assert re.fullmatch(r"fig-[a-z0-9]+(-[a-z0-9]+)+", name), (
            f"give the figure cell metadata mystnb.figure.name 'fig-<chapter>-<what>': {where!r}")
        assert len(caption) >= 40 and caption.rstrip().endswith("."), (
            f"{name}: the caption says in a sentence or two what the figure shows and how to "
            "read it")
        assert not typed_numbers(caption), (
            f"{name}: caption types numbers {typed_numbers(caption)}: glue them or leave them "
            "to the prose")
        assert name in referenced, f"{name} is not referred to by {{numref}}`{name}` in the prose"
        shown = [o for o in cell["outputs"] if o["output_type"] in ("display_data", "execute_result")
                 and "scrapbook" not in o.get("metadata", {})]
        assert len(shown) <= 1, (
            f"{name}: the cell displays more than its figure, and myst-nb puts every display of "
            "the cell under the figure's caption")
        names.append(name)
    stray = {r for r in referenced if r.startswith("fig-")} - set(names)
    assert not stray, f"references to figures this chapter does not have: {sorted(stray)}"


def test_figure_names_are_unique_across_the_book():
    names = Counter(figure_options(cell).get("name") for path in CHAPTERS
                    for cell in figure_cells(read_notebook(path)))
    assert not [n for n, count in names.items() if n and count > 1], names.most_common(3)


def test_caption_number_rule():
    assert typed_numbers("Cost of GPT-3 and Llama 3.1 405B on CIFAR-10 in float64.") == []
    assert typed_numbers("Accuracy rises to 0.83 after 20 epochs.") == ["0.83", "20"]
    assert typed_numbers("Accuracy {glue:text}`acc:.2f` at the end.") == []


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
