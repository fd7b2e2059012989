"""Every teaching chapter ends with 3-6 graded exercises, each with a hidden solution whose code
checks its answer (read from the notebook sources; the code itself runs when the chapter does).

An exercise is a sphinx-exercise ``{exercise}`` directive whose title starts with its grade
(★, ★★ or ★★★) and whose body says what it practises; its solution sits between gated
``{solution-start} <label>`` (a dropdown, hidden until clicked) and ``{solution-end}``
directives, and every code cell in between ends its check with an ``assert``.
"""
from __future__ import annotations

import json
import re

import pytest

from bmlib.core.paths import repo_root

TEACHING = ("core_concepts", "algorithms", "mathematics", "cifar10_project", "language_model",
            "lm_scaling")
EXERCISE = re.compile(r"^:::\{exercise\} (?P<title>.+)\n:label: (?P<label>\S+)\n(?P<body>.*?)^:::$",
                      re.M | re.S)
GRADE = re.compile(r"^(★{1,3}) \S")
SOLUTION_START = re.compile(r"^:::\{solution-start\} (?P<label>\S+)\n(?P<options>(?::\w+:.*\n)*):::",
                            re.M)
SOLUTION_END = re.compile(r"^:::\{solution-end\}\n:::", re.M)


def _cells(name: str) -> list[dict]:
    notebook = json.loads((repo_root() / "chapters" / f"{name}.ipynb").read_text())
    return [{**cell, "text": "".join(cell["source"])} for cell in notebook["cells"]]


def _exercises(cells: list[dict]) -> list[re.Match]:
    return [m for c in cells if c["cell_type"] == "markdown" for m in EXERCISE.finditer(c["text"])]


def _solutions(cells: list[dict]) -> dict[str, list[dict]]:
    """label -> the cells of its solution (the markdown cells holding the gates included)."""
    solutions: dict[str, list[dict]] = {}
    current: str | None = None
    for cell in cells:
        start = SOLUTION_START.search(cell["text"]) if cell["cell_type"] == "markdown" else None
        if start:
            assert current is None, f"solution {start['label']} opens inside {current}"
            current = start["label"]
            assert current not in solutions, f"two solutions for {current}"
            assert ":class: dropdown" in start["options"], f"solution {current} is not hidden"
            solutions[current] = []
        if current is not None:
            solutions[current].append(cell)
            if cell["cell_type"] == "markdown" and SOLUTION_END.search(cell["text"]):
                current = None
    assert current is None, f"solution {current} is never closed"
    return solutions


@pytest.fixture(params=TEACHING)
def chapter(request) -> list[dict]:
    return _cells(request.param)


def test_three_to_six_graded_exercises(chapter):
    exercises = _exercises(chapter)
    assert 3 <= len(exercises) <= 6, f"{len(exercises)} exercises"
    for m in exercises:
        assert GRADE.match(m["title"]), f"{m['label']}: title {m['title']!r} has no ★ grade"
        assert "*Practises:*" in m["body"], f"{m['label']}: say what the exercise practises"


def test_every_exercise_has_one_hidden_solution(chapter):
    labels = [m["label"] for m in _exercises(chapter)]
    assert len(set(labels)) == len(labels), "duplicate exercise labels"
    solutions = _solutions(chapter)
    assert sorted(solutions) == sorted(labels), "exercises and solutions do not match"


def test_solution_code_checks_its_answer(chapter):
    for label, cells in _solutions(chapter).items():
        code = [c for c in cells if c["cell_type"] == "code"]
        for cell in code:
            assert re.search(r"^\s*assert ", cell["text"], re.M), f"{label}: a solution cell without assert"
            assert not re.search(r"^\s*(def|class) ", cell["text"], re.M), f"{label}: define no function"
            assert len(cell["text"].splitlines()) <= 15, f"{label}: a solution cell over 15 lines"


def test_exercises_come_last_before_the_run_card(chapter):
    code = [i for i, c in enumerate(chapter) if c["cell_type"] == "code"]
    assert "show_run_card" in chapter[code[-1]]["text"], "the run card must stay the last code cell"
    section = [i for i, c in enumerate(chapter)
               if c["cell_type"] == "markdown" and re.search(r"^## Exercises$", c["text"], re.M)]
    assert len(section) == 1, "one Exercises section"
    assert re.search(r"^\(\S+-exercises\)=$", chapter[section[0]]["text"], re.M), "label the section"
    exercise_cells = [i for i, c in enumerate(chapter)
                      if c["cell_type"] == "markdown" and EXERCISE.search(c["text"])]
    assert section[0] < min(exercise_cells) and max(exercise_cells) < code[-1]
    headings = [i for i, c in enumerate(chapter) if c["cell_type"] == "markdown"
                and re.search(r"^## ", c["text"], re.M)]
    after = [i for i in headings if i > section[0]]
    assert [chapter[i]["text"].splitlines()[0] for i in after] == ["## Run card"], \
        "only the run card follows the exercises"
    run_card = [i for i, c in enumerate(chapter) if c["cell_type"] == "markdown"
                and re.search(r"^## Run card$", c["text"], re.M)]
    assert len(run_card) == 1 and run_card[0] > section[0], "one run-card heading, after the exercises"


def test_the_site_loads_sphinx_exercise():
    config = (repo_root() / "_config.yml").read_text()
    assert re.search(r"^\s+- sphinx_exercise\b", config, re.M)
