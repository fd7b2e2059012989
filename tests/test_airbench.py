"""The airbench-style network: patch whitening checked against NumPy in float64, shapes,
frozen parameters, and the identity initialisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bmlib.models.airbench import (Airbench, AirbenchConfig, ConvGroup, image_patches,
                                   patch_whitening_weights)


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
    assert len(norms) == 6 and all(not m.weight.requires_grad and m.bias.requires_grad
                                   for m in norms)
    assert all(m.momentum == pytest.approx(0.4) for m in norms)  # airbench's 0.6


def test_conv_groups_start_with_identity_filters():
    group = ConvGroup(4, 6, AirbenchConfig())
    weight = group.conv1.weight.data
    expected = torch.zeros(4, 4, 3, 3)
    expected[torch.arange(4), torch.arange(4), 1, 1] = 1.0
    assert torch.equal(weight[:4], expected)


def test_invalid_config_is_named():
    with pytest.raises(ValueError, match="AirbenchConfig"):
        AirbenchConfig(widths=(0, 8, 8))
