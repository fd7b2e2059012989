"""Uncertain assumptions as distributions: Monte Carlo and a one-at-a-time sensitivity.

An :class:`Assumption` is a named triangular distribution (low, most likely, high) with its
unit. :func:`monte_carlo` draws every assumption independently ``draws`` times from one
seeded generator and evaluates a model on each draw; :func:`tornado` moves one assumption
at a time to its low and its high end with the others at their most likely values, and
sorts them by the swing of the output - the chart that says which assumption matters.

The model the verdict chapter runs is :func:`capex_revenue_gap`: the revenue that one
year's AI capital spending must earn, against the AI revenue that exists in a target year.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from bmlib.econ.unit_economics import EconomicsInputError, annual_capital_charge


@dataclass(frozen=True)
class Assumption:
    """One uncertain input: a triangular distribution over [low, high] peaking at mode."""

    name: str  # a Python identifier: the model's keyword argument
    low: float
    mode: float  # most likely value
    high: float
    unit: str  # what the number means, e.g. "years", "fraction", "USD billion"

    def __post_init__(self) -> None:
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise EconomicsInputError(f"assumption {self.name!r}: need low <= mode <= high "
                                      f"and low < high, got {self.low}, {self.mode}, "
                                      f"{self.high}")


def assumptions_from(ranges: Mapping[str, tuple[float, float, float]],
                     units: Mapping[str, str]) -> list[Assumption]:
    """Build assumptions from ``{name: (low, mode, high)}`` (a chapter's parameters)."""
    missing = sorted(set(ranges) - set(units))
    if missing:
        raise EconomicsInputError(f"no unit for {missing}: say what each number means")
    return [Assumption(name, float(lo), float(mo), float(hi), units[name])
            for name, (lo, mo, hi) in ranges.items()]


def monte_carlo(model: Callable[..., float], assumptions: Sequence[Assumption], draws: int,
                seed: int, fixed: Mapping[str, float] | None = None) -> pd.DataFrame:
    """A frame with one row per draw: every assumption's value and the model's ``output``."""
    if draws < 10:
        raise EconomicsInputError(f"draws={draws}: use at least 10")
    rng = np.random.default_rng(seed)
    samples = {a.name: rng.triangular(a.low, a.mode, a.high, size=draws) for a in assumptions}
    frame = pd.DataFrame(samples)
    extra = dict(fixed or {})
    frame["output"] = [model(**{**extra, **row}) for row in frame.to_dict("records")]
    return frame


@dataclass(frozen=True)
class Summary:
    """Percentiles of a Monte Carlo output."""

    p10: float
    median: float
    p90: float
    share_positive: float  # fraction of draws with output > 0


def summarise(output: pd.Series) -> Summary:
    """10th, 50th and 90th percentiles and the share of draws above zero."""
    values = output.to_numpy(float)
    p10, median, p90 = np.percentile(values, [10, 50, 90])
    return Summary(float(p10), float(median), float(p90), float((values > 0).mean()))


def tornado(model: Callable[..., float], assumptions: Sequence[Assumption],
            fixed: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Output at each assumption's low and high end (others at their mode), sorted by swing."""
    base = {a.name: a.mode for a in assumptions} | dict(fixed or {})
    centre = model(**base)
    rows = []
    for a in assumptions:
        low, high = model(**{**base, a.name: a.low}), model(**{**base, a.name: a.high})
        rows.append({"assumption": a.name, "unit": a.unit, "low": a.low, "high": a.high,
                     "output_at_low": low, "output_at_high": high,
                     "swing": abs(high - low), "base": centre})
    return pd.DataFrame(rows).sort_values("swing", ascending=False).reset_index(drop=True)


def capex_revenue_gap(*, capex_usd_billion: float, ai_share_of_capex: float,
                      useful_life_years: float, cost_of_capital: float,
                      operating_cost_ratio: float, provider_gross_margin: float,
                      revenue_now_usd_billion: float, revenue_growth_per_year: float,
                      years_ahead: float) -> float:
    """USD billion a year by which AI revenue ``years_ahead`` from now falls short of (< 0)
    or exceeds (> 0) what one year of AI capex must earn.

    Required revenue = (annual capital charge of the AI share of capex, over its useful life
    at the cost of capital) x (1 + operating costs as a ratio of that charge) / (1 - the
    gross margin the providers need). Revenue then = revenue now x (1 + growth)^years.
    """
    if not 0 < ai_share_of_capex <= 1 or not 0 <= provider_gross_margin < 1:
        raise EconomicsInputError("ai_share_of_capex must be in (0, 1] and "
                                  "provider_gross_margin in [0, 1)")
    charge = annual_capital_charge(capex_usd_billion * ai_share_of_capex, useful_life_years,
                                   cost_of_capital)
    required = charge * (1.0 + operating_cost_ratio) / (1.0 - provider_gross_margin)
    revenue = revenue_now_usd_billion * (1.0 + revenue_growth_per_year) ** years_ahead
    return revenue - required
