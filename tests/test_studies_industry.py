"""The industry-background study, checked against independent arithmetic.

The market tests use small literal frames (the market-figures table is due to be replaced);
the others use the committed landmark-model, accelerator and event tables.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bmlib.data.tables import load_table
from bmlib.econ.costs import TransformerShape
from bmlib.studies import industry


@pytest.fixture(scope="module")
def models():
    return industry.with_training_compute(load_table("landmark_models").frame)


@pytest.fixture(scope="module")
def accelerators():
    return load_table("accelerators").frame


@pytest.fixture(scope="module")
def h100(accelerators):
    return industry.cost_assumptions(accelerators, "H100", mfu=0.4, price_usd_per_gpu_hour=3.78,
                                     pue=1.1, n_gpus=4096)


def market_frame() -> pd.DataFrame:
    """Four forecasts in the table's layout: the essay's first, one without a target."""
    return pd.DataFrame({
        "forecaster": ["essay", "A", "B", "C"],
        "published": ["undated", "2018", "2021", "2022"],
        "market": ["AI"] * 4,
        "base_year": [2021, 2018, 2020, 2021],
        "base_value_usd_billion": [36.9, 20.0, 60.0, 90.0],
        "target_year": [2028, 2025, 2028, np.nan],
        "target_value_usd_billion": [190.8, 20.0 * 1.3 ** 7, 900.0, np.nan],
        "stated_cagr_percent": [28.8, 30.0, 40.0, 38.0],
        "cagr_period": ["2021-2028", "2018-2025", "2021-2028", "2022-2030"],
    })


# --- market ------------------------------------------------------------------------------

def test_essay_forecast_matches_the_cagr_formula():
    essay = industry.essay_forecast(market_frame())
    assert essay.n_years == 7
    assert essay.cagr == pytest.approx((190.8 / 36.9) ** (1 / 7) - 1, rel=1e-12)
    assert essay.end_at_stated == pytest.approx(36.9 * 1.288 ** 7, rel=1e-12)
    assert essay.years_at_stated == pytest.approx(math.log(190.8 / 36.9) / math.log(1.288))
    assert essay.cagr_gap_pp == pytest.approx(28.8 - 100 * essay.cagr)
    corners = [100 * abs(((190.8 + t) / (36.9 + b)) ** (1 / 7) - 1 - essay.cagr)
               for b in (-0.05, 0.05) for t in (-0.05, 0.05)]
    assert essay.rounding_pp == pytest.approx(max(corners))
    assert 0 < essay.rounding_pp < 0.05  # rounding cannot explain a 4-point gap
    lines = essay.report().splitlines()
    assert len(lines) == 3 and f"{100 * essay.cagr:.2f} %" in lines[0]


def test_essay_glue_values_are_plain_and_named_for_the_prose():
    values = industry.essay_forecast(market_frame()).glue_values()
    assert values["ib_essay_years"] == 7 and isinstance(values["ib_essay_years"], int)
    assert values["ib_essay_base_year"] == 2021 and values["ib_essay_target_year"] == 2028
    assert values["ib_essay_cagr_gap"] == pytest.approx(28.8 - values["ib_essay_cagr"])


def test_forecast_table_recomputes_rates_and_flags_the_period():
    table = industry.forecast_table(market_frame())
    assert table.loc[1, "computed CAGR %"] == pytest.approx(30.0)  # built at exactly 30 %
    assert table.loc[1, "gap (pp)"] == pytest.approx(0.0)
    assert list(table["endpoints match stated period"]) == [True, True, False, False]
    assert table.loc[3, "target"] == "-" and np.isnan(table.loc[3, "computed CAGR %"])
    assert table.loc[2, "base"] == "60 (2020)"


def test_compare_forecasts_picks_the_rows_the_prose_discusses():
    market = market_frame()
    comparison = industry.compare_forecasts(market, industry.essay_forecast(market))
    assert comparison.n_forecasts == 3
    assert comparison.other_max_gap_pp == pytest.approx(0.0)  # only row 1 besides the essay
    assert comparison.gvr.forecaster == "B"  # endpoints wider than its stated period
    assert (comparison.target_min, comparison.target_max) == (20.0 * 1.3 ** 7, 900.0)
    values = comparison.glue_values()
    assert values["ib_gvr_period"] == "2021–2028"
    assert "ib_mnm_target" not in values and "ib_gvr_2021_ratio" not in values


# --- events ------------------------------------------------------------------------------

def test_dated_events_leave_the_frame_alone_and_date_the_deals():
    events = load_table("events").frame
    before = events.copy()
    dated = industry.dated_events(events)
    pd.testing.assert_frame_equal(events, before)
    assert str(dated.table["essay_year"].dtype) == "Int64"
    assert list(dated.table.columns) == list(industry.EVENT_COLUMNS)
    values = dated.glue_values()
    assert values["ib_ms_year"] == 2019 and values["ib_ms_day"] == "22 July"
    assert dated.deepmind_gap_years == int(dated.deepmind.essay_year) - 2014
    amazon = events[events.event_id.str.startswith("amazon-anthropic")].amount.sum()
    assert values["ib_amazon_total"] == pytest.approx(amazon)


# --- sizes and compute -------------------------------------------------------------------

def test_parameter_counts_compare_counted_with_stated(models):
    tiny = TransformerShape(vocab_size=10, d_model=4, n_layers=2, d_ff=16, n_positions=8)
    frame = pd.DataFrame({"model": ["tiny"], "parameters": [500]})
    counts = industry.parameter_counts(frame, {"tiny": tiny})
    block = (4 * 16 + 4 * 4) + (2 * 4 * 16 + 16 + 4) + 4 * 4
    expected = 2 * block + (10 + 8) * 4 + 2 * 4  # blocks, embeddings, final LayerNorm
    assert counts.counted("tiny") == expected
    assert counts.table.loc["tiny", "difference %"] == round(100 * (expected / 500 - 1), 2)
    with pytest.raises(KeyError, match="nope"):
        industry.parameter_counts(frame, {"nope": tiny})


def test_with_training_compute_adds_6nd_year_and_compute(models):
    raw = load_table("landmark_models").frame
    assert "flop_6nd" not in raw.columns  # the loaded frame is not changed
    gpt3 = models.set_index("model").loc["GPT-3"]
    assert gpt3.flop_6nd == pytest.approx(6 * 175e9 * 300e9)
    assert gpt3.year == pytest.approx(2020 + 4.5 / 12)  # released 2020-05: mid-May
    assert gpt3.compute == gpt3.published_training_flop  # published figure wins
    no_tokens = models[models.training_tokens.isna()]
    assert no_tokens.flop_6nd.isna().all() and len(no_tokens) > 0


def test_published_compute_check_ratio(models):
    check = industry.published_compute_check(models)
    assert check.table.loc["GPT-3", "6ND / published"] == round(6 * 175e9 * 300e9 / 3.14e23, 4)
    assert check.glue_values()["ib_n_published_flop"] == len(check.table)


def test_compute_growth_doubling_time_reproduces_the_factor(models):
    growth = industry.compute_growth(models)
    by_model = models.set_index("model")
    assert growth.factor == pytest.approx(by_model.loc[industry.FRONTIER, "compute"]
                                          / by_model.loc["GPT-3", "compute"])
    assert 2 ** (12 * growth.span_years / growth.doubling_months) == pytest.approx(growth.factor)
    assert growth.per_year ** growth.span_years == pytest.approx(growth.factor)
    assert growth.first_release == "May 2020"


# --- cost ----------------------------------------------------------------------------------

def test_cost_assumptions_read_nvidia_specs_and_drop_pcie(h100, accelerators):
    assert h100.accelerator.peak_flop_per_s == pytest.approx(989.5e12)
    assert not h100.prices.variant.str.contains("PCIe").any()
    assert (h100.prices.quantity == "rental_price").all() and len(h100.prices) >= 2
    assert "4096 GPUs in parallel" in h100.report()
    with pytest.raises(ValueError, match="B200"):
        industry.cost_assumptions(accelerators, "B200", 0.4, 3.0, 1.1, 8)


def test_training_costs_match_hand_arithmetic(models, h100):
    costs = industry.training_costs(models, ["GPT-3", industry.FRONTIER, "LLaMA-65B",
                                             "LLaMA-7B"], h100)
    hours = 6 * 175e9 * 300e9 / (989.5e12 * 0.4 * 3600)
    gpt3 = costs.estimates["GPT-3"]
    assert gpt3.gpu_hours == pytest.approx(hours)
    assert gpt3.cost_usd == pytest.approx(hours * 3.78)
    assert costs.table.loc["GPT-3", "days on 4096 GPUs"] == round(hours / 4096 / 24, 1)
    values = costs.glue_values(deal_usd_billion=10.0)
    assert values["ib_runs_per_deal"] == pytest.approx(
        10e9 / costs.estimates[industry.FRONTIER].cost_usd)


def test_implied_utilisation_inverts_the_gpu_hour_formula(models, accelerators):
    check = industry.implied_utilisation(models, accelerators)
    row = models.set_index("model").loc[check.table.index[0]]
    peak = 312e12 if row.hardware.startswith("A100") else 989.5e12
    expected = 6 * row.parameters * row.training_tokens / (row.published_gpu_hours * 3600 * peak)
    assert check.table.iloc[0]["implied MFU"] == round(expected, 3)
    assert 0 < check.table["implied MFU"].min() and check.table["implied MFU"].max() < 1


def test_cost_sensitivity_scales_with_price_and_inverse_mfu(models, h100):
    grid = np.array([0.2, 0.4])
    s = industry.cost_sensitivity(models, ["GPT-3"], h100, mfu_grid=grid)
    cost = s.cost_usd["GPT-3"]
    assert cost.shape == (len(h100.prices) + 1, 2)
    assert cost[:, 0] == pytest.approx(2 * cost[:, 1])  # half the utilisation, twice the cost
    prices = np.array(list(h100.prices.value) + [3.78])
    assert cost[:, 0] / cost[0, 0] == pytest.approx(prices / prices[0])


def test_cost_range_spans_price_and_utilisation(models, h100):
    span = industry.cost_range(models, h100, mfu_low=0.2, mfu_high=0.6)
    prices = h100.prices.value
    factor = (prices.max() / prices.min()) * (0.6 / 0.2)
    assert span.glue_values()["ib_l405_range_factor"] == pytest.approx(factor)
    with pytest.raises(ValueError, match="mfu_low"):
        industry.cost_range(models, h100, mfu_low=0.6, mfu_high=0.2)


def test_compute_optimal_sizes_spend_the_same_compute(models):
    table = industry.compute_optimal_sizes(models, ["GPT-3"]).table
    n_opt = math.sqrt(6 * 175e9 * 300e9 / (6 * 20))
    assert table.loc["GPT-3", "N_opt (B)"] == round(n_opt / 1e9, 1)
    assert table.loc["GPT-3", "D_opt (B tokens)"] == round(20 * n_opt / 1e9)
    assert table.loc["GPT-3", "tokens per parameter"] == round(300 / 175, 1)


def test_compute_growth_is_the_shared_frontier_compute_fact(models):
    from bmlib.econ.compute_facts import frontier_compute
    growth, facts = industry.compute_growth(models), frontier_compute(models)
    assert growth.factor == facts.ratio and growth.span_years == facts.span_years
    assert growth.doubling_months == facts.doubling_months
    assert growth.glue_values()["ib_growth_factor"] == facts.glue_values()["fact_compute_ratio"]
