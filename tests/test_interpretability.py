"""bmlib.metrics.interpretability: saliency and integrated gradients against closed forms and
autograd in float64; completeness; randomisation changes the maps; Spearman vs SciPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from bmlib.metrics.interpretability import (AttributionError, cascading_randomizations,
                                    completeness_gap, integrated_gradients,
                                    mean_rank_correlation, parameter_layers, randomized_copy,
                                    saliency, spearman)
from bmlib.models.small_cnn import SmallCNN, SmallCNNConfig


def _linear_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 5)).double()


def test_linear_model_closed_forms() -> None:
    model = _linear_model()
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    targets = torch.tensor([1, 3])
    weights = model[1].weight.detach().view(5, 3, 4, 4)
    # For f = w·x + b: gradient = w, IG from a zero baseline = x ⊙ w exactly.
    expected_saliency = weights[targets].abs().amax(dim=1)
    assert torch.allclose(saliency(model, x, targets), expected_saliency, atol=1e-12)
    ig = integrated_gradients(model, x, targets, steps=3)
    assert torch.allclose(ig, x * weights[targets], atol=1e-12)


def test_integrated_gradients_completeness_and_finite_difference() -> None:
    torch.manual_seed(1)
    model = SmallCNN(SmallCNNConfig(width=2)).double().eval()
    x = torch.randn(3, 3, 8, 8, dtype=torch.float64)  # the net pools globally: any size works
    targets = torch.tensor([0, 4, 9])
    ig = integrated_gradients(model, x, targets, steps=128)
    gap = completeness_gap(model, x, targets, ig)
    scale = model(x).abs().max().item()
    assert gap.max().item() < 2e-2 * scale
    # The gradient behind saliency matches a central finite difference.
    direction = torch.randn_like(x[:1])
    eps = 1e-6
    f = lambda z: model(z)[0, 0].item()  # noqa: E731
    numeric = (f(x[:1] + eps * direction) - f(x[:1] - eps * direction)) / (2 * eps)
    x1 = x[:1].clone().requires_grad_(True)
    model(x1)[0, 0].backward()
    assert (x1.grad * direction).sum().item() == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_spearman_matches_scipy() -> None:
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    b = a + rng.normal(size=200)
    b[:20] = b[0]  # ties
    assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)
    assert spearman(a, a) == pytest.approx(1.0)
    assert spearman(a, -a) == pytest.approx(-1.0)
    with pytest.raises(AttributionError):
        spearman(a, b[:10])


def test_randomisation_changes_maps_and_leaves_original() -> None:
    torch.manual_seed(2)
    model = SmallCNN(SmallCNNConfig(width=4)).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    layers = parameter_layers(model)
    assert layers == ["features.0", "features.3", "features.6", "head"]
    cascade = cascading_randomizations(model, seed=5)
    assert [name for name, _ in cascade] == ["head", "features.6", "features.3", "features.0"]
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])  # the original is untouched
    x = torch.randn(4, 3, 32, 32)
    targets = torch.tensor([0, 1, 2, 3])
    maps = saliency(model, x, targets)
    assert mean_rank_correlation(maps, maps) == pytest.approx(1.0)
    fully_random = cascade[-1][1]
    assert mean_rank_correlation(maps, saliency(fully_random, x, targets)) < 0.9
    with pytest.raises(AttributionError, match="unknown layer"):
        randomized_copy(model, ["nope"], seed=0)


def test_bad_inputs() -> None:
    model = _linear_model()
    with pytest.raises(AttributionError, match="float tensor"):
        saliency(model, torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.tensor([0, 1]))
    with pytest.raises(AttributionError, match="targets"):
        saliency(model, torch.zeros(2, 3, 4, 4, dtype=torch.float64), torch.tensor([0]))
