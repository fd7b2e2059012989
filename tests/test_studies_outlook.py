"""The outlook chapter's study: the sweep summary and scaling fits recover a known power law,
the compute trend and its cost follow the tables, the privacy experiment keeps members,
non-members and validation images apart, the disparity rows summarise per-class accuracy,
and the figures pass the book's figure check."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from bmlib.book.sweep import SweepResult, results_frame
from bmlib.data.cifar10 import Cifar10
from bmlib.studies import outlook as study
from bmlib.viz import outlook as plots
from bmlib.viz.figures import check_figure

NAMES = tuple(f"class {k}" for k in range(10))
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _sweep(seeds=(0, 1)) -> tuple[list[SweepResult], pd.DataFrame]:
    """A grid whose loss is exactly 3 * params^-0.1 * n^-0.2 (times a per-seed factor)."""
    rng = np.random.default_rng(0)
    results = []
    for width in (2, 4, 8, 16):
        for n in (250, 500, 1000, 2000):
            for seed in seeds:
                params = 100 * width ** 2
                loss = 3.0 * params ** -0.1 * n ** -0.2 * (1 + 0.001 * seed)
                results.append(SweepResult(
                    f"w{width}n{n}s{seed}",
                    {"WIDTH": width, "TRAIN_SIZE": n, "EPOCHS": 5, "EVAL_SIZE": 100, "SEED": seed},
                    "ok", "", {"test_loss": loss, "test_acc": 0.3, "params": params,
                               "flops": 3.0 * 1e4 * width ** 2 * n * 5, "best_epoch": 5,
                               "class_accuracy": list(rng.uniform(0.1, 0.6, 10))},
                    seconds=2.0, started=100.0 + seed))
    results.append(SweepResult("broken", {"WIDTH": 32, "TRAIN_SIZE": 10, "EPOCHS": 5,
                                          "EVAL_SIZE": 100, "SEED": 0}, "timeout", "900 s"))
    return results, results_frame(results)


def test_sweep_summary_and_fits_recover_the_exponents():
    results, frame = _sweep()
    sweep = study.summarise_sweep(results, frame, max_workers=2, seeds=2)
    assert len(sweep.runs) == 32 and sweep.runs_total == 33
    assert sweep.failures == ("broken: timeout - 900 s",)
    assert len(sweep.points) == 16 and (sweep.points.seeds == 2).all()
    assert "33 runs executed now, 2 at a time" in sweep.time_text
    glued = sweep.glue_values()
    assert glued["outlook_runs_last_epoch"] == 32 and glued["outlook_grid_points"] == 16
    fits = study.fit_scaling(sweep)
    # at the largest n, loss ~ params^-0.1; at the largest width, ~ n^-0.2
    assert fits.pure["parameters"].exponent == pytest.approx(0.1, abs=1e-6)
    assert fits.pure["data"].exponent == pytest.approx(0.2, abs=1e-6)
    assert fits.seed_sd("parameters") == pytest.approx(0.0, abs=1e-6)
    assert list(fits.table().index) == list(study.SCALES)
    values = fits.glue_values()
    assert set(values) >= {"outlook_alpha_compute", "outlook_alpha_data_se"}
    check_figure(fig := plots.scaling_laws(fits, sweep))
    plt.close(fig)


def test_two_point_fits_glue_an_undefined_standard_error():
    results, frame = _sweep(seeds=(0,))
    small = frame[frame.WIDTH.isin([2, 4]) & frame.TRAIN_SIZE.isin([250, 500])]
    sweep = study.summarise_sweep(results[:0], small, 1, 1)
    values = study.fit_scaling(sweep).glue_values()
    assert values["outlook_alpha_parameters_se"] == "undefined (two points)"


def test_compute_trend_prices_the_frontier():
    landmarks = pd.DataFrame({
        "model": ["a", "b", "c", "d", "e (model card)"],
        "release": ["2020-01", "2021-01", "2022-01", "2023-01", "2023-06"],
        "parameters": [1e9, 1e10, 1e9, 1e11, 1e12],
        "training_tokens": [1e10, 1e11, 1e10, 1e12, 1e12],
        "published_training_flop": [np.nan, np.nan, np.nan, 1e24, np.nan]})
    accelerators = pd.DataFrame({
        "accelerator": ["H100"] * 3, "quantity": ["peak_bf16_dense", "rental_price",
                                                  "rental_price"],
        "value": [1000.0, 2.0, 4.0], "source_ids": ["nvidia_h100_datasheet", "x", "y"]})
    trend = study.compute_trend(landmarks, accelerators)
    assert list(trend.models.model) == ["a", "b", "c", "d"]  # model cards left out
    assert trend.models.compute_flop.iloc[0] == pytest.approx(6 * 1e9 * 1e10)
    assert trend.models.compute_flop.iloc[3] == 1e24  # the published figure wins
    assert list(trend.records.model) == ["a", "b", "d"]
    # cost = FLOP / (peak * MFU) hours * median price
    expected = trend.trend.predict(2027.5)[0] / (1000e12 * 0.4) / 3600 * 3.0
    assert trend.cost(2027.5) == pytest.approx(expected)
    assert trend.glue_values()["outlook_price_high"] == 4.0
    assert len(trend.projection()) == 4
    check_figure(fig := plots.compute_trend(trend))
    plt.close(fig)


def _fake_cifar(n_train: int = 700, n_test: int = 100) -> Cifar10:
    rng = np.random.default_rng(1)
    labels = np.arange(n_train) % 10
    images = rng.integers(0, 256, (n_train, 3, 32, 32), dtype=np.uint8)
    images[:, 0, :8, :8] = (labels * 25)[:, None, None]  # a learnable cue
    test_labels = np.arange(n_test) % 10
    test = rng.integers(0, 256, (n_test, 3, 32, 32), dtype=np.uint8)
    test[:, 0, :8, :8] = (test_labels * 25)[:, None, None]
    return Cifar10(images, labels, test, test_labels, NAMES, None)


@pytest.mark.slow
def test_membership_inference_keeps_the_parts_apart():
    data = _fake_cifar()
    with pytest.raises(ValueError, match="non-members"):
        study.membership_inference(data, 300, 1, 2, 0, 50, member_pool=400, validation=100)
    privacy = study.membership_inference(data, 100, 3, 2, 0, 50, member_pool=400,
                                         validation=100)
    assert list(privacy.table.model) == ["over-fitted", "regularised"]
    assert privacy.test_x.shape[0] == 50
    assert 0.0 <= privacy.over["attack AUC"] <= 1.0
    values = privacy.glue_values()
    assert values["outlook_gap_over_fitted"] == pytest.approx(
        privacy.over["train accuracy"] - privacy.over["test accuracy"])
    runs = pd.DataFrame({"WIDTH": [2, 2, 4], "TRAIN_SIZE": [100, 200, 100], "SEED": [0, 0, 0],
                         "class_accuracy": [list(np.linspace(0.1, 0.9, 10)),
                                            list(np.linspace(0.3, 0.7, 10)),
                                            list(np.full(10, 0.5))]})
    fairness = study.sweep_fairness(runs, privacy, 2, 100, NAMES)
    assert len(fairness.table) == 5 and len(fairness.points) == 3
    assert fairness.points.gap.tolist() == pytest.approx([0.8, 0.4, 0.0])
    assert fairness.glue_values()["outlook_eval_class_min"] == 5
    check_figure(fig := plots.gap_against_accuracy(fairness))
    plt.close(fig)


def test_book_model_fairness_and_figures():
    def evaluated(label, per_class):
        book = SimpleNamespace(label=label, path=Path(f"{label}.pt"))
        return study.EvaluatedModel(book, np.asarray(per_class), float(np.mean(per_class)))

    models = [evaluated("essay's CNN, seed 0", np.linspace(0.5, 0.8, 10)),
              evaluated("essay's CNN, seed 1", np.linspace(0.5, 0.8, 10)),
              evaluated("improved recipe, seed 0", np.linspace(0.8, 0.95, 10))]
    fairness = study.book_model_fairness(models, NAMES)
    values = fairness.glue_values(NAMES)
    assert values["outlook_cifar_gap_essay"] == pytest.approx(0.3)
    assert values["outlook_cifar_gap_improved"] == pytest.approx(0.15)
    assert values["outlook_cifar_gap_change"] == "narrows"
    assert values["outlook_cifar_most_gain"] == "class 0"
    assert plots.classes_improved(fairness) == 10
    assert list(study.book_models_table(models).columns) == ["checkpoint", "test accuracy"]
    check_figure(fig := plots.per_class_accuracy(models, NAMES))
    plt.close(fig)


def test_attribution_study_runs_the_cascade():
    from bmlib.models.small_cnn import SmallCNN, SmallCNNConfig
    from bmlib.train.small_cnn import FitConfig

    torch.manual_seed(0)
    recipe = SimpleNamespace(train_config=FitConfig().train_config())
    model = SmallCNN(SmallCNNConfig(width=2)).eval()
    book = SimpleNamespace(model=model, recipe=recipe)
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    targets = torch.tensor([0, 1, 2])
    result = study.attribution_study({"a": book, "b": book}, images, targets, seed=1,
                                     ig_steps=4)
    assert set(result.maps) == {"a", "b"}
    assert len(result.cascade_of("a")) == 4  # three convolutions and the head
    values = result.glue_values("a", "b")
    assert values["outlook_cascade_layers"] == 4
    check_figure(fig := plots.attribution_maps(result, "a", "b", NAMES, shown=2))
    plt.close(fig)
