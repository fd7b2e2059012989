"""The figures of the CIFAR-10 chapter, drawn from :mod:`bmlib.studies.cifar10_project`'s
results. Each function returns the Figure; the chapter shows it with alt text through
:func:`bmlib.viz.figures.show_figure`."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bmlib.studies.cifar10_project import Errors, Improvement, RecipeRun
from bmlib.viz.figures import new_figure


def class_examples(images: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                   per_class: int = 8) -> Figure:
    """The first ``per_class`` images (uint8, N x 3 x 32 x 32) of each class, a row each."""
    fig, axes = new_figure(len(class_names), per_class, width=6.4, height=8.4)
    for label, name in enumerate(class_names):
        for column, index in enumerate(np.flatnonzero(labels == label)[:per_class]):
            ax = axes[label, column]
            ax.imshow(images[index].transpose(1, 2, 0))
            ax.axis("off")
            if column == 0:
                ax.text(-0.1, 0.5, name, transform=ax.transAxes, ha="right", va="center",
                        fontsize=8)
    fig.suptitle(f"CIFAR-10: the first {per_class} training images of each class")
    return fig


def learning_curves(curves: pd.DataFrame, title: str) -> Figure:
    """Loss and accuracy per epoch, solid for training and dashed for validation, a colour
    per seed (``curves``: :func:`bmlib.studies.cifar10_project.learning_curves`)."""
    fig, (ax_loss, ax_acc) = new_figure(1, 2, width=9.0, height=3.6)
    for index, (seed, part) in enumerate(curves.groupby("seed")):
        colour = f"C{index}"
        for ax, column in ((ax_loss, "loss"), (ax_acc, "accuracy")):
            ax.plot(part.epoch, part[f"train_{column}"], color=colour,
                    label=f"seed {seed} train")
            ax.plot(part.epoch, part[f"val_{column}"], color=colour, linestyle="--",
                    label=f"seed {seed} validation")
    ax_loss.set(title="Cross-entropy", xlabel="epoch (count)", ylabel="loss (nats per image)")
    ax_acc.set(title="Accuracy", xlabel="epoch (count)", ylabel="accuracy (fraction)")
    ax_acc.legend(fontsize=7)
    fig.suptitle(title)
    return fig


def confusion(result: Errors, class_names: Sequence[str], title: str,
              cmap: str = "Blues") -> Figure:
    """A confusion matrix as a heat map (rows: true class, columns: predicted class)."""
    fig, ax = new_figure(width=6.4, height=4.6)
    image = ax.imshow(result.matrix, cmap=cmap)
    ax.set_xticks(range(len(class_names)), class_names, rotation=60, fontsize=8)
    ax.set_yticks(range(len(class_names)), class_names, fontsize=8)
    ax.grid(False)
    ax.set(title=title, xlabel="predicted class", ylabel="true class")
    fig.colorbar(image, ax=ax, label="images (count)")
    return fig


def misclassified(images: np.ndarray, true: np.ndarray, predicted: np.ndarray,
                  class_names: Sequence[str], title: str, count: int = 16) -> Figure:
    """The first ``count`` wrongly predicted images, captioned true -> predicted."""
    wrong = np.flatnonzero(predicted != true)[:count]
    fig, axes = new_figure(2, (count + 1) // 2, width=8.0, height=2.9)
    for ax in axes.flat:
        ax.axis("off")
    for ax, index in zip(axes.flat, wrong):
        ax.imshow(images[index].transpose(1, 2, 0))
        ax.set_title(f"{class_names[true[index]]}\n-> {class_names[predicted[index]]}",
                     fontsize=7)
    fig.suptitle(title)
    return fig


def recipes_compared(seed_runs: Sequence[RecipeRun], improved_runs: Sequence[RecipeRun],
                     improved: Improvement, claimed: float, seed_per_class: np.ndarray,
                     improved_per_class: np.ndarray, class_names: Sequence[str]) -> Figure:
    """Left: validation accuracy against training minutes for every run, the improved
    recipe's final test accuracies and the target; right: per-class test accuracy."""
    fig, (ax_acc, ax_class) = new_figure(1, 2, width=10.0, height=3.8)
    for runs, colour, marker, name in ((seed_runs, "C0", "o", "essay's CNN"),
                                       (improved_runs, "C1", "s", "improved recipe")):
        for index, r in enumerate(runs):
            minutes = [h.elapsed_seconds / 60 for h in r.history]
            ax_acc.plot(minutes, [h.val_accuracy for h in r.history], color=colour,
                        marker=marker, markersize=2, alpha=0.8,
                        label=f"{name} (validation), one line per seed" if index == 0 else None)
    ax_acc.scatter([r.minutes for r in improved_runs], [r.test_accuracy for r in improved_runs],
                   color="C3", marker="*", s=40, zorder=3,
                   label="improved recipe, test (six-view test-time augmentation)")
    ax_acc.axhline(claimed, color="grey", linestyle=":", label=f"the essay's {claimed}")
    ax_acc.axhline(improved.target_accuracy, color="C3", linestyle="--", linewidth=0.8,
                   label=f"target: {improved.target_accuracy:.2f} within "
                         f"{improved.target_minutes:.0f} min")
    ax_acc.axvline(improved.target_minutes, color="C3", linestyle="--", linewidth=0.8)
    ax_acc.set(title="Accuracy against training time", xlabel="training wall time (min)",
               ylabel="accuracy (fraction)")
    ax_acc.legend(fontsize=7)
    positions = np.arange(len(class_names))
    ax_class.bar(positions - 0.2, seed_per_class, width=0.4, label="essay's CNN")
    ax_class.bar(positions + 0.2, improved_per_class, width=0.4, label="improved recipe")
    ax_class.set_xticks(positions, class_names, rotation=60, fontsize=8)
    ax_class.set(title="Per-class test accuracy (mean over seeds)", xlabel="class",
                 ylabel="accuracy (fraction)")
    ax_class.legend(fontsize=7)
    fig.suptitle("The essay's CNN against the improved recipe")
    return fig


def accuracy_against_time(curves: pd.DataFrame, finals: pd.DataFrame,
                          records: pd.DataFrame, machine: str) -> Figure:
    """Validation accuracy after each epoch against training seconds (log scale), a line
    per run and a colour per recipe; each final model's single test accuracy as a star; the
    published records (``records``: test accuracy and seconds on their own hardware) as
    labelled crosses. ``curves`` and ``finals``: :mod:`bmlib.studies.cifar10_redesign`."""
    fig, ax = new_figure(1, 1, width=8.0, height=4.8)
    for index, (name, part) in enumerate(curves.groupby("recipe", sort=False)):
        colour = f"C{index}"
        for k, (_, run) in enumerate(part.groupby("seed")):
            ax.plot(run.seconds, run.val_accuracy, color=colour, marker="o", markersize=2,
                    alpha=0.8, label=f"{name}: validation, a line per seed" if k == 0 else None)
        final = finals[finals.recipe == name]
        ax.scatter(final.seconds, final.test_accuracy, color=colour, marker="*", s=60,
                   zorder=3, edgecolor="black", linewidth=0.4,
                   label=f"{name}: test, once per final model")
    ax.scatter(records.train_seconds, records.test_accuracy, color="black", marker="x", s=30,
               zorder=3, label="published records (test, their own hardware)")
    for k, (_, row) in enumerate(records.sort_values("train_seconds").iterrows()):
        # alternate below / above the cross, so that records close in time do not overlap
        ax.annotate(f"{row['record']}\n{row['hardware']}", (row.train_seconds, row.test_accuracy),
                    textcoords="offset points", xytext=(4, -18 if k % 2 == 0 else 4),
                    fontsize=6)
    ax.axhline(0.94, color="grey", linestyle=":", linewidth=0.8, label="94 %")
    ax.axvline(600, color="grey", linestyle="--", linewidth=0.8, label="10 minutes")
    ax.set_xscale("log")
    ax.set(title=f"CIFAR-10 accuracy against training time ({machine})",
           xlabel="training wall time (s, log scale)", ylabel="accuracy (fraction)",
           ylim=(max(0.0, float(curves.val_accuracy.min()) - 0.03), 0.97))
    ax.legend(fontsize=6, loc="lower right")
    return fig
