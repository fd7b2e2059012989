"""Compute-optimal scaling, measured: an IsoFLOP sweep of small GPTs (Hoffmann et al., 2022,
"approach 2").

For each compute budget ``C`` (training FLOPs), models of several sizes are each trained on
exactly the tokens the budget buys, ``D = C / flops_per_token``, with the learning-rate
schedule set to that run's length. At a fixed budget, validation loss against
``log N`` is a valley; a parabola through it puts the budget's compute-optimal size
``N*(C)`` at its bottom, and ``D*(C) = C / (6 N*)``. Power laws ``N* = a C^alpha``,
``D* = b C^beta`` through the budgets give the exponents (Chinchilla: about 0.5 each) and the
tokens per parameter ``D*/N*`` (Chinchilla: about 20). Seeds are resampled (bootstrap) for
the intervals. Sizes are counted with embeddings, as Chinchilla counts them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from bmlib.models.gpt import GPTConfig, flops_per_token, parameter_count

#: The family of shapes the sweep draws from, smallest first: (layers, width, heads).
SHAPES: tuple[tuple[int, int, int], ...] = (
    (1, 16, 2), (2, 24, 2), (2, 32, 2), (3, 48, 4), (4, 64, 4), (4, 96, 4), (5, 128, 4))


class ScalingError(ValueError):
    """An IsoFLOP design or result that cannot be fitted."""


def shape_config(shape: int, vocab_size: int, context: int) -> GPTConfig:
    """The GPT of ``SHAPES[shape]``."""
    if not 0 <= shape < len(SHAPES):
        raise ScalingError(f"shape={shape}: use 0..{len(SHAPES) - 1} (bmlib SHAPES)")
    layers, width, heads = SHAPES[shape]
    return GPTConfig(vocab_size=vocab_size, context=context, d_model=width, n_layers=layers,
                     n_heads=heads)


def steps_for_budget(config: GPTConfig, budget: float, tokens_per_step: int) -> int:
    """Optimiser steps that spend ``budget`` FLOPs (rounded to the nearest step)."""
    steps = round(budget / (flops_per_token(config) * tokens_per_step))
    if steps < 1:
        raise ScalingError(f"budget {budget:.3g} FLOPs buys less than one step of "
                           f"{tokens_per_step} tokens for this model: raise the budget")
    return steps


def isoflop_grid(budgets: Sequence[float], first_shapes: Sequence[int], sizes: int,
                 seeds: Sequence[int]) -> list[dict[str, Any]]:
    """Grid points ``{BUDGET, SHAPE, SEED}``: budget ``i`` takes ``sizes`` consecutive shapes
    from ``first_shapes[i]``, so each valley is sampled around where its bottom should be."""
    if len(budgets) != len(first_shapes):
        raise ScalingError(f"{len(budgets)} budgets but {len(first_shapes)} first shapes: "
                           "give one first shape per budget")
    if sizes < 3:
        raise ScalingError(f"sizes={sizes}: a parabola needs at least 3 sizes per budget")
    points = []
    for budget, first in zip(budgets, first_shapes):
        if first + sizes > len(SHAPES):
            raise ScalingError(f"shapes {first}..{first + sizes - 1} run past the "
                               f"{len(SHAPES)} SHAPES: lower the first shape")
        for shape in range(first, first + sizes):
            for seed in seeds:
                points.append({"BUDGET": float(budget), "SHAPE": shape, "SEED": int(seed)})
    return points


def _valley_minimum(log_n: np.ndarray, loss: np.ndarray) -> float:
    """``log N`` at the bottom of the parabola through (log N, loss); nan if no bottom."""
    a, b, _ = np.polyfit(log_n, loss, 2)
    if a <= 0:
        return math.nan
    return -b / (2 * a)


@dataclass
class IsoFLOPFit:
    """Compute-optimal sizes per budget and the power laws through them."""

    optima: pd.DataFrame  # budget, n_opt, d_opt, tokens_per_param (+ interval columns)
    alpha: float  # N* ~ C^alpha
    beta: float  # D* ~ C^beta
    alpha_interval: tuple[float, float]
    beta_interval: tuple[float, float]
    tokens_per_param: float  # D*/N* at the largest budget
    tokens_per_param_interval: tuple[float, float]
    edge_budgets: list[float] = field(default_factory=list)  # optimum outside sampled sizes
    bootstrap_draws: int = 0

    def glue_values(self) -> dict[str, float]:
        return {"iso_alpha": round(self.alpha, 2), "iso_beta": round(self.beta, 2),
                "iso_alpha_lo": round(self.alpha_interval[0], 2),
                "iso_alpha_hi": round(self.alpha_interval[1], 2),
                "iso_tokens_per_param": round(self.tokens_per_param, 1),
                "iso_tpp_lo": round(self.tokens_per_param_interval[0], 1),
                "iso_tpp_hi": round(self.tokens_per_param_interval[1], 1)}


def _optima(frame: pd.DataFrame) -> pd.DataFrame:
    """Per budget: the parabola's bottom, or - when the valley has no bottom inside the
    sampled sizes - the best sampled size, flagged ``inside=False`` (an edge, not a fit)."""
    rows = []
    for budget, group in frame.groupby("budget"):
        mean = group.groupby("parameters")["val_loss"].mean()
        log_n = np.log(mean.index.to_numpy(dtype=float))
        best = _valley_minimum(log_n, mean.to_numpy()) if len(mean) >= 3 else math.nan
        inside = math.isfinite(best) and log_n.min() <= best <= log_n.max()
        n_opt = math.exp(best) if inside else float(mean.idxmin())
        rows.append({"budget": float(budget), "n_opt": n_opt, "d_opt": budget / (6 * n_opt),
                     "inside": inside})
    out = pd.DataFrame(rows)
    out["tokens_per_param"] = out["d_opt"] / out["n_opt"]
    return out


def _power(budgets: np.ndarray, values: np.ndarray) -> float:
    ok = np.isfinite(values) & (values > 0)
    if ok.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(budgets[ok]), np.log(values[ok]), 1)[0])


def fit_isoflop(frame: pd.DataFrame, draws: int = 1000, seed: int = 0,
                level: float = 0.9) -> IsoFLOPFit:
    """Fit the IsoFLOP valleys of ``frame`` (one row per run: budget, parameters, seed,
    val_loss) and the power laws; intervals from resampling each point's seeds."""
    needed = {"budget", "parameters", "seed", "val_loss"}
    if missing := needed - set(frame.columns):
        raise ScalingError(f"sweep results lack columns {sorted(missing)}")
    if frame["budget"].nunique() < 2:
        raise ScalingError("at least 2 budgets are needed to fit how N* grows with C")
    optima = _optima(frame)
    budgets = optima["budget"].to_numpy()
    alpha = _power(budgets, optima["n_opt"].to_numpy())
    beta = _power(budgets, optima["d_opt"].to_numpy())
    rng = np.random.default_rng(seed)
    groups = [g for _, g in frame.groupby(["budget", "parameters"])]
    boot_alpha, boot_beta, boot_tpp = [], [], []
    per_budget: dict[float, list[float]] = {b: [] for b in budgets}
    for _ in range(draws):
        resampled = pd.concat([g.iloc[rng.integers(0, len(g), len(g))] for g in groups])
        o = _optima(resampled)
        boot_alpha.append(_power(o["budget"].to_numpy(), o["n_opt"].to_numpy()))
        boot_beta.append(_power(o["budget"].to_numpy(), o["d_opt"].to_numpy()))
        boot_tpp.append(float(o["tokens_per_param"].iloc[-1]))
        for b, n in zip(o["budget"], o["n_opt"]):
            per_budget[b].append(n)
    q = ((1 - level) / 2, (1 + level) / 2)

    def interval(values: list[float]) -> tuple[float, float]:
        finite = np.asarray(values)[np.isfinite(values)]
        if finite.size == 0:
            return (math.nan, math.nan)
        lo, hi = np.quantile(finite, q)
        return float(lo), float(hi)

    optima["n_opt_lo"] = [interval(per_budget[b])[0] for b in budgets]
    optima["n_opt_hi"] = [interval(per_budget[b])[1] for b in budgets]
    return IsoFLOPFit(optima, alpha, beta, interval(boot_alpha), interval(boot_beta),
                      float(optima["tokens_per_param"].iloc[-1]), interval(boot_tpp),
                      [float(b) for b, ok in zip(budgets, optima["inside"]) if not ok], draws)


def shapes_table(vocab_size: int, context: int) -> pd.DataFrame:
    """Every shape of the family with its parameter counts and training FLOPs per token."""
    rows = []
    for index in range(len(SHAPES)):
        config = shape_config(index, vocab_size, context)
        rows.append({"shape": index, "layers": config.n_layers, "width": config.d_model,
                     "heads": config.n_heads, "parameters": parameter_count(config),
                     "non_embedding": parameter_count(config, embedding=False),
                     "train_flops_per_token": flops_per_token(config)})
    return pd.DataFrame(rows)
