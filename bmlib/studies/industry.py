"""The industry-background study: the essay's market forecast, its dated events, the sizes
of the models it names, how training compute grew, and what training those models costs.

Every function takes frames of the sourced tables (``bmlib.data.tables.load_table``:
``market_figures``, ``events``, ``landmark_models``, ``accelerators``) and returns a frozen
result; the arithmetic is :mod:`bmlib.econ.costs`, this module selects rows and assembles
tables. Each result's ``glue_values()`` gives the names the chapter's prose refers to; those
names assume the chapter's models (:data:`FLAGSHIP`, :data:`FRONTIER`, ...) are among the
ones passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from bmlib.econ.costs import (CHINCHILLA_TOKENS_PER_PARAM, Accelerator, TrainingEstimate,
                              TransformerShape, cagr, chinchilla_optimal, compound,
                              estimate_training, implied_mfu, training_flop,
                              transformer_param_count, years_to_grow)
from bmlib.econ.compute_facts import (FIRST, LAST, doubling_months, frontier_compute,
                                      release_year)

FLAGSHIP = FIRST  # the essay's flagship model (bmlib.econ.compute_facts)
FRONTIER = LAST  # the largest published training budget in the table
ROUNDING_USD_BILLION = 0.05  # the essay's endpoints are rounded to a tenth of a billion


def _year(date: Any) -> int:
    """The year of an ISO date given as text ("2019-07-22", "2016-01", "2021")."""
    return int(str(date)[:4])


# --- the market forecast -------------------------------------------------------------------

@dataclass(frozen=True)
class EssayForecast:
    """The essay's market forecast (first row of ``market_figures``) against its own CAGR."""

    base_value_usd_billion: float  # market size in the base year, USD billion
    target_value_usd_billion: float  # forecast size in the target year, USD billion
    base_year: int
    target_year: int
    stated_cagr_percent: float  # the rate the essay states, % a year
    n_years: int  # compounding periods between the two years
    cagr: float  # rate the endpoints imply, a fraction a year
    end_at_stated: float  # USD billion the base value reaches at the stated rate
    years_at_stated: float  # years the stated rate needs from base to target value
    rounding_pp: float  # largest change of the rate (percentage points) from endpoint rounding

    @property
    def cagr_gap_pp(self) -> float:
        """Stated minus implied rate, percentage points."""
        return self.stated_cagr_percent - 100 * self.cagr

    def glue_values(self) -> dict[str, Any]:
        return {
            "ib_essay_base": float(self.base_value_usd_billion),
            "ib_essay_target": float(self.target_value_usd_billion),
            "ib_essay_years": self.n_years,
            "ib_essay_base_year": self.base_year,
            "ib_essay_target_year": self.target_year,
            "ib_rounding_pp": float(self.rounding_pp),
            "ib_essay_stated_cagr": float(self.stated_cagr_percent),
            "ib_essay_cagr": float(100 * self.cagr),
            "ib_essay_cagr_gap": float(self.cagr_gap_pp),
            "ib_essay_end_at_stated": float(self.end_at_stated),
            "ib_essay_years_at_stated": float(self.years_at_stated),
        }

    def report(self) -> str:
        """Three lines: the implied rate, where the stated rate leads, how long it needs."""
        stated, base, target = (self.stated_cagr_percent, self.base_value_usd_billion,
                                self.target_value_usd_billion)
        return (f"CAGR from the essay's endpoints: {100 * self.cagr:.2f} % a year "
                f"(the essay says {stated:.1f} %)\n"
                f"at {stated:.1f} % the {self.base_year} value would reach "
                f"{self.end_at_stated:.1f} B USD in {self.target_year}, not {target:.1f}\n"
                f"{stated:.1f} % needs {self.years_at_stated:.2f} years to go from "
                f"{base} to {target} B USD")


def essay_forecast(market: pd.DataFrame) -> EssayForecast:
    """Check the essay's forecast, the first row of ``market_figures``."""
    essay = market.iloc[0]
    base, target = essay.base_value_usd_billion, essay.target_value_usd_billion
    n_years = int(essay.target_year - essay.base_year)
    rate = cagr(base, target, n_years)
    step = ROUNDING_USD_BILLION
    rounding_pp = 100 * max(abs(cagr(base + sb, target + st, n_years) - rate)
                            for sb in (-step, step) for st in (-step, step))
    return EssayForecast(
        base_value_usd_billion=base, target_value_usd_billion=target,
        base_year=int(essay.base_year), target_year=int(essay.target_year),
        stated_cagr_percent=essay.stated_cagr_percent, n_years=n_years, cagr=rate,
        end_at_stated=compound(base, essay.stated_cagr_percent / 100, n_years),
        years_at_stated=years_to_grow(base, target, essay.stated_cagr_percent / 100),
        rounding_pp=rounding_pp)


def forecast_table(market: pd.DataFrame) -> pd.DataFrame:
    """Every forecast with its CAGR recomputed from its own endpoints (where both are given)."""
    rows = []
    for _, f in market.iterrows():
        has_target = not pd.isna(f.target_value_usd_billion)
        years = (f.target_year - f.base_year) if has_target else np.nan
        computed = 100 * cagr(f.base_value_usd_billion, f.target_value_usd_billion, years) \
            if has_target else np.nan
        period_start = int(str(f.cagr_period).split("-")[0])
        rows.append({
            "forecaster": f.forecaster, "edition": f.published, "market": f.market,
            "base": f"{f.base_value_usd_billion:g} ({int(f.base_year)})",
            "target": (f"{f.target_value_usd_billion:g} ({int(f.target_year)})" if has_target
                       else "-"),
            "stated CAGR %": f.stated_cagr_percent,
            "computed CAGR %": round(computed, 2) if has_target else np.nan,
            "gap (pp)": round(f.stated_cagr_percent - computed, 2) if has_target else np.nan,
            "endpoints match stated period": bool(has_target and period_start == f.base_year),
        })
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ForecastComparison:
    """The essay's forecast beside the published ones of ``market_figures``.

    Row 0 is the essay's; ``gvr`` is the published forecast whose endpoints span more years
    than its stated CAGR period (Grand View Research's 2021 edition in the committed table).
    """

    table: pd.DataFrame  # forecast_table(market)
    n_forecasts: int  # published forecasts besides the essay's
    other_max_gap_pp: float  # largest |gap| among the others whose endpoints match their period
    gvr: pd.Series  # the forecast whose endpoints are wider than its stated period
    gvr_gap_pp: float  # |stated - computed| of that row
    target_min: float  # smallest published forecast end value (the essay's excluded), USD billion
    target_max: float  # largest published forecast end value, USD billion
    essay_base_value: float  # the essay's base value, USD billion

    def glue_values(self) -> dict[str, Any]:
        gvr = self.gvr
        return {
            "ib_n_forecasts": self.n_forecasts,
            "ib_other_max_gap": float(self.other_max_gap_pp),
            "ib_gvr_gap": float(self.gvr_gap_pp),
            "ib_gvr_edition": int(gvr.published),
            "ib_gvr_base_year": int(gvr.base_year),
            "ib_gvr_target_year": int(gvr.target_year),
            "ib_gvr_period": str(gvr.cagr_period).replace("-", "–"),
            "ib_target_min": float(self.target_min),
            "ib_target_max": float(self.target_max),
        }


def compare_forecasts(market: pd.DataFrame, essay: EssayForecast) -> ForecastComparison:
    """Recompute every forecast's CAGR and pick the rows the chapter's prose discusses."""
    table = forecast_table(market)
    matched = table[table["endpoints match stated period"]]
    # the published forecasts' end values (row 0, the essay's, is what they are compared with)
    targets = market.iloc[1:].dropna(subset=["target_value_usd_billion"]).target_value_usd_billion
    wider = table.index[(table.index > 0) & ~table["endpoints match stated period"]
                        & table["gap (pp)"].notna()]
    if len(wider) == 0:
        raise ValueError("compare_forecasts: no published forecast whose endpoints are wider "
                         "than its stated period")
    return ForecastComparison(
        table=table, n_forecasts=len(market) - 1,
        other_max_gap_pp=matched.iloc[1:]["gap (pp)"].abs().max(),
        gvr=market.loc[wider[0]], gvr_gap_pp=abs(table.loc[wider[0], "gap (pp)"]),
        target_min=targets.min(), target_max=targets.max(),
        essay_base_value=essay.base_value_usd_billion)


# --- the dated events ----------------------------------------------------------------------

EVENT_COLUMNS = ("event_id", "essay_year", "actual_date", "what_happened", "amount",
                 "amount_currency", "amount_status")


@dataclass(frozen=True)
class DatedEvents:
    """The events the essay dates, beside what the sources say."""

    table: pd.DataFrame  # EVENT_COLUMNS of every event, essay_year as a nullable integer
    by_id: pd.DataFrame  # every column, indexed by event_id

    @property
    def ms_2019(self) -> pd.Series:
        """Microsoft's USD 1 B investment in OpenAI."""
        return self.by_id.loc["microsoft-openai-2019"]

    @property
    def deepmind(self) -> pd.Series:
        """Google's acquisition of DeepMind (Re/code's price)."""
        return self.by_id.loc["google-deepmind-2014"]

    @property
    def ms_2023_amount(self) -> float:
        """The reported size of Microsoft's 2023 deal, USD billion."""
        return self.by_id.loc["microsoft-openai-2023"].amount

    @property
    def amazon_total(self) -> float:
        """Amazon's announced investments in Anthropic, 2023 and 2024, USD billion."""
        return self.by_id.loc[["amazon-anthropic-2023", "amazon-anthropic-2024"], "amount"].sum()

    @property
    def deepmind_gap_years(self) -> int:
        """How many years after the acquisition the essay dates it."""
        return int(self.deepmind.essay_year) - _year(self.deepmind.actual_date)

    def glue_values(self) -> dict[str, Any]:
        ev, ms, dm = self.by_id, self.ms_2019, self.deepmind
        ms_day, dm_day = pd.Timestamp(ms.actual_date), pd.Timestamp(dm.actual_date)
        ms_2023_day = pd.Timestamp(ev.loc["microsoft-openai-2023"].actual_date)
        alphago_year = _year(ev.loc["alphago-2016"].actual_date)
        return {
            "ib_ms_year": _year(ms.actual_date),
            "ib_ms_day": f"{ms_day.day} {ms_day:%B}",
            "ib_ms_essay_year": int(ms.essay_year),
            "ib_ms_2023_month": f"{ms_2023_day:%B %Y}",
            "ib_dm_day": f"{dm_day.day} {dm_day:%B}",
            "ib_alphago_after_years": alphago_year - _year(dm.actual_date),
            "ib_amazon_first_year": _year(ev.loc["amazon-anthropic-2023"].actual_date),
            "ib_amazon_last_year": _year(ev.loc["amazon-anthropic-2024"].actual_date),
            "ib_ms_amount": float(ms.amount),
            "ib_dm_year": _year(dm.actual_date),
            "ib_dm_essay_year": int(dm.essay_year),
            "ib_dm_gap_years": self.deepmind_gap_years,
            "ib_dm_price_usd": float(dm.amount),
            "ib_dm_price_gbp": float(ev.loc["google-deepmind-2014-telegraph"].amount),
            "ib_alphago_year": alphago_year,
            "ib_ms_2023_reported": float(self.ms_2023_amount),
            "ib_amazon_total": float(self.amazon_total),
        }


def dated_events(events: pd.DataFrame) -> DatedEvents:
    """The ``events`` table with the essay's years as integers (the frame is not changed)."""
    events = events.copy()
    events["essay_year"] = events["essay_year"].astype("Int64")
    return DatedEvents(table=events[list(EVENT_COLUMNS)], by_id=events.set_index("event_id"))


# --- model sizes ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ParameterCounts:
    """Parameter counts stated by the papers against counts from the published shapes."""

    table: pd.DataFrame  # per model: stated, counted, difference %
    stated: pd.Series  # every landmark model's stated parameter count, by name

    def counted(self, model: str) -> int:
        """Parameters counted from ``model``'s architecture."""
        return self.table.loc[model, "counted from the architecture"]

    def glue_values(self) -> dict[str, Any]:
        stated = self.stated
        return {
            "ib_gpt3_counted_b": float(self.counted("GPT-3") / 1e9),
            "ib_bert_base_counted_m": float(self.counted("BERT-base") / 1e6),
            "ib_bert_large_counted_m": float(self.counted("BERT-large") / 1e6),
            "ib_gpt3_stated_yi": float(stated["GPT-3"] / 1e8),
            "ib_gpt3_stated_b": float(stated["GPT-3"] / 1e9),
            "ib_bert_base_stated_m": float(stated["BERT-base"] / 1e6),
            "ib_bert_large_stated_m": float(stated["BERT-large"] / 1e6),
            "ib_bert_base_yi": float(stated["BERT-base"] / 1e8),
            "ib_bert_large_yi": float(stated["BERT-large"] / 1e8),
        }


def parameter_counts(models: pd.DataFrame,
                     shapes: Mapping[str, TransformerShape]) -> ParameterCounts:
    """Count each shape's parameters and compare with the paper's figure in ``models``."""
    stated = models.set_index("model")["parameters"]
    missing = sorted(set(shapes) - set(stated.index))
    if missing:
        raise KeyError(f"no stated parameter count for {missing} in the landmark-model table")
    rows = []
    for name, shape in shapes.items():
        counted = transformer_param_count(shape)
        rows.append({"model": name, "stated by the paper": int(stated[name]),
                     "counted from the architecture": counted,
                     "difference %": round(100 * (counted / stated[name] - 1), 2)})
    return ParameterCounts(table=pd.DataFrame(rows).set_index("model"), stated=stated)


# --- training compute ----------------------------------------------------------------------

def with_training_compute(models: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``models`` with ``flop_6nd`` (6·N·D, NaN where D is unknown), ``year``
    (release as a decimal year, mid-month) and ``compute`` (published FLOP, else 6·N·D)."""
    models = models.copy()
    models["flop_6nd"] = [training_flop(n, d) if not pd.isna(d) else np.nan
                          for n, d in zip(models.parameters, models.training_tokens)]
    models["year"] = [release_year(r) for r in models.release]
    models["compute"] = models.published_training_flop.fillna(models.flop_6nd)
    return models


@dataclass(frozen=True)
class ComputeCheck:
    """6·N·D against the training compute the authors published."""

    table: pd.DataFrame  # per model with published compute: N, D, published, 6ND, ratio

    def glue_values(self) -> dict[str, Any]:
        gpt3 = self.table.loc["GPT-3"]
        return {
            "ib_6nd_max_dev": float(100 * (self.table["6ND / published"] - 1).abs().max()),
            "ib_n_published_flop": len(self.table),
            "ib_gpt3_pub_flop_e23": float(gpt3.published_training_flop / 1e23),
            "ib_gpt3_6nd_e23": float(gpt3.flop_6nd / 1e23),
        }


def published_compute_check(models: pd.DataFrame) -> ComputeCheck:
    """Compare 6·N·D (``with_training_compute``) with every published compute figure."""
    published = models.dropna(subset=["published_training_flop"])
    check = published[["model", "parameters", "training_tokens", "published_training_flop",
                       "flop_6nd"]].copy()
    check["6ND / published"] = (check.flop_6nd / check.published_training_flop).round(4)
    return ComputeCheck(table=check.set_index("model"))


@dataclass(frozen=True)
class ComputeGrowth:
    """How the largest training budget grew from one model to a later one."""

    first: str  # earlier model
    last: str  # later model
    factor: float  # compute of ``last`` over ``first``
    span_years: float  # years between their releases
    first_release: str  # e.g. "May 2020"
    last_release: str
    palm_params_b: float  # PaLM's parameters, billions
    meta_max_params_b: float  # the largest Meta model's parameters, billions

    @property
    def doubling_months(self) -> float:
        """Months for compute to double at the average rate."""
        return doubling_months(self.factor, self.span_years)

    @property
    def per_year(self) -> float:
        """Average growth factor per year."""
        return self.factor ** (1 / self.span_years)

    def glue_values(self) -> dict[str, Any]:
        return {
            "ib_growth_factor": float(self.factor),
            "ib_growth_years": float(self.span_years),
            "ib_doubling_months": float(self.doubling_months),
            "ib_growth_per_year": float(self.per_year),
            "ib_gpt3_release": self.first_release,
            "ib_l405_release": self.last_release,
            "ib_palm_params_b": float(self.palm_params_b),
            "ib_meta_max_params_b": float(self.meta_max_params_b),
        }

    def report(self) -> str:
        return (f"{self.first} -> {self.last.split(' (')[0]}: x{self.factor:.0f} in "
                f"{self.span_years:.1f} years (doubling every {self.doubling_months:.1f} months)")


def compute_growth(models: pd.DataFrame, first: str = FLAGSHIP,
                   last: str = FRONTIER) -> ComputeGrowth:
    """Growth of training compute from ``first`` to ``last`` (``with_training_compute``): the
    ratio and the span are :func:`bmlib.econ.compute_facts.frontier_compute`'s, the one
    computation the FAQ and the outlook glue too."""
    by_model = models.set_index("model")
    facts = frontier_compute(models, first, last)
    return ComputeGrowth(
        first=first, last=last, factor=facts.ratio, span_years=facts.span_years,
        first_release=pd.Timestamp(by_model.loc[first, "release"]).strftime("%B %Y"),
        last_release=pd.Timestamp(by_model.loc[last, "release"]).strftime("%B %Y"),
        palm_params_b=by_model.loc["PaLM 540B", "parameters"] / 1e9,
        meta_max_params_b=models[models.organisation == "Meta"].parameters.max() / 1e9)


# --- training cost -------------------------------------------------------------------------

@dataclass(frozen=True)
class CostAssumptions:
    """The accelerator, utilisation, price and facility a cost estimate assumes."""

    hardware: str  # accelerator family, e.g. "H100"
    accelerator: Accelerator  # NVIDIA's dense BF16 peak and maximum power for that part
    prices: pd.DataFrame  # the cited rental prices of the part (PCIe variants left out)
    mfu: float  # model FLOP utilisation, fraction of dense peak
    price_usd_per_gpu_hour: float  # the price the estimates use, USD
    pue: float  # data-centre power usage effectiveness (>= 1)
    n_gpus: int  # accelerators in parallel, for wall-clock days

    def report(self) -> str:
        gpu = self.accelerator
        return (f"{gpu.name}: dense BF16 peak {gpu.peak_flop_per_s / 1e12:.1f} TFLOP/s, "
                f"max power {gpu.power_w:.0f} W\n"
                f"assumed: MFU {self.mfu:.2f}, USD {self.price_usd_per_gpu_hour:.2f} per "
                f"GPU-hour, PUE {self.pue:.2f}, {self.n_gpus} GPUs in parallel")

    def glue_values(self) -> dict[str, Any]:
        prices = self.prices.value
        return {
            "ib_hw_name": self.hardware,
            "ib_hw_peak_tflops": float(self.accelerator.peak_flop_per_s / 1e12),
            "ib_mfu_pct": float(100 * self.mfu),
            "ib_price": float(self.price_usd_per_gpu_hour),
            "ib_n_gpus": int(self.n_gpus),
            "ib_price_min": float(prices.min()),
            "ib_price_max": float(prices.max()),
            "ib_price_spread": float(prices.max() / prices.min()),
        }


def cost_assumptions(accelerators: pd.DataFrame, hardware: str, mfu: float,
                     price_usd_per_gpu_hour: float, pue: float,
                     n_gpus: int) -> CostAssumptions:
    """Look ``hardware`` up in the ``accelerators`` table (NVIDIA's own rows for the specs)."""
    nvidia = accelerators[(accelerators.accelerator == hardware)
                          & accelerators.source_ids.str.startswith("nvidia")]
    if nvidia.empty:
        known = sorted(accelerators.accelerator.unique())
        raise ValueError(f"hardware={hardware!r} has no NVIDIA rows in the accelerator table "
                         f"(known: {known})")
    spec = nvidia.set_index("quantity")["value"]
    gpu = Accelerator(name=f"{hardware} ({nvidia.variant.iloc[0]})",
                      peak_flop_per_s=spec["peak_bf16_dense"] * 1e12, power_w=spec["max_power"])
    prices = accelerators[(accelerators.accelerator == hardware)
                          & (accelerators.quantity == "rental_price")
                          & ~accelerators.variant.str.contains("PCIe")]
    return CostAssumptions(hardware=hardware, accelerator=gpu, prices=prices, mfu=mfu,
                           price_usd_per_gpu_hour=price_usd_per_gpu_hour, pue=pue,
                           n_gpus=n_gpus)


@dataclass(frozen=True)
class TrainingCosts:
    """One final training run of each model under the same assumptions."""

    table: pd.DataFrame  # per model: N, D, 6ND, GPU-hours, cost, energy, days
    estimates: Mapping[str, TrainingEstimate]  # by model name
    n_gpus: int  # accelerators in parallel

    def glue_values(self, deal_usd_billion: float) -> dict[str, Any]:
        """The chapter's cost figures; ``deal_usd_billion`` is priced in frontier runs."""
        est = self.estimates
        frontier = est[FRONTIER]
        return {
            "ib_cost_gpt3_musd": float(est["GPT-3"].cost_usd / 1e6),
            "ib_cost_llama65_musd": float(est["LLaMA-65B"].cost_usd / 1e6),
            "ib_cost_llama7_musd": float(est["LLaMA-7B"].cost_usd / 1e6),
            "ib_cost_l405_musd": float(frontier.cost_usd / 1e6),
            "ib_gpuh_l405_m": float(frontier.gpu_hours / 1e6),
            "ib_days_l405": float(frontier.wall_clock_days(self.n_gpus)),
            "ib_runs_per_deal": float(deal_usd_billion * 1e9 / frontier.cost_usd),
            "ib_energy_l405_gwh": float(frontier.energy_kwh / 1e6),
        }


def training_costs(models: pd.DataFrame, names: Sequence[str],
                   assumptions: CostAssumptions) -> TrainingCosts:
    """Estimate one training run of each named model (``estimate_training``)."""
    by_model = models.set_index("model")
    a = assumptions
    rows, estimates = [], {}
    for name in names:
        r = by_model.loc[name]
        est = estimate_training(r.parameters, r.training_tokens, a.accelerator, a.mfu,
                                a.price_usd_per_gpu_hour, a.pue)
        estimates[name] = est
        rows.append({
            "model": name, "N (B)": r.parameters / 1e9, "D (B tokens)": r.training_tokens / 1e9,
            "6ND (FLOP)": f"{est.total_flop:.2e}",
            "GPU-hours (M)": round(est.gpu_hours / 1e6, 3),
            "cost (M USD)": round(est.cost_usd / 1e6, 2),
            "energy (MWh)": round(est.energy_kwh / 1e3, 0),
            f"days on {a.n_gpus} GPUs": round(est.wall_clock_days(a.n_gpus), 1),
        })
    return TrainingCosts(table=pd.DataFrame(rows).set_index("model"), estimates=estimates,
                         n_gpus=a.n_gpus)


@dataclass(frozen=True)
class UtilisationCheck:
    """The MFU that published GPU-hours imply, per model."""

    table: pd.DataFrame  # per model: hardware, tokens, published GPU-hours, implied MFU

    def glue_values(self) -> dict[str, Any]:
        mfu, hardware = self.table["implied MFU"], self.table.hardware
        a100, h100 = mfu[hardware.str.startswith("A100")], mfu[hardware.str.startswith("H100")]
        return {
            "ib_mfu_a100_min": float(100 * a100.min()),
            "ib_mfu_a100_max": float(100 * a100.max()),
            "ib_mfu_h100_min": float(100 * h100.min()),
            "ib_mfu_h100_max": float(100 * h100.max()),
        }


def implied_utilisation(models: pd.DataFrame, accelerators: pd.DataFrame) -> UtilisationCheck:
    """Useful FLOP (6·N·D) over published GPU-hours times NVIDIA's dense BF16 peak."""
    peaks = {fam: accelerators[(accelerators.accelerator == fam)
                               & (accelerators.quantity == "peak_bf16_dense")
                               & accelerators.source_ids.str.startswith("nvidia")].value.iloc[0]
             * 1e12 for fam in ("A100", "H100")}
    reported = models.dropna(subset=["published_gpu_hours", "training_tokens"]).copy()
    reported["peak"] = [peaks[h[:4]] for h in reported.hardware]
    reported["implied MFU"] = [round(implied_mfu(c, h, p), 3) for c, h, p in
                               zip(reported.flop_6nd, reported.published_gpu_hours, reported.peak)]
    return UtilisationCheck(table=reported[["model", "hardware", "training_tokens",
                                            "published_gpu_hours", "implied MFU"]]
                            .set_index("model"))


@dataclass(frozen=True)
class CostSensitivity:
    """Cost of one run against MFU, for every cited price and the chapter's own price."""

    hardware: str  # accelerator family
    mfu_grid: np.ndarray  # MFU values, fractions of dense peak
    mfu_parameter: float  # the chapter's MFU
    cited_prices: tuple[float, ...]  # USD per GPU-hour, as cited
    cited_conditions: tuple[str, ...]  # what each cited price is (offer, provider)
    parameter_price: float  # the chapter's price, USD per GPU-hour
    cost_usd: Mapping[str, np.ndarray]  # model -> (n_cited + 1, n_mfu); last row: parameter


def cost_sensitivity(models: pd.DataFrame, names: Sequence[str], assumptions: CostAssumptions,
                     mfu_grid: np.ndarray) -> CostSensitivity:
    """Rental cost of each named model over ``mfu_grid`` at each price."""
    by_model = models.set_index("model")
    a = assumptions
    prices = list(a.prices.value) + [a.price_usd_per_gpu_hour]
    cost = {}
    for name in names:
        r = by_model.loc[name]
        cost[name] = np.array([[estimate_training(r.parameters, r.training_tokens,
                                                  a.accelerator, m, price).cost_usd
                                for m in mfu_grid] for price in prices])
    return CostSensitivity(
        hardware=a.hardware, mfu_grid=np.asarray(mfu_grid), mfu_parameter=a.mfu,
        cited_prices=tuple(a.prices.value), cited_conditions=tuple(a.prices.condition),
        parameter_price=a.price_usd_per_gpu_hour, cost_usd=cost)


@dataclass(frozen=True)
class CostRange:
    """One model's cost from a well-run, cheap run to a poorly run, expensive one."""

    model: str
    mfu_low: float  # a poorly utilised run
    mfu_high: float  # a very well utilised run
    low: TrainingEstimate  # at mfu_high and the cheapest cited price
    high: TrainingEstimate  # at mfu_low and the dearest cited price

    def glue_values(self) -> dict[str, Any]:
        return {
            "ib_mfu_low_pct": float(100 * self.mfu_low),
            "ib_mfu_high_pct": float(100 * self.mfu_high),
            "ib_l405_low_musd": float(self.low.cost_usd / 1e6),
            "ib_l405_high_musd": float(self.high.cost_usd / 1e6),
            "ib_l405_range_factor": float(self.high.cost_usd / self.low.cost_usd),
        }


def cost_range(models: pd.DataFrame, assumptions: CostAssumptions, model: str = FRONTIER,
               mfu_low: float = 0.2, mfu_high: float = 0.6) -> CostRange:
    """The cheapest and dearest run of ``model`` over the cited prices and an MFU range."""
    if not 0 < mfu_low < mfu_high <= 1:
        raise ValueError(f"mfu_low={mfu_low}, mfu_high={mfu_high}: need 0 < low < high <= 1")
    r = models.set_index("model").loc[model]
    a, prices = assumptions, assumptions.prices.value
    low = estimate_training(r.parameters, r.training_tokens, a.accelerator, mfu_high, prices.min())
    high = estimate_training(r.parameters, r.training_tokens, a.accelerator, mfu_low, prices.max())
    return CostRange(model=model, mfu_low=mfu_low, mfu_high=mfu_high, low=low, high=high)


# --- compute-optimal size ------------------------------------------------------------------

@dataclass(frozen=True)
class ComputeOptimal:
    """Each model's size and data against the Chinchilla-optimal split of its compute."""

    table: pd.DataFrame  # per model: tokens per parameter, N, N_opt, D, D_opt

    def glue_values(self) -> dict[str, Any]:
        t = self.table
        return {
            "ib_gpt3_tpp": float(t.loc["GPT-3", "tokens per parameter"]),
            "ib_chinchilla_ratio": float(CHINCHILLA_TOKENS_PER_PARAM),
            "ib_gpt3_nopt_b": float(t.loc["GPT-3", "N_opt (B)"]),
            "ib_gpt3_dopt_b": float(t.loc["GPT-3", "D_opt (B tokens)"]),
            "ib_l3_8b_tpp": float(t.loc["Llama 3 8B", "tokens per parameter"]),
        }


def compute_optimal_sizes(models: pd.DataFrame, names: Sequence[str]) -> ComputeOptimal:
    """``chinchilla_optimal`` of each named model's 6·N·D."""
    by_model = models.set_index("model")
    rows = []
    for name in names:
        r = by_model.loc[name]
        n_opt, d_opt = chinchilla_optimal(training_flop(r.parameters, r.training_tokens))
        rows.append({"model": name,
                     "tokens per parameter": round(r.training_tokens / r.parameters, 1),
                     "N (B)": r.parameters / 1e9, "N_opt (B)": round(n_opt / 1e9, 1),
                     "D (B tokens)": r.training_tokens / 1e9,
                     "D_opt (B tokens)": round(d_opt / 1e9)})
    return ComputeOptimal(table=pd.DataFrame(rows).set_index("model"))
