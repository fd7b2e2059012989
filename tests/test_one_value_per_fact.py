"""One value per fact (README, "Contributing"): a glued name is computed in one place, and
where two estimates of one quantity are both shown, the text names both."""

import ast
import json
import re
from collections import defaultdict

import pytest

from bmlib.book.notebooks import chapter_notebooks
from bmlib.core.paths import repo_root
from bmlib.data.tables import load_table
from bmlib.econ import compute_facts
from bmlib.studies import industry

GLUE_ROLE = re.compile(r"\{glue:text\}`([A-Za-z0-9_]+)")

#: Two estimates of one quantity: (the one to quote, the other). A markdown cell that shows
#: the other must show the one to quote too, and say why they differ.
ESTIMATE_PAIRS = [
    ("fact_compute_ratio", "fact_compute_ratio_6nd"),  # published FLOP vs 6·N·D
    ("outlook_compute_doubling_months", "fact_compute_doubling_months_endpoints"),  # fit vs ends
]


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _cells():
    for path in chapter_notebooks():
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            yield path.stem, cell


def _glued_in_code(source):
    """Names a code cell glues: string keys of dict literals passed to glue_values, and the
    first argument of glue(...)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("glue", "glue_values"):
            for arg in node.args[:1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    names.add(arg.value)
                if isinstance(arg, ast.Dict):
                    names |= {k.value for k in arg.keys
                              if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return names


def test_no_glue_name_is_returned_by_two_library_modules():
    owners = defaultdict(set)
    for path in (repo_root() / "bmlib").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "glue_values":
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Dict):
                        for key in sub.keys:
                            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                                owners[key.value].add(str(path.relative_to(repo_root())))
    twice = {name: sorted(paths) for name, paths in owners.items() if len(paths) > 1}
    assert not twice, ("glue names computed in two modules (compute the fact once, e.g. in "
                       f"bmlib/econ/, and return it from one glue_values()): {twice}")


def test_a_name_glued_by_two_chapters_is_a_shared_fact():
    chapters = defaultdict(set)
    for chapter, cell in _cells():
        if cell["cell_type"] != "code":
            continue
        names = _glued_in_code(_source(cell))
        names |= {o["metadata"]["scrapbook"]["name"] for o in cell.get("outputs", [])
                  if "scrapbook" in o.get("metadata", {})}
        for name in names:
            chapters[name].add(chapter)
    twice = {name: sorted(where) for name, where in chapters.items()
             if len(where) > 1 and name not in compute_facts.SHARED_GLUE_NAMES}
    assert not twice, ("the same glue name glued by two chapters: compute it once (a function "
                       "in bmlib/econ/ listed in compute_facts.SHARED_GLUE_NAMES, or read the "
                       f"other chapter's value with bmlib.book.glued.glued_values): {twice}")


@pytest.mark.parametrize("quote, other", ESTIMATE_PAIRS)
def test_a_second_estimate_is_shown_beside_the_one_to_quote(quote, other):
    for chapter, cell in _cells():
        names = set(GLUE_ROLE.findall(_source(cell))) if cell["cell_type"] == "markdown" else set()
        assert other not in names or quote in names, (
            f"{chapter} cell {cell.get('id')} shows {other} without {quote}: name both "
            "estimates in the same paragraph and say which to quote and why")


def test_the_industry_doubling_time_points_to_the_fitted_trend():
    cells = [_source(c) for ch, c in _cells() if ch == "industry_background"
             and c["cell_type"] == "markdown" and "ib_doubling_months" in _source(c)]
    assert cells and all("outlook-compute" in text for text in cells)


def test_the_known_pairs_come_from_one_function():
    landmarks = load_table("landmark_models").frame
    facts = compute_facts.frontier_compute(landmarks)
    growth = industry.compute_growth(industry.with_training_compute(landmarks))
    assert growth.factor == facts.ratio  # the industry chapter's x121
    assert growth.doubling_months == facts.doubling_months  # its doubling time
    assert facts.ratio_6nd == pytest.approx(facts.ratio, rel=0.02)  # the FAQ's 6·N·D: ~1 % off
    assert facts.ratio_6nd != facts.ratio
    sources = "".join(_source(c) for _, c in _cells())
    assert "faq_flop_ratio" not in sources  # the FAQ's own copy of the ratio is gone


def test_frontier_compute_arithmetic():
    frame = load_table("landmark_models").frame
    facts = compute_facts.frontier_compute(frame, "GPT-3", "Llama 3.1 405B (paper)")
    assert facts.first_flop_6nd == pytest.approx(6 * 175e9 * 300e9)
    assert 2 ** (12 * facts.span_years / facts.doubling_months) == pytest.approx(facts.ratio)
    assert compute_facts.release_year("2020-05") == pytest.approx(2020 + 4.5 / 12)
    assert tuple(facts.glue_values()) == compute_facts.SHARED_GLUE_NAMES
    with pytest.raises(ValueError):
        compute_facts.doubling_months(0.5, 2.0)


def test_glued_in_code_reads_glue_calls():
    assert _glued_in_code('glue_values({"a": 1, **x.glue_values()})\nglue("b", 2)') == {"a", "b"}
