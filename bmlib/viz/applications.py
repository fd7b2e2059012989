"""The figures of the applications chapter, drawn from the results of
:mod:`bmlib.studies.applications`. Each function returns the Figure; the chapter shows it with
:func:`bmlib.viz.figures.show_figure` and its alt text."""

from __future__ import annotations

from matplotlib.figure import Figure

from bmlib.studies.applications import CalibrationCurves, ConfusionSummary
from bmlib.viz.figures import PALETTE, new_figure

MARKERS = ("o", "s", "^", "D")


def breast_cancer_calibration(calibration: CalibrationCurves) -> Figure:
    """Reliability diagram of the breast-cancer test set, each point labelled with its count."""
    if len(calibration.curves) > len(MARKERS):
        raise ValueError(f"{len(calibration.curves)} curves: at most {len(MARKERS)} fit")
    fig, ax = new_figure(width=6, height=4.5)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    for (name, curve), color, marker in zip(calibration.curves.items(), PALETTE, MARKERS):
        ax.plot(curve.mean_predicted, curve.observed, marker + "-", color=color, label=name)
        for x, y, n in zip(curve.mean_predicted, curve.observed, curve.counts):
            ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10),
                        fontsize=7, color=color)
    ax.set_xlabel("mean predicted probability of malignancy (fraction)")
    ax.set_ylabel("observed fraction malignant (fraction)")
    ax.set_title(f"Breast cancer, test set: calibration ({calibration.bins} bins; "
                 "numbers = patients per bin)")
    ax.legend(fontsize=8)
    return fig


def digits_confusion(summary: ConfusionSummary, model: str = "MLP") -> Figure:
    """The digits test set's confusion matrix as a heat map with its non-zero counts."""
    matrix = summary.matrix
    classes = matrix.shape[0]
    fig, ax = new_figure(width=5.8, height=5)
    image = ax.imshow(matrix, cmap="Blues")
    for i in range(classes):
        for j in range(classes):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set_xticks(range(classes))
    ax.set_yticks(range(classes))
    ax.grid(False)
    ax.set_xlabel("predicted digit (class)")
    ax.set_ylabel("true digit (class)")
    ax.set_title(f"Handwritten digits, test set: {model} confusion matrix (counts)")
    fig.colorbar(image, ax=ax, label="test images (count)")
    return fig
