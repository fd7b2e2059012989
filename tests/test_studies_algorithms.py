"""The algorithms chapter's digit studies, each held to an independent computation: finite
differences for the activations, PyTorch's conv2d for the edge map, the workflow's own
scorer for the model choice, closed-form cost formulas, and the selection-bias bookkeeping
recomputed from its arrays."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bmlib.studies import algorithms as study
from bmlib.studies.workflow import (ModelConfig, build_digits_mlp, fit_and_score, predictor,
                                    prepare_digits, train_model)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = [ModelConfig(hidden=0, steps=5), ModelConfig(hidden=8, steps=5)]


@pytest.fixture(scope="module")
def split():
    return prepare_digits(seed=0, train_size=100)


def test_activation_derivatives_equal_finite_differences():
    check = study.activation_check(low=-3.0, high=3.0, points=61)
    assert set(check.errors) == {"ReLU", "Sigmoid", "Tanh"}
    assert max(check.errors.values()) < 1e-15
    h = 1e-6
    forms = {"Sigmoid": lambda v: 1 / (1 + np.exp(-v)), "Tanh": np.tanh}
    for name, f in forms.items():
        fd = (f(check.x + h) - f(check.x - h)) / (2 * h)
        np.testing.assert_allclose(check.derivatives[name], fd, atol=1e-9)
        np.testing.assert_allclose(check.values[name], f(check.x), atol=1e-15)
    np.testing.assert_array_equal(check.derivatives["ReLU"], (check.x > 0).astype(float))
    glued = check.glue_values()
    assert glued["alg_sigmoid_max_slope"] == pytest.approx(0.25, abs=1e-12)  # x = 0 is on the grid
    assert check.report().count("\n") == 2 and "largest derivative = 1.0000" in check.report()


def test_activation_check_refuses_an_empty_grid():
    with pytest.raises(ValueError, match="low < high"):
        study.activation_check(low=1.0, high=-1.0)


def test_convolution_check_shapes_and_agreement():
    check = study.convolution_check(seed=3)
    assert len(check.rows) == 6 and check.max_error < 1e-12
    for stride, padding, name, shape, _ in check.rows:
        side = (16 + 2 * padding - 3) // stride + 1
        assert shape == (2, 4, side, side) and name in {"loops", "im2col"}
    assert check.glue_values() == {"alg_conv_max_err": check.max_error}
    assert "stride 2, padding 1, im2col: output (2, 4, 8, 8)" in check.report()


def test_vertical_edges_undo_the_scaling_and_equal_conv2d(split):
    edge_map = study.vertical_edges(split, index=3)
    np.testing.assert_allclose(edge_map.digit, np.round(edge_map.digit), atol=1e-9)
    assert edge_map.digit.min() >= -1e-9 and edge_map.digit.max() <= 16 + 1e-9
    reference = F.conv2d(torch.from_numpy(edge_map.digit)[None, None],
                         torch.from_numpy(study.SOBEL_VERTICAL), padding=1)[0, 0].numpy()
    np.testing.assert_allclose(edge_map.edges, reference, atol=1e-12)


def test_choose_model_scores_on_validation_and_picks_the_first_best(split):
    choice = study.choose_model(split, TINY + [TINY[0]], seed=1)
    assert len(choice.runs) == 3
    for run in choice.runs:
        assert len(run.losses) == run.config.steps
        assert run.val_accuracy == pytest.approx(
            np.mean(predictor(run.model)(split.val_x) == split.val_y))
    assert choice.runs[0].val_accuracy == choice.runs[2].val_accuracy  # same config and seed
    best = max(r.val_accuracy for r in choice.runs)
    assert choice.best is next(r for r in choice.runs if r.val_accuracy == best)
    metrics = prepare_digits(seed=0).test.evaluate(predictor(choice.best.model))
    glued = choice.glue_values(metrics)
    assert glued["alg_best_val"] == best and glued["alg_test_acc"] == metrics.accuracy
    assert glued["alg_best_wd"] == f"{choice.best.config.weight_decay:.0e}"
    assert choice.report().splitlines()[-1].startswith("chosen on validation: hidden=")


def test_tuning_grid_has_sixteen_distinct_configs():
    grid = study.tuning_grid()
    assert len(grid) == 16 and len(set(grid)) == 16


def test_tune_on_test_optimism_is_reported_minus_fresh():
    tuning = study.tune_on_test(TINY, repeats=7, seed=0)
    b = tuning.bias
    assert tuning.n_configs == 2 and tuning.repeats == 7 and len(b.by_test_on_test) == 7
    np.testing.assert_array_equal(tuning.optimism_test, b.by_test_on_test - b.by_test_on_fresh)
    np.testing.assert_array_equal(tuning.optimism_val, b.by_val_on_test - b.by_val_on_fresh)
    glued = tuning.glue_values()
    assert glued["alg_leak_positive_pct"] == pytest.approx(100 * np.mean(tuning.optimism_test > 0))
    assert glued["alg_leak_best_pool"] == b.pool_accuracy.max()
    assert tuning.report().startswith("2 configurations; accuracy on the whole held-out pool")


def test_data_dependence_equals_fit_and_score():
    models = {study.LINEAR: ModelConfig(hidden=0, steps=5),
              study.FROZEN: ModelConfig(hidden=8, freeze_hidden=True, steps=5),
              study.LEARNED: ModelConfig(hidden=8, steps=5)}
    result = study.data_dependence(models, train_sizes=(20, 60), noise_percents=(0, 40), seed=2)
    noisy = prepare_digits(2, label_noise=0.4)
    expected = fit_and_score(models[study.LEARNED], noisy.train_x, noisy.train_y,
                             [(noisy.val_x, noisy.val_y)], seed=2)
    assert result.noise_accuracy[study.LEARNED][-1] == expected[0]
    assert all(len(v) == 2 for v in result.size_accuracy.values())
    glued = result.glue_values()
    assert (glued["alg_size_small"], glued["alg_size_large"]) == (20, 60)
    assert glued["alg_noise_max"] == 40
    assert glued["alg_linear_large"] == result.size_accuracy[study.LINEAR][-1]
    assert len(result.report().splitlines()) == 2 * (2 + 3)


def test_feature_models_differ_only_in_feature_learning():
    models = study.feature_models()
    assert list(models) == [study.LINEAR, study.FROZEN, study.LEARNED]
    assert models[study.FROZEN].freeze_hidden and not models[study.LEARNED].freeze_hidden


def test_compute_costs_follow_the_closed_forms():
    costs = study.compute_costs(widths=(64, 512), lengths=(16, 1024))
    assert len(costs.rows) == 4
    for d, length, parameters, flops, share in costs.rows:
        assert parameters == 12 * d * d + 13 * d
        assert flops == 24 * length * d * d + 4 * length * length * d
        assert share == pytest.approx(4 * length**2 * d / flops)
    assert costs.block_parameters(512) == 12 * 512**2 + 13 * 512
    with pytest.raises(KeyError, match="not in the grid"):
        costs.block_parameters(100)
    assert (costs.conv_params, costs.conv_macs) == (32 * (27 + 1), 32 * 27 * 30 * 30)
    ratio = (24 * 2048 * 1024**2 + 4 * 2048**2 * 1024) / (24 * 128 * 256**2 + 4 * 128**2 * 256)
    assert costs.flops_ratio == pytest.approx(ratio)
    assert "896 parameters, 777,600 multiply-adds" in costs.report()


def test_read_weights_explains_the_linear_logit():
    reading = study.read_weights(seed=0)
    assert reading.linear_weights.shape == (10, 64) and reading.hidden_weights.shape == (64, 64)
    assert 0 <= reading.predicted_class < 10 and math.isfinite(reading.logit)
    assert reading.decomposition_error < 1e-4  # float32 logit, float64 sum
    # the same model, trained again here: its logits on the first validation digit
    full = prepare_digits(0)
    linear = build_digits_mlp(ModelConfig(hidden=0), seed=0)
    train_model(linear, full.train_x, full.train_y, ModelConfig(hidden=0))
    np.testing.assert_array_equal(linear[0].weight.detach().numpy(), reading.linear_weights)
    bias = linear[0].bias.detach().numpy().astype(np.float64)
    logits = full.val_x[0] @ reading.linear_weights.T.astype(np.float64) + bias
    assert reading.predicted_class == int(np.argmax(logits))
    assert reading.logit == pytest.approx(logits[reading.predicted_class], abs=1e-4)
    assert f"logit of class {reading.predicted_class}" in reading.report()
