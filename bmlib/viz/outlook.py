"""The figures of the outlook chapter, drawn from :mod:`bmlib.studies.outlook`'s results.
Each function returns the Figure; the chapter shows it with alt text through
:func:`bmlib.viz.figures.show_figure`."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, NullFormatter

from bmlib.studies.outlook import (SCALES, Attribution, BookModelFairness, ComputeTrend,
                                   EvaluatedModel, ScalingFits, SweepFairness, SweepSummary)
from bmlib.viz.figures import new_figure

AXIS_LABELS = {"parameters": "parameters N (count)", "data": "training images D (count)",
               "compute": "training compute C (FLOP)"}


def scaling_laws(fits: ScalingFits, sweep: SweepSummary) -> Figure:
    """Three log-log panels: test loss against parameters, data and compute, with the grid
    points (mean ± sd over seeds), every run on the compute panel, and both fitted laws."""
    fig, axes = new_figure(1, 3, width=11.0, height=3.6)
    for ax, scale in zip(axes, SCALES):
        x, y, rows = fits.series[scale]
        pure, saturating = fits.pure[scale], fits.saturating[scale]
        x = np.asarray(x, float)
        grid_x = np.geomspace(x.min(), x.max(), 50)
        if scale == "compute":
            ax.scatter(sweep.runs.compute_flop, sweep.runs.test_loss, s=10, color="0.7",
                       label="every run (each seed)")
        ax.errorbar(x, y, yerr=rows.test_loss_sd.fillna(0.0), fmt="o", markersize=4,
                    color="C0", capsize=2, label="fitted points (mean ± sd over seeds)",
                    zorder=3)
        ax.plot(grid_x, pure.predict(grid_x), color="C1",
                label=f"pure power law, alpha={pure.exponent:.3f}")
        if saturating is not None:
            ax.plot(grid_x, saturating.predict(grid_x), color="C2", linestyle="--",
                    label=f"with offset, alpha={saturating.exponent:.2f}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.2f"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%.2f"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set(xlabel=AXIS_LABELS[scale], ylabel="test cross-entropy (nats)",
               title=f"loss vs {scale}")
        ax.legend(fontsize=7)
    fig.suptitle("Scaling of small CNNs on CIFAR-10")
    return fig


def compute_trend(trend: ComputeTrend, until: float = 2028.5) -> Figure:
    """Training compute of the landmark models against release date, the record setters,
    the fitted frontier trend with its 90 % band, and the trend through all models."""
    models, records = trend.models, trend.records
    fig, ax = new_figure(width=7.0, height=4.0)
    ax.scatter(models.year, models.compute_flop, color="C0", zorder=3, label="landmark models")
    ax.scatter(records.year, records.compute_flop, s=70, facecolors="none", edgecolors="C3",
               zorder=4, label="record setters (fitted)")
    for row in records.itertuples():
        ax.annotate(row.model, (row.year, row.compute_flop), fontsize=6, xytext=(3, 2),
                    textcoords="offset points")
    years = np.linspace(models.year.min(), until, 60)
    bands = np.array([trend.trend.predict(t) for t in years])
    ax.plot(years, bands[:, 0], color="C1",
            label=f"frontier trend: x{trend.trend.factor_per_year:.1f} per year")
    ax.plot(years, [trend.trend_all.predict(t)[0] for t in years], color="0.5",
            linestyle="--", label=f"all models: x{trend.trend_all.factor_per_year:.1f} per year")
    ax.fill_between(years, bands[:, 1], bands[:, 2], color="C1", alpha=0.2,
                    label="90% prediction interval")
    ax.set_yscale("log")
    ax.set(xlabel="release date (year)", ylabel="training compute (FLOP)",
           title="Training compute of landmark models and its trend")
    ax.legend(fontsize=8)
    return fig


def attribution_maps(attribution: Attribution, improved: str, essay: str,
                     class_names: Sequence[str], shown: int = 4) -> Figure:
    """Rows: the image, the improved model's saliency and integrated gradients, the saliency
    of the same network randomised, and the essay CNN's saliency; one column per image."""
    shown = min(shown, attribution.images_u8.shape[0])
    rows = [("image", None),
            ("saliency, improved model", attribution.maps[improved]["saliency"]),
            ("integrated gradients, improved model", attribution.maps[improved]["ig"]),
            ("saliency, improved model randomised",
             attribution.maps[improved]["random saliency"]),
            ("saliency, essay's CNN", attribution.maps[essay]["saliency"])]
    fig, axes = new_figure(len(rows), shown, width=1.9 * shown, height=9.2)
    for column in range(shown):
        for row, (title, values) in enumerate(rows):
            ax = axes[row, column]
            if values is None:
                ax.imshow(attribution.images_u8[column].permute(1, 2, 0).cpu().numpy())
                ax.set_title(class_names[int(attribution.targets[column])], fontsize=8)
            else:
                ax.imshow(values[column].detach().cpu().numpy(), cmap="magma")
                if column == 0:
                    ax.set_title(title, fontsize=8, loc="left")
            ax.set_axis_off()
    fig.suptitle("Attribution maps of the CIFAR-10 chapter's models (32 x 32 pixels)")
    return fig


def per_class_accuracy(evaluated: Sequence[EvaluatedModel], class_names: Sequence[str]
                       ) -> Figure:
    """Paired bars of per-class test accuracy (mean over seeds, range as error bars)."""
    fig, ax = new_figure(width=8.0, height=3.8)
    positions = np.arange(len(class_names))
    groups = [(-0.2, "essay's CNN", [m for m in evaluated if m.essay], "C0"),
              (0.2, "improved recipe", [m for m in evaluated if not m.essay], "C1")]
    for offset, name, group, colour in groups:
        runs = np.array([m.per_class for m in group])
        mean = runs.mean(axis=0)
        ax.bar(positions + offset, mean, width=0.4, color=colour,
               label=f"{name} (mean of {len(group)} seeds)")
        ax.errorbar(positions + offset, mean,
                    yerr=[mean - runs.min(axis=0), runs.max(axis=0) - mean],
                    fmt="none", ecolor="black", capsize=2, linewidth=0.8)
    ax.set_xticks(positions, class_names, rotation=45, fontsize=8)
    ax.set(title="Per-class test accuracy of the CIFAR-10 chapter's models (bars: seed range)",
           xlabel="class", ylabel="test accuracy (fraction)")
    ax.legend(fontsize=8)
    return fig


def classes_improved(fairness: BookModelFairness) -> int:
    """For how many classes the improved recipe's mean accuracy is the higher (alt text)."""
    return int((fairness.improved_class > fairness.essay_class).sum())


def gap_against_accuracy(fairness: SweepFairness) -> Figure:
    """Best-minus-worst class accuracy against mean accuracy of the sweep's grid points,
    one line per width, points ordered by training-set size."""
    fig, ax = new_figure(width=7.0, height=3.8)
    for width, part in fairness.points.groupby("WIDTH"):
        part = part.sort_values("TRAIN_SIZE")
        ax.plot(part["mean accuracy"], part.gap, marker="o", label=f"width {width}")
    ax.set(xlabel="mean per-class test accuracy (fraction)",
           ylabel="best - worst class accuracy (fraction)",
           title="Class accuracy gap against mean accuracy (sweep runs)")
    ax.legend(fontsize=8, title="points: more training images ->", title_fontsize=7)
    return fig
