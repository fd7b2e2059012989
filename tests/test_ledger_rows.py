"""Every claims-ledger row written in a chapter says what its verdict rests on.

The rows are ``Claim(...)`` calls in the chapters' code cells; this test reads the cell
sources (not the outputs, which lag until the chapter is re-executed) and checks that each call
passes ``basis=`` as a literal of ``bmlib.book.ledger.BASES``. Rows built in the library instead
(``Claim(**row)`` over a study's dicts: tests/test_studies_verdict.py; ``citation_claims``:
tests/test_book_collect.py) are checked where they are built.
"""

from __future__ import annotations

import ast
import json

import pytest

from bmlib.book.ledger import BASES
from bmlib.core.paths import repo_root

# Chapters whose ``Claim(**row)`` rows come from a library function, and that function's test.
BUILT_ELSEWHERE = {"bubble_or_gold_mine": "tests/test_studies_verdict.py"}


def _claim_calls():
    for path in sorted((repo_root() / "chapters").glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            source = cell["source"]
            source = "".join(source) if isinstance(source, list) else source
            if cell["cell_type"] != "code" or "Claim(" not in source:
                continue
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Claim":
                    yield path.stem, cell.get("id"), node


CALLS = list(_claim_calls())


def test_the_chapters_write_claim_rows():
    assert len(CALLS) > 90


@pytest.mark.parametrize("chapter, cell_id, node", CALLS,
                         ids=[f"{c}-{i}-{n.lineno}" for c, i, n in CALLS])
def test_every_claim_call_passes_a_basis_literal(chapter, cell_id, node):
    keywords = {k.arg: k.value for k in node.keywords}
    if None in keywords:  # Claim(**row): the rows' builder is tested where it is defined
        assert chapter in BUILT_ELSEWHERE, (
            f"{chapter} cell {cell_id}: Claim(**...) rows must come from a tested builder")
        return
    claim_id = ast.literal_eval(keywords["claim_id"]) if "claim_id" in keywords else "?"
    assert "basis" in keywords, f"{chapter} cell {cell_id}: {claim_id} has no basis="
    value = keywords["basis"]
    assert isinstance(value, ast.Constant) and value.value in BASES, (
        f"{chapter} cell {cell_id}: {claim_id} basis must be a literal of {BASES}, "
        f"not {ast.unparse(value)}")
