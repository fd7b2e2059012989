"""The CIFAR-10 redesign study: the airbench recipe trains on the design split and meets the
test set once, the ablation never sees it, the tables compute what they say from the runs,
the speed records load with their sources, and the figure passes the book's figure check."""

from __future__ import annotations

from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from bmlib.studies import cifar10_project as study
from bmlib.studies import cifar10_redesign as redesign
from bmlib.train.loop import EpochRecord
from bmlib.train.recipes import BookRun, chapter_splits, design_split, seed_recipe
from bmlib.viz import cifar10_project as plots
from bmlib.viz.figures import check_figure

CPU = torch.device("cpu")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _record(epoch: int, seconds: float, val: float) -> EpochRecord:
    return EpochRecord(epoch=epoch, train_loss=1.0, train_accuracy=0.5, val_loss=1.0,
                       val_accuracy=val, seconds=seconds, images_per_second=100.0,
                       elapsed_seconds=seconds * epoch)


def _ablation_run(removed: str, seed: int, val: float, plain: float, minutes: float):
    return redesign.AblationRun(removed, seed, minutes, val, plain, [_record(1, 1.0, val)])


def test_ablation_table_differences_are_from_the_whole_recipe():
    runs = [_ablation_run("nothing", 0, 0.90, 0.88, 2.0),
            _ablation_run("nothing", 1, 0.92, 0.89, 2.2),
            _ablation_run("translation", 0, 0.85, 0.84, 1.9),
            _ablation_run("translation", 1, 0.87, 0.86, 2.1)]
    table = redesign.ablation_table(runs)
    assert list(table.index) == ["nothing", "translation", "test-time augmentation"]
    assert table.loc["nothing", "validation accuracy (mean)"] == pytest.approx(0.91)
    assert table.loc["translation", "change (points)"] == pytest.approx(-5.0)
    assert table.loc["translation", "time change (min)"] == pytest.approx(-0.1)
    # the evaluation-only ablation re-scores the whole recipe's models, at no training cost
    assert table.loc["test-time augmentation", "change (points)"] == pytest.approx(-2.5)
    assert table.loc["test-time augmentation", "time change (min)"] == pytest.approx(0.0)
    assert table.loc["translation", "per seed"] == "0.8500, 0.8700"
    glue = redesign.ablation_glue(table, 0.5)
    assert glue["cifar_abl_largest"] == "translation"
    assert glue["cifar_abl_largest_points"] == pytest.approx(5.0)
    assert glue["cifar_abl_test_time_augmentation_points"] == pytest.approx(-2.5)
    with pytest.raises(ValueError, match="whole-recipe"):
        redesign.ablation_table(runs[2:])


def test_precision_check_pairs_seeds_and_measures_the_gap():
    def run(seed, accuracy, seconds):
        return study.RecipeRun(seed_recipe(seed), None, [_record(1, seconds, accuracy)],
                               None, 0, np.zeros(1), accuracy)  # type: ignore[arg-type]

    chosen = [run(0, 0.70, 2.0), run(1, 0.72, 2.0)]
    other = [run(1, 0.73, 4.0), run(0, 0.68, 4.0)]
    check = redesign.precision_check(chosen, other, "bf16", "float32")
    assert list(check.table.index) == [1, 0]
    assert check.table.loc[0, "difference (points)"] == pytest.approx(2.0)
    assert check.mean_test_gap == pytest.approx(0.5)
    assert check.max_test_gap == pytest.approx(2.0)
    assert check.time_ratio == pytest.approx(0.5)
    assert check.within_one_point
    assert check.glue_values()["cifar_prec_verdict"] == "within"


def test_speed_records_carry_their_sources():
    records = redesign.speed_records()
    frame = records.frame
    assert {"airbench94", "hlb-CIFAR10 (CPU)"} <= set(frame.record)
    assert frame.source_url.str.startswith("https://github.com/").all()
    assert (frame.test_accuracy > 0.93).all() and (frame.train_seconds > 0).all()


@pytest.fixture(scope="module")
def redesigned(module_cache_dir):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (1200, 3, 32, 32), dtype=np.uint8)
    test = rng.integers(0, 256, (600, 3, 32, 32), dtype=np.uint8)
    splits = chapter_splits(train, np.arange(1200) % 10, test, np.arange(600) % 10, True, CPU)
    design = design_split(splits)
    run = BookRun(airbench_seeds=1, airbench_epochs=1, ablation_seeds=1, ablation_width=0.0625)
    recipes = [replace(r, model_config=replace(r.model_config, widths=(4, 16, 16)))
               for _, r in run.airbench_recipes()]
    final = redesign.run_final(recipes, design, splits, CPU, retrain=True)
    ablation = redesign.run_ablation(run.ablation_recipes(), design, CPU, retrain=True)
    return splits, design, final, ablation


def test_final_runs_fit_the_design_split_and_test_once(redesigned):
    splits, design, final, _ = redesigned
    assert design.x_fit.shape[0] + design.x_val.shape[0] == 1000  # the smoke training files
    (r,) = final
    assert r.history[-1].val_accuracy is not None
    assert r.predicted.shape == (splits.y_test.shape[0],)
    summary = redesign.redesign(final, design, None, target_accuracy=0.94)
    assert summary.met == (False,) and summary.epochs == 1
    assert summary.glue_values()["cifar_air_shortfall"] == pytest.approx(
        100 * (0.94 - r.test_accuracy))


def test_ablation_runs_are_scored_on_validation(redesigned):
    _, _, _, ablation = redesigned
    removed = [a.removed for a in ablation]
    assert removed[0] == "nothing" and len(set(removed)) == len(removed)
    assert all(0 <= a.val_accuracy <= 1 and 0 <= a.val_accuracy_plain <= 1 for a in ablation)
    table = redesign.ablation_table(ablation)
    assert "test-time augmentation" in table.index


def test_accuracy_against_time_figure_passes_the_check(redesigned):
    splits, design, final, _ = redesigned
    labelled = [("airbench-style recipe", final)]
    fig = plots.accuracy_against_time(redesign.time_curves(labelled),
                                      redesign.final_points(labelled),
                                      redesign.speed_records().frame, "test machine")
    check_figure(fig)
    plt.close(fig)
    curves = redesign.time_curves(labelled)
    assert isinstance(curves, pd.DataFrame) and list(curves.epoch) == [1]
