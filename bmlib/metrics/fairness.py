"""Per-class accuracy disparity of a classifier.

For CIFAR-10 the "groups" are the ten classes: a model that is 90 % right on ships and
40 % right on cats treats some inputs much worse than others even when its mean accuracy
looks fine. The disparity is summarised as the max-min gap, the min/max ratio and the
standard deviation of the per-class accuracies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bmlib.metrics.classification import confusion_matrix, per_class_accuracy


class FairnessError(ValueError):
    """Bad input to a disparity measurement."""


@dataclass(frozen=True)
class Disparity:
    """Summary of per-class accuracies."""

    mean_accuracy: float  # unweighted mean over classes (balanced accuracy)
    best_class: int  # label with the highest accuracy
    worst_class: int  # label with the lowest accuracy
    gap: float  # max - min accuracy, in accuracy units (0..1)
    ratio: float  # min / max accuracy (1 = parity; 0 when the best class scores 0)
    std: float  # population standard deviation over classes


def class_accuracies(labels: np.ndarray, predictions: np.ndarray,
                     num_classes: int = 10) -> np.ndarray:
    """Accuracy on the examples of each class, ``(num_classes,)``; every class must occur.

    The recall of :func:`bmlib.metrics.classification.per_class_accuracy`, with the checks a
    disparity needs (no empty class)."""
    labels = np.asarray(labels).ravel()
    predictions = np.asarray(predictions).ravel()
    if labels.shape != predictions.shape or labels.size == 0:
        raise FairnessError(f"labels and predictions must be non-empty and equally long; "
                            f"got {labels.size} and {predictions.size}")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise FairnessError(f"labels must lie in 0..{num_classes - 1}")
    counts = np.bincount(labels, minlength=num_classes)
    missing = np.flatnonzero(counts == 0)
    if missing.size:
        raise FairnessError(f"class(es) {missing.tolist()} have no examples: accuracy undefined")
    try:
        matrix = confusion_matrix(labels, predictions, num_classes)
    except ValueError as error:
        raise FairnessError(str(error)) from error
    return per_class_accuracy(matrix)


def disparity(accuracies: np.ndarray) -> Disparity:
    """Gap, ratio and spread of per-class accuracies (values in [0, 1])."""
    acc = np.asarray(accuracies, dtype=float).ravel()
    if acc.size < 2 or np.any(acc < 0) or np.any(acc > 1) or not np.all(np.isfinite(acc)):
        raise FairnessError("need at least two per-class accuracies, each in [0, 1]")
    best, worst = int(np.argmax(acc)), int(np.argmin(acc))
    return Disparity(mean_accuracy=float(acc.mean()), best_class=best, worst_class=worst,
                     gap=float(acc[best] - acc[worst]),
                     ratio=float(acc[worst] / acc[best]) if acc[best] > 0 else 0.0,
                     std=float(acc.std()))
