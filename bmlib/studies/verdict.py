"""The verdict chapter's evidence: money in, money out, revenue, prices, unit economics.

Every function takes the row-sourced tables (``bmlib.data.row_sourced``) and the chapter's
assumptions and returns a frozen result whose ``glue_values()`` gives the chapter's glued
numbers. Figures are drawn by :mod:`bmlib.viz.verdict`; the formulas are in
:mod:`bmlib.econ.unit_economics` and :mod:`bmlib.econ.scenarios`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from bmlib.data.row_sourced import available, load_row_sourced
from bmlib.econ import facts
from bmlib.econ.scenarios import (Summary, assumptions_from, capex_revenue_gap, monte_carlo,
                                  summarise, tornado)
from bmlib.econ.unit_economics import (payback_months, price_trend,
                                       required_end_user_revenue, serving_cost_per_mtok,
                                       valuation_multiples)

HYPERSCALERS = ("Microsoft", "Alphabet", "Amazon", "Meta", "Oracle")
FRONTIER_LABS = ("OpenAI", "Anthropic", "xAI")
API_STARTUPS = ("Mistral AI", "Cohere", "AI21 Labs", "Inflection AI", "Adept AI",
                "Character.AI", "Stability AI", "Aleph Alpha")
ABSORBED = ("licence_and_hire", "acquisition", "pivot")


@dataclass(frozen=True)
class Evidence:
    """The tables, loaded and checked once."""

    tables: dict[str, pd.DataFrame]
    summary: pd.DataFrame  # table, rows, source kinds, gaps

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def load_evidence() -> Evidence:
    """Load every table of ``data/econ`` (checksums, sources and blocked domains checked)."""
    tables, rows = {}, []
    for name in available():
        table = load_row_sourced(name)
        tables[name] = table.frame
        counts = table.source_counts()
        rows.append({"table": name, "rows": len(table.frame), **counts,
                     "primary or filing (%)": round(100 * (counts["primary"] + counts["filing"]
                                                           + counts["paper"])
                                                    / len(table.frame)),
                     "gaps listed": len(table.record.gaps)})
    return Evidence(tables, pd.DataFrame(rows))


@dataclass(frozen=True)
class Funding:
    events: pd.DataFrame  # one row per financing event
    by_year: pd.DataFrame  # new capital (USD B) by year and region
    largest: pd.DataFrame  # the largest events

    def glue_values(self) -> dict[str, Any]:
        year = self.by_year.set_index("year")["all regions"]
        new = self.events[self.events["new_capital"]]
        china = self.by_year["China"].sum() if "China" in self.by_year else 0.0
        return {"v_fund_events": len(self.events), "v_fund_reports": int(self.events["reports"].sum()),
                "v_fund_total_b": float(year.sum()), "v_fund_2023_b": float(year.get(2023, 0.0)),
                "v_fund_2024_b": float(year.get(2024, 0.0)), "v_fund_2025_b": float(year.get(2025, 0.0)),
                "v_fund_2026_b": float(year.get(2026, 0.0)),
                "v_fund_peak_year": int(year.idxmax()),
                "v_fund_china_share": float(china / year.sum()),
                "v_fund_new_events": int(new["amount_usd_million"].notna().sum())}


def funding(evidence: Evidence) -> Funding:
    events = facts.financing_events(evidence["funding_rounds"])
    largest = (events[events["new_capital"]].nlargest(8, "amount_usd_million")
               [["company", "round", "date", "amount_usd_million", "valuation_usd_billion"]])
    return Funding(events, facts.capital_by_year(events), largest.reset_index(drop=True))


@dataclass(frozen=True)
class Revenue:
    points: pd.DataFrame  # every revenue and loss row, in USD million
    latest: pd.DataFrame  # per company, latest annualised revenue as of the chapter's date
    as_of: str

    def loss_ratio(self, company: str, year: int) -> float | None:
        """Net loss / revenue of ``company`` in calendar ``year`` (full-year rows only)."""
        rows = self.points[(self.points["company"].str.startswith(company))
                           & (self.points["when"].dt.year == year)
                           & (self.points["period_months"] == 12)]
        loss = rows[rows["metric"] == "net_loss"]["usd_million"].median()
        revenue = rows[rows["metric"].isin(("annual_revenue", "revenue_forecast"))][
            "usd_million"].median()
        return None if pd.isna(loss) or pd.isna(revenue) else float(loss / revenue)

    def run_rate(self, company: str, year: int) -> float:
        rows = self.points[(self.points["company"] == company) & (self.points["when"].dt.year
                                                                   == year)
                           & (self.points["metric"] == "annualized_revenue_run_rate")]
        return float(rows["usd_million"].max())

    def glue_values(self) -> dict[str, Any]:
        latest = self.latest.set_index("company")["revenue_usd_million"]
        labs = latest[[c for c in latest.index if not c.startswith("Microsoft")]]
        frontier = latest[[c for c in latest.index if c in FRONTIER_LABS]]
        openai_growth = self.run_rate("OpenAI", 2025) / self.run_rate("OpenAI", 2023)
        return {"v_rev_labs_b": float(labs.sum() / 1000), "v_rev_frontier_b": float(frontier.sum() / 1000),
                "v_rev_openai_b": float(latest.get("OpenAI", np.nan) / 1000),
                "v_rev_msft_b": float(latest[[c for c in latest.index if c.startswith("Microsoft")]].sum() / 1000),
                "v_rev_openai_growth": float(openai_growth),
                "v_rev_openai_loss_ratio_2024": float(self.loss_ratio("OpenAI", 2024)),
                "v_rev_zhipu_loss_ratio_2024": float(self.loss_ratio("Zhipu", 2024)),
                "v_rev_companies": int(len(latest))}


def revenue(evidence: Evidence, as_of: str, usd_per_cny: float, usd_per_eur: float) -> Revenue:
    points = facts.revenue_points(evidence["revenue_losses"], usd_per_cny, usd_per_eur)
    return Revenue(points, facts.latest_revenue(points, as_of), as_of)


@dataclass(frozen=True)
class Spend:
    capex: pd.DataFrame  # reported annual capex by company (USD B)
    guidance_2026: pd.DataFrame  # the latest 2026 guidance per company
    data_center: pd.Series  # Nvidia data-centre revenue by fiscal year (USD B)
    required: float  # Sequoia's required end-user revenue for the latest fiscal year (USD B)
    gpu_share: float
    end_user_margin: float

    def glue_values(self) -> dict[str, Any]:
        latest_fy = int(self.data_center.index.max())
        first_fy = int(self.data_center.index.min())
        return {"v_capex_2026_guidance_b": float(self.guidance_2026["value_usd_billion"].sum()),
                "v_capex_2026_companies": int(len(self.guidance_2026)),
                "v_capex_2025_b": float(self.capex.loc[2025].sum()) if 2025 in self.capex.index else 0.0,
                "v_capex_2025_companies": int(self.capex.loc[2025].notna().sum()) if 2025 in self.capex.index else 0,
                "v_dc_latest_fy": latest_fy, "v_dc_latest_b": float(self.data_center[latest_fy]),
                "v_dc_first_fy": first_fy, "v_dc_first_b": float(self.data_center[first_fy]),
                "v_dc_growth": float(self.data_center[latest_fy] / self.data_center[first_fy]),
                "v_seq_required_b": float(self.required), "v_seq_gpu_share": self.gpu_share,
                "v_seq_margin": self.end_user_margin}


def spend(evidence: Evidence, gpu_share: float, end_user_margin: float) -> Spend:
    capex = evidence["ai_capex"]
    guidance = capex[(capex["metric"] == "capex_guidance")
                     & capex["period_end"].str.startswith("2026")].copy()
    guidance = guidance.sort_values("published").groupby("company").tail(1)
    dc = facts.data_center_revenue_by_year(capex)
    required = required_end_user_revenue(float(dc.iloc[-1]), gpu_share, end_user_margin)
    return Spend(facts.capex_by_year(capex, HYPERSCALERS),
                 guidance[["company", "fiscal_period", "value_usd_billion"]].reset_index(drop=True),
                 dc, required, gpu_share, end_user_margin)


@dataclass(frozen=True)
class Prices:
    rows: pd.DataFrame  # USD prices with an observation date and a blended price
    frontier_factor: float  # yearly price factor of the frontier tier (blended)
    small_factor: float  # the same for small models
    gpt35_factor: float  # a fixed capability level: GPT-3.5-class models
    cheapest_now: pd.DataFrame  # today's cheapest small models (genai-prices)
    agreement: pd.DataFrame  # table rows that genai-prices also prices, side by side
    china_cut: float  # Qwen-Long's May 2024 input-price cut (fraction)

    def glue_values(self) -> dict[str, Any]:
        agree = self.agreement
        same = int(((agree["input_usd_per_mtok"] - agree["snapshot_input"]).abs() < 1e-9).sum())
        return {"v_price_rows_usd": int(len(self.rows)),
                "v_price_frontier_factor": self.frontier_factor,
                "v_price_small_factor": self.small_factor,
                "v_price_gpt35_factor": self.gpt35_factor,
                "v_price_china_cut": self.china_cut,
                "v_price_snapshot_checked": int(len(agree)), "v_price_snapshot_same": same}


def prices(evidence: Evidence, snapshot: pd.DataFrame, input_share: float) -> Prices:
    """USD list prices over time; a blended price per million tokens is input_share x input
    + (1 - input_share) x output. A row without an effective date is dated by its page."""
    frame = evidence["api_prices"]
    usd = frame[frame["input_usd_per_mtok"].notna() & frame["output_usd_per_mtok"].notna()].copy()
    # a year-only page date means "read during that year": not later than the day it was read
    usd["observed"] = [min(facts.period_to_timestamp(d), pd.Timestamp(a)) for d, a in
                       zip(usd["effective_date"].fillna(usd["published"]), usd["accessed"])]
    usd["blended"] = (input_share * usd["input_usd_per_mtok"]
                      + (1 - input_share) * usd["output_usd_per_mtok"])
    tiers = {tier: price_trend(part["observed"], part["blended"]).yearly_factor
             for tier, part in usd.groupby("tier") if part["observed"].nunique() >= 2}
    gpt35 = usd[usd["capability_note"].fillna("").str.contains("GPT-3.5-level")]
    china = frame[frame["model"].str.startswith("Qwen-Long")]["price_original"].iloc[0]
    after, before = (float(x) for x in re.findall(r"0\.\d+", china)[:2])
    snap = snapshot.copy()
    snap["key"] = snap["model_id"].str.lower()
    usd["key"] = usd["model"].str.extract(r"\((gpt-[\w.-]+|o\d[\w-]*)\)", expand=False) \
        .fillna(usd["model"].str.lower().str.replace(" ", "-"))
    agreement = usd.drop_duplicates("key").merge(snap.rename(columns={"input_usd_per_mtok": "snapshot_input",
                                               "output_usd_per_mtok": "snapshot_output"})
                          [["key", "snapshot_input", "snapshot_output"]], on="key")
    small_now = snapshot.nsmallest(5, "output_usd_per_mtok")
    return Prices(usd, tiers.get("frontier", np.nan), tiers.get("small", np.nan),
                  price_trend(gpt35["observed"], gpt35["blended"]).yearly_factor, small_now,
                  agreement[["provider", "model", "observed", "input_usd_per_mtok",
                             "snapshot_input", "output_usd_per_mtok", "snapshot_output"]],
                  1.0 - after / before)


@dataclass(frozen=True)
class Serving:
    throughput: pd.DataFrame  # the MLPerf rows used, per accelerator
    cost_per_mtok: pd.DataFrame  # per (model, accelerator): cost at the assumed price/util
    gpu_usd_per_hour: float
    utilisation: float

    def glue_values(self) -> dict[str, Any]:
        c = self.cost_per_mtok.set_index("label")["usd_per_mtok"]
        return {"v_serve_gpu_price": self.gpu_usd_per_hour, "v_serve_util": self.utilisation,
                "v_serve_70b_h100": float(c.get("Llama 2 70B on H100", np.nan)),
                "v_serve_70b_b200": float(c.get("Llama 2 70B on B200", np.nan)),
                "v_serve_405b_b200": float(c.get("Llama 3.1 405B on B200", np.nan)),
                "v_serve_rows": int(len(self.throughput))}


def serving(evidence: Evidence, gpu_usd_per_hour: float, utilisation: float) -> Serving:
    """Cost per million generated tokens from MLPerf offline throughput (best per model and
    accelerator) at one assumed rental price and utilisation."""
    rows = evidence["inference_throughput"]
    ml = rows[rows["benchmark_round"].str.startswith("MLPerf")
              & (rows["scenario"] == "offline")
              & rows["tokens_per_second_per_accelerator"].notna()].copy()
    ml["gpu"] = ml["accelerator"].str.extract(r"^(H100|H200|B200|GB200|GB300|MI300X|MI325X)")
    best = ml.sort_values("tokens_per_second_per_accelerator").groupby(["model", "gpu"]).tail(1)
    best["label"] = best["model"] + " on " + best["gpu"]
    best["usd_per_mtok"] = [serving_cost_per_mtok(gpu_usd_per_hour, float(t), utilisation)
                            for t in best["tokens_per_second_per_accelerator"]]
    return Serving(best, best[["label", "tokens_per_second_per_accelerator", "precision",
                               "benchmark_round", "usd_per_mtok"]].reset_index(drop=True),
                   gpu_usd_per_hour, utilisation)


@dataclass(frozen=True)
class Payback:
    run_cost_usd_million: float
    monthly_profit_usd_million: float
    months: float | None  # to pay back at the assumed growth and price decline
    lifetime_months: float
    grid: pd.DataFrame  # months to pay back over a grid of monthly profits and price factors

    def glue_values(self) -> dict[str, Any]:
        return {"v_pay_run_cost_m": self.run_cost_usd_million,
                "v_pay_monthly_profit_m": self.monthly_profit_usd_million,
                "v_pay_months": float(self.months) if self.months is not None else -1.0,
                "v_pay_lifetime": self.lifetime_months,
                "v_pay_within_life": bool(self.months is not None
                                          and self.months <= self.lifetime_months)}


def payback(run_cost_usd_million: float, monthly_profit_usd_million: float,
            yearly_growth: float, yearly_price_factor: float, lifetime_months: float) -> Payback:
    rows = [{"monthly gross profit (USD M)": g, "yearly price factor": f,
             "months to pay back": payback_months(run_cost_usd_million, g, yearly_growth, f)}
            for g in (10.0, 25.0, 50.0, 100.0, 200.0) for f in (0.1, 0.3, 0.6, 1.0)]
    return Payback(run_cost_usd_million, monthly_profit_usd_million,
                   payback_months(run_cost_usd_million, monthly_profit_usd_million,
                                  yearly_growth, yearly_price_factor),
                   lifetime_months, pd.DataFrame(rows))


@dataclass(frozen=True)
class Scenario:
    draws: pd.DataFrame
    summary: Summary
    tornado: pd.DataFrame
    fixed: dict[str, float] = field(default_factory=dict)

    def glue_values(self) -> dict[str, Any]:
        top = self.tornado.iloc[0]
        return {"v_mc_p10": self.summary.p10, "v_mc_median": self.summary.median,
                "v_mc_p90": self.summary.p90, "v_mc_share_covered": self.summary.share_positive,
                "v_mc_draws": int(len(self.draws)), "v_mc_top_assumption": str(top["assumption"]),
                "v_mc_top_swing": float(top["swing"]),
                "v_mc_capex_b": float(self.fixed["capex_usd_billion"]),
                "v_mc_revenue_now_b": float(self.fixed["revenue_now_usd_billion"])}


def capex_scenario(ranges: Mapping[str, tuple[float, float, float]], units: Mapping[str, str],
                   capex_usd_billion: float, revenue_now_usd_billion: float,
                   years_ahead: float, draws: int, seed: int) -> Scenario:
    fixed = {"capex_usd_billion": capex_usd_billion,
             "revenue_now_usd_billion": revenue_now_usd_billion, "years_ahead": years_ahead}
    assumptions = assumptions_from(ranges, units)
    sample = monte_carlo(capex_revenue_gap, assumptions, draws, seed, fixed)
    return Scenario(sample, summarise(sample["output"]),
                    tornado(capex_revenue_gap, assumptions, fixed), fixed)


def valuation(funding_result: Funding, revenue_result: Revenue, max_age_days: int = 200
              ) -> pd.DataFrame:
    """Valuation / annualised revenue at each round with a revenue report for a period
    ending at most ``max_age_days`` before it (older revenue of a fast-growing company
    would inflate the multiple)."""
    return valuation_multiples(funding_result.events, revenue_result.points, max_age_days)


def absorbed_startups(evidence: Evidence) -> pd.DataFrame:
    """The model-API start-ups of :data:`API_STARTUPS` and whether an outcome row shows them
    licensed-and-hired, acquired or pivoted away from frontier models."""
    outcomes = evidence["outcomes"]
    rows = []
    for company in API_STARTUPS:
        mine = outcomes[outcomes["company"].str.startswith(company.split()[0])]
        ended = mine[mine["outcome"].isin(ABSORBED)]
        rows.append({"company": company, "absorbed or pivoted": not ended.empty,
                     "how": "; ".join(f"{o} ({d})" for o, d in
                                      zip(ended["outcome"], ended["date"])) or "-"})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Thresholds:
    """The reader's criteria (the chapter's parameters)."""

    multiple_bar: float  # valuation / revenue above which a price assumes years of fast growth
    growth_bar: float  # yearly revenue growth factor that counts as gold-mine growth
    absorbed_bar: float  # share of start-ups absorbed/pivoted that marks a shake-out
    covered_bar: float  # share of scenarios in which revenue covers the capex


def _label(gold: bool, bubble: bool) -> str:
    if gold and bubble:
        return "both: gold-mine growth at a bubble's price"
    return "gold mine" if gold else ("bubble" if bubble else "neither yet")


def segment_verdicts(fund: Funding, rev: Revenue, spend_result: Spend, price: Prices,
                     serve: Serving, multiples: pd.DataFrame, absorbed: pd.DataFrame,
                     scenario: Scenario, years_ahead: float, th: Thresholds) -> pd.DataFrame:
    """One row per segment: the verdict the criteria give, the evidence, what would change
    it, and how uncertain it is. Every number comes from the arguments."""
    g = {**fund.glue_values(), **rev.glue_values(), **spend_result.glue_values(),
         **price.glue_values(), **scenario.glue_values()}
    growth = g["v_rev_openai_growth"] ** 0.5  # two years, 2023 to 2025, per year
    latest = multiples.sort_values("date").groupby("company").tail(1).set_index("company")
    openai_multiple = float(latest.loc["OpenAI", "multiple"]) if "OpenAI" in latest.index \
        else float("nan")
    share_absorbed = float(absorbed["absorbed or pivoted"].mean())
    cheapest = float(serve.cost_per_mtok["usd_per_mtok"].min())
    rows = [
        {"segment": "frontier labs",
         "verdict": _label(growth >= th.growth_bar, openai_multiple >= th.multiple_bar),
         "evidence": (f"OpenAI's run-rate grew x{growth:.1f} a year (2023-2025) to USD "
                      f"{g['v_rev_openai_b']:.0f} B; its latest round valued it at "
                      f"{openai_multiple:.0f}x revenue; its 2024 loss was "
                      f"{g['v_rev_openai_loss_ratio_2024']:.2f}x its revenue"),
         "would change it": (f"growth below x{th.growth_bar:g} a year while rounds still "
                             f"price {th.multiple_bar:g}x revenue or more (bubble); a first "
                             "year of positive operating cash flow (gold mine)"),
         "uncertainty": "high: revenue and losses are press reports of private figures"},
        {"segment": "model-API start-ups",
         "verdict": _label(False, share_absorbed >= th.absorbed_bar),
         "evidence": (f"{int(absorbed['absorbed or pivoted'].sum())} of {len(absorbed)} "
                      f"well-funded non-frontier labs were licensed-and-hired, acquired or "
                      f"pivoted; list prices fall to x{g['v_price_small_factor']:.2f} a year "
                      f"(small models) and x{g['v_price_frontier_factor']:.2f} (frontier)"),
         "would change it": "a non-frontier lab reaching revenue near its capital raised",
         "uncertainty": "medium: outcomes are public events, but the sample is small"},
        {"segment": "application layer",
         "verdict": "gold mine on costs, unproven on revenue",
         "evidence": (f"serving costs from USD {cheapest:.2f} per million tokens (MLPerf, "
                      f"USD {serve.gpu_usd_per_hour:.2f}/GPU-h, {100 * serve.utilisation:.0f} % "
                      f"busy); prices of a GPT-3.5-class model fall to "
                      f"x{g['v_price_gpt35_factor']:.2f} a year"),
         "would change it": "sourced revenue and churn of application companies (not in "
                            "this book's tables)",
         "uncertainty": "high: no application-layer revenue could be sourced"},
        {"segment": "infrastructure and chips",
         "verdict": _label(g["v_dc_growth"] >= th.growth_bar,
                           g["v_mc_share_covered"] < th.covered_bar),
         "evidence": (f"Nvidia's data-centre revenue grew x{g['v_dc_growth']:.0f} from "
                      f"FY{g['v_dc_first_fy']} to FY{g['v_dc_latest_fy']} (USD "
                      f"{g['v_dc_latest_b']:.0f} B); 2026 capex guidance of "
                      f"{g['v_capex_2026_companies']} firms is USD "
                      f"{g['v_capex_2026_guidance_b']:.0f} B; revenue covers that capex "
                      f"{years_ahead:g} years on in {100 * g['v_mc_share_covered']:.0f} % of "
                      f"the scenarios"),
         "would change it": "capex guidance cut, or AI revenue growing faster than the "
                            "scenarios' high end",
         "uncertainty": "medium for the sellers (reported revenue), high for the buyers"},
        {"segment": "China's model companies",
         "verdict": ("neither: a price war, not a valuation bubble"
                     if g["v_fund_china_share"] < 0.1 and g["v_rev_zhipu_loss_ratio_2024"] > 1
                     else _label(False, g["v_rev_zhipu_loss_ratio_2024"] > 1)),
         "evidence": (f"{100 * g['v_fund_china_share']:.1f} % of the sourced capital; list "
                      f"prices cut by up to {100 * g['v_price_china_cut']:.1f} % in May 2024; "
                      f"Zhipu lost {g['v_rev_zhipu_loss_ratio_2024']:.1f}x its 2024 revenue"),
         "would change it": "price competition ending, or revenue growing faster than losses",
         "uncertainty": "high: figures come from press reports of prospectuses"},
    ]
    return pd.DataFrame(rows)


# --- helpers the chapter calls: small tables and glue sets ---------------------------------

SCENARIO_PARAMETERS = {  # chapter parameter -> model argument, unit
    "AI_SHARE_OF_CAPEX": ("ai_share_of_capex", "fraction of capex spent on AI"),
    "USEFUL_LIFE_YEARS": ("useful_life_years", "years"),
    "COST_OF_CAPITAL": ("cost_of_capital", "fraction per year"),
    "OPERATING_COST_RATIO": ("operating_cost_ratio", "x the capital charge"),
    "PROVIDER_GROSS_MARGIN": ("provider_gross_margin", "fraction of revenue"),
    "REVENUE_GROWTH_PER_YEAR": ("revenue_growth_per_year", "fraction per year"),
}
SCENARIO_UNITS = {arg: unit for arg, unit in SCENARIO_PARAMETERS.values()}


def scenario_ranges(params: Mapping[str, Any]) -> dict[str, tuple[float, float, float]]:
    """The chapter's ``[low, most likely, high]`` parameters, keyed by model argument."""
    return {arg: tuple(params[name]) for name, (arg, _) in SCENARIO_PARAMETERS.items()}


def table_path(name: str) -> Any:
    """Where table ``name`` lives (for run cards)."""
    from bmlib.data.row_sourced import econ_dir

    return econ_dir() / f"{name}.csv"


def summary_glue(summary: pd.DataFrame) -> dict[str, Any]:
    total = int(summary["rows"].sum())
    primary = int((summary["primary"] + summary["filing"] + summary["paper"]).sum())
    return {"v_data_tables": int(len(summary)), "v_data_rows": total,
            "v_data_primary_share": primary / total}


def gaps_table() -> pd.DataFrame:
    """Every table's record of what could not be sourced, one row per gap."""
    from bmlib.data.row_sourced import load_record

    return pd.DataFrame([{"table": name, "not sourced": gap} for name in available()
                         for gap in load_record(name).gaps])


def multiple_glue(multiples: pd.DataFrame) -> dict[str, Any]:
    latest = multiples.sort_values("date").groupby("company").tail(1).set_index("company")
    return {"v_mult_rounds": int(len(multiples)),
            "v_mult_latest_openai": float(latest.loc["OpenAI", "multiple"]),
            "v_mult_min": float(multiples["multiple"].min()),
            "v_mult_max": float(multiples["multiple"].max())}


def gap_glue(required: float, observed: float) -> dict[str, Any]:
    return {"v_seq_observed_b": observed, "v_seq_gap_b": required - observed,
            "v_seq_gap_factor": (required - observed) / observed}


def reference_price(price: Prices) -> float:
    """The latest list price per million output tokens of a GPT-3.5-class model (the class
    of Llama 2 70B, whose serving cost the chapter computes)."""
    gpt35 = price.rows[price.rows["capability_note"].fillna("").str.contains("GPT-3.5-level")]
    return float(gpt35.sort_values("observed")["output_usd_per_mtok"].iloc[-1])


def frontier_run_cost(notable: pd.DataFrame, since_year: int) -> float:
    """Epoch AI's largest training-cost estimate (USD million, 2023 dollars) of a model
    published in or after ``since_year``."""
    frame = notable.copy()
    frame["year"] = pd.to_datetime(frame["publication_date"], errors="coerce").dt.year
    costs = frame[(frame["year"] >= since_year)]["training_cost_2023_usd"].dropna()
    if costs.empty:
        raise ValueError(f"no Epoch cost estimate for models published since {since_year}")
    return float(costs.max() / 1e6)


def payback_cases(run_cost_usd_million: float, rev: Revenue, params: Mapping[str, Any],
                  yearly_price_factor: float) -> tuple[Payback, Payback]:
    """The run's payback at OpenAI's and at Mistral's latest revenue."""
    latest = rev.latest.set_index("company")["revenue_usd_million"]

    def case(company: str) -> Payback:
        monthly = (float(latest[company]) / 12.0 * params["LAB_GROSS_MARGIN"]
                   * params["NEWEST_MODEL_REVENUE_SHARE"])
        return payback(run_cost_usd_million, monthly, params["VOLUME_GROWTH_PER_YEAR"],
                       yearly_price_factor, params["MODEL_LIFETIME_MONTHS"])

    return case("OpenAI"), case("Mistral AI")


def bubble_history(evidence: Evidence) -> dict[str, Any]:
    """The dot-com and telecom figures the chapter quotes, read from their rows."""
    h = evidence["bubble_history"]

    def value(series: str, date_prefix: str = "") -> float:
        rows = h[(h["series"] == series) & h["date"].astype(str).str.startswith(date_prefix)]
        return float(rows["value"].iloc[0])

    recovery = h[(h["series"] == "NASDAQ Composite")
                 & (h["value"] > value("NASDAQ Composite", "2000"))]
    return {"v_hist_peak": value("NASDAQ Composite", "2000"),
            "v_hist_trough": value("NASDAQ Composite", "2002"),
            "v_hist_drawdown": value("NASDAQ Composite drawdown"),
            "v_hist_recovery_year": int(str(recovery["date"].iloc[0])[:4]),
            "v_hist_pe": value("NASDAQ Composite P/E (trailing)")}


def notable_glue(notable: pd.DataFrame, since_year: int) -> dict[str, Any]:
    """Notable models since ``since_year`` by the United States and by China (Epoch)."""
    year = pd.to_datetime(notable["publication_date"], errors="coerce").dt.year
    recent = notable[year >= since_year]
    country = recent["country"].fillna("")
    return {"v_epoch_total": int(len(notable)),
            "v_epoch_us_recent": int(country.str.contains("United States").sum()),
            "v_epoch_cn_recent": int(country.str.contains("China").sum()),
            "v_epoch_since": since_year}


def threshold_glue(th: Thresholds) -> dict[str, Any]:
    return {"v_th_multiple": th.multiple_bar, "v_th_growth": th.growth_bar,
            "v_th_absorbed": th.absorbed_bar, "v_th_covered": th.covered_bar}


def essay_claims(fund: Funding, rev: Revenue, absorbed: pd.DataFrame, growth_bar: float
                 ) -> list[dict[str, str]]:
    """Ledger rows for the essay's statements on profit, hype and growth, each verdict
    computed from the evidence (the chapter turns them into ``Claim`` objects). Its §9.7
    claim of OpenAI's commercial success has its row in the FAQ chapter."""
    g = {**fund.glue_values(), **rev.glue_values()}
    growth = g["v_rev_openai_growth"] ** 0.5
    losing = g["v_rev_openai_loss_ratio_2024"] > 1 and g["v_rev_zhipu_loss_ratio_2024"] > 1
    n_abs, n = int(absorbed["absorbed or pivoted"].sum()), len(absorbed)
    base = {"chapter": "bubble_or_gold_mine"}
    outcomes = (f"computed from sourced outcomes (data/econ/outcomes.csv): {n_abs} of {n} "
                "well-funded non-frontier labs ended licensed-and-hired, acquired or pivoted, "
                "but the buyers paid for their teams and models")
    return [
        {**base, "claim_id": "verdict-startups-profitability", "location": "§1.4",
         "quote_zh": "一些公司由于缺乏稳定的商业模式，面临盈利难题",
         "gloss_en": "Some companies, lacking a stable business model, struggle to make a profit.",
         "verdict": "correct" if losing else "unsupported",
         "evidence": (f"computed from press reports of private figures: OpenAI's 2024 net loss "
                      f"was {g['v_rev_openai_loss_ratio_2024']:.2f}x its revenue, Zhipu's "
                      f"{g['v_rev_zhipu_loss_ratio_2024']:.1f}x; no model company with sourced "
                      "figures reports a profit"),
         "anchor": "bubble_or_gold_mine-revenue", "basis": "computed and cited"},
        {**base, "claim_id": "verdict-hype-without-business", "location": "§1 (introduction)",
         "quote_zh": "市场的盲目追捧使得一些项目迅速膨胀，但缺乏实际的技术创新和商业落地",
         "gloss_en": "Blind market enthusiasm inflated some projects that lack real innovation and commercial traction.",
         "verdict": "misleading",
         "evidence": f"{outcomes}, so the failure was of business, not of technology",
         "anchor": "bubble_or_gold_mine-verdict", "basis": "computed and cited"},
        {**base, "claim_id": "verdict-startups-tech-bottleneck", "location": "§1.4",
         "quote_zh": "一些公司由于技术瓶颈，无法实现预期的商业化目标",
         "gloss_en": "Some companies, held back by technical bottlenecks, miss their commercial goals.",
         "verdict": "misleading", "anchor": "bubble_or_gold_mine-verdict",
         "evidence": (f"{outcomes}; the cited failures are of revenue against compute cost, not "
                      "technical bottlenecks, and the essay names no company"),
         "basis": "computed and cited"},
        {**base, "claim_id": "verdict-market-explosive-growth", "location": "§1.2",
         "quote_zh": "AI大模型作为人工智能领域的重要组成部分，其市场规模也呈现出爆发式增长",
         "gloss_en": "As a key part of AI, the big-model market is also growing explosively.",
         "verdict": "correct" if growth >= growth_bar else "misleading",
         "evidence": (f"model-company revenue is reported, not forecast: OpenAI's run-rate grew "
                      f"x{growth:.1f} a year 2023-2025; capital raised went from USD "
                      f"{g['v_fund_2023_b']:.0f} B (2023) to {g['v_fund_2025_b']:.0f} B (2025)"),
         "anchor": "bubble_or_gold_mine-revenue", "basis": "computed and cited"},
    ]


def headline_metrics(scenario: Scenario, spend_result: Spend, rev: Revenue,
                     fund: Funding) -> dict[str, Any]:
    g = {**scenario.glue_values(), **spend_result.glue_values(), **rev.glue_values(),
         **fund.glue_values()}
    return {k: round(float(g[k]), 4) for k in ("v_mc_share_covered", "v_mc_median",
                                                "v_seq_required_b", "v_rev_labs_b",
                                                "v_fund_total_b")}
