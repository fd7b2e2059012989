"""`make rerun` and the validation cell: bad input stops early with one clear line."""

import json
import subprocess
import sys

import pytest
import papermill
from papermill.exceptions import PapermillExecutionError

from bmlib.book.notebooks import (chapter_notebooks, notebook_parameters, parameters_cell_index,
                             read_notebook)
from bmlib.core.paths import repo_root

pytestmark = pytest.mark.slow
CHAPTERS = chapter_notebooks()


def rerun(*args, runs_dir):
    env = {"BMLIB_RUNS_DIR": str(runs_dir), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "tools.rerun", *args], cwd=repo_root(),
                          capture_output=True, text=True, env=env, timeout=600)


def test_unknown_chapter_lists_what_exists(tmp_path):
    result = rerun("no_such_chapter", runs_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "unknown chapter 'no_such_chapter': choose one of" in result.stderr
    assert "core_concepts" in result.stderr


def test_missing_chapter_lists_what_exists(tmp_path):
    result = rerun("", runs_dir=tmp_path)
    assert result.returncode == 2 and "no chapter given" in result.stderr


def test_unknown_parameter_lists_the_chapter_parameters(tmp_path):
    result = rerun("core_concepts", "-p", "EPOCHZ", "3", runs_dir=tmp_path)
    assert result.returncode == 2
    assert "unknown parameter(s) EPOCHZ for chapter core_concepts" in result.stderr
    assert "SEED=0" in result.stderr and "PROFILE='full'" in result.stderr
    assert not list(tmp_path.iterdir()), "nothing may be written for a refused rerun"


def test_malformed_arguments_are_explained(tmp_path):
    result = rerun("core_concepts", "-p", "SEED", runs_dir=tmp_path)
    assert result.returncode == 2 and "needs a NAME and a VALUE" in result.stderr


def test_bad_value_fails_at_validation_cell_in_one_line(tmp_path):
    result = rerun("core_concepts", "-p", "SEED", "-5", runs_dir=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "ParameterError: SEED=-5 is out of range" in result.stderr


def test_rerun_writes_notebook_and_run_card(tmp_path):
    result = rerun("core_concepts", "-p", "WIDTHS", "[2, 4]", "-p", "DEPTHS", "[1]",
                   "-p", "STEPS", "20", "-p", "SEED", "3", runs_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    cards = list(tmp_path.glob("core_concepts-*.runcard.json"))
    notebooks = list(tmp_path.glob("core_concepts-*.ipynb"))
    assert len(cards) == 1 and len(notebooks) == 1
    card = json.loads(cards[0].read_text())
    assert card["parameters"]["SEED"] == 3 and card["parameters"]["STEPS"] == 20
    assert card["metrics"]["fits"] == 2


BAD_VALUES = [
    ("PROFILE", "fast", "PROFILE='fast' is not allowed"),  # not an allowed value
    ("SEED", "zero", "SEED='zero' has type str"),  # wrong type
    ("SEED", -1, "SEED=-1 is out of range"),  # out of range
    ("DEVICE", "tpu", "DEVICE='tpu' is not a known device"),  # unknown device
]


def validation_cases():
    """Every kind of bad value on core_concepts (DEVICE on the CIFAR-10 chapter, which
    declares one; core_concepts runs on the CPU by design), and one kind (in rotation) on
    every chapter: each chapter and each kind is covered without 4 kernels per chapter."""
    cases = [("core_concepts", bad) for bad in BAD_VALUES if bad[0] != "DEVICE"]
    cases.append(("cifar10_project", BAD_VALUES[-1]))
    for index, path in enumerate(CHAPTERS):
        if path.stem not in ("core_concepts", "cifar10_project"):
            cases.append((path.stem, BAD_VALUES[index % len(BAD_VALUES)]))
    return cases


@pytest.mark.parametrize("stem,bad", validation_cases(),
                         ids=[f"{s}-{b[0]}={b[1]}" for s, b in validation_cases()])
def test_chapters_reject_bad_parameters_at_their_validation_cell(stem, bad, tmp_path):
    name, value, message = bad
    path = next(p for p in CHAPTERS if p.stem == stem)
    notebook = read_notebook(path)
    if name not in notebook_parameters(notebook):
        name, value, message = BAD_VALUES[0]  # every chapter has PROFILE
    with pytest.raises(PapermillExecutionError) as info:
        papermill.execute_notebook(str(path), str(tmp_path / "out.ipynb"),
                                   parameters={name: value}, kernel_name="python3",
                                   cwd=str(path.parent), progress_bar=False)
    error = info.value
    assert error.ename == "ParameterError"
    assert message in error.evalue
    # papermill inserts its cell after the parameters cell; the validation cell is the first
    # code cell after that.
    index = parameters_cell_index(notebook)
    validation = next(i for i, c in enumerate(notebook["cells"])
                      if i > index and c["cell_type"] == "code")
    assert error.cell_index == validation + 1
