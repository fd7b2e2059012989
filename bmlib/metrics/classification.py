"""Classification metrics from true labels and predicted labels or class probabilities
(no I/O, no models): confusion matrices and per-class recall, accuracy, log-loss, Brier
score, ROC AUC (scikit-learn's), sensitivity and specificity, and seed summaries."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score


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


def confusion_accuracy(matrix: np.ndarray) -> float:
    """Overall accuracy from a confusion matrix."""
    return float(np.trace(matrix) / matrix.sum())


def log_loss(labels: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class (nats), probabilities clipped at 1e-15."""
    picked = np.clip(proba[np.arange(len(labels)), labels], 1e-15, 1.0)
    return float(-np.mean(np.log(picked)))


def accuracy(labels: np.ndarray, proba: np.ndarray) -> float:
    """Fraction of examples whose most probable class is the true class."""
    return float(np.mean(proba.argmax(axis=1) == labels))


def brier(labels: np.ndarray, proba: np.ndarray) -> float:
    """Mean over examples of the squared distance between ``proba`` and the one-hot label."""
    onehot = np.eye(proba.shape[1])[labels]
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def auc(labels: np.ndarray, proba: np.ndarray) -> float:
    """Binary ROC AUC with class 1 as the positive score."""
    return float(roc_auc_score(labels, proba[:, 1]))


def sensitivity_specificity(labels: np.ndarray, proba: np.ndarray, positive: int,
                            threshold: float = 0.5) -> tuple[float, float]:
    """(true-positive rate, true-negative rate) when P(positive) >= threshold flags a case."""
    flagged = proba[:, positive] >= threshold
    is_positive = labels == positive
    return (float(np.mean(flagged[is_positive])), float(np.mean(~flagged[~is_positive])))


def confusion(labels: np.ndarray, proba: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts: row = true class, column = predicted (most probable) class."""
    return confusion_matrix(labels, proba.argmax(axis=1), num_classes)
