"""The verdict chapter's study: evidence loading, series, verdict rules, claims, plots."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

from bmlib.data.price_snapshot import current_prices
from bmlib.data.tables import load_table
from bmlib.studies import verdict
from bmlib.viz import verdict as plots

AS_OF = "2026-11-30"


@pytest.fixture(scope="module")
def evidence():
    return verdict.load_evidence()


@pytest.fixture(scope="module")
def parts(evidence):
    fund = verdict.funding(evidence)
    rev = verdict.revenue(evidence, AS_OF, usd_per_cny=0.14, usd_per_eur=1.08)
    spend = verdict.spend(evidence, gpu_share=0.5, end_user_margin=0.5)
    price = verdict.prices(evidence, current_prices(), input_share=0.75)
    serve = verdict.serving(evidence, gpu_usd_per_hour=3.0, utilisation=0.5)
    return fund, rev, spend, price, serve


def test_revenue_and_history_glue_only_sourced_finite_values(evidence, parts):
    """Companies without a sourced revenue figure (Anthropic, whose run-rates were found only on
    secondhand sites) are left out of the totals instead of glued as NaN."""
    _, rev, _, _, _ = parts
    values = {**rev.glue_values(), **verdict.bubble_history(evidence)}
    assert all(math.isfinite(float(v)) for v in values.values())
    assert not rev.latest["company"].str.startswith("Anthropic").any()
    assert rev.glue_values()["v_rev_companies"] == len(rev.latest)


def test_summary_counts_every_row_once(evidence):
    summary = evidence.summary
    assert summary["rows"].sum() == sum(len(f) for f in evidence.tables.values())
    kinds = summary[["primary", "filing", "paper", "press", "encyclopedia"]].sum(axis=1)
    assert (kinds == summary["rows"]).all()
    glued = verdict.summary_glue(summary)
    assert 0 < glued["v_data_primary_share"] < 1


def test_funding_totals_equal_the_sum_of_new_capital_events(parts):
    fund = parts[0]
    new = fund.events[fund.events["new_capital"]]["amount_usd_million"].sum() / 1000
    assert fund.glue_values()["v_fund_total_b"] == pytest.approx(new)
    assert fund.glue_values()["v_fund_peak_year"] == int(
        fund.by_year.set_index("year")["all regions"].idxmax())


def test_sequoia_identity_in_the_chapter_is_spend_x4(parts):
    spend = parts[2]
    assert spend.required == pytest.approx(float(spend.data_center.iloc[-1]) * 4)


def test_serving_cost_follows_the_formula(parts):
    serve = parts[4]
    row = serve.throughput.iloc[0]
    expected = 3.0 / (float(row["tokens_per_second_per_accelerator"]) * 3600 * 0.5) * 1e6
    assert serve.cost_per_mtok.iloc[0]["usd_per_mtok"] == pytest.approx(expected)


def test_prices_fall_and_the_snapshot_mostly_agrees(parts):
    price = parts[3]
    glued = price.glue_values()
    assert 0 < glued["v_price_frontier_factor"] < 1
    assert glued["v_price_snapshot_same"] >= glued["v_price_snapshot_checked"] - 2
    assert price.china_cut == pytest.approx(1 - 0.0005 / 0.02)
    assert verdict.reference_price(price) > 0


def test_payback_cases_scale_with_revenue(parts):
    rev = parts[1]
    notable = load_table("epoch_notable_models").frame
    cost = verdict.frontier_run_cost(notable, since_year=2025)
    params = {"LAB_GROSS_MARGIN": 0.4, "NEWEST_MODEL_REVENUE_SHARE": 0.5,
              "VOLUME_GROWTH_PER_YEAR": 2.0, "MODEL_LIFETIME_MONTHS": 12.0}
    big, small = verdict.payback_cases(cost, rev, params, yearly_price_factor=0.8)
    assert big.months < small.months
    with pytest.raises(ValueError, match="no Epoch cost"):
        verdict.frontier_run_cost(notable, since_year=2100)


def _scenario():
    ranges = {"ai_share_of_capex": (0.5, 0.7, 0.9), "useful_life_years": (3, 5, 6),
              "cost_of_capital": (0.06, 0.09, 0.12), "operating_cost_ratio": (0.2, 0.35, 0.5),
              "provider_gross_margin": (0.3, 0.5, 0.6),
              "revenue_growth_per_year": (0.3, 0.8, 1.5)}
    return verdict.capex_scenario(ranges, verdict.SCENARIO_UNITS, 525.0, 37.0, 3.0, 500, 0)


def test_verdict_rules_follow_the_thresholds(evidence, parts):
    fund, rev, spend, price, serve = parts
    multiples = verdict.valuation(fund, rev)
    absorbed = verdict.absorbed_startups(evidence)
    scenario = _scenario()

    def table(**kw):
        th = verdict.Thresholds(**{"multiple_bar": 30.0, "growth_bar": 2.0,
                                   "absorbed_bar": 0.3, "covered_bar": 0.5, **kw})
        return verdict.segment_verdicts(fund, rev, spend, price, serve, multiples, absorbed,
                                        scenario, 3.0, th).set_index("segment")["verdict"]

    base = table()
    assert list(base.index) == ["frontier labs", "model-API start-ups", "application layer",
                                "infrastructure and chips", "China's model companies"]
    # a reader who accepts any multiple sees no bubble at the frontier
    assert table(multiple_bar=1e9)["frontier labs"] == "gold mine"
    # one who demands tenfold growth a year sees no gold mine there
    assert "gold" not in table(growth_bar=10.0, multiple_bar=1e9)["frontier labs"]
    assert table(absorbed_bar=0.99)["model-API start-ups"] == "neither yet"


def test_essay_claims_are_complete_ledger_rows(evidence, parts):
    from bmlib.book.ledger import Claim

    fund, rev = parts[0], parts[1]
    rows = verdict.essay_claims(fund, rev, verdict.absorbed_startups(evidence), 2.0)
    claims = [Claim(**row) for row in rows]
    assert len({c.claim_id for c in claims}) == len(claims) == 4
    from bmlib.book.ledger import BASES
    assert all(c.basis in BASES for c in claims)


def test_figures_have_titles_and_labels(parts, evidence):
    fund, rev, spend, price, serve = parts
    figures = [plots.funding_figure(fund.by_year),
               plots.revenue_valuation_figure(verdict.valuation(fund, rev), rev.points),
               plots.price_figure(price.rows),
               plots.spend_figure(spend.data_center, 300.0, 500.0, spend.required, 37.0),
               plots.serving_figure(serve.cost_per_mtok, {"price": 1.5}),
               plots.scenario_figure(_scenario().draws["output"], _scenario().tornado),
               plots.notable_models_figure(load_table("epoch_notable_models").frame)]
    for fig in figures:
        for ax in fig.axes:
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
