"""The case-study protocol: splits, leakage-free scaling, baselines, metrics, bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss as sk_log_loss

from bmlib.metrics.bootstrap import bootstrap_difference, bootstrap_indices, bootstrap_interval
from bmlib.metrics.calibration import reliability
from bmlib.metrics.classification import (accuracy, brier, confusion, log_loss,
                                          sensitivity_specificity)
from bmlib.studies.case_studies import (MLPConfig, fit_logistic, fit_majority, fit_mlp,
                                        repeated_splits, standardise, three_way_split)

FAST_MLP = MLPConfig(hidden=8, max_epochs=60, weight_decays=(0.0,), patience=10)


@pytest.fixture(scope="module")
def cancer():
    data = load_breast_cancer()
    return data.data, data.target


@pytest.fixture(scope="module")
def split(cancer):
    return standardise(three_way_split(*cancer, seed=0))


def test_split_is_a_stratified_partition(cancer):
    x, y = cancer
    s = three_way_split(x, y, seed=4, val_fraction=0.2, test_fraction=0.2)
    parts = [s.x_train, s.x_val, s.x_test]
    assert sum(len(p) for p in parts) == len(x)
    rows = {tuple(r) for p in parts for r in p}
    assert len(rows) == len({tuple(r) for r in x})  # nothing duplicated or lost
    assert abs(len(s.x_test) / len(x) - 0.2) < 0.01
    for labels in (s.y_train, s.y_val, s.y_test):  # class balance kept in every part
        assert abs(labels.mean() - y.mean()) < 0.02


def test_split_is_seeded(cancer):
    a, b = three_way_split(*cancer, seed=1), three_way_split(*cancer, seed=1)
    c = three_way_split(*cancer, seed=2)
    assert np.array_equal(a.x_test, b.x_test) and not np.array_equal(a.x_test, c.x_test)


def test_standardise_uses_training_statistics_only(cancer):
    raw = three_way_split(*cancer, seed=0)
    s = standardise(raw)
    np.testing.assert_allclose(s.x_train.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(s.x_train.std(axis=0), 1, atol=1e-10)
    assert np.abs(s.x_test.mean(axis=0)).max() > 1e-3  # test data were not re-centred
    expected = (raw.x_test - raw.x_train.mean(0)) / raw.x_train.std(0)
    np.testing.assert_allclose(s.x_test, expected)


@pytest.mark.parametrize("kwargs, message", [
    ({"val_fraction": 0.5, "test_fraction": 0.5}, "together below 1"),
    ({"test_fraction": 0.0}, "must be in"),
])
def test_bad_fractions_fail_clearly(cancer, kwargs, message):
    with pytest.raises(ValueError, match=message):
        three_way_split(*cancer, seed=0, **kwargs)


def test_mismatched_lengths_fail_clearly(cancer):
    x, y = cancer
    with pytest.raises(ValueError, match="need an"):
        three_way_split(x, y[:-1], seed=0)


def test_metrics_match_scikit_learn(split):
    fitted = fit_logistic(split, c_grid=(1.0,))
    y, p = split.y_test, fitted.proba_test
    assert log_loss(y, p) == pytest.approx(sk_log_loss(y, p), rel=1e-12)
    assert accuracy(y, p) == pytest.approx(accuracy_score(y, p.argmax(1)))
    # Multi-class Brier over both columns = 2 x the binary Brier score of class 1.
    assert brier(y, p) == pytest.approx(2 * brier_score_loss(y, p[:, 1]), rel=1e-12)


def test_majority_baseline_predicts_training_frequencies(split):
    fitted = fit_majority(split)
    majority = np.bincount(split.y_train).argmax()
    assert accuracy(split.y_test, fitted.proba_test) == pytest.approx(
        np.mean(split.y_test == majority))
    np.testing.assert_allclose(fitted.proba_test.sum(axis=1), 1.0)


@pytest.mark.slow
def test_models_beat_the_trivial_baseline_and_the_mlp_is_seeded(split):
    base = accuracy(split.y_test, fit_majority(split).proba_test)
    logistic = fit_logistic(split)
    mlp_a = fit_mlp(split, FAST_MLP, seed=5)
    mlp_b = fit_mlp(split, FAST_MLP, seed=5)
    assert np.array_equal(mlp_a.proba_test, mlp_b.proba_test)
    assert accuracy(split.y_test, logistic.proba_test) > base + 0.2
    assert accuracy(split.y_test, mlp_a.proba_test) > base + 0.2
    assert logistic.setting.startswith("C=")


def test_bootstrap_interval_brackets_the_point_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    intervals = []
    for n in (50, 800):
        y = rng.integers(0, 2, n)
        correct = rng.random(n) < 0.8  # 80 % accurate classifier
        proba = np.eye(2)[np.where(correct, y, 1 - y)]
        it = bootstrap_interval(y, proba, accuracy, bootstrap_indices(n, 500, seed=1))
        assert it.low <= it.point <= it.high
        intervals.append(it.high - it.low)
    assert intervals[1] < intervals[0] / 2  # width ~ 1/sqrt(n): 4x narrower for 16x data


def test_paired_difference_of_a_model_with_itself_is_zero(split):
    p = fit_logistic(split, c_grid=(1.0,)).proba_test
    d = bootstrap_difference(split.y_test, p, p, log_loss,
                             bootstrap_indices(len(p), 100, seed=0))
    assert d.point == d.low == d.high == 0.0


def test_bootstrap_rejects_tiny_samples():
    with pytest.raises(ValueError, match="n >= 2"):
        bootstrap_indices(1, 10, seed=0)


def test_rates_reliability_and_confusion_are_consistent():
    y = np.array([0, 0, 0, 1, 1, 1, 1, 0])
    p1 = np.array([0.1, 0.2, 0.7, 0.9, 0.8, 0.4, 0.95, 0.05])
    proba = np.stack([1 - p1, p1], axis=1)
    sens, spec = sensitivity_specificity(y, proba, positive=1)
    assert sens == pytest.approx(3 / 4) and spec == pytest.approx(3 / 4)
    matrix = confusion(y, proba, 2)
    assert matrix.tolist() == [[3, 1], [1, 3]]
    mean_p, observed, counts = reliability(y, proba, positive=1, bins=2)
    assert counts.sum() == len(y)
    assert mean_p[0] == pytest.approx(np.mean([0.1, 0.2, 0.4, 0.05]))
    assert observed[0] == pytest.approx(1 / 4) and observed[1] == pytest.approx(3 / 4)


@pytest.mark.slow
def test_repeated_splits_report_every_model_and_seed(cancer):
    table = repeated_splits(*cancer, seeds=[0, 1], metrics={"accuracy": accuracy},
                            mlp_config=FAST_MLP)
    assert set(table) == {"majority class", "logistic regression", "MLP (PyTorch)"}
    assert all(len(row["accuracy"]) == 2 for row in table.values())
