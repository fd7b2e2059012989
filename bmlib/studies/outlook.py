"""The outlook chapter's measurements of section 8's four challenges, as functions returning
result dataclasses: the scaling sweep's fits, the compute-cost trend, membership inference,
attribution maps with their randomisation check, and per-class disparity.

Each result has a ``glue_values()`` giving the named numbers the chapter's prose cites.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from bmlib.data.cifar10 import Cifar10
from bmlib.data.splits import stratified_subset
from bmlib.econ.costs import gpu_hours, rental_cost_usd, training_flop
from bmlib.econ.scaling import (decimal_year, fit_exponential_trend, fit_power_law,
                                fit_saturating_power_law, pareto_frontier, published,
                                record_setters)
from bmlib.metrics.fairness import class_accuracies, disparity
from bmlib.metrics.interpretability import (cascading_randomizations, completeness_gap,
                                            integrated_gradients, mean_rank_correlation,
                                            saliency)
from bmlib.metrics.privacy import loss_threshold_attack
from bmlib.models.small_cnn import SmallCNNConfig
from bmlib.train.images import predict_logits, prepare_batch
from bmlib.train.recipes import BookModel, ChapterSplits
from bmlib.train.small_cnn import FitConfig, per_example_losses, predict_classes, train_small_cnn

SCALES = ("parameters", "data", "compute")


# --- scaling: the sweep of small CNNs --------------------------------------------------------

@dataclass(frozen=True)
class SweepSummary:
    """The sweep's finished runs, one row per grid point, and how long it took."""

    runs: pd.DataFrame  # one row per finished run (status "ok"), with compute_flop
    points: pd.DataFrame  # per (WIDTH, TRAIN_SIZE): means over seeds and their sd
    failures: tuple[str, ...]  # "run_id: status - error" of every run that did not finish
    runs_total: int
    time_text: str  # prose: how long the runs executed now took
    seeds: int

    def glue_values(self) -> dict[str, Any]:
        return {"outlook_sweep_time": self.time_text, "outlook_runs_ok": len(self.runs),
                "outlook_runs_total": self.runs_total,
                "outlook_runs_last_epoch": int((self.runs.best_epoch == self.runs.EPOCHS).sum()),
                "outlook_sweep_seeds": self.seeds,
                "outlook_grid_points": len(self.points),
                "outlook_loss_sd_median": (float(self.points.test_loss_sd.median())
                                           if self.seeds > 1 else 0.0)}


def summarise_sweep(results: Sequence[Any], frame: pd.DataFrame, max_workers: int,
                    seeds: int) -> SweepSummary:
    """``results``: :func:`bmlib.book.sweep.run_sweep`'s; ``frame``: its ``results_frame``."""
    runs = frame[frame.status == "ok"].copy()
    runs["compute_flop"] = runs["flops"].astype(float)
    failures = tuple(f"{r.run_id}: {r.status} - {r.error}" for r in results if r.status != "ok")
    fresh = [r for r in results if not r.resumed]
    if fresh:
        span_min = (max(r.started + r.seconds for r in fresh)
                    - min(r.started for r in fresh)) / 60
        time_text = (f"{span_min:.1f} minutes of wall time for the {len(fresh)} runs executed "
                     f"now, {max_workers} at a time"
                     + (f" ({len(results) - len(fresh)} more reused from an earlier execution)"
                        if len(fresh) < len(results) else ""))
    else:
        time_text = "no time now: every run was reused from an earlier execution of this grid"
    points = (runs.groupby(["WIDTH", "TRAIN_SIZE"], as_index=False)
              .agg(params=("params", "first"), seeds=("SEED", "count"),
                   compute_flop=("compute_flop", "mean"), best_epoch=("best_epoch", "mean"),
                   test_loss=("test_loss", "mean"), test_loss_sd=("test_loss", "std"),
                   test_acc=("test_acc", "mean"), test_acc_sd=("test_acc", "std")))
    return SweepSummary(runs, points, failures, len(results), time_text, seeds)


def scaling_series(frame: pd.DataFrame) -> dict[str, tuple[pd.Series, pd.Series, pd.DataFrame]]:
    """The three (x, loss, rows) series of a set of runs or grid points: loss against
    parameters at the largest training set, against training images at the largest width,
    and against compute on the compute-efficient frontier."""
    by_n = frame[frame.TRAIN_SIZE == frame.TRAIN_SIZE.max()].sort_values("params")
    by_d = frame[frame.WIDTH == frame.WIDTH.max()].sort_values("TRAIN_SIZE")
    front = frame.iloc[pareto_frontier(frame.compute_flop.to_numpy(),
                                       frame.test_loss.to_numpy())]
    return {"parameters": (by_n["params"], by_n.test_loss, by_n),
            "data": (by_d.TRAIN_SIZE, by_d.test_loss, by_d),
            "compute": (front.compute_flop, front.test_loss, front)}


@dataclass(frozen=True)
class ScalingFits:
    """Pure and saturating power laws per scale, and the exponents fitted seed by seed."""

    series: dict[str, tuple[pd.Series, pd.Series, pd.DataFrame]]
    pure: dict[str, Any]  # scale -> PowerLawFit
    saturating: dict[str, Any]  # scale -> SaturatingFit, or None (fewer than 4 points)
    per_seed: dict[str, np.ndarray]  # scale -> exponent of each seed's runs alone

    def seed_sd(self, scale: str) -> float:
        values = self.per_seed.get(scale, np.array([]))
        return float(values.std(ddof=1)) if len(values) > 1 else 0.0

    def table(self) -> pd.DataFrame:
        rows = []
        for scale in SCALES:
            pure, saturating = self.pure[scale], self.saturating[scale]
            seeds = self.per_seed.get(scale, np.array([]))
            rows.append({
                "scale": scale, "points": pure.num_points,
                "alpha (pure)": f"{pure.exponent:.3f} ± {pure.exponent_se:.3f}",
                "alpha per seed": (f"{seeds.mean():.3f} (sd {seeds.std(ddof=1):.3f}, "
                                   f"{len(seeds)} seeds)" if len(seeds) > 1 else "n/a"),
                "alpha (with c)": (f"{saturating.exponent:.2f} ± {saturating.exponent_se:.2f}"
                                   if saturating else "n/a"),
                "c (nats)": f"{saturating.offset:.3f}" if saturating else "n/a",
                "published": "; ".join(f"{p.symbol} = {p.value} "
                                       f"({p.source.split('20')[0].title()})"
                                       for p in published(scale)),
            })
        return pd.DataFrame(rows).set_index("scale")

    def glue_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for scale in SCALES:
            values[f"outlook_alpha_{scale}"] = self.pure[scale].exponent
            se = self.pure[scale].exponent_se
            # two points fit a line exactly: no standard error (smoke profile's 2 x 2 grid)
            values[f"outlook_alpha_{scale}_se"] = (float(se) if np.isfinite(se) else
                                                   "undefined (two points)")
            values[f"outlook_alpha_{scale}_seed_sd"] = self.seed_sd(scale)
        return values


def fit_scaling(sweep: SweepSummary) -> ScalingFits:
    """Fit the three scaling laws to the grid points (means over seeds), and to each seed's
    runs alone for the seed-to-seed spread of the exponents."""
    per_seed: dict[str, list[float]] = {}
    for _, runs in sweep.runs.groupby("SEED"):
        for scale, (x, y, _) in scaling_series(runs).items():
            if len(x) >= 2:
                per_seed.setdefault(scale, []).append(
                    fit_power_law(np.asarray(x, float), np.asarray(y, float)).exponent)
    series = scaling_series(sweep.points)
    pure, saturating = {}, {}
    for scale, (x, y, _) in series.items():
        x, y = np.asarray(x, float), np.asarray(y, float)
        pure[scale] = fit_power_law(x, y)
        saturating[scale] = fit_saturating_power_law(x, y) if len(x) >= 4 else None
    return ScalingFits(series, pure, saturating,
                       {k: np.asarray(v) for k, v in per_seed.items()})


# --- compute and cost --------------------------------------------------------------------------

@dataclass(frozen=True)
class ComputeTrend:
    """Training compute of landmark models, its record-setter trend and a cost projection."""

    models: pd.DataFrame  # usable landmark models with compute_flop and decimal year
    records: pd.DataFrame  # the record setters
    trend: Any  # ExponentialTrend through the record setters
    trend_all: Any  # through all models
    peak_flops: float  # H100 dense BF16, FLOP/s (accelerator table)
    prices: np.ndarray  # sorted H100 rental prices, USD per GPU-hour
    mfu: tuple[float, float, float]  # assumed model FLOP utilisation: low, mid, high

    def cost(self, year: float) -> float:
        """Rental cost, USD, of a record run at ``year`` on the trend's centre, mid MFU and
        the median price (today's prices held constant)."""
        return rental_cost_usd(gpu_hours(self.trend.predict(year)[0], self.peak_flops,
                                         self.mfu[1]), float(np.median(self.prices)))

    def projection(self, years: Sequence[int] = (2025, 2026, 2027, 2028)) -> pd.DataFrame:
        """Per year (mid-year): compute with its 90 % band, and cost with a band combining
        the compute band, the MFU range and the price range."""
        low_mfu, mid_mfu, high_mfu = self.mfu
        rows = []
        for year in years:
            centre, low, high = self.trend.predict(year + 0.5)
            cost_low = rental_cost_usd(gpu_hours(low, self.peak_flops, high_mfu),
                                       float(self.prices.min()))
            cost_high = rental_cost_usd(gpu_hours(high, self.peak_flops, low_mfu),
                                        float(self.prices.max()))
            rows.append({"year (mid)": year,
                         "compute, FLOP (90% band)": f"{centre:.1e} ({low:.1e} - {high:.1e})",
                         "cost, USD (band)": f"{self.cost(year + 0.5):.1e} "
                                             f"({cost_low:.1e} - {cost_high:.1e})"})
        return pd.DataFrame(rows).set_index("year (mid)")

    def glue_values(self) -> dict[str, Any]:
        return {"outlook_compute_models": len(self.models),
                "outlook_compute_records": len(self.records),
                "outlook_compute_all_factor": self.trend_all.factor_per_year,
                "outlook_compute_all_low": 10 ** (self.trend_all.slope
                                                  - 1.96 * self.trend_all.slope_se),
                "outlook_compute_all_high": 10 ** (self.trend_all.slope
                                                   + 1.96 * self.trend_all.slope_se),
                "outlook_compute_factor": self.trend.factor_per_year,
                "outlook_compute_factor_low": 10 ** (self.trend.slope
                                                     - 1.96 * self.trend.slope_se),
                "outlook_compute_factor_high": 10 ** (self.trend.slope
                                                      + 1.96 * self.trend.slope_se),
                "outlook_compute_doubling_months": 12 * self.trend.doubling_time_years,
                "outlook_peak_tflops": self.peak_flops / 1e12,
                "outlook_price_low": float(self.prices.min()),
                "outlook_price_high": float(self.prices.max()),
                "outlook_mfu_low": 100 * self.mfu[0], "outlook_mfu_mid": 100 * self.mfu[1],
                "outlook_mfu_high": 100 * self.mfu[2],
                "outlook_cost_2027": self.cost(2027.5)}


def compute_trend(landmarks: pd.DataFrame, accelerators: pd.DataFrame,
                  mfu: tuple[float, float, float] = (0.3, 0.4, 0.5)) -> ComputeTrend:
    """Fit the trends to the landmark-models table (published compute where given, else
    6ND) and price them with the accelerator table's H100 datasheet peak and rental prices."""
    usable = landmarks[landmarks.training_tokens.notna()
                       & ~landmarks.model.str.contains("model card")].copy()
    usable["compute_flop"] = [
        float(row.published_training_flop) if pd.notna(row.published_training_flop)
        else training_flop(float(row.parameters), float(row.training_tokens))
        for row in usable.itertuples()]
    usable["year"] = usable.release.map(decimal_year)
    records = usable.iloc[record_setters(usable.year.to_numpy(), usable.compute_flop.to_numpy())]
    h100 = accelerators[accelerators.accelerator == "H100"]
    peak = float(h100[(h100.quantity == "peak_bf16_dense")
                      & (h100.source_ids == "nvidia_h100_datasheet")].value.iloc[0]) * 1e12
    prices = np.sort(h100[h100.quantity == "rental_price"].value.astype(float).to_numpy())
    return ComputeTrend(usable, records,
                        fit_exponential_trend(records.year.to_numpy(),
                                              records.compute_flop.to_numpy()),
                        fit_exponential_trend(usable.year.to_numpy(),
                                              usable.compute_flop.to_numpy()),
                        peak, prices, mfu)


# --- privacy: membership inference -------------------------------------------------------------

#: Where the privacy experiment's images come from, in the 50,000 training images: members
#: are drawn class-balanced from the first MEMBER_POOL, non-members are the images right after
#: it (never trained on), and the regularised model's early stopping uses the last VALIDATION.
MEMBER_POOL = 48_000
VALIDATION = 500


@dataclass
class Privacy:
    """Two models trained on the same members, and the loss-threshold attack on each."""

    models: dict[str, nn.Module]  # "over-fitted", "regularised"
    table: pd.DataFrame  # one row per model
    test_x: torch.Tensor  # the evaluated test images (uint8), shared with the fairness rows
    test_y: torch.Tensor

    @property
    def over(self) -> pd.Series:
        return self.table.iloc[0]

    @property
    def regularised(self) -> pd.Series:
        return self.table.iloc[1]

    def glue_values(self) -> dict[str, Any]:
        values = {}
        for key, row in (("over_fitted", self.over), ("regularised", self.regularised)):
            values[f"outlook_mia_auc_{key}"] = float(row["attack AUC"])
            values[f"outlook_mia_adv_{key}"] = float(row["advantage"])
            values[f"outlook_gap_{key}"] = float(row["train accuracy"] - row["test accuracy"])
        return values


def membership_inference(data: Cifar10, members: int, epochs: int, width: int, seed: int,
                         eval_size: int, member_pool: int = MEMBER_POOL,
                         validation: int = VALIDATION) -> Privacy:
    """Train an over-fitted and a regularised flattened-head CNN on ``members`` images and
    attack each with a loss threshold (members against as many never-seen images)."""
    labels = data.train_labels
    available = len(labels) - member_pool - validation
    if members > available:
        raise ValueError(f"{members} members: only {available} non-members lie between the "
                         f"member pool ({member_pool:,} images) and the validation images "
                         f"({validation}); use at most {available}")
    member_index = stratified_subset(labels[:member_pool], members, seed)
    members_x = torch.from_numpy(data.train_images[member_index])
    members_y = torch.from_numpy(labels[member_index])
    others_x = torch.from_numpy(data.train_images[member_pool:member_pool + members])
    others_y = torch.from_numpy(labels[member_pool:member_pool + members])
    val_x = torch.from_numpy(data.train_images[-validation:])
    val_y = torch.from_numpy(labels[-validation:])
    test_x = torch.from_numpy(data.test_images[:eval_size])
    test_y = torch.from_numpy(data.test_labels[:eval_size])
    recipes = {
        "over-fitted": (SmallCNNConfig(width=width, head="flatten"),
                        FitConfig(epochs=epochs, batch_size=32, seed=seed), False),
        "regularised": (SmallCNNConfig(width=width, head="flatten", dropout=0.5),
                        FitConfig(epochs=epochs, batch_size=32, weight_decay=0.05,
                                  augment=True, seed=seed), True),
    }
    models, rows = {}, []
    for name, (model_config, fit_config, early_stop) in recipes.items():
        trained = train_small_cnn(model_config, members_x, members_y, fit_config,
                                  eval_images=val_x if early_stop else None,
                                  eval_labels=val_y if early_stop else None,
                                  keep_best=early_stop)
        models[name] = trained.model
        attack = loss_threshold_attack(
            per_example_losses(trained.model, members_x, members_y).numpy(),
            per_example_losses(trained.model, others_x, others_y).numpy())
        rows.append({"model": name, "epochs kept": trained.best_epoch,
                     "train accuracy": (predict_classes(trained.model, members_x)
                                        == members_y).float().mean().item(),
                     "test accuracy": (predict_classes(trained.model, test_x)
                                       == test_y).float().mean().item(),
                     "member loss": attack.member_mean_loss,
                     "non-member loss": attack.nonmember_mean_loss,
                     "attack AUC": attack.auc, "advantage": attack.advantage})
    return Privacy(models, pd.DataFrame(rows), test_x, test_y)


# --- the CIFAR-10 chapter's models -------------------------------------------------------------

@dataclass(frozen=True)
class EvaluatedModel:
    """A CIFAR-10 chapter model with its per-class test accuracy."""

    book_model: BookModel
    per_class: np.ndarray  # (10,)
    test_accuracy: float

    @property
    def label(self) -> str:
        return self.book_model.label

    @property
    def essay(self) -> bool:
        return self.label.startswith("essay")


def evaluate_book_models(models: Sequence[BookModel], splits: ChapterSplits
                         ) -> list[EvaluatedModel]:
    """Evaluate each model once on the test part (with its recipe's test-time views)."""
    true = splits.y_test.cpu().numpy()
    evaluated = []
    for m in models:
        predicted = predict_logits(m.model, splits.x_test,
                                   m.recipe.train_config).argmax(1).cpu().numpy()
        evaluated.append(EvaluatedModel(m, class_accuracies(true, predicted),
                                        float((predicted == true).mean())))
    return evaluated


def book_models_table(evaluated: Sequence[EvaluatedModel]) -> pd.DataFrame:
    return pd.DataFrame([{"model": m.label, "checkpoint": m.book_model.path.name,
                          "test accuracy": m.test_accuracy} for m in evaluated]
                        ).round(4).set_index("model")


# --- interpretability --------------------------------------------------------------------------

@dataclass
class Attribution:
    """Saliency and integrated-gradient maps of the explained models, and the rank
    correlation of each with the maps of the same network randomised from the top down."""

    maps: dict[str, dict[str, Any]]  # model -> saliency, ig, random saliency, gap, ...
    cascade: pd.DataFrame  # model, randomised down to, saliency / IG rank correlation
    ig_steps: int
    images_u8: torch.Tensor  # the explained images
    targets: torch.Tensor

    def cascade_of(self, name: str) -> pd.DataFrame:
        return self.cascade[self.cascade.model == name]

    def glue_values(self, improved: str, essay: str) -> dict[str, Any]:
        up, ep = self.cascade_of(improved), self.cascade_of(essay)
        return {"outlook_ig_completeness": self.maps[improved]["gap"],
                "outlook_ig_completeness_essay": self.maps[essay]["gap"],
                "outlook_ig_steps": self.ig_steps,
                "outlook_explained_params": self.maps[improved]["params"],
                "outlook_score_scale": self.maps[improved]["score"],
                "outlook_sal_corr_head": float(up["saliency rank corr."].iloc[0]),
                "outlook_sal_corr_all": float(up["saliency rank corr."].iloc[-1]),
                "outlook_ig_corr_all": float(up["IG rank corr."].iloc[-1]),
                "outlook_essay_sal_corr_all": float(ep["saliency rank corr."].iloc[-1]),
                "outlook_essay_ig_corr_all": float(ep["IG rank corr."].iloc[-1]),
                "outlook_cascade_layers": len(up)}


def attribution_study(explained: Mapping[str, BookModel], images_u8: torch.Tensor,
                      targets: torch.Tensor, seed: int, ig_steps: int = 32) -> Attribution:
    """Explain each model on the given images, each with the input scaling it trained on,
    and run the cascading model-randomisation check (Adebayo et al.)."""
    maps, rows = {}, []
    for name, m in explained.items():
        inputs = prepare_batch(images_u8, m.recipe.train_config).contiguous()
        sal = saliency(m.model, inputs, targets)
        ig = integrated_gradients(m.model, inputs, targets, steps=ig_steps)
        gap = completeness_gap(m.model, inputs, targets, ig)
        with torch.no_grad():
            score = m.model(inputs).gather(1, targets.view(-1, 1)).abs().mean().item()
        randomisations = cascading_randomizations(m.model, seed=seed)
        maps[name] = {"saliency": sal, "ig": ig.abs().sum(1), "gap": gap.mean().item(),
                      "score": score, "params": sum(p.numel() for p in m.model.parameters()),
                      "random saliency": saliency(randomisations[-1][1], inputs, targets)}
        for top_layer, randomised in randomisations:
            rows.append({
                "model": name, "randomised down to": top_layer,
                "saliency rank corr.": mean_rank_correlation(
                    sal, saliency(randomised, inputs, targets)),
                "IG rank corr.": mean_rank_correlation(
                    ig.abs().sum(1),
                    integrated_gradients(randomised, inputs, targets,
                                         steps=ig_steps).abs().sum(1)),
            })
    return Attribution(maps, pd.DataFrame(rows), ig_steps, images_u8, targets)


# --- fairness ----------------------------------------------------------------------------------

def _disparity_row(name: str, per_class: np.ndarray, class_names: Sequence[str],
                   **extra: Any) -> dict[str, Any]:
    summary = disparity(per_class)
    return {"model": name, **extra, "mean accuracy": summary.mean_accuracy,
            "worst class": class_names[summary.worst_class],
            "worst accuracy": float(per_class[summary.worst_class]),
            "best class": class_names[summary.best_class],
            "gap": summary.gap, "ratio": summary.ratio, "std": summary.std}


@dataclass(frozen=True)
class BookModelFairness:
    """Per-class disparity of the CIFAR-10 chapter's models."""

    table: pd.DataFrame  # one row per model
    essay_class: np.ndarray  # per-class accuracy, mean over the essay CNN's seeds
    improved_class: np.ndarray

    def glue_values(self, class_names: Sequence[str]) -> dict[str, Any]:
        essay = self.table[self.table.model.str.startswith("essay")]
        improved = self.table[~self.table.model.str.startswith("essay")]
        gain = self.improved_class - self.essay_class
        return {"outlook_cifar_gap_essay": float(essay.gap.mean()),
                "outlook_cifar_gap_improved": float(improved.gap.mean()),
                "outlook_cifar_ratio_essay": float(essay.ratio.mean()),
                "outlook_cifar_ratio_improved": float(improved.ratio.mean()),
                "outlook_cifar_std_essay": float(essay["std"].mean()),
                "outlook_cifar_std_improved": float(improved["std"].mean()),
                "outlook_cifar_worst_essay": class_names[int(np.argmin(self.essay_class))],
                "outlook_cifar_worst_improved":
                    class_names[int(np.argmin(self.improved_class))],
                "outlook_cifar_most_gain": class_names[int(np.argmax(gain))],
                "outlook_cifar_most_gain_pts": float(gain.max()),
                "outlook_cifar_least_gain": class_names[int(np.argmin(gain))],
                "outlook_cifar_least_gain_pts": float(gain.min()),
                "outlook_cifar_gap_change": ("narrows" if improved.gap.mean() < essay.gap.mean()
                                             else "widens")}


def book_model_fairness(evaluated: Sequence[EvaluatedModel], class_names: Sequence[str]
                        ) -> BookModelFairness:
    table = pd.DataFrame([_disparity_row(m.label, m.per_class, class_names) for m in evaluated])
    return BookModelFairness(
        table, np.mean([m.per_class for m in evaluated if m.essay], axis=0),
        np.mean([m.per_class for m in evaluated if not m.essay], axis=0))


@dataclass(frozen=True)
class SweepFairness:
    """Per-class disparity of every sweep run and of the two privacy models."""

    table: pd.DataFrame  # one row per model
    points: pd.DataFrame  # sweep rows averaged per (WIDTH, TRAIN_SIZE)
    eval_class_counts: np.ndarray  # test images of each class evaluated

    @property
    def gap_accuracy_r(self) -> float:
        return float(np.corrcoef(self.points["mean accuracy"], self.points.gap)[0, 1])

    def glue_values(self) -> dict[str, Any]:
        best = self.points.loc[self.points["mean accuracy"].idxmax()]
        worst = self.points.loc[self.points["mean accuracy"].idxmin()]
        return {"outlook_fair_gap_over_fitted": float(self.table.gap.iloc[-2]),
                "outlook_fair_gap_regularised": float(self.table.gap.iloc[-1]),
                "outlook_eval_class_min": int(self.eval_class_counts.min()),
                "outlook_eval_class_max": int(self.eval_class_counts.max()),
                "outlook_fair_gap_best": float(best.gap),
                "outlook_fair_acc_best": float(best["mean accuracy"]),
                "outlook_fair_gap_worst": float(worst.gap),
                "outlook_fair_acc_worst": float(worst["mean accuracy"]),
                "outlook_fair_gap_r": self.gap_accuracy_r}


def sweep_fairness(runs: pd.DataFrame, privacy: Privacy, width: int, members: int,
                   class_names: Sequence[str]) -> SweepFairness:
    """Disparity rows of the sweep's runs (from their per-class test accuracy) and of the
    privacy models (evaluated on the privacy experiment's test images)."""
    rows = [_disparity_row(f"sweep w={r.WIDTH}, n={r.TRAIN_SIZE}, seed {r.SEED}",
                           np.asarray(r.class_accuracy), class_names,
                           WIDTH=r.WIDTH, TRAIN_SIZE=r.TRAIN_SIZE)
            for r in runs.itertuples()]
    test_y = privacy.test_y.numpy()
    for name, model in privacy.models.items():
        rows.append(_disparity_row(
            name, class_accuracies(test_y, predict_classes(model, privacy.test_x).numpy()),
            class_names, WIDTH=width, TRAIN_SIZE=members))
    table = pd.DataFrame(rows).drop(columns=["worst accuracy"])
    points = (table[table.model.str.startswith("sweep")]
              .groupby(["WIDTH", "TRAIN_SIZE"], as_index=False)
              .agg(**{"mean accuracy": ("mean accuracy", "mean"), "gap": ("gap", "mean"),
                      "best class": ("best class", lambda v: v.mode().iloc[0]),
                      "worst class": ("worst class", lambda v: v.mode().iloc[0])}))
    return SweepFairness(table, points, np.bincount(test_y, minlength=len(class_names)))
