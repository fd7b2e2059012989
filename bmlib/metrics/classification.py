"""Classification metrics from predicted and true labels (no I/O, no models)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SeedSummary:
    """Mean and spread of one metric over several seeds."""

    values: tuple[float, ...]  # one value per seed
    mean: float  # arithmetic mean
    std: float  # sample standard deviation (n - 1); 0 for one seed
    minimum: float
    maximum: float

    @property
    def half_range(self) -> float:
        """Half the min-max range, a spread that needs no distributional assumption."""
        return (self.maximum - self.minimum) / 2


def summarize_seeds(values: list[float] | tuple[float, ...]) -> SeedSummary:
    """Mean, sample standard deviation, min and max of per-seed values."""
    if len(values) == 0:
        raise ValueError("summarize_seeds needs at least one value")
    data = np.asarray(values, dtype=np.float64)
    std = float(data.std(ddof=1)) if data.size > 1 else 0.0
    return SeedSummary(tuple(float(v) for v in data), float(data.mean()), std,
                       float(data.min()), float(data.max()))


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of images of true class ``i`` predicted as class ``j``."""
    true = np.asarray(true, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    if true.shape != predicted.shape:
        raise ValueError(f"true {true.shape} and predicted {predicted.shape} differ in shape")
    for name, labels in (("true", true), ("predicted", predicted)):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"{name} labels must lie in 0..{num_classes - 1}")
    return np.bincount(true * num_classes + predicted,
                       minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Recall of each class: the diagonal over the row sums (NaN for an empty class)."""
    rows = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rows > 0, np.diag(matrix) / np.maximum(rows, 1), math.nan)


def accuracy(matrix: np.ndarray) -> float:
    """Overall accuracy from a confusion matrix."""
    return float(np.trace(matrix) / matrix.sum())
