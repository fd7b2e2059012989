"""The language-model chapters' study functions and figures, on tiny models and data."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from bmlib.models.gpt import GPT, GPTConfig
from bmlib.studies import language_model as study
from bmlib.studies.lm_scaling import fit_isoflop
from bmlib.train.lm import LMTrainConfig
from bmlib.viz import language_model as plots
from bmlib.viz.figures import check_figure

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _model() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=64, context=32, d_model=32, n_layers=1, n_heads=4))


def _check(fig) -> None:
    check_figure(fig)
    for ax in fig.axes:
        assert "(" in ax.get_xlabel() and "(" in ax.get_ylabel(), ax.get_title()
    plt.close(fig)


def test_unigram_loss_is_the_entropy_of_the_frequencies():
    train = torch.tensor([0, 0, 1, 1])
    assert study.unigram_loss(train, torch.tensor([0, 1]), vocab_size=2) == pytest.approx(math.log(2))
    skewed = study.unigram_loss(torch.tensor([0] * 98), torch.tensor([0]), vocab_size=2)
    assert skewed == pytest.approx(-math.log(99 / 100))


def test_inference_rows_cover_every_batch_and_cache_setting():
    rows = study.inference_speed(_model(), prompt_tokens=4, new_tokens=6, batch_sizes=[1, 2],
                                 repeats=1)
    assert {(r["batch"], r["kv_cache"]) for r in rows} == {(1, False), (1, True), (2, False),
                                                           (2, True)}
    assert all(r["tokens_per_second"] > 0 and r["ms_per_step"] > 0 for r in rows)
    _check(plots.throughput_bars(rows))


def test_int8_keeps_the_loss_close_and_shrinks_the_linear_weights():
    stream = torch.randint(0, 64, (2000,), generator=torch.Generator().manual_seed(0))
    out = study.int8_effect(_model(), stream, prompt_tokens=4, new_tokens=4, batch=2,
                            windows=8, repeats=1)
    assert abs(out["int8_val_loss"] - out["fp32_val_loss"]) < 0.05
    assert out["int8_state_mb"] < out["fp32_state_mb"]


def test_fine_tune_rows_and_figure(tmp_path, monkeypatch):
    monkeypatch.setenv("BMLIB_CACHE_DIR", str(tmp_path))
    pattern = torch.arange(64).repeat(40)
    target = study.TextData(corpus=None, split=None, tokenizer=None, train=pattern,
                            validation=pattern, test=pattern, seed=0)
    config = LMTrainConfig(steps=4, batch_size=4, eval_every=2, eval_windows=4)
    result = study.fine_tune(_model(), target, config, lora_rank=2, lora_alpha=4.0,
                             lora_lr=1e-2, device=torch.device("cpu"), precision=None)
    by = {r["method"]: r for r in result.rows}
    assert set(by) == {"LoRA", "full", "from scratch"}
    assert by["LoRA"]["trained_share"] < 0.2 < by["full"]["trained_share"] == 1.0
    assert by["LoRA"]["val_loss_before"] == pytest.approx(result.base_loss)  # B = 0 at start
    assert set(result.glue_values()) >= {"ft_lora_loss", "ft_full_loss", "ft_scratch_loss"}
    _check(plots.fine_tune_curves(result.rows))


def test_loss_curve_and_isoflop_figures():
    curve = [{"step": 10 * i, "train_loss": 5 - i / 10, "val_loss": 5.1 - i / 10,
              "elapsed_s": i} for i in range(1, 6)]
    _check(plots.loss_curves(curve, "a run"))
    rows = []
    for budget in (1e10, 1e11):
        for n in (1e4, 3e4, 1e5, 3e5):
            for seed in (0, 1):
                rows.append({"budget": budget, "parameters": n, "seed": seed,
                             "val_loss": 3 + (np.log(n) - np.log(budget) / 2 + 7) ** 2 / 10
                             + 0.01 * seed})
    frame = pd.DataFrame(rows)
    fit = fit_isoflop(frame, draws=20)
    fig = plots.isoflop_valleys(frame, fit)
    check_figure(fig)
    plt.close(fig)
