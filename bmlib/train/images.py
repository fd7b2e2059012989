"""CIFAR-10-style image classifiers trained with the data resident on the device.

The whole data set sits on the device once, as uint8 (CIFAR-10's 50,000 training images are
about 150 MB); each batch is gathered by index, converted to float, augmented and normalised
on the device (:func:`prepare_batch`), so no per-batch work happens on the host and no float
copy of the whole set is ever made. The same code runs on CPU and GPU. Training itself is the
book's one loop, :func:`bmlib.train.loop.fit`; this module adds the image pipeline, the
flat :class:`TrainConfig` of the CIFAR-10 recipes and test-time augmentation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from bmlib.core.allocator import retain_freed_memory
from bmlib.train.config import LoopConfig, OptimConfig, TrainingError
from bmlib.train.loop import EpochRecord, TensorBatches, fit

CIFAR10_MEAN = (125.307, 122.961, 113.8575)  # per-channel pixel mean of the training set, 0-255
CIFAR10_STD = (62.9932, 62.0887, 66.7048)  # per-channel pixel standard deviation, 0-255


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Defaults are the essay's Keras setup (Adam, batch 64, 20 epochs)."""

    epochs: int = 20  # passes over the training part
    batch_size: int = 64  # images per optimizer step (Keras' batch_size)
    optimizer: str = "adam"  # "adam", "adamw" (decoupled decay) or "sgd" (Nesterov momentum)
    lr: float = 1e-3  # peak learning rate
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's beta_1, beta_2 (Keras defaults)
    eps: float = 1e-7  # Adam's epsilon (Keras default; PyTorch's is 1e-8)
    momentum: float = 0.9  # SGD momentum
    weight_decay: float = 0.0  # L2 added to the gradient (SGD, Adam); AdamW: decoupled decay
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
    channels_last: bool = False  # NHWC memory format for model and batches
    fused_optimizer: bool = False  # PyTorch's fused Adam/SGD kernel (same update rule, one pass)
    eval_batch_size: int = 250  # images per evaluation forward pass: small enough that the
    #                             buffers of one batch stay under glibc's mmap threshold
    #                             (bench/cifar10_bench.py --eval-batches measures the faults)
    seed: int = 0  # seeds shuffling, augmentation and dropout

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "adamw", "sgd"):
            raise TrainingError(f"optimizer={self.optimizer!r}: use 'adam', 'adamw' or 'sgd'")
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

    def _optim_fields(self) -> dict[str, Any]:
        return dict(optimizer=self.optimizer, lr=self.lr, betas=self.betas, eps=self.eps,
                    momentum=self.momentum, nesterov=True, weight_decay=self.weight_decay,
                    schedule=self.schedule, warmup_fraction=self.warmup_fraction,
                    fused=self.fused_optimizer)

    def optim(self) -> OptimConfig:
        """The optimiser part, for :func:`bmlib.train.loop.fit`."""
        return OptimConfig(**self._optim_fields())

    def loop(self) -> LoopConfig:
        """The loop part, for :func:`bmlib.train.loop.fit`."""
        return LoopConfig(epochs=self.epochs, loss="cross_entropy",
                          label_smoothing=self.label_smoothing, seed=self.seed,
                          track_accuracy=True)


# Settings that only change how a trained model is evaluated, never its weights.
EVAL_ONLY_FIELDS = frozenset({"tta_flip", "tta_shift", "eval_batch_size"})


def training_identity(config: TrainConfig | dict[str, Any],
                      precision: torch.dtype | None = None) -> dict[str, Any]:
    """The fields that determine the trained weights: the config's (evaluation-only ones
    dropped) and the autocast precision the run trains in (``autocast``: bf16 or not).

    Checkpoints are matched on this, so a model can be re-evaluated with another test-time
    augmentation without retraining, and a bf16 run never resumes a float32 one.
    """
    if isinstance(config, TrainConfig):
        fields = {**asdict(config), "autocast": precision is not None}
    else:
        fields = dict(config)
        fields.setdefault("autocast", False)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in fields.items()
            if k not in EVAL_ONLY_FIELDS}


@dataclass
class TrainResult:
    """A finished (or resumed and finished) training run."""

    model: nn.Module
    history: list[EpochRecord] = field(default_factory=list)
    config: TrainConfig = field(default_factory=TrainConfig)
    resumed_from_epoch: int = 0  # epochs already done in the checkpoint we resumed from
    precision: torch.dtype | None = None  # the autocast dtype it trained in (None: float32)
    best_epoch: int = 0  # the epoch whose weights the model holds (keep_best), else the last


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
    """Random ``size`` x ``size`` crop (default: the image's own size) after reflect padding
    (:func:`random_crop`), then random horizontal flip, all on x's device."""
    out = random_crop(x, padding, generator, size)
    flip = torch.rand(x.shape[0], device=x.device, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(3), out)


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator,
                size: int | None = None) -> torch.Tensor:
    """A random ``size`` x ``size`` crop of each image (default: the image's own size, which
    with ``padding`` > 0 translates each image by up to ``padding`` pixels) after reflect
    padding, gathered in one indexing operation on x's device."""
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
    return padded[batch_index, channel_index, rows, cols]


def predict_logits(model: nn.Module, images_u8: torch.Tensor, config: TrainConfig,
                   precision: torch.dtype | None = None) -> torch.Tensor:
    """Float32 logits for uint8 images, in eval mode, in batches of ``eval_batch_size``,
    with ``config``'s test-time augmentation; ``precision`` as the model trained."""
    was_training = model.training
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, images_u8.shape[0], config.eval_batch_size):
            x = prepare_batch(images_u8[start:start + config.eval_batch_size], config)
            with torch.autocast(x.device.type, dtype=precision or torch.float32,
                                enabled=precision is not None):
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
             config: TrainConfig, precision: torch.dtype | None = None) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` on the given uint8 images."""
    logits = predict_logits(model, images_u8, config, precision)
    loss = F.cross_entropy(logits, labels).item()
    accuracy = (logits.argmax(1) == labels).float().mean().item()
    return loss, accuracy


def train(model: nn.Module, train_images: torch.Tensor, train_labels: torch.Tensor,
          config: TrainConfig, *, precision: torch.dtype | None = None,
          val_images: torch.Tensor | None = None, val_labels: torch.Tensor | None = None,
          checkpoint_path: str | Path | None = None, resume: bool = True,
          show_progress: bool = True, desc: str = "train",
          on_epoch_end: Callable[[EpochRecord], None] | None = None,
          retain_memory: bool = True, keep_best: bool = False) -> TrainResult:
    """Train ``model`` in place on device-resident uint8 data with :func:`fit`.

    ``precision`` is the autocast dtype decided once by the device layer
    (``DeviceChoice.autocast_dtype``; ``None``: float32). Checkpoints and resume as in
    :func:`fit`. On CPU, ``retain_memory`` first calls
    :func:`bmlib.core.allocator.retain_freed_memory`, a process-wide glibc setting that lets
    each step reuse the last step's freed buffers instead of page-faulting fresh ones (pass
    False to measure without it). The per-epoch validation leaves out ``tta_shift``'s
    shifted views (they triple its cost); evaluate the final model with
    ``evaluate``/``predict_logits`` for the full test-time augmentation. ``keep_best`` ends
    with the weights of the epoch of lowest validation loss (early stopping; needs validation
    data and no checkpoint, whose resume would not know the best epoch's weights).
    """
    if keep_best and (val_images is None or checkpoint_path is not None):
        raise TrainingError("keep_best needs validation images and no checkpoint_path")
    epoch_eval = replace(config, tta_shift=0)
    device = train_images.device
    if device.type == "cpu" and retain_memory:
        retain_freed_memory()  # reuse each step's freed buffers: no page faults per step
    if next(model.parameters()).device != device:
        raise TrainingError(f"model is on {next(model.parameters()).device} but the data on "
                            f"{device}: move both with .to(device)")
    if config.channels_last:
        model.to(memory_format=torch.channels_last)

    def prepare(x: torch.Tensor, epoch: int, generator: torch.Generator | None) -> torch.Tensor:
        low_res = config.low_res_size if epoch < config.low_res_epochs else None
        return prepare_batch(x, config, generator, low_res)

    validate = None
    if val_images is not None and val_labels is not None and val_images.shape[0] > 0:
        def validate(m: nn.Module) -> tuple[float, float]:
            return evaluate(m, val_images, val_labels, epoch_eval, precision)

    batches = TensorBatches(train_images, train_labels, config.batch_size, shuffle=True,
                            prepare=prepare)
    result = fit(model, batches, config.optim(), replace(config.loop(), keep_best=keep_best),
                 device=device,
                 precision=precision, validate=validate, checkpoint_path=checkpoint_path,
                 identity=training_identity(config, precision), identity_of=training_identity,
                 resume=resume,
                 on_epoch_end=on_epoch_end, show_progress=show_progress, desc=desc)
    return TrainResult(model=model, history=result.history, config=config,
                       resumed_from_epoch=result.resumed_from_epoch, precision=precision,
                       best_epoch=result.best_epoch if keep_best else len(result.history))
