"""Gradient checking by central finite differences.

For a scalar function f of an array x, the central difference
``(f(x + h e_i) - f(x - h e_i)) / (2 h)`` approximates df/dx_i with error O(h^2) (plus
rounding error of order eps_machine |f| / h, so h ~ 1e-6 suits float64). Used to confirm the
hand-written backward passes of :mod:`bmlib.scratch.mlp` independently of PyTorch.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from bmlib.scratch.mlp import MLP, LossResult


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """df/dx by central differences; ``f`` reads ``x``, which is perturbed in place and restored."""
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient needs a float64 array, got {x.dtype}")
    if h <= 0:
        raise ValueError(f"h={h}: the finite-difference step must be > 0")
    grad = np.zeros_like(x)
    flat, flat_grad = x.reshape(-1), grad.reshape(-1)  # views on x and grad
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + h
        f_plus = f()
        flat[i] = original - h
        f_minus = f()
        flat[i] = original
        flat_grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray, floor: float = 1e-12) -> float:
    """max |a - b| / max(max |a|, max |b|, floor): the largest difference relative to the
    array's scale (elementwise ratios would blow up on entries that are ~0 in both)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: shapes {a.shape} and {b.shape} differ")
    if not a.size:
        return 0.0
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), floor)
    return float(np.max(np.abs(a - b))) / scale


def check_model_gradients(model: MLP, loss_fn: Callable[[np.ndarray, np.ndarray], LossResult],
                          x: np.ndarray, y: np.ndarray, h: float = 1e-6) -> dict[str, float]:
    """Relative error between backprop and finite differences, for every named parameter."""
    result = loss_fn(model.forward(x), y)
    model.backward(result.grad)
    analytic = {name: g.copy() for (name, _), g in zip(model.named_parameters(),
                                                      model.gradients())}

    def loss() -> float:
        return loss_fn(model.forward(x), y).value

    return {name: relative_error(analytic[name], numerical_gradient(loss, p, h))
            for name, p in model.named_parameters()}
