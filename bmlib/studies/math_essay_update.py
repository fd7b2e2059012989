"""The mathematics chapter's §4.3.4 as written: the essay's "gradient" (1 - y) / y_hat
against the real gradients, and its update rule followed until the parameters stop being
finite (both readings of its sign).

Results are frozen, with ``glue_values()`` and ``report()``; float64, CPU; the initial
weights come from the ``seed`` argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bmlib.data.toy import BinaryDataset
from bmlib.scratch import mlp as mn
from bmlib.studies.math_common import ESSAY_SIZES, dataset_tensors, torch_twin


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
    x_t, y_t = dataset_tensors(data)
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
