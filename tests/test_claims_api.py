import pytest

from bmlib.book.ledger import VERDICTS, Claim, ClaimError, claims_in_notebook, html_id, show_claims


def make(**changes):
    values = dict(claim_id="demo-claim", quote_zh="原文", gloss_en="the text",
                  location="§1", verdict="wrong", evidence="computed 1.0 vs 2.0",
                  chapter="core_concepts", anchor="core_concepts-map")
    values.update(changes)
    return Claim(**values)


def test_href_uses_sphinx_ids():
    assert html_id("core_concepts-map") == "core-concepts-map"
    assert make().href == "core_concepts.html#core-concepts-map"


@pytest.mark.parametrize("field,value,message", [
    ("verdict", "maybe", "verdict 'maybe' is not one of"),
    ("evidence", " ", "evidence is empty"),
    ("claim_id", "Bad Id", "use kebab-case"),
    ("anchor", "Has Space", "must be a MyST label"),
])
def test_incomplete_rows_are_rejected(field, value, message):
    with pytest.raises(ClaimError, match=message):
        make(**{field: value})


def test_verdict_vocabulary():
    assert VERDICTS == ("correct", "wrong", "unsupported", "misleading", "opinion")


def test_show_and_collect_round_trip(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display",
                        lambda obj, raw, metadata: shown.append((obj, metadata)))
    claims = [make(), make(claim_id="second")]
    assert show_claims(claims) is None
    bundle, metadata = shown[0]
    assert "[wrong] §1 demo-claim" in bundle["text/plain"]
    notebook = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data", "data": bundle, "metadata": metadata}]}]}
    assert claims_in_notebook(notebook) == claims


def test_duplicate_ids_are_rejected(monkeypatch):
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    with pytest.raises(ClaimError, match="duplicate claim ids"):
        show_claims([make(), make()])
