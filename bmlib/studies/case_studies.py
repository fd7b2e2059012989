"""Small, honest case studies: a train/validation/test protocol, baselines, metrics with error bars.

The protocol every case study follows:

1. one stratified split into training, validation and test parts (seeded);
2. features standardised with the *training* part's mean and spread only;
3. every model's settings (logistic regression's ``C``, the network's weight decay and its
   stopping epoch) are chosen on the validation part;
4. the test part is used once, at the end, for the reported metrics, with bootstrap
   confidence intervals; repeating steps 1-4 over several seeds shows the split-to-split
   spread.

The baselines are the trivial one (always predict the training set's class frequencies, hence
its majority class) and a strong simple one (L2-regularised logistic regression), against a
small seeded PyTorch MLP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from bmlib.data.splits import three_way_indices
from bmlib.metrics.bootstrap import Metric
from bmlib.metrics.classification import accuracy, auc, brier, log_loss
from bmlib.train.config import LoopConfig, OptimConfig
from bmlib.train.loop import TensorBatches, fit
from sklearn.linear_model import LogisticRegression
from torch import nn


@dataclass(frozen=True)
class Split:
    """Features and integer labels of the three parts of a data set."""

    x_train: np.ndarray  # (n_train, d) features
    y_train: np.ndarray  # (n_train,) labels 0..K-1
    x_val: np.ndarray  # (n_val, d) for choosing settings
    y_val: np.ndarray
    x_test: np.ndarray  # (n_test, d) touched once, for the reported metrics
    y_test: np.ndarray

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_val.max(), self.y_test.max())) + 1


def three_way_split(features: np.ndarray, labels: np.ndarray, seed: int,
                    val_fraction: float = 0.2, test_fraction: float = 0.2) -> Split:
    """A stratified train/validation/test split (fractions of the whole data set), by
    :func:`bmlib.data.splits.three_way_indices`."""
    features, labels = np.asarray(features), np.asarray(labels)
    if features.ndim != 2 or labels.ndim != 1 or len(features) != len(labels):
        raise ValueError(f"features {features.shape} and labels {labels.shape}: need an "
                         "(n, d) array and n labels")
    train, val, test = three_way_indices(labels, seed, val_fraction, test_fraction)
    return Split(features[train], labels[train], features[val], labels[val],
                 features[test], labels[test])


def standardise(split: Split) -> Split:
    """Scale every part with the training part's mean and standard deviation."""
    mean = split.x_train.mean(axis=0)
    std = split.x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)  # constant features (e.g. blank digit pixels) stay 0

    def scale(x: np.ndarray) -> np.ndarray:
        return (x - mean) / std

    return Split(scale(split.x_train), split.y_train, scale(split.x_val), split.y_val,
                 scale(split.x_test), split.y_test)


@dataclass(frozen=True)
class Fitted:
    """A model's chosen setting and its predicted class probabilities."""

    name: str  # model name for tables
    setting: str  # the setting chosen on the validation part, e.g. "C=1"
    val_log_loss: float  # validation log-loss of the chosen setting (nats)
    proba_val: np.ndarray  # (n_val, K) predicted probabilities
    proba_test: np.ndarray  # (n_test, K)


METRICS: dict[str, Metric] = {"accuracy": accuracy, "log_loss": log_loss, "brier": brier,
                              "auc": auc}


def fit_majority(split: Split) -> Fitted:
    """Predict the training set's class frequencies for everyone (argmax: majority class)."""
    prior = np.bincount(split.y_train, minlength=split.num_classes) / len(split.y_train)
    proba_val = np.tile(prior, (len(split.y_val), 1))
    return Fitted("majority class", "class frequencies", log_loss(split.y_val, proba_val),
                  proba_val, np.tile(prior, (len(split.y_test), 1)))


def fit_logistic(split: Split, c_grid: Sequence[float] = (0.01, 0.1, 1.0, 10.0),
                 seed: int = 0) -> Fitted:
    """L2 logistic regression; ``C`` (inverse penalty) chosen by validation log-loss."""
    best: Fitted | None = None
    for c in c_grid:
        model = LogisticRegression(C=c, max_iter=5000, random_state=seed)
        model.fit(split.x_train, split.y_train)
        proba_val = model.predict_proba(split.x_val)
        loss = log_loss(split.y_val, proba_val)
        if best is None or loss < best.val_log_loss:
            best = Fitted("logistic regression", f"C={c:g}", loss, proba_val,
                          model.predict_proba(split.x_test))
    assert best is not None, "c_grid is empty"
    return best


@dataclass(frozen=True)
class MLPConfig:
    """The small network and how it is trained (full batch, float64, Adam)."""

    hidden: int = 32  # hidden units of the one-hidden-layer ReLU network
    max_epochs: int = 300  # full-batch Adam steps at most
    lr: float = 0.02  # Adam learning rate
    weight_decays: tuple[float, ...] = (0.0, 1e-3, 1e-2)  # L2 penalties tried on validation
    patience: int = 30  # steps without a better validation loss before stopping


def _predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.softmax(model(torch.from_numpy(x)), dim=1).numpy()


def train_mlp(split: Split, config: MLPConfig, weight_decay: float, seed: int
              ) -> tuple[nn.Module, int, float]:
    """Train one network; return it at its best validation epoch, that epoch and its loss."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(split.x_train.shape[1], config.hidden), nn.ReLU(),
                          nn.Linear(config.hidden, split.num_classes)).double()
    x, y = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train).long()
    x_val, y_val = torch.from_numpy(split.x_val), torch.from_numpy(split.y_val).long()

    def validate(m: nn.Module) -> tuple[float, None]:
        with torch.no_grad():
            return nn.functional.cross_entropy(m(x_val), y_val).item(), None

    # full batch: each epoch of the book's loop is one Adam step; keep the best epoch
    result = fit(model, TensorBatches(x, y, batch_size=None, shuffle=False),
                 OptimConfig(optimizer="adam", lr=config.lr, weight_decay=weight_decay),
                 LoopConfig(epochs=config.max_epochs, seed=None, keep_best=True,
                            patience=config.patience), validate=validate)
    best_epoch = result.best_epoch or 0
    return model, best_epoch, result.history[best_epoch - 1].val_loss


def fit_mlp(split: Split, config: MLPConfig = MLPConfig(), seed: int = 0) -> Fitted:
    """The MLP with weight decay and stopping epoch chosen by validation log-loss."""
    best: tuple[float, nn.Module, str] | None = None
    for decay in config.weight_decays:
        model, epoch, loss = train_mlp(split, config, decay, seed)
        if best is None or loss < best[0]:
            best = (loss, model, f"weight decay {decay:g}, {epoch} epochs")
    assert best is not None, "config.weight_decays is empty"
    loss, model, setting = best
    return Fitted("MLP (PyTorch)", setting, loss, _predict(model, split.x_val),
                  _predict(model, split.x_test))


def fit_all(split: Split, mlp_config: MLPConfig = MLPConfig(), seed: int = 0
            ) -> list[Fitted]:
    """Majority class, logistic regression and the MLP on one split."""
    return [fit_majority(split), fit_logistic(split, seed=seed),
            fit_mlp(split, mlp_config, seed)]


def repeated_splits(features: np.ndarray, labels: np.ndarray, seeds: Sequence[int],
                    metrics: Mapping[str, Metric], mlp_config: MLPConfig = MLPConfig()
                    ) -> dict[str, dict[str, np.ndarray]]:
    """Run the whole protocol once per seed; model -> metric -> per-seed test values."""
    table: dict[str, dict[str, list[float]]] = {}
    for seed in seeds:
        split = standardise(three_way_split(features, labels, seed))
        for fitted in fit_all(split, mlp_config, seed):
            row = table.setdefault(fitted.name, {name: [] for name in metrics})
            for name, metric in metrics.items():
                row[name].append(metric(split.y_test, fitted.proba_test))
    return {model: {m: np.array(v) for m, v in row.items()} for model, row in table.items()}

