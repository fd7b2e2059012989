"""The applications chapter's experiments: two case studies and a data-parallel check.

* :func:`run_case_study` puts one data set through the protocol of
  :mod:`bmlib.studies.case_studies` (split, standardise, three models, test metrics with
  bootstrap intervals, paired MLP - logistic-regression differences);
  :func:`repeat_case_study` repeats it over fresh splits for the split-to-split spread.
* :func:`data_parallel_check` trains the same classifier in one process and with DDP on
  several (:mod:`bmlib.train.distributed`) and measures how far the two runs drift apart;
  :func:`ddp_throughput` times the training loop for 1 and 2 processes.

Everything runs on the CPU: the case studies in float64, the DDP runs over gloo.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits

from bmlib.metrics.bootstrap import (Interval, bootstrap_difference, bootstrap_indices,
                                     bootstrap_interval)
from bmlib.metrics.calibration import reliability
from bmlib.metrics.classification import confusion, sensitivity_specificity
from bmlib.studies.case_studies import (METRICS, Fitted, MLPConfig, Split, fit_all,
                                        repeated_splits, standardise, three_way_split)
from bmlib.train.distributed import (DataParallelConfig, TrainResult, run_spawned,
                                     synthetic_classification, train_single_process)

MAJORITY, LOGISTIC, MLP = "majority class", "logistic regression", "MLP (PyTorch)"
LABELS = {"accuracy": "accuracy", "log_loss": "log-loss", "auc": "AUC", "brier": "Brier score"}
GLUE_MODELS = (("lr", LOGISTIC), ("mlp", MLP))  # glue-name key -> model name


def breast_cancer_data() -> tuple[np.ndarray, np.ndarray]:
    """The Wisconsin breast-cancer features and labels, malignant = 1 (scikit-learn: 0)."""
    cancer = load_breast_cancer()
    return cancer.data, 1 - cancer.target


def digits_data() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8 x 8 handwritten digits (pixel counts 0-16) and their labels 0-9."""
    digits = load_digits()
    return digits.data, digits.target


@dataclass(frozen=True)
class ConfusionSummary:
    """A confusion matrix (row = true class, column = predicted) and its largest error."""

    matrix: np.ndarray  # (K, K) counts

    @property
    def errors(self) -> int:
        return int(self.matrix.sum() - np.trace(self.matrix))

    @property
    def most_frequent(self) -> tuple[int, int, int]:
        """(true class, predicted class, count) of the most frequent confusion."""
        off_diagonal = self.matrix - np.diag(np.diag(self.matrix))
        true, predicted = np.unravel_index(off_diagonal.argmax(), self.matrix.shape)
        return int(true), int(predicted), int(off_diagonal.max())

    def report(self) -> str:
        true, predicted, count = self.most_frequent
        return (f"most frequent confusion: true {true} read as {predicted} ({count} times); "
                f"errors in total: {self.errors} of {int(self.matrix.sum())}")


@dataclass(frozen=True)
class ReliabilityCurve:
    """One model's calibration table over equal-width bins of P(positive)."""

    mean_predicted: np.ndarray  # mean predicted probability per non-empty bin (fraction)
    observed: np.ndarray  # observed frequency of the positive class per bin (fraction)
    counts: np.ndarray  # test examples per bin


@dataclass(frozen=True)
class CalibrationCurves:
    """Reliability curves of several models on the same test part."""

    bins: int  # equal-width bins of [0, 1]
    curves: Mapping[str, ReliabilityCurve]  # model name -> its curve


@dataclass(frozen=True)
class CaseStudy:
    """One data set through the protocol: split, fitted models and test metrics."""

    num_examples: int  # examples in the whole data set
    num_positive: int | None  # examples of the positive class (binary studies)
    positive_name: str | None  # what the positive class is called, e.g. "malignant"
    split: Split  # the standardised train/validation/test split
    fits: tuple[Fitted, ...]  # majority class, logistic regression, MLP
    metrics: tuple[str, ...]  # metric names of ``METRICS`` in ``rows``
    rows: Mapping[str, Mapping[str, Interval]]  # model -> metric -> test value with 95 % CI
    rates: Mapping[str, tuple[float, float]]  # model -> (sensitivity, specificity); binary
    differences: Mapping[str, Interval]  # metric -> paired MLP minus logistic regression

    def fitted(self, name: str) -> Fitted:
        for fitted in self.fits:
            if fitted.name == name:
                return fitted
        raise KeyError(f"no model {name!r}: choose one of {[f.name for f in self.fits]}")

    def confusion(self, name: str) -> ConfusionSummary:
        """The test-part confusion matrix of model ``name``."""
        proba = self.fitted(name).proba_test
        return ConfusionSummary(confusion(self.split.y_test, proba, self.split.num_classes))

    def calibration(self, names: Sequence[str] = (LOGISTIC, MLP), bins: int = 5
                    ) -> CalibrationCurves:
        """Reliability curves of the named models for the positive class (binary only)."""
        if self.num_positive is None:
            raise ValueError("calibration needs a binary study with a positive class")
        curves = {}
        for name in names:
            mean_p, observed, counts = reliability(self.split.y_test,
                                                   self.fitted(name).proba_test, 1, bins)
            curves[name] = ReliabilityCurve(mean_p, observed, counts)
        return CalibrationCurves(bins, curves)

    def summary(self) -> str:
        split = self.split
        positives = (f" ({self.num_positive} {self.positive_name})"
                     if self.num_positive is not None else "")
        return (f"examples: {self.num_examples}{positives}; train/val/test = "
                f"{len(split.y_train)}/{len(split.y_val)}/{len(split.y_test)}")

    def table(self) -> str:
        """One line per model: its validation-chosen setting and test metrics with CIs."""
        def line(cells: list[str]) -> str:  # every column padded but the last
            widths = [20, 30] + [24] * len(cells)
            return " ".join([f"{c:<{w}}" for c, w in zip(cells[:-1], widths)] + cells[-1:])
        header = ["model", "chosen on validation"] + [
            f"test {LABELS[m]} [95% CI]" for m in self.metrics]
        lines = [line(header + (["sens.  spec."] if self.rates else []))]
        for fitted in self.fits:
            cells = [fitted.name, fitted.setting] + [
                str(self.rows[fitted.name][m]) for m in self.metrics]
            if self.rates:
                sens, spec = self.rates[fitted.name]
                cells.append(f"{sens:.3f}  {spec:.3f}")
            lines.append(line(cells))
        return "\n".join(lines)

    def report(self) -> str:
        return f"{self.summary()}\n{self.table()}"

    def differences_report(self) -> str:
        return "\n".join(f"MLP minus logistic regression, {LABELS[m]}: {interval}"
                         for m, interval in self.differences.items())


def run_case_study(features: np.ndarray, labels: np.ndarray, mlp_config: MLPConfig, seed: int,
                   n_boot: int, metrics: Sequence[str] = ("accuracy", "log_loss"),
                   differences: Sequence[str] = ("accuracy",), positive_name: str | None = None
                   ) -> CaseStudy:
    """Split (seeded), fit the three models and bootstrap their test metrics.

    ``positive_name`` marks a binary study whose class 1 is the positive one: it adds
    sensitivity and specificity at threshold 0.5 and the positive count.
    """
    unknown = [m for m in (*metrics, *differences) if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}: choose from {sorted(METRICS)}")
    labels = np.asarray(labels)
    split = standardise(three_way_split(features, labels, seed=seed))
    if positive_name is not None and split.num_classes != 2:
        raise ValueError(f"positive_name={positive_name!r} needs two classes, "
                         f"got {split.num_classes}")
    fits = tuple(fit_all(split, mlp_config, seed=seed))
    resamples = bootstrap_indices(len(split.y_test), n_boot, seed)
    y_test = split.y_test
    rows = {f.name: {m: bootstrap_interval(y_test, f.proba_test, METRICS[m], resamples)
                     for m in metrics} for f in fits}
    rates = ({f.name: sensitivity_specificity(y_test, f.proba_test, positive=1) for f in fits}
             if positive_name is not None else {})
    by_name = {f.name: f for f in fits}
    diffs = {m: bootstrap_difference(y_test, by_name[MLP].proba_test,
                                     by_name[LOGISTIC].proba_test, METRICS[m], resamples)
             for m in differences}
    num_positive = int(labels.sum()) if positive_name is not None else None
    return CaseStudy(len(labels), num_positive, positive_name, split, fits, tuple(metrics),
                     rows, rates, diffs)


@dataclass(frozen=True)
class RepeatedSplits:
    """Test metrics of every model over several fresh splits."""

    seeds: tuple[int, ...]  # one split per seed
    values: Mapping[str, Mapping[str, np.ndarray]]  # model -> metric -> per-seed test values

    def mean(self, model: str, metric: str) -> float:
        return float(self.values[model][metric].mean())

    def sd(self, model: str, metric: str) -> float:
        """Sample standard deviation (ddof=1) over the splits."""
        return float(self.values[model][metric].std(ddof=1))

    def mlp_wins(self, metric: str = "log_loss") -> int:
        """Splits where the MLP's test ``metric`` is lower (better) than logistic regression's."""
        return int(np.sum(self.values[MLP][metric] < self.values[LOGISTIC][metric]))

    def report(self) -> str:
        lines = [f"test metrics over {len(self.seeds)} further independent splits "
                 "(mean ± standard deviation):"]
        for name in self.values:
            lines.append(f"  {name:<20} accuracy {self.mean(name, 'accuracy'):.3f} ± "
                         f"{self.sd(name, 'accuracy'):.3f}   log-loss "
                         f"{self.mean(name, 'log_loss'):.3f} ± {self.sd(name, 'log_loss'):.3f}")
        return "\n".join(lines)


def repeat_case_study(features: np.ndarray, labels: np.ndarray, seed: int, repeats: int,
                      mlp_config: MLPConfig) -> RepeatedSplits:
    """The whole protocol on ``repeats`` fresh splits, seeds ``seed + 1 .. seed + repeats``
    (the main split used ``seed``), with accuracy and log-loss on each test part."""
    if repeats < 2:
        raise ValueError(f"repeats={repeats}: need at least 2 splits for a spread")
    seeds = tuple(seed + 1 + k for k in range(repeats))
    metrics = {"accuracy": METRICS["accuracy"], "log_loss": METRICS["log_loss"]}
    return RepeatedSplits(seeds, repeated_splits(features, labels, seeds, metrics, mlp_config))


def logistic_parameter_count(num_features: int, num_classes: int) -> int:
    """Weights and biases of (multinomial) logistic regression; one row when binary."""
    return (num_features + 1) * (1 if num_classes == 2 else num_classes)


def mlp_parameter_count(num_features: int, hidden: int, num_classes: int) -> int:
    """Weights and biases of the one-hidden-layer MLP: (d + 1) h + (h + 1) K."""
    return (num_features + 1) * hidden + (hidden + 1) * num_classes


def _accuracy_glue(study: CaseStudy, prefix: str, key: str, name: str) -> dict[str, float]:
    accuracy = study.rows[name]["accuracy"]
    return {f"{prefix}_{key}_acc": accuracy.point, f"{prefix}_{key}_acc_lo": accuracy.low,
            f"{prefix}_{key}_acc_hi": accuracy.high}


def breast_cancer_glue(study: CaseStudy, repeats: RepeatedSplits, mlp_config: MLPConfig
                       ) -> dict[str, Any]:
    """The numbers the breast-cancer prose refers to (``app_bc_*`` and ``app_repeats``)."""
    values: dict[str, Any] = {
        "app_bc_n": study.num_examples, "app_bc_malignant": study.num_positive,
        "app_bc_ntest": len(study.split.y_test),
        "app_bc_major_acc": study.rows[MAJORITY]["accuracy"].point}
    for key, name in GLUE_MODELS:
        sens, spec = study.rates[name]
        values.update(_accuracy_glue(study, "app_bc", key, name))
        values.update({f"app_bc_{key}_auc": study.rows[name]["auc"].point,
                       f"app_bc_{key}_sens": sens, f"app_bc_{key}_spec": spec,
                       f"app_bc_{key}_rep_acc": repeats.mean(name, "accuracy"),
                       f"app_bc_{key}_rep_sd": repeats.sd(name, "accuracy")})
    acc, ll = study.differences["accuracy"], study.differences["log_loss"]
    features, classes = study.split.x_train.shape[1], study.split.num_classes
    values.update({
        "app_bc_diff_acc": acc.point, "app_bc_diff_acc_lo": acc.low,
        "app_bc_diff_acc_hi": acc.high, "app_bc_diff_ll_lo": ll.low,
        "app_bc_diff_ll_hi": ll.high, "app_bc_mlp_wins": repeats.mlp_wins("log_loss"),
        "app_repeats": len(repeats.seeds),
        "app_bc_lr_missed": int(study.confusion(LOGISTIC).matrix[1, 0]),  # malignant as benign
        "app_bc_lr_params": logistic_parameter_count(features, classes),
        "app_bc_mlp_params": mlp_parameter_count(features, mlp_config.hidden, classes)})
    return values


def digits_glue(study: CaseStudy, repeats: RepeatedSplits) -> dict[str, Any]:
    """The numbers the digits prose refers to (``app_dg_*``)."""
    values: dict[str, Any] = {
        "app_dg_n": study.num_examples, "app_dg_ntest": len(study.split.y_test),
        "app_dg_major_acc": study.rows[MAJORITY]["accuracy"].point}
    for key, name in GLUE_MODELS:
        values.update(_accuracy_glue(study, "app_dg", key, name))
        values.update({f"app_dg_{key}_rep_acc": repeats.mean(name, "accuracy"),
                       f"app_dg_{key}_rep_sd": repeats.sd(name, "accuracy")})
    diff = study.differences["accuracy"]
    values.update({"app_dg_diff": diff.point, "app_dg_diff_lo": diff.low,
                   "app_dg_diff_hi": diff.high, "app_dg_errors": study.confusion(MLP).errors})
    return values


@dataclass(frozen=True)
class DataParallelCheck:
    """A single-process run and a DDP run of the same training, and how far apart they end."""

    config: DataParallelConfig  # the DDP run's settings (the reference uses the same)
    single: TrainResult  # one process, no torch.distributed
    parallel: TrainResult  # ``config.world_size`` processes
    tolerance: float  # largest difference accepted as rounding

    @property
    def loss_gap(self) -> float:
        """Largest absolute difference between the two runs' per-step losses."""
        return max(abs(a - b) for a, b in zip(self.single.losses, self.parallel.losses))

    @property
    def param_gap(self) -> float:
        """Largest absolute difference between the two runs' final parameters."""
        return (self.single.final_parameters - self.parallel.final_parameters).abs().max().item()

    @property
    def agrees(self) -> bool:
        return self.loss_gap < self.tolerance and self.param_gap < self.tolerance

    def report(self) -> str:
        steps = self.config.steps
        shown = sorted(s for s in {0, 1, 2, steps // 2, steps - 1} if s < steps)
        runs = f"{self.parallel.world_size} processes ({self.parallel.backend})"
        lines = [f"{'step':>4} {'1 process':>12} {runs:>20}"]
        lines += [f"{s:>4} {self.single.losses[s]:>12.6f} {self.parallel.losses[s]:>20.6f}"
                  for s in shown]
        lines.append(f"losses and final parameters agree within {self.tolerance:g}: "
                     f"{self.agrees}")
        return "\n".join(lines)

    def glue_values(self) -> dict[str, Any]:
        return {"app_ddp_loss_gap": self.loss_gap, "app_ddp_param_gap": self.param_gap,
                "app_ddp_tol": self.tolerance, "app_ddp_steps": self.config.steps}


def data_parallel_check(features: torch.Tensor, labels: torch.Tensor,
                        config: DataParallelConfig, tolerance: float = 1e-9
                        ) -> DataParallelCheck:
    """Train once in a plain process and once with DDP on ``config.world_size`` processes."""
    if not tolerance > 0:
        raise ValueError(f"tolerance={tolerance!r}: must be > 0")
    single = train_single_process(features, labels, config)
    return DataParallelCheck(config, single, run_spawned(features, labels, config), tolerance)


@dataclass(frozen=True)
class Throughput:
    """Training-loop throughput per number of processes (process start-up excluded)."""

    examples_per_second: Mapping[int, float]  # world size -> global examples per second
    threads: int  # torch intra-op threads of the calling process
    logical_cpus: int | None  # os.cpu_count()

    @property
    def speedup(self) -> float:
        """Throughput of the largest world size over that of the smallest."""
        sizes = sorted(self.examples_per_second)
        return self.examples_per_second[sizes[-1]] / self.examples_per_second[sizes[0]]

    def report(self) -> str:
        sizes = sorted(self.examples_per_second)
        lines = [f"{n} process(es): {self.examples_per_second[n]:,.0f} samples/s" for n in sizes]
        lines.append(f"speed-up {sizes[-1]} vs {sizes[0]}: {self.speedup:.2f}x; CPU cores "
                     f"visible: {self.threads} threads, {self.logical_cpus} logical CPUs")
        return "\n".join(lines)

    def glue_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {f"app_tp_{n}": v for n, v in self.examples_per_second.items()}
        values.update({"app_tp_speedup": self.speedup, "app_cpus": self.logical_cpus})
        return values


def ddp_throughput(seed: int, world_sizes: Sequence[int] = (1, 2), num_examples: int = 8192,
                   num_features: int = 256, num_classes: int = 10, global_batch: int = 512,
                   steps: int = 30, hidden: int = 512) -> Throughput:
    """Time a float32 gloo run of synthetic blobs for each world size, one thread per rank,
    back to back (``bench/ddp_throughput.py`` alternates them over several rounds)."""
    if len(world_sizes) < 2:
        raise ValueError(f"world_sizes={tuple(world_sizes)}: need at least two to compare")
    x, y = synthetic_classification(num_examples, num_features, num_classes, seed=seed)
    rates = {}
    for world_size in world_sizes:
        config = DataParallelConfig(world_size=world_size, global_batch=global_batch,
                                    steps=steps, hidden=hidden, seed=seed, dtype="float32",
                                    backend="gloo", threads_per_process=1)
        rates[world_size] = run_spawned(x, y, config).examples_per_second
    return Throughput(rates, torch.get_num_threads(), os.cpu_count())
