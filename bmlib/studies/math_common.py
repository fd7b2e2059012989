"""What the mathematics chapter's checks share: the essay's 2-3-1 network, its PyTorch twin.

:func:`torch_twin` rebuilds a :mod:`bmlib.scratch` network in PyTorch (float64) with the same
weights, so every check can compare bmlib's NumPy computation with autograd and
``torch.optim``; :func:`bce_mean` is the loss every training run of the chapter uses. The
chapter's entry point is :mod:`bmlib.studies.mathematics`.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch

from bmlib.data.toy import BinaryDataset
from bmlib.scratch import mlp as mn

F64 = torch.float64
ESSAY_SIZES = (2, 3, 1)  # the §4.3 network: 2 inputs, 3 hidden ReLU units, 1 output
_TORCH_ACTIVATIONS: dict[type, Callable[[], torch.nn.Module]] = {
    mn.ReLU: torch.nn.ReLU, mn.Sigmoid: torch.nn.Sigmoid, mn.Tanh: torch.nn.Tanh,
    mn.Softmax: lambda: torch.nn.Softmax(dim=-1), mn.Identity: torch.nn.Identity,
}


def torch_twin(model: mn.MLP) -> torch.nn.Sequential:
    """The same network as ``model`` in PyTorch (float64), with its current weights copied in.

    Layer positions, hence parameter names (``0.weight``...), are those of ``model``."""
    layers: list[torch.nn.Module] = []
    for layer in model.layers:
        if isinstance(layer, mn.Linear):
            n_out, n_in = layer.params["weight"].shape
            layers.append(torch.nn.Linear(n_in, n_out, dtype=F64))
        elif type(layer) in _TORCH_ACTIVATIONS:
            layers.append(_TORCH_ACTIVATIONS[type(layer)]())
        else:
            raise TypeError(f"torch_twin: no PyTorch counterpart for {type(layer).__name__}")
    net = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for ours, theirs in zip(model.parameters(), net.parameters()):
            theirs.copy_(torch.from_numpy(ours))
    return net


def bce_mean(z: np.ndarray, y: np.ndarray) -> mn.LossResult:
    """Mean binary cross-entropy from logits (the loss every training run here uses)."""
    return mn.binary_cross_entropy_with_logits(z, y, reduction="mean")


def flat_parameters(params: Iterable[np.ndarray]) -> np.ndarray:
    """bmlib parameters concatenated into one flat vector."""
    return np.concatenate([p.ravel() for p in params])


def flat_torch_parameters(net: torch.nn.Module) -> np.ndarray:
    """A torch module's parameters concatenated into one flat NumPy vector."""
    return torch.cat([p.detach().ravel() for p in net.parameters()]).numpy()


def dataset_tensors(data: BinaryDataset) -> tuple[torch.Tensor, torch.Tensor]:
    """``data.x`` and ``data.y`` as torch tensors (float64, copied)."""
    return torch.tensor(data.x), torch.tensor(data.y)
