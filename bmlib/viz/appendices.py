"""Plots of the appendices: the claims ledger's verdicts by section of the essay."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from bmlib.viz.figures import PALETTE, new_figure

#: One colour per ledger verdict (green right, red wrong, grey opinion).
VERDICT_COLORS = {"correct": "#2ca02c", "wrong": "#d62728", "unsupported": "#ff7f0e",
                  "misleading": "#9467bd", "opinion": "#7f7f7f"}


def verdict_bars(grid: pd.DataFrame) -> Figure:
    """Stacked bars of ledger rows per section, one colour per verdict.

    ``grid``: :func:`bmlib.book.collect.verdict_grid` — sections as rows, verdicts as
    columns (in stacking order), plus the ``total`` column and ``all`` row it adds, which
    are not drawn.
    """
    body = grid.drop(index="all", errors="ignore").drop(columns="total", errors="ignore")
    if body.empty or not len(body.columns):
        raise ValueError("verdict_bars: the grid has no section or no verdict to draw")
    fig, ax = new_figure(width=9, height=4.5)
    bottom = pd.Series(0, index=body.index)
    for index, verdict in enumerate(body.columns):
        color = VERDICT_COLORS.get(verdict, PALETTE[index % len(PALETTE)])
        ax.bar(body.index, body[verdict], bottom=bottom, color=color, label=verdict)
        bottom = bottom + body[verdict]
    ax.set_title("Verdicts on the essay's statements, by section")
    ax.set_xlabel("section of the essay")
    ax.set_ylabel("statements (count)")
    ax.legend(fontsize=8)
    return fig
