"""CIFAR-10 models: shapes, Keras' initialisers, parameter and FLOP formulas vs PyTorch."""

from __future__ import annotations

import math

import pytest
import torch

from bmlib.models.cnn import (ResNetConfig, ResNetSmall, SeedCNN, SeedCNNConfig,
                              measured_flops, parameter_count, seed_cnn_flops,
                              seed_cnn_parameter_count)


def test_seed_cnn_shapes_and_logits():
    torch.manual_seed(0)
    model = SeedCNN()
    out = model(torch.rand(5, 3, 32, 32))
    assert out.shape == (5, 10)
    # the feature map entering Flatten is 64 x 6 x 6, as in Keras' summary
    assert model.features(torch.rand(1, 3, 32, 32)).shape == (1, 64, 6, 6)


@pytest.mark.parametrize("config", [SeedCNNConfig(), SeedCNNConfig(conv1_filters=8,
                                    conv2_filters=16, hidden_units=20, num_classes=5)])
def test_seed_cnn_parameter_formula_matches_numel(config):
    assert seed_cnn_parameter_count(config) == parameter_count(SeedCNN(config))


def test_seed_cnn_parameter_count_by_hand():
    # Keras summary rows: 896 + 18,496 + 295,040 + 1,290
    assert seed_cnn_parameter_count() == 896 + 18_496 + 295_040 + 1_290 == 315_722


def test_seed_cnn_flop_formula_matches_pytorch_counter():
    assert seed_cnn_flops() == measured_flops(SeedCNN())


def test_keras_initialisers_glorot_uniform_and_zero_bias():
    torch.manual_seed(0)
    model = SeedCNN()
    for layer in [model.features[0], model.features[3], model.classifier[1],
                  model.classifier[4]]:
        weight = layer.weight
        receptive = weight[0, 0].numel() if weight.ndim == 4 else 1
        fan_in, fan_out = weight.shape[1] * receptive, weight.shape[0] * receptive
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        assert weight.abs().max().item() <= limit
        assert weight.abs().max().item() > 0.9 * limit  # uniform fills its range
        assert torch.count_nonzero(layer.bias) == 0


def test_dropout_only_in_training():
    torch.manual_seed(0)
    model = SeedCNN()
    x = torch.rand(4, 3, 32, 32)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


def test_resnet_shapes_and_counts():
    torch.manual_seed(0)
    model = ResNetSmall(ResNetConfig(widths=(8, 16, 32), stem_width=8))
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    assert parameter_count(model) > 0
    assert measured_flops(model) > 0


def test_confusion_matrix_and_per_class_accuracy_match_sklearn():
    import numpy as np
    from sklearn.metrics import confusion_matrix as sk_confusion

    from bmlib.metrics.classification import confusion_accuracy, confusion_matrix, per_class_accuracy

    rng = np.random.default_rng(0)
    true = rng.integers(0, 4, 200)
    predicted = np.where(rng.random(200) < 0.7, true, rng.integers(0, 4, 200))
    matrix = confusion_matrix(true, predicted, 4)
    assert np.array_equal(matrix, sk_confusion(true, predicted, labels=range(4)))
    assert confusion_accuracy(matrix) == np.mean(true == predicted)
    recall = per_class_accuracy(matrix)
    for k in range(4):
        assert recall[k] == np.mean(predicted[true == k] == k)


def test_summarize_seeds():
    from bmlib.metrics.classification import summarize_seeds

    summary = summarize_seeds([0.7, 0.72, 0.74])
    assert summary.mean == pytest.approx(0.72)
    assert summary.std == pytest.approx(0.02)
    assert summary.half_range == pytest.approx(0.02)
    with pytest.raises(ValueError):
        summarize_seeds([])


def test_layer_summary_matches_keras_shapes_and_totals():
    from bmlib.models.cnn import layer_summary

    rows = layer_summary(SeedCNN(SeedCNNConfig(pool_before_relu=False)))
    shapes = [r[2] for r in rows]
    assert shapes[:6] == [(32, 30, 30), (32, 30, 30), (32, 15, 15), (64, 13, 13),
                          (64, 13, 13), (64, 6, 6)]
    assert (2304,) in shapes and shapes[-1] == (10,)
    assert sum(r[3] for r in rows) == seed_cnn_parameter_count()


@pytest.mark.parametrize("train_mode", [False, True])
def test_pool_before_relu_gives_bitwise_equal_outputs_and_gradients(train_mode):
    """MaxPool-then-ReLU (the fast order) against Keras' ReLU-then-MaxPool, in float64."""
    torch.manual_seed(0)
    literal = SeedCNN(SeedCNNConfig(pool_before_relu=False)).double()
    fast = SeedCNN(SeedCNNConfig(pool_before_relu=True)).double()
    fast.load_state_dict(literal.state_dict())
    x = torch.rand(6, 3, 32, 32, dtype=torch.float64)
    x[:, :, 8:20, 8:20] = 0.5  # flat patches: ties inside pooling windows
    x[0] = 0.0  # an all-zero image: every pre-activation equals its bias (zero)
    results = []
    for model in (literal, fast):
        model.train(train_mode)
        torch.manual_seed(1)  # the same dropout mask for both
        out = model(x)
        out.square().sum().backward()
        results.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
    (out_a, grads_a), (out_b, grads_b) = results
    assert torch.equal(out_a, out_b)
    for a, b in zip(grads_a, grads_b):
        assert torch.equal(a, b)


def test_pool_before_relu_reorders_only_the_forward_pass():
    # same parameters and state-dict keys: checkpoints load into either order
    a = SeedCNN(SeedCNNConfig(pool_before_relu=False)).state_dict()
    b = SeedCNN(SeedCNNConfig(pool_before_relu=True)).state_dict()
    assert list(a) == list(b)
