"""Convolution by hand equals torch.nn.functional.conv2d in float64."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bmlib.scratch.convolution import conv2d_cost, conv2d_im2col, conv2d_loops, im2col, output_size

TOL = 1e-12


@pytest.mark.parametrize("stride,padding", [(1, 0), (1, 1), (2, 0), (2, 2), (3, 1)])
def test_both_methods_equal_torch(stride, padding):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 9, 8))
    w = rng.normal(size=(4, 3, 3, 2))
    b = rng.normal(size=4)
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b),
                   stride=stride, padding=padding).numpy()
    for fn in (conv2d_loops, conv2d_im2col):
        out = fn(x, w, b, stride=stride, padding=padding)
        assert out.shape == ref.shape
        np.testing.assert_allclose(out, ref, rtol=0, atol=TOL)


def test_no_bias_and_im2col_layout_matches_unfold():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 2, 6, 6))
    w = rng.normal(size=(3, 2, 3, 3))
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
    np.testing.assert_allclose(conv2d_im2col(x, w), ref, atol=TOL)
    cols = im2col(x, 3, 3, stride=2, padding=1)
    unfold = F.unfold(torch.from_numpy(x), 3, padding=1, stride=2).numpy()
    np.testing.assert_array_equal(cols, unfold)


def test_gradient_of_im2col_conv_matches_finite_differences():
    # conv is linear in the weight: d sum(out * g) / dW equals sum over windows of g * x.
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, 2, 5, 5))
    w = rng.normal(size=(2, 2, 3, 3))
    g = rng.normal(size=(1, 2, 3, 3))
    eps = 1e-6
    numeric = np.zeros_like(w)
    for idx in np.ndindex(w.shape):
        wp, wm = w.copy(), w.copy()
        wp[idx] += eps
        wm[idx] -= eps
        numeric[idx] = (np.sum(conv2d_im2col(x, wp) * g) - np.sum(conv2d_im2col(x, wm) * g)) / (2 * eps)
    wt = torch.from_numpy(w).requires_grad_(True)
    (F.conv2d(torch.from_numpy(x), wt) * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(numeric, wt.grad.numpy(), rtol=1e-6, atol=1e-8)


def test_cost_matches_torch_layer():
    layer = torch.nn.Conv2d(3, 32, 3)
    params, macs = conv2d_cost(3, 32, 3, 30, 30)
    assert params == sum(p.numel() for p in layer.parameters())
    assert macs == 32 * 27 * 900
    assert output_size(32, 3) == 30


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="channels"):
        conv2d_loops(np.zeros((1, 2, 5, 5)), np.zeros((1, 3, 3, 3)))
    with pytest.raises(ValueError, match="shape"):
        conv2d_im2col(np.zeros((2, 5, 5)), np.zeros((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="larger"):
        conv2d_im2col(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="stride"):
        conv2d_im2col(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), stride=0)
