"""The CIFAR-10 chapter's study: both recipes validate on the validation part and meet the
test set once; the summaries compute what they say from the runs; the figures pass the
book's figure check."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from bmlib.studies import cifar10_project as study
from bmlib.train.loop import EpochRecord
from bmlib.train.recipes import BookRun, chapter_splits
from bmlib.viz import cifar10_project as plots
from bmlib.viz.figures import check_figure

CPU = torch.device("cpu")
NAMES = tuple(f"class {k}" for k in range(10))
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _splits():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (1200, 3, 32, 32), dtype=np.uint8)
    test = rng.integers(0, 256, (600, 3, 32, 32), dtype=np.uint8)
    return chapter_splits(train, np.arange(1200) % 10, test, np.arange(600) % 10, True, CPU)


@pytest.fixture(scope="module")
def runs(module_cache_dir):
    splits = _splits()
    run = BookRun(seed=0, num_seeds=2, epochs=1, improved_epochs=1, improved_width=4,
                  improved_seeds=1)
    recipes = [recipe for _, recipe in run.recipes()]
    return splits, study.run_recipes(recipes, splits, CPU, retrain=True)


def test_run_recipes_validates_on_validation_and_tests_once(runs):
    splits, result = runs
    assert [r.seed for r in result] == [0, 1, 0]
    true = splits.y_test.numpy()
    for r in result:
        assert r.history[-1].val_accuracy is not None  # validated every epoch
        assert r.predicted.shape == true.shape
        assert r.test_accuracy == pytest.approx(float((r.predicted == true).mean()))
        assert r.trained_now and r.done_before == 0
        # the checkpoint name encodes the validation part's size, not the test set's
        assert r.path.exists()
    table = study.accuracy_table(result[:2])
    assert list(table.index) == [0, 1]
    assert set(table.columns) == {"validation accuracy (last epoch)", "test accuracy",
                                  "training minutes"}


def _record(epoch: int, val_loss: float, val_accuracy: float, seconds: float = 2.0
            ) -> EpochRecord:
    return EpochRecord(epoch=epoch, train_loss=1.0 / epoch, train_accuracy=0.5 + epoch / 100,
                       val_loss=val_loss, val_accuracy=val_accuracy, seconds=seconds,
                       images_per_second=100.0, elapsed_seconds=seconds * epoch)


def _fake_run(seed: int, test_accuracy: float, losses=(1.0, 0.8, 0.9), seconds=(2.0,) * 3,
              low_res_epochs: int = 0):
    recipe = study.seed_recipe(seed, epochs=len(losses))
    if low_res_epochs:
        from dataclasses import replace

        from bmlib.train.recipes import improved_recipe

        base = improved_recipe(seed, epochs=len(losses), width=4)
        recipe = replace(base, train_config=replace(base.train_config,
                                                    low_res_epochs=low_res_epochs))
    history, elapsed = [], 0.0
    for k, (loss, s) in enumerate(zip(losses, seconds), start=1):
        elapsed += s
        history.append(EpochRecord(k, 1.0 / k, 0.6, loss, 0.5, s, 100.0, elapsed))
    return study.RecipeRun(recipe, recipe.build_model(), history, Path("x.pt"), 0,
                           np.zeros(4, dtype=int), test_accuracy)


def test_reproduction_compares_the_claim_with_the_seed_spread():
    runs = [_fake_run(0, 0.69), _fake_run(1, 0.70), _fake_run(2, 0.71)]
    repro = study.reproduction(runs)
    assert repro.test.mean == pytest.approx(0.70)
    assert repro.tolerance == pytest.approx(max(2 * 0.01, 0.01))
    assert not repro.reproduced
    assert repro.best_val_epoch == 2  # the lowest mean validation loss
    glued = repro.glue_values()
    assert glued["cifar_repro_gap"] == pytest.approx(0.8325 - 0.70)
    assert glued["cifar_essay_claim"] == study.ESSAY_TEST_ACCURACY  # the prose's "printed" value
    assert "not what the code shown produces" in glued["cifar_repro_conclusion"]
    assert study.reproduction(runs, claimed=0.705).reproduced


def test_errors_find_the_most_frequent_confusion():
    true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3])
    predicted = np.array([0, 1, 1, 1, 1, 2, 2, 3, 2, 3])
    result = study.errors(true, predicted, num_classes=4)
    assert result.pair == (0, 1) and result.pair_count == 2 and result.errors == 3
    assert result.worst == 0 and result.best in (1, 3)
    glued = result.glue_values("x", ("a", "b", "c", "d"))
    assert glued["x_pair"] == "a taken for b" and glued["x_worst_acc"] == pytest.approx(1 / 3)
    assert set(result.glue_values("x", ("a", "b", "c", "d"), classes=False)) == {
        "x_pair", "x_pair_count", "x_errors"}


def test_improvement_and_speed_rows():
    baseline = study.reproduction([_fake_run(0, 0.70), _fake_run(1, 0.70)])
    improved_runs = [_fake_run(0, 0.89, seconds=(60.0, 60.0, 60.0)), _fake_run(1, 0.87)]
    result = study.improvement(improved_runs, baseline)
    assert result.met == (True, False)  # seed 1 misses 0.88
    assert result.gain == pytest.approx(0.18)
    glued = result.glue_values()
    assert glued["cifar_improved_target_met"] == "1 of 2"
    assert (glued["cifar_target_acc_pct"], glued["cifar_target_minutes"]) == (88.0, 15.0)
    assert glued["cifar_history_acc_12ep"] == 0.8827  # the earlier edition's record, glued
    speed = study.speed_table([("a", improved_runs[0])])
    assert speed["s per epoch (median)"].iloc[0] == 60.0


def test_low_resolution_cost_is_measured_from_the_epochs():
    run = _fake_run(0, 0.9, seconds=(3.0, 3.0, 5.0), low_res_epochs=2)
    assert study.low_resolution_cost(run) == pytest.approx(0.6)
    assert "60-60 %" in study.low_resolution_cost_text([run])
    short = _fake_run(0, 0.9, losses=(1.0,), seconds=(1.0,))
    assert study.low_resolution_cost(short) is None
    assert "unmeasured" in study.low_resolution_cost_text([short])


def test_seed_model_summary_checks_its_counts():
    summary = study.seed_model_summary(0)
    assert summary.parameters == int(summary.layers.parameters.sum())
    assert 0 < summary.dense_share < 100


def test_figures_pass_the_check(runs):
    splits, result = runs
    images = splits.x_test.numpy()
    true = splits.y_test.numpy()
    seed_runs, improved_runs = result[:2], result[2:]
    improved = study.improvement(improved_runs, study.reproduction(seed_runs))
    per_class = study.mean_per_class(seed_runs, true)
    figures = [
        plots.class_examples(images, true, NAMES, per_class=3),
        plots.learning_curves(study.learning_curves(seed_runs), "curves"),
        plots.confusion(study.errors(true, seed_runs[0].predicted), NAMES, "confusion"),
        plots.misclassified(images, true, seed_runs[0].predicted, NAMES, "wrong"),
        plots.recipes_compared(seed_runs, improved_runs, improved, 0.8325, per_class,
                               study.mean_per_class(improved_runs, true), NAMES),
    ]
    for fig in figures:
        check_figure(fig)
        plt.close(fig)
