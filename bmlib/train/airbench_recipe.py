"""The airbench-style recipe for CIFAR-10, its augmentation, and the ablations of the chapter.

A CPU port of airbench94's ingredients (see :mod:`bmlib.models.airbench`) on the book's one
training loop, :func:`bmlib.train.loop.fit`: SGD with Nesterov momentum on a triangular
(one-cycle) schedule, label smoothing 0.2, random 2-pixel reflect translation, alternating
flips (:class:`AirbenchBatches`), channels-last, and six-view test-time augmentation (image,
mirror, one-pixel shifts). Not ported, so not claimed: Lookahead weight averaging, a
separate learning rate for the batch-norm and whitening biases, and freezing the whitening
bias after three epochs. Those act between optimiser steps or on parameter groups, which
the one loop does not expose (changing it would touch every chapter's training).

Design decisions are made on the design split (:func:`bmlib.data.splits.holdout_last`: the
last :data:`DESIGN_VALIDATION` training images held out as validation); the test set is for
a final model, once. :func:`without` removes one ingredient for the chapter's ablation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from bmlib.core.allocator import retain_freed_memory
from bmlib.models.airbench import Airbench, AirbenchConfig
from bmlib.train.config import TrainingError
from bmlib.train.images import (TrainConfig, TrainResult, evaluate, prepare_batch,
                                random_crop, training_identity)
from bmlib.train.loop import Batch, EpochRecord, fit

DESIGN_VALIDATION = 5_000  # images at the end of the training files held out for design
WHITEN_IMAGES = 5_000  # training images the whitening filters are estimated from
FLIPS = ("alternating", "random", "none")
FLIP_SEED_OFFSET = 7_919  # the first epoch's flips are drawn from seed + this (see below)

#: The ingredients :func:`without` can remove, and what takes each one's place.
ABLATIONS = {
    "patch whitening": "a learned 2 x 2 convolution from PyTorch's random initialisation",
    "alternating flips": "random flips: each image mirrored with probability 1/2 every epoch",
    "translation": "no random translation (flips only)",
    "label smoothing": "one-hot cross-entropy (label_smoothing=0)",
    "fast batch-norm shifts": "batch-norm shifts at the learning rate of the weights",
    "test-time augmentation": "the image alone at evaluation (no mirror, no shifted copies)",
}
#: Ablations that change only how a trained model is evaluated (no retraining needed).
EVAL_ONLY_ABLATIONS = frozenset({"test-time augmentation"})


@dataclass(frozen=True)
class AirbenchRecipe:
    """A network shape, how to train it, and its augmentation.

    ``train_config`` holds the optimiser, schedule, loss, pixel scaling and test-time
    augmentation; its own ``augment`` is off, because translation and flips are done here:
    ``translate`` pixels of reflect-padded random translation, and ``flip`` one of
    :data:`FLIPS`.
    """

    model_config: AirbenchConfig
    train_config: TrainConfig
    flip: str = "alternating"
    translate: int = 2
    name: str = "airbench"  # used in checkpoint file names

    def __post_init__(self) -> None:
        if self.flip not in FLIPS:
            raise TrainingError(f"flip={self.flip!r}: use one of {FLIPS}")
        if not 0 <= self.translate <= 4:
            raise TrainingError(f"translate={self.translate}: use 0 (off) to 4 pixels")
        if self.train_config.augment:
            raise TrainingError("AirbenchRecipe augments itself (flip, translate): give a "
                                "train_config with augment=False")

    @property
    def seed(self) -> int:
        return self.train_config.seed

    def build_model(self, train_images_u8: torch.Tensor | None = None) -> Airbench:
        """A fresh model (seed the global generator first). With training images, its
        whitening layer is set from the first :data:`WHITEN_IMAGES` of them, scaled as
        training scales them; without (to load a checkpoint into), it is left as built."""
        model = Airbench(self.model_config)
        if train_images_u8 is not None:
            model = model.to(train_images_u8.device)
            plain = replace(self.train_config, channels_last=False)
            model.init_whitening(prepare_batch(train_images_u8[:WHITEN_IMAGES], plain))
        return model

    def identity(self, precision: torch.dtype | None = None) -> dict[str, Any]:
        """Everything that determines the trained weights (checkpoints are matched on it)."""
        return {"model": asdict(self.model_config),
                "train": training_identity(self.train_config, precision),
                "flip": self.flip, "translate": self.translate}


def airbench_recipe(seed: int, epochs: int = 10, width_scale: float = 1.0,
                    batch_size: int = 512, lr: float = 0.75, momentum: float = 0.85,
                    weight_decay: float = 1.33e-3) -> AirbenchRecipe:
    """airbench94's network at ``width_scale`` times its widths (64/256/256), trained for
    ``epochs`` with the loop's SGD-Nesterov one-cycle schedule.

    ``lr`` is the peak learning rate for the mean loss over a batch of ``batch_size``. The
    defaults are airbench94's settings translated to that convention: it sums the loss over
    batches of 1,024 with ``lr = 11.5 / (1024 (1 + 1/(1 - 0.85)))``, a mean-loss rate of
    1.5, halved here for batches of 512; its weight decay shrinks each weight by
    ``0.0153 * 1024 / (1024 (1 + 1/0.15))`` per step at batch 1,024, half that per step at
    512, which PyTorch's coupled ``weight_decay`` gives as that shrink over ``lr``.
    """
    if width_scale <= 0:
        raise ValueError(f"width_scale={width_scale}: use a positive factor")
    widths = tuple(max(1, round(w * width_scale)) for w in (64, 256, 256))
    config = TrainConfig(epochs=epochs, batch_size=batch_size, optimizer="sgd", lr=lr,
                         momentum=momentum, weight_decay=weight_decay, schedule="onecycle",
                         warmup_fraction=0.2, label_smoothing=0.2, normalize="standardize",
                         augment=False, tta_flip=True, tta_shift=1, channels_last=True,
                         fused_optimizer=True, eval_batch_size=250, seed=seed)
    return AirbenchRecipe(AirbenchConfig(widths=widths), config)  # type: ignore[arg-type]


def without(recipe: AirbenchRecipe, ingredient: str) -> AirbenchRecipe:
    """``recipe`` with one of :data:`ABLATIONS` removed (what replaces it: the dict's value)."""
    slug = "airbench_no_" + ingredient.replace(" ", "_").replace("-", "_")
    if ingredient == "patch whitening":
        return replace(recipe, name=slug,
                       model_config=replace(recipe.model_config, whiten_frozen=False))
    if ingredient == "alternating flips":
        return replace(recipe, name=slug, flip="random")
    if ingredient == "translation":
        return replace(recipe, name=slug, translate=0)
    if ingredient == "label smoothing":
        return replace(recipe, name=slug,
                       train_config=replace(recipe.train_config, label_smoothing=0.0))
    if ingredient == "fast batch-norm shifts":
        return replace(recipe, name=slug,
                       model_config=replace(recipe.model_config, bias_lr_scale=1.0))
    if ingredient == "test-time augmentation":
        return replace(recipe, train_config=replace(recipe.train_config, tta_flip=False,
                                                    tta_shift=0))
    raise ValueError(f"unknown ingredient {ingredient!r}: use one of {list(ABLATIONS)}")


@dataclass
class AirbenchBatches:
    """The recipe's training batches (a :class:`bmlib.train.loop.Batches` source).

    Each epoch shuffles with the loop's generator, scales the gathered uint8 images, flips
    and translates them. Alternating flips (airbench94): in the first epoch a random half of
    the images is mirrored, drawn once from ``seed + FLIP_SEED_OFFSET`` so that a resumed run
    draws the same half; from then on each image is mirrored in every other epoch, so over
    any two consecutive epochs every image is seen both ways. ``"random"`` mirrors each
    image with probability 1/2 in every epoch, independently.
    """

    x: torch.Tensor  # uint8 (N, 3, H, W) on the device
    y: torch.Tensor
    recipe: AirbenchRecipe

    def __post_init__(self) -> None:
        if self.x.shape[0] != self.y.shape[0] or self.x.shape[0] == 0:
            raise TrainingError(f"{self.x.shape[0]} images but {self.y.shape[0]} labels")
        draw = torch.Generator(device=self.x.device)
        draw.manual_seed(self.recipe.seed + FLIP_SEED_OFFSET)
        self.first_flips = torch.rand(self.x.shape[0], device=self.x.device, generator=draw) < 0.5

    @property
    def num_examples(self) -> int:
        return int(self.x.shape[0])

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.num_examples // self.recipe.train_config.batch_size)

    def flips(self, index: torch.Tensor, epoch: int,
              generator: torch.Generator) -> torch.Tensor | None:
        """Which images of the batch ``index`` are mirrored in ``epoch`` (None: none)."""
        if self.recipe.flip == "alternating":
            return self.first_flips[index] ^ bool(epoch % 2)
        if self.recipe.flip == "random":
            return torch.rand(index.shape[0], device=self.x.device, generator=generator) < 0.5
        return None

    def epoch(self, epoch: int, generator: torch.Generator | None) -> Iterator[Batch]:
        if generator is None:
            raise TrainingError("AirbenchBatches shuffles: set the loop's seed")
        config = self.recipe.train_config
        plain = replace(config, channels_last=False)
        order = torch.randperm(self.num_examples, device=self.x.device, generator=generator)
        for start in range(0, self.num_examples, config.batch_size):
            index = order[start:start + config.batch_size]
            x = prepare_batch(self.x[index], plain)
            flips = self.flips(index, epoch, generator)
            if flips is not None:
                x = torch.where(flips[:, None, None, None], x.flip(3), x)
            if self.recipe.translate:
                x = random_crop(x, self.recipe.translate, generator)
            if config.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            yield x, self.y[index]


def train_airbench(model: Airbench, recipe: AirbenchRecipe, train_images: torch.Tensor,
                   train_labels: torch.Tensor, *, precision: torch.dtype | None = None,
                   val_images: torch.Tensor | None = None,
                   val_labels: torch.Tensor | None = None,
                   checkpoint_path: str | Path | None = None, resume: bool = True,
                   show_progress: bool = True, desc: str = "airbench",
                   on_epoch_end: Callable[[EpochRecord], None] | None = None) -> TrainResult:
    """Train ``model`` (from ``recipe.build_model(train_images)``) in place with :func:`fit`
    on device-resident uint8 data, validating after each epoch with the image and its mirror
    (the shifted views of the test-time augmentation are left to the final evaluation).
    Checkpoints, resume and ``precision`` as in :func:`bmlib.train.images.train`."""
    device = train_images.device
    if device.type == "cpu":
        retain_freed_memory()  # reuse each step's freed buffers: no page faults per step
    config = recipe.train_config
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    validate = None
    if val_images is not None and val_labels is not None and val_images.shape[0] > 0:
        epoch_eval = replace(config, tta_shift=0)

        def validate(m: torch.nn.Module) -> tuple[float, float]:
            return evaluate(m, val_images, val_labels, epoch_eval, precision)

    result = fit(model, AirbenchBatches(train_images, train_labels, recipe), config.optim(),
                 config.loop(), device=device, precision=precision, validate=validate,
                 checkpoint_path=checkpoint_path, identity=recipe.identity(precision),
                 resume=resume, on_epoch_end=on_epoch_end, show_progress=show_progress,
                 desc=desc)
    return TrainResult(model=model, history=result.history, config=config,
                       resumed_from_epoch=result.resumed_from_epoch, precision=precision,
                       best_epoch=len(result.history))
