"""The CIFAR-10 chapter's run as a library object: settings, splits, models, pins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bmlib.train.airbench_recipe import ABLATIONS, EVAL_ONLY_ABLATIONS
from bmlib.train.recipes import (BookRun, CheckpointError, book_checkpoint_paths, book_models,
                                 book_precision, chapter_splits, design_split, load_pins,
                                 other_precision)
from bmlib.core.files import sha256_file
from bmlib.book.notebooks import find_chapter, notebook_parameters, read_notebook
from tools import pin_checkpoints

CPU = torch.device("cpu")


def _arrays(n_train: int = 1200, n_test: int = 600):
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (n_train, 3, 32, 32), dtype=np.uint8),
            rng.integers(0, 10, n_train), rng.integers(0, 256, (n_test, 3, 32, 32), dtype=np.uint8),
            rng.integers(0, 10, n_test))


def test_book_run_equals_the_cifar_chapters_parameters_cell():
    values = notebook_parameters(read_notebook(find_chapter("cifar10_project")))
    run = BookRun()
    expected = {"SEED": run.seed, "NUM_SEEDS": run.num_seeds, "EPOCHS": run.epochs,
                "IMPROVED_SEEDS": run.improved_seeds, "IMPROVED_EPOCHS": run.improved_epochs,
                "IMPROVED_WIDTH": run.improved_width, "AIRBENCH_SEEDS": run.airbench_seeds,
                "AIRBENCH_EPOCHS": run.airbench_epochs, "ABLATION_SEEDS": run.ablation_seeds,
                "PRECISION_SEEDS": run.precision_seeds, "ABLATION_EPOCHS": run.ablation_epochs,
                "ABLATION_WIDTH": run.ablation_width}
    assert expected == {k: values[k] for k in expected}


def test_smoke_profile_shrinks_the_run():
    smoke = BookRun().for_profile("smoke")
    assert (smoke.num_seeds, smoke.epochs, smoke.improved_seeds, smoke.improved_epochs) == (2, 1, 2, 1)
    assert BookRun().for_profile("full") == BookRun()
    labels = [label for label, _ in smoke.recipes()]
    assert labels == ["essay's CNN, seed 0", "essay's CNN, seed 1",
                      "improved recipe, seed 0", "improved recipe, seed 1"]
    assert (smoke.airbench_seeds, smoke.airbench_epochs, smoke.ablation_seeds,
            smoke.precision_seeds) == (2, 1, 1, 1)
    trained = [k for k in ABLATIONS if k not in EVAL_ONLY_ABLATIONS]
    assert [removed for removed, _ in smoke.ablation_recipes()] == ["nothing", *trained]
    assert all(r.model_config.widths == (32, 128, 128) for _, r in smoke.ablation_recipes())


def test_book_run_rejects_inconsistent_settings():
    assert len(BookRun(num_seeds=2, precision_seeds=3).precision_recipes()) == 2
    with pytest.raises(ValueError, match="ablation_width"):
        BookRun(ablation_width=0.0)


def test_design_split_is_the_last_images_of_the_same_files():
    train_x, train_y, test_x, test_y = _arrays()
    splits = chapter_splits(train_x, train_y, test_x, test_y, False, CPU)  # 960 / 240
    design = design_split(splits)
    assert (design.x_fit.shape[0], design.x_val.shape[0]) == (960, 240)  # 240 < 5,000
    assert torch.equal(design.x_val, torch.from_numpy(train_x[960:]))
    big = chapter_splits(*_arrays(n_train=30_000, n_test=10), False, CPU)
    assert design_split(big).x_val.shape[0] == 5_000
    assert torch.equal(design_split(big).y_fit[-1], big.y_val[-5_001])


@pytest.mark.parametrize("smoke,sizes", [(True, (800, 200, 500)), (False, (960, 240, 600))])
def test_chapter_splits_follow_keras_validation_split(smoke, sizes):
    train_x, train_y, test_x, test_y = _arrays()
    splits = chapter_splits(train_x, train_y, test_x, test_y, smoke, CPU)
    assert (splits.x_train.shape[0], splits.x_val.shape[0], splits.x_test.shape[0]) == sizes
    assert splits.x_train.dtype == torch.uint8
    n_train = sizes[0]
    assert torch.equal(splits.x_val[0], torch.from_numpy(train_x[n_train]))  # the last part
    assert torch.equal(splits.y_val, torch.from_numpy(train_y[n_train:n_train + sizes[1]]))


def test_book_models_train_then_reload_from_pins(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("BMLIB_CACHE_DIR", str(tmp_path))
    train_x, train_y, test_x, test_y = _arrays()
    splits = chapter_splits(train_x, train_y, test_x, test_y, True, CPU)
    run = BookRun(seed=3, num_seeds=1, epochs=1, improved_epochs=1, improved_width=4,
                  improved_seeds=1)
    with pytest.raises(CheckpointError, match="RETRAIN=True"):
        book_models(splits, run, CPU, retrain=False, pins={}, show_progress=False)
    trained = book_models(splits, run, CPU, retrain=True, show_progress=False)
    assert [m.label for m in trained] == ["essay's CNN, seed 3", "improved recipe, seed 3"]
    assert all(m.path.exists() and len(m.history) == 1 for m in trained)
    # both recipes are validated on the validation part, never on the test set
    assert all(m.history[0].val_accuracy is not None for m in trained)
    assert len({m.path.name for m in trained}) == 2
    pins = {m.path.name: sha256_file(m.path) for m in trained}
    reloaded = book_models(splits, run, CPU, retrain=False, pins=pins, show_progress=False)
    for a, b in zip(trained, reloaded):
        for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
            assert torch.equal(x, y), name
    # a checkpoint that is not the pinned file is refused
    with pytest.raises(CheckpointError, match="SHA-256"):
        book_models(splits, run, CPU, retrain=False,
                    pins={name: "0" * 64 for name in pins}, show_progress=False)


def test_book_checkpoint_paths_name_every_run():
    run = BookRun()
    for precision in (None, torch.bfloat16):
        paths = book_checkpoint_paths(precision=precision)
        assert len(paths) == (run.num_seeds + run.improved_seeds + run.precision_seeds
                              + run.airbench_seeds + len(run.ablation_recipes()))
        assert len({p.name for p in paths}) == len(paths)
        tagged = [p for p in paths if "_bfloat16_" in p.name]
        assert len(tagged) == (run.precision_seeds if precision is None
                               else len(paths) - run.precision_seeds)
    assert other_precision(None) is torch.bfloat16 and other_precision(torch.bfloat16) is None


def test_book_precision_reads_the_pinned_set():
    bf16 = {p.name: "0" * 64 for p in book_checkpoint_paths(precision=torch.bfloat16)}
    fp32 = {p.name: "0" * 64 for p in book_checkpoint_paths(precision=None)}
    assert book_precision(bf16) is torch.bfloat16
    assert book_precision(fp32) is None
    assert book_precision({}) is None


def test_load_pins_of_a_missing_file_is_empty(tmp_path: Path):
    assert load_pins(tmp_path / "none.json") == {}


def test_pin_tool_reports_missing_checkpoints_and_writes_pins(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("BMLIB_CACHE_DIR", str(tmp_path))
    output = tmp_path / "pins.json"
    assert pin_checkpoints.main(["--output", str(output)]) == 2
    assert "missing checkpoints" in capsys.readouterr().err
    for path in book_checkpoint_paths():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(path.name.encode())
    assert pin_checkpoints.main(["--output", str(output)]) == 0
    pins = load_pins(output)
    assert pins == {p.name: sha256_file(p) for p in book_checkpoint_paths()}
    assert pin_checkpoints.main(["--output", str(output), "--check"]) == 0
    book_checkpoint_paths()[0].write_bytes(b"changed")
    assert pin_checkpoints.main(["--output", str(output), "--check"]) == 1


def test_committed_pins_name_exactly_the_full_runs_checkpoints():
    """A change to a recipe, a split or a data size renames the checkpoints; the committed
    pins must then be re-made (python -m tools.pin_checkpoints after a full run)."""
    pins = load_pins()
    assert set(pins) == {p.name for p in book_checkpoint_paths(precision=book_precision(pins))}
