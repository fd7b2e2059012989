"""Training image classifiers with the data resident on the device.

The whole data set sits on the device once, as uint8 (CIFAR-10's 50,000 training images are
about 150 MB); each batch is gathered by index, converted to float, augmented and normalised
on the device, so no per-batch work happens on the host and no float copy of the whole set
is ever made. The same code runs on CPU and GPU.

Checkpoints are written atomically at the end of every epoch and hold everything needed to
continue bit for bit: model, optimizer, random-generator states, history and config.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from bmlib.core.allocator import retain_freed_memory
from bmlib.core.progress import progress
from bmlib.train.checkpoints import load_checkpoint, save_checkpoint

CIFAR10_MEAN = (125.307, 122.961, 113.8575)  # per-channel pixel mean of the training set, 0-255
CIFAR10_STD = (62.9932, 62.0887, 66.7048)  # per-channel pixel standard deviation, 0-255


class TrainingError(ValueError):
    """Bad training input or a checkpoint that does not match the run."""


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Defaults are the essay's Keras setup (Adam, batch 64, 20 epochs)."""

    epochs: int = 20  # passes over the training part
    batch_size: int = 64  # images per optimizer step (Keras' batch_size)
    optimizer: str = "adam"  # "adam" or "sgd" (Nesterov momentum)
    lr: float = 1e-3  # peak learning rate
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's beta_1, beta_2 (Keras defaults)
    eps: float = 1e-7  # Adam's epsilon (Keras default; PyTorch's is 1e-8)
    momentum: float = 0.9  # SGD momentum
    weight_decay: float = 0.0  # L2 coefficient added to the gradient (SGD and Adam)
    schedule: str = "constant"  # "constant" or "onecycle" (linear warm-up, linear decay to 0)
    warmup_fraction: float = 0.2  # one-cycle: fraction of all steps spent warming up
    label_smoothing: float = 0.0  # cross-entropy label smoothing (0 = plain one-hot)
    normalize: str = "unit"  # "unit": pixels / 255 (the essay); "standardize": per channel
    augment: bool = False  # random crop (padding crop_padding, reflect) + horizontal flip
    crop_padding: int = 4  # pixels of padding for the random crop
    low_res_epochs: int = 0  # first epochs train on random low_res_size crops (needs augment)
    low_res_size: int = 24  # side of those crops, pixels (no padding; test images stay whole)
    tta_flip: bool = False  # evaluate on image and mirror image, average the logits
    tta_shift: int = 0  # > 0: also average over copies shifted diagonally by +-tta_shift px
    autocast: bool = False  # bf16 autocast for forward and loss (mixed precision)
    channels_last: bool = False  # NHWC memory format for model and batches
    fused_optimizer: bool = False  # PyTorch's fused Adam/SGD kernel (same update rule, one pass)
    eval_batch_size: int = 1000  # images per evaluation forward pass
    seed: int = 0  # seeds shuffling, augmentation and dropout

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "sgd"):
            raise TrainingError(f"optimizer={self.optimizer!r}: use 'adam' or 'sgd'")
        if self.schedule not in ("constant", "onecycle"):
            raise TrainingError(f"schedule={self.schedule!r}: use 'constant' or 'onecycle'")
        if self.normalize not in ("unit", "standardize"):
            raise TrainingError(f"normalize={self.normalize!r}: use 'unit' or 'standardize'")
        if self.epochs < 1 or self.batch_size < 1 or self.eval_batch_size < 1:
            raise TrainingError("epochs, batch_size and eval_batch_size must be >= 1")
        if not 0 <= self.low_res_epochs <= self.epochs:
            raise TrainingError(f"low_res_epochs={self.low_res_epochs}: use 0 to epochs "
                                f"({self.epochs})")
        if self.low_res_epochs and not self.augment:
            raise TrainingError("low_res_epochs > 0 trains on random crops: set augment=True")
        if self.low_res_size < 1:
            raise TrainingError(f"low_res_size={self.low_res_size}: use a positive size")
        if not 0 <= self.tta_shift <= 4:
            raise TrainingError(f"tta_shift={self.tta_shift}: use 0 (off) to 4 pixels")


# Settings that only change how a trained model is evaluated, never its weights.
EVAL_ONLY_FIELDS = frozenset({"tta_flip", "tta_shift", "eval_batch_size"})


def training_identity(config: TrainConfig | dict[str, Any]) -> dict[str, Any]:
    """The config's fields that determine the trained weights (evaluation-only ones dropped).

    Checkpoints are matched on this, so a model can be re-evaluated with another test-time
    augmentation without retraining.
    """
    fields = asdict(config) if isinstance(config, TrainConfig) else dict(config)
    return {k: v for k, v in fields.items() if k not in EVAL_ONLY_FIELDS}


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch measured."""

    epoch: int  # 1-based
    train_loss: float  # mean training loss over the epoch's batches (model in train mode)
    train_accuracy: float  # fraction of training images classified right during the epoch
    val_loss: float | None  # loss on the held-out part after the epoch (None: no held-out set)
    val_accuracy: float | None  # accuracy on the held-out part after the epoch
    seconds: float  # wall time of the epoch's training steps (evaluation excluded)
    images_per_second: float  # training images per second of training time
    elapsed_seconds: float  # training time summed over epochs so far


@dataclass
class TrainResult:
    """A finished (or resumed and finished) training run."""

    model: nn.Module
    history: list[EpochRecord] = field(default_factory=list)
    config: TrainConfig = field(default_factory=TrainConfig)
    resumed_from_epoch: int = 0  # epochs already done in the checkpoint we resumed from


def keras_validation_split(num_examples: int, fraction: float) -> tuple[slice, slice]:
    """Keras' ``validation_split``: the LAST ``fraction`` of the arrays, before shuffling.

    Keras computes ``split_at = floor(n * (1 - fraction))``; examples ``[0, split_at)`` train
    and ``[split_at, n)`` validate. Returns the two slices.
    """
    if not 0.0 <= fraction < 1.0:
        raise TrainingError(f"validation fraction {fraction!r}: use 0 <= fraction < 1")
    split_at = int(math.floor(num_examples * (1.0 - fraction)))
    return slice(0, split_at), slice(split_at, num_examples)


def to_device_uint8(images: Any, labels: Any, device: torch.device) -> tuple[torch.Tensor,
                                                                              torch.Tensor]:
    """Put uint8 images ``(N, 3, H, W)`` and int64 labels on ``device`` once (no float copy)."""
    images = torch.as_tensor(images)
    labels = torch.as_tensor(labels)
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
        raise TrainingError(
            f"images must be uint8 of shape (N, 3, H, W); got {images.dtype} {tuple(images.shape)}"
        )
    if labels.shape != (images.shape[0],):
        raise TrainingError(f"labels shape {tuple(labels.shape)} != ({images.shape[0]},)")
    return images.to(device), labels.to(device=device, dtype=torch.int64)


def prepare_batch(images_u8: torch.Tensor, config: TrainConfig,
                  generator: torch.Generator | None = None,
                  crop_size: int | None = None) -> torch.Tensor:
    """uint8 batch -> float32 batch, scaled as ``config.normalize`` says, augmented when
    ``config.augment`` is on and a ``generator`` is given (training only). ``crop_size``
    takes random crops of that side without padding instead of padded full-size crops."""
    x = images_u8.float()  # scaled in place below: same bits as x / 255.0, one buffer fewer
    if config.normalize == "unit":
        x.div_(255.0)
    else:
        mean = torch.tensor(CIFAR10_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(CIFAR10_STD, device=x.device).view(1, 3, 1, 1)
        x.sub_(mean).div_(std)
    if config.augment and generator is not None:
        if crop_size is None:
            x = augment_batch(x, config.crop_padding, generator)
        else:
            x = augment_batch(x, 0, generator, size=crop_size)
    if config.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def augment_batch(x: torch.Tensor, padding: int, generator: torch.Generator,
                  size: int | None = None) -> torch.Tensor:
    """Random ``size`` x ``size`` crop (default: the image's own size) after reflect padding,
    then random horizontal flip, all on x's device."""
    n, c, h, w = x.shape
    size_h = size_w = size
    if size is None:
        size_h, size_w = h, w
    if size_h > h + 2 * padding or size_w > w + 2 * padding:
        raise TrainingError(f"crop size {size} is larger than the padded {h + 2 * padding} x "
                            f"{w + 2 * padding} image")
    padded = F.pad(x, (padding, padding, padding, padding), mode="reflect") if padding else x
    shift_h = torch.randint(0, h + 2 * padding - size_h + 1, (n,), device=x.device,
                            generator=generator)
    shift_w = torch.randint(0, w + 2 * padding - size_w + 1, (n,), device=x.device,
                            generator=generator)
    rows = (shift_h[:, None] + torch.arange(size_h, device=x.device))[:, None, :, None]
    cols = (shift_w[:, None] + torch.arange(size_w, device=x.device))[:, None, None, :]
    batch_index = torch.arange(n, device=x.device)[:, None, None, None]
    channel_index = torch.arange(c, device=x.device)[None, :, None, None]
    out = padded[batch_index, channel_index, rows, cols]
    flip = torch.rand(n, device=x.device, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(3), out)


def learning_rate(step: int, total_steps: int, config: TrainConfig) -> float:
    """The learning rate at optimizer step ``step`` (0-based) of ``total_steps``."""
    if config.schedule == "constant":
        return config.lr
    warmup = max(1, int(config.warmup_fraction * total_steps))
    if step < warmup:
        return config.lr * (step + 1) / warmup
    return config.lr * max(0.0, (total_steps - step) / max(1, total_steps - warmup))


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam with Keras' settings, or SGD with Nesterov momentum.

    ``config.fused_optimizer`` selects PyTorch's fused kernel: the same update rule applied to
    all parameters in one pass instead of a Python loop of small tensor operations (results
    agree to rounding, not bit for bit, with the loop version).
    """
    fused = True if config.fused_optimizer else None
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.betas,
                                eps=config.eps, weight_decay=config.weight_decay, fused=fused)
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                           nesterov=True, weight_decay=config.weight_decay, fused=fused)


def predict_logits(model: nn.Module, images_u8: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """Float32 logits for uint8 images, in eval mode, in batches of ``eval_batch_size``."""
    was_training = model.training
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, images_u8.shape[0], config.eval_batch_size):
            x = prepare_batch(images_u8[start:start + config.eval_batch_size], config)
            with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=config.autocast):
                logits = _views_logits(model, x, config.tta_flip)
                if config.tta_shift:
                    shifted = [_views_logits(model, view, config.tta_flip)
                               for view in shifted_views(x, config.tta_shift)]
                    logits = 0.5 * logits + 0.5 * torch.stack(shifted).mean(0)
            outputs.append(logits)
    model.train(was_training)
    return torch.cat(outputs) if outputs else torch.empty(0, 0)


def _views_logits(model: nn.Module, x: torch.Tensor, flip: bool) -> torch.Tensor:
    logits = model(x).float()
    return 0.5 * (logits + model(x.flip(3)).float()) if flip else logits


def shifted_views(x: torch.Tensor, shift: int) -> list[torch.Tensor]:
    """Two copies of ``x`` translated by ``(-shift, -shift)`` and ``(+shift, +shift)`` pixels,
    the uncovered border filled by reflection (test-time augmentation)."""
    if shift < 1:
        raise TrainingError(f"shift={shift}: use a positive number of pixels")
    h, w = x.shape[-2:]
    padded = F.pad(x, (shift, shift, shift, shift), mode="reflect")
    views = [padded[..., :h, :w], padded[..., 2 * shift:2 * shift + h, 2 * shift:2 * shift + w]]
    if x.is_contiguous(memory_format=torch.channels_last):
        views = [v.contiguous(memory_format=torch.channels_last) for v in views]
    return views


def evaluate(model: nn.Module, images_u8: torch.Tensor, labels: torch.Tensor,
             config: TrainConfig) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` on the given uint8 images."""
    logits = predict_logits(model, images_u8, config)
    loss = F.cross_entropy(logits, labels).item()
    accuracy = (logits.argmax(1) == labels).float().mean().item()
    return loss, accuracy


def _rng_state(generator: torch.Generator, device: torch.device) -> dict[str, Any]:
    state = {"generator": generator.get_state(), "torch_cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["torch_cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], generator: torch.Generator,
                   device: torch.device) -> None:
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_cpu"])
    if device.type == "cuda" and "torch_cuda" in state:
        torch.cuda.set_rng_state(state["torch_cuda"], device)


def train(model: nn.Module, train_images: torch.Tensor, train_labels: torch.Tensor,
          config: TrainConfig, *, val_images: torch.Tensor | None = None,
          val_labels: torch.Tensor | None = None, checkpoint_path: str | Path | None = None,
          resume: bool = True, show_progress: bool = True, desc: str = "train",
          on_epoch_end: Callable[[EpochRecord], None] | None = None,
          retain_memory: bool = True) -> TrainResult:
    """Train ``model`` in place on device-resident uint8 data; return it with its history.

    With ``checkpoint_path`` a checkpoint is written atomically after every epoch, and with
    ``resume`` an existing one (same config) is loaded first, so a killed run continues
    where it stopped; on CPU the final weights equal those of an uninterrupted run.
    ``on_epoch_end`` is called after the checkpoint is written (tests stop runs with it).
    On CPU, ``retain_memory`` first calls :func:`bmlib.core.allocator.retain_freed_memory`, a
    process-wide glibc setting that lets each step reuse the last step's freed buffers
    instead of page-faulting fresh ones (pass False to measure without it).
    The per-epoch validation leaves out ``tta_shift``'s shifted views (they triple its cost);
    evaluate the final model with ``evaluate``/``predict_logits`` for the full test-time
    augmentation.
    """
    epoch_eval = replace(config, tta_shift=0)
    device = train_images.device
    if device.type == "cpu" and retain_memory:
        retain_freed_memory()  # reuse each step's freed buffers: no page faults per step
    if next(model.parameters()).device != device:
        raise TrainingError(f"model is on {next(model.parameters()).device} but the data on "
                            f"{device}: move both with .to(device)")
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, config)
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)
    torch.manual_seed(config.seed)  # dropout draws from the global generator
    history: list[EpochRecord] = []
    start_epoch = 0
    if checkpoint_path is not None and resume and Path(checkpoint_path).exists():
        state = load_checkpoint(checkpoint_path, device,
                                "delete it (or pass resume=False) to train from scratch")
        if training_identity(state["config"]) != training_identity(config):
            raise TrainingError(f"checkpoint {checkpoint_path} was written with another "
                                "config: delete it or pass resume=False")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        _set_rng_state(state["rng"], generator, device)
        history = [EpochRecord(**r) for r in state["history"]]
        start_epoch = len(history)

    n = train_images.shape[0]
    steps_per_epoch = math.ceil(n / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    model.train()
    for epoch in range(start_epoch, config.epochs):
        started = time.perf_counter()
        order = torch.randperm(n, device=device, generator=generator)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        bar = progress(range(steps_per_epoch), desc=f"{desc} epoch {epoch + 1}/{config.epochs}",
                       disable=not show_progress, leave=False)
        for index in bar:
            step = epoch * steps_per_epoch + index
            if config.schedule != "constant":
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(step, total_steps, config)
            batch = order[index * config.batch_size:(index + 1) * config.batch_size]
            x = prepare_batch(train_images[batch], config, generator,
                              config.low_res_size if epoch < config.low_res_epochs else None)
            y = train_labels[batch]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.autocast):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * y.shape[0]
            correct += (logits.detach().argmax(1) == y).sum()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - started
        val_loss = val_accuracy = None
        if val_images is not None and val_labels is not None and val_images.shape[0] > 0:
            val_loss, val_accuracy = evaluate(model, val_images, val_labels, epoch_eval)
        elapsed = (history[-1].elapsed_seconds if history else 0.0) + seconds
        record = EpochRecord(epoch=epoch + 1, train_loss=loss_sum.item() / n,
                             train_accuracy=correct.item() / n, val_loss=val_loss,
                             val_accuracy=val_accuracy, seconds=seconds,
                             images_per_second=n / seconds, elapsed_seconds=elapsed)
        history.append(record)
        if checkpoint_path is not None:
            save_checkpoint({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "rng": _rng_state(generator, device),
                         "history": [asdict(r) for r in history], "config": asdict(config)},
                        checkpoint_path)
        if on_epoch_end is not None:
            on_epoch_end(record)
    return TrainResult(model=model, history=history, config=config,
                       resumed_from_epoch=start_epoch)
