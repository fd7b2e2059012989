"""The mathematics chapter's forward pass (§4.1.1): the essay's layer sum against
Z = X W^T + b and PyTorch, the activations and their derivatives against autograd, the
essay's sigmoid form overflowing, and both readings of its softmax.

Each function performs one check and returns a frozen result with ``glue_values()`` (the
numbers the prose cites) and ``report()`` (the lines the chapter prints). float64, CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bmlib.data.toy import BinaryDataset
from bmlib.scratch import mlp as mn
from bmlib.studies.math_common import torch_twin

# ---------------------------------------------------------------- §4.1.1 structure


@dataclass(frozen=True)
class ForwardCheck:
    """The essay's layer sum evaluated literally and as Z = X W^T + b, and the forward pass
    against PyTorch."""

    weight_shape: tuple[int, ...]  # shape of W^(2): (hidden units m, inputs n)
    z_literal: np.ndarray  # z^(2) of the first sample, by the essay's double sum
    literal_gap: float  # max |double sum - matrix product| on that sample
    forward_gap: float  # max |bmlib forward - torch forward| over all samples
    negative_share: float  # fraction of hidden pre-activations z^(2) < 0 (0..1)
    n_samples: int  # samples compared

    def glue_values(self) -> dict[str, Any]:
        return {"math_forward_gap": self.forward_gap, "math_literal_gap": self.literal_gap,
                "math_negative_share": 100 * self.negative_share}

    def report(self) -> str:
        return "\n".join([
            f"W2 shape {self.weight_shape} (m x n), first sample z^(2) by the essay's sum: "
            f"{np.round(self.z_literal, 4)}",
            f"max |literal sum - matrix product|  = {self.literal_gap:.1e}",
            f"max |bmlib forward - torch forward| = {self.forward_gap:.1e} over "
            f"{self.n_samples} samples",
            f"hidden pre-activations z^(2) < 0: {100 * self.negative_share:.1f}% "
            f"(each of these neurons outputs a = 0, not z)",
        ])


def forward_check(model: mn.MLP, data: BinaryDataset) -> ForwardCheck:
    """Check the first layer's sum and the whole forward pass of ``model`` on ``data``."""
    w2, b2 = model.layers[0].params["weight"], model.layers[0].params["bias"]
    n_out, n_in = w2.shape
    x = data.x[0]
    z_literal = np.array([sum(w2[j, i] * x[i] for i in range(n_in)) + b2[j]
                          for j in range(n_out)])
    z_matrix = data.x @ w2.T + b2  # every sample at once: Z = X W^T + b
    y_hat = model.forward(data.x)
    with torch.no_grad():
        y_hat_torch = torch_twin(model)(torch.tensor(data.x)).numpy()
    return ForwardCheck(
        weight_shape=w2.shape, z_literal=z_literal,
        literal_gap=float(np.max(np.abs(z_literal - z_matrix[0]))),
        forward_gap=float(np.max(np.abs(y_hat - y_hat_torch))),
        negative_share=float(np.mean(z_matrix < 0)), n_samples=len(data.x))


# ---------------------------------------------------------------- activations


@dataclass(frozen=True)
class ActivationCheck:
    """bmlib's activations and their derivatives against autograd on a grid of z."""

    gaps: dict[str, tuple[float, float]]  # name -> (max |value diff|, max |derivative diff|)

    @property
    def worst(self) -> float:
        return max(max(gaps) for gaps in self.gaps.values())

    def glue_values(self) -> dict[str, Any]:
        return {"math_activation_worst": self.worst}

    def report(self) -> str:
        lines = [f"{'activation':>10} {'max |value diff|':>17} {'max |derivative diff|':>22}"]
        lines += [f"{name:>10} {value:>17.1e} {derivative:>22.1e}"
                  for name, (value, derivative) in self.gaps.items()]
        return "\n".join(lines)


def activation_check(low: float = -6.0, high: float = 6.0, points: int = 241) -> ActivationCheck:
    """ReLU, sigmoid and tanh: values and derivatives vs torch on ``points`` z in [low, high]."""
    z_grid = np.linspace(low, high, points).reshape(-1, 1)
    gaps = {}
    for name, torch_fn in [("relu", torch.relu), ("sigmoid", torch.sigmoid),
                           ("tanh", torch.tanh)]:
        layer = mn.ACTIVATIONS[name]()
        value = layer.forward(z_grid)
        derivative = layer.backward(np.ones_like(z_grid))
        z_t = torch.tensor(z_grid, requires_grad=True)
        out = torch_fn(z_t)
        out.sum().backward()
        gaps[name] = (float(np.max(np.abs(value - out.detach().numpy()))),
                      float(np.max(np.abs(derivative - z_t.grad.numpy()))))
    return ActivationCheck(gaps)


@dataclass(frozen=True)
class SigmoidOverflow:
    """The essay's sigmoid form e^z / (1 + e^z), evaluated literally, vs the stable one."""

    z: np.ndarray  # the grid of pre-activations
    literal: np.ndarray  # e^z / (1 + e^z) as written (NaN where e^z overflows)
    stable: np.ndarray  # bmlib.scratch.mlp.sigmoid
    overflow_64: float  # ln(max float64): e^z is inf above it
    overflow_32: float  # ln(max float32)

    @property
    def nan_count(self) -> int:
        return int(np.isnan(self.literal).sum())

    @property
    def first_nan(self) -> float:
        return float(self.z[np.isnan(self.literal)].min())

    @property
    def agreement(self) -> float:
        """max |literal - stable| where the literal form is finite."""
        finite = ~np.isnan(self.literal)
        return float(np.max(np.abs(self.literal[finite] - self.stable[finite])))

    def glue_values(self) -> dict[str, Any]:
        return {"math_sigmoid_nan_count": self.nan_count,
                "math_sigmoid_first_nan": self.first_nan,
                "math_overflow64": self.overflow_64, "math_overflow32": self.overflow_32,
                "math_sigmoid_agree": self.agreement}

    def report(self) -> str:
        return "\n".join([
            f"literal e^z/(1+e^z): NaN at {self.nan_count} of {len(self.z)} grid points, "
            f"first at z = {self.first_nan:.0f}",
            f"overflow threshold ln(max float): float64 {self.overflow_64:.2f}, "
            f"float32 {self.overflow_32:.2f}",
            f"where both are finite they agree to {self.agreement:.1e}; stable form finite "
            f"everywhere: {bool(np.all(np.isfinite(self.stable)))}",
        ])


def sigmoid_overflow(limit: float = 1000.0, points: int = 2001) -> SigmoidOverflow:
    """Both sigmoid forms on ``points`` z in [-limit, limit]."""
    z = np.linspace(-limit, limit, points)
    with np.errstate(over="ignore", invalid="ignore"):
        literal = np.exp(z) / (1 + np.exp(z))
    return SigmoidOverflow(z=z, literal=literal, stable=mn.sigmoid(z),
                           overflow_64=float(np.log(np.finfo(np.float64).max)),
                           overflow_32=float(np.log(np.finfo(np.float32).max)))


# ---------------------------------------------------------------- softmax


@dataclass(frozen=True)
class SoftmaxCheck:
    """The essay's softmax read literally (denominator up to the neuron's own index) vs the
    softmax over all K outputs, and the naive vs max-shifted computation on huge logits."""

    logits: np.ndarray  # (K,) logits z
    literal: np.ndarray  # e^{z_k} / sum_{l <= k} e^{z_l}
    correct: np.ndarray  # bmlib.scratch.mlp.softmax(z)
    torch_gap: float  # max |bmlib softmax - torch.softmax|
    huge_logits: np.ndarray  # logits of +-1e4
    naive_huge: np.ndarray  # exp / sum on them (NaN where exp overflows)
    stable_huge: np.ndarray  # max-shifted softmax on them

    def glue_values(self) -> dict[str, Any]:
        return {"math_softmax_literal_sum": float(self.literal.sum()),
                "math_softmax_literal_first": float(self.literal[0]),
                "math_softmax_torch_gap": self.torch_gap}

    def report(self) -> str:
        return "\n".join([
            f"literal reading (sum to own index): {np.round(self.literal, 4)}  "
            f"sum = {self.literal.sum():.4f}",
            f"softmax over all K outputs:         {np.round(self.correct, 4)}  "
            f"sum = {self.correct.sum():.4f}",
            f"max |bmlib - torch.softmax| = {self.torch_gap:.1e}",
            f"logits +-1e4: naive exp/sum -> {self.naive_huge}, max-shifted -> {self.stable_huge}",
        ])


def softmax_check(logits: tuple[float, ...] = (2.0, 1.0, 0.0),
                  huge: tuple[float, ...] = (1e4, 0.0, -1e4)) -> SoftmaxCheck:
    """Evaluate both readings of the essay's softmax on ``logits``, both computations on ``huge``."""
    z = np.array(logits)
    literal = np.array([np.exp(z[k]) / np.exp(z[:k + 1]).sum() for k in range(len(z))])
    correct = mn.softmax(z)
    torch_gap = float(np.max(np.abs(correct - torch.softmax(torch.tensor(z), dim=0).numpy())))
    huge_z = np.array(huge)
    with np.errstate(over="ignore", invalid="ignore"):
        naive_huge = np.exp(huge_z) / np.exp(huge_z).sum()
    return SoftmaxCheck(z, literal, correct, torch_gap, huge_z, naive_huge, mn.softmax(huge_z))
