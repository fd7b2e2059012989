"""Figures of the verdict chapter: money in and out, prices, unit economics, scenarios.

Each function takes a result of :mod:`bmlib.studies.verdict` and returns a titled figure with
labelled axes; the chapter shows it with :func:`bmlib.viz.figures.show_figure` and its alt
text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bmlib.viz.figures import PALETTE, new_figure

REGION_COLOURS = {"United States": PALETTE[0], "China": PALETTE[1], "Europe": PALETTE[2],
                  "other": PALETTE[6]}


def funding_figure(by_year: pd.DataFrame) -> Figure:
    """Stacked bars: new capital raised by model companies per year and region."""
    fig, ax = new_figure(width=7.0, height=3.8)
    bottom = np.zeros(len(by_year))
    for region, colour in REGION_COLOURS.items():
        if region not in by_year:
            continue
        values = by_year[region].to_numpy(float)
        ax.bar(by_year["year"], values, bottom=bottom, color=colour, label=region)
        bottom += values
    ax.set(title="New capital raised by AI model companies (sourced rounds only)",
           xlabel="year of announcement", ylabel="capital raised (USD billion)")
    ax.legend(frameon=False)
    return fig


def revenue_valuation_figure(multiples: pd.DataFrame, points: pd.DataFrame) -> Figure:
    """Left: valuation / annualised revenue at each round. Right: OpenAI's reported revenue
    and loss over time."""
    fig, (left, right) = new_figure(1, 2, width=10.0, height=3.9)
    for index, (company, part) in enumerate(multiples.groupby("company")):
        left.plot(part["date"], part["multiple"], marker="o", color=PALETTE[index],
                  label=company)
    left.set_yscale("log")
    left.set(title="Valuation over annualised revenue at each round",
             xlabel="round date", ylabel="valuation / revenue (x, log scale)")
    left.legend(frameon=False)
    openai = points[points["company"] == "OpenAI"]
    for metric, colour, label in (("annualized_revenue_run_rate", PALETTE[0], "revenue run-rate"),
                                  ("net_loss", PALETTE[1], "net loss (reported)")):
        part = openai[(openai["metric"] == metric) & (openai["period_months"] == 12)]
        right.scatter(part["when"], part["usd_million"] / 1000, color=colour, label=label)
    right.set(title="OpenAI: reported revenue and loss",
              xlabel="end of the period reported", ylabel="USD billion a year")
    right.legend(frameon=False)
    fig.autofmt_xdate()
    return fig


def price_figure(rows: pd.DataFrame, tiers: tuple[str, ...] = ("frontier", "mid", "small")
                 ) -> Figure:
    """Blended list price per million tokens over time, log axis, one colour per tier."""
    fig, ax = new_figure(width=7.4, height=4.2)
    for index, tier in enumerate(tiers):
        part = rows[rows["tier"] == tier]
        ax.scatter(part["observed"], part["blended"], color=PALETTE[index], label=tier, s=18)
    ax.set_yscale("log")
    ax.set(title="API list prices per million tokens (blended input/output)",
           xlabel="date the price took effect (or was read)",
           ylabel="USD per million tokens (log scale)")
    ax.legend(frameon=False, title="tier")
    fig.autofmt_xdate()
    return fig


def spend_figure(data_center: pd.Series, capex_2025: float, guidance_2026: float,
                 required: float, lab_revenue: float) -> Figure:
    """Nvidia data-centre revenue by fiscal year, hyperscaler capex, the revenue Sequoia's
    identity requires and the model companies' revenue, on one axis."""
    fig, ax = new_figure(width=8.0, height=4.0)
    ax.bar([f"Nvidia DC\nFY{y}" for y in data_center.index], data_center.to_numpy(float),
           color=PALETTE[0], label="Nvidia data-centre revenue")
    extra = {"capex 2025\n(4 firms)": (capex_2025, PALETTE[3]),
             "capex 2026\nguidance": (guidance_2026, PALETTE[3]),
             "required\nrevenue": (required, PALETTE[1]),
             "model cos.\nrevenue": (lab_revenue, PALETTE[2])}
    for label, (value, colour) in extra.items():
        ax.bar(label, value, color=colour)
    ax.set(title="Spend on AI infrastructure against the revenue it must earn",
           xlabel="series", ylabel="USD billion a year")
    ax.tick_params(axis="x", labelsize=7)
    return fig


def serving_figure(costs: pd.DataFrame, prices: dict[str, float]) -> Figure:
    """Serving cost per million tokens (horizontal bars) against chosen API list prices."""
    fig, ax = new_figure(width=7.6, height=4.4)
    ordered = costs.sort_values("usd_per_mtok")
    ax.barh(ordered["label"], ordered["usd_per_mtok"], color=PALETTE[0])
    for index, (name, price) in enumerate(prices.items()):
        ax.axvline(price, color=PALETTE[1 + index], linestyle="--", label=f"{name}: USD {price:g}")
    ax.set_xscale("log")
    ax.set(title="What a million generated tokens costs to serve (MLPerf throughput)",
           xlabel="USD per million tokens (log scale)", ylabel="model on accelerator")
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    return fig


def scenario_figure(output: pd.Series, tornado: pd.DataFrame) -> Figure:
    """Left: the Monte Carlo distribution of the revenue gap. Right: the tornado chart."""
    fig, (left, right) = new_figure(1, 2, width=10.5, height=4.0)
    left.hist(output, bins=60, color=PALETTE[0])
    left.axvline(0.0, color="black", linewidth=1)
    left.set(title="Revenue minus what the capex must earn",
             xlabel="USD billion a year (> 0: covered)", ylabel="draws (count)")
    rows = tornado.iloc[::-1]
    base = float(tornado["base"].iloc[0])
    for y, (_, row) in enumerate(rows.iterrows()):
        low, high = row["output_at_low"], row["output_at_high"]
        right.barh(y, high - base, left=base, color=PALETTE[2])
        right.barh(y, low - base, left=base, color=PALETTE[1])
    right.set_yticks(range(len(rows)), rows["assumption"], fontsize=7)
    right.axvline(base, color="black", linewidth=1)
    right.set(title="Sensitivity (red: low end, green: high end)",
              xlabel="revenue gap (USD billion a year)", ylabel="assumption")
    return fig


def notable_models_figure(models: pd.DataFrame) -> Figure:
    """Epoch AI's notable models per year, United States against China and the rest."""
    frame = models.copy()
    frame["year"] = pd.to_datetime(frame["publication_date"], errors="coerce").dt.year
    country = frame["country"].fillna("")
    frame["region"] = np.where(country.str.contains("China"), "China",
                               np.where(country.str.contains("United States"),
                                        "United States", "other"))
    counts = frame[frame["year"] >= 2012].groupby(["year", "region"]).size().unstack(fill_value=0)
    fig, ax = new_figure(width=7.0, height=3.8)
    for region in ("United States", "China", "other"):
        if region in counts:
            ax.plot(counts.index, counts[region], marker="o", label=region,
                    color=REGION_COLOURS.get(region, PALETTE[6]))
    ax.set(title="Notable AI models per year (Epoch AI)", xlabel="year of publication",
           ylabel="notable models (count)")
    ax.legend(frameon=False)
    return fig
