"""Figures of the industry-background study: model size and training compute over time, and
training cost against utilisation for each cited rental price.

Each function takes the study's results (or the landmark-model frame with its compute
columns) and returns the Figure; the chapter shows it with ``show_figure(fig, alt=...)``.
"""

from __future__ import annotations

from typing import Collection, Sequence

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bmlib.studies.industry import CostSensitivity
from bmlib.viz.figures import PALETTE, new_figure

ORGANISATIONS = ("Google", "OpenAI", "DeepMind", "Meta")  # one colour each, in PALETTE order
PRICE_LABEL_CHARS = 34  # legend entries keep the start of a price's condition


def landmark_models_figure(models: pd.DataFrame, labelled: Collection[str],
                           organisations: Sequence[str] = ORGANISATIONS) -> Figure:
    """Parameters (left) and training compute (right) against release date, log scales.

    ``models`` comes from ``bmlib.studies.industry.with_training_compute``; published
    compute is drawn filled, 6·N·D estimates open; the ``labelled`` models are annotated.
    """
    missing = {"year", "compute", "flop_6nd"} - set(models.columns)
    if missing:
        raise ValueError(f"models lack the columns {sorted(missing)}: pass the frame "
                         "returned by with_training_compute")
    fig, axes = new_figure(1, 2, width=11, height=4.3)
    for family, color in zip(organisations, PALETTE):
        rows = models[models.organisation == family]
        axes[0].scatter(rows.year, rows.parameters, color=color, label=family, zorder=3)
        pub = rows.dropna(subset=["published_training_flop"])
        est = rows[rows.published_training_flop.isna()].dropna(subset=["flop_6nd"])
        if len(pub):
            axes[1].scatter(pub.year, pub.compute, color=color, label=f"{family} (published)",
                            zorder=3)
        if len(est):
            axes[1].scatter(est.year, est.compute, facecolors="none", edgecolors=color,
                            label=f"{family} (6ND estimate)", zorder=3)
    for _, r in models[models.model.isin(labelled)].iterrows():
        axes[0].annotate(r.model, (r.year, r.parameters), textcoords="offset points",
                         xytext=(5, -10), fontsize=8)
        if not pd.isna(r.compute):
            axes[1].annotate(r.model, (r.year, r.compute), textcoords="offset points",
                             xytext=(5, -10), fontsize=8)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("parameters (count, log scale)")
    axes[0].set_title("Model size")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("training compute (FLOP, log scale)")
    axes[1].set_title("Training compute")
    for ax in axes:
        ax.set_xlabel("release date (year)")
        ax.legend(fontsize=7)
    fig.suptitle("Landmark language models, 2018-2024")
    return fig


def cost_sensitivity_figure(sensitivity: CostSensitivity) -> Figure:
    """One log-scale panel per model: cost of one run (million USD) against MFU, one line
    per cited price, the chapter's price dotted and its MFU dashed."""
    s = sensitivity
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    fig, axes = new_figure(1, len(s.cost_usd), width=11, height=4.6, squeeze=False)
    axes = axes[0]
    for ax, (name, cost) in zip(axes, s.cost_usd.items()):
        cited = zip(s.cited_prices, s.cited_conditions, cost[:-1], PALETTE)
        for price, condition, row, color in cited:
            ax.plot(s.mfu_grid, row / 1e6, color=color,
                    label=f"USD {price:.2f}: {condition.split(' (')[0][:PRICE_LABEL_CHARS]}")
        ax.plot(s.mfu_grid, cost[-1] / 1e6, color="black", linestyle=":",
                label=f"USD {s.parameter_price:.2f}: chapter parameter")
        ax.axvline(s.mfu_parameter, color="grey", linestyle="--",
                   label=f"MFU parameter {s.mfu_parameter:.2f}")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis="y", which="minor", labelsize=7)
        ax.set_xlabel("model FLOP utilisation (fraction of dense BF16 peak)")
        ax.set_ylabel("cost of one training run (million USD, log scale)")
        ax.set_title(f"{name} on {s.hardware}")
    axes[-1].legend(fontsize=7, loc="upper right")
    fig.suptitle("Training cost against utilisation, for each cited rental price")
    return fig
