"""A width-scalable small CNN for CIFAR-10 and a short, deterministic CPU training loop.

Used by the outlook chapter's measurements (scaling sweep, saliency, fairness, membership
inference), where many small models must train in seconds on two CPU cores. Model and
training code only: no I/O. Inputs are uint8 images ``(N, 3, 32, 32)``; pixels are scaled
to [0, 1] and standardised per channel inside :func:`to_float`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

PIXEL_MEAN = (0.4914, 0.4822, 0.4465)  # CIFAR-10 training-set channel means, pixels in [0, 1]
PIXEL_STD = (0.2470, 0.2435, 0.2616)  # CIFAR-10 training-set channel standard deviations


class SmallCNNError(ValueError):
    """Bad model or training input."""


@dataclass(frozen=True)
class SmallCNNConfig:
    """Three 3x3 conv layers of width w, 2w, 4w, global average pool, linear head."""

    width: int = 16  # channels of the first convolution (the scaling knob)
    num_classes: int = 10  # CIFAR-10 classes
    dropout: float = 0.0  # dropout before the linear head (a regulariser), probability
    head: str = "mean"  # "mean": global average pool; "flatten": all 8x8 positions (memorises)
    image_size: int = 32  # input height = width, pixels (used by "flatten")

    def __post_init__(self) -> None:
        if self.head not in ("mean", "flatten"):
            raise SmallCNNError(f"head={self.head!r}: use 'mean' or 'flatten'")
        if isinstance(self.width, bool) or not isinstance(self.width, int) or self.width < 1:
            raise SmallCNNError(f"width={self.width!r}: use a positive int such as 8")
        if not 0.0 <= self.dropout < 1.0:
            raise SmallCNNError(f"dropout={self.dropout!r}: use 0 <= dropout < 1")


class SmallCNN(nn.Module):
    """conv(w)-ReLU-pool, conv(2w)-ReLU-pool, conv(4w)-ReLU, pool or flatten, dropout, linear.

    The "flatten" head gives every spatial position its own weights: many more parameters
    in the head and a model that memorises its training set readily (used to study
    over-fitting); "mean" is the compact default used for scaling.
    """

    def __init__(self, config: SmallCNNConfig = SmallCNNConfig()) -> None:
        super().__init__()
        w = config.width
        self.config = config
        self.features = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.ReLU(),
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(_head_inputs(config), config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.features(x)
        pooled = features.flatten(1) if self.config.head == "flatten" else features.mean(dim=(2, 3))
        return self.head(self.dropout(pooled))


def _head_inputs(config: SmallCNNConfig) -> int:
    """Inputs of the linear head: 4w channels, times the 8x8 positions when flattened."""
    positions = (config.image_size // 4) ** 2 if config.head == "flatten" else 1
    return 4 * config.width * positions


def small_cnn_parameter_count(config: SmallCNNConfig) -> int:
    """Trainable parameters by formula: 3x3 kernels plus biases, then the linear head."""
    w = config.width
    convs = (27 * w + w) + (9 * w * 2 * w + 2 * w) + (9 * 2 * w * 4 * w + 4 * w)
    return convs + _head_inputs(config) * config.num_classes + config.num_classes


def small_cnn_forward_flops(config: SmallCNNConfig) -> int:
    """Forward FLOPs per image (2 per multiply-add; convolutions and the head only).

    Counts what PyTorch's FLOP counter counts; training costs about 3x this per image
    (forward + two backward products).
    """
    w, s = config.width, config.image_size
    conv1 = 2 * s * s * w * 27
    conv2 = 2 * (s // 2) ** 2 * 2 * w * 9 * w
    conv3 = 2 * (s // 4) ** 2 * 4 * w * 9 * 2 * w
    return conv1 + conv2 + conv3 + 2 * _head_inputs(config) * config.num_classes


def to_float(images_u8: torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, 3, H, W)`` -> float32, scaled to [0, 1] and standardised per channel."""
    if images_u8.dtype != torch.uint8 or images_u8.ndim != 4 or images_u8.shape[1] != 3:
        raise SmallCNNError(f"images must be uint8 (N, 3, H, W); got {images_u8.dtype} "
                            f"{tuple(images_u8.shape)}")
    mean = torch.tensor(PIXEL_MEAN, device=images_u8.device).view(1, 3, 1, 1)
    std = torch.tensor(PIXEL_STD, device=images_u8.device).view(1, 3, 1, 1)
    return (images_u8.float() / 255.0 - mean) / std


@dataclass(frozen=True)
class FitConfig:
    """How :func:`fit` trains (Adam, constant learning rate, optional flip augmentation)."""

    epochs: int = 10  # passes over the training images
    batch_size: int = 64  # images per optimizer step
    lr: float = 2e-3  # Adam learning rate
    weight_decay: float = 0.0  # decoupled weight decay (AdamW), per step x lr
    augment: bool = False  # random horizontal flips (a regulariser)
    seed: int = 0  # seeds initialisation, shuffling, dropout and flips

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise SmallCNNError(f"epochs={self.epochs}, batch_size={self.batch_size}: "
                                "both must be >= 1")
        if not self.lr > 0 or self.weight_decay < 0:
            raise SmallCNNError(f"lr={self.lr}, weight_decay={self.weight_decay}: "
                                "need lr > 0 and weight_decay >= 0")


@dataclass
class FitResult:
    """A trained model and the per-epoch evaluation history."""

    model: SmallCNN
    train_loss: list[float] = field(default_factory=list)  # mean training loss per epoch
    eval_loss: list[float] = field(default_factory=list)  # loss on the eval set after each epoch
    eval_accuracy: list[float] = field(default_factory=list)  # accuracy after each epoch
    steps: int = 0  # optimizer steps taken
    best_epoch: int = 0  # 1-based epoch whose weights the model holds (keep_best), else last


def per_example_losses(model: nn.Module, images_u8: torch.Tensor, labels: torch.Tensor,
                       batch_size: int = 500) -> torch.Tensor:
    """Cross-entropy of each example (eval mode, no gradients), float32 ``(N,)`` on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for start in range(0, images_u8.shape[0], batch_size):
            logits = model(to_float(images_u8[start:start + batch_size].to(device)))
            out.append(F.cross_entropy(logits, labels[start:start + batch_size].to(device),
                                       reduction="none").cpu())
    return torch.cat(out)


def predict(model: nn.Module, images_u8: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Predicted class of each image (eval mode), int64 ``(N,)`` on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        return torch.cat([model(to_float(images_u8[s:s + batch_size].to(device))).argmax(1).cpu()
                          for s in range(0, images_u8.shape[0], batch_size)])


def fit(model_config: SmallCNNConfig, train_images: np.ndarray | torch.Tensor,
        train_labels: np.ndarray | torch.Tensor, config: FitConfig, *,
        eval_images: np.ndarray | torch.Tensor | None = None,
        eval_labels: np.ndarray | torch.Tensor | None = None, keep_best: bool = False,
        device: str | torch.device = "cpu") -> FitResult:
    """Build a :class:`SmallCNN` seeded by ``config.seed`` and train it on ``device``.

    After every epoch the model is evaluated on ``eval_images`` when given; with
    ``keep_best`` the weights of the epoch with the lowest evaluation loss are restored at
    the end (early stopping). Same seed, data, device and thread count give the same
    weights bit for bit on CPU.
    """
    device = torch.device(device)
    images = torch.as_tensor(train_images).to(device)
    labels = torch.as_tensor(train_labels).long().to(device)
    if images.shape[0] == 0 or labels.shape != (images.shape[0],):
        raise SmallCNNError(f"need N >= 1 images and N labels; got images "
                            f"{tuple(images.shape)} and labels {tuple(labels.shape)}")
    torch.manual_seed(config.seed)
    model = SmallCNN(model_config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    result = FitResult(model=model)
    n = images.shape[0]
    best_state: dict[str, torch.Tensor] | None = None
    steps_per_epoch = math.ceil(n / config.batch_size)
    for _ in range(config.epochs):
        model.train()
        order = torch.randperm(n, generator=generator).to(device)
        loss_sum = 0.0
        for index in range(steps_per_epoch):
            batch = order[index * config.batch_size:(index + 1) * config.batch_size]
            x = to_float(images[batch])
            if config.augment:
                flip = (torch.rand(x.shape[0], generator=generator) < 0.5).to(device)
                x = torch.where(flip[:, None, None, None], x.flip(3), x)
            loss = F.cross_entropy(model(x), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * batch.shape[0]
            result.steps += 1
        result.train_loss.append(loss_sum / n)
        if eval_images is not None and eval_labels is not None:
            ev_x, ev_y = torch.as_tensor(eval_images), torch.as_tensor(eval_labels).long()
            losses = per_example_losses(model, ev_x, ev_y)
            result.eval_loss.append(losses.mean().item())
            result.eval_accuracy.append((predict(model, ev_x) == ev_y).float().mean().item())
            if keep_best and result.eval_loss[-1] <= min(result.eval_loss):
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                result.best_epoch = len(result.eval_loss)
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        result.best_epoch = config.epochs
    model.eval()
    return result


def stratified_subset(labels: np.ndarray, size: int, seed: int,
                      num_classes: int = 10) -> np.ndarray:
    """Sorted indices of ``size`` examples, as equal a share of every class as possible."""
    labels = np.asarray(labels)
    if size < num_classes or size > labels.shape[0]:
        raise SmallCNNError(f"subset size {size}: use {num_classes} <= size <= {labels.shape[0]}")
    rng = np.random.default_rng(seed)
    per_class = [size // num_classes + (1 if c < size % num_classes else 0)
                 for c in range(num_classes)]
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in enumerate(per_class)]
    return np.sort(np.concatenate(chosen))
