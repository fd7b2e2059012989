"""The figures of the mathematics chapter, drawn from the results of its study
(:mod:`bmlib.studies.mathematics` and the ``bmlib.studies.math_*`` modules behind it). Each
function returns the Figure; the chapter shows it with :func:`bmlib.viz.figures.show_figure`
and its alt text."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from bmlib.data.toy import BinaryDataset
from bmlib.studies.math_essay_update import EssayUpdateRuns
from bmlib.studies.math_forward import SigmoidOverflow, SoftmaxCheck
from bmlib.studies.math_optimisers import BiasCorrectionInflation, OptimiserComparison
from bmlib.studies.math_worked_example import DecisionSurfaces, EssayLossRun, WorkedExample
from bmlib.viz.figures import PALETTE, new_figure


def sigmoid_overflow(result: SigmoidOverflow) -> Figure:
    """The stable sigmoid and the literal e^z / (1 + e^z), which stops where e^z overflows."""
    fig, ax = new_figure(width=7, height=3.6)
    ax.plot(result.z, result.stable, color=PALETTE[0], linewidth=3,
            label="stable: bmlib.scratch.mlp.sigmoid")
    ax.plot(result.z, result.literal, color=PALETTE[1], linestyle="--",
            label="literal e^z / (1 + e^z)")
    ax.axvline(result.overflow_64, color="grey", linestyle=":",
               label=f"z = ln(max float64) = {result.overflow_64:.1f}")
    ax.set_xlabel("pre-activation z (dimensionless)")
    ax.set_ylabel("sigmoid(z) (probability)")
    ax.set_title("The essay's sigmoid form returns NaN once e^z overflows")
    ax.legend(fontsize=8, loc="center left")
    return fig


def softmax_readings(result: SoftmaxCheck) -> Figure:
    """Bars of the literal reading of the essay's softmax next to the true softmax."""
    fig, ax = new_figure(width=6, height=3.4)
    positions = np.arange(len(result.logits))
    ax.bar(positions - 0.2, result.literal, width=0.4, color=PALETTE[1],
           label="denominator l = 1..k (as written)")
    ax.bar(positions + 0.2, result.correct, width=0.4, color=PALETTE[0],
           label="denominator l = 1..K (softmax)")
    ax.set_xticks(positions, [f"output {k + 1}\n(z = {z:.0f})" for k, z in enumerate(result.logits)])
    ax.set_xlabel("output neuron k")
    ax.set_ylabel("a_k (probability)")
    ax.set_title(f"Read literally, the essay's softmax sums to {result.literal.sum():.2f}, not 1")
    ax.legend(fontsize=8)
    return fig


def adam_bias_correction(inflation: BiasCorrectionInflation,
                         comparison: OptimiserComparison) -> Figure:
    """Left: the step inflation without bias correction; right: the loss curves of torch's
    Adam, bmlib's and the essay's."""
    fig, axes = new_figure(1, 2, width=11, height=3.8)
    axes[0].plot(inflation.t, inflation.ratio, color=PALETTE[1])
    axes[0].axhline(1, color="grey", linestyle="--", linewidth=0.8)
    axes[0].set_xscale("log")
    axes[0].set_xlabel("step t (count, log scale)")
    axes[0].set_ylabel("uncorrected / corrected step (ratio)")
    axes[0].set_title("Step-size inflation without bias correction")
    steps_axis = np.arange(1, comparison.steps + 1)
    adam, essay = comparison.runs["Adam"], comparison.runs["Adam, no bias correction"]
    axes[1].plot(steps_axis, adam.torch_losses, color=PALETTE[0], linewidth=3,
                 label="torch.optim.Adam")
    axes[1].plot(steps_axis, adam.ours_losses, color=PALETTE[2], linestyle="--",
                 label="bmlib Adam (paper)")
    axes[1].plot(steps_axis, essay.ours_losses, color=PALETTE[1],
                 label="essay's Adam (no m-hat, v-hat)")
    axes[1].set_xlabel("step (count)")
    axes[1].set_ylabel("mean binary cross-entropy (nats)")
    axes[1].set_title(f"2-3-1 network, alpha = {comparison.adam_lr}")
    axes[1].legend(fontsize=8)
    fig.suptitle("Adam as the essay writes it is not Adam")
    return fig


def worked_example(result: WorkedExample) -> Figure:
    """Left: bmlib's and PyTorch's loss curves; right: their largest difference so far."""
    fig, axes = new_figure(1, 2, width=11, height=3.8)
    steps_axis = np.arange(1, result.steps + 1)
    axes[0].plot(steps_axis, result.torch_losses, color=PALETTE[0], linewidth=3,
                 label="PyTorch autograd + torch.optim.SGD")
    axes[0].plot(steps_axis, result.ours_losses, color=PALETTE[2], linestyle="--",
                 label="bmlib, gradients by hand")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("gradient-descent step (count, log scale)")
    axes[0].set_ylabel("mean binary cross-entropy (nats)")
    axes[0].set_title("Loss curves")
    axes[0].legend(fontsize=8)
    axes[1].plot(steps_axis, np.maximum(result.running_gap, 1e-18), color=PALETTE[1],
                 label="largest difference so far")
    axes[1].axhline(np.finfo(float).eps, color="grey", linestyle=":",
                    label="float64 machine epsilon")
    axes[1].legend(fontsize=8)
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("gradient-descent step (count, log scale)")
    axes[1].set_ylabel("max |bmlib - torch| loss (nats, log scale)")
    axes[1].set_title("Difference (float64 rounding)")
    fig.suptitle("The 2-3-1 network trained by hand and by PyTorch: identical")
    return fig


def essay_loss(result: EssayLossRun) -> Figure:
    """Left: the essay's loss during training; right: the mean prediction of each class."""
    fig, axes = new_figure(1, 2, width=11, height=3.8)
    steps_axis = np.arange(1, len(result.losses) + 1)
    axes[0].plot(steps_axis, result.losses, color=PALETTE[1])
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("gradient-descent step (count, log scale)")
    axes[0].set_ylabel("-mean y log y_hat (nats, log scale)")
    axes[0].set_title("The essay's loss goes to zero ...")
    axes[1].plot(steps_axis, result.mean_pred_1, color=PALETTE[0], label="samples with y = 1")
    axes[1].plot(steps_axis, result.mean_pred_0, color=PALETTE[1], label="samples with y = 0")
    axes[1].axhline(0.5, color="grey", linestyle=":", linewidth=0.8)
    axes[1].set_xscale("log")
    axes[1].set_xlabel("gradient-descent step (count, log scale)")
    axes[1].set_ylabel("mean prediction y_hat (probability)")
    axes[1].set_title("... by predicting class 1 for everything")
    axes[1].legend(fontsize=8)
    fig.suptitle("Minimising -sum y log y_hat with one sigmoid output")
    return fig


def decision_boundaries(data: BinaryDataset, surfaces: DecisionSurfaces) -> Figure:
    """Both networks' predicted probability over the plane, the samples and the 0.5 line."""
    is_one = data.y[:, 0] > 0.5
    fig, axes = new_figure(1, 2, width=11, height=4.4)
    for ax, (title, probs) in zip(axes, [("binary cross-entropy (correct)", surfaces.correct),
                                         ("essay's loss -sum y log y_hat", surfaces.essay)]):
        filled = ax.contourf(surfaces.g1, surfaces.g2, probs, levels=np.linspace(0, 1, 11),
                             cmap="RdBu_r", alpha=0.6)
        ax.contour(surfaces.g1, surfaces.g2, probs, levels=[0.5], colors="k", linewidths=1.5)
        ax.scatter(data.x[~is_one, 0], data.x[~is_one, 1], s=18, color=PALETTE[0],
                   edgecolor="k", label="y = 0")
        ax.scatter(data.x[is_one, 0], data.x[is_one, 1], s=18, color=PALETTE[1],
                   edgecolor="k", marker="^", label="y = 1")
        ax.set_xlabel("feature x1 (standardised, dimensionless)")
        ax.set_ylabel("feature x2 (standardised, dimensionless)")
        ax.set_title(title)
        ax.legend(fontsize=8, loc="lower left")
    fig.colorbar(filled, ax=axes, label="predicted probability of y = 1")
    fig.suptitle("Decision boundaries of the 2-3-1 network (black line: y_hat = 0.5)")
    return fig


def essay_update_divergence(result: EssayUpdateRuns) -> Figure:
    """Left: the amount each reading of §4.3.4 subtracts per step; right: the smallest y_hat."""
    fig, axes = new_figure(1, 2, width=11, height=3.8)
    for run, color in zip(result.runs, [PALETTE[1], PALETTE[3]]):
        axes[0].plot(np.arange(1, len(run.updates) + 1), run.updates, color=color,
                     label=run.label)
        axes[1].plot(np.arange(1, len(run.min_pred) + 1), np.maximum(run.min_pred, 1e-300),
                     color=color, label=run.label)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("update step (count)")
    axes[0].set_ylabel("amount subtracted per step (logit units, log)")
    axes[0].set_title("Step size of the essay's update")
    axes[0].legend(fontsize=8)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("update step (count)")
    axes[1].set_ylabel("smallest prediction y_hat (probability, log)")
    axes[1].set_ylim(1e-310, 10)
    axes[1].set_title("Predictions collapse to 0, then 1/y_hat overflows")
    fig.suptitle(f"Following §4.3.4 as written diverges (alpha = {result.lr})")
    return fig
