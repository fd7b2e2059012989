"""bench/keras_ratio.py: the ratio arithmetic, the interpreter lookup, and that its Keras
worker runs the essay's model lines (TensorFlow itself is an optional extra, not needed here)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bench.keras_ratio import (KERAS_WORKER, keras_python, paired_ratios, steady_median)

# §5.2.2 of the essay, line for line (the source document's code block)
ESSAY_MODEL_LINES = [
    "Conv2D(32, (3, 3), activation='relu', input_shape=(32, 32, 3)),",
    "MaxPooling2D(pool_size=(2, 2)),",
    "Conv2D(64, (3, 3), activation='relu'),",
    "MaxPooling2D(pool_size=(2, 2)),",
    "Flatten(),",
    "Dense(128, activation='relu'),",
    "Dropout(0.5),",
    "Dense(10, activation='softmax')",
    "model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])",
]


def _rows(*seconds: float) -> list[dict[str, float]]:
    return [{"epoch": i + 1, "epoch_seconds": s, "train_seconds": s - 1}
            for i, s in enumerate(seconds)]


def test_steady_median_leaves_out_the_first_epoch():
    assert steady_median(_rows(30.0, 10.0, 12.0, 11.0), "epoch_seconds") == 11.0
    assert steady_median(_rows(30.0, 10.0, 12.0, 11.0), "train_seconds") == 10.0
    assert steady_median(_rows(7.0), "epoch_seconds") == 7.0  # one epoch: that one


def test_paired_ratios_pair_runs_in_order():
    ours = [{"epochs": _rows(9.0, 4.0, 4.0)}, {"epochs": _rows(9.0, 6.0, 6.0)}]
    keras = [{"epochs": _rows(20.0, 10.0, 10.0)}, {"epochs": _rows(20.0, 12.0, 12.0)}]
    assert paired_ratios(ours, keras, "epoch_seconds") == pytest.approx([0.4, 0.5])


def test_paired_ratios_reject_unpaired_runs():
    with pytest.raises(ValueError, match="as many runs"):
        paired_ratios([{"epochs": _rows(1.0)}], [], "epoch_seconds")
    with pytest.raises(ValueError, match="at least one"):
        paired_ratios([], [], "epoch_seconds")


def test_a_missing_keras_python_is_named(tmp_path):
    missing = str(tmp_path / "no-such-python")
    with pytest.raises(SystemExit, match="no-such-python"):
        keras_python(missing)


def test_the_worker_runs_the_essays_model_as_written():
    source = KERAS_WORKER.read_text(encoding="utf-8")
    lines = [line.strip() for line in source.splitlines()]
    start = lines.index("model = Sequential([")
    assert lines[start + 1:start + 9] == ESSAY_MODEL_LINES[:8]
    assert ESSAY_MODEL_LINES[8] in lines
    assert ("model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, "
            "validation_split=0.2,") in lines  # the essay's fit, epochs from the command line
    tree = ast.parse(source)  # and it imports nothing of the book (its venv has no torch)
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names} | {
        (node.module or "").split(".")[0] for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)}
    assert not imported & {"bmlib", "torch"}


def test_bench_folder_workers_are_skipped_by_make_bench():
    makefile = (Path(__file__).parents[1] / "Makefile").read_text(encoding="utf-8")
    assert KERAS_WORKER.name.startswith("_")
    assert "_*" in makefile.split("\nbench:", 1)[1].split("\n\n", 1)[0]
