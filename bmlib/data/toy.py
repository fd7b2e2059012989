"""A small seeded data set for the essay's §4.3 example: 100 samples, 2 features, labels 0/1.

The essay only says "100 samples, two features x1 and x2, label y in {0, 1}". We use *two
interleaving half-moons* (the shape popularised by scikit-learn's ``make_moons``, generated
here from scratch): class 0 lies on the upper half circle of radius 1 centred at (0, 0),
class 1 on the lower half circle centred at (1, 0.5); the angle of each point is evenly
spaced, Gaussian noise of standard deviation ``noise`` is added to both coordinates, and the
features are then standardised (zero mean, unit variance per feature, using this sample's
own statistics). The classes are not linearly separable, so the hidden ReLU layer of the
2-3-1 network matters; with 3 hidden units the best boundary is piecewise linear.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BinaryDataset:
    """Two-feature binary classification data."""

    x: np.ndarray  # (n_samples, 2) standardised features (dimensionless)
    y: np.ndarray  # (n_samples, 1) labels, 0.0 or 1.0
    mean: np.ndarray  # (2,) per-feature mean removed before scaling (raw units)
    std: np.ndarray  # (2,) per-feature standard deviation divided out (raw units)
    seed: int  # seed of the generator that drew the noise and the order


def make_moons(n_samples: int = 100, noise: float = 0.2, seed: int = 0) -> BinaryDataset:
    """Two noisy interleaving half-moons, half the samples per class, shuffled (seeded)."""
    if n_samples < 4 or n_samples % 2:
        raise ValueError(f"n_samples={n_samples}: use an even number >= 4 (half per class)")
    if noise < 0:
        raise ValueError(f"noise={noise}: the noise standard deviation must be >= 0")
    rng = np.random.default_rng(seed)
    half = n_samples // 2
    angle = np.linspace(0.0, np.pi, half)
    upper = np.column_stack([np.cos(angle), np.sin(angle)])
    lower = np.column_stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)])
    raw = np.vstack([upper, lower]) + rng.normal(0.0, noise, (n_samples, 2))
    labels = np.concatenate([np.zeros(half), np.ones(half)])
    order = rng.permutation(n_samples)
    raw, labels = raw[order], labels[order]
    mean, std = raw.mean(axis=0), raw.std(axis=0)
    return BinaryDataset(x=(raw - mean) / std, y=labels.reshape(-1, 1), mean=mean, std=std,
                         seed=seed)


def grid_over(x: np.ndarray, steps: int = 200, margin: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A regular grid covering the 2-D points ``x`` (for decision-boundary plots):
    returns the two mesh arrays (steps, steps) and the stacked points (steps^2, 2)."""
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"grid_over needs (n, 2) points, got {x.shape}")
    lo, hi = x.min(axis=0) - margin, x.max(axis=0) + margin
    g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))
    return g1, g2, np.column_stack([g1.ravel(), g2.ravel()])
