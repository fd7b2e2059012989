"""2-D convolution by hand, two ways: explicit loops and im2col + one matrix product.

Both follow PyTorch's convention (which is cross-correlation: the kernel is not flipped),
so they equal ``torch.nn.functional.conv2d`` for the same stride and zero padding. NumPy only;
the tests compare against PyTorch in float64.

Shapes: input ``(N, C_in, H, W)``, weight ``(C_out, C_in, kH, kW)``, bias ``(C_out,)``,
output ``(N, C_out, H_out, W_out)`` with ``H_out = (H + 2*padding - kH) // stride + 1``.
"""

from __future__ import annotations

import numpy as np


def _check(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
           stride: int, padding: int) -> None:
    if x.ndim != 4:
        raise ValueError(f"input must have shape (N, C_in, H, W); got shape {x.shape}")
    if weight.ndim != 4:
        raise ValueError(f"weight must have shape (C_out, C_in, kH, kW); got shape {weight.shape}")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"input has {x.shape[1]} channels but weight expects {weight.shape[1]}: "
            "make weight.shape[1] equal the input's channel count"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"bias must have shape ({weight.shape[0]},); got {bias.shape}")
    if not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be a positive int; got {stride!r}")
    if not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be a non-negative int; got {padding!r}")
    h, w = x.shape[2] + 2 * padding, x.shape[3] + 2 * padding
    if h < weight.shape[2] or w < weight.shape[3]:
        raise ValueError(
            f"kernel {weight.shape[2:]} is larger than the padded input ({h}, {w}): "
            "use a smaller kernel or more padding"
        )


def output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output length along one spatial axis."""
    return (size + 2 * padding - kernel) // stride + 1


def conv2d_loops(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
                 stride: int = 1, padding: int = 0) -> np.ndarray:
    """Convolution as the definition reads: for every output pixel, a weighted sum of a
    ``C_in x kH x kW`` window of the input, plus the bias. Slow; for teaching and testing."""
    _check(x, weight, bias, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    h_out, w_out = output_size(h, kh, stride, padding), output_size(w, kw, stride, padding)
    out = np.zeros((n, c_out, h_out, w_out), dtype=np.result_type(x, weight))
    for b in range(n):
        for o in range(c_out):
            for i in range(h_out):
                for j in range(w_out):
                    window = xp[b, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[b, o, i, j] = np.sum(window * weight[o])
            if bias is not None:
                out[b, o] += bias[o]
    return out


def im2col(x: np.ndarray, kh: int, kw: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Unfold every ``C x kh x kw`` input window into a column.

    Returns shape ``(N, C*kh*kw, H_out*W_out)``, the layout of ``torch.nn.functional.unfold``.
    """
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, h, w = x.shape
    h_out, w_out = output_size(h, kh, stride, padding), output_size(w, kw, stride, padding)
    cols = np.empty((n, c, kh, kw, h_out, w_out), dtype=x.dtype)
    # One strided slice per kernel offset instead of one slice per output pixel.
    for di in range(kh):
        for dj in range(kw):
            cols[:, :, di, dj] = xp[:, :, di:di + stride * h_out:stride, dj:dj + stride * w_out:stride]
    return cols.reshape(n, c * kh * kw, h_out * w_out)


def conv2d_im2col(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
                  stride: int = 1, padding: int = 0) -> np.ndarray:
    """Convolution as one matrix product: ``weight (C_out, C_in*kH*kW) @ columns``."""
    _check(x, weight, bias, stride, padding)
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    cols = im2col(x, kh, kw, stride, padding)
    out = np.einsum("ok,nkp->nop", weight.reshape(c_out, -1), cols)
    if bias is not None:
        out = out + bias[None, :, None]
    return out.reshape(n, c_out, output_size(h, kh, stride, padding),
                       output_size(w, kw, stride, padding))


def conv2d_cost(c_in: int, c_out: int, kernel: int, h_out: int, w_out: int) -> tuple[int, int]:
    """(parameters, multiply-accumulates per image) of one conv layer with bias."""
    params = c_out * (c_in * kernel * kernel + 1)
    macs = c_out * c_in * kernel * kernel * h_out * w_out
    return params, macs
