"""The airbench-style network: patch whitening checked against NumPy in float64, the fast
batch-norm shift against PyTorch's batch norm and its gradient in float64, shapes, frozen
parameters, the identity initialisation and the learned-whitening ablation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bmlib.models.airbench import (Airbench, AirbenchConfig, ConvGroup, ShiftedBatchNorm,
                                   image_patches, patch_whitening_weights)


def _correlated_images(n: int = 64, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(n, 1, 12, 12, generator=g, dtype=torch.float64)
    noise = torch.randn(n, 3, 12, 12, generator=g, dtype=torch.float64)
    smooth = F.avg_pool2d(F.pad(base, (1, 1, 1, 1), mode="replicate"), 3, 1)
    return smooth.expand(-1, 3, -1, -1) + 0.3 * noise  # channels and neighbours correlated


def test_patches_are_in_conv_weight_order():
    images = _correlated_images()
    weight = torch.randn(5, 3, 2, 2, dtype=torch.float64)
    by_conv = F.conv2d(images, weight)  # N, 5, H', W'
    by_rows = image_patches(images, 2) @ weight.reshape(5, -1).T
    assert torch.allclose(by_conv.permute(0, 2, 3, 1).reshape(-1, 5), by_rows, atol=1e-12)


def test_whitening_gives_the_eigenvalue_ratio_second_moments_numpy_float64():
    images, eps = _correlated_images(), 5e-4
    weights = patch_whitening_weights(images, 2, eps)
    assert weights.shape == (24, 3, 2, 2) and weights.dtype == torch.float64
    assert torch.equal(weights[12:], -weights[:12])
    out = F.conv2d(images, weights[:12]).permute(0, 2, 3, 1).reshape(-1, 12).numpy()
    moments = out.T @ out / out.shape[0]
    # independently: NumPy's eigenvalues of the patches' second-moment matrix
    n, c, h, w = images.shape
    rows = np.stack([images.numpy()[:, :, i:i + 2, j:j + 2].reshape(n, -1)
                     for i in range(h - 1) for j in range(w - 1)], axis=1).reshape(-1, 12)
    eigenvalues = np.sort(np.linalg.eigvalsh(rows.T @ rows / rows.shape[0]))[::-1]
    np.testing.assert_allclose(moments, np.diag(eigenvalues / (eigenvalues + eps)), atol=1e-9)


def test_whitening_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        patch_whitening_weights(torch.zeros(3, 32, 32))
    with pytest.raises(ValueError, match="larger than"):
        patch_whitening_weights(torch.zeros(1, 3, 2, 2), kernel=3)


def test_forward_shapes_and_frozen_parameters():
    config = AirbenchConfig(widths=(8, 16, 16))
    torch.manual_seed(0)
    model = Airbench(config)
    model.init_whitening(torch.rand(16, 3, 32, 32))
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    assert not model.whiten.weight.requires_grad and model.whiten.bias.requires_grad
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == 6 and all(isinstance(m, ShiftedBatchNorm) and m.weight is None
                                   and m.shift.requires_grad for m in norms)
    assert all(m.momentum == pytest.approx(0.4) for m in norms)  # airbench's 0.6


@pytest.mark.parametrize("training", [True, False])
def test_shifted_batch_norm_equals_pytorch_bn_and_scales_its_step_float64(training):
    config = AirbenchConfig(bias_lr_scale=64.0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 5, 6, 6, generator=g, dtype=torch.float64)
    ours = ShiftedBatchNorm(5, config).double().train(training)
    reference = torch.nn.BatchNorm2d(5, eps=config.bn_eps, momentum=0.4).double().train(training)
    reference.weight.requires_grad_(False)
    with torch.no_grad():
        ours.shift.copy_(torch.randn(5, generator=g, dtype=torch.float64))
        reference.bias.copy_(8.0 * ours.shift)  # sqrt(64) * b
        for bn in (ours, reference):
            bn.running_mean.copy_(torch.linspace(-1, 1, 5, dtype=torch.float64))
            bn.running_var.copy_(torch.linspace(0.5, 2, 5, dtype=torch.float64))
    weights = torch.randn(8, 5, 6, 6, generator=g, dtype=torch.float64)
    out, expected = ours(x), reference(x)
    assert torch.allclose(out, expected, atol=1e-12)
    assert torch.allclose(ours.running_mean, reference.running_mean, atol=1e-12)
    (out * weights).sum().backward()
    (expected * weights).sum().backward()
    # d/db of f(8 b) is 8 f'; one SGD step moves the shift 8 * lr * 8 f' = 64 lr f'
    assert torch.allclose(ours.shift.grad, 8.0 * reference.bias.grad, atol=1e-10)
    lr = 1e-3
    assert torch.allclose(8.0 * (lr * ours.shift.grad), 64.0 * (lr * reference.bias.grad),
                          atol=1e-12)


def test_learned_whitening_ablation_trains_the_first_layer_from_random():
    torch.manual_seed(0)
    model = Airbench(AirbenchConfig(widths=(8, 16, 16), whiten_frozen=False))
    before = model.whiten.weight.detach().clone()
    model.init_whitening(torch.rand(16, 3, 32, 32))  # a no-op for the ablation
    assert model.whiten.weight.requires_grad and torch.equal(model.whiten.weight, before)


def test_conv_groups_start_with_identity_filters():
    group = ConvGroup(4, 6, AirbenchConfig())
    weight = group.conv1.weight.data
    expected = torch.zeros(4, 4, 3, 3)
    expected[torch.arange(4), torch.arange(4), 1, 1] = 1.0
    assert torch.equal(weight[:4], expected)


def test_invalid_config_is_named():
    with pytest.raises(ValueError, match="AirbenchConfig"):
        AirbenchConfig(widths=(0, 8, 8))
    with pytest.raises(ValueError, match="AirbenchConfig"):
        AirbenchConfig(bias_lr_scale=0.0)
