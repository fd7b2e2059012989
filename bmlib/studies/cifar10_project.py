"""The CIFAR-10 chapter's experiment: the essay's CNN reproduced over seeds, the improved
recipe, their errors and their speed, as functions returning result dataclasses.

Both recipes train on the first 40,000 training images and are validated on the last
10,000 (Keras' ``validation_split=0.2``, :func:`bmlib.train.recipes.chapter_splits`); the
test set is evaluated once per final model, by :func:`run_recipes`, and by nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from bmlib.metrics.classification import (SeedSummary, confusion_matrix, per_class_accuracy,
                                          summarize_seeds)
from bmlib.models.cnn import (SeedCNN, SeedCNNConfig, layer_summary, measured_flops,
                              parameter_count, seed_cnn_flops, seed_cnn_parameter_count)
from bmlib.train.images import predict_logits
from bmlib.train.loop import EpochRecord
from bmlib.train.recipes import ChapterSplits, Recipe, obtain_model, seed_recipe

#: What the essay prints at the end of its run (§5.4).
ESSAY_TEST_ACCURACY = 0.8325

#: Test accuracies of an earlier edition's improved recipe, tuned while looking at the test
#: set (the chapter tells that history): at 4, 8 and 12 epochs (12: commit 7560701), then
#: seed 0 at 15 epochs without and with six-view test-time augmentation (commit 91e1114).
#: They come from runs of that edition, not of this one: recorded once here, glued by the
#: chapter, so the page never retypes them.
EARLIER_EDITION_TEST_ACCURACY = {
    "cifar_history_acc_4ep": 0.7818, "cifar_history_acc_8ep": 0.8592,
    "cifar_history_acc_12ep": 0.8827, "cifar_history_acc_two_views": 0.8750,
    "cifar_history_acc_six_views": 0.8804,
}


@dataclass(frozen=True)
class SeedModelSummary:
    """The essay's network as Keras would summarise it, with its counts checked."""

    layers: pd.DataFrame  # layer, type, output shape, parameters
    parameters: int  # numel() of all trainable tensors (= seed_cnn_parameter_count())
    forward_flops: int  # per image, PyTorch's FLOP counter (= seed_cnn_flops())
    dense_share: float  # percent of the parameters in the dense layer after Flatten

    def glue_values(self) -> dict[str, Any]:
        return {"cifar_seed_params": self.parameters,
                "cifar_seed_mflops": self.forward_flops / 1e6,
                "cifar_dense_share": self.dense_share}


def seed_model_summary(seed: int) -> SeedModelSummary:
    """Build the essay's CNN in Keras' layer order and check both closed-form counts.

    Keras applies ReLU before pooling; the training recipe pools first (bit-identical, see
    :class:`bmlib.models.cnn.SeedCNN`), so the table is built from the Keras order.
    """
    torch.manual_seed(seed)
    model = SeedCNN(SeedCNNConfig(pool_before_relu=False))
    layers = pd.DataFrame(layer_summary(model),
                          columns=["layer", "type", "output shape", "parameters"])
    parameters, flops = parameter_count(model), measured_flops(model)
    if parameters != seed_cnn_parameter_count() or flops != seed_cnn_flops():
        raise AssertionError(f"counted {parameters} parameters and {flops} FLOPs; the "
                             f"formulas give {seed_cnn_parameter_count()} and "
                             f"{seed_cnn_flops()}")
    if parameters != parameter_count(seed_recipe(seed).build_model()):
        raise AssertionError("the training recipe's network differs from the summarised one")
    dense = int(layers.parameters[layers.layer == "classifier.1"].iloc[0])
    return SeedModelSummary(layers, parameters, flops, 100 * dense / parameters)


@dataclass
class RecipeRun:
    """One trained model of a recipe and its single evaluation on the test set."""

    recipe: Recipe
    model: nn.Module  # eval mode
    history: list[EpochRecord]  # per epoch, validation on the held-out 10,000 images
    path: Path  # its checkpoint
    done_before: int  # epochs found finished in a checkpoint at the start
    predicted: np.ndarray  # (n_test,) predicted test labels
    test_accuracy: float

    @property
    def seed(self) -> int:
        return self.recipe.train_config.seed

    @property
    def minutes(self) -> float:
        """Training wall time over all epochs (validation excluded), minutes."""
        return self.history[-1].elapsed_seconds / 60

    @property
    def trained_now(self) -> bool:
        """Whether some epoch was trained in this process (else its times are older)."""
        return self.done_before < len(self.history)


def run_recipes(recipes: Sequence[Recipe], splits: ChapterSplits, device: torch.device,
                retrain: bool, pins: dict[str, str] | None = None,
                precision: torch.dtype | None = None) -> list[RecipeRun]:
    """Train (or load the pinned checkpoint of) each recipe on the training part, validated
    on the validation part, then evaluate the final model once on the test part."""
    runs = []
    true = splits.y_test.cpu().numpy()
    for recipe in recipes:
        model, history, path, done_before = obtain_model(
            recipe, device, splits.x_train, splits.y_train, splits.x_val, splits.y_val,
            retrain, pins, precision=precision)
        predicted = predict_logits(model, splits.x_test, recipe.train_config,
                                   precision).argmax(1).cpu().numpy()
        runs.append(RecipeRun(recipe, model, history, path, done_before, predicted,
                              float((predicted == true).mean())))
    return runs


def learning_curves(runs: Sequence[RecipeRun]) -> pd.DataFrame:
    """One row per (seed, epoch): the fields of :class:`EpochRecord` plus ``seed``."""
    return pd.DataFrame([{"seed": r.seed, **vars(h)} for r in runs for h in r.history])


def accuracy_table(runs: Sequence[RecipeRun]) -> pd.DataFrame:
    """Per seed: final validation accuracy, test accuracy and training minutes."""
    return pd.DataFrame({"seed": [r.seed for r in runs],
                         "validation accuracy (last epoch)": [
                             round(float(r.history[-1].val_accuracy), 4) for r in runs],
                         "test accuracy": [round(r.test_accuracy, 4) for r in runs],
                         "training minutes": [round(r.minutes, 2) for r in runs]}
                        ).set_index("seed")


@dataclass(frozen=True)
class Reproduction:
    """The essay's printed accuracy against the same code run over several seeds."""

    claimed: float
    test: SeedSummary  # test accuracy over seeds
    tolerance: float  # max(2 sample std, 1 point)
    train_accuracy_end: float  # mean over seeds, last epoch (dropout on)
    val_accuracy_end: float  # mean over seeds, last epoch
    best_val_epoch: int  # epoch of the lowest mean validation loss

    @property
    def reproduced(self) -> bool:
        return abs(self.test.mean - self.claimed) <= self.tolerance

    def glue_values(self) -> dict[str, Any]:
        return {"cifar_repro_mean": self.test.mean, "cifar_repro_std": self.test.std,
                "cifar_repro_min": self.test.minimum, "cifar_repro_max": self.test.maximum,
                "cifar_repro_n": len(self.test.values),
                "cifar_repro_gap": self.claimed - self.test.mean,
                "cifar_essay_claim": self.claimed,
                "cifar_train_acc_end": self.train_accuracy_end,
                "cifar_val_acc_end": self.val_accuracy_end,
                "cifar_best_val_epoch": self.best_val_epoch,
                "cifar_repro_conclusion": (
                    "so the printed 0.8325 is consistent with the code shown"
                    if self.reproduced else
                    "so the printed 0.8325 is not what the code shown produces")}


def reproduction(runs: Sequence[RecipeRun], claimed: float = ESSAY_TEST_ACCURACY
                 ) -> Reproduction:
    """Compare ``claimed`` with the runs' test accuracies (within max(2 std, 0.01))."""
    test = summarize_seeds([r.test_accuracy for r in runs])
    curves = learning_curves(runs)
    last = curves[curves.epoch == curves.epoch.max()]
    return Reproduction(claimed, test, max(2 * test.std, 0.01),
                        float(last.train_accuracy.mean()), float(last.val_accuracy.mean()),
                        int(curves.groupby("epoch").val_loss.mean().idxmin()))


@dataclass(frozen=True)
class Errors:
    """Where one model fails on the test set."""

    matrix: np.ndarray  # (10, 10) counts, rows true, columns predicted
    per_class: np.ndarray  # (10,) recall of each class
    worst: int  # class with the lowest recall
    best: int
    pair: tuple[int, int]  # (true, predicted) of the most frequent confusion
    pair_count: int
    errors: int  # test images wrong

    def glue_values(self, prefix: str, class_names: Sequence[str],
                    classes: bool = True) -> dict[str, Any]:
        """Named values for the prose; ``classes=False`` leaves out the worst and best class
        (when the chapter glues them averaged over seeds instead)."""
        true, predicted = self.pair
        values: dict[str, Any] = {}
        if classes:
            values = {f"{prefix}_worst_class": class_names[self.worst],
                      f"{prefix}_worst_acc": float(self.per_class[self.worst]),
                      f"{prefix}_best_class": class_names[self.best],
                      f"{prefix}_best_acc": float(self.per_class[self.best])}
        return {**values,
                f"{prefix}_pair": f"{class_names[true]} taken for {class_names[predicted]}",
                f"{prefix}_pair_count": self.pair_count,
                f"{prefix}_errors": self.errors}


def errors(true: np.ndarray, predicted: np.ndarray, num_classes: int = 10) -> Errors:
    """Confusion matrix, per-class recall and the most frequent confusion."""
    matrix = confusion_matrix(true, predicted, num_classes)
    recall = per_class_accuracy(matrix)
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    true_class, predicted_class = np.unravel_index(off.argmax(), off.shape)
    return Errors(matrix, recall, int(np.nanargmin(recall)), int(np.nanargmax(recall)),
                  (int(true_class), int(predicted_class)), int(off.max()), int(off.sum()))


def mean_per_class(runs: Sequence[RecipeRun], true: np.ndarray) -> np.ndarray:
    """Per-class test recall averaged over the runs (seeds)."""
    return np.mean([errors(true, r.predicted).per_class for r in runs], axis=0)


@dataclass(frozen=True)
class Improvement:
    """The improved recipe's result over seeds, against the essay's model and a target."""

    test: SeedSummary
    validation: SeedSummary  # last-epoch validation accuracy (two-view, no shifts)
    parameters: int
    forward_flops: int  # per image at 32 x 32
    epochs: int
    minutes: tuple[float, ...]  # training time per seed
    target_accuracy: float
    target_minutes: float
    met: tuple[bool, ...]  # per seed: test accuracy >= target within target minutes
    gain: float  # mean test accuracy minus the essay model's

    def glue_values(self) -> dict[str, Any]:
        return {"cifar_improved_acc": self.test.mean, "cifar_improved_std": self.test.std,
                "cifar_improved_min": self.test.minimum, "cifar_improved_max": self.test.maximum,
                "cifar_improved_val": self.validation.mean,
                "cifar_improved_n": len(self.test.values),
                "cifar_improved_params": self.parameters,
                "cifar_improved_mflops": self.forward_flops / 1e6,
                "cifar_improved_epochs": self.epochs,
                "cifar_improved_minutes": float(np.mean(self.minutes)),
                "cifar_improved_minutes_max": float(np.max(self.minutes)),
                "cifar_improved_target_met": f"{sum(self.met)} of {len(self.met)}",
                "cifar_target_acc": self.target_accuracy,
                "cifar_target_acc_pct": 100 * self.target_accuracy,
                "cifar_target_minutes": self.target_minutes,
                "cifar_improved_gain": self.gain, **EARLIER_EDITION_TEST_ACCURACY}


def improvement(runs: Sequence[RecipeRun], baseline: Reproduction,
                target_accuracy: float = 0.88, target_minutes: float = 15.0) -> Improvement:
    """Summarise the improved recipe's runs; the target is the one set in an earlier edition
    of the book (see the chapter's selection history)."""
    test = summarize_seeds([r.test_accuracy for r in runs])
    validation = summarize_seeds([float(r.history[-1].val_accuracy) for r in runs])
    model = runs[0].model
    met = tuple(r.test_accuracy >= target_accuracy and r.minutes <= target_minutes
                for r in runs)
    return Improvement(test, validation, parameter_count(model), measured_flops(model),
                       len(runs[0].history), tuple(r.minutes for r in runs), target_accuracy,
                       target_minutes, met, test.mean - baseline.test.mean)


def speed_table(labelled_runs: Sequence[tuple[str, RecipeRun]]) -> pd.DataFrame:
    """Seconds per epoch and throughput of each run, as measured during its training."""
    rows = []
    for label, r in labelled_runs:
        seconds = [h.seconds for h in r.history]
        rows.append({"model": label, "epochs": len(r.history),
                     "s per epoch (mean)": round(float(np.mean(seconds)), 1),
                     "s per epoch (median)": round(float(np.median(seconds)), 1),
                     "images/s (median)": round(float(np.median(
                         [h.images_per_second for h in r.history]))),
                     "trained in this process": r.trained_now})
    return pd.DataFrame(rows)


def low_resolution_cost(run: RecipeRun) -> float | None:
    """Median seconds of a low-resolution epoch over a full-size one's (progressive
    resizing); ``None`` for a run without epochs of both sizes (e.g. a one-epoch smoke run)."""
    low = run.recipe.train_config.low_res_epochs
    seconds = [h.seconds for h in run.history]
    if not 0 < low < len(seconds):
        return None
    return float(np.median(seconds[:low]) / np.median(seconds[low:]))


def low_resolution_cost_text(runs: Sequence[RecipeRun]) -> str:
    """The measured cost of a 24 x 24 epoch relative to a 32 x 32 one, as prose."""
    costs = [c for c in (low_resolution_cost(r) for r in runs) if c is not None]
    if not costs:
        return "an unmeasured fraction (this run has no epochs of both sizes)"
    return (f"{100 * min(costs):.0f}-{100 * max(costs):.0f} % (median epoch times of "
            f"{len(costs)} run(s) measured here)")
