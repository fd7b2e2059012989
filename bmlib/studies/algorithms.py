"""The algorithms chapter's checks and experiments on the digits (the sequence models are in
:mod:`bmlib.studies.sequence_study`).

Activations differentiated by autograd against their closed forms, convolution by hand
against ``torch.nn.functional.conv2d``, the four-step workflow's model choice on the
validation set, what tuning on the test set does (:func:`bmlib.studies.workflow.selection_bias`),
data dependence, the compute cost of a Transformer block, and what can be read off a model's
weights. Each function returns a frozen result; ``report()`` gives the lines the chapter
prints and ``glue_values()`` the numbers its prose cites, under their glue names. Everything
runs on the CPU; seeds are arguments, and the same seed gives the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bmlib.core.progress import progress
from bmlib.models.attention import block_matmul_flops, block_parameter_count
from bmlib.scratch.convolution import conv2d_cost, conv2d_im2col, conv2d_loops
from bmlib.studies.workflow import (DigitsSplit, Metrics, ModelConfig, SelectionBias,
                                    build_digits_mlp, fit_and_score, predictor, prepare_digits,
                                    selection_bias, train_model)

# ---------------------------------------------------------------- activations (§3.1.1)

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "ReLU": torch.relu, "Sigmoid": torch.sigmoid, "Tanh": torch.tanh}
#: Each activation's derivative in closed form (ReLU'(0) = 0, PyTorch's convention).
CLOSED_FORM_DERIVATIVES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "ReLU": lambda v: (v > 0).double(),
    "Sigmoid": lambda v: torch.sigmoid(v) * (1 - torch.sigmoid(v)),
    "Tanh": lambda v: 1 - torch.tanh(v) ** 2,
}


@dataclass(frozen=True)
class ActivationCheck:
    """ReLU, sigmoid and tanh on a grid, their autograd derivatives and the gap to the closed
    forms (float64)."""

    x: np.ndarray  # (points,) pre-activations (dimensionless)
    values: dict[str, np.ndarray]  # name -> f(x)
    derivatives: dict[str, np.ndarray]  # name -> f'(x) by autograd
    errors: dict[str, float]  # name -> max |autograd - closed form|

    def report(self) -> str:
        return "\n".join(f"{name:8s} max |autograd - closed form| = {error:.1e}, "
                         f"largest derivative = {self.derivatives[name].max():.4f}"
                         for name, error in self.errors.items())

    def glue_values(self) -> dict[str, Any]:
        return {"alg_act_max_err": max(self.errors.values()),
                "alg_sigmoid_max_slope": self.derivatives["Sigmoid"].max()}


def activation_check(low: float = -5.0, high: float = 5.0, points: int = 1001) -> ActivationCheck:
    """Differentiate each of :data:`ACTIVATIONS` with autograd on ``points`` values in
    ``[low, high]`` and compare with :data:`CLOSED_FORM_DERIVATIVES`."""
    if points < 2 or not low < high:
        raise ValueError(f"need points >= 2 and low < high, got {points}, [{low}, {high}]")
    x = torch.linspace(low, high, points, dtype=torch.float64, requires_grad=True)
    values, derivatives, errors = {}, {}, {}
    for name, f in ACTIVATIONS.items():
        y = f(x)
        (grad,) = torch.autograd.grad(y.sum(), x)
        values[name] = y.detach().numpy()
        derivatives[name] = grad.numpy()
        errors[name] = (grad - CLOSED_FORM_DERIVATIVES[name](x.detach())).abs().max().item()
    return ActivationCheck(x.detach().numpy(), values, derivatives, errors)


# ---------------------------------------------------------------- convolution (§3.1.2)


@dataclass(frozen=True)
class ConvolutionCheck:
    """Both hand-written convolutions against ``F.conv2d`` (float64) per stride and padding."""

    # (stride, padding, version, output shape, max |ours - conv2d|) per comparison
    rows: tuple[tuple[int, int, str, tuple[int, ...], float], ...]

    @property
    def max_error(self) -> float:
        return max(row[-1] for row in self.rows)

    def report(self) -> str:
        return "\n".join(f"stride {stride}, padding {padding}, {name:6s}: output {shape}, "
                         f"max |ours - conv2d| = {error:.1e}"
                         for stride, padding, name, shape, error in self.rows)

    def glue_values(self) -> dict[str, Any]:
        return {"alg_conv_max_err": self.max_error}


def convolution_check(seed: int, settings: Sequence[tuple[int, int]] = ((1, 0), (1, 1), (2, 1))
                      ) -> ConvolutionCheck:
    """Random images (2, 3, 16, 16), kernels (4, 3, 3, 3) and biases; for every
    ``(stride, padding)`` compare :func:`conv2d_loops` and :func:`conv2d_im2col` with PyTorch."""
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(2, 3, 16, 16))
    kernels = rng.normal(size=(4, 3, 3, 3))
    bias = rng.normal(size=4)
    rows = []
    for stride, padding in settings:
        reference = F.conv2d(torch.from_numpy(images), torch.from_numpy(kernels),
                             torch.from_numpy(bias), stride=stride, padding=padding).numpy()
        for name, fn in [("loops", conv2d_loops), ("im2col", conv2d_im2col)]:
            error = np.abs(fn(images, kernels, bias, stride=stride, padding=padding)
                           - reference).max()
            rows.append((stride, padding, name, reference.shape, float(error)))
    return ConvolutionCheck(tuple(rows))


#: The Sobel kernel that responds to vertical edges (dark left, bright right is positive).
SOBEL_VERTICAL = np.array([[[[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]]])


@dataclass(frozen=True)
class EdgeMap:
    digit: np.ndarray  # (8, 8) grey levels 0-16 of one training digit
    edges: np.ndarray  # (8, 8) its convolution with SOBEL_VERTICAL, padding 1 (grey levels)


def vertical_edges(split: DigitsSplit, index: int = 0) -> EdgeMap:
    """Undo the standardisation of training digit ``index`` and convolve it with
    :data:`SOBEL_VERTICAL` by :func:`conv2d_loops`."""
    digit = (split.train_x[index].reshape(1, 1, 8, 8) * split.pixel_std.reshape(8, 8)
             + split.pixel_mean.reshape(8, 8))
    edges = conv2d_loops(digit, SOBEL_VERTICAL, padding=1)
    return EdgeMap(digit[0, 0], edges[0, 0])


# ---------------------------------------------------------------- the workflow (§3.2)


@dataclass(frozen=True)
class CandidateRun:
    config: ModelConfig
    val_accuracy: float  # fraction of validation digits right
    losses: list[float]  # training cross-entropy per full-batch Adam step (nats)
    model: nn.Sequential


@dataclass(frozen=True)
class ModelChoice:
    """Steps 2 and 3: every candidate trained and scored on the validation set."""

    runs: tuple[CandidateRun, ...]

    @property
    def best(self) -> CandidateRun:
        """The first candidate with the highest validation accuracy."""
        return max(self.runs, key=lambda run: run.val_accuracy)

    def report(self) -> str:
        lines = [f"{'hidden':>6} {'weight decay':>12} {'final train loss':>16} "
                 f"{'validation acc':>14}"]
        lines += [f"{r.config.hidden:>6} {r.config.weight_decay:>12.0e} {r.losses[-1]:>16.4f} "
                  f"{r.val_accuracy:>14.4f}" for r in self.runs]
        best = self.best.config
        lines.append(f"chosen on validation: hidden={best.hidden}, "
                     f"weight decay={best.weight_decay:.0e}")
        return "\n".join(lines)

    def glue_values(self, test: Metrics) -> dict[str, Any]:
        """The choice and its (single) test evaluation."""
        best = self.best
        return {"alg_best_hidden": best.config.hidden,
                "alg_best_wd": f"{best.config.weight_decay:.0e}",
                "alg_best_val": best.val_accuracy, "alg_test_acc": test.accuracy,
                "alg_test_f1": test.macro_f1}


def choose_model(split: DigitsSplit, candidates: Sequence[ModelConfig], seed: int) -> ModelChoice:
    """Build and train every candidate on the training set; score it on the validation set."""
    runs = []
    for config in candidates:
        model = build_digits_mlp(config, seed=seed)
        losses = train_model(model, split.train_x, split.train_y, config)
        val_accuracy = float(np.mean(predictor(model)(split.val_x) == split.val_y))
        runs.append(CandidateRun(config, val_accuracy, losses, model))
    return ModelChoice(tuple(runs))


def tuning_grid() -> list[ModelConfig]:
    """The sixteen configurations of the test-tuning experiment: two widths x two learning
    rates x two weight decays x two training lengths."""
    return [ModelConfig(hidden=h, lr=lr, weight_decay=wd, steps=steps)
            for h in (16, 64) for lr in (3e-3, 3e-2) for wd in (1e-4, 1e-2)
            for steps in (50, 150)]


@dataclass(frozen=True)
class TuneOnTest:
    """:func:`selection_bias` and the optimism of the reported score (reported - fresh)."""

    n_configs: int  # configurations compared
    repeats: int  # random partitions of the held-out pool
    bias: SelectionBias

    @property
    def optimism_test(self) -> np.ndarray:
        """Per partition: chosen on test, reported on test, minus its fresh accuracy."""
        return self.bias.by_test_on_test - self.bias.by_test_on_fresh

    @property
    def optimism_val(self) -> np.ndarray:
        """Per partition: chosen on validation, reported on test, minus its fresh accuracy."""
        return self.bias.by_val_on_test - self.bias.by_val_on_fresh

    def report(self) -> str:
        b = self.bias
        lines = [f"{self.n_configs} configurations; accuracy on the whole held-out pool: "
                 f"{b.pool_accuracy.min():.4f} to {b.pool_accuracy.max():.4f}",
                 f"{'chosen by':>10} {'reported test acc':>18} {'fresh acc':>10} "
                 f"{'optimism (pp)':>14} {'share > 0':>10}"]
        for name, on_test, on_fresh, gap in [
                ("test", b.by_test_on_test, b.by_test_on_fresh, self.optimism_test),
                ("validation", b.by_val_on_test, b.by_val_on_fresh, self.optimism_val)]:
            lines.append(f"{name:>10} {on_test.mean():>18.4f} {on_fresh.mean():>10.4f} "
                         f"{100 * gap.mean():>+14.2f} {np.mean(gap > 0):>10.3f}")
        return "\n".join(lines)

    def glue_values(self) -> dict[str, Any]:
        b, gap = self.bias, self.optimism_test
        return {"alg_leak_configs": self.n_configs, "alg_leak_repeats": self.repeats,
                "alg_leak_test": b.by_test_on_test.mean(),
                "alg_leak_fresh": b.by_test_on_fresh.mean(), "alg_leak_bias_pp": 100 * gap.mean(),
                "alg_leak_positive_pct": 100 * np.mean(gap > 0),
                "alg_leak_val_bias_pp": 100 * self.optimism_val.mean(),
                "alg_leak_best_pool": b.pool_accuracy.max()}


def tune_on_test(configs: Sequence[ModelConfig], repeats: int, seed: int) -> TuneOnTest:
    """Run :func:`selection_bias` over ``configs`` with ``repeats`` random partitions."""
    return TuneOnTest(len(configs), repeats, selection_bias(configs, repeats=repeats, seed=seed))


# ---------------------------------------------------------------- strengths and weaknesses (§3.3)

LINEAR, FROZEN, LEARNED = ("softmax regression (no features)", "random frozen features",
                           "learned features (MLP)")


def feature_models() -> dict[str, ModelConfig]:
    """Three models of increasing feature learning: none, random frozen, learned."""
    return {LINEAR: ModelConfig(hidden=0), FROZEN: ModelConfig(hidden=64, freeze_hidden=True),
            LEARNED: ModelConfig(hidden=64)}


@dataclass(frozen=True)
class DataDependence:
    """Validation accuracy of each model by training-set size and by label noise."""

    train_sizes: tuple[int, ...]  # training images
    noise_percents: tuple[int, ...]  # % of training labels replaced by a wrong class
    size_accuracy: dict[str, list[float]]  # model -> accuracy per training size
    noise_accuracy: dict[str, list[float]]  # model -> accuracy per noise level

    def report(self) -> str:
        lines = []
        for title, columns, table in [
                ("validation accuracy by training-set size", self.train_sizes, self.size_accuracy),
                ("validation accuracy by label noise (% of training labels wrong)",
                 self.noise_percents, self.noise_accuracy)]:
            lines += [title, f"{'model':34s}" + "".join(f"{n:>8}" for n in columns)]
            lines += [f"{name:34s}" + "".join(f"{a:>8.4f}" for a in accs)
                      for name, accs in table.items()]
        return "\n".join(lines)

    def glue_values(self) -> dict[str, Any]:
        """Needs the models of :func:`feature_models` (glued by their roles)."""
        size, noise = self.size_accuracy, self.noise_accuracy
        return {"alg_size_small": self.train_sizes[0], "alg_size_large": self.train_sizes[-1],
                "alg_learned_small": size[LEARNED][0], "alg_learned_large": size[LEARNED][-1],
                "alg_linear_large": size[LINEAR][-1], "alg_frozen_large": size[FROZEN][-1],
                "alg_noise_max": self.noise_percents[-1],
                "alg_learned_noisy": noise[LEARNED][-1], "alg_linear_noisy": noise[LINEAR][-1],
                "alg_frozen_noisy": noise[FROZEN][-1], "alg_learned_clean": noise[LEARNED][0]}


def data_dependence(models: Mapping[str, ModelConfig], train_sizes: Sequence[int],
                    noise_percents: Sequence[int], seed: int) -> DataDependence:
    """Train every model on shrunk training sets and on training sets with wrong labels
    (progress bars on stderr); score each on the validation set."""
    size_accuracy: dict[str, list[float]] = {name: [] for name in models}
    for size in progress(train_sizes, desc="training-set sizes"):
        subset = prepare_digits(seed, train_size=size)
        for name, config in models.items():
            size_accuracy[name] += fit_and_score(config, subset.train_x, subset.train_y,
                                                 [(subset.val_x, subset.val_y)], seed=seed)
    noise_accuracy: dict[str, list[float]] = {name: [] for name in models}
    for noise in progress(noise_percents, desc="label noise"):
        noisy = prepare_digits(seed, label_noise=noise / 100)
        for name, config in models.items():
            noise_accuracy[name] += fit_and_score(config, noisy.train_x, noisy.train_y,
                                                  [(noisy.val_x, noisy.val_y)], seed=seed)
    return DataDependence(tuple(train_sizes), tuple(noise_percents), size_accuracy, noise_accuracy)


@dataclass(frozen=True)
class ComputeCosts:
    """One Transformer block's parameters and matrix FLOPs per sequence, and a conv layer's."""

    # (d_model, L, parameters, FLOPs per sequence, attention share 0..1) per grid point
    rows: tuple[tuple[int, int, int, int, float], ...]
    conv_params: int  # parameters of a 3x3 conv layer, 3 -> 32 channels
    conv_macs: int  # its multiply-adds on one 32x32 image (30x30 outputs)
    flops_ratio: float  # FLOPs of width 1024 on 2,048 tokens / width 256 on 128 tokens

    def block_parameters(self, d_model: int) -> int:
        """Parameters of one block of width ``d_model`` (one of the grid's widths)."""
        for d, _, parameters, _, _ in self.rows:
            if d == d_model:
                return parameters
        raise KeyError(f"d_model={d_model} is not in the grid")

    def report(self) -> str:
        lines = [f"{'d_model':>7} {'L':>6} {'parameters':>12} {'GFLOP/sequence':>15} "
                 f"{'attention share':>16}"]
        lines += [f"{d:>7} {length:>6} {p:>12,} {flops / 1e9:>15.3f} {share:>16.1%}"
                  for d, length, p, flops, share in self.rows]
        lines.append(f"a 3x3 conv layer, 3->32 channels on a 32x32 image: {self.conv_params:,} "
                     f"parameters, {self.conv_macs:,} multiply-adds per image")
        return "\n".join(lines)

    def glue_values(self) -> dict[str, Any]:
        return {"alg_flops_ratio": self.flops_ratio, "alg_conv_params": self.conv_params,
                "alg_conv_macs": self.conv_macs}


def compute_costs(widths: Sequence[int] = (64, 256, 1024, 4096),
                  lengths: Sequence[int] = (128, 2048, 32768)) -> ComputeCosts:
    """:func:`block_matmul_flops` and :func:`block_parameter_count` over a grid; the attention
    share is the ``4 L^2 d`` term's fraction of the FLOPs."""
    rows = []
    for d_model in widths:
        for seq_len in lengths:
            flops = block_matmul_flops(d_model, seq_len)
            rows.append((d_model, seq_len, block_parameter_count(d_model), flops,
                         4 * seq_len**2 * d_model / flops))
    conv_params, conv_macs = conv2d_cost(3, 32, 3, 30, 30)
    ratio = block_matmul_flops(1024, 2048) / block_matmul_flops(256, 128)
    return ComputeCosts(tuple(rows), conv_params, conv_macs, ratio)


@dataclass(frozen=True)
class WeightReading:
    """A softmax regression and a 64-unit MLP trained on the digits, and the exact additive
    explanation of one linear prediction."""

    linear_weights: np.ndarray  # (10, 64) one pixel map per class
    hidden_weights: np.ndarray  # (64, 64) one pixel map per hidden unit
    predicted_class: int  # the linear model's class for the first validation digit
    logit: float  # its logit (nats)
    decomposition_error: float  # |bias + sum of pixel contributions - logit|

    def report(self) -> str:
        return (f"linear model: logit of class {self.predicted_class} = {self.logit:.3f}; bias + "
                f"sum of 64 pixel contributions reproduces it to {self.decomposition_error:.1e}")


def read_weights(seed: int) -> WeightReading:
    """Train both models (:class:`ModelConfig` defaults) on a fresh split; decompose the
    linear model's logit of the first validation digit into bias + pixel contributions."""
    full = prepare_digits(seed)
    linear_model = build_digits_mlp(ModelConfig(hidden=0), seed=seed)
    train_model(linear_model, full.train_x, full.train_y, ModelConfig(hidden=0))
    mlp_model = build_digits_mlp(ModelConfig(hidden=64), seed=seed)
    train_model(mlp_model, full.train_x, full.train_y, ModelConfig(hidden=64))
    linear_w = linear_model[0].weight.detach().numpy()
    with torch.no_grad():
        logits = linear_model(torch.as_tensor(full.val_x[:1], dtype=torch.float32)).numpy()[0]
    c = int(logits.argmax())
    contributions = linear_w[c] * full.val_x[0]
    error = abs(contributions.sum() + linear_model[0].bias[c].item() - logits[c])
    return WeightReading(linear_w, mlp_model[0].weight.detach().numpy(), c, float(logits[c]),
                         float(error))
