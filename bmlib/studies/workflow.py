"""The four-step workflow on a small real data set: prepare, build, train, evaluate.

Data: scikit-learn's bundled copy of the UCI optical handwritten digits (1,797 images of
8 x 8 pixels, grey levels 0-16, ten classes; shipped inside scikit-learn, so no download).

The split is train / validation / test. Hyper-parameters are chosen on the validation set;
the test set sits in a :class:`HeldOutTestSet` that answers exactly one evaluation and
refuses a second, so "tune on the test results" cannot happen by accident.
:func:`selection_bias` measures what goes wrong when one does it on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, recall_score
import torch
from torch import nn

from bmlib.data.splits import stratified_parts
from bmlib.train.config import LoopConfig, OptimConfig
from bmlib.train.loop import TensorBatches, fit

N_CLASSES = 10


class SecondTestEvaluationError(RuntimeError):
    """The held-out test set was asked for a second evaluation."""


@dataclass(frozen=True)
class Metrics:
    accuracy: float  # fraction of examples classified correctly
    macro_recall: float  # recall averaged over classes (each class weighs the same)
    macro_f1: float  # F1 = 2PR/(P+R) per class, averaged over classes


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray,
                           n_classes: int = N_CLASSES) -> Metrics:
    """Accuracy, macro recall and macro F1 (scikit-learn's, over all ``n_classes``)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"labels {y_true.shape} and predictions {y_pred.shape} differ in shape")
    labels = list(range(n_classes))  # absent classes count, with recall and F1 of 0
    return Metrics(float(accuracy_score(y_true, y_pred)),
                   float(recall_score(y_true, y_pred, labels=labels, average="macro",
                                      zero_division=0)),
                   float(f1_score(y_true, y_pred, labels=labels, average="macro",
                                  zero_division=0)))


class HeldOutTestSet:
    """A test set that can be evaluated once. A second call raises
    :class:`SecondTestEvaluationError`: a number read off the test set twice is no longer an
    unbiased estimate once the first reading influenced any choice."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self._x, self._y = x, y
        self._result: Metrics | None = None

    def __len__(self) -> int:
        return len(self._y)

    @property
    def used(self) -> bool:
        return self._result is not None

    def evaluate(self, predict: Callable[[np.ndarray], np.ndarray]) -> Metrics:
        """Apply ``predict`` to the test inputs and score it (allowed once)."""
        if self._result is not None:
            raise SecondTestEvaluationError(
                f"the test set was already used (accuracy {self._result.accuracy:.4f}); "
                "choose models on the validation set and evaluate on the test set once, at the end"
            )
        self._result = classification_metrics(self._y, predict(self._x))
        return self._result


@dataclass(frozen=True)
class DigitsSplit:
    train_x: np.ndarray  # (n_train, 64) standardised with training statistics
    train_y: np.ndarray  # (n_train,) labels 0-9
    val_x: np.ndarray  # validation inputs, same scaling
    val_y: np.ndarray
    test: HeldOutTestSet  # evaluate once
    pixel_mean: np.ndarray  # (64,) training-set mean grey level
    pixel_std: np.ndarray  # (64,) training-set std, floored at 1 grey level


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The bundled digits as float64 inputs ``(1797, 64)`` (grey levels 0-16) and labels."""
    from sklearn.datasets import load_digits  # bundled with scikit-learn, read from disk

    data = load_digits()
    return data.data.astype(np.float64), data.target.astype(np.int64)


def prepare_digits(seed: int, val_fraction: float = 0.2, test_fraction: float = 0.2,
                   train_size: int | None = None, label_noise: float = 0.0) -> DigitsSplit:
    """Step 1, data preparation: split, optionally shrink or corrupt the training set, and
    standardise every pixel with training-set statistics only.

    ``label_noise``: fraction of training labels replaced by a uniformly random *other* class.
    """
    if not 0 <= label_noise < 1:
        raise ValueError(f"label_noise={label_noise} must be in [0, 1)")
    x, y = load_digits_arrays()
    test_idx, val_idx, train_idx = stratified_parts(y, [test_fraction, val_fraction], seed)
    rng = np.random.default_rng(seed + 1)
    if train_size is not None:
        if not N_CLASSES <= train_size <= len(train_idx):
            raise ValueError(
                f"train_size={train_size} must be between {N_CLASSES} and {len(train_idx)}")
        if train_size < len(train_idx):
            keep = stratified_parts(y[train_idx], [train_size / len(train_idx)], seed)[0]
            train_idx = train_idx[keep]
    train_y = y[train_idx].copy()
    flip = rng.random(len(train_y)) < label_noise
    train_y[flip] = (train_y[flip] + rng.integers(1, N_CLASSES, flip.sum())) % N_CLASSES
    mean = x[train_idx].mean(axis=0)
    std = np.maximum(x[train_idx].std(axis=0), 1.0)  # constant border pixels: avoid /0
    scale = lambda a: (a - mean) / std  # noqa: E731
    return DigitsSplit(scale(x[train_idx]), train_y, scale(x[val_idx]), y[val_idx],
                       HeldOutTestSet(scale(x[test_idx]), y[test_idx]), mean, std)


@dataclass(frozen=True)
class ModelConfig:
    """Step 2 and 3 settings: the network and how it is trained (full-batch Adam)."""

    hidden: int = 64  # hidden ReLU units; 0 = no hidden layer (softmax regression)
    freeze_hidden: bool = False  # True = keep the random first layer (no feature learning)
    weight_decay: float = 1e-4  # L2 penalty coefficient added to the mean cross-entropy
    lr: float = 1e-2  # Adam learning rate
    steps: int = 200  # full-batch Adam steps


def build_digits_mlp(config: ModelConfig, seed: int, n_inputs: int = 64) -> nn.Sequential:
    """Step 2, model building: define the structure and initialise it (PyTorch defaults)."""
    torch.manual_seed(seed)
    if config.hidden == 0:
        return nn.Sequential(nn.Linear(n_inputs, N_CLASSES))
    model = nn.Sequential(nn.Linear(n_inputs, config.hidden), nn.ReLU(),
                          nn.Linear(config.hidden, N_CLASSES))
    if config.freeze_hidden:
        model[0].requires_grad_(False)
    return model


def train_model(model: nn.Sequential, x: np.ndarray, y: np.ndarray,
                config: ModelConfig) -> list[float]:
    """Step 3, training: forward, loss, backward, update, repeated. Returns the losses."""
    inputs = torch.as_tensor(x, dtype=torch.float32)
    targets = torch.as_tensor(y)
    # full batch, so each of the book's loop's epochs is one Adam step on the trainable
    # parameters (a frozen first layer is left out by the optimiser)
    result = fit(model, TensorBatches(inputs, targets, batch_size=None, shuffle=False),
                 OptimConfig(optimizer="adam", lr=config.lr, weight_decay=config.weight_decay),
                 LoopConfig(epochs=config.steps, seed=None, record_steps=True))
    return result.step_losses


def predictor(model: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """A function from inputs to predicted labels (what the test set is given)."""
    def predict(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.as_tensor(x, dtype=torch.float32)).argmax(1).numpy()
    return predict


def fit_and_score(config: ModelConfig, train_x: np.ndarray, train_y: np.ndarray,
                  eval_sets: Sequence[tuple[np.ndarray, np.ndarray]], seed: int) -> list[float]:
    """Train one model and return its accuracy on each (x, y) in ``eval_sets``."""
    model = build_digits_mlp(config, seed, train_x.shape[1])
    train_model(model, train_x, train_y, config)
    predict = predictor(model)
    return [float(np.mean(predict(x) == y)) for x, y in eval_sets]


@dataclass(frozen=True)
class SelectionBias:
    """Accuracies of the configuration chosen in each random partition of the held-out pool."""

    by_test_on_test: np.ndarray  # (repeats,) chosen by test accuracy: its test accuracy
    by_test_on_fresh: np.ndarray  # (repeats,) the same model on the untouched fresh part
    by_val_on_test: np.ndarray  # (repeats,) chosen by validation accuracy: its test accuracy
    by_val_on_fresh: np.ndarray  # (repeats,) the same model on the fresh part
    pool_accuracy: np.ndarray  # (configs,) each config's accuracy on the whole held-out pool


def selection_bias(configs: Sequence[ModelConfig], repeats: int, seed: int,
                   train_fraction: float = 0.3, eval_size: int = 180) -> SelectionBias:
    """Tune on the test set, as the essay advises, and measure the optimism.

    Every config is trained once on a stratified ``train_fraction`` of the digits. The other
    images form a held-out pool; each repeat partitions it at random into a validation part
    and a test part of ``eval_size`` images each, and a fresh part (the rest) that takes no
    part in any choice. Choosing by test accuracy and reporting that test accuracy is
    optimistic; choosing by validation accuracy and reporting test accuracy is not.
    """
    if repeats < 1:
        raise ValueError(f"repeats={repeats} must be at least 1")
    x, y = load_digits_arrays()
    train, pool = stratified_parts(y, [train_fraction], seed)
    if 2 * eval_size >= len(pool):
        raise ValueError(f"eval_size={eval_size} leaves no fresh images in a pool of {len(pool)}")
    mean, std = x[train].mean(0), np.maximum(x[train].std(0), 1.0)
    train_x, pool_x = (x[train] - mean) / std, (x[pool] - mean) / std
    correct = []
    for config in configs:
        model = build_digits_mlp(config, seed, x.shape[1])
        train_model(model, train_x, y[train], config)
        correct.append(predictor(model)(pool_x) == y[pool])
    correct = np.array(correct, dtype=np.float64)  # (configs, pool)
    rng = np.random.default_rng(seed + 1)
    rows = []
    for _ in range(repeats):
        order = rng.permutation(len(pool))
        val, test, fresh = order[:eval_size], order[eval_size:2 * eval_size], order[2 * eval_size:]
        val_acc, test_acc, fresh_acc = (correct[:, part].mean(axis=1) for part in (val, test, fresh))
        by_test, by_val = int(np.argmax(test_acc)), int(np.argmax(val_acc))
        rows.append((test_acc[by_test], fresh_acc[by_test], test_acc[by_val], fresh_acc[by_val]))
    columns = np.array(rows).T
    return SelectionBias(*columns, correct.mean(axis=1))
