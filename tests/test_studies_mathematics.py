"""The mathematics chapter's study: each check against an independent computation (float64).

The chapter's optimiser comparison is :func:`run_against_torch`; here it is held to
torch.optim at settings the chapter does not use (momentum, weight decay, other betas).
"""

import math
import re

import numpy as np
import pytest
import torch

from bmlib.book.notebooks import read_notebook
from bmlib.core.paths import repo_root
from bmlib.data.toy import make_moons
from bmlib.scratch import mlp as mn
from bmlib.scratch.optim import SGD, Adam, AdamConfig, SGDConfig, first_step_ratio
from bmlib.studies import mathematics as study
from bmlib.studies import (math_common, math_essay_update, math_forward, math_gradients,
                           math_optimisers, math_worked_example)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    return make_moons(100, 0.2, seed=0)


@pytest.fixture
def sigmoid_model():
    return mn.make_mlp([2, 3, 1], hidden="relu", output="sigmoid", seed=0)


@pytest.mark.parametrize("hidden,output", [("relu", "sigmoid"), ("tanh", "softmax"),
                                           ("sigmoid", "identity")])
def test_torch_twin_computes_the_same_function_with_the_same_names(hidden, output):
    model = mn.make_mlp([4, 5, 3], hidden=hidden, output=output, seed=2)
    net = math_common.torch_twin(model)
    x = np.random.default_rng(0).normal(size=(7, 4))
    with torch.no_grad():
        np.testing.assert_allclose(net(torch.tensor(x)).numpy(), model.forward(x), rtol=1e-12)
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in model.named_parameters()]


def test_torch_twin_refuses_a_layer_it_cannot_translate():
    class Odd(mn.Identity):
        pass

    with pytest.raises(TypeError, match="no PyTorch counterpart for Odd"):
        math_common.torch_twin(mn.MLP([Odd()]))


def test_forward_check(data, sigmoid_model):
    check = math_forward.forward_check(sigmoid_model, data)
    w, b = sigmoid_model.layers[0].params["weight"], sigmoid_model.layers[0].params["bias"]
    np.testing.assert_allclose(check.z_literal, w @ data.x[0] + b, rtol=1e-14)
    assert check.weight_shape == (3, 2) and check.n_samples == 100
    assert check.literal_gap < 1e-15 and check.forward_gap < 1e-14
    z = np.einsum("ji,si->sj", w, data.x) + b
    assert check.negative_share == pytest.approx(np.mean(z < 0))
    assert check.glue_values()["math_negative_share"] == pytest.approx(100 * check.negative_share)
    assert "(3, 2) (m x n)" in check.report()


def test_activation_check_agrees_with_autograd():
    check = math_forward.activation_check(points=41)
    assert set(check.gaps) == {"relu", "sigmoid", "tanh"}
    assert check.worst < 1e-14
    assert check.worst == max(max(g) for g in check.gaps.values())
    assert len(check.report().splitlines()) == 4


def test_sigmoid_overflow_starts_at_ln_of_the_largest_float():
    result = math_forward.sigmoid_overflow()
    threshold = math.log(np.finfo(np.float64).max)
    assert result.overflow_64 == pytest.approx(709.78, abs=0.01)
    assert result.nan_count == int(np.sum(result.z > threshold)) == 291
    assert result.first_nan == 710.0
    assert result.agreement < 1e-15
    assert np.all(np.isfinite(result.stable))


def test_softmax_check_against_the_hand_computed_readings():
    result = math_forward.softmax_check()
    e = math.e
    literal = [1.0, e / (e * e + e), 1.0 / (e * e + e + 1)]
    np.testing.assert_allclose(result.literal, literal, rtol=1e-14)
    np.testing.assert_allclose(result.correct, np.array([e * e, e, 1.0]) / (e * e + e + 1),
                               rtol=1e-14)
    assert result.glue_values()["math_softmax_literal_first"] == 1.0
    assert np.isnan(result.naive_huge[0]) and result.stable_huge.tolist() == [1.0, 0.0, 0.0]
    assert result.torch_gap < 1e-15


def test_loss_checks(data):
    check = math_gradients.loss_checks(data, seed=0)
    assert check.mse_gap < 1e-14 and check.ce_gap < 1e-14 and check.p_minus_y_gap < 1e-15
    assert set(check.fd_errors) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert 0 < check.fd_worst < 1e-6


def test_loss_index_example_drops_the_last_class():
    example = math_gradients.loss_index_example()
    assert example.over_inputs == 0.0
    assert example.over_classes == pytest.approx(-math.log(0.1))
    over_inputs = math_gradients.loss_index_example(n_inputs=3).over_inputs
    assert over_inputs == pytest.approx(-math.log(0.1))


@pytest.mark.parametrize("ours,theirs", [
    (lambda p: SGD(p, SGDConfig(lr=0.1, momentum=0.9)),
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    (lambda p: Adam(p, AdamConfig(lr=0.01, beta1=0.5, beta2=0.9, eps=1e-6, weight_decay=0.1)),
     lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.5, 0.9), eps=1e-6, weight_decay=0.1)),
])
def test_run_against_torch_follows_torch_step_for_step(data, ours, theirs):
    run = math_optimisers.run_against_torch(ours, theirs, data, steps=20)
    assert run.ours_params.shape == run.torch_params.shape == (21, 13)
    np.testing.assert_allclose(run.ours_params, run.torch_params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(run.ours_losses, run.torch_losses, rtol=1e-12)
    assert run.ours_losses[-1] < run.ours_losses[0]
    with pytest.raises(ValueError, match="at least one step"):
        math_optimisers.run_against_torch(ours, theirs, data, steps=0)


def test_compare_optimisers_separates_the_essays_adam(data):
    comparison = math_optimisers.compare_optimisers(data, sgd_lr=0.5, adam_lr=0.05, steps=10)
    assert comparison.sgd_gap < 1e-12 and comparison.adam_gap < 1e-12
    assert comparison.essay_adam_gap > 1e-2
    # first step: (1 - beta1) / sqrt(1 - beta2) larger, up to eps
    assert comparison.first_step_factor == pytest.approx(float(first_step_ratio(1)), rel=1e-4)
    glued = comparison.glue_values()
    assert glued["math_adam_steps"] == 10 and glued["math_sgd_gap"] == comparison.sgd_gap
    assert len(comparison.report().splitlines()) == 3


def test_bias_correction_inflation():
    inflation = math_optimisers.bias_correction_inflation(2000)
    assert inflation.at(1) == pytest.approx(0.1 / math.sqrt(0.001))
    ratios = [(1 - 0.9 ** t) / math.sqrt(1 - 0.999 ** t) for t in range(1, 2001)]
    assert inflation.peak_step == int(np.argmax(ratios)) + 1
    assert inflation.peak == pytest.approx(max(ratios))
    with pytest.raises(ValueError, match="at least one step"):
        math_optimisers.bias_correction_inflation(0)


def test_epsilon_check(data):
    check = math_optimisers.epsilon_check(data, lr=0.05, steps=10)
    assert check.nan_without_eps
    np.testing.assert_array_equal(check.zero_gradient[1e-8], [0.5, -0.2, 0.1])
    assert 0 < check.effect < 1e-5
    assert "eps = 0:" in check.zero_gradient_report()


def test_backprop_derivation(data, sigmoid_model):
    before = [p.copy() for p in sigmoid_model.parameters()]
    derivation = math_gradients.backprop_derivation(sigmoid_model, data)
    assert derivation.loss_ours == pytest.approx(derivation.loss_torch, rel=1e-12)
    assert derivation.worst < 1e-13 and derivation.fd_worst < 1e-6
    for p, q in zip(before, sigmoid_model.parameters()):  # finite differences restored them
        np.testing.assert_array_equal(p, q)


@pytest.fixture(scope="module")
def worked(data):
    return math_worked_example.train_worked_example(data, lr=0.5, steps=200)


def test_worked_example_matches_torch_and_learns(data, worked):
    assert worked.steps == 200 and worked.loss_gap < 1e-12
    assert np.all(np.diff(worked.running_gap) >= 0) and worked.running_gap[-1] == worked.loss_gap
    assert worked.ours_losses[-1] < worked.ours_losses[0]
    predicted = worked.model.forward(data.x) > 0
    assert worked.accuracy == pytest.approx(np.mean(predicted == (data.y > 0.5)))
    assert worked.glue_values()["math_hand_accuracy"] == pytest.approx(100 * worked.accuracy)


def test_essay_loss_pushes_every_prediction_to_class_one(data, worked):
    essay = math_worked_example.train_with_essay_loss(data, worked, lr=0.5, steps=300)
    probs, y = essay.final_probs, data.y
    # the first recorded loss is -mean(y log y_hat) of the untrained network
    start = mn.make_mlp([2, 3, 1], hidden="relu", output="sigmoid", seed=0).forward(data.x)
    assert essay.losses[0] == pytest.approx(float(-np.mean(y * np.log(start))), rel=1e-12)
    assert essay.losses[-1] < essay.losses[0]
    assert essay.mean_pred_0[-1] > essay.mean_pred_0[0]  # class 0 drifts towards 1
    assert essay.accuracy == pytest.approx(np.mean((probs > 0.5) == (y > 0.5)))
    surfaces = math_worked_example.decision_surfaces(data, worked, essay, steps=20)
    assert surfaces.correct.shape == surfaces.essay.shape == surfaces.g1.shape == (20, 20)
    assert 0 <= surfaces.correct.min() and surfaces.essay.max() <= 1


def test_essay_gradient_check(data, sigmoid_model):
    gradient = math_essay_update.essay_gradient_check(sigmoid_model, data)
    p, y = sigmoid_model.forward(data.x), data.y
    assert gradient.essay_grad_sum == pytest.approx(float(np.sum((1 - y) / p)))
    w, b = sigmoid_model.layers[0].params["weight"], sigmoid_model.layers[0].params["bias"]
    a = np.maximum(data.x @ w.T + b, 0)
    # d(-y log sigmoid(z))/dz = -y (1 - p); chain rule to w^(3)
    np.testing.assert_allclose(gradient.true_grad_w3, ((-(y * (1 - p))).T @ a).ravel(),
                               rtol=1e-10)
    np.testing.assert_allclose(gradient.correct_bce_w3, ((p - y).T @ a).ravel(), rtol=1e-12)
    assert len(gradient.table(rows=4).splitlines()) == 5
    assert gradient.glue_values()["math_true_grad_w3"].count(",") == 2


def test_follow_essay_update_diverges_at_the_chapters_step_and_not_at_a_tiny_one(data):
    runs = math_essay_update.follow_essay_update(data, lr=0.01)
    assert all(step is not None and step < 200 for step in runs.nan_steps)
    for run in runs.runs:
        assert np.all(run.updates[:-1] > 0)  # every step subtracts: predictions fall
        assert len(run.updates) == run.nan_step
    calm = math_essay_update.follow_essay_update(data, lr=1e-6, max_steps=20)
    assert calm.nan_steps == [None, None]
    assert len(calm.runs[0].updates) == 20


def test_the_chapter_entry_point_exports_every_function_the_chapter_calls():
    notebook = read_notebook(repo_root() / "chapters" / "mathematics.ipynb")
    code = "".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    called = set(re.findall(r"\bstudy\.(\w+)", code))
    assert called and called <= set(study.__all__), sorted(called - set(study.__all__))
    assert study.forward_check is math_forward.forward_check
    assert study.follow_essay_update is math_essay_update.follow_essay_update
