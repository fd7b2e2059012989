"""The four-step workflow: splits are disjoint and stratified, scaling uses training data
only, metrics equal scikit-learn's, and the test set answers exactly once."""

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, recall_score

from bmlib.studies.workflow import (
    HeldOutTestSet, ModelConfig, SecondTestEvaluationError, build_digits_mlp, classification_metrics,
    fit_and_score, load_digits_arrays, predictor, prepare_digits, selection_bias, train_model,
)
from bmlib.data.splits import stratified_parts


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_split_is_disjoint_complete_and_stratified():
    _, y = load_digits_arrays()
    parts = stratified_parts(y, [0.2, 0.2], seed=3)
    assert [len(p) for p in parts] == [359, 359, 1079]
    joined = np.concatenate(parts)
    assert len(np.unique(joined)) == len(y)
    for p in parts:
        counts = np.bincount(y[p], minlength=10) / len(p)
        assert np.all(np.abs(counts - 0.1) < 0.02)


def test_scaling_uses_training_statistics_only():
    split = prepare_digits(seed=0)
    np.testing.assert_allclose(split.train_x.mean(axis=0), 0, atol=1e-12)
    assert abs(split.val_x.mean()) > 1e-6  # validation data were not used for the scaling


def test_train_size_and_label_noise():
    small = prepare_digits(seed=0, train_size=100)
    assert small.train_x.shape == (100, 64)
    assert set(np.bincount(small.train_y, minlength=10)) <= {9, 10, 11}
    clean = prepare_digits(seed=0)
    noisy = prepare_digits(seed=0, label_noise=0.3)
    changed = np.mean(clean.train_y != noisy.train_y)
    assert 0.25 < changed < 0.35
    np.testing.assert_array_equal(clean.val_y, noisy.val_y)  # only training labels corrupted
    with pytest.raises(ValueError, match="label_noise"):
        prepare_digits(seed=0, label_noise=1.0)
    with pytest.raises(ValueError, match="train_size"):
        prepare_digits(seed=0, train_size=5)


def test_metrics_equal_sklearn():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 10, 300)
    y_pred = np.where(rng.random(300) < 0.7, y_true, rng.integers(0, 10, 300))
    m = classification_metrics(y_true, y_pred)
    assert m.accuracy == pytest.approx(np.mean(y_true == y_pred), abs=1e-15)
    assert m.macro_recall == pytest.approx(recall_score(y_true, y_pred, average="macro"), abs=1e-12)
    assert m.macro_f1 == pytest.approx(f1_score(y_true, y_pred, average="macro"), abs=1e-12)


def test_test_set_answers_once():
    test = HeldOutTestSet(np.zeros((4, 2)), np.array([0, 1, 1, 0]))
    first = test.evaluate(lambda x: np.array([0, 1, 0, 0]))
    assert first.accuracy == 0.75 and test.used
    with pytest.raises(SecondTestEvaluationError, match="already used"):
        test.evaluate(lambda x: np.array([0, 1, 1, 0]))


@pytest.mark.slow
def test_end_to_end_workflow_learns_digits():
    split = prepare_digits(seed=0)
    config = ModelConfig(hidden=32, steps=100)
    model = build_digits_mlp(config, seed=0)
    losses = train_model(model, split.train_x, split.train_y, config)
    assert losses[-1] < 0.1 * losses[0]
    assert split.test.evaluate(predictor(model)).accuracy > 0.9


def test_frozen_hidden_layer_stays_fixed():
    split = prepare_digits(seed=0, train_size=50)
    config = ModelConfig(hidden=16, freeze_hidden=True, steps=20)
    model = build_digits_mlp(config, seed=0)
    before = model[0].weight.detach().clone()
    train_model(model, split.train_x, split.train_y, config)
    assert np.array_equal(before.numpy(), model[0].weight.detach().numpy())


def test_selection_bias_bookkeeping():
    configs = [ModelConfig(hidden=0, steps=5, lr=lr) for lr in (1e-3, 1e-2, 3e-2)]
    result = selection_bias(configs, repeats=50, seed=0)
    assert result.by_test_on_test.shape == (50,) and result.pool_accuracy.shape == (3,)
    # choosing by test can only raise the reported test score relative to choosing by val
    assert np.all(result.by_test_on_test >= result.by_val_on_test)
    with pytest.raises(ValueError, match="eval_size"):
        selection_bias(configs, repeats=1, seed=0, eval_size=700)
    assert fit_and_score(configs[0], np.zeros((10, 64)), np.arange(10), [], seed=0) == []
