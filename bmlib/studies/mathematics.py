"""The mathematics chapter: the essay's section-4 formulas, run with the NumPy library of
:mod:`bmlib.scratch` and checked against PyTorch (autograd, ``torch.optim``) in float64.

Each function performs one check and returns a frozen result; ``glue_values()`` gives the
numbers the chapter's prose cites (under their glue names) and ``report()`` the lines the
chapter prints. Everything runs on the CPU in float64: the point is exact agreement, not speed.
Seeds are arguments; the same seed gives the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from bmlib.data.toy import BinaryDataset, grid_over
from bmlib.scratch import mlp as mn
from bmlib.scratch.gradcheck import check_model_gradients, relative_error
from bmlib.scratch.optim import (SGD, Adam, AdamConfig, SGDConfig, first_step_ratio,
                                 train_full_batch)

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


def _flat(params: Iterable[np.ndarray]) -> np.ndarray:
    return np.concatenate([p.ravel() for p in params])


def _torch_flat(net: torch.nn.Module) -> np.ndarray:
    return torch.cat([p.detach().ravel() for p in net.parameters()]).numpy()


def _tensors(data: BinaryDataset) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor(data.x), torch.tensor(data.y)


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


# ---------------------------------------------------------------- optimisers


@dataclass(frozen=True)
class OptimiserRun:
    """A bmlib optimiser and a torch.optim one, side by side on the same network, from the
    same weights, full batch, mean binary cross-entropy."""

    ours_params: np.ndarray  # (steps + 1, n_params) flat parameters, initial then after each step
    torch_params: np.ndarray  # the same for PyTorch
    ours_losses: np.ndarray  # (steps,) loss before each step, bmlib
    torch_losses: np.ndarray  # the same for PyTorch

    @property
    def gaps(self) -> np.ndarray:
        """max |theta_ours - theta_torch| after each step."""
        return np.max(np.abs(self.ours_params[1:] - self.torch_params[1:]), axis=1)

    @property
    def first_steps(self) -> tuple[np.ndarray, np.ndarray]:
        """The parameter change of the first step: (bmlib, torch)."""
        return (self.ours_params[1] - self.ours_params[0],
                self.torch_params[1] - self.torch_params[0])


def run_against_torch(make_ours: Callable[[list[np.ndarray]], SGD | Adam],
                      make_torch: Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer],
                      data: BinaryDataset, steps: int, seed: int = 0) -> OptimiserRun:
    """Train the essay's 2-3-1 network (logit output) with ``make_ours(params)`` in NumPy and
    with ``make_torch(params)`` in PyTorch, ``steps`` full-batch steps each."""
    if steps < 1:
        raise ValueError(f"steps={steps}: compare at least one step")
    model = mn.make_mlp(list(ESSAY_SIZES), hidden="relu", output="identity", seed=seed)
    net = torch_twin(model)
    ours_opt, torch_opt = make_ours(model.parameters()), make_torch(net.parameters())
    x_t, y_t = _tensors(data)
    ours_params, torch_params = [_flat(model.parameters())], [_torch_flat(net)]
    ours_losses, torch_losses = [], []
    for _ in range(steps):
        result = bce_mean(model.forward(data.x), data.y)
        model.backward(result.grad)
        ours_opt.step(model.gradients())
        torch_opt.zero_grad()
        loss_t = F.binary_cross_entropy_with_logits(net(x_t), y_t)
        loss_t.backward()
        torch_opt.step()
        ours_params.append(_flat(model.parameters()))
        torch_params.append(_torch_flat(net))
        ours_losses.append(result.value)
        torch_losses.append(loss_t.item())
    return OptimiserRun(np.array(ours_params), np.array(torch_params), np.array(ours_losses),
                        np.array(torch_losses))


@dataclass(frozen=True)
class OptimiserComparison:
    """SGD, Adam and the essay's Adam (no bias correction) against torch.optim."""

    runs: dict[str, OptimiserRun]  # "SGD", "Adam", "Adam, no bias correction"
    sgd_lr: float  # SGD step size
    adam_lr: float  # Adam step size alpha
    steps: int  # steps of each run

    @property
    def sgd_gap(self) -> float:
        return float(self.runs["SGD"].gaps.max())

    @property
    def adam_gap(self) -> float:
        return float(self.runs["Adam"].gaps.max())

    @property
    def essay_adam_gap(self) -> float:
        """Parameter difference after the last step, essay's Adam vs torch."""
        return float(self.runs["Adam, no bias correction"].gaps[-1])

    @property
    def first_step_factor(self) -> float:
        """Median ratio of the essay's first Adam step to torch's."""
        ours, theirs = self.runs["Adam, no bias correction"].first_steps
        return float(np.median(ours / theirs))

    def glue_values(self) -> dict[str, Any]:
        return {"math_adam_steps": self.steps, "math_sgd_gap": self.sgd_gap,
                "math_adam_gap": self.adam_gap, "math_essay_adam_gap": self.essay_adam_gap,
                "math_first_step_factor": self.first_step_factor}

    def report(self) -> str:
        return "\n".join(
            f"{label:>25}: max |theta_ours - theta_torch| over {self.steps} steps = "
            f"{run.gaps.max():.1e}; final loss ours {run.ours_losses[-1]:.4f}, "
            f"torch {run.torch_losses[-1]:.4f}" for label, run in self.runs.items())


def compare_optimisers(data: BinaryDataset, sgd_lr: float, adam_lr: float, steps: int,
                       seed: int = 0) -> OptimiserComparison:
    """bmlib's SGD and Adam (with and without bias correction) vs torch.optim's, ``steps``
    steps each; the essay's Adam is compared with torch's real one."""
    setups = {
        "SGD": (lambda p: SGD(p, SGDConfig(lr=sgd_lr)),
                lambda p: torch.optim.SGD(p, lr=sgd_lr)),
        "Adam": (lambda p: Adam(p, AdamConfig(lr=adam_lr)),
                 lambda p: torch.optim.Adam(p, lr=adam_lr)),
        "Adam, no bias correction": (
            lambda p: Adam(p, AdamConfig(lr=adam_lr, bias_correction=False)),
            lambda p: torch.optim.Adam(p, lr=adam_lr)),
    }
    runs = {label: run_against_torch(ours, theirs, data, steps, seed)
            for label, (ours, theirs) in setups.items()}
    return OptimiserComparison(runs, sgd_lr, adam_lr, steps)


@dataclass(frozen=True)
class BiasCorrectionInflation:
    """(1 - b1^t) / sqrt(1 - b2^t): the uncorrected Adam step over the corrected one."""

    t: np.ndarray  # steps 1..max_step
    ratio: np.ndarray  # the inflation at each step

    def at(self, step: int) -> float:
        return float(self.ratio[step - 1])

    @property
    def peak(self) -> float:
        return float(self.ratio.max())

    @property
    def peak_step(self) -> int:
        return int(self.t[self.ratio.argmax()])

    def glue_values(self) -> dict[str, Any]:
        return {"math_ratio_t1": self.at(1), "math_ratio_peak": self.peak,
                "math_ratio_peak_t": self.peak_step, "math_ratio_t1000": self.at(1000)}


def bias_correction_inflation(max_step: int = 10_000, beta1: float = 0.9,
                              beta2: float = 0.999) -> BiasCorrectionInflation:
    """The inflation at steps 1..max_step for a constant gradient."""
    if max_step < 1:
        raise ValueError(f"max_step={max_step}: need at least one step")
    t = np.arange(1, max_step + 1)
    return BiasCorrectionInflation(t, first_step_ratio(t, beta1, beta2))


@dataclass(frozen=True)
class EpsilonCheck:
    """What Adam's epsilon does: defines the zero-gradient update, barely moves training."""

    zero_gradient: dict[float, np.ndarray]  # eps -> weights after one step with gradient 0
    trained: dict[float, np.ndarray]  # eps -> flat parameters after full-batch training

    @property
    def nan_without_eps(self) -> bool:
        return bool(np.isnan(self.zero_gradient[0.0]).all())

    @property
    def effect(self) -> float:
        """max |trained(eps=1e-8) - trained(eps=1e-12)|."""
        return float(np.max(np.abs(self.trained[1e-8] - self.trained[1e-12])))

    def glue_values(self) -> dict[str, Any]:
        return {"math_eps_effect": self.effect}

    def zero_gradient_report(self) -> str:
        return "\n".join(f"eps = {eps:g}: weights after one step with zero gradient -> {w}"
                         for eps, w in self.zero_gradient.items())

    def training_report(self) -> str:
        norms = {eps: float(np.linalg.norm(w)) for eps, w in self.trained.items()}
        return (f"trained weights, eps = 1e-8 vs 1e-12: max difference {self.effect:.1e}; "
                f"weight norms {norms[1e-8]:.6f} vs {norms[1e-12]:.6f} (no shrinkage)")


def epsilon_check(data: BinaryDataset, lr: float, steps: int, seed: int = 0) -> EpsilonCheck:
    """One Adam step with a zero gradient at eps = 1e-8 and 0; the 2-3-1 network trained for
    ``steps`` steps at eps = 1e-8 and 1e-12."""
    zero_gradient = {}
    for eps in (1e-8, 0.0):
        weights = np.array([0.5, -0.2, 0.1])
        with np.errstate(invalid="ignore"):
            Adam([weights], AdamConfig(lr=lr, eps=eps)).step([np.zeros(3)])
        zero_gradient[eps] = weights
    trained = {}
    for eps in (1e-8, 1e-12):
        model = mn.make_mlp(list(ESSAY_SIZES), hidden="relu", output="identity", seed=seed)
        train_full_batch(model, bce_mean, Adam(model.parameters(), AdamConfig(lr=lr, eps=eps)),
                         data.x, data.y, steps)
        trained[eps] = _flat(model.parameters())
    return EpsilonCheck(zero_gradient, trained)


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
    x_t, y_t = _tensors(data)
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


# ---------------------------------------------------------------- the worked example


@dataclass(frozen=True)
class WorkedExample:
    """The 2-3-1 network trained by full-batch SGD on the mean BCE, by bmlib and by PyTorch."""

    model: mn.MLP  # the trained bmlib network (logit output)
    ours_losses: np.ndarray  # (steps,) loss before each step, bmlib
    torch_losses: np.ndarray  # (steps,) the same, autograd + torch.optim.SGD
    lr: float  # SGD step size (mean loss)
    accuracy: float  # training accuracy of the trained bmlib network (0..1)

    @property
    def steps(self) -> int:
        return len(self.ours_losses)

    @property
    def running_gap(self) -> np.ndarray:
        """(steps,) the largest |bmlib - torch| loss difference up to each step."""
        return np.maximum.accumulate(np.abs(self.ours_losses - self.torch_losses))

    @property
    def loss_gap(self) -> float:
        return float(np.max(np.abs(self.ours_losses - self.torch_losses)))

    def glue_values(self) -> dict[str, Any]:
        return {"math_steps": self.steps, "math_lr": self.lr, "math_loss_gap": self.loss_gap,
                "math_loss_start": float(self.ours_losses[0]),
                "math_loss_end": float(self.ours_losses[-1]),
                "math_hand_accuracy": 100 * self.accuracy}

    def report(self) -> str:
        ours, theirs = self.ours_losses, self.torch_losses
        return (f"loss: {ours[0]:.4f} -> {ours[-1]:.4f} (bmlib), {theirs[0]:.4f} -> "
                f"{theirs[-1]:.4f} (torch); max |difference| over {self.steps} steps = "
                f"{self.loss_gap:.1e}\n"
                f"training accuracy of the 2-3-1 network: {100 * self.accuracy:.1f}%")


def train_worked_example(data: BinaryDataset, lr: float, steps: int,
                         seed: int = 0) -> WorkedExample:
    """Train the essay's network with bmlib's gradients and, from the same weights, with
    autograd and ``torch.optim.SGD``."""
    model = mn.make_mlp(list(ESSAY_SIZES), hidden="relu", output="identity", seed=seed)
    twin = torch_twin(model)  # before training: the same initial weights
    ours_losses = train_full_batch(model, bce_mean, SGD(model.parameters(), SGDConfig(lr=lr)),
                                   data.x, data.y, steps)
    twin_opt = torch.optim.SGD(twin.parameters(), lr=lr)
    x_t, y_t = _tensors(data)
    torch_losses = np.empty(steps)
    for step in range(steps):
        twin_opt.zero_grad()
        loss_t = F.binary_cross_entropy_with_logits(twin(x_t), y_t)
        loss_t.backward()
        twin_opt.step()
        torch_losses[step] = loss_t.item()
    accuracy = float(np.mean((model.forward(data.x) > 0) == (data.y > 0.5)))
    return WorkedExample(model, ours_losses, torch_losses, lr, accuracy)


@dataclass(frozen=True)
class EssayLossRun:
    """The same network trained on the essay's loss -mean(y log y_hat) (sigmoid output)."""

    model: mn.MLP  # the trained network (sigmoid output)
    losses: np.ndarray  # (steps,) the essay's loss before each step
    mean_pred_0: np.ndarray  # (steps,) mean y_hat on the class-0 samples before each step
    mean_pred_1: np.ndarray  # (steps,) the same on class 1
    final_probs: np.ndarray  # (n, 1) y_hat after training
    is_one: np.ndarray  # (n,) mask of the class-1 samples
    correct_pred0: float  # mean y_hat on class 0 of the network trained on the BCE

    @property
    def accuracy(self) -> float:
        return float(np.mean((self.final_probs > 0.5) == self.is_one[:, None]))

    @property
    def min_pred0(self) -> float:
        return float(self.final_probs[~self.is_one].min())

    def glue_values(self) -> dict[str, Any]:
        return {"math_essay_loss_end": self.losses[-1], "math_essay_pred0": self.mean_pred_0[-1],
                "math_essay_min_pred0": self.min_pred0,
                "math_essay_accuracy": 100 * self.accuracy,
                "math_correct_pred0": self.correct_pred0}

    def report(self) -> str:
        return "\n".join([
            f"essay's loss after {len(self.losses)} steps: {self.losses[-1]:.2e}",
            f"mean y_hat on class-0 samples: {self.mean_pred_0[-1]:.4f} (min "
            f"{self.min_pred0:.4f}); class 1: {self.mean_pred_1[-1]:.4f}; "
            f"accuracy {100 * self.accuracy:.1f}%",
            f"trained with the binary cross-entropy instead: mean y_hat on class 0 = "
            f"{self.correct_pred0:.4f}",
        ])


def train_with_essay_loss(data: BinaryDataset, worked: WorkedExample, lr: float, steps: int,
                          seed: int = 0) -> EssayLossRun:
    """Minimise the essay's loss with its exact gradient (SGD, full batch); ``worked`` gives
    the BCE-trained network to contrast with."""
    model = mn.make_mlp(list(ESSAY_SIZES), hidden="relu", output="sigmoid", seed=seed)
    optimizer = SGD(model.parameters(), SGDConfig(lr=lr))
    is_one = data.y[:, 0] > 0.5
    losses, mean_pred_0, mean_pred_1 = [], [], []
    for _ in range(steps):
        probs = model.forward(data.x)
        mean_pred_0.append(float(probs[~is_one].mean()))
        mean_pred_1.append(float(probs[is_one].mean()))
        result = mn.cross_entropy(probs, data.y, "mean")  # -mean(y log y_hat): the essay's loss
        losses.append(result.value)
        model.backward(result.grad)
        optimizer.step(model.gradients())
    correct_probs = mn.sigmoid(worked.model.forward(data.x))
    return EssayLossRun(model, np.array(losses), np.array(mean_pred_0), np.array(mean_pred_1),
                        model.forward(data.x), is_one, float(correct_probs[~is_one].mean()))


@dataclass(frozen=True)
class DecisionSurfaces:
    """Predicted P(y = 1) of both trained networks on a grid over the data."""

    g1: np.ndarray  # (steps, steps) first feature of each grid point
    g2: np.ndarray  # (steps, steps) second feature
    correct: np.ndarray  # (steps, steps) network trained on the binary cross-entropy
    essay: np.ndarray  # (steps, steps) network trained on the essay's loss


def decision_surfaces(data: BinaryDataset, worked: WorkedExample, essay: EssayLossRun,
                      steps: int = 150) -> DecisionSurfaces:
    g1, g2, points = grid_over(data.x, steps=steps)
    return DecisionSurfaces(g1, g2, mn.sigmoid(worked.model.forward(points)).reshape(g1.shape),
                            essay.model.forward(points).reshape(g1.shape))


# ---------------------------------------------------------------- §4.3.4 as written


@dataclass(frozen=True)
class EssayGradient:
    """The essay's 'gradient' (1 - y) / y_hat against the real gradients, at one set of weights."""

    y: np.ndarray  # (n, 1) labels
    probs: np.ndarray  # (n, 1) y_hat of the sigmoid network
    true_grad_w3: np.ndarray  # (3,) autograd gradient of the essay's loss w.r.t. w^(3)
    essay_grad_sum: float  # sum_s (1/y_hat - y/y_hat): the same for every parameter
    correct_bce_w3: np.ndarray  # (3,) sum_s (y_hat - y) a_j: the BCE gradient w.r.t. w^(3)

    def glue_values(self) -> dict[str, Any]:
        return {"math_true_grad_w3": ", ".join(f"{v:.3f}" for v in self.true_grad_w3),
                "math_essay_grad_sum": self.essay_grad_sum,
                "math_bce_grad_w3": ", ".join(f"{v:.3f}" for v in self.correct_bce_w3)}

    def table(self, rows: int = 6) -> str:
        lines = [f"{'y':>3} {'y_hat':>7} {'essay 1/yh - y/yh':>18} {'d(-y log yh)/dyh':>17} "
                 f"{'dBCE/dz = yh - y':>17} {'essay update step':>18}"]
        for y_s, p_s in zip(self.y[:rows, 0], self.probs[:rows, 0]):
            lines.append(f"{y_s:>3.0f} {p_s:>7.4f} {1 / p_s - y_s / p_s:>18.4f} "
                         f"{0.0 - y_s / p_s:>17.4f} {p_s - y_s:>17.4f} {1 / p_s + y_s / p_s:>18.4f}")
        return "\n".join(lines)

    def report(self) -> str:
        return (f"\nessay's loss, autograd dL/dw^(3)_1j for j = 1, 2, 3: "
                f"{np.round(self.true_grad_w3, 4)}\n"
                f"essay's formula summed over the samples (same for every weight): "
                f"{self.essay_grad_sum:.4f}\n"
                f"binary cross-entropy, sum_s (y_hat - y) a_j: {np.round(self.correct_bce_w3, 4)}")


def essay_gradient_check(model: mn.MLP, data: BinaryDataset) -> EssayGradient:
    """The quantities of §4.3.4 at ``model``'s weights (2-3-1, sigmoid output) on ``data``."""
    w2, b2 = model.layers[0].params["weight"], model.layers[0].params["bias"]
    probs = model.forward(data.x)
    a2 = np.maximum(data.x @ w2.T + b2, 0.0)
    net = torch_twin(model)
    x_t, y_t = _tensors(data)
    essay_loss_t = -(y_t * torch.log(net(x_t))).sum()
    essay_loss_t.backward()
    return EssayGradient(
        y=data.y, probs=probs, true_grad_w3=net[2].weight.grad.numpy().ravel(),
        essay_grad_sum=float(np.sum(1 / probs - data.y / probs)),
        correct_bce_w3=((probs - data.y).T @ a2).ravel())


@dataclass(frozen=True)
class EssayUpdateRun:
    """One reading of the essay's update rule, followed until the parameters stop being finite."""

    label: str  # which reading
    updates: np.ndarray  # amount subtracted from every output parameter at each step
    min_pred: np.ndarray  # smallest y_hat before each step
    accuracy: np.ndarray  # training accuracy before each step (0..1)
    nan_step: int | None  # steps after which the parameters were non-finite (None: never)


@dataclass(frozen=True)
class EssayUpdateRuns:
    """Both readings of §4.3.4's update, at one step size."""

    runs: tuple[EssayUpdateRun, ...]  # the written update, then the essay's gradient + SGD
    lr: float  # alpha

    @property
    def nan_steps(self) -> list[int | None]:
        return [r.nan_step for r in self.runs]

    def glue_values(self) -> dict[str, Any]:
        return {"math_essay_lr": self.lr, "math_nan_step_written": self.runs[0].nan_step,
                "math_nan_step_gradient": self.runs[1].nan_step}

    def report(self) -> str:
        return "\n".join(
            f"{r.label}: parameters non-finite after {r.nan_step} steps; accuracy went "
            f"{r.accuracy[0]:.2f} -> {r.accuracy[-1]:.2f}; smallest y_hat before that "
            f"{r.min_pred.min():.1e}" for r in self.runs)


ESSAY_UPDATE_READINGS = (("update as written: - a/yh - a y/yh", +1.0),
                         ("essay gradient + SGD: - a/yh + a y/yh", -1.0))


def follow_essay_update(data: BinaryDataset, lr: float, seed: int = 0,
                        max_steps: int = 200) -> EssayUpdateRuns:
    """Subtract lr * mean(1/y_hat +- y/y_hat) from every output weight and the bias, as
    §4.3.4 writes, for at most ``max_steps`` steps."""
    runs = []
    for label, sign in ESSAY_UPDATE_READINGS:
        model = mn.make_mlp(list(ESSAY_SIZES), hidden="relu", output="sigmoid", seed=seed)
        w_out, b_out = model.layers[2].params["weight"], model.layers[2].params["bias"]
        updates, min_pred, accuracy = [], [], []
        nan_step = None
        with np.errstate(all="ignore"):
            for step in range(max_steps):
                probs = model.forward(data.x)
                min_pred.append(float(np.min(probs)))
                accuracy.append(float(np.mean((probs > 0.5) == (data.y > 0.5))))
                update = lr * float(np.mean(1 / probs + sign * data.y / probs))
                w_out -= update  # the same amount for every weight, as in the essay
                b_out -= update
                updates.append(update)
                if not np.all(np.isfinite(model.parameters()[2])):
                    nan_step = step + 1
                    break
        runs.append(EssayUpdateRun(label, np.array(updates), np.array(min_pred),
                                   np.array(accuracy), nan_step))
    return EssayUpdateRuns(tuple(runs), lr)
