"""The figures of the language-model chapters: loss curves, inference throughput, the
fine-tuning comparison, and the IsoFLOP valleys with their compute-optimal frontier.
Each returns the Figure; chapters show it with alt text via :func:`show_figure`."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bmlib.studies.lm_scaling import IsoFLOPFit
from bmlib.viz.figures import new_figure


def loss_curves(curve: Sequence[dict], title: str) -> Figure:
    """Training loss (mean over each block) and validation loss against optimiser steps."""
    fig, ax = new_figure(width=6.4, height=3.8)
    frame = pd.DataFrame(curve)
    ax.plot(frame.step, frame.train_loss, marker="o", markersize=3, label="training (block mean)")
    ax.plot(frame.step, frame.val_loss, marker="s", markersize=3, label="validation")
    ax.axhline(frame.val_loss.min(), color="0.6", linestyle=":",
               label=f"best validation {frame.val_loss.min():.3f}")
    ax.set(xlabel="optimiser step (count)", ylabel="cross-entropy (nats per token)", title=title)
    ax.legend(fontsize=8)
    return fig


def throughput_bars(rows: Sequence[dict]) -> Figure:
    """Generated tokens per second with and without the KV cache, per batch size."""
    frame = pd.DataFrame(rows)
    batches = sorted(frame.batch.unique())
    fig, ax = new_figure(width=6.4, height=3.6)
    width = 0.38
    for offset, cached in ((-width / 2, False), (width / 2, True)):
        values = [frame[(frame.batch == b) & (frame.kv_cache == cached)].tokens_per_second
                  .iloc[0] for b in batches]
        ax.bar(np.arange(len(batches)) + offset, values, width,
               label="KV cache" if cached else "no cache (re-run the prefix)")
    ax.set_xticks(np.arange(len(batches)), [str(b) for b in batches])
    ax.set_yscale("log")
    ax.set(xlabel="batch size (sequences generated together)",
           ylabel="generated tokens per second (log)", title="Inference throughput on this machine")
    ax.legend(fontsize=8)
    return fig


def fine_tune_curves(rows: Sequence[dict]) -> Figure:
    """Validation loss on the second domain during LoRA, full fine-tuning and from scratch."""
    fig, ax = new_figure(width=6.4, height=3.8)
    for row in rows:
        frame = pd.DataFrame(row["curve"])
        steps = np.concatenate([[0], frame.step])
        losses = np.concatenate([[row["val_loss_before"]], frame.val_loss])
        ax.plot(steps, losses, marker="o", markersize=3,
                label=f"{row['method']} ({100 * row['trained_share']:.2f} % trained)")
    ax.set(xlabel="optimiser step (count)", ylabel="validation cross-entropy (nats per token)",
           title="Fine-tuning on Tang and Song poems")
    ax.legend(fontsize=8)
    return fig


def isoflop_valleys(frame: pd.DataFrame, fit: IsoFLOPFit) -> Figure:
    """Left: validation loss against parameters, one valley per budget, every run and the
    fitted parabola with its bottom. Right: the compute-optimal N* and D* per budget with
    their intervals and the fitted power laws, against Chinchilla's 20 tokens per parameter."""
    fig, (left, right) = new_figure(1, 2, width=11.0, height=4.0)
    for index, (budget, group) in enumerate(frame.groupby("budget")):
        colour = f"C{index}"
        left.scatter(group.parameters, group.val_loss, s=14, color=colour, alpha=0.7)
        mean = group.groupby("parameters")["val_loss"].mean()
        log_n = np.log(mean.index.to_numpy(dtype=float))
        coef = np.polyfit(log_n, mean.to_numpy(), 2)
        grid = np.linspace(log_n.min() - 0.2, log_n.max() + 0.2, 60)
        left.plot(np.exp(grid), np.polyval(coef, grid), color=colour,
                  label=f"C = {budget:.1e} FLOP")
        row = fit.optima[fit.optima.budget == budget].iloc[0]
        if np.isfinite(row.n_opt):
            left.scatter([row.n_opt], [np.polyval(coef, np.log(row.n_opt))], marker="*",
                         s=120, color=colour, edgecolors="k", zorder=4)
    left.set_xscale("log")
    left.set(xlabel="parameters N (count, with embeddings)",
             ylabel="validation cross-entropy (nats per token)",
             title="IsoFLOP valleys (stars: fitted optimum)")
    left.legend(fontsize=8)
    opt = fit.optima
    budgets = opt.budget.to_numpy()
    right.errorbar(budgets, opt.n_opt, yerr=[opt.n_opt - opt.n_opt_lo, opt.n_opt_hi - opt.n_opt],
                   fmt="o", color="C0", capsize=3, label=f"N*  (fit: C^{fit.alpha:.2f})")
    right.plot(budgets, opt.d_opt, "s", color="C1", label=f"D*  (fit: C^{fit.beta:.2f})")
    grid = np.geomspace(budgets.min(), budgets.max(), 20)
    chinchilla_n = np.sqrt(grid / (6 * 20))
    right.plot(grid, chinchilla_n, color="0.5", linestyle="--",
               label="Chinchilla N* (C = 6 N D, D = 20 N)")
    right.plot(grid, 20 * chinchilla_n, color="0.5", linestyle=":", label="Chinchilla D*")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set(xlabel="training compute C (FLOP)", ylabel="compute-optimal N* and D* (count)",
              title="Compute-optimal frontier")
    right.legend(fontsize=7)
    fig.suptitle("Compute-optimal scaling of small GPTs on fortunes-zh")
    return fig
