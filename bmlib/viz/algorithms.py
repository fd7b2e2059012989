"""The figures of the algorithms chapter, drawn from the results of
:mod:`bmlib.studies.algorithms` and :mod:`bmlib.studies.sequence_study`. Each function
returns the Figure; the chapter shows it with :func:`bmlib.viz.figures.show_figure` and its
alt text."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from bmlib.studies.algorithms import (ActivationCheck, DataDependence, EdgeMap, ModelChoice,
                                      TuneOnTest, WeightReading)
from bmlib.studies.sequence_study import GradientNorms, ReversalAttention, ReversalSummary
from bmlib.studies.sequence_tasks import ReversalResult
from bmlib.viz.figures import new_figure

_THREE = ("#1f77b4", "#d62728", "#2ca02c")  # blue, red, green


def activations(check: ActivationCheck) -> Figure:
    """Left: each activation; right: its autograd derivative."""
    fig, axes = new_figure(1, 2, width=10, height=3.8)
    for name, color in zip(check.values, _THREE):
        axes[0].plot(check.x, check.values[name], color=color, label=name)
        axes[1].plot(check.x, check.derivatives[name], color=color, label=name)
    axes[0].set_title("Activation functions")
    axes[1].set_title("Their derivatives (autograd)")
    for ax, ylabel in zip(axes, ["activation f(x) (dimensionless)",
                                 "derivative f'(x) (dimensionless)"]):
        ax.set_xlabel("pre-activation x (dimensionless)")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
    axes[0].set_ylim(-1.2, 2.5)
    fig.suptitle("ReLU, Sigmoid and Tanh and their derivatives")
    return fig


def _count(n: int) -> str:
    words = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    return words[n] if n < len(words) else str(n)


def candidate_losses(choice: ModelChoice) -> Figure:
    """Training loss per Adam step of every candidate, log scale."""
    fig, ax = new_figure(width=6.4, height=3.6)
    for run in choice.runs:
        ax.plot(run.losses, label=f"hidden {run.config.hidden}, wd {run.config.weight_decay:.0e}")
    ax.set_yscale("log")
    ax.set_xlabel("full-batch Adam step (count)")
    ax.set_ylabel("training cross-entropy (nats, log scale)")
    ax.set_title(f"Step 3: training loss of the {_count(len(choice.runs))} candidates")
    ax.legend(fontsize=7, ncol=2)
    return fig


def tuning_optimism(tuning: TuneOnTest) -> Figure:
    """Histograms of reported minus fresh accuracy, chosen on validation and on test."""
    fig, ax = new_figure(width=6.4, height=3.6)
    bins = np.linspace(-6, 6, 49)
    ax.hist(100 * tuning.optimism_val, bins=bins, alpha=0.6, color="#2ca02c",
            label="chosen on validation, reported on test")
    ax.hist(100 * tuning.optimism_test, bins=bins, alpha=0.6, color="#d62728",
            label="chosen on test, reported on test")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("reported test accuracy minus accuracy on fresh data (percentage points)")
    ax.set_ylabel("random partitions (count)")
    ax.set_title("Tuning on the test set makes the reported score optimistic")
    ax.legend(fontsize=8)
    return fig


def vertical_edges(edge_map: EdgeMap) -> Figure:
    """A digit and its response to the vertical-edge kernel, with colour bars."""
    fig, axes = new_figure(1, 2, width=7, height=3.4)
    panels = [(edge_map.digit, "A training digit", "gray", "grey level (0-16)"),
              (edge_map.edges, "Vertical-edge response", "coolwarm", "edge response (grey levels)")]
    for ax, (image, title, cmap, label) in zip(axes, panels):
        shown = ax.imshow(image, cmap=cmap)
        ax.set_title(title)
        ax.set_xlabel("pixel column (index)")
        ax.set_ylabel("pixel row (index)")
        ax.grid(False)
        fig.colorbar(shown, ax=ax, label=label)
    fig.suptitle("One hand-made 3x3 kernel turns a digit into a map of its vertical edges")
    return fig


def gradient_norms(result: GradientNorms) -> Figure:
    """One log-scale panel per ``W_hh`` gain: gradient norm against steps back from the loss."""
    fig, axes = new_figure(1, len(result.gains), width=10, height=3.8, sharey=True)
    distance = result.length - 1 - np.arange(result.length)
    for ax, gain in zip(np.atleast_1d(axes), result.gains):
        for (label, _, _), color in zip(result.variants, ["#d62728", "#1f77b4", "#2ca02c"]):
            ax.plot(distance, result.norms[(label, gain)], color=color, label=label)
        ax.set_yscale("log")
        ax.set_xlabel("steps back from the loss, T-1-t (count)")
        ax.set_ylabel("||dL/dh_t|| (nats per unit, log scale)")
        ax.set_title("default recurrent weights" if gain == 1.0 else f"recurrent weights x{gain:g}")
        ax.legend(fontsize=8)
    fig.suptitle("How much gradient reaches earlier steps: RNN vs LSTM (untrained)")
    return fig


def reversal(result: ReversalResult, summary: ReversalSummary,
             attention: ReversalAttention) -> Figure:
    """Left: training loss against chance; then one attention map per head."""
    n_heads = len(attention.heads)
    fig, axes = new_figure(1, 1 + n_heads, width=12, height=3.6,
                           gridspec_kw={"width_ratios": [1.4] + [1] * n_heads})
    axes[0].plot(result.losses, color="#1f77b4")
    axes[0].axhline(summary.chance_loss, color="grey", linestyle="--",
                    label=f"chance (ln {summary.vocab})")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("Adam step (count)")
    axes[0].set_ylabel("cross-entropy (nats/token, log)")
    axes[0].set_title("Training loss")
    axes[0].legend(fontsize=8)
    for h, ax in enumerate(axes[1:]):
        shown = ax.imshow(attention.heads[h], cmap="viridis", vmin=0, vmax=1)
        ax.set_title(f"Attention weights, head {h}")
        ax.set_xlabel("key position (index)")
        ax.set_ylabel("query position (index)")
        ax.grid(False)
    fig.colorbar(shown, ax=axes[1:], label="attention weight (fraction)")
    fig.suptitle("A one-block Transformer learns sequence reversal by attending to the "
                 "mirrored position")
    return fig


def data_dependence(result: DataDependence) -> Figure:
    """Validation accuracy against training-set size (left) and label noise (right)."""
    fig, axes = new_figure(1, 2, width=10, height=3.8, sharey=True)
    for name, color in zip(result.size_accuracy, ["#d62728", "#ff7f0e", "#1f77b4"]):
        axes[0].plot(result.train_sizes, 100 * np.array(result.size_accuracy[name]), "o-",
                     color=color, label=name)
        axes[1].plot(result.noise_percents, 100 * np.array(result.noise_accuracy[name]), "o-",
                     color=color, label=name)
    axes[0].set_xscale("log")
    axes[0].set_xlabel("training images (count, log scale)")
    axes[0].set_title("Accuracy grows with data")
    axes[1].set_xlabel("training labels replaced by a wrong class (%)")
    axes[1].set_title("Label noise hurts learned features most")
    for ax in axes:
        ax.set_ylabel("validation accuracy (%)")
        ax.legend(fontsize=8)
    fig.suptitle("Data dependence on the digits: training-set size and label noise")
    return fig


def weight_maps(reading: WeightReading) -> Figure:
    """Top: the softmax regression's ten class maps; bottom: the MLP's first ten hidden units."""
    fig, axes = new_figure(2, 10, width=12, height=3.0)
    rows = [(reading.linear_weights, "class"), (reading.hidden_weights, "unit")]
    for j in range(10):
        for row, (weights, name) in enumerate(rows):
            ax = axes[row, j]
            limit = np.abs(weights[j]).max()
            ax.imshow(weights[j].reshape(8, 8), cmap="coolwarm", vmin=-limit, vmax=limit)
            ax.set_title(f"{name} {j}", fontsize=8)
            ax.axis("off")
    fig.suptitle("Top: softmax-regression weights, one map per class. "
                 f"Bottom: 10 of the MLP's {len(reading.hidden_weights)} hidden units "
                 "(shared features)")
    return fig
