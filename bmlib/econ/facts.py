"""Tidy series from the row-sourced tables: funding by year, the latest revenue, capex.

Each function takes a table's DataFrame (``bmlib.data.row_sourced.load_row_sourced(...)
.frame``) and returns a new DataFrame; nothing is read from disk here and the input is never
modified. The rules that turn reported rows into series are stated where they are applied:

* one financing event may be reported by several sources (kept as separate rows when they
  disagree): rows of the same company, round and year are one event whose amount and
  valuation are the *median* of the reported ones;
* secondary sales, tender offers, cumulative totals, planned (not closed) rounds and
  "no outside round" rows are not new capital and are left out of capital raised;
* revenue "as of" a date is the latest run-rate or annual revenue reported for a period
  ending on or before it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

NOT_NEW_CAPITAL = re.compile(r"secondary|tender|cumulative|planned|no outside round", re.I)
REGIONS = {"US": "United States", "CN": "China", "FR": "Europe", "DE": "Europe",
           "GB": "Europe", "CA": "other", "IL": "other"}
REVENUE_METRICS = ("annualized_revenue_run_rate", "annual_revenue")


def period_to_timestamp(value: str) -> pd.Timestamp:
    """``2024`` -> 2024-12-31, ``2024-06`` -> 2024-06-30, ``2024-06-15`` -> itself: the END
    of the period a partial date names (a figure for "2024" refers to the whole year)."""
    text = str(value).strip()
    if re.fullmatch(r"\d{4}", text):
        return pd.Timestamp(f"{text}-12-31")
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return pd.Timestamp(f"{text}-01") + pd.offsets.MonthEnd(0)
    return pd.Timestamp(text)


def _round_base(text: str) -> str:
    text = str(text).strip()
    if text.lower().startswith("strategic"):
        inside = re.search(r"\(([^,)]+)", text)
        return f"strategic {inside.group(1).strip() if inside else ''}".strip().lower()
    return re.sub(r"\s*\(.*?\)\s*", " ", text).strip().lower()


def financing_events(rounds: pd.DataFrame) -> pd.DataFrame:
    """One row per financing event: company, country, region, round, date (earliest
    reported), year, amount (USD M, median of reports), valuation (USD B, median), the
    number of reports, and whether it is new capital."""
    frame = rounds.copy()
    frame["when"] = frame["date"].map(period_to_timestamp)
    frame["year"] = frame["when"].dt.year
    frame["event"] = (frame["company"] + " | " + frame["round"].map(_round_base) + " | "
                      + frame["year"].astype(str))
    grouped = frame.groupby("event", sort=False)
    events = pd.DataFrame({
        "company": grouped["company"].first(),
        "country": grouped["country"].first(),
        "round": grouped["round"].first(),
        "date": grouped["when"].min(),
        "year": grouped["year"].first(),
        "amount_usd_million": grouped["amount_usd_million"].median(),
        "valuation_usd_billion": grouped["post_money_valuation_usd_billion"].median(),
        "reports": grouped.size(),
        "new_capital": ~grouped["round"].first().str.contains(NOT_NEW_CAPITAL),
    }).reset_index(drop=True)
    events["region"] = events["country"].map(REGIONS).fillna("other")
    return events.sort_values("date").reset_index(drop=True)


def capital_by_year(events: pd.DataFrame) -> pd.DataFrame:
    """New capital raised (USD billion) and events counted, by year and region."""
    new = events[events["new_capital"] & events["amount_usd_million"].notna()]
    table = (new.groupby(["year", "region"])["amount_usd_million"].sum().div(1000)
             .unstack(fill_value=0.0))
    table["all regions"] = table.sum(axis=1)
    table["events with an amount"] = new.groupby("year").size()
    return table.reset_index()


def revenue_points(revenue: pd.DataFrame, usd_per_cny: float, usd_per_eur: float
                   ) -> pd.DataFrame:
    """Revenue and loss rows in USD million: USD rows as reported, CNY and EUR rows converted
    at the given rates (assumptions of the caller); ``when`` is the period's end."""
    frame = revenue.copy()
    frame["when"] = frame["period_end"].map(period_to_timestamp)
    rates = {"CNY": usd_per_cny, "EUR": usd_per_eur}
    usd = frame["value_usd_million"].astype(float)
    original = pd.to_numeric(frame["value_original"].astype(str).str.extract(
        r"^\s*([\d.]+)")[0], errors="coerce")
    scale = np.where(frame["value_original"].astype(str).str.contains("billion"), 1000.0, 1.0)
    converted = original * scale * frame["currency"].map(rates)
    frame["usd_million"] = usd.fillna(converted)
    frame["converted"] = usd.isna() & frame["usd_million"].notna()
    return frame


def latest_revenue(points: pd.DataFrame, as_of: str) -> pd.DataFrame:
    """Per company, the latest reported revenue for a period ending on or before ``as_of``,
    annualised: a run-rate as reported, a half-year x2, a quarter x4, nine months x12/9;
    when several reports share that date, their median."""
    cutoff = pd.Timestamp(as_of)
    rev = points[points["metric"].isin(REVENUE_METRICS) & (points["when"] <= cutoff)
                 & points["usd_million"].notna()].copy()
    partial = rev["metric"].eq("annual_revenue")
    rev.loc[partial, "usd_million"] = (rev.loc[partial, "usd_million"] * 12.0
                                       / rev.loc[partial, "period_months"].astype(float))
    latest = rev[rev["when"] == rev.groupby("company")["when"].transform("max")]
    return (latest.groupby("company").agg(when=("when", "first"),
                                          revenue_usd_million=("usd_million", "median"),
                                          metric=("metric", "first"),
                                          reports=("usd_million", "size"))
            .reset_index().sort_values("revenue_usd_million", ascending=False))


def capex_by_year(capex: pd.DataFrame, companies: tuple[str, ...]) -> pd.DataFrame:
    """Reported annual capex (USD billion) per company and fiscal year (``FY2024`` ->
    2024), guidance excluded; years a company lacks are missing, not zero."""
    rows = capex[(capex["metric"] == "capex") & capex["company"].isin(companies)
                 & capex["fiscal_period"].str.fullmatch(r"FY\d{4}")].copy()
    rows["year"] = rows["fiscal_period"].str[2:].astype(int)
    return rows.pivot_table(index="year", columns="company", values="value_usd_billion",
                            aggfunc="median")


def data_center_revenue_by_year(capex: pd.DataFrame) -> pd.Series:
    """Nvidia's reported data-centre revenue (USD billion) by fiscal year (FY ends late
    January: FY2025 is mostly calendar 2024)."""
    rows = capex[(capex["company"] == "Nvidia") & (capex["metric"] == "data_center_revenue")
                 & capex["fiscal_period"].str.fullmatch(r"FY\d{4}")]
    return rows.set_index(rows["fiscal_period"].str[2:].astype(int))["value_usd_billion"] \
        .sort_index()
