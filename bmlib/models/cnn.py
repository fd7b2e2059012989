"""CIFAR-10 networks: the essay's Keras CNN, ported faithfully, and an improved residual net.

Model code only: no I/O, no global settings. Inputs are float tensors of shape
``(N, 3, 32, 32)``; how pixels are scaled is the training loop's business
(:mod:`bmlib.train.loop`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class SeedCNNConfig:
    """The essay's network (§5.2.2), in Keras' terms."""

    conv1_filters: int = 32  # Conv2D(32, (3, 3)), padding 'valid'
    conv2_filters: int = 64  # Conv2D(64, (3, 3)), padding 'valid'
    hidden_units: int = 128  # Dense(128, activation='relu')
    dropout: float = 0.5  # Dropout(0.5), active in training only
    num_classes: int = 10  # Dense(10, activation='softmax'); softmax lives in the loss
    image_size: int = 32  # input height = width, pixels
    in_channels: int = 3  # RGB
    pool_before_relu: bool = True  # compute ReLU after max-pooling: same numbers, 4x less work


def _glorot_zero_(module: nn.Module) -> None:
    """Keras' defaults: Glorot-uniform kernels, zero biases."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


class SeedCNN(nn.Module):
    """Conv(32,3x3)-ReLU-MaxPool-Conv(64,3x3)-ReLU-MaxPool-Flatten-Dense(128)-ReLU-Dropout-Dense(10).

    Returns logits; Keras' final softmax plus categorical cross-entropy equals PyTorch's
    ``cross_entropy`` on logits. Flatten runs over (C, H, W) here and (H, W, C) in Keras:
    a fixed permutation of the dense layer's inputs, so it changes no accuracy.

    With ``pool_before_relu`` (the default) each convolution block runs as
    MaxPool-then-ReLU instead of ReLU-then-MaxPool. ReLU is monotone, so
    ``max(relu(a), relu(b), ...) == relu(max(a, b, ...))`` exactly in floating point, and the
    gradients agree too (a tie in the pooling window is broken by the same first index, and a
    non-positive maximum gets gradient zero either way); ReLU and its backward pass then touch
    a quarter of the elements. ``tests/test_cnn_models.py`` checks both orders give bitwise
    equal outputs and gradients.
    """

    def __init__(self, config: SeedCNNConfig = SeedCNNConfig()) -> None:
        super().__init__()
        c = config
        side = ((c.image_size - 2) // 2 - 2) // 2  # 32 -> 30 -> 15 -> 13 -> 6
        self.config = c
        self.features = nn.Sequential(
            nn.Conv2d(c.in_channels, c.conv1_filters, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c.conv1_filters, c.conv2_filters, 3), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c.conv2_filters * side * side, c.hidden_units), nn.ReLU(),
            nn.Dropout(c.dropout),
            nn.Linear(c.hidden_units, c.num_classes),
        )
        self.apply(_glorot_zero_)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.config.pool_before_relu:
            return self.classifier(self.features(x))
        conv1, relu1, pool1, conv2, relu2, pool2 = self.features
        x = relu1(pool1(conv1(x)))
        x = relu2(pool2(conv2(x)))
        return self.classifier(x)


def seed_cnn_parameter_count(config: SeedCNNConfig = SeedCNNConfig()) -> int:
    """Trainable parameters of :class:`SeedCNN`, by formula (315,722 for the essay's model).

    A k x k convolution from C_in to C_out channels has k*k*C_in*C_out weights and C_out
    biases; a dense layer from n to m units has n*m + m.
    """
    c = config
    side = ((c.image_size - 2) // 2 - 2) // 2
    conv1 = 9 * c.in_channels * c.conv1_filters + c.conv1_filters
    conv2 = 9 * c.conv1_filters * c.conv2_filters + c.conv2_filters
    dense1 = c.conv2_filters * side * side * c.hidden_units + c.hidden_units
    dense2 = c.hidden_units * c.num_classes + c.num_classes
    return conv1 + conv2 + dense1 + dense2


def seed_cnn_flops(config: SeedCNNConfig = SeedCNNConfig()) -> int:
    """Forward FLOPs per image of :class:`SeedCNN` (2 per multiply-add; convs and dense only).

    Bias adds, ReLU, pooling and dropout are omitted, as PyTorch's FLOP counter does.
    """
    c = config
    out1 = c.image_size - 2
    side1 = out1 // 2
    out2 = side1 - 2
    side2 = out2 // 2
    conv1 = 2 * out1 * out1 * c.conv1_filters * 9 * c.in_channels
    conv2 = 2 * out2 * out2 * c.conv2_filters * 9 * c.conv1_filters
    dense1 = 2 * c.conv2_filters * side2 * side2 * c.hidden_units
    dense2 = 2 * c.hidden_units * c.num_classes
    return conv1 + conv2 + dense1 + dense2


@dataclass(frozen=True)
class ResNetConfig:
    """A small residual net in the style of fast CIFAR-10 training recipes (ResNet-9-like)."""

    widths: tuple[int, int, int] = (64, 128, 256)  # channels of the three stages
    stem_width: int = 32  # channels of the first 3x3 convolution
    num_classes: int = 10
    scale_logits: float = 0.125  # logits multiplied by this (tames early-training confidence)


def _conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class _Stage(nn.Module):
    """conv-BN-ReLU, 2x2 max-pool, then a residual pair of conv-BN-ReLU."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.down = nn.Sequential(_conv_bn(c_in, c_out), nn.MaxPool2d(2))
        self.res = nn.Sequential(_conv_bn(c_out, c_out), _conv_bn(c_out, c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(x)
        return x + self.res(x)


class ResNetSmall(nn.Module):
    """Stem conv, three downsampling stages with residual pairs, global max-pool, linear."""

    def __init__(self, config: ResNetConfig = ResNetConfig()) -> None:
        super().__init__()
        c = config
        self.config = c
        w1, w2, w3 = c.widths
        self.stem = _conv_bn(3, c.stem_width)
        self.stages = nn.Sequential(_Stage(c.stem_width, w1), _Stage(w1, w2), _Stage(w2, w3))
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.head = nn.Linear(w3, c.num_classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.stages(self.stem(x))).flatten(1)
        return self.head(x) * self.config.scale_logits


def parameter_count(model: nn.Module) -> int:
    """Trainable parameters of any model, from ``numel()``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def measured_flops(model: nn.Module, image_size: int = 32) -> int:
    """Forward FLOPs per image as counted by PyTorch's FLOP counter (one 3x32x32 input)."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.zeros(1, 3, image_size, image_size, device=device))
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def layer_summary(model: nn.Module, image_size: int = 32) -> list[tuple[str, str, tuple[int, ...], int]]:
    """Keras-style summary rows (name, layer type, output shape without batch, parameters)
    for every leaf module, from one forward pass of a zero image."""
    rows: list[tuple[str, str, tuple[int, ...], int]] = []
    hooks = []
    for name, module in model.named_modules():
        if len(list(module.children())) == 0:
            def hook(mod: nn.Module, _inputs: object, output: torch.Tensor,
                     name: str = name) -> None:
                rows.append((name, type(mod).__name__, tuple(output.shape[1:]),
                             sum(p.numel() for p in mod.parameters(recurse=False))))
            hooks.append(module.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros(1, 3, image_size, image_size, device=device))
    finally:
        for handle in hooks:
            handle.remove()
        model.train(was_training)
    return rows
