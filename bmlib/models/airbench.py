"""An airbench-style CIFAR-10 network: a frozen patch-whitening first layer, then three
conv-pool-BN-GELU groups, after Keller Jordan's airbench94 (arXiv:2404.00498).

Model code only: the whitening weights are computed from data the caller passes in
(:func:`patch_whitening_weights`), so nothing here reads files or keeps global state.

What is the same as airbench94: the 2 x 2 whitening convolution whose 24 filters are the
patch covariance's eigenvectors scaled by ``1/sqrt(eigenvalue + eps)`` and their negatives,
frozen; groups of conv(3x3) - max-pool(2) - BN - GELU - conv(3x3) - BN - GELU with widths
64 / 256 / 256; batch norm with frozen unit scale and a shift that learns 64 times faster
(:class:`ShiftedBatchNorm`), momentum 0.6 in airbench's convention (PyTorch's 0.4);
identity (Dirac) initialisation of each convolution's first filters; a final 3 x 3 max-pool and a bias-free linear head scaled by 1/9. What the book's training
loop does differently (no Lookahead, the whitening bias never frozen) is listed where the
recipe is defined (:mod:`bmlib.train.airbench_recipe`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class AirbenchConfig:
    """Shape of the network; the defaults are airbench94's."""

    widths: tuple[int, int, int] = (64, 256, 256)  # channels of the three groups
    whiten_kernel: int = 2  # side of the whitening patches, pixels
    whiten_eps: float = 5e-4  # added to each eigenvalue before the inverse square root
    bn_momentum: float = 0.6  # airbench's convention: running = 0.6 running + 0.4 batch
    bn_eps: float = 1e-12
    scale_logits: float = 1 / 9  # the head's output multiplier
    num_classes: int = 10
    whiten_frozen: bool = True  # False (an ablation): an ordinary learned 2 x 2 conv instead
    bias_lr_scale: float = 64.0  # batch-norm shifts learn this many times faster (airbench's
    #                              bias_scaler), by parameterising each as sqrt(scale) * b

    def __post_init__(self) -> None:
        if (min(self.widths) < 1 or self.whiten_kernel < 1 or not 0 <= self.bn_momentum < 1
                or not self.bias_lr_scale > 0):
            raise ValueError(f"invalid AirbenchConfig: {self}")

    @property
    def whiten_width(self) -> int:
        """Filters of the whitening layer: 2 x 3 x k x k (each eigenvector and its negative)."""
        return 2 * 3 * self.whiten_kernel ** 2


def image_patches(images: torch.Tensor, kernel: int) -> torch.Tensor:
    """All ``kernel`` x ``kernel`` patches of float images ``(N, C, H, W)``, stride 1, as rows
    ``(N * (H-k+1) * (W-k+1), C * k * k)`` in the (channel, row, column) order of a conv
    weight."""
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W); got shape {tuple(images.shape)}")
    n, c, h, w = images.shape
    if kernel > min(h, w):
        raise ValueError(f"kernel {kernel} is larger than the {h} x {w} images")
    patches = images.unfold(2, kernel, 1).unfold(3, kernel, 1)  # N, C, H', W', k, k
    return patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * kernel * kernel)


def patch_whitening_weights(images: torch.Tensor, kernel: int = 2,
                            eps: float = 5e-4) -> torch.Tensor:
    """Conv weights ``(2 C k k, C, k, k)`` that whiten ``kernel``-sized patches of ``images``.

    With ``S = P^T P / rows`` the (uncentred, as in airbench) second-moment matrix of the
    patches ``P`` and ``S = V diag(l) V^T``, the first half of the filters are the rows of
    ``diag(1/sqrt(l + eps)) V^T`` (largest eigenvalue first), the second half their negatives,
    so that a ReLU-like activation after them keeps both signs. Applied to the patches, the
    first half gives outputs with second moments ``diag(l / (l + eps))``: nearly the identity.
    Computed in float64, returned in ``images``' dtype.
    """
    patches = image_patches(images, kernel).double()
    second_moment = patches.T @ patches / patches.shape[0]
    eigenvalues, eigenvectors = torch.linalg.eigh(second_moment)  # ascending
    eigenvalues, eigenvectors = eigenvalues.flip(0), eigenvectors.flip(1)
    filters = (eigenvectors.T / torch.sqrt(eigenvalues.clamp(min=0) + eps)[:, None])
    c = images.shape[1]
    filters = filters.reshape(-1, c, kernel, kernel)
    return torch.cat([filters, -filters]).to(images.dtype)


class ShiftedBatchNorm(nn.BatchNorm2d):
    """Batch norm with a fixed unit scale and a learned shift ``sqrt(lr_scale) * b``.

    Writing the shift as a constant times the parameter ``b`` multiplies its gradient by
    that constant and each SGD step's change of the shift by its square, so the shift moves
    ``lr_scale`` times as fast as with the plain parameter: airbench94's larger learning
    rate for the batch-norm biases, without a parameter group. Weight decay on ``b`` shrinks
    the shift by the same fraction per step as any other weight, as in airbench94.
    """

    def __init__(self, width: int, config: AirbenchConfig) -> None:
        super().__init__(width, eps=config.bn_eps, momentum=1 - config.bn_momentum,
                         affine=False)
        self.root_scale = math.sqrt(config.bias_lr_scale)
        self.shift = nn.Parameter(torch.zeros(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = self.training or not self.track_running_stats
        return F.batch_norm(x, self.running_mean, self.running_var, None,
                            self.root_scale * self.shift, update, self.momentum, self.eps)


class ConvGroup(nn.Module):
    """conv 3x3 - max-pool 2 - BN - GELU - conv 3x3 - BN - GELU (no residual)."""

    def __init__(self, c_in: int, c_out: int, config: AirbenchConfig) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = ShiftedBatchNorm(c_out, config)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.norm2 = ShiftedBatchNorm(c_out, config)
        self.act = nn.GELU()
        for conv in (self.conv1, self.conv2):
            weight = conv.weight.data
            nn.init.dirac_(weight[:weight.shape[1]])  # the first c_in filters pass x through

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.norm1(self.pool(self.conv1(x))))
        return self.act(self.norm2(self.conv2(x)))


class Airbench(nn.Module):
    """Whitening conv (frozen weights, learned bias) - GELU - three ConvGroups - 3x3 max-pool -
    linear head. Call :meth:`init_whitening` with training images before training."""

    def __init__(self, config: AirbenchConfig = AirbenchConfig()) -> None:
        super().__init__()
        self.config = config
        k = config.whiten_kernel
        self.whiten = nn.Conv2d(3, config.whiten_width, k, padding=0, bias=True)
        self.whiten.weight.requires_grad_(not config.whiten_frozen)
        w1, w2, w3 = config.widths
        self.groups = nn.Sequential(ConvGroup(config.whiten_width, w1, config),
                                    ConvGroup(w1, w2, config), ConvGroup(w2, w3, config))
        self.pool = nn.MaxPool2d(3)
        self.head = nn.Linear(w3, config.num_classes, bias=False)
        self.act = nn.GELU()

    @torch.no_grad()
    def init_whitening(self, images: torch.Tensor) -> None:
        """Set the whitening filters from float training images, scaled as the model will
        see them (a few thousand images are plenty). A model whose config has
        ``whiten_frozen=False`` keeps its default (random) initialisation instead."""
        if not self.config.whiten_frozen:
            return
        weights = patch_whitening_weights(images.float(), self.config.whiten_kernel,
                                          self.config.whiten_eps)
        self.whiten.weight.copy_(weights.to(self.whiten.weight.device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.groups(self.act(self.whiten(x)))
        return self.head(self.pool(x).flatten(1)) * self.config.scale_logits
