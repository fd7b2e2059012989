"""The CIFAR-10 chapter's two training recipes and their hash-pinned checkpoints.

``seed_recipe`` is the essay's Keras setup (§5.2) ported to PyTorch; ``improved_recipe`` is
this book's residual net with batch norm, augmentation, a one-cycle schedule and label
smoothing. Checkpoints live outside git under ``bmlib.paths.cache_dir()`` and are named by a
hash of what produced them, so runs with other settings never pick up the wrong file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bmlib.checksums import sha256_file
from bmlib.cnn_models import ResNetConfig, ResNetSmall, SeedCNN, SeedCNNConfig
from bmlib.paths import cache_dir
from bmlib.training import EpochRecord, TrainConfig, TrainResult, train

CHECKPOINT_FOLDER = "cifar10_project"  # sub-folder of cache_dir()


class CheckpointError(RuntimeError):
    """A checkpoint is missing or its bytes do not match the pinned SHA-256."""


@dataclass(frozen=True)
class Recipe:
    """A model family plus how to train it."""

    name: str  # short name used in file names and tables
    model_config: SeedCNNConfig | ResNetConfig  # architecture
    train_config: TrainConfig  # optimisation and data handling

    def build_model(self) -> nn.Module:
        """A freshly initialised model (uses the global torch generator: seed it first)."""
        if isinstance(self.model_config, SeedCNNConfig):
            return SeedCNN(self.model_config)
        return ResNetSmall(self.model_config)


def seed_recipe(seed: int, epochs: int = 20, fast: bool = False) -> Recipe:
    """The essay's CNN and Keras training setup, in float32 with channels-last memory layout
    (same arithmetic, about a third less CPU time here); ``fast`` adds bf16 autocast."""
    config = TrainConfig(epochs=epochs, batch_size=64, optimizer="adam", lr=1e-3,
                         betas=(0.9, 0.999), eps=1e-7, normalize="unit", seed=seed,
                         autocast=fast, channels_last=True)
    return Recipe("seed_cnn_fast" if fast else "seed_cnn", SeedCNNConfig(), config)


def improved_recipe(seed: int, epochs: int = 8, width: int = 32) -> Recipe:
    """A small residual net: BN, crop+flip, SGD-Nesterov one-cycle, label smoothing, flip-TTA.

    ``width`` is the first stage's channels (stages: width, 2 width, 4 width).
    """
    config = TrainConfig(epochs=epochs, batch_size=256, optimizer="sgd", lr=0.2, momentum=0.9,
                         weight_decay=5e-4, schedule="onecycle", warmup_fraction=0.25,
                         label_smoothing=0.2, normalize="standardize", augment=True,
                         crop_padding=4, tta_flip=True, channels_last=True, seed=seed)
    model = ResNetConfig(widths=(width, 2 * width, 4 * width), stem_width=width,
                         scale_logits=1.0)
    return Recipe("improved_resnet", model, config)


def run_key(recipe: Recipe, num_train: int, num_val: int) -> str:
    """A short hash of everything that determines a run's result (configs and data sizes)."""
    blob = json.dumps({"model": asdict(recipe.model_config), "model_type":
                       type(recipe.model_config).__name__, "train": asdict(recipe.train_config),
                       "num_train": num_train, "num_val": num_val}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def checkpoint_path(recipe: Recipe, num_train: int, num_val: int) -> Path:
    """Where this run's checkpoint lives (outside git)."""
    key = run_key(recipe, num_train, num_val)
    return cache_dir() / CHECKPOINT_FOLDER / f"{recipe.name}_seed{recipe.train_config.seed}_{key}.pt"


def train_recipe(recipe: Recipe, device: torch.device, train_images: torch.Tensor,
                 train_labels: torch.Tensor, val_images: torch.Tensor | None = None,
                 val_labels: torch.Tensor | None = None, show_progress: bool = True,
                 ) -> tuple[TrainResult, Path]:
    """Train (or resume from this run's checkpoint) and return the result and checkpoint path."""
    torch.manual_seed(recipe.train_config.seed)
    model = recipe.build_model().to(device)
    path = checkpoint_path(recipe, train_images.shape[0],
                           0 if val_images is None else val_images.shape[0])
    result = train(model, train_images, train_labels, recipe.train_config,
                   val_images=val_images, val_labels=val_labels, checkpoint_path=path,
                   show_progress=show_progress, desc=f"{recipe.name} seed {recipe.train_config.seed}")
    return result, path


def load_pinned(path: str | Path, sha256: str, device: torch.device) -> dict[str, Any]:
    """Load a checkpoint only if its SHA-256 equals the pinned value."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} is missing: rerun the chapter with "
                              "RETRAIN=True to train and save it")
    actual = sha256_file(path)
    if actual != sha256:
        raise CheckpointError(f"checkpoint {path} has SHA-256 {actual[:16]}..., pinned "
                              f"{sha256[:16]}...: it is not the file the book was built "
                              "with; delete it and rerun with RETRAIN=True")
    return torch.load(path, map_location=device, weights_only=False)


def model_from_checkpoint(recipe: Recipe, state: dict[str, Any],
                          device: torch.device) -> nn.Module:
    """Rebuild a recipe's model and load a checkpoint's weights into it."""
    if state["config"] != asdict(recipe.train_config):
        raise CheckpointError("checkpoint was written with another training config")
    model = recipe.build_model().to(device)
    if recipe.train_config.channels_last:
        model.to(memory_format=torch.channels_last)
    model.load_state_dict(state["model"])
    return model.eval()


def obtain_model(recipe: Recipe, device: torch.device, train_images: torch.Tensor,
                 train_labels: torch.Tensor, val_images: torch.Tensor | None,
                 val_labels: torch.Tensor | None, retrain: bool,
                 pins: dict[str, str] | None = None, show_progress: bool = True,
                 ) -> tuple[nn.Module, list[EpochRecord], Path, int]:
    """Train (resuming from this run's checkpoint when one exists) or, with ``retrain``
    False, load the checkpoint whose SHA-256 is pinned in ``pins`` (file name -> digest).

    Returns the model (eval mode), its per-epoch history, the checkpoint path and the number
    of epochs that were already done in a checkpoint found at the start.
    """
    path = checkpoint_path(recipe, train_images.shape[0],
                           0 if val_images is None else val_images.shape[0])
    if retrain:
        result, path = train_recipe(recipe, device, train_images, train_labels, val_images,
                                    val_labels, show_progress=show_progress)
        return result.model.eval(), result.history, path, result.resumed_from_epoch
    if not pins or path.name not in pins:
        raise CheckpointError(f"no pinned SHA-256 for {path.name}: pins exist only for the "
                              "book's full-profile run; use RETRAIN=True")
    state = load_pinned(path, pins[path.name], device)
    history = [EpochRecord(**r) for r in state["history"]]
    return model_from_checkpoint(recipe, state, device), history, path, len(history)
