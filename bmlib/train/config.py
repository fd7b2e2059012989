"""How to optimise, and how long: the two configs every training run in the book is made of.

:class:`OptimConfig` is the optimiser and its learning-rate schedule; :class:`LoopConfig` is
the loop around it (epochs, batches, loss, keep-best, what to record). Image pipelines add
their own augmentation and evaluation settings (:class:`bmlib.train.images.TrainConfig`).
Both are frozen: a run's config is a value, passed explicitly, never read from globals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "onecycle", "cosine")
LOSSES = ("cross_entropy", "mse")


class TrainingError(ValueError):
    """Bad training input or a checkpoint that does not match the run."""


@dataclass(frozen=True)
class OptimConfig:
    """The optimiser and its schedule."""

    optimizer: str = "adam"  # "adam", "adamw" (decoupled weight decay) or "sgd"
    lr: float = 1e-3  # peak learning rate
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's beta_1, beta_2
    eps: float = 1e-8  # Adam's epsilon (PyTorch's default; Keras uses 1e-7)
    momentum: float = 0.9  # SGD momentum
    nesterov: bool = True  # SGD: Nesterov momentum
    weight_decay: float = 0.0  # Adam/SGD: L2 added to the gradient; AdamW: decoupled decay
    schedule: str = "constant"  # "constant"; "onecycle": linear warm-up, linear decay to 0;
    #                             "cosine": linear warm-up, cosine decay to min_lr_fraction
    warmup_fraction: float = 0.2  # fraction of all steps spent warming up (not "constant")
    min_lr_fraction: float = 0.1  # cosine: final learning rate as a fraction of lr
    grad_clip: float | None = None  # clip the global gradient norm to this (None: off)
    fused: bool = False  # PyTorch's fused Adam/SGD kernel (same rule, one pass)

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise TrainingError(f"optimizer={self.optimizer!r}: use one of {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            raise TrainingError(f"schedule={self.schedule!r}: use one of {SCHEDULES}")
        if not self.lr > 0:
            raise TrainingError(f"lr={self.lr!r}: use a positive learning rate")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise TrainingError(f"warmup_fraction={self.warmup_fraction!r}: use 0 <= f < 1")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise TrainingError(f"grad_clip={self.grad_clip!r}: use a positive norm or None")


@dataclass(frozen=True)
class LoopConfig:
    """The loop around the optimiser."""

    epochs: int = 1  # passes over the data (a stream: epochs of steps_per_epoch steps)
    loss: str = "cross_entropy"  # "cross_entropy" (classes) or "mse" (regression)
    label_smoothing: float = 0.0  # cross-entropy label smoothing (0 = one-hot)
    seed: int | None = 0  # seeds shuffling/augmentation and the global generator (dropout);
    #                       None leaves every generator as the caller set it
    keep_best: bool = False  # end with the weights of the epoch of lowest validation loss
    patience: int | None = None  # stop after this many epochs without a better val loss
    track_accuracy: bool = False  # count training accuracy (logits (N, C), labels (N,))
    record_steps: bool = False  # keep every step's loss (and gradient norm) in the result

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise TrainingError(f"epochs={self.epochs}: use at least 1")
        if self.loss not in LOSSES:
            raise TrainingError(f"loss={self.loss!r}: use one of {LOSSES}")
        if self.patience is not None and self.patience < 1:
            raise TrainingError(f"patience={self.patience}: use a positive number or None")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise TrainingError(f"label_smoothing={self.label_smoothing}: use 0 <= s < 1")


def learning_rate(step: int, total_steps: int, config: OptimConfig) -> float:
    """The learning rate at optimiser step ``step`` (0-based) of ``total_steps``."""
    if config.schedule == "constant":
        return config.lr
    warmup = max(1, int(config.warmup_fraction * total_steps))
    if step < warmup:
        return config.lr * (step + 1) / warmup
    if config.schedule == "onecycle":
        return config.lr * max(0.0, (total_steps - step) / max(1, total_steps - warmup))
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    floor = config.min_lr_fraction
    return config.lr * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def make_optimizer(model: nn.Module, config: OptimConfig) -> torch.optim.Optimizer:
    """The optimiser ``config`` names over the model's trainable parameters.

    ``config.fused`` selects PyTorch's fused kernel: the same update rule applied to all
    parameters in one pass instead of a Python loop of small tensor operations (results agree
    to rounding, not bit for bit, with the loop version).
    """
    params = [p for p in model.parameters() if p.requires_grad]
    fused = True if config.fused else None
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, betas=config.betas, eps=config.eps,
                                weight_decay=config.weight_decay, fused=fused)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, betas=config.betas, eps=config.eps,
                                 weight_decay=config.weight_decay, fused=fused)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                           nesterov=config.nesterov, weight_decay=config.weight_decay,
                           fused=fused)
