"""bmlib.viz.appendices: the ledger's verdict bars follow the figure rules and stack the grid."""

import pandas as pd
import pytest
from matplotlib import pyplot as plt

from bmlib.book.collect import verdict_grid
from bmlib.book.ledger import Claim
from bmlib.viz.appendices import verdict_bars
from bmlib.viz.figures import check_figure


def claim(claim_id, verdict, location):
    return Claim(claim_id=claim_id, quote_zh="原话", gloss_en="gloss", location=location,
                 verdict=verdict, evidence="why", chapter="faq", anchor="faq-compute")


def test_verdict_bars_stack_each_section_to_its_total():
    grid = verdict_grid([claim("a", "wrong", "§1.1"), claim("b", "correct", "§1.2"),
                         claim("c", "opinion", "§9.9"), claim("d", "wrong", "abstract")])
    fig = verdict_bars(grid)
    check_figure(fig)  # title and labelled axes
    (ax,) = fig.axes
    assert ax.get_title() == "Verdicts on the essay's statements, by section"
    assert "count" in ax.get_ylabel()
    sections = list(grid.index.drop("all"))
    assert len(ax.patches) == len(sections) * 5  # one bar per section and verdict
    tops = {}
    order = [section for _ in grid.columns[:-1] for section in sections]  # verdict by verdict
    for patch, section in zip(ax.patches, order):
        tops[section] = max(tops.get(section, 0), patch.get_y() + patch.get_height())
    assert tops == {s: grid.loc[s, "total"] for s in sections}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(grid.columns[:-1])
    plt.close(fig)


def test_verdict_bars_refuse_an_empty_grid():
    with pytest.raises(ValueError, match="no section or no verdict"):
        verdict_bars(pd.DataFrame({"total": []}))
