"""The mathematics chapter's losses and gradients: MSE and softmax cross-entropy against
autograd, the essay's loss summed over the wrong index, and the hand-derived backpropagation
of the 2-3-1 network against bmlib's backward pass, autograd and finite differences.

Each function performs one check and returns a frozen result with ``glue_values()`` and
``report()``. float64, CPU; random draws come from the ``seed`` argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from bmlib.data.toy import BinaryDataset
from bmlib.scratch import mlp as mn
from bmlib.scratch.gradcheck import check_model_gradients, relative_error
from bmlib.studies.math_common import dataset_tensors, torch_twin

# ---------------------------------------------------------------- losses


@dataclass(frozen=True)
class LossCheck:
    """MSE and softmax cross-entropy against autograd, and backprop through a 2-3-3 network
    against finite differences."""

    mse_gap: float  # max diff of the 1/2-MSE value and gradient vs 0.5 * torch MSE(sum)
    ce_gap: float  # max diff of the CE-from-logits value and gradient vs F.cross_entropy
    p_minus_y_gap: float  # max |CE gradient - (softmax - onehot)|
    fd_errors: dict[str, float]  # parameter name -> relative error, backprop vs finite diff.

    @property
    def fd_worst(self) -> float:
        return max(self.fd_errors.values())

    def glue_values(self) -> dict[str, Any]:
        return {"math_mse_gap": self.mse_gap, "math_ce_gap": self.ce_gap,
                "math_fd_worst_ce": self.fd_worst}

    def report(self) -> str:
        lines = [
            f"MSE (1/2 convention): value and gradient vs autograd, max diff {self.mse_gap:.1e}",
            f"softmax + CE from logits: value and gradient vs autograd, max diff "
            f"{self.ce_gap:.1e}; gradient = softmax - onehot to {self.p_minus_y_gap:.1e}",
            "2-3-3 network, softmax + CE: backprop vs finite differences (relative error)",
        ]
        lines += [f"  {name:>8}: {err:.1e}" for name, err in self.fd_errors.items()]
        return "\n".join(lines)


def loss_checks(data: BinaryDataset, seed: int) -> LossCheck:
    """Random predictions and logits drawn from ``default_rng(seed)``; the 2-3-3 network is
    checked on the first ten samples of ``data`` with random class labels."""
    rng = np.random.default_rng(seed)
    pred, target = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    mse = mn.mse_loss(pred, target)
    pred_t = torch.tensor(pred, requires_grad=True)
    mse_t = 0.5 * F.mse_loss(pred_t, torch.tensor(target), reduction="sum")
    mse_t.backward()
    mse_gap = max(abs(mse.value - mse_t.item()),
                  float(np.max(np.abs(mse.grad - pred_t.grad.numpy()))))

    logits = rng.normal(size=(6, 3))
    labels = rng.integers(0, 3, 6)
    ce = mn.cross_entropy_with_logits(logits, labels)
    logits_t = torch.tensor(logits, requires_grad=True)
    ce_t = F.cross_entropy(logits_t, torch.tensor(labels), reduction="sum")
    ce_t.backward()
    ce_gap = max(abs(ce.value - ce_t.item()),
                 float(np.max(np.abs(ce.grad - logits_t.grad.numpy()))))
    p_minus_y_gap = float(np.max(np.abs(ce.grad - (mn.softmax(logits) - np.eye(3)[labels]))))

    three_class = mn.make_mlp([2, 3, 3], hidden="relu", output="identity", seed=seed)
    fd_errors = check_model_gradients(three_class, mn.cross_entropy_with_logits,
                                      data.x[:10], rng.integers(0, 3, 10))
    return LossCheck(mse_gap, ce_gap, p_minus_y_gap, fd_errors)


@dataclass(frozen=True)
class LossIndexExample:
    """The cross-entropy of one class-3 sample summed over the n inputs vs the K classes."""

    n_inputs: int  # n, the number of input neurons the essay's sum runs to
    probs: tuple[float, ...]  # the predicted class probabilities
    over_inputs: float  # -sum_{i <= n} y_i log p_i
    over_classes: float  # -sum_{k <= K} y_k log p_k

    def glue_values(self) -> dict[str, Any]:
        return {"math_ce_over_inputs": self.over_inputs,
                "math_ce_over_classes": self.over_classes}

    def report(self) -> str:
        return (f"sample of class 3 predicted {self.probs}: sum over i = 1..n={self.n_inputs} -> "
                f"{self.over_inputs:.4f}; sum over k = 1..K={len(self.probs)} -> "
                f"{self.over_classes:.4f}")


def loss_index_example(n_inputs: int = 2,
                       probs: tuple[float, ...] = (0.7, 0.2, 0.1)) -> LossIndexExample:
    """A sample of the last class: the sum to n drops that class when n < K."""
    onehot, p = np.eye(len(probs))[-1], np.array(probs)
    over_inputs = float(0.0 - np.sum(onehot[:n_inputs] * np.log(p[:n_inputs])))
    return LossIndexExample(n_inputs, probs, over_inputs, float(-np.sum(onehot * np.log(p))))


# ---------------------------------------------------------------- backpropagation


@dataclass(frozen=True)
class BackpropDerivation:
    """The hand-derived gradients of the summed binary cross-entropy, bmlib's backward pass,
    PyTorch autograd and finite differences, at one set of weights."""

    loss_ours: float  # summed BCE, bmlib
    loss_torch: float  # summed BCE, F.binary_cross_entropy
    rows: dict[str, tuple[float, float, float]]  # name -> relative errors: formula vs autograd,
    #                                             bmlib vs autograd, bmlib vs finite differences

    @property
    def worst(self) -> float:
        """Largest relative error against autograd (formula or bmlib)."""
        return max(max(row[:2]) for row in self.rows.values())

    @property
    def fd_worst(self) -> float:
        return max(row[2] for row in self.rows.values())

    def glue_values(self) -> dict[str, Any]:
        return {"math_derivation_worst": self.worst, "math_fd_worst_bce": self.fd_worst}

    def report(self) -> str:
        lines = [f"loss: bmlib {self.loss_ours:.6f}, torch {self.loss_torch:.6f}",
                 f"{'parameter':>9} {'formula vs autograd':>20} {'bmlib vs autograd':>18} "
                 f"{'bmlib vs finite diff':>21}"]
        lines += [f"{name:>9} {formula:>20.1e} {ours:>18.1e} {fd:>21.1e}"
                  for name, (formula, ours, fd) in self.rows.items()]
        return "\n".join(lines)


def backprop_derivation(model: mn.MLP, data: BinaryDataset) -> BackpropDerivation:
    """delta^(3) = y_hat - y, delta^(2) = delta^(3) W^(3) 1[z^(2) > 0] for a 2-layer ReLU /
    sigmoid ``model``, compared on all of ``data``."""
    w2, b2 = model.layers[0].params["weight"], model.layers[0].params["bias"]
    w3, b3 = model.layers[2].params["weight"], model.layers[2].params["bias"]
    z2 = data.x @ w2.T + b2
    a2 = np.maximum(z2, 0.0)
    y_hat = mn.sigmoid(a2 @ w3.T + b3)
    delta3 = y_hat - data.y  # dL/dz^(3), one row per sample
    delta2 = (delta3 @ w3) * (z2 > 0)  # dL/dz^(2)
    by_formula = {"0.weight": delta2.T @ data.x, "0.bias": delta2.sum(axis=0),
                  "2.weight": delta3.T @ a2, "2.bias": delta3.sum(axis=0)}

    net = torch_twin(model)
    x_t, y_t = dataset_tensors(data)
    bce_sum = F.binary_cross_entropy(net(x_t), y_t, reduction="sum")
    bce_sum.backward()
    by_autograd = {name: p.grad.numpy() for name, p in net.named_parameters()}
    result = mn.binary_cross_entropy(model.forward(data.x), data.y)
    model.backward(result.grad)
    by_bmlib = {name: g for (name, _), g in zip(model.named_parameters(), model.gradients())}
    by_fd = check_model_gradients(model, mn.binary_cross_entropy, data.x, data.y)
    rows = {name: (relative_error(by_formula[name], by_autograd[name]),
                   relative_error(by_bmlib[name], by_autograd[name]), by_fd[name])
            for name in by_formula}
    return BackpropDerivation(result.value, bce_sum.item(), rows)
