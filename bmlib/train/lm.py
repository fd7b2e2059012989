"""Training a language model through the book's one loop (:func:`bmlib.train.loop.fit`).

A run is a number of optimiser steps on random windows of a token stream: each step draws
a global batch of ``batch_size`` window offsets from the loop's seeded generator, the inputs
are ``context`` tokens and the targets the same window shifted by one. With
``world_size > 1`` every rank draws the same offsets (same seed) and trains on its contiguous
share; DDP averages the gradients, so two ranks at a local batch ``b`` take the steps one
process takes at ``2 b`` (``tests/test_lm.py``). A loop "epoch" is ``eval_every`` steps:
the validation loss is measured and a checkpoint written after each, so a killed run
resumes and ends with the weights of an uninterrupted one. AdamW, linear warm-up then
cosine decay, gradient clipping; autocast at the precision the device layer chose.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bmlib.models.gpt import GPT, flops_per_token
from bmlib.train.config import LoopConfig, OptimConfig, TrainingError
from bmlib.train.loop import Batch, EpochRecord, fit


@dataclass(frozen=True)
class LMTrainConfig:
    """How long and how to train a language model."""

    steps: int = 1000  # optimiser steps (the schedule's length)
    batch_size: int = 32  # windows per step, summed over ranks
    lr: float = 3e-3  # peak learning rate
    warmup_fraction: float = 0.05  # of all steps
    min_lr_fraction: float = 0.1  # cosine floor, as a share of lr
    weight_decay: float = 0.1  # AdamW's decoupled decay
    grad_clip: float = 1.0  # global gradient norm
    betas: tuple[float, float] = (0.9, 0.95)
    eval_every: int = 100  # steps between validation measurements (and checkpoints)
    eval_windows: int = 64  # validation windows per measurement (fixed, evenly spaced)
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "eval_windows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise TrainingError(f"LMTrainConfig.{name}={value!r}: use a positive int")
        if self.steps % self.eval_every:
            raise TrainingError(f"steps={self.steps} is not a multiple of eval_every="
                                f"{self.eval_every}: the run is cut into equal blocks")

    def optim(self) -> OptimConfig:
        return OptimConfig(optimizer="adamw", lr=self.lr, betas=self.betas,
                           weight_decay=self.weight_decay, schedule="cosine",
                           warmup_fraction=self.warmup_fraction,
                           min_lr_fraction=self.min_lr_fraction, grad_clip=self.grad_clip)

    def loop(self) -> LoopConfig:
        return LoopConfig(epochs=self.steps // self.eval_every, seed=self.seed)


@dataclass
class WindowBatches:
    """Random windows of ``tokens`` (1-D int64 tensor on the device): a :class:`Batches`."""

    tokens: torch.Tensor
    context: int
    batch_size: int  # global windows per step
    steps_per_epoch: int
    rank: int = 0
    world_size: int = 1

    def __post_init__(self) -> None:
        if self.tokens.ndim != 1 or self.tokens.numel() < self.context + 2:
            raise TrainingError(f"{self.tokens.numel()} tokens are too few for windows of "
                                f"{self.context}: use a longer stream or a shorter context")
        if self.batch_size % self.world_size:
            raise TrainingError(f"batch_size={self.batch_size} is not divisible by "
                                f"world_size={self.world_size}: the ranks' shares must be equal")

    @property
    def num_examples(self) -> int:  # tokens this rank trains on per epoch
        return self.steps_per_epoch * self.batch_size // self.world_size * self.context

    def epoch(self, epoch: int, generator: torch.Generator | None) -> Iterator[Batch]:
        if generator is None:
            raise TrainingError("window sampling needs a seed: set LMTrainConfig.seed")
        share = self.batch_size // self.world_size
        span = torch.arange(self.context + 1, device=self.tokens.device)
        for _ in range(self.steps_per_epoch):
            starts = torch.randint(0, self.tokens.numel() - self.context - 1,
                                   (self.batch_size,), generator=generator,
                                   device=self.tokens.device)
            mine = starts[self.rank * share:(self.rank + 1) * share]
            windows = self.tokens[mine[:, None] + span]
            yield windows[:, :-1], windows[:, 1:]


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy (nats per token) over every position."""
    return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())


def evaluation_windows(tokens: torch.Tensor, context: int, count: int) -> Batch:
    """``count`` evenly spaced, fixed windows of ``tokens`` (inputs, targets)."""
    last = tokens.numel() - context - 1
    if last < 0:
        raise TrainingError(f"{tokens.numel()} tokens cannot fill one window of {context}")
    starts = torch.linspace(0, last, steps=min(count, last + 1)).long().to(tokens.device)
    windows = tokens[starts[:, None] + torch.arange(context + 1, device=tokens.device)]
    return windows[:, :-1], windows[:, 1:]


@torch.no_grad()
def evaluate_lm(model: nn.Module, windows: Batch, batch_size: int = 16,
                precision: torch.dtype | None = None) -> float:
    """Mean cross-entropy (nats per token) of ``model`` on fixed ``windows``."""
    was_training = model.training
    model.eval()
    x, y = windows
    total = 0.0
    for start in range(0, x.shape[0], batch_size):
        with torch.autocast(x.device.type, dtype=precision or torch.float32,
                            enabled=precision is not None):
            logits = model(x[start:start + batch_size])
        total += lm_loss(logits, y[start:start + batch_size]).item() * \
            y[start:start + batch_size].shape[0]
    model.train(was_training)
    return total / x.shape[0]


@dataclass
class LMTrainResult:
    """A finished language-model run."""

    model: nn.Module
    history: list[EpochRecord] = field(default_factory=list)
    tokens_trained: int = 0  # global tokens over all steps
    train_seconds: float = 0.0  # training time summed over blocks (validation excluded)
    resumed_from_step: int = 0

    @property
    def tokens_per_second(self) -> float:
        return self.tokens_trained / self.train_seconds if self.train_seconds else math.nan

    @property
    def final_val_loss(self) -> float:
        return float(self.history[-1].val_loss)

    def curve(self, steps_per_block: int) -> list[dict]:
        """Rows (step, train_loss, val_loss, elapsed_s) for plots and tables."""
        return [{"step": r.epoch * steps_per_block, "train_loss": r.train_loss,
                 "val_loss": r.val_loss, "elapsed_s": r.elapsed_seconds} for r in self.history]


def train_lm(model: GPT | nn.Module, train_tokens: torch.Tensor, val_tokens: torch.Tensor,
             config: LMTrainConfig, *, context: int, device: torch.device,
             precision: torch.dtype | None = None, checkpoint_path: str | Path | None = None,
             rank: int = 0, world_size: int = 1, show_progress: bool = False,
             on_block_end: Callable[[EpochRecord], None] | None = None,
             identity: dict | None = None) -> LMTrainResult:
    """Train ``model`` (bare, or DDP-wrapped on every rank) in place for ``config.steps``."""
    batches = WindowBatches(train_tokens.to(device), context, config.batch_size,
                            config.eval_every, rank, world_size)
    windows = evaluation_windows(val_tokens.to(device), context, config.eval_windows)
    ident = identity if identity is not None else {"lm": asdict(config), "context": context}
    fitted = fit(model, batches, config.optim(), config.loop(), device=device,
                 precision=precision, loss_fn=lm_loss,
                 validate=lambda m: (evaluate_lm(m, windows, precision=precision), None),
                 checkpoint_path=checkpoint_path, identity=ident,
                 on_epoch_end=on_block_end, show_progress=show_progress, desc="lm")
    seconds = sum(r.seconds for r in fitted.history)
    return LMTrainResult(fitted.model, fitted.history,
                         config.steps * config.batch_size * context, seconds,
                         fitted.resumed_from_epoch * config.eval_every)


def model_flops_utilisation(model: GPT, tokens_per_second: float, peak_flops: float,
                            context: int | None = None) -> float:
    """Achieved training FLOP/s (``flops_per_token`` x tokens/s) as a share of ``peak_flops``."""
    return flops_per_token(model.config, context) * tokens_per_second / peak_flops


def token_tensor(stream: np.ndarray) -> torch.Tensor:
    """An int64 tensor of a token stream (what embeddings index with)."""
    return torch.from_numpy(np.asarray(stream, dtype=np.int64))
