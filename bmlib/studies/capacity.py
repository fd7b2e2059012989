"""Model capacity: how width and depth change what a network can fit.

A small, fast experiment behind the core-concepts chapter: fully connected networks of
growing width and depth fit a noisy 1-D function; we record parameter count, training error
and held-out error. It tests the essay's statement that adding layers and nodes raises a
model's complexity and expressive power, and shows what that does and does not buy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from bmlib.train.config import LoopConfig, OptimConfig
from bmlib.train.loop import TensorBatches, fit


@dataclass(frozen=True)
class RegressionTask:
    """A noisy 1-D regression problem, split into train and held-out points."""

    x_train: torch.Tensor  # (n_train, 1) inputs in [-pi, pi]
    y_train: torch.Tensor  # (n_train, 1) targets
    x_val: torch.Tensor  # (n_val, 1) held-out inputs
    y_val: torch.Tensor  # (n_val, 1) held-out targets
    noise_std: float  # standard deviation of the added Gaussian noise


def make_regression_task(seed: int, n_train: int = 64, n_val: int = 256,
                         noise_std: float = 0.1) -> RegressionTask:
    """y = sin(3x) + 0.3x + noise, x uniform in [-pi, pi] (seeded)."""
    generator = torch.Generator().manual_seed(seed)

    def sample(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = (torch.rand(n, 1, generator=generator) * 2 - 1) * math.pi
        y = torch.sin(3 * x) + 0.3 * x + noise_std * torch.randn(n, 1, generator=generator)
        return x, y

    x_train, y_train = sample(n_train)
    x_val, y_val = sample(n_val)
    return RegressionTask(x_train, y_train, x_val, y_val, noise_std)


def mlp(width: int, depth: int) -> nn.Sequential:
    """A 1-input, 1-output network with ``depth`` hidden layers of ``width`` tanh units."""
    if width < 1 or depth < 1:
        raise ValueError(f"width and depth must be >= 1, got width={width}, depth={depth}")
    layers: list[nn.Module] = []
    fan_in = 1
    for _ in range(depth):
        layers += [nn.Linear(fan_in, width), nn.Tanh()]
        fan_in = width
    layers.append(nn.Linear(fan_in, 1))
    return nn.Sequential(*layers)


def mlp_parameter_count(width: int, depth: int) -> int:
    """Weights plus biases of :func:`mlp`: 2w + (depth-1)(w^2 + w) + (w + 1)."""
    return 2 * width + (depth - 1) * (width * width + width) + width + 1


@dataclass(frozen=True)
class CapacityFit:
    """Outcome of fitting one network."""

    width: int  # hidden units per layer
    depth: int  # hidden layers
    parameters: int  # trainable parameters
    train_mse: float  # mean squared error on the training points
    val_mse: float  # mean squared error on the held-out points


def fit_capacity(task: RegressionTask, width: int, depth: int, seed: int,
                 steps: int = 1500, lr: float = 0.01) -> CapacityFit:
    """Full-batch Adam on the training points; returns train and held-out MSE."""
    torch.manual_seed(seed)
    model = mlp(width, depth).double()
    x, y = task.x_train.double(), task.y_train.double()
    # full batch: one step per "epoch" of the book's loop
    fit(model, TensorBatches(x, y, batch_size=None, shuffle=False),
              OptimConfig(optimizer="adam", lr=lr), LoopConfig(epochs=steps, loss="mse", seed=None))
    with torch.no_grad():
        train_mse = torch.mean((model(x) - y) ** 2).item()
        val_mse = torch.mean((model(task.x_val.double()) - task.y_val.double()) ** 2).item()
    return CapacityFit(width, depth, sum(p.numel() for p in model.parameters()),
                       train_mse, val_mse)
