"""CIFAR-10 models: shapes, Keras' initialisers, parameter and FLOP formulas vs PyTorch."""

from __future__ import annotations

import math

import pytest
import torch

from bmlib.cnn_models import (ResNetConfig, ResNetSmall, SeedCNN, SeedCNNConfig,
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
