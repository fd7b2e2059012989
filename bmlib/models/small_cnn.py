"""A width-scalable small CNN for CIFAR-10, with its parameter and FLOP counts by formula.

Used by the outlook chapter's measurements (scaling sweep, fairness, membership inference),
where many small models must train in seconds on two CPU cores; they train through
:mod:`bmlib.train.small_cnn`. Network definitions only: no I/O, no training. Inputs are
standardised float images ``(N, 3, 32, 32)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


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
