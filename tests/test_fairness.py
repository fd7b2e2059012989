"""bmlib.metrics.fairness: per-class accuracy and its disparity summaries."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, recall_score

from bmlib.metrics.fairness import FairnessError, class_accuracies, disparity


def test_per_class_accuracy_matches_sklearn_recall() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 1000)
    predictions = np.where(rng.random(1000) < 0.6, labels, rng.integers(0, 10, 1000))
    acc = class_accuracies(labels, predictions)
    assert np.allclose(acc, recall_score(labels, predictions, average=None))
    summary = disparity(acc)
    assert summary.mean_accuracy == pytest.approx(balanced_accuracy_score(labels, predictions))
    assert summary.gap == pytest.approx(acc.max() - acc.min())
    assert summary.ratio == pytest.approx(acc.min() / acc.max())
    assert summary.std == pytest.approx(np.std(acc))
    assert acc[summary.worst_class] == acc.min() and acc[summary.best_class] == acc.max()


def test_parity_and_zero() -> None:
    even = disparity(np.full(10, 0.7))
    assert even.gap == 0.0 and even.ratio == 1.0 and even.std == 0.0
    assert disparity(np.zeros(3)).ratio == 0.0


@pytest.mark.parametrize("labels, predictions, message", [
    ([0, 1], [0], "equally long"),
    ([0, 1, 12], [0, 1, 2], "0..9"),
    ([0, 1, 1], [0, 1, 0], "no examples"),
])
def test_bad_input(labels, predictions, message) -> None:
    with pytest.raises(FairnessError, match=message):
        class_accuracies(np.array(labels), np.array(predictions),
                           num_classes=10 if message != "no examples" else 3)
    with pytest.raises(FairnessError):
        disparity(np.array([0.5, 1.5]))
