"""SGD and Adam in plain NumPy, written from their defining equations.

Both update a list of arrays in place, given the gradients in the same order (as returned by
:meth:`bmlib.scratch.mlp.MLP.gradients`). ``tests/test_optim_numpy.py`` checks them step for
step against ``torch.optim.SGD`` and ``torch.optim.Adam`` in float64.

Adam follows Algorithm 1 of Kingma & Ba (2015):

    m_t = b1 m_{t-1} + (1 - b1) g_t          v_t = b2 v_{t-1} + (1 - b2) g_t^2
    m^_t = m_t / (1 - b1^t)                  v^_t = v_t / (1 - b2^t)
    theta_t = theta_{t-1} - alpha m^_t / (sqrt(v^_t) + eps)

with eps added to the square root of the *bias-corrected* second moment, as in the paper's
Algorithm 1 (and in PyTorch). ``bias_correction=False`` drops the two middle lines, which is
the update the essay's §4.1.2 writes; it exists to measure that difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from bmlib.scratch.mlp import MLP, LossResult


def _check_pairs(params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
    if len(params) != len(grads):
        raise ValueError(f"got {len(grads)} gradients for {len(params)} parameters")
    for index, (p, g) in enumerate(zip(params, grads)):
        if p.shape != g.shape:
            raise ValueError(f"parameter {index}: shape {p.shape} but gradient {g.shape}")


@dataclass(frozen=True)
class SGDConfig:
    """Plain (optionally momentum) gradient descent, PyTorch's conventions."""

    lr: float  # learning rate alpha (parameter units per gradient unit)
    momentum: float = 0.0  # mu in buf = mu buf + g; 0 gives theta <- theta - alpha g
    weight_decay: float = 0.0  # L2 coefficient lambda added to the gradient: g + lambda theta

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"SGDConfig.lr={self.lr}: the learning rate must be > 0")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"SGDConfig.momentum={self.momentum}: allowed 0 <= momentum < 1")
        if self.weight_decay < 0:
            raise ValueError(f"SGDConfig.weight_decay={self.weight_decay}: must be >= 0")


class SGD:
    """theta <- theta - alpha g (with momentum: buf <- mu buf + g, theta <- theta - alpha buf)."""

    def __init__(self, params: Sequence[np.ndarray], config: SGDConfig) -> None:
        self.params = list(params)
        self.config = config
        self._buffers: list[np.ndarray | None] = [None] * len(self.params)

    def step(self, grads: Sequence[np.ndarray]) -> None:
        _check_pairs(self.params, grads)
        c = self.config
        for index, (p, g) in enumerate(zip(self.params, grads)):
            g = g + c.weight_decay * p if c.weight_decay else g
            if c.momentum:
                buf = self._buffers[index]
                # PyTorch starts the buffer at the first gradient (not at zero)
                buf = g.copy() if buf is None else c.momentum * buf + g
                self._buffers[index] = buf
                g = buf
            p -= c.lr * g


@dataclass(frozen=True)
class AdamConfig:
    """Adam's hyper-parameters, with the paper's defaults."""

    lr: float = 1e-3  # step size alpha (parameter units)
    beta1: float = 0.9  # decay rate of the first-moment (mean) estimate
    beta2: float = 0.999  # decay rate of the second-moment (uncentred variance) estimate
    eps: float = 1e-8  # added to sqrt(v^_t) so the division is defined when v^_t ~ 0
    weight_decay: float = 0.0  # L2 coefficient added to the gradient (PyTorch's Adam, not AdamW)
    bias_correction: bool = True  # divide m_t, v_t by (1 - beta^t); False = the essay's form

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"AdamConfig.lr={self.lr}: the step size must be > 0")
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ValueError(f"AdamConfig.{name}={value}: allowed 0 <= {name} < 1")
        if self.eps < 0 or self.weight_decay < 0:
            raise ValueError("AdamConfig: eps and weight_decay must be >= 0")


class Adam:
    """Kingma & Ba (2015), Algorithm 1."""

    def __init__(self, params: Sequence[np.ndarray], config: AdamConfig = AdamConfig()) -> None:
        self.params = list(params)
        self.config = config
        self.t = 0  # steps taken
        self.m = [np.zeros_like(p) for p in self.params]  # first-moment estimates m_t
        self.v = [np.zeros_like(p) for p in self.params]  # second-moment estimates v_t

    def step(self, grads: Sequence[np.ndarray]) -> None:
        _check_pairs(self.params, grads)
        c = self.config
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            g = g + c.weight_decay * p if c.weight_decay else g
            m *= c.beta1
            m += (1 - c.beta1) * g
            v *= c.beta2
            v += (1 - c.beta2) * g * g
            if c.bias_correction:
                m_hat = m / (1 - c.beta1 ** self.t)
                v_hat = v / (1 - c.beta2 ** self.t)
            else:
                m_hat, v_hat = m, v
            p -= c.lr * m_hat / (np.sqrt(v_hat) + c.eps)


def first_step_ratio(t: np.ndarray, beta1: float = 0.9, beta2: float = 0.999) -> np.ndarray:
    """How much larger the step without bias correction is, for a constant gradient, at step t:
    m_t / sqrt(v_t) divided by m^_t / sqrt(v^_t) = (1 - beta1^t) / sqrt(1 - beta2^t)
    (eps neglected)."""
    t = np.asarray(t, dtype=float)
    return (1 - beta1 ** t) / np.sqrt(1 - beta2 ** t)


def train_full_batch(model: MLP, loss_fn: Callable[[np.ndarray, np.ndarray], LossResult],
                     optimizer: SGD | Adam, x: np.ndarray, y: np.ndarray,
                     steps: int) -> np.ndarray:
    """Run ``steps`` full-batch updates; return the loss measured before each update."""
    if steps < 1:
        raise ValueError(f"steps={steps}: train for at least one step")
    losses = np.empty(steps)
    for step in range(steps):
        result = loss_fn(model.forward(x), y)
        losses[step] = result.value
        model.backward(result.grad)
        optimizer.step(model.gradients())
    return losses
