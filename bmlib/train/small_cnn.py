"""Training and evaluating the width-scalable small CNN of the outlook chapter.

The outlook's scaling sweep, membership-inference models and fairness rows train many small
:class:`~bmlib.models.small_cnn.SmallCNN` models in seconds each on a CPU core. They go
through the same image pipeline and loop as the CIFAR-10 chapter's recipes
(:func:`bmlib.train.images.train`, :func:`bmlib.train.loop.fit`): uint8 data on the device,
per-channel standardisation, AdamW with a constant learning rate, optional horizontal
flips, and early stopping on a validation set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bmlib.models.small_cnn import SmallCNN, SmallCNNConfig
from bmlib.train.config import TrainingError
from bmlib.train.images import TrainConfig, prepare_batch, to_device_uint8, train
from bmlib.train.loop import EpochRecord


@dataclass(frozen=True)
class FitConfig:
    """How a small CNN trains: AdamW, constant learning rate, optional flip augmentation."""

    epochs: int = 10  # passes over the training images
    batch_size: int = 64  # images per optimizer step
    lr: float = 2e-3  # AdamW learning rate
    weight_decay: float = 0.0  # decoupled weight decay (AdamW), per step x lr
    augment: bool = False  # random horizontal flips (a regulariser)
    seed: int = 0  # seeds initialisation, shuffling, dropout and flips

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise TrainingError(f"epochs={self.epochs}, batch_size={self.batch_size}: "
                                "both must be >= 1")
        if not self.lr > 0 or self.weight_decay < 0:
            raise TrainingError(f"lr={self.lr}, weight_decay={self.weight_decay}: "
                                "need lr > 0 and weight_decay >= 0")

    def train_config(self) -> TrainConfig:
        """The image pipeline's config: standardised pixels; "augment" is a flip only (a
        random crop of the unpadded image at its own size is the image itself)."""
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, optimizer="adamw",
                           lr=self.lr, eps=1e-8, weight_decay=self.weight_decay,
                           normalize="standardize", augment=self.augment, crop_padding=0,
                           eval_batch_size=500, seed=self.seed)


@dataclass
class SmallCNNRun:
    """A trained small CNN and its per-epoch history."""

    model: SmallCNN  # eval mode
    history: list[EpochRecord]
    best_epoch: int  # 1-based epoch whose weights the model holds (keep_best), else last

    @property
    def train_loss(self) -> list[float]:
        return [h.train_loss for h in self.history]

    @property
    def eval_loss(self) -> list[float]:
        """Validation loss after each epoch (empty without validation data)."""
        return [h.val_loss for h in self.history if h.val_loss is not None]

    @property
    def eval_accuracy(self) -> list[float]:
        return [h.val_accuracy for h in self.history if h.val_accuracy is not None]


def train_small_cnn(model_config: SmallCNNConfig, train_images: np.ndarray | torch.Tensor,
                    train_labels: np.ndarray | torch.Tensor, config: FitConfig, *,
                    eval_images: np.ndarray | torch.Tensor | None = None,
                    eval_labels: np.ndarray | torch.Tensor | None = None,
                    keep_best: bool = False,
                    device: str | torch.device = "cpu") -> SmallCNNRun:
    """Build a :class:`SmallCNN` seeded by ``config.seed`` and train it on ``device``.

    After every epoch the model is evaluated on ``eval_images`` when given; with
    ``keep_best`` the weights of the epoch with the lowest evaluation loss are restored at
    the end. Same seed, data, device and thread count give the same weights bit for bit on
    CPU.
    """
    device = torch.device(device)
    images, labels = to_device_uint8(train_images, train_labels, device)
    if images.shape[0] == 0:
        raise TrainingError("no training images: pass at least one")
    val = None
    if eval_images is not None and eval_labels is not None:
        val = to_device_uint8(eval_images, eval_labels, device)
    torch.manual_seed(config.seed)
    model = SmallCNN(model_config).to(device)
    result = train(model, images, labels, config.train_config(),
                   val_images=None if val is None else val[0],
                   val_labels=None if val is None else val[1],
                   show_progress=False, keep_best=keep_best)
    return SmallCNNRun(model.eval(), result.history, result.best_epoch)


def _batches(model: nn.Module, images_u8: torch.Tensor, batch_size: int):
    device = next(model.parameters()).device
    config = FitConfig().train_config()
    for start in range(0, images_u8.shape[0], batch_size):
        yield start, prepare_batch(torch.as_tensor(images_u8[start:start + batch_size])
                                   .to(device), config)


def per_example_losses(model: nn.Module, images_u8: torch.Tensor, labels: torch.Tensor,
                       batch_size: int = 500) -> torch.Tensor:
    """Cross-entropy of each example (eval mode, no gradients), float32 ``(N,)`` on the CPU."""
    model.eval()
    labels = torch.as_tensor(labels).long()
    out = []
    with torch.no_grad():
        for start, x in _batches(model, images_u8, batch_size):
            y = labels[start:start + batch_size].to(x.device)
            out.append(F.cross_entropy(model(x), y, reduction="none").cpu())
    return torch.cat(out)


def predict_classes(model: nn.Module, images_u8: torch.Tensor,
                    batch_size: int = 500) -> torch.Tensor:
    """Predicted class of each image (eval mode), int64 ``(N,)`` on the CPU."""
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x).argmax(1).cpu()
                          for _, x in _batches(model, images_u8, batch_size)])
