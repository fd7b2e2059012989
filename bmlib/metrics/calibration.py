"""Calibration of predicted probabilities: the reliability table (per bin of predicted
probability, the observed frequency of the positive class)."""

from __future__ import annotations

import numpy as np


def reliability(labels: np.ndarray, proba: np.ndarray, positive: int, bins: int = 5
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calibration table: per equal-width bin of P(positive), its mean predicted
    probability, the observed frequency of the positive class, and the count (empty bins
    dropped)."""
    p = proba[:, positive]
    which = np.minimum((p * bins).astype(int), bins - 1)
    kept = [b for b in range(bins) if np.any(which == b)]
    mean_p = np.array([p[which == b].mean() for b in kept])
    observed = np.array([np.mean(labels[which == b] == positive) for b in kept])
    counts = np.array([np.sum(which == b) for b in kept])
    return mean_p, observed, counts
