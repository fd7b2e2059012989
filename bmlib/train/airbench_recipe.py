"""The airbench-style recipe for CIFAR-10, on the book's one training loop, and its design split.

A first CPU port of airbench94's ingredients (see :mod:`bmlib.models.airbench`) that
:func:`bmlib.train.images.train` already has: SGD with Nesterov momentum on a triangular
(one-cycle) schedule, label smoothing 0.2, random 2-pixel reflect translation and flips,
channels-last, and six-view test-time augmentation (image, mirror, one-pixel shifts).
Not yet ported, so not claimed: alternating (rather than random) flips, Lookahead weight
averaging, a separate learning rate for the batch-norm and whitening biases, and freezing
the whitening bias after three epochs. Those need the loop's optimiser to take parameter
groups, which is a change to :mod:`bmlib.train.config` that restales every chapter.

Design decisions are made on :func:`design_split` (the last 5,000 training images held out
as validation); the test set is for a final model, once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from bmlib.models.airbench import Airbench, AirbenchConfig
from bmlib.train.images import TrainConfig, prepare_batch

DESIGN_VALIDATION = 5_000  # images at the end of the training files held out for design
WHITEN_IMAGES = 5_000  # training images the whitening filters are estimated from


@dataclass(frozen=True)
class AirbenchRecipe:
    """A network shape and how to train it."""

    model_config: AirbenchConfig
    train_config: TrainConfig

    def build_model(self, train_images_u8: torch.Tensor) -> Airbench:
        """A fresh model (seed the global generator first) whose whitening layer is set from
        the first :data:`WHITEN_IMAGES` training images, scaled as training scales them."""
        model = Airbench(self.model_config).to(train_images_u8.device)
        plain = replace(self.train_config, channels_last=False, augment=False)
        model.init_whitening(prepare_batch(train_images_u8[:WHITEN_IMAGES], plain))
        return model


def airbench_recipe(seed: int, epochs: int = 10, width_scale: float = 1.0,
                    batch_size: int = 512, lr: float = 0.4) -> AirbenchRecipe:
    """airbench94's network at ``width_scale`` times its widths (64/256/256), trained for
    ``epochs`` with the loop's SGD-Nesterov one-cycle schedule. ``lr`` is the peak learning
    rate for the mean loss over a batch of ``batch_size``."""
    if width_scale <= 0:
        raise ValueError(f"width_scale={width_scale}: use a positive factor")
    widths = tuple(max(1, round(w * width_scale)) for w in (64, 256, 256))
    config = TrainConfig(epochs=epochs, batch_size=batch_size, optimizer="sgd", lr=lr,
                         momentum=0.9, weight_decay=5e-4, schedule="onecycle",
                         warmup_fraction=0.2, label_smoothing=0.2, normalize="standardize",
                         augment=True, crop_padding=2, tta_flip=True, tta_shift=1,
                         channels_last=True, fused_optimizer=True, eval_batch_size=250,
                         seed=seed)
    return AirbenchRecipe(AirbenchConfig(widths=widths), config)  # type: ignore[arg-type]


def design_split(num_train_files: int = 50_000) -> tuple[slice, slice]:
    """(fit, validation) slices of the training files: all but the last
    :data:`DESIGN_VALIDATION` images, and those."""
    if num_train_files <= DESIGN_VALIDATION:
        raise ValueError(f"{num_train_files} training images: need more than "
                         f"{DESIGN_VALIDATION} to hold that many out")
    split_at = num_train_files - DESIGN_VALIDATION
    return slice(0, split_at), slice(split_at, num_train_files)
