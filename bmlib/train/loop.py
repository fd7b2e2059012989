"""The book's one training loop: :func:`fit`.

Every model the book trains with torch goes through :func:`fit`: the CIFAR-10 networks, the
small CNNs of the scaling sweep and of the privacy study, the MLPs of the case studies and of
the workflow, the capacity study's regressions, the toy Transformer, the recurrent cells and
the data-parallel (DDP) runs. What differs between them is data, not loop:

* a :class:`Batches` source gives each epoch's batches: :class:`TensorBatches` slices tensors
  (shuffled or not, full batch or mini-batches, with an optional per-batch ``prepare`` for
  augmentation), :class:`StreamBatches` draws fresh synthetic batches from a generator;
* ``loss_fn`` maps the model's output and the targets to a scalar (default: cross-entropy or
  MSE as :class:`~bmlib.train.config.LoopConfig` says, on the output or its first element);
* ``validate`` returns ``(loss, accuracy)`` after each epoch, for keep-best and early stop;
* ``precision`` is the autocast dtype the device layer chose (``None``: float32).

Checkpoints are written atomically after every epoch and hold everything needed to continue
bit for bit: model, optimiser, generator states, history and the caller's identity dict.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from bmlib.core.progress import progress
from bmlib.train.checkpoints import load_checkpoint, save_checkpoint
from bmlib.train.config import (LoopConfig, OptimConfig, TrainingError, learning_rate,
                                make_optimizer)

Batch = tuple[torch.Tensor, torch.Tensor]


class Batches(Protocol):
    """Where a run's batches come from."""

    num_examples: int  # examples per epoch (for throughput)
    steps_per_epoch: int  # optimiser steps per epoch

    def epoch(self, epoch: int, generator: torch.Generator | None) -> Iterator[Batch]:
        """The batches of epoch ``epoch`` (0-based), drawing randomness from ``generator``."""
        ...


@dataclass
class TensorBatches:
    """Batches sliced from tensors already on the device.

    ``batch_size=None`` is full-batch training (one step per epoch). With ``shuffle`` each
    epoch draws a permutation from the loop's generator; ``prepare(x, epoch, generator)``
    turns a gathered batch into model input (scaling, augmentation).
    """

    x: torch.Tensor
    y: torch.Tensor
    batch_size: int | None = None
    shuffle: bool = True
    prepare: Callable[[torch.Tensor, int, torch.Generator | None], torch.Tensor] | None = None

    def __post_init__(self) -> None:
        if self.x.shape[0] != self.y.shape[0]:
            raise TrainingError(f"{self.x.shape[0]} inputs but {self.y.shape[0]} targets")
        if self.x.shape[0] == 0:
            raise TrainingError("no training examples")
        if self.batch_size is not None and self.batch_size < 1:
            raise TrainingError(f"batch_size={self.batch_size}: use a positive size or None")

    @property
    def num_examples(self) -> int:
        return int(self.x.shape[0])

    @property
    def steps_per_epoch(self) -> int:
        size = self.batch_size or self.num_examples
        return -(-self.num_examples // size)

    def epoch(self, epoch: int, generator: torch.Generator | None) -> Iterator[Batch]:
        n = self.num_examples
        if self.batch_size is None and not self.shuffle:
            batches: Iterator[Any] = iter([None])
        else:
            if self.shuffle:
                if generator is None:
                    raise TrainingError("shuffling needs a seed: set LoopConfig.seed")
                order = torch.randperm(n, device=self.x.device, generator=generator)
            else:
                order = torch.arange(n, device=self.x.device)
            size = self.batch_size or n
            batches = (order[i * size:(i + 1) * size] for i in range(self.steps_per_epoch))
        for index in batches:
            x = self.x if index is None else self.x[index]
            y = self.y if index is None else self.y[index]
            yield (x if self.prepare is None else self.prepare(x, epoch, generator)), y


@dataclass
class StreamBatches:
    """Fresh batches from ``draw()`` (synthetic tasks): ``steps_per_epoch`` of them per epoch.

    ``draw`` keeps its own generator, so the data do not depend on the loop's seed."""

    draw: Callable[[], Batch]
    steps_per_epoch: int
    batch_size: int

    @property
    def num_examples(self) -> int:
        return self.steps_per_epoch * self.batch_size

    def epoch(self, epoch: int, generator: torch.Generator | None) -> Iterator[Batch]:
        for _ in range(self.steps_per_epoch):
            yield self.draw()


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch measured."""

    epoch: int  # 1-based
    train_loss: float  # mean training loss over the epoch's batches (model in train mode)
    train_accuracy: float | None  # fraction right during the epoch (None: not tracked)
    val_loss: float | None  # validation loss after the epoch (None: no validation)
    val_accuracy: float | None  # validation accuracy after the epoch
    seconds: float  # wall time of the epoch's training steps (validation excluded)
    images_per_second: float  # training examples per second of training time
    elapsed_seconds: float  # training time summed over epochs so far


@dataclass
class FitResult:
    """A finished (or resumed and finished) run."""

    model: nn.Module
    history: list[EpochRecord] = field(default_factory=list)
    resumed_from_epoch: int = 0  # epochs already done in the checkpoint resumed from
    best_epoch: int | None = None  # keep_best: the epoch whose weights the model holds
    step_losses: list[float] = field(default_factory=list)  # record_steps: every step's loss
    grad_norms: list[float] = field(default_factory=list)  # record_steps: norm before clipping


def default_loss(loop: LoopConfig) -> Callable[[Any, torch.Tensor], torch.Tensor]:
    """Cross-entropy (with label smoothing) or MSE on the output (or its first element)."""
    def loss_fn(output: Any, y: torch.Tensor) -> torch.Tensor:
        out = output[0] if isinstance(output, (tuple, list)) else output
        if loop.loss == "mse":
            return torch.mean((out - y) ** 2)
        if out.dtype in (torch.float16, torch.bfloat16):  # autocast: the loss in float32
            out = out.float()
        return F.cross_entropy(out, y, label_smoothing=loop.label_smoothing)
    return loss_fn


def _rng_state(generator: torch.Generator | None, device: torch.device) -> dict[str, Any]:
    state: dict[str, Any] = {"torch_cpu": torch.get_rng_state()}
    if generator is not None:
        state["generator"] = generator.get_state()
    if device.type == "cuda":
        state["torch_cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], generator: torch.Generator | None,
                   device: torch.device) -> None:
    if generator is not None:
        generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_cpu"])
    if device.type == "cuda" and "torch_cuda" in state:
        torch.cuda.set_rng_state(state["torch_cuda"], device)


def fit(model: nn.Module, batches: Batches, optim: OptimConfig, loop: LoopConfig, *,
        device: torch.device | None = None, precision: torch.dtype | None = None,
        loss_fn: Callable[[Any, torch.Tensor], torch.Tensor] | None = None,
        validate: Callable[[nn.Module], tuple[float, float | None]] | None = None,
        checkpoint_path: str | Path | None = None, identity: dict[str, Any] | None = None,
        identity_of: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        resume: bool = True, on_epoch_end: Callable[[EpochRecord], None] | None = None,
        show_progress: bool = False, desc: str = "train") -> FitResult:
    """Train ``model`` in place; return it with its history.

    ``device`` is where the model and batches live (default: the model's); ``precision`` is
    the autocast dtype decided by :func:`bmlib.core.device.select_device` (``None``: off).
    With ``checkpoint_path`` a checkpoint is written atomically after every epoch, and with
    ``resume`` an existing one is loaded first when its stored identity (normalised by
    ``identity_of``) equals ``identity`` (default: the two configs), so a killed run continues
    where it stopped; on CPU the final weights equal those of an uninterrupted run.
    ``on_epoch_end`` is called after the checkpoint is written (tests stop runs with it).
    """
    device = device or next(model.parameters()).device
    if next(model.parameters()).device != device:
        raise TrainingError(f"model is on {next(model.parameters()).device} but training on "
                            f"{device}: move it with .to(device)")
    if loop.keep_best and validate is None:
        raise TrainingError("keep_best needs a validate function")
    loss_fn = loss_fn or default_loss(loop)
    optimizer = make_optimizer(model, optim)
    generator = None
    if loop.seed is not None:
        generator = torch.Generator(device=device)
        generator.manual_seed(loop.seed)
        torch.manual_seed(loop.seed)  # dropout draws from the global generator
    identity = identity if identity is not None else {"optim": asdict(optim),
                                                     "loop": asdict(loop)}
    result = FitResult(model=model)
    best_loss, best_state = float("inf"), None
    if checkpoint_path is not None and resume and Path(checkpoint_path).exists():
        state = load_checkpoint(checkpoint_path, device,
                                "delete it (or pass resume=False) to train from scratch")
        stored = state.get("config")
        if not isinstance(stored, dict) or (identity_of or dict)(stored) != identity:
            raise TrainingError(f"checkpoint {checkpoint_path} was written with another "
                                "config: delete it or pass resume=False")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        _set_rng_state(state["rng"], generator, device)
        result.history = [EpochRecord(**r) for r in state["history"]]
        result.resumed_from_epoch = len(result.history)

    total_steps = batches.steps_per_epoch * loop.epochs
    model.train()
    for epoch in range(result.resumed_from_epoch, loop.epochs):
        started = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        seen = 0
        bar = progress(batches.epoch(epoch, generator), total=batches.steps_per_epoch,
                       desc=f"{desc} epoch {epoch + 1}/{loop.epochs}",
                       disable=not show_progress, leave=False)
        for index, (x, y) in enumerate(bar):
            step = epoch * batches.steps_per_epoch + index
            if optim.schedule != "constant":
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(step, total_steps, optim)
            with torch.autocast(device.type, dtype=precision or torch.float32,
                                enabled=precision is not None):
                output = model(x)
            loss = loss_fn(output, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if optim.grad_clip is not None or loop.record_steps:
                norm = nn.utils.clip_grad_norm_(model.parameters(), optim.grad_clip
                                                if optim.grad_clip is not None else float("inf"))
            optimizer.step()
            loss_sum += loss.detach() * y.shape[0]
            seen += int(y.shape[0])
            if loop.track_accuracy:
                out = output[0] if isinstance(output, (tuple, list)) else output
                correct += (out.detach().argmax(1) == y).sum()
            if loop.record_steps:
                result.step_losses.append(loss.item())
                result.grad_norms.append(norm.item())
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - started
        val_loss = val_accuracy = None
        if validate is not None:
            val_loss, val_accuracy = validate(model)
            model.train()
        elapsed = (result.history[-1].elapsed_seconds if result.history else 0.0) + seconds
        record = EpochRecord(epoch=epoch + 1, train_loss=loss_sum.item() / seen,
                             train_accuracy=correct.item() / seen if loop.track_accuracy
                             else None, val_loss=val_loss, val_accuracy=val_accuracy,
                             seconds=seconds, images_per_second=seen / seconds,
                             elapsed_seconds=elapsed)
        result.history.append(record)
        if checkpoint_path is not None:
            save_checkpoint({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                             "rng": _rng_state(generator, device),
                             "history": [asdict(r) for r in result.history],
                             "config": identity}, checkpoint_path)
        if on_epoch_end is not None:
            on_epoch_end(record)
        if loop.keep_best and val_loss is not None:
            if val_loss < best_loss:
                best_loss, result.best_epoch = val_loss, epoch + 1
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            elif loop.patience is not None and epoch + 1 - result.best_epoch >= loop.patience:
                break
    if loop.keep_best and best_state is not None:
        model.load_state_dict(best_state)
    return result


def predict(model: nn.Module, x: torch.Tensor, batch_size: int | None = None,
            prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
            precision: torch.dtype | None = None) -> torch.Tensor:
    """The model's outputs (first element if it returns a tuple) in eval mode, in batches,
    as float32; ``prepare`` maps a slice of ``x`` to model input."""
    was_training = model.training
    model.eval()
    outputs = []
    size = batch_size or max(1, x.shape[0])
    with torch.no_grad():
        for start in range(0, x.shape[0], size):
            chunk = x[start:start + size]
            chunk = prepare(chunk) if prepare is not None else chunk
            with torch.autocast(chunk.device.type, dtype=precision or torch.float32,
                                enabled=precision is not None):
                out = model(chunk)
            out = out[0] if isinstance(out, (tuple, list)) else out
            outputs.append(out.float() if out.is_floating_point() and out.dtype != torch.float64
                           else out)
    model.train(was_training)
    return torch.cat(outputs) if outputs else torch.empty(0)
