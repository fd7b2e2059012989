"""The CIFAR-10 chapter's training recipes and their hash-pinned checkpoints.

``seed_recipe`` is the essay's Keras setup (§5.2) ported to PyTorch; ``improved_recipe`` is
this book's residual net with batch norm, augmentation, a one-cycle schedule and label
smoothing (its settings were once chosen on the test set, as the chapter tells); the
airbench-style recipe (:mod:`bmlib.train.airbench_recipe`) was designed on validation only.
Checkpoints live outside git under ``bmlib.core.paths.cache_dir()`` and are named by a
hash of what produced them, so runs with other settings never pick up the wrong file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bmlib.core.files import sha256_file
from bmlib.models.cnn import ResNetConfig, ResNetSmall, SeedCNN, SeedCNNConfig
from bmlib.core.paths import cache_dir
from bmlib.data.splits import holdout_last, keras_validation_split
from bmlib.train.airbench_recipe import (ABLATIONS, DESIGN_VALIDATION, EVAL_ONLY_ABLATIONS,
                                         AirbenchRecipe, airbench_recipe, train_airbench,
                                         without)
from bmlib.train.checkpoints import CheckpointError, load_checkpoint
from bmlib.train.images import TrainConfig, TrainResult, train, training_identity
from bmlib.train.loop import EpochRecord

CHECKPOINT_FOLDER = "cifar10_project"  # sub-folder of cache_dir()


@dataclass(frozen=True)
class Recipe:
    """A model family plus how to train it."""

    name: str  # short name used in file names and tables
    model_config: SeedCNNConfig | ResNetConfig  # architecture
    train_config: TrainConfig  # optimisation and data handling

    @property
    def seed(self) -> int:
        return self.train_config.seed

    def build_model(self, train_images_u8: torch.Tensor | None = None) -> nn.Module:
        """A freshly initialised model (uses the global torch generator: seed it first);
        the training images are not needed (the signature is :class:`AirbenchRecipe`'s)."""
        if isinstance(self.model_config, SeedCNNConfig):
            return SeedCNN(self.model_config)
        return ResNetSmall(self.model_config)

    def identity(self, precision: torch.dtype | None = None) -> dict[str, Any]:
        """What determines the trained weights (what :func:`train` stores in a checkpoint)."""
        return training_identity(self.train_config, precision)


AnyRecipe = Recipe | AirbenchRecipe


def _stored_identity(recipe: AnyRecipe, stored: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's stored config, normalised as ``recipe.identity`` is."""
    return stored if isinstance(recipe, AirbenchRecipe) else training_identity(stored)


def seed_recipe(seed: int, epochs: int = 20) -> Recipe:
    """The essay's CNN and Keras training setup, run the fast way: channels-last memory
    layout, max-pool before ReLU (exactly equal, see :class:`SeedCNN`) and the fused Adam
    kernel. The precision is not part of the recipe: the device layer decides it."""
    config = TrainConfig(epochs=epochs, batch_size=64, optimizer="adam", lr=1e-3,
                         betas=(0.9, 0.999), eps=1e-7, normalize="unit", seed=seed,
                         channels_last=True, fused_optimizer=True)
    return Recipe("seed_cnn", SeedCNNConfig(), config)


def improved_recipe(seed: int, epochs: int = 15, width: int = 32) -> Recipe:
    """A small residual net: BN, crop+flip, SGD-Nesterov one-cycle, label smoothing, and
    progressive resizing: the first two thirds of the epochs (all but the last, for very
    short runs) train on random 24 x 24 crops, cheaper than full-size steps (the chapter
    measures by how much); the rest train on padded 32 x 32 crops, the size of the test images.
    Test-time augmentation averages the logits of six views: the image and copies shifted
    by one pixel diagonally both ways, each with its mirror image.

    ``width`` is the first stage's channels (stages: width, 2 width, 4 width).
    """
    low_res_epochs = min(round(2 * epochs / 3), epochs - 1)
    config = TrainConfig(epochs=epochs, batch_size=256, optimizer="sgd", lr=0.2, momentum=0.9,
                         weight_decay=5e-4, schedule="onecycle", warmup_fraction=0.25,
                         label_smoothing=0.2, normalize="standardize", augment=True,
                         crop_padding=4, low_res_epochs=low_res_epochs, low_res_size=24,
                         tta_flip=True, tta_shift=1, channels_last=True, fused_optimizer=True,
                         seed=seed)
    model = ResNetConfig(widths=(width, 2 * width, 4 * width), stem_width=width,
                         scale_logits=1.0)
    return Recipe("improved_resnet", model, config)


def run_key(recipe: AnyRecipe, num_train: int, num_val: int,
            precision: torch.dtype | None = None) -> str:
    """A short hash of everything that determines a run's weights (configs, precision and
    data sizes; evaluation-only settings such as test-time augmentation are left out)."""
    fields = {"model": asdict(recipe.model_config),
              "model_type": type(recipe.model_config).__name__,
              "train": training_identity(recipe.train_config, precision),
              "num_train": num_train, "num_val": num_val}
    if isinstance(recipe, AirbenchRecipe):
        fields["augmentation"] = {"flip": recipe.flip, "translate": recipe.translate}
    blob = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def checkpoint_path(recipe: AnyRecipe, num_train: int, num_val: int,
                    precision: torch.dtype | None = None) -> Path:
    """Where this run's checkpoint lives (outside git); bf16 runs are named ``*_bf16``."""
    key = run_key(recipe, num_train, num_val, precision)
    tag = "" if precision is None else f"_{str(precision).removeprefix('torch.')}"
    return (cache_dir() / CHECKPOINT_FOLDER /
            f"{recipe.name}{tag}_seed{recipe.train_config.seed}_{key}.pt")


def train_recipe(recipe: AnyRecipe, device: torch.device, train_images: torch.Tensor,
                 train_labels: torch.Tensor, val_images: torch.Tensor | None = None,
                 val_labels: torch.Tensor | None = None, show_progress: bool = True,
                 precision: torch.dtype | None = None) -> tuple[TrainResult, Path]:
    """Train (or resume from this run's checkpoint) and return the result and checkpoint path.

    ``precision``: the autocast dtype the device layer chose (``DeviceChoice.autocast_dtype``).
    """
    torch.manual_seed(recipe.seed)
    model = recipe.build_model(train_images).to(device)
    path = checkpoint_path(recipe, train_images.shape[0],
                           0 if val_images is None else val_images.shape[0], precision)
    common = dict(precision=precision, val_images=val_images, val_labels=val_labels,
                  checkpoint_path=path, show_progress=show_progress,
                  desc=f"{recipe.name} seed {recipe.seed}")
    if isinstance(recipe, AirbenchRecipe):
        result = train_airbench(model, recipe, train_images, train_labels,  # type: ignore[arg-type]
                                **common)  # type: ignore[arg-type]
    else:
        result = train(model, train_images, train_labels, recipe.train_config,
                       **common)  # type: ignore[arg-type]
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
    return load_checkpoint(path, device, "delete it and rerun with RETRAIN=True")


def model_from_checkpoint(recipe: AnyRecipe, state: dict[str, Any], device: torch.device,
                          precision: torch.dtype | None = None) -> nn.Module:
    """Rebuild a recipe's model and load a checkpoint's weights into it."""
    if _stored_identity(recipe, state["config"]) != recipe.identity(precision):
        raise CheckpointError("checkpoint was written with another training config")
    model = recipe.build_model().to(device)
    if recipe.train_config.channels_last:
        model.to(memory_format=torch.channels_last)
    model.load_state_dict(state["model"])
    return model.eval()


def obtain_model(recipe: AnyRecipe, device: torch.device, train_images: torch.Tensor,
                 train_labels: torch.Tensor, val_images: torch.Tensor | None,
                 val_labels: torch.Tensor | None, retrain: bool,
                 pins: dict[str, str] | None = None, show_progress: bool = True,
                 precision: torch.dtype | None = None,
                 ) -> tuple[nn.Module, list[EpochRecord], Path, int]:
    """Train (resuming from this run's checkpoint when one exists) or, with ``retrain``
    False, load the checkpoint whose SHA-256 is pinned in ``pins`` (file name -> digest).

    Returns the model (eval mode), its per-epoch history, the checkpoint path and the number
    of epochs that were already done in a checkpoint found at the start.
    """
    path = checkpoint_path(recipe, train_images.shape[0],
                           0 if val_images is None else val_images.shape[0], precision)
    if retrain:
        result, path = train_recipe(recipe, device, train_images, train_labels, val_images,
                                    val_labels, show_progress=show_progress,
                                    precision=precision)
        return result.model.eval(), result.history, path, result.resumed_from_epoch
    if not pins or path.name not in pins:
        tags = sorted({name.split("_seed")[0] for name in (pins or {})})
        raise CheckpointError(f"no pinned SHA-256 for {path.name}: pins exist only for the "
                              f"book's full-profile run ({', '.join(tags) or 'none'}; a name "
                              "with _bfloat16 was trained in bf16: set PRECISION to match) "
                              "- or use RETRAIN=True")
    state = load_pinned(path, pins[path.name], device)
    history = [EpochRecord(**r) for r in state["history"]]
    return (model_from_checkpoint(recipe, state, device, precision), history, path,
            len(history))


# --- the CIFAR-10 chapter's run, shared with the chapters that reuse its models ----------

@dataclass(frozen=True)
class BookRun:
    """The settings of the CIFAR-10 chapter's full run (its ``parameters`` cell; a test keeps
    the two equal), so other chapters can load exactly the models the book trained."""

    seed: int = 0  # first seed; the essay's model runs SEED, SEED+1, ...
    num_seeds: int = 3  # runs of the essay's model
    epochs: int = 20  # epochs of the essay's model (the essay: 20)
    improved_epochs: int = 15  # epochs of the improved recipe
    improved_width: int = 32  # first-stage channels of the improved recipe
    improved_seeds: int = 2  # runs of the improved recipe (seeds SEED, SEED+1, ...)
    airbench_seeds: int = 3  # runs of the airbench-style recipe (designed on validation)
    airbench_epochs: int = 12  # its epochs (sized to 10 minutes of training, see the chapter)
    ablation_seeds: int = 2  # seeds of each ablation (seeds SEED, SEED+1, ...)
    ablation_width: float = 0.5  # the ablations' width scale (their own baseline included)
    ablation_epochs: int = 8  # the ablations' epochs
    precision_seeds: int = 3  # runs of the essay's model repeated in the other precision
    #                           (at most num_seeds: each is compared with its own seed's run)

    def __post_init__(self) -> None:
        if self.ablation_epochs < 1:
            raise ValueError(f"ablation_epochs={self.ablation_epochs}: use at least 1")
        if not 0 < self.ablation_width <= 1:
            raise ValueError(f"ablation_width={self.ablation_width}: use 0 < scale <= 1")

    def for_profile(self, profile: str) -> "BookRun":
        """``"smoke"`` (CI): at most two seeds of each recipe and one of each ablation and
        precision check, one epoch each."""
        if profile == "smoke":
            return BookRun(self.seed, min(self.num_seeds, 2), 1, 1, self.improved_width,
                           min(self.improved_seeds, 2), min(self.airbench_seeds, 2), 1,
                           min(self.ablation_seeds, 1), self.ablation_width, 1,
                           min(self.precision_seeds, 1))
        return self

    def recipes(self) -> list[tuple[str, Recipe]]:
        """(label, recipe) of every run: the essay's CNN per seed, then the improved recipe's."""
        runs = [(f"essay's CNN, seed {self.seed + k}", seed_recipe(self.seed + k, self.epochs))
                for k in range(self.num_seeds)]
        runs += [(f"improved recipe, seed {self.seed + k}",
                  improved_recipe(self.seed + k, self.improved_epochs, self.improved_width))
                 for k in range(self.improved_seeds)]
        return runs

    def precision_recipes(self) -> list[tuple[str, Recipe]]:
        """The essay's CNN of the first ``precision_seeds`` seeds, at most ``num_seeds`` (run
        again in the other precision, for the precision check)."""
        return self.recipes()[:min(self.precision_seeds, self.num_seeds)]

    def airbench_recipes(self) -> list[tuple[str, AirbenchRecipe]]:
        """(label, recipe) of the airbench-style recipe per seed."""
        return [(f"airbench recipe, seed {self.seed + k}",
                 airbench_recipe(self.seed + k, self.airbench_epochs))
                for k in range(self.airbench_seeds)]

    def ablation_recipes(self) -> list[tuple[str, AirbenchRecipe]]:
        """(removed ingredient, recipe) per ablation seed at ``ablation_width`` for
        ``ablation_epochs`` (cheaper than the final recipe, so that all of them fit): first the
        whole recipe at that width (removed: ``"nothing"``), then one per ingredient that
        changes training (the evaluation-only ones reuse the whole recipe's models)."""
        runs = []
        for k in range(self.ablation_seeds):
            whole = airbench_recipe(self.seed + k, self.ablation_epochs, self.ablation_width)
            whole = replace(whole, name="airbench_ablation")
            runs.append(("nothing", whole))
            runs += [(ingredient, without(whole, ingredient)) for ingredient in ABLATIONS
                     if ingredient not in EVAL_ONLY_ABLATIONS]
        return runs


@dataclass(frozen=True)
class ChapterSplits:
    """The chapter's data on the device as uint8: Keras' 80/20 split of the training files
    (train / validation) and the test set; ``smoke`` uses 1,000 training and 500 test images."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    test_slice: slice  # which test images (of the files) x_test holds


def chapter_splits(train_images: Any, train_labels: Any, test_images: Any, test_labels: Any,
                   smoke: bool, device: torch.device) -> ChapterSplits:
    """Split arrays as the CIFAR-10 chapter does and put them on ``device`` once, as uint8."""
    from bmlib.train.images import to_device_uint8

    if smoke:
        train_part, val_part = keras_validation_split(1000, 0.2)
        test_slice = slice(0, 500)
    else:
        train_part, val_part = keras_validation_split(len(train_images), 0.2)
        test_slice = slice(None)
    x_train, y_train = to_device_uint8(train_images[train_part], train_labels[train_part], device)
    x_val, y_val = to_device_uint8(train_images[val_part], train_labels[val_part], device)
    x_test, y_test = to_device_uint8(test_images[test_slice], test_labels[test_slice], device)
    return ChapterSplits(x_train, y_train, x_val, y_val, x_test, y_test, test_slice)


def load_pins(path: str | Path | None = None) -> dict[str, str]:
    """The pinned checkpoint digests (file name -> SHA-256) of the book's full run."""
    from bmlib.core.paths import pins_dir

    path = Path(path) if path is not None else pins_dir() / "cifar10_project_checkpoints.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@dataclass
class BookModel:
    """One trained model of the CIFAR-10 chapter, ready for evaluation."""

    label: str  # e.g. "essay's CNN, seed 0" or "improved recipe"
    recipe: Recipe
    model: nn.Module  # eval mode
    history: list[EpochRecord]
    path: Path  # its checkpoint


def book_models(splits: ChapterSplits, run: BookRun, device: torch.device, retrain: bool,
                pins: dict[str, str] | None = None, show_progress: bool = True,
                precision: torch.dtype | None = None) -> list[BookModel]:
    """The chapter's models: the essay's CNN for each seed, then the improved recipe's.

    ``retrain=False`` loads the hash-pinned checkpoints (a clear error says how to make them
    when they are missing); ``retrain=True`` trains, resuming from or reusing a checkpoint
    of exactly the same configuration. Both recipes train on the training part and are
    validated on the held-out part; the test set is only evaluated, once, by the caller.
    """
    models = []
    for label, recipe in run.recipes():
        model, history, path, _ = obtain_model(recipe, device, splits.x_train, splits.y_train,
                                               splits.x_val, splits.y_val, retrain, pins,
                                               show_progress, precision)
        models.append(BookModel(label, recipe, model, history, path))
    return models


def other_precision(precision: torch.dtype | None) -> torch.dtype | None:
    """The precision the precision check compares with: float32 for bf16 and back."""
    return None if precision is not None else torch.bfloat16


def book_checkpoint_paths(run: BookRun = BookRun(), num_train_files: int = 50_000,
                          precision: torch.dtype | None = None) -> list[Path]:
    """Where the full run's checkpoints live (what ``tools/pin_checkpoints.py`` pins): every
    run in ``precision`` and the precision check's runs in the other one."""
    train_part, val_part = keras_validation_split(num_train_files, 0.2)
    n_train = train_part.stop - train_part.start
    n_val = val_part.stop - val_part.start
    fit_part, held_out = holdout_last(num_train_files, DESIGN_VALIDATION)
    n_fit, n_held = fit_part.stop - fit_part.start, held_out.stop - held_out.start
    paths = [checkpoint_path(recipe, n_train, n_val, precision) for _, recipe in run.recipes()]
    paths += [checkpoint_path(recipe, n_train, n_val, other_precision(precision))
              for _, recipe in run.precision_recipes()]
    paths += [checkpoint_path(recipe, n_fit, n_held, precision)
              for _, recipe in run.airbench_recipes() + run.ablation_recipes()]
    return paths


def book_precision(pins: dict[str, str], run: BookRun = BookRun()) -> torch.dtype | None:
    """The precision the pinned full run trained in: the one whose every checkpoint of
    ``run.recipes()`` is pinned (float32 when the pins name neither completely)."""
    for precision in (torch.bfloat16, None):
        names = {p.name for p in book_checkpoint_paths(run, precision=precision)}
        if names <= set(pins):
            return precision
    return None


@dataclass(frozen=True)
class DesignSplit:
    """The airbench recipe's design split on the device: all but the last
    :data:`DESIGN_VALIDATION` training images to fit, those to validate (fewer in smoke)."""

    x_fit: torch.Tensor
    y_fit: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


def design_split(splits: ChapterSplits) -> DesignSplit:
    """The design split of the same training files as ``splits`` (whose training and
    validation parts are, in order, the first 80 % and the last 20 % of them)."""
    x = torch.cat([splits.x_train, splits.x_val])
    y = torch.cat([splits.y_train, splits.y_val])
    fit_part, held_out = holdout_last(x.shape[0], min(DESIGN_VALIDATION,
                                                      splits.x_val.shape[0]))
    return DesignSplit(x[fit_part], y[fit_part], x[held_out], y[held_out])
