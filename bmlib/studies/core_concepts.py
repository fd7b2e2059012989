"""The core-concepts chapter's experiment: a sweep of network widths and depths on the noisy
1-D regression task of :mod:`bmlib.studies.capacity`.

:func:`capacity_sweep` fits every (width, depth) pair and returns a frozen
:class:`CapacitySweep`; its ``table()`` and ``summary()`` give the lines the chapter prints,
``glue_values()`` the numbers its prose cites (under their glue names) and
``run_card_metrics()`` the headline metrics of its run card. Everything runs on the CPU in
float64, so the same seed gives the same numbers bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from bmlib.core.progress import progress
from bmlib.studies.capacity import CapacityFit, RegressionTask, fit_capacity, make_regression_task


@dataclass(frozen=True)
class CapacitySweep:
    """Every fit of the sweep, in grid order: depth by depth, widths in the order given."""

    task: RegressionTask  # the data every network was fitted to
    widths: tuple[int, ...]  # hidden units per layer tried
    depths: tuple[int, ...]  # hidden layers tried
    steps: int  # full-batch Adam steps per fit
    results: tuple[CapacityFit, ...]  # one per (depth, width), depth-major

    @property
    def noise_variance(self) -> float:
        """Variance of the task's noise: the floor of any model's expected held-out MSE."""
        return self.task.noise_std ** 2

    @property
    def smallest(self) -> CapacityFit:
        """The fit with the fewest parameters (the first such in grid order)."""
        return min(self.results, key=_parameters)

    @property
    def largest(self) -> CapacityFit:
        """The fit with the most parameters (the first such in grid order)."""
        return max(self.results, key=_parameters)

    @property
    def best_val(self) -> CapacityFit:
        """The fit with the lowest held-out MSE."""
        return min(self.results, key=_val_mse)

    def at_depth(self, depth: int) -> list[CapacityFit]:
        """The fits of one depth, in the order of ``widths``."""
        return [r for r in self.results if r.depth == depth]

    def table(self) -> str:
        """One line per fit: depth, width, parameters, training and held-out MSE."""
        lines = [f"{'depth':>5} {'width':>5} {'params':>7} {'train MSE':>10} {'held-out MSE':>13}"]
        lines += [f"{r.depth:>5} {r.width:>5} {r.parameters:>7} {r.train_mse:>10.4f} "
                  f"{r.val_mse:>13.4f}" for r in self.results]
        return "\n".join(lines)

    def summary(self) -> str:
        """The smallest network, the largest and the best on held-out points."""
        small, large, best = self.smallest, self.largest, self.best_val
        return "\n".join([
            f"smallest network: {small.parameters} parameters, train MSE {small.train_mse:.4f}",
            f"largest network:  {large.parameters} parameters, train MSE {large.train_mse:.4f}, "
            f"held-out MSE {large.val_mse:.4f}",
            f"best held-out:    {best.parameters} parameters ({best.width}x{best.depth}), "
            f"held-out MSE {best.val_mse:.4f}",
        ])

    def glue_values(self) -> dict[str, Any]:
        """The numbers the chapter's prose cites, under their glue names."""
        small, large, best = self.smallest, self.largest, self.best_val
        return {
            "cc_n_fits": len(self.results),
            "cc_params_small": small.parameters,
            "cc_params_large": large.parameters,
            "cc_train_small": small.train_mse,
            "cc_train_large": large.train_mse,
            "cc_train_ratio": small.train_mse / large.train_mse,
            "cc_val_large": large.val_mse,
            "cc_best_val": best.val_mse,
            "cc_best_val_params": best.parameters,
            "cc_best_val_shape": f"width {best.width}, depth {best.depth}",
            "cc_noise_var": self.noise_variance,
            # held-out minus training MSE of the largest network: what it fitted of the noise
            "cc_gap_large": large.val_mse - large.train_mse,
        }

    def run_card_metrics(self) -> dict[str, Any]:
        """The headline metrics of the chapter's run card."""
        return {
            "fits": len(self.results),
            "largest_train_mse": round(self.largest.train_mse, 4),
            "best_heldout_mse": round(self.best_val.val_mse, 4),
        }


def _parameters(result: CapacityFit) -> int:
    return result.parameters


def _val_mse(result: CapacityFit) -> float:
    return result.val_mse


def capacity_sweep(seed: int, widths: Sequence[int], depths: Sequence[int], steps: int,
                   *, show_progress: bool = True) -> CapacitySweep:
    """Fit a tanh network of every width in ``widths`` and depth in ``depths`` to the task of
    ``make_regression_task(seed)``, each with ``steps`` full-batch Adam steps from ``seed``.

    A progress bar over the fits goes to stderr unless ``show_progress`` is false."""
    widths, depths = tuple(widths), tuple(depths)
    if not widths or not depths:
        raise ValueError(f"need at least one width and one depth, got widths={widths}, "
                         f"depths={depths}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    task = make_regression_task(seed)
    grid = [(w, d) for d in depths for w in widths]
    results = tuple(fit_capacity(task, w, d, seed=seed, steps=steps)
                    for w, d in progress(grid, desc="fits", disable=not show_progress))
    return CapacitySweep(task, widths, depths, steps, results)
