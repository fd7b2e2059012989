"""The verdict chapter's economics: each formula against a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bmlib.data.row_sourced import load_row_sourced
from bmlib.econ import facts
from bmlib.econ.scenarios import (Assumption, assumptions_from, capex_revenue_gap, monte_carlo,
                                  summarise, tornado)
from bmlib.econ.unit_economics import (EconomicsInputError, annual_capital_charge,
                                       gross_margin, gross_profit_within, payback_months,
                                       price_trend, required_end_user_revenue,
                                       serving_cost_per_mtok, valuation_multiples)


def test_serving_cost_per_million_tokens_by_hand():
    # USD 2/h, 1,000 tokens/s, 50 % busy: 1.8 M tokens an hour -> USD 1.111 per M
    assert serving_cost_per_mtok(2.0, 1000.0, 0.5) == pytest.approx(2.0 / 1.8)
    assert gross_margin(price=4.0, cost=1.0) == pytest.approx(0.75)
    assert gross_margin(price=1.0, cost=2.0) == pytest.approx(-1.0)
    with pytest.raises(EconomicsInputError, match="utilisation"):
        serving_cost_per_mtok(2.0, 1000.0, 1.5)
    with pytest.raises(EconomicsInputError, match="tokens_per_second"):
        serving_cost_per_mtok(2.0, 0.0, 0.5)


def test_price_trend_recovers_a_tenfold_yearly_fall():
    dates = pd.Series(pd.to_datetime(["2022-01-01", "2023-01-01", "2024-01-01"]))
    prices = pd.Series([100.0, 10.0, 1.0])
    trend = price_trend(dates, prices)
    assert trend.yearly_factor == pytest.approx(0.1, rel=0.01)  # 365 vs 365.25 days
    assert trend.yearly_decline == pytest.approx(0.9, rel=0.01) and trend.points == 3
    with pytest.raises(EconomicsInputError, match="two prices"):
        price_trend(dates[:1], prices[:1])


def test_payback_with_constant_profit_is_cost_over_profit():
    assert payback_months(100.0, 10.0, 1.0, 1.0) == pytest.approx(10.0)
    assert payback_months(100.0, 10.0, 1.0, 1.0, horizon_months=5) is None
    # falling prices make it longer, growing volume shorter
    assert payback_months(100.0, 10.0, 1.0, 0.5) > 10.0
    assert payback_months(100.0, 10.0, 3.0, 1.0) < 10.0
    assert gross_profit_within(12, 10.0, 1.0, 1.0) == pytest.approx(120.0)
    growth = 2.0 ** (1 / 12)
    assert gross_profit_within(2, 1.0, 2.0, 1.0) == pytest.approx(1 + growth)


def test_sequoia_identity_gives_600_billion_from_150():
    # Cahn (2024): USD 150 B of Nvidia data-centre run-rate x 2 (GPUs are half the cost of
    # a data centre) x 2 (a 50 % gross margin for the buyer's end users) = USD 600 B
    assert required_end_user_revenue(150.0, 0.5, 0.5) == pytest.approx(600.0)


def test_capital_charge_is_an_annuity():
    assert annual_capital_charge(100.0, 5.0, 0.0) == pytest.approx(20.0)
    r, n = 0.1, 5
    assert annual_capital_charge(100.0, n, r) == pytest.approx(100 * r / (1 - (1 + r) ** -n))
    # present value of the payments equals the capex
    payment = annual_capital_charge(100.0, n, r)
    assert sum(payment / (1 + r) ** t for t in range(1, n + 1)) == pytest.approx(100.0)


def test_capex_gap_by_hand():
    gap = capex_revenue_gap(capex_usd_billion=100, ai_share_of_capex=0.5, useful_life_years=5,
                            cost_of_capital=0.0, operating_cost_ratio=0.5,
                            provider_gross_margin=0.5, revenue_now_usd_billion=10,
                            revenue_growth_per_year=1.0, years_ahead=2)
    # required: 50 / 5 = 10 a year, x 1.5 = 15, / 0.5 = 30; revenue 10 x 2^2 = 40
    assert gap == pytest.approx(10.0)


def test_monte_carlo_and_tornado():
    def model(a: float, b: float) -> float:
        return a - 2 * b

    assumptions = [Assumption("a", 0, 1, 2, "x"), Assumption("b", 0, 0.1, 1, "y")]
    draws = monte_carlo(model, assumptions, 2000, seed=0)
    np.testing.assert_allclose(draws["output"], draws["a"] - 2 * draws["b"])
    again = monte_carlo(model, assumptions, 2000, seed=0)
    assert draws.equals(again)
    summary = summarise(draws["output"])
    assert summary.p10 < summary.median < summary.p90 and 0 < summary.share_positive < 1
    table = tornado(model, assumptions)
    assert list(table["assumption"]) == ["a", "b"] or list(table["assumption"]) == ["b", "a"]
    assert table.loc[table.assumption == "b", "swing"].item() == pytest.approx(2.0)
    assert table.loc[table.assumption == "a", "swing"].item() == pytest.approx(2.0)
    with pytest.raises(EconomicsInputError, match="low <= mode <= high"):
        Assumption("c", 1, 0, 2, "x")
    with pytest.raises(EconomicsInputError, match="no unit"):
        assumptions_from({"a": (0, 1, 2)}, {})


def test_financing_events_merge_reports_and_drop_secondary_sales():
    rounds = pd.DataFrame({
        "company": ["A", "A", "A", "B"], "country": ["US", "US", "US", "CN"],
        "round": ["Series B", "Series B (reported)", "secondary sale", "Series A"],
        "date": ["2024-05", "2024-05-20", "2024-08", "2023"],
        "amount_usd_million": [100.0, 120.0, 50.0, np.nan],
        "post_money_valuation_usd_billion": [1.0, np.nan, 2.0, 0.5]})
    events = facts.financing_events(rounds)
    b = events[events["round"].str.startswith("Series B")].iloc[0]
    assert b["reports"] == 2 and b["amount_usd_million"] == pytest.approx(110.0)
    assert not events[events["round"] == "secondary sale"]["new_capital"].item()
    by_year = facts.capital_by_year(events)
    assert by_year.loc[by_year.year == 2024, "all regions"].item() == pytest.approx(0.11)
    assert facts.period_to_timestamp("2024") == pd.Timestamp("2024-12-31")
    assert facts.period_to_timestamp("2024-02") == pd.Timestamp("2024-02-29")


def test_latest_revenue_annualises_partial_periods_and_converts_currency():
    revenue = pd.DataFrame({
        "company": ["A", "A", "C"], "metric": ["annualized_revenue_run_rate", "annual_revenue",
                                               "annual_revenue"],
        "period_end": ["2024-12", "2025-06", "2024"], "period_months": [12, 6, 12],
        "value_usd_million": [100.0, 80.0, np.nan], "value_original": ["", "", "710 (7.1亿元)"],
        "currency": ["USD", "USD", "CNY"]})
    points = facts.revenue_points(revenue, usd_per_cny=0.1, usd_per_eur=1.0)
    latest = facts.latest_revenue(points, "2025-12-31").set_index("company")
    assert latest.loc["A", "revenue_usd_million"] == pytest.approx(160.0)  # half-year x 2
    assert latest.loc["C", "revenue_usd_million"] == pytest.approx(71.0)


def test_valuation_multiple_uses_the_latest_earlier_revenue():
    events = pd.DataFrame({"company": ["A"], "date": [pd.Timestamp("2025-03-01")],
                           "valuation_usd_billion": [60.0]})
    points = pd.DataFrame({"company": ["A", "A", "A"], "metric": [
        "annualized_revenue_run_rate"] * 3, "when": pd.to_datetime(
        ["2024-06-30", "2025-01-31", "2025-06-30"]), "usd_million": [500.0, 1000.0, 3000.0],
        "period_months": [12, 12, 12]})
    multiples = valuation_multiples(events, points)
    assert multiples["multiple"].item() == pytest.approx(60.0)


def test_the_committed_tables_feed_the_series():
    events = facts.financing_events(load_row_sourced("funding_rounds").frame)
    assert events["reports"].sum() == len(load_row_sourced("funding_rounds").frame)
    capex = load_row_sourced("ai_capex").frame
    dc = facts.data_center_revenue_by_year(capex)
    assert dc.index.is_monotonic_increasing and (dc > 0).all()
    assert math.isfinite(facts.capital_by_year(events)["all regions"].sum())
