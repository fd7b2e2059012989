"""Unit economics of large models: serving cost per token, gross margin, price decline,
the payback of a training run, valuation multiples and the revenue that capex implies.

Pure functions of their arguments, units in every name. The formulas (shown in the verdict
chapter) are:

* serving cost per million tokens = GPU price per hour / (tokens per second per GPU x 3,600
  x utilisation) x 10^6;
* gross margin = 1 - cost / price;
* the yearly price factor of a tier is exp(365.25 x slope) of a least-squares line through
  log(price) against time in days;
* a training run pays back when the gross profit it earns before the next model replaces it,
  sum over months t < T of g0 x (growth x price factor)^(t / 12), reaches its cost;
* Sequoia's "$600B question" (Cahn, 2024): the revenue end users must pay for a year of GPU
  spend S is S x (1 / GPU share of data-centre cost) x (1 / (1 - end users' gross margin)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


class EconomicsInputError(ValueError):
    """An input outside the range where the formula means anything."""


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise EconomicsInputError(f"{name}={value!r}: must be a positive number")


def _fraction(**values: float) -> None:
    for name, value in values.items():
        if not (isinstance(value, (int, float)) and 0 < value <= 1):
            raise EconomicsInputError(f"{name}={value!r}: must be a fraction in (0, 1]")


def serving_cost_per_mtok(gpu_usd_per_hour: float, tokens_per_second_per_gpu: float,
                          utilisation: float) -> float:
    """USD per million generated tokens for one GPU rented at ``gpu_usd_per_hour`` that
    serves ``tokens_per_second_per_gpu`` when busy and is busy a ``utilisation`` share."""
    _positive(gpu_usd_per_hour=gpu_usd_per_hour,
              tokens_per_second_per_gpu=tokens_per_second_per_gpu)
    _fraction(utilisation=utilisation)
    return gpu_usd_per_hour / (tokens_per_second_per_gpu * 3600.0 * utilisation) * 1e6


def gross_margin(price: float, cost: float) -> float:
    """1 - cost / price (negative: every unit sold loses money)."""
    _positive(price=price)
    if cost < 0:
        raise EconomicsInputError(f"cost={cost!r}: must not be negative")
    return 1.0 - cost / price


@dataclass(frozen=True)
class PriceTrend:
    """A least-squares line through log(price) against time."""

    yearly_factor: float  # price after one year / price now (0.1 = falls 10x a year)
    first: pd.Timestamp  # first price date used
    last: pd.Timestamp  # last price date used
    points: int  # prices fitted

    @property
    def yearly_decline(self) -> float:
        """Fraction by which the price falls in a year (0.9 = falls by 90 %)."""
        return 1.0 - self.yearly_factor


def price_trend(dates: pd.Series, prices: pd.Series) -> PriceTrend:
    """Fit log(price) = a + b t (t in days) and return exp(365.25 b) with the span used."""
    when = pd.to_datetime(dates)
    keep = prices.notna() & (prices > 0) & when.notna()
    if keep.sum() < 2 or when[keep].nunique() < 2:
        raise EconomicsInputError("a price trend needs at least two prices on two dates")
    days = (when[keep] - when[keep].min()).dt.days.to_numpy(float)
    slope = np.polyfit(days, np.log(prices[keep].to_numpy(float)), 1)[0]
    return PriceTrend(float(math.exp(365.25 * slope)), when[keep].min(), when[keep].max(),
                      int(keep.sum()))


def payback_months(training_cost_usd: float, monthly_gross_profit_usd: float,
                   yearly_volume_growth: float, yearly_price_factor: float,
                   horizon_months: int = 120) -> float | None:
    """Months until cumulative gross profit, starting at ``monthly_gross_profit_usd`` and
    changing each year by ``yearly_volume_growth`` (2.0 = doubles) x ``yearly_price_factor``
    (0.5 = halves), first covers ``training_cost_usd``; None if not within the horizon."""
    _positive(training_cost_usd=training_cost_usd,
              monthly_gross_profit_usd=monthly_gross_profit_usd,
              yearly_volume_growth=yearly_volume_growth,
              yearly_price_factor=yearly_price_factor)
    monthly = (yearly_volume_growth * yearly_price_factor) ** (1.0 / 12.0)
    total = 0.0
    for month in range(horizon_months):
        total += monthly_gross_profit_usd * monthly ** month
        if total >= training_cost_usd:
            # the fraction of the last month needed, for a continuous answer
            this = monthly_gross_profit_usd * monthly ** month
            return month + 1 - (total - training_cost_usd) / this
    return None


def gross_profit_within(months: float, monthly_gross_profit_usd: float,
                        yearly_volume_growth: float, yearly_price_factor: float) -> float:
    """Gross profit earned over ``months`` (the model's life before its successor)."""
    _positive(months=months, monthly_gross_profit_usd=monthly_gross_profit_usd,
              yearly_volume_growth=yearly_volume_growth,
              yearly_price_factor=yearly_price_factor)
    monthly = (yearly_volume_growth * yearly_price_factor) ** (1.0 / 12.0)
    whole = int(months)
    total = sum(monthly_gross_profit_usd * monthly ** m for m in range(whole))
    return total + (months - whole) * monthly_gross_profit_usd * monthly ** whole


def required_end_user_revenue(gpu_spend_usd_billion: float, gpu_share_of_dc_cost: float,
                              end_user_gross_margin: float) -> float:
    """Sequoia's identity: revenue (USD billion) end users must pay so that a year of GPU
    spend is earned back: spend / GPU share of data-centre cost / (1 - end-user margin)."""
    _positive(gpu_spend_usd_billion=gpu_spend_usd_billion)
    _fraction(gpu_share_of_dc_cost=gpu_share_of_dc_cost)
    if not 0 <= end_user_gross_margin < 1:
        raise EconomicsInputError(f"end_user_gross_margin={end_user_gross_margin!r}: use 0-1")
    return gpu_spend_usd_billion / gpu_share_of_dc_cost / (1.0 - end_user_gross_margin)


def annual_capital_charge(capex_usd_billion: float, useful_life_years: float,
                          cost_of_capital: float) -> float:
    """The yearly payment that repays ``capex`` with interest over its useful life (an
    annuity): capex x r / (1 - (1 + r)^-L); straight-line depreciation when r = 0."""
    _positive(capex_usd_billion=capex_usd_billion, useful_life_years=useful_life_years)
    if cost_of_capital < 0:
        raise EconomicsInputError(f"cost_of_capital={cost_of_capital!r}: must be >= 0")
    if cost_of_capital == 0:
        return capex_usd_billion / useful_life_years
    r = cost_of_capital
    return capex_usd_billion * r / (1.0 - (1.0 + r) ** -useful_life_years)


def valuation_multiples(events: pd.DataFrame, revenue_points: pd.DataFrame,
                        max_age_days: int = 400) -> pd.DataFrame:
    """Valuation / annualised revenue for every financing event with a valuation, using the
    company's latest revenue reported for a period ending within ``max_age_days`` before the
    event (run-rates as reported, partial periods annualised)."""
    rev = revenue_points[revenue_points["metric"].isin(
        ("annualized_revenue_run_rate", "annual_revenue")) & revenue_points["usd_million"]
        .notna()].copy()
    partial = rev["metric"].eq("annual_revenue")
    rev.loc[partial, "usd_million"] = (rev.loc[partial, "usd_million"] * 12.0
                                       / rev.loc[partial, "period_months"].astype(float))
    rows = []
    for _, event in events[events["valuation_usd_billion"].notna()].iterrows():
        mine = rev[(rev["company"].str.split().str[0] == str(event["company"]).split()[0])
                   & (rev["when"] <= event["date"])
                   & (rev["when"] >= event["date"] - pd.Timedelta(days=max_age_days))]
        if mine.empty:
            continue
        latest = mine[mine["when"] == mine["when"].max()]
        revenue = float(latest["usd_million"].median())
        rows.append({"company": event["company"], "date": event["date"],
                     "valuation_usd_billion": float(event["valuation_usd_billion"]),
                     "revenue_usd_billion": revenue / 1000.0,
                     "revenue_date": latest["when"].iloc[0],
                     "multiple": float(event["valuation_usd_billion"]) / (revenue / 1000.0)})
    return pd.DataFrame(rows)
