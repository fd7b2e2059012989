"""The figure of the core-concepts chapter, drawn from :mod:`bmlib.studies.core_concepts`.
The function returns the Figure; the chapter shows it with
:func:`bmlib.viz.figures.show_figure` and its alt text."""

from __future__ import annotations

from matplotlib.figure import Figure

from bmlib.studies.core_concepts import CapacitySweep
from bmlib.viz.figures import PALETTE, new_figure


def capacity_curves(sweep: CapacitySweep) -> Figure:
    """Training (left) and held-out (right) MSE against parameter count, one line per depth,
    both on log-log axes with the noise variance as a dashed floor."""
    fig, axes = new_figure(1, 2, width=10, height=4)
    for index, depth in enumerate(sweep.depths):
        color = PALETTE[index % len(PALETTE)]
        rows = sweep.at_depth(depth)
        x = [r.parameters for r in rows]
        axes[0].plot(x, [r.train_mse for r in rows], "o-", color=color, label=f"depth {depth}")
        axes[1].plot(x, [r.val_mse for r in rows], "o-", color=color, label=f"depth {depth}")
    for ax, title in zip(axes, ["Training error", "Held-out error"]):
        ax.axhline(sweep.noise_variance, color="grey", linestyle="--", label="noise variance")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("trainable parameters (count, log scale)")
        ax.set_ylabel("mean squared error (target units², log scale)")
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.suptitle("More layers and nodes: training error falls, "
                 "held-out error does not keep falling")
    return fig
