"""Bootstrap percentile intervals of a metric on a test set, and of the paired difference of
two models' metrics on the same resampled examples. Pure NumPy; seeds are arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Metric = Callable[[np.ndarray, np.ndarray], float]  # (labels, probabilities) -> value


@dataclass(frozen=True)
class Interval:
    """A point estimate and its bootstrap percentile interval."""

    point: float  # the metric on the full test part
    low: float  # lower end of the interval
    high: float  # upper end

    def __str__(self) -> str:
        return f"{self.point:.3f} [{self.low:.3f}, {self.high:.3f}]"


def bootstrap_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """``n_boot`` resamples (with replacement) of ``n`` test indices, seeded."""
    if n < 2 or n_boot < 1:
        raise ValueError(f"need n >= 2 examples and n_boot >= 1, got n={n}, n_boot={n_boot}")
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def bootstrap_interval(labels: np.ndarray, proba: np.ndarray, metric: Metric,
                       resamples: np.ndarray, level: float = 0.95) -> Interval:
    """Percentile bootstrap interval of ``metric`` over the given test resamples."""
    values = np.array([metric(labels[idx], proba[idx]) for idx in resamples
                       if len(np.unique(labels[idx])) > 1])  # AUC needs both classes
    tail = (1 - level) / 2 * 100
    return Interval(metric(labels, proba), float(np.percentile(values, tail)),
                    float(np.percentile(values, 100 - tail)))


def bootstrap_difference(labels: np.ndarray, proba_a: np.ndarray, proba_b: np.ndarray,
                         metric: Metric, resamples: np.ndarray, level: float = 0.95
                         ) -> Interval:
    """Paired bootstrap interval of metric(a) - metric(b) on the same resampled examples."""
    diffs = np.array([metric(labels[i], proba_a[i]) - metric(labels[i], proba_b[i])
                      for i in resamples if len(np.unique(labels[i])) > 1])
    tail = (1 - level) / 2 * 100
    return Interval(metric(labels, proba_a) - metric(labels, proba_b),
                    float(np.percentile(diffs, tail)), float(np.percentile(diffs, 100 - tail)))
