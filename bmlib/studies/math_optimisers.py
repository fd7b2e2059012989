"""The mathematics chapter's optimisers: bmlib's SGD and Adam against ``torch.optim`` step
for step on the essay's 2-3-1 network, the essay's Adam without bias correction, how much
that inflates the early steps, and what Adam's epsilon does.

Each function returns a frozen result with ``glue_values()`` (and reports where the chapter
prints one). float64, CPU; the network's initial weights come from the ``seed`` argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from bmlib.data.toy import BinaryDataset
from bmlib.scratch import mlp as mn
from bmlib.scratch.optim import (SGD, Adam, AdamConfig, SGDConfig, first_step_ratio,
                                 train_full_batch)
from bmlib.studies.math_common import (ESSAY_SIZES, bce_mean, dataset_tensors,
                                       flat_parameters, flat_torch_parameters, torch_twin)


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
    x_t, y_t = dataset_tensors(data)
    ours_params, torch_params = [flat_parameters(model.parameters())], [flat_torch_parameters(net)]
    ours_losses, torch_losses = [], []
    for _ in range(steps):
        result = bce_mean(model.forward(data.x), data.y)
        model.backward(result.grad)
        ours_opt.step(model.gradients())
        torch_opt.zero_grad()
        loss_t = F.binary_cross_entropy_with_logits(net(x_t), y_t)
        loss_t.backward()
        torch_opt.step()
        ours_params.append(flat_parameters(model.parameters()))
        torch_params.append(flat_torch_parameters(net))
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
        trained[eps] = flat_parameters(model.parameters())
    return EpsilonCheck(zero_gradient, trained)
