"""The mathematics chapter's worked example: the essay's 2-3-1 network trained by
full-batch SGD on the mean binary cross-entropy (bmlib against autograd + ``torch.optim``),
the same network trained on the essay's loss -mean(y log y_hat), and both decision surfaces.

Results are frozen, with ``glue_values()`` and ``report()``; float64, CPU; the initial
weights come from the ``seed`` argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from bmlib.data.toy import BinaryDataset, grid_over
from bmlib.scratch import mlp as mn
from bmlib.scratch.optim import SGD, SGDConfig, train_full_batch
from bmlib.studies.math_common import ESSAY_SIZES, bce_mean, dataset_tensors, torch_twin


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
    x_t, y_t = dataset_tensors(data)
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
